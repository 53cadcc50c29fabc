import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { isLockstepError } from "../src/core/errors.js";
import { registerUpgrade, StepRegistry, stepId, upgrade } from "../src/core/registry.js";
import type { StepContext } from "../src/core/step.js";

const noop = () => undefined;

describe("StepRegistry", () => {
  it("orders steps by semver, then by registration order within a version", () => {
    const registry = new StepRegistry([
      upgrade({ version: "0.10.0", name: "ten", run: noop }),
      upgrade({ version: "0.2.0", name: "second-b", run: noop }),
      upgrade({ version: "0.9.0", name: "nine", run: noop }),
      upgrade({ version: "0.2.0", name: "second-a", run: noop }),
      upgrade({ version: "v0.2.0", name: "second-c", run: noop }),
      upgrade({ version: "0.1.0", name: "first", run: noop }),
    ]);
    assert.deepEqual(
      registry.steps.map((s) => s.id),
      ["0.1.0/first", "0.2.0/second-b", "0.2.0/second-a", "0.2.0/second-c", "0.9.0/nine", "0.10.0/ten"],
    );
  });

  it("normalises the version (v prefix) and builds the identity", () => {
    const registry = new StepRegistry([upgrade({ version: "v1.2.0", name: "x", run: noop })]);
    assert.equal(registry.steps[0]?.version, "1.2.0");
    assert.equal(registry.steps[0]?.id, stepId("1.2.0", "x"));
    assert.equal(registry.find("1.2.0", "x")?.name, "x");
    assert.equal(registry.find("1.2.0", "y"), undefined);
  });

  it("rejects two steps with the same identity (E_DUPLICATE_STEP), v prefix or not", () => {
    assert.throws(
      () =>
        new StepRegistry([
          upgrade({ version: "0.2.0", name: "dup", run: noop }),
          upgrade({ version: "v0.2.0", name: "dup", run: () => ({ other: 1 }) }),
        ]),
      (error: unknown) => isLockstepError(error, "E_DUPLICATE_STEP"),
    );
  });

  it("allows the same name at different versions", () => {
    const registry = new StepRegistry([
      upgrade({ version: "0.2.0", name: "same", run: noop }),
      upgrade({ version: "0.3.0", name: "same", run: noop }),
    ]);
    assert.equal(registry.steps.length, 2);
  });

  it("rejects a malformed step version with E_INVALID_VERSION naming the step", () => {
    assert.throws(
      () => new StepRegistry([upgrade({ version: "0.2", name: "short", run: noop })]),
      (error: unknown) => {
        assert.ok(isLockstepError(error, "E_INVALID_VERSION"));
        assert.equal((error as unknown as { source: string }).source, 'step "short"');
        return true;
      },
    );
  });

  it("rejects steps without a name or a run function, and values that are not steps (E_INVALID_STEP)", () => {
    const bad: unknown[] = [
      { version: "0.1.0", name: "", run: noop },
      { version: "0.1.0", name: "no-run", run: 42 },
      { hello: "world" },
      null,
      "0.1.0",
    ];
    for (const source of bad) {
      assert.throws(
        () => new StepRegistry([source as never]),
        (error: unknown) => isLockstepError(error, "E_INVALID_STEP"),
        `expected E_INVALID_STEP for ${JSON.stringify(source)}`,
      );
    }
  });

  it("computes a checksum that changes when the step's code changes", () => {
    const a = new StepRegistry([upgrade({ version: "0.1.0", name: "s", run: () => ({ n: 1 }) })]);
    const same = new StepRegistry([upgrade({ version: "0.1.0", name: "s", run: () => ({ n: 1 }) })]);
    const edited = new StepRegistry([upgrade({ version: "0.1.0", name: "s", run: () => ({ n: 2 }) })]);
    assert.match(a.steps[0]!.checksum, /^[0-9a-f]{64}$/);
    assert.equal(a.steps[0]!.checksum, same.steps[0]!.checksum);
    assert.notEqual(a.steps[0]!.checksum, edited.steps[0]!.checksum);
    const pinned = new StepRegistry([
      upgrade({ version: "0.1.0", name: "s", run: () => ({ n: 3 }), checksum: "pinned" }),
    ]);
    assert.equal(pinned.steps[0]!.checksum, "pinned");
  });
});

describe("@registerUpgrade (TC39 decorators)", () => {
  class ReleaseSteps {
    readonly calls: string[] = [];

    @registerUpgrade("0.2.0", { description: "second", idempotent: true })
    relinkItems(ctx: StepContext) {
      this.calls.push(`relink:${ctx.version}/${ctx.name}`);
      return { items: 3 };
    }

    @registerUpgrade("v0.1.0", { name: "first-step" })
    first(_ctx: StepContext) {
      this.calls.push("first");
    }

    @registerUpgrade("0.2.0")
    addIndex(_ctx: StepContext) {
      this.calls.push("index");
    }

    notAStep() {
      return "ignored";
    }
  }

  const ctxFor = (version: string, name: string): StepContext => ({
    db: null,
    dryRun: false,
    version,
    name,
    databaseKind: "test",
    log: noop,
    progress: noop,
    batch: () => Promise.reject(new Error("not batched")),
    batchRanges: () => Promise.reject(new Error("not batched")),
    pages: () => (async function* () {})(),
  });

  it("collects the decorated methods of a class and of an instance alike", () => {
    const fromClass = new StepRegistry([ReleaseSteps]);
    const fromInstance = new StepRegistry([new ReleaseSteps()]);
    const expected = ["0.1.0/first-step", "0.2.0/relinkItems", "0.2.0/addIndex"];
    assert.deepEqual(
      fromClass.steps.map((s) => s.id),
      expected,
    );
    assert.deepEqual(
      fromInstance.steps.map((s) => s.id),
      expected,
    );
    assert.equal(fromClass.find("0.2.0", "relinkItems")?.description, "second");
    assert.equal(fromClass.find("0.2.0", "relinkItems")?.idempotent, true);
    assert.equal(fromClass.find("0.2.0", "addIndex")?.idempotent, undefined);
  });

  it("runs the method bound to its instance, returning its counts", async () => {
    const instance = new ReleaseSteps();
    const registry = new StepRegistry([instance]);
    const step = registry.find("0.2.0", "relinkItems")!;
    const counts = await step.run(ctxFor(step.version, step.name));
    assert.deepEqual(counts, { items: 3 });
    assert.deepEqual(instance.calls, ["relink:0.2.0/relinkItems"]);
  });

  it("mixes decorated classes with upgrade() definitions and rejects duplicates across them", () => {
    const registry = new StepRegistry([
      ReleaseSteps,
      upgrade({ version: "0.1.5", name: "between", run: noop }),
    ]);
    assert.deepEqual(
      registry.steps.map((s) => s.id),
      ["0.1.0/first-step", "0.1.5/between", "0.2.0/relinkItems", "0.2.0/addIndex"],
    );
    assert.throws(
      () => new StepRegistry([ReleaseSteps, upgrade({ version: "0.2.0", name: "addIndex", run: noop })]),
      (error: unknown) => isLockstepError(error, "E_DUPLICATE_STEP"),
    );
  });

  it("refuses static methods", () => {
    assert.throws(
      () => {
        class Bad {
          @registerUpgrade("0.1.0")
          static nope(_ctx: StepContext) {}

          fine() {
            return "instance member";
          }
        }
        return Bad;
      },
      (error: unknown) => isLockstepError(error, "E_INVALID_STEP"),
    );
  });
});
