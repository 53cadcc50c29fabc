import { createHash } from "node:crypto";
import { didYouMean, unknownKeys } from "./did-you-mean.js";
import { StepDefinitionError } from "./errors.js";
import { STEP_PHASES, type Step, type StepContext, type StepCounts, type StepDefinition } from "./step.js";
import { compareVersions, normaliseVersion } from "./versions.js";

/** The identity of a step: `version` + `name`, as printed everywhere. */
export function stepId(version: string, name: string): string {
  return `${version}/${name}`;
}

/**
 * Declares one upgrade step. Returns the definition unchanged, typed; registration (and the
 * duplicate check) happens when the steps are given to an {@link Upgrader}.
 */
export function upgrade<TDb = unknown>(definition: StepDefinition<TDb>): StepDefinition<TDb> {
  return definition;
}

/** Options of the decorator form. */
export interface RegisterUpgradeOptions<TDb = unknown>
  extends Omit<StepDefinition<TDb>, "version" | "run" | "prepare" | "name"> {
  /** Defaults to the method's name. */
  readonly name?: string;
}

// Symbol.for: a class decorated through one copy of lockstep is still seen by another.
const DECORATED_STEPS = Symbol.for("lockstep.steps");

type Decorated = { [DECORATED_STEPS]?: StepDefinition<any>[] };

/**
 * The seed's decorator form (TC39 decorators): `@registerUpgrade("0.2.0")` on a method of a
 * class whose instance (or the class itself) is then listed in the config's `steps`.
 */
export function registerUpgrade<TDb = unknown>(version: string, options: RegisterUpgradeOptions<TDb> = {}) {
  return (
    method: (ctx: StepContext<TDb>) => unknown,
    context: ClassMethodDecoratorContext<object, (ctx: StepContext<TDb>) => unknown>,
  ): void => {
    if (context.static || context.private) {
      throw new StepDefinitionError(
        "E_INVALID_STEP",
        `@registerUpgrade("${version}") on ${String(context.name)}: only public instance methods can be steps`,
      );
    }
    context.addInitializer(function (this: object) {
      const target = this as Decorated;
      target[DECORATED_STEPS] ??= [];
      target[DECORATED_STEPS].push({
        ...options,
        version,
        name: options.name ?? String(context.name),
        run: (ctx: StepContext<TDb>) => method.call(this, ctx) as StepCounts | undefined,
        checksum: options.checksum ?? checksumOf(version, options.name ?? String(context.name), method),
      });
    });
  };
}

/** Anything the config's `steps` may list: definitions, decorated classes or their instances. */
export type StepSource<TDb = unknown> = StepDefinition<TDb> | (new () => object) | object;

/** Flattens step sources into definitions, instantiating decorated classes. */
export function collectStepDefinitions<TDb>(sources: readonly StepSource<TDb>[]): StepDefinition<TDb>[] {
  const out: StepDefinition<TDb>[] = [];
  for (const source of sources) {
    if (typeof source === "function" && isClass(source)) {
      out.push(...collectStepDefinitions([new (source as new () => object)()]));
    } else if (typeof source === "function") {
      // Calling a plain function with `new` would run it (a step's body, at load time).
      throw new StepDefinitionError(
        "E_INVALID_STEP",
        `not a step: the function ${source.name || "(anonymous)"}; a step is upgrade({ version, name, run }) or a class with @registerUpgrade methods`,
        {
          hint: `wrap it: export default upgrade({ version: "1.2.0", name: "what-it-does", run: ${source.name || "fn"} })`,
        },
      );
    } else if (source !== null && typeof source === "object" && DECORATED_STEPS in source) {
      out.push(...((source as Decorated)[DECORATED_STEPS] as StepDefinition<TDb>[]));
    } else if (source !== null && typeof source === "object" && "version" in source && "run" in source) {
      out.push(source as StepDefinition<TDb>);
    } else {
      throw new StepDefinitionError(
        "E_INVALID_STEP",
        `not a step: ${describeValue(source)}; a step is upgrade({ version, name, run }) or a class with @registerUpgrade methods`,
      );
    }
  }
  return out;
}

/**
 * The registered steps of one application, in execution order: semver order, registration
 * order within a version. Duplicate identities are rejected here.
 */
export class StepRegistry<TDb = unknown> {
  readonly steps: readonly Step<TDb>[];

  constructor(sources: readonly StepSource<TDb>[]) {
    const seen = new Set<string>();
    const steps = collectStepDefinitions(sources).map((definition, order) => {
      if (typeof definition.name !== "string" || definition.name.trim() === "") {
        throw new StepDefinitionError("E_INVALID_STEP", `step at version ${definition.version} has no name`, {
          hint: 'give every step a name: upgrade({ version, name: "what-it-does", run })',
        });
      }
      if (typeof definition.run !== "function") {
        throw new StepDefinitionError("E_INVALID_STEP", `step ${definition.name} has no run function`);
      }
      const version = normaliseVersion(definition.version, `step "${definition.name}"`);
      const id = stepId(version, definition.name);
      if (seen.has(id)) {
        throw new StepDefinitionError("E_DUPLICATE_STEP", `two steps are registered as ${id}`, {
          hint: "rename one of them: a step's identity is its version plus its name",
        });
      }
      seen.add(id);
      assertKnownKeys(id, definition);
      assertPhase(id, definition.phase);
      // The phase is not hashed: declaring it on a released step later is not an edit.
      const checksum =
        definition.checksum ?? checksumOf(version, definition.name, definition.run, definition.prepare);
      return { ...definition, version, id, checksum, order } satisfies Step<TDb>;
    });
    this.steps = steps.sort((a, b) => compareVersions(a.version, b.version) || a.order - b.order);
  }

  /** Finds a step by identity. */
  find(version: string, name: string): Step<TDb> | undefined {
    return this.steps.find((step) => step.version === version && step.name === name);
  }
}

/** sha256 over the step's identity and the source of its functions. */
function checksumOf(
  version: string,
  name: string,
  ...fns: (((...args: never[]) => unknown) | undefined)[]
): string {
  const hash = createHash("sha256").update(`${version}\n${name}\n`);
  for (const fn of fns) if (fn) hash.update(fn.toString());
  return hash.digest("hex");
}

/** Every key a step definition may have (the decorator's options are these minus version/run/prepare). */
const STEP_KEYS: readonly string[] = [
  "version",
  "name",
  "description",
  "run",
  "prepare",
  "conditions",
  "idempotent",
  "batched",
  "transaction",
  "affects",
  "phase",
  "checksum",
] satisfies readonly (keyof StepDefinition)[];

/** A key lockstep does not know (`phaze`) is refused, with the closest one: ignored, it would change nothing silently. */
function assertKnownKeys(id: string, definition: object): void {
  const unknown = unknownKeys(definition, STEP_KEYS)[0];
  if (unknown === undefined) return;
  throw new StepDefinitionError(
    "E_INVALID_STEP",
    `step ${id}: unknown option \`${unknown}\`${didYouMean(unknown, STEP_KEYS)}`,
    { hint: `a step takes ${STEP_KEYS.join(", ")} (see the StepDefinition type)` },
  );
}

/** A step's `phase` is "expand", "contract" or absent; anything else is refused with the closest. */
export function assertPhase(id: string, phase: unknown): void {
  if (phase === undefined || STEP_PHASES.includes(phase as never)) return;
  throw new StepDefinitionError(
    "E_INVALID_STEP",
    `step ${id}: \`phase\` must be "expand" or "contract" (or absent), not ${JSON.stringify(phase) ?? String(phase)}${typeof phase === "string" ? didYouMean(phase, STEP_PHASES) : ""}`,
    {
      hint: "expand: older code keeps working after it; contract: breaks older code, the new code does not need it; no phase: needed now and breaking",
    },
  );
}

function isClass(fn: object): boolean {
  return /^class\b/.test(Function.prototype.toString.call(fn));
}

function describeValue(value: unknown): string {
  if (value === null || value === undefined) return String(value);
  if (typeof value === "object") return `an object with keys ${Object.keys(value).join(", ") || "(none)"}`;
  return `${typeof value} ${String(value)}`;
}
