/** Run records: ids that two runs in one second do not share, and a record never overwritten by another run's. */
import assert from "node:assert/strict";
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { createRunRecord, newRunId, readRunRecord, writeRunRecord } from "../src/fleet/run-record.js";

const dir = mkdtempSync(join(tmpdir(), "lockstep-fleet-runs-"));
after(() => rmSync(dir, { recursive: true, force: true }));

const base = (appVersion: string) => ({
  command: "upgrade" as const,
  appVersion,
  startedAt: "2026-11-26T05:15:00.000Z",
  finishedAt: null,
  source: { targets: "list.txt" },
  options: {},
  results: [],
});

test("a run id: UTC date and time, then 8 random hex digits; ids of one second differ", () => {
  const now = new Date("2026-11-26T05:15:00Z");
  const ids = new Set(Array.from({ length: 1000 }, () => newRunId(now)));
  assert.equal(ids.size, 1000);
  for (const id of ids) assert.match(id, /^20261126-051500-[0-9a-f]{8}$/);
});

test("two runs that pick one id: the second re-picks, the first's record is left as it was", () => {
  const picks = ["20261126-051500-00000000", "20261126-051500-00000000", "20261126-051500-00000001"];
  const next = () => picks.shift() as string;
  const first = createRunRecord(dir, base("1.0.0"), next);
  const second = createRunRecord(dir, base("2.0.0"), next);
  assert.equal(first.record.id, "20261126-051500-00000000");
  assert.equal(second.record.id, "20261126-051500-00000001");
  assert.equal(readRunRecord(dir, first.record.id).appVersion, "1.0.0");
  assert.equal(readRunRecord(dir, second.record.id).appVersion, "2.0.0");
  assert.equal(statSync(first.path).mode & 0o777, 0o600);
  // Later writes replace the run's own record only.
  writeRunRecord(dir, { ...second.record, finishedAt: "2026-11-26T05:16:00.000Z" });
  assert.equal(JSON.parse(readFileSync(first.path, "utf8")).finishedAt, null);
  assert.deepEqual(readdirSync(dir).sort(), [
    "20261126-051500-00000000.json",
    "20261126-051500-00000001.json",
  ]);
});

test("an id source that only ever clashes gives up instead of overwriting", () => {
  const id = "20261126-051500-0000000f";
  createRunRecord(dir, base("1.0.0"), () => id);
  assert.throws(() => createRunRecord(dir, base("2.0.0"), () => id), /no free run id/);
  assert.equal(readRunRecord(dir, id).appVersion, "1.0.0");
  assert.ok(!readdirSync(dir).some((f) => f.endsWith(".tmp")), "no temporary file left");
});
