/**
 * The figures measured without the kernel: program size, instructions
 * executed in seccompiler's interpreter, and the kernel action cache.
 *
 * @module
 */
import { actionValue, formatAction } from "../../src/action.ts";
import { getArch } from "../../src/arch/arch.ts";
import { actionCacheReport } from "../../src/bpf/cache.ts";
import type { Program } from "../../src/bpf/insn.ts";
import { runFilter, type SeccompData } from "../../src/bpf/interpreter.ts";
import type { Filter } from "../../src/ir.ts";
import { ruleSetMatches, type Workload } from "./workload.ts";

/** What the benchmark reports for one program, from the interpreter and the cache emulator. */
export interface ProgramFigures {
  /** Program length. */
  readonly instructions: number;
  /** Mean instructions executed per allowed call, each listed syscall weighted equally (its rules averaged). */
  readonly meanSteps: number;
  /** The same mean with the syscalls the kernel's action cache skips counted as 0 instructions. */
  readonly meanStepsCacheAware: number;
  /** Most instructions executed on any call of the workload (allowed, probes, unlisted). */
  readonly worstSteps: number;
  /** Mean instructions executed for an unlisted syscall. */
  readonly unlistedSteps: number;
  /** Fewest and most instructions executed for an unlisted syscall. */
  readonly unlistedRange: readonly [number, number];
  /**
   * Mean instructions executed per call that matches an argument rule: one call per rule of
   * every syscall with rules, each call weighted equally. The kernel runs the filter for
   * every such call.
   */
  readonly ruleMeanSteps: number;
  /** Most instructions executed by any call that matches an argument rule. */
  readonly ruleWorstSteps: number;
  /**
   * Mean instructions executed per call the kernel's action cache cannot skip, denied ones
   * included: the rule-matching calls, every probe (allowed or not) of every syscall this
   * program's cache does not skip, and one call per unlisted native syscall number; each call
   * weighted equally.
   */
  readonly uncachedMeanSteps: number;
  /** Native syscalls (listed or not) the kernel never runs the filter for. */
  readonly cached: number;
  /** Listed syscalls allowed unconditionally: the most the cache could skip. */
  readonly cacheable: number;
}

/** Arithmetic mean; 0 for no values. @private */
function mean(values: readonly number[]): number {
  return values.length === 0 ? 0 : values.reduce((a, b) => a + b, 0) / values.length;
}

/**
 * Measures `program` on `workload`, laying out `seccomp_data` in the byte
 * order of the filter's architecture.
 *
 * @example
 * ```ts
 * const figures = measureProgram(filter, program, buildWorkload(filter));
 * figures.meanSteps;
 * ```
 */
export function measureProgram(filter: Filter, program: Program, workload: Workload): ProgramFigures {
  const arch = getArch(filter.arch);
  const steps = (call: SeccompData) => runFilter(program, call, arch.endian).steps;
  const cachedNames = new Set(actionCacheReport(program, arch).cached);
  const perSyscall = workload.syscalls.map((s) => mean(s.allowed.map(steps)));
  const perSyscallCacheAware = workload.syscalls.map((s, i) => (cachedNames.has(s.name) ? 0 : perSyscall[i]));
  const unlisted = workload.unlisted.map(steps);
  const checked = workload.syscalls.filter((s) => !s.unconditional);
  const ruleSteps = checked.flatMap((s) => s.allowed.map(steps));
  const uncached = [
    ...workload.syscalls.filter((s) => !cachedNames.has(s.name)).flatMap((s) => [...s.allowed, ...s.probes].map(steps)),
    ...unlisted,
  ];
  const everything = [
    ...workload.syscalls.flatMap((s) => [...s.allowed, ...s.probes].map(steps)),
    ...unlisted,
  ];
  return {
    instructions: program.length,
    meanSteps: mean(perSyscall),
    meanStepsCacheAware: mean(perSyscallCacheAware),
    worstSteps: Math.max(...everything),
    ruleMeanSteps: mean(ruleSteps),
    ruleWorstSteps: ruleSteps.length === 0 ? 0 : Math.max(...ruleSteps),
    uncachedMeanSteps: mean(uncached),
    unlistedSteps: mean(unlisted),
    unlistedRange: [Math.min(...unlisted), Math.max(...unlisted)],
    cached: cachedNames.size,
    cacheable: workload.syscalls.filter((s) => s.unconditional).length,
  };
}

/**
 * Checks that `program` returns what the policy asks for on every call of the
 * workload: the match action for allowed calls and matching probes, the
 * mismatch action otherwise. Returns a description of the first disagreement,
 * or undefined. A benchmark of programs that do different things would be
 * meaningless, so the caller stops on a disagreement.
 *
 * @example
 * ```ts
 * const problem = checkVerdicts(filter, program, workload);
 * if (problem) throw new Error(problem);
 * ```
 */
export function checkVerdicts(filter: Filter, program: Program, workload: Workload): string | undefined {
  const arch = getArch(filter.arch);
  const match = actionValue(filter.matchAction) >>> 0;
  const mismatch = actionValue(filter.mismatchAction) >>> 0;
  const describe = (call: SeccompData) =>
    `nr ${call.nr} args [${call.args.map((a) => `0x${a.toString(16)}`).join(", ")}]`;
  const check = (call: SeccompData, expected: number): string | undefined => {
    const got = runFilter(program, call, arch.endian).value >>> 0;
    if (got === expected) return undefined;
    return `${describe(call)} returns 0x${got.toString(16)}, the policy says 0x${expected.toString(16)} ` +
      `(match ${formatAction(filter.matchAction)}, mismatch ${formatAction(filter.mismatchAction)})`;
  };
  for (const [i, s] of workload.syscalls.entries()) {
    const rules = filter.syscalls[i].rules;
    for (const call of s.allowed) {
      const problem = check(call, match);
      if (problem) return `${s.name}: ${problem}`;
    }
    for (const call of s.probes) {
      const problem = check(call, ruleSetMatches(rules, call.args) ? match : mismatch);
      if (problem) return `${s.name}: ${problem}`;
    }
  }
  for (const call of workload.unlisted) {
    const problem = check(call, mismatch);
    if (problem) return problem;
  }
  return undefined;
}
