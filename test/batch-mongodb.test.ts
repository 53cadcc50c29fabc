/**
 * The batch helper on MongoDB (FerretDB by default; any real MongoDB via MONGODB_URI): a
 * batched step rewrites every document, and a run SIGKILLed half-way resumes after its last
 * checkpoint. Outside CI a missing server skips the suite with a line saying so.
 *
 * Without transactions (FerretDB, standalone MongoDB) a page and its checkpoint are two
 * writes: the page in flight at the kill may have been written (wholly or in part) without
 * its checkpoint, and is written again by the rerun. The transform is idempotent, and the
 * test holds that bound exactly: only documents of that one page are written twice. With
 * transactions the page and its checkpoint commit together: every document is written once.
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { after, before, describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { type Db, MongoClient, ObjectId } from "mongodb";
import { MongoAdapter } from "../src/adapters/mongodb/mongodb-adapter.js";
import { Upgrader } from "../src/core/upgrader.js";
import { describeFixture } from "./support/harness.js";
import fixture from "./support/mongodb-fixture.js";

const CHILD = fileURLToPath(new URL("./support/batch-mongodb-child.ts", import.meta.url));
const REPO = fileURLToPath(new URL("..", import.meta.url));
const DOCS = Number(process.env.LOCKSTEP_BATCH_TEST_DOCS ?? 5000);
const PAGE = 200;
const PAGES = Math.ceil(DOCS / PAGE);
/** The parent kills the child once it reports this many pages done... */
const KILL_AFTER_PAGES = Math.floor(PAGES / 2);
/** ...this long after the next page reached the transform: while that page is being written. */
const KILL_DELAY_MS = 250;

/** One run of the child: what it printed, and how it ended. */
interface ChildRun {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** One entry per page handed to the transform. */
  reads: { count: number; first: number; last: number }[];
  done: number[];
  result: { outcome: string; resumedFrom: { read: number; pages: number } | null; read: number } | null;
  stderr: string;
}

/**
 * Runs the child upgrader. With `killAfterDone`, SIGKILLs it {@link KILL_DELAY_MS} after the
 * first page handed to the transform once it reported that many rows done.
 */
function runChild(url: string, tag: string, killAfterDone?: number): Promise<ChildRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ["--import", "tsx", CHILD, url, tag, String(PAGE)], {
      cwd: REPO,
      stdio: ["ignore", "pipe", "pipe"],
    });
    const run: ChildRun = { code: null, signal: null, reads: [], done: [], result: null, stderr: "" };
    let pending = "";
    let armed = false;
    let killAt = killAfterDone;
    child.stdout.setEncoding("utf8");
    child.stdout.on("data", (chunk: string) => {
      pending += chunk;
      const lines = pending.split("\n");
      pending = lines.pop() ?? "";
      for (const line of lines) {
        const [kind, ...rest] = line.split(" ");
        if (kind === "read") {
          const [count, first, last] = rest.map(Number) as [number, number, number];
          run.reads.push({ count, first, last });
          if (armed) {
            armed = false;
            setTimeout(() => child.kill("SIGKILL"), KILL_DELAY_MS);
          }
        } else if (kind === "done") {
          const done = Number(rest[0]);
          run.done.push(done);
          if (killAt !== undefined && done >= killAt) {
            armed = true;
            killAt = undefined;
          }
        } else if (kind === "result") run.result = JSON.parse(rest.join(" "));
      }
    });
    child.stderr.on("data", (chunk) => {
      run.stderr += chunk;
    });
    child.on("error", reject);
    child.on("close", (code, signal) => resolve({ ...run, code, signal }));
  });
}

/** A fresh database of DOCS documents `{ n }`, stamped 0.1.0; `_id`s (ObjectIds) ascend with n. */
async function seeded(): Promise<{ url: string; db: Db; cleanup(): Promise<void> }> {
  const database = await fixture.create();
  let client: MongoClient | undefined;
  const cleanup = async () => {
    await client?.close();
    await database.cleanup();
  };
  try {
    client = await new MongoClient(database.url).connect();
    const db = client.db();
    await db.collection("docs").insertMany(Array.from({ length: DOCS }, (_, n) => ({ n })));
    const upgrader = new Upgrader({
      adapter: MongoAdapter.fromUrl(database.url),
      appVersion: "0.2.0",
      steps: [],
    });
    try {
      await upgrader.init({ version: "0.1.0" });
    } finally {
      await upgrader.close();
    }
    return { url: database.url, db, cleanup };
  } catch (error) {
    await cleanup();
    throw error;
  }
}

type Doc = { _id: ObjectId; n: number; value?: number; done?: boolean } & Record<string, unknown>;

const allDocs = (db: Db) => db.collection<Doc>("docs").find({}).sort({ n: 1 }).toArray();

await describeFixture(fixture, describe, () => {
  let uninterrupted: Doc[] = [];

  before(async () => {
    const { url, db, cleanup } = await seeded();
    try {
      const run = await runChild(url, "once");
      assert.equal(run.code, 0, run.stderr);
      uninterrupted = await allDocs(db);
    } finally {
      await cleanup();
    }
  });

  test(`a batched step over ${DOCS} documents in pages of ${PAGE} rewrites each document once`, () => {
    assert.equal(uninterrupted.length, DOCS);
    for (const doc of uninterrupted) {
      assert.equal(doc.value, doc.n * 3 + 1);
      assert.equal(doc.done, true);
      assert.equal(doc.by_once, true);
    }
  });

  describe("SIGKILLed half-way, then run again", () => {
    let url = "";
    let db: Db;
    let cleanup: () => Promise<void> = async () => undefined;
    let killed: ChildRun;
    let checkpoint: { lastKey: unknown; read: number; written: number; pages: number };
    let rerun: ChildRun;
    let transactional = false;

    before(async () => {
      ({ url, db, cleanup } = await seeded());
      killed = await runChild(url, "killed", KILL_AFTER_PAGES * PAGE);
      const adapter = MongoAdapter.fromUrl(url);
      await adapter.open({ create: false });
      try {
        transactional = (await adapter.serverInfo()).supportsTransactions;
        const state = await adapter.readState();
        assert.equal(state.interrupted.length, 1, "the killed run leaves its marker");
        checkpoint = state.interrupted[0]!.checkpoint as typeof checkpoint;
      } finally {
        await adapter.close();
      }
      rerun = await runChild(url, "rerun");
    });
    after(() => cleanup());

    test("the first run was killed half-way, after a checkpoint", () => {
      assert.equal(killed.signal, "SIGKILL", killed.stderr);
      assert.equal(killed.result, null, "killed before it finished");
      assert.ok(checkpoint.pages >= KILL_AFTER_PAGES, `checkpoint after ${checkpoint.pages} pages`);
      assert.ok(checkpoint.pages < PAGES, "the kill came before the last page");
      assert.equal(checkpoint.read, checkpoint.pages * PAGE);
    });

    test("the checkpoint's ObjectId lastKey survives the marker document", async () => {
      assert.ok(checkpoint.lastKey instanceof ObjectId, `lastKey is ${typeof checkpoint.lastKey}`);
      const last = await db.collection<Doc>("docs").findOne({ _id: checkpoint.lastKey as ObjectId });
      assert.equal(last?.n, checkpoint.read - 1, "the key of the last document of the last finished page");
    });

    test("the rerun resumes from the checkpoint and reports it in history", async () => {
      assert.equal(rerun.code, 0, rerun.stderr);
      assert.equal(rerun.result?.outcome, "upgraded");
      assert.equal(rerun.result?.resumedFrom?.read, checkpoint.read);
      assert.equal(rerun.result?.read, DOCS, "read counts carry on from the checkpoint");
      const adapter = MongoAdapter.fromUrl(url);
      await adapter.open({ create: false });
      try {
        const started = (await adapter.readHistory()).filter(
          (h) => h.action === "step_started" && h.step === "rewrite-docs",
        );
        assert.equal(started.length, 2, "both attempts are in history");
        assert.equal(started[0]!.details, null);
        const resumedFrom = started[1]!.details?.resumedFrom as typeof checkpoint;
        assert.equal(resumedFrom.read, checkpoint.read);
        assert.equal(resumedFrom.pages, checkpoint.pages);
        assert.ok(
          resumedFrom.lastKey instanceof ObjectId &&
            resumedFrom.lastKey.equals(checkpoint.lastKey as ObjectId),
        );
        assert.equal((await adapter.readState()).interrupted.length, 0, "the marker is cleared");
      } finally {
        await adapter.close();
      }
    });

    test("the rerun does not read pages before the checkpoint again", () => {
      const read = rerun.reads.reduce((sum, r) => sum + r.count, 0);
      assert.equal(read, DOCS - checkpoint.read);
      assert.equal(
        rerun.reads[0]?.first,
        checkpoint.read,
        "the first page starts right after the checkpoint",
      );
      for (const r of rerun.reads) assert.ok(r.first >= checkpoint.read);
    });

    test("the result is identical to an uninterrupted run", async () => {
      const after = await allDocs(db);
      const fields = (d: Doc) => ({ n: d.n, value: d.value, done: d.done });
      assert.deepEqual(after.map(fields), uninterrupted.map(fields));
      for (const doc of after)
        assert.ok(doc.by_killed === true || doc.by_rerun === true, `doc ${doc.n} written`);
    });

    test("documents written twice: none with transactions, else only the one page in flight", async (t) => {
      const after = await allDocs(db);
      const twice = after.filter((d) => d.by_killed === true && d.by_rerun === true).map((d) => d.n);
      const firstOnly = after.filter((d) => d.by_killed === true && d.by_rerun !== true).map((d) => d.n);
      // Every page up to the checkpoint was written by the killed run and never again.
      assert.deepEqual(
        firstOnly,
        Array.from({ length: checkpoint.read }, (_, n) => n),
      );
      t.diagnostic(
        `${transactional ? "transactions" : "no transactions"}: ${twice.length} document(s) written twice`,
      );
      if (transactional) {
        assert.deepEqual(twice, [], "a page commits with its checkpoint: written exactly once");
      } else {
        assert.ok(twice.length <= PAGE, `${twice.length} documents written twice, more than one page`);
        for (const n of twice) {
          assert.ok(
            n >= checkpoint.read && n < checkpoint.read + PAGE,
            `doc ${n} written twice lies outside the page in flight`,
          );
        }
      }
    });
  });
});
