/**
 * The synthetic system calls the benchmark runs through each program: for
 * every listed syscall, one call per rule that satisfies it (the "allowed"
 * calls) and a set of probes combining every argument value the rules
 * mention (to find the longest path a filter can take); and every syscall
 * number of the arch that the filter does not list.
 *
 * Verdicts are decided from the IR with seccompiler's native semantics, not by
 * running a program, so the benchmark can check that every program it measures
 * gives the verdicts the policy asks for.
 *
 * @module
 */
import { type ArchInfo, getArch, X32_SYSCALL_BIT } from "../../src/arch/arch.ts";
import type { SeccompData } from "../../src/bpf/interpreter.ts";
import { type Condition, type Filter, type Rule, WIDTH_MAX } from "../../src/ir.ts";
import { conditionHolds } from "../../src/reference.ts";

/** The calls made for one listed syscall. */
export interface SyscallCases {
  /** Syscall name. */
  readonly name: string;
  /** Syscall number. */
  readonly nr: number;
  /** Whether the syscall is allowed whatever its arguments. */
  readonly unconditional: boolean;
  /** One call per rule, with arguments satisfying that rule (one call with zero arguments when unconditional). */
  readonly allowed: readonly SeccompData[];
  /** Argument combinations drawn from the rules' constants; each may match or not. */
  readonly probes: readonly SeccompData[];
}

/** Every call the benchmark runs through one filter. */
export interface Workload {
  /** The listed syscalls, in the filter's (ascending number) order. */
  readonly syscalls: readonly SyscallCases[];
  /** One call with zero arguments per unlisted native syscall number. */
  readonly unlisted: readonly SeccompData[];
}

/** Above this many argument combinations per syscall, probes fall back to one near miss per condition. */
export const MAX_PROBES_PER_SYSCALL = 4096;

/** Values tried for every argument a rule looks at, besides the rules' own constants. @private */
const FILLERS = [0n, 0xffff_ffffn, 0x5a5a_5a58n] as const;

/**
 * Whether the policy allows a call to a listed syscall with `args`.
 *
 * @example
 * ```ts
 * ruleSetMatches([], []); // true: no rules means unconditional
 * ```
 */
export function ruleSetMatches(rules: readonly Rule[], args: readonly bigint[]): boolean {
  if (rules.length === 0) return true;
  return rules.some((r) => r.conditions.every((c) => conditionHolds(c, args[c.index] ?? 0n)));
}

/** Values that satisfy `condition` and values that violate it, within its width. @private */
function interestingValues(condition: Condition): bigint[] {
  const max = WIDTH_MAX[condition.width];
  const v = condition.value & max;
  const around = [v, v - 1n, v + 1n].filter((x) => x >= 0n && x <= max);
  if (condition.op !== "masked_eq") return around;
  const mask = (condition.mask ?? 0n) & max;
  const lowestMaskBit = mask & -mask;
  return [v & mask, (v & mask) ^ lowestMaskBit, (v & mask) | (~mask & max)];
}

/** Arguments satisfying every condition of `rule` (first value that works per index), or undefined. @private */
function satisfyingArgs(rule: Rule): bigint[] | undefined {
  const args = [0n, 0n, 0n, 0n, 0n, 0n];
  for (const index of new Set(rule.conditions.map((c) => c.index))) {
    const here = rule.conditions.filter((c) => c.index === index);
    const candidates = [...here.flatMap(interestingValues), ...FILLERS];
    const value = candidates.find((x) => here.every((c) => conditionHolds(c, x)));
    if (value === undefined) return undefined;
    args[index] = value;
  }
  return args;
}

/** Every combination of the interesting values of the arguments the rules look at. @private */
function probeArgs(rules: readonly Rule[]): bigint[][] {
  const byIndex = new Map<number, Set<bigint>>();
  for (const c of rules.flatMap((r) => r.conditions)) {
    const values = byIndex.get(c.index) ?? new Set<bigint>(FILLERS);
    for (const x of interestingValues(c)) values.add(x);
    byIndex.set(c.index, values);
  }
  const total = [...byIndex.values()].reduce((n, values) => n * values.size, 1);
  if (total > MAX_PROBES_PER_SYSCALL) return nearMisses(rules);
  let combos: bigint[][] = [[0n, 0n, 0n, 0n, 0n, 0n]];
  for (const [index, values] of byIndex) {
    combos = combos.flatMap((args) => [...values].map((x) => args.map((old, i) => (i === index ? x : old))));
  }
  return combos;
}

/** For each rule and each of its conditions: the rule's arguments with only that condition broken. @private */
function nearMisses(rules: readonly Rule[]): bigint[][] {
  const out: bigint[][] = [];
  for (const r of rules) {
    const base = satisfyingArgs(r);
    if (base === undefined) continue;
    for (const c of r.conditions) {
      const broken = interestingValues(c).find((x) => !conditionHolds(c, x));
      if (broken !== undefined) out.push(base.map((old, i) => (i === c.index ? broken : old)));
    }
  }
  return out;
}

/**
 * Builds the benchmark's calls for `filter`. Throws when a rule cannot be
 * satisfied by the values tried (the benchmark would then miss an allowed path).
 *
 * @example
 * ```ts
 * const { syscalls, unlisted } = buildWorkload(filter);
 * ```
 */
export function buildWorkload(filter: Filter): Workload {
  const arch: ArchInfo = getArch(filter.arch);
  const call = (nr: number, args: readonly bigint[]): SeccompData => ({ nr, arch: arch.auditArch, args });
  const syscalls = filter.syscalls.map((s): SyscallCases => {
    if (s.rules.length === 0) {
      return { name: s.name, nr: s.nr, unconditional: true, allowed: [call(s.nr, [])], probes: [] };
    }
    const allowed = s.rules.map((r, i) => {
      const args = satisfyingArgs(r);
      if (args === undefined) throw new Error(`${s.name}: cannot find arguments satisfying rule ${i + 1}`);
      return call(s.nr, args);
    });
    return {
      name: s.name,
      nr: s.nr,
      unconditional: false,
      allowed,
      probes: probeArgs(s.rules).map((a) => call(s.nr, a)),
    };
  });
  const listed = new Set(filter.syscalls.map((s) => s.nr));
  const unlisted = [...arch.names.keys()]
    .filter((nr) => !listed.has(nr) && (nr & X32_SYSCALL_BIT) === 0)
    .sort((a, b) => a - b)
    .map((nr) => call(nr, []));
  return { syscalls, unlisted };
}
