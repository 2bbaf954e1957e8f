/**
 * fast-check arbitraries for the trust tests: random filters (IR) and the
 * calls that probe them, plus the seed/run-count plumbing every property test
 * shares.
 *
 * A "case" is one random filter together with a batch of calls; the calls are
 * mostly boundary calls derived from the filter's own conditions (each value
 * and its neighbours, masks, garbage in the high half of dword arguments),
 * then other syscalls, other architectures, x32 numbers and `nr` values
 * outside the table.
 *
 * @module
 */
import fc from "fast-check";
import type { Action } from "../../src/action.ts";
import { ARCH_NAMES, type ArchName, getArch } from "../../src/arch/arch.ts";
import type { ArgIndex, Condition, Filter, Operator, Rule, SyscallRules, Width } from "../../src/ir.ts";
import { REFERENCE_AUDIT_ARCH, type SyscallEvent } from "../../src/reference.ts";

// ---------------------------------------------------------------------------
// Seeds and run counts

/** Options of a property run, read from the environment so that CI is reproducible and a failure replayable. */
export interface RunSettings {
  /** fast-check seed (`SECCOMPILER_SEED`, default: the fixed per-suite seed). */
  readonly seed: number;
  /** Number of cases (`SECCOMPILER_CASES` scales every suite; default: the suite's CI budget). */
  readonly numRuns: number;
  /** Replay path printed by fast-check with a failure (`SECCOMPILER_PATH`). */
  readonly path?: string;
  /**
   * Whether the run is big enough for the suite's "not vacuous" checks (every
   * arch drawn, every verdict common...): false when replaying one case.
   */
  readonly checkCoverage: boolean;
}

/** The environment, on Bun, Deno and Node alike. @private */
function env(name: string): string | undefined {
  const process = (globalThis as { process?: { env?: Record<string, string | undefined> } }).process;
  return process?.env?.[name];
}

/**
 * Seed, case count and replay path for one property suite. The seed is fixed
 * per suite so every CI run checks the same cases; `SECCOMPILER_SEED` and
 * `SECCOMPILER_PATH` replay a printed failure, and `SECCOMPILER_CASES`
 * (a number, or a multiplier such as `x10`) makes a run longer.
 *
 * @example
 * ```ts
 * const settings = runSettings("differential", 0x5ecc0, 10_000);
 * fc.assert(property, { seed: settings.seed, numRuns: settings.numRuns, path: settings.path });
 * ```
 */
export function runSettings(suite: string, defaultSeed: number, defaultRuns: number): RunSettings {
  const seedText = env("SECCOMPILER_SEED");
  const seed = seedText !== undefined && seedText !== "" ? Number(seedText) | 0 : defaultSeed;
  const casesText = env("SECCOMPILER_CASES");
  let numRuns = defaultRuns;
  if (casesText !== undefined && casesText !== "") {
    numRuns = casesText.startsWith("x")
      ? Math.max(1, Math.round(defaultRuns * Number(casesText.slice(1))))
      : Math.max(1, Number(casesText) | 0);
  }
  const path = env("SECCOMPILER_PATH") || undefined;
  console.log(`[${suite}] seed=${seed} cases=${numRuns}${path ? ` path=${path}` : ""} ` +
    `(replay: SECCOMPILER_SEED=${seed}${path ? ` SECCOMPILER_PATH=${path}` : ""})`);
  const checkCoverage = path === undefined && numRuns >= Math.min(defaultRuns, 20);
  return path ? { seed, numRuns, path, checkCoverage } : { seed, numRuns, checkCoverage };
}

/**
 * Timeout for a property test: `ciMs` normally, a day when SECCOMPILER_CASES
 * asks for a longer run (the soak), so a long run is never cut short.
 *
 * @example
 * ```ts
 * test("property", { timeout: propertyTimeout(300_000) }, () => {});
 * ```
 */
export function propertyTimeout(ciMs: number): number {
  return env("SECCOMPILER_CASES") ? 86_400_000 : ciMs;
}

// ---------------------------------------------------------------------------
// Values

/** Values at and around every boundary the issue names: 0, 2^31, 2^32−1, 2^32, 2^63, 2^64−1. */
export const BOUNDARY_VALUES: readonly bigint[] = [
  0n, 1n, 2n,
  (1n << 31n) - 1n, 1n << 31n, (1n << 31n) + 1n,
  (1n << 32n) - 2n, (1n << 32n) - 1n, 1n << 32n, (1n << 32n) + 1n,
  (1n << 63n) - 1n, 1n << 63n, (1n << 63n) + 1n,
  (1n << 64n) - 2n, (1n << 64n) - 1n,
];

/** Masks that exercise single bits, whole halves and everything. */
export const BOUNDARY_MASKS: readonly bigint[] = [
  0n, 1n, 4n, 0xffn, 0x8000_0000n, 0xffff_ffffn, 0xffff_ffff_0000_0000n, 1n << 32n, 1n << 63n, (1n << 64n) - 1n,
];

/** Largest value of a width. @private */
function widthMax(width: Width): bigint {
  return width === "dword" ? 0xffff_ffffn : 0xffff_ffff_ffff_ffffn;
}

/**
 * A comparison value that fits `width`: a boundary, a small number, or anything.
 *
 * @example
 * ```ts
 * fc.sample(valueArb("dword"), 3); // e.g. [0n, 4294967295n, 17n]
 * ```
 */
export function valueArb(width: Width): fc.Arbitrary<bigint> {
  const max = widthMax(width);
  return fc.oneof(
    { weight: 4, arbitrary: fc.constantFrom(...BOUNDARY_VALUES.filter((v) => v <= max)) },
    { weight: 2, arbitrary: fc.bigInt(0n, 64n) },
    { weight: 3, arbitrary: fc.bigInt(0n, max) },
  );
}

/** A mask that fits `width`. @private */
function maskArb(width: Width): fc.Arbitrary<bigint> {
  const max = widthMax(width);
  return fc.oneof(
    { weight: 3, arbitrary: fc.constantFrom(...BOUNDARY_MASKS.filter((m) => m <= max)) },
    { weight: 2, arbitrary: fc.bigInt(0n, max) },
  );
}

/** Any u64 argument value, biased to boundaries. */
export const u64Arb: fc.Arbitrary<bigint> = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom(...BOUNDARY_VALUES) },
  { weight: 2, arbitrary: fc.bigInt(0n, 64n) },
  { weight: 3, arbitrary: fc.bigInt(0n, (1n << 64n) - 1n) },
);

// ---------------------------------------------------------------------------
// Filters

/** Every comparison operator. */
export const OPERATORS: readonly Operator[] = ["eq", "ne", "lt", "le", "gt", "ge", "masked_eq"];

/** Options of {@link conditionArb}. */
export interface ConditionOptions {
  /** Operators to draw from (default: all seven). */
  readonly operators?: readonly Operator[];
  /** Widths to draw from (default: both). */
  readonly widths?: readonly Width[];
  /** Keep the masked_eq value inside its mask (where libseccomp agrees with us). */
  readonly valueInsideMask?: boolean;
}

/**
 * One condition: any index, width and operator, with boundary-biased values.
 *
 * @example
 * ```ts
 * fc.sample(conditionArb(), 1); // [{ index: 2, width: "qword", op: "ge", value: 4294967296n }]
 * ```
 */
export function conditionArb(options: ConditionOptions = {}): fc.Arbitrary<Condition> {
  const operators = options.operators ?? OPERATORS;
  const widths = options.widths ?? ["dword", "qword"];
  return fc.record({
    index: fc.integer({ min: 0, max: 5 }),
    width: fc.constantFrom(...widths),
    op: fc.constantFrom(...operators),
  }).chain(({ index, width, op }) => {
    if (op !== "masked_eq") {
      return valueArb(width).map((value): Condition => ({ index: index as ArgIndex, width, op, value }));
    }
    return fc.tuple(maskArb(width), valueArb(width)).map(([mask, value]): Condition => ({
      index: index as ArgIndex, width, op, mask, value: options.valueInsideMask ? value & mask : value,
    }));
  });
}

/** Options of {@link filterArb}. */
export interface FilterOptions extends ConditionOptions {
  /** Architectures to draw from (default: all supported, big-endian included). */
  readonly arches?: readonly ArchName[];
  /** Syscall names to draw from (default: the arch's whole table). */
  readonly syscallPool?: readonly string[];
  /** Largest number of syscalls (default 300). */
  readonly maxSyscalls?: number;
  /** Largest number of rules per syscall (default 8). */
  readonly maxRules?: number;
  /** Largest number of conditions per rule (default 6; 0 conditions makes the syscall unconditional). */
  readonly maxConditions?: number;
  /** Stop adding rules once this many conditions exist, so programs stay near kernel size (default 500). */
  readonly conditionBudget?: number;
  /** No argument index twice in one rule (libseccomp refuses it). */
  readonly uniqueIndexPerRule?: boolean;
  /** The (mismatch, match) action pairs to draw from (default: any two different actions). */
  readonly actions?: fc.Arbitrary<readonly [Action, Action]>;
}

/** Any action, payload boundaries included. */
export const actionArb: fc.Arbitrary<Action> = fc.oneof(
  fc.constantFrom<Action>(
    { kind: "allow" }, { kind: "kill_thread" }, { kind: "kill_process" },
    { kind: "log" }, { kind: "trap" }, { kind: "user_notif" },
  ),
  fc.oneof(fc.constantFrom(0, 1, 4095), fc.integer({ min: 0, max: 4095 })).map((data): Action => ({ kind: "errno", data })),
  fc.oneof(fc.constantFrom(0, 1, 0xffff), fc.integer({ min: 0, max: 0xffff })).map((data): Action => ({ kind: "trace", data })),
);

/** Whether two actions are the same, payload included. @private */
function sameAction(a: Action, b: Action): boolean {
  return a.kind === b.kind && ("data" in a ? a.data : -1) === ("data" in b ? b.data : -1);
}

/** Two different actions: (mismatch, match). */
export const actionPairArb: fc.Arbitrary<readonly [Action, Action]> = fc
  .tuple(actionArb, actionArb)
  .filter(([a, b]) => !sameAction(a, b));

/** Draws how many syscalls a filter lists, mostly small, sometimes up to `max`. @private */
function syscallCountArb(max: number): fc.Arbitrary<number> {
  return fc.oneof(
    { weight: 6, arbitrary: fc.integer({ min: 1, max: Math.min(max, 12) }) },
    { weight: 3, arbitrary: fc.integer({ min: 1, max: Math.min(max, 60) }) },
    { weight: 1, arbitrary: fc.integer({ min: 1, max }) },
  );
}

/**
 * A random valid filter: 1–300 syscalls, 0–8 rules each, 0–6 conditions per
 * rule (a rule with none makes its syscall unconditional), any operator,
 * width, index and boundary value, any two different actions.
 *
 * @example
 * ```ts
 * fc.assert(fc.property(filterArb({ arches: ["s390x"] }), (filter) => validateFilter(filter).length === 0));
 * ```
 */
export function filterArb(options: FilterOptions = {}): fc.Arbitrary<Filter> {
  const arches = options.arches ?? ARCH_NAMES;
  const maxSyscalls = options.maxSyscalls ?? 300;
  const maxRules = options.maxRules ?? 8;
  const maxConditions = options.maxConditions ?? 6;
  const budget = options.conditionBudget ?? 500;
  const cond = conditionArb(options);
  const ruleArb: fc.Arbitrary<Condition[]> = fc.oneof(
    { weight: 1, arbitrary: fc.constant<Condition[]>([]) },
    { weight: 12, arbitrary: fc.array(cond, { minLength: 1, maxLength: Math.max(1, maxConditions), size: "max" }) },
  ).map((conditions) => options.uniqueIndexPerRule ? uniqueByIndex(conditions) : conditions);
  const rulesArb: fc.Arbitrary<Condition[][]> = fc.oneof(
    { weight: 2, arbitrary: fc.constant<Condition[][]>([]) },
    { weight: 3, arbitrary: fc.array(ruleArb, { minLength: 1, maxLength: Math.max(1, maxRules), size: "max" }) },
  );
  return fc.constantFrom(...arches).chain((archName) => {
    const arch = getArch(archName);
    const numbers = uniqueNumbers(archName, options.syscallPool);
    return fc.tuple(
      syscallCountArb(Math.min(maxSyscalls, numbers.length)).chain((count) =>
        fc.shuffledSubarray(numbers, { minLength: count, maxLength: count })
      ).chain((nrs) =>
        fc.array(rulesArb, { minLength: nrs.length, maxLength: nrs.length, size: "max" }).map((rules) => ({ nrs, rules }))
      ),
      options.actions ?? actionPairArb,
    ).map(([{ nrs, rules }, [mismatchAction, matchAction]]): Filter => {
      let conditionsLeft = budget;
      const syscalls: SyscallRules[] = nrs.map((nr, i) => {
        const drawn = conditionsLeft > 0 ? rules[i] : [];
        // A rule without conditions matches everything: the syscall is unconditional (OR).
        const ruleList: Rule[] = drawn.some((c) => c.length === 0) ? [] : drawn.map((conditions) => ({ conditions }));
        for (const r of ruleList) conditionsLeft -= r.conditions.length;
        return { name: arch.names.get(nr)!, nr, rules: ruleList };
      }).sort((a, b) => a.nr - b.nr);
      return { arch: archName, mismatchAction, matchAction, syscalls };
    });
  });
}

/** Keeps the first condition for each argument index. @private */
function uniqueByIndex(conditions: Condition[]): Condition[] {
  const seen = new Set<number>();
  return conditions.filter((c) => !seen.has(c.index) && seen.add(c.index) !== undefined);
}

/** Distinct syscall numbers of an arch (aliases collapse), optionally limited to a pool of names. @private */
function uniqueNumbers(archName: ArchName, pool?: readonly string[]): number[] {
  const arch = getArch(archName);
  if (pool) {
    return [...new Set(pool.map((name) => {
      const nr = arch.syscalls.get(name);
      if (nr === undefined) throw new Error(`pool syscall ${name} does not exist on ${archName}`);
      return nr;
    }))];
  }
  return [...arch.names.keys()];
}

// ---------------------------------------------------------------------------
// Calls

/** Options of {@link callsArb}. */
export interface CallOptions {
  /** Calls per filter (default 1–40). */
  readonly minCalls?: number;
  /** Calls per filter (default 40). */
  readonly maxCalls?: number;
  /** Only the filter's own arch and table numbers: calls that a real process can make safely. */
  readonly nativeOnly?: boolean;
  /** Numbers the calls may use besides the filter's own (default: the arch table). */
  readonly extraNumbers?: readonly number[];
  /** Only calls whose arguments keep a zero high half where a dword ordering op looks (libseccomp agreement). */
  readonly zeroHighHalfForDwordOrdering?: boolean;
}

/** Audit tokens a filter may be probed with: every target, the compat ABIs, and big-endian ppc64. */
export const FOREIGN_ARCH_TOKENS: readonly number[] = [
  ...Object.values(REFERENCE_AUDIT_ARCH),
  0x4000_0003, // i386
  0x4000_0028, // arm
  0x8000_0015, // ppc64 (big-endian)
  0xc000_0016, // the wrong s390x token some headers use
];

/**
 * Calls that probe `filter`: mostly the listed syscalls with arguments at,
 * just below and just above each condition's value (with random high halves
 * under dword conditions), plus other numbers, other arches, x32 numbers,
 * `nr = -1` and numbers beyond the table.
 *
 * @example
 * ```ts
 * fc.sample(callsArb(filter), 1)[0].length; // 1..40
 * ```
 */
export function callsArb(filter: Filter, options: CallOptions = {}): fc.Arbitrary<SyscallEvent[]> {
  const token = REFERENCE_AUDIT_ARCH[filter.arch];
  const table = options.extraNumbers ?? [...getArch(filter.arch).names.keys()];
  const listed = filter.syscalls.map((s) => s.nr);
  const maxNr = Math.max(...getArch(filter.arch).names.keys());
  const archArb: fc.Arbitrary<number> = options.nativeOnly ? fc.constant(token) : fc.oneof(
    { weight: 24, arbitrary: fc.constant(token) },
    { weight: 2, arbitrary: fc.constantFrom(...FOREIGN_ARCH_TOKENS) },
    { weight: 1, arbitrary: fc.integer({ min: 0, max: 0xffff_ffff }) },
  );
  const nrChoices: fc.WeightedArbitrary<number>[] = [{ weight: 3, arbitrary: fc.constantFrom(...table) }];
  if (listed.length > 0) nrChoices.push({ weight: 14, arbitrary: fc.constantFrom(...listed) });
  if (!options.nativeOnly) {
    nrChoices.push(
      { weight: 1, arbitrary: fc.constantFrom(-1, maxNr + 1, maxNr + 2, 4095, 4096, 0x3fff_ffff, 0x7fff_ffff, -2, 0x8000_0000 | 0) },
      { weight: 2, arbitrary: fc.constantFrom(...(listed.length > 0 ? listed : table)).map((nr) => (nr | 0x4000_0000)) },
      { weight: 1, arbitrary: fc.integer({ min: -0x8000_0000, max: 0x7fff_ffff }) },
    );
  }
  const callArb = fc.tuple(archArb, fc.oneof(...nrChoices)).chain(([arch, nr]) =>
    argsArb(filter, nr, options).map((args): SyscallEvent => ({ arch, nr, args }))
  );
  return fc.array(callArb, { minLength: options.minCalls ?? 1, maxLength: options.maxCalls ?? 40, size: "max" });
}

/** Six arguments aimed at the conditions of the syscall numbered `nr` (if it has any). @private */
function argsArb(filter: Filter, nr: number, options: CallOptions): fc.Arbitrary<bigint[]> {
  const syscall = filter.syscalls.find((s) => s.nr === (nr >>> 0));
  const plain = fc.array(u64Arb, { minLength: 6, maxLength: 6 });
  if (!syscall || syscall.rules.length === 0) return plain;
  const aimed = fc.constantFrom(...syscall.rules).chain((rule) =>
    fc.tuple(plain, fc.array(fc.tuple(fc.constantFrom(-1n, 0n, 0n, 1n), fc.bigInt(0n, 0xffff_ffffn), u64Arb, fc.boolean()), {
      minLength: rule.conditions.length,
      maxLength: rule.conditions.length,
    })).map(([base, tweaks]) => {
      const args = [...base];
      rule.conditions.forEach((condition, i) => {
        const [delta, garbage, noise, flipMaskBit] = tweaks[i];
        args[condition.index] = aimAt(condition, delta, garbage, noise, flipMaskBit);
      });
      return args;
    })
  );
  return fc.oneof({ weight: 1, arbitrary: plain }, { weight: 5, arbitrary: aimed }).map((args) => {
    if (options.zeroHighHalfForDwordOrdering) zeroHighHalves(syscall, args);
    return args;
  });
}

/**
 * An argument value at `condition`'s value plus `delta` (or, for masked_eq,
 * one that satisfies the mask with `noise` outside it, optionally with one
 * mask bit flipped). Under a dword condition the high half gets `garbage`.
 * @private
 */
function aimAt(condition: Condition, delta: bigint, garbage: bigint, noise: bigint, flipMaskBit: boolean): bigint {
  const max = widthMax(condition.width);
  let low: bigint;
  if (condition.op === "masked_eq") {
    const mask = condition.mask ?? 0n;
    low = ((condition.value & mask) | (noise & ~mask)) & max;
    if (flipMaskBit && mask !== 0n) low ^= mask & -mask;
  } else {
    low = BigInt.asUintN(condition.width === "dword" ? 32 : 64, condition.value + delta);
  }
  return condition.width === "dword" ? (garbage << 32n) | low : low;
}

/** Clears the high half of every argument that a dword ordering comparison looks at. @private */
function zeroHighHalves(syscall: SyscallRules, args: bigint[]): void {
  for (const rule of syscall.rules) {
    for (const c of rule.conditions) {
      if (c.width === "dword" && c.op !== "eq" && c.op !== "masked_eq") args[c.index] &= 0xffff_ffffn;
    }
  }
}

/** A filter together with calls that probe it. */
export interface FilterCase {
  /** The filter under test. */
  readonly filter: Filter;
  /** Calls to evaluate against it. */
  readonly calls: readonly SyscallEvent[];
}

/**
 * A random filter with its probing calls.
 *
 * @example
 * ```ts
 * fc.assert(fc.property(filterCaseArb(), ({ filter, calls }) => calls.length > 0));
 * ```
 */
export function filterCaseArb(filterOptions: FilterOptions = {}, callOptions: CallOptions = {}): fc.Arbitrary<FilterCase> {
  return filterArb(filterOptions).chain((filter) => callsArb(filter, callOptions).map((calls) => ({ filter, calls })));
}

// ---------------------------------------------------------------------------
// Printing

/**
 * The filter as policy text (Firecracker dialect, one thread named `name`),
 * values written as exact decimal integers.
 *
 * @example
 * ```ts
 * policyText(filter, "main"); // '{"main":{"default_action":…,"filter_action":…,"filter":[…]}}'
 * ```
 */
export function policyText(filter: Filter, name = "main"): string {
  const action = (a: Action) => "data" in a ? `{${JSON.stringify(a.kind)}:${a.data}}` : JSON.stringify(a.kind);
  const rules: string[] = [];
  for (const s of filter.syscalls) {
    if (s.rules.length === 0) rules.push(`{"syscall":${JSON.stringify(s.name)}}`);
    for (const r of s.rules) {
      const args = r.conditions.map((c) =>
        `{"index":${c.index},"type":"${c.width}","op":${c.op === "masked_eq" ? `{"masked_eq":${c.mask}}` : `"${c.op}"`},"val":${c.value}}`
      );
      rules.push(`{"syscall":${JSON.stringify(s.name)},"args":[${args.join(",")}]}`);
    }
  }
  return `{${JSON.stringify(name)}:{"default_action":${action(filter.mismatchAction)},"filter_action":${
    action(filter.matchAction)
  },"filter":[${rules.join(",")}]}}`;
}

/** Values as decimal strings, for JSON hand-off to other tools (libseccomp helper, child processes). */
export function filterToJson(filter: Filter): unknown {
  return JSON.parse(JSON.stringify(filter, (_key, value) => typeof value === "bigint" ? value.toString() : value));
}
