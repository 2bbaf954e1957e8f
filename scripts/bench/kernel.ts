/**
 * The real kernel cost of each filter: child processes (kernel_child.ts) that
 * install one filter and time tight loops of allowed system calls, against a
 * child without a filter.
 *
 * @module
 */
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { actionValue } from "../../src/action.ts";
import { getArch } from "../../src/arch/arch.ts";
import { isConstantAllow } from "../../src/bpf/cache.ts";
import { encodeProgram } from "../../src/bpf/encode.ts";
import type { Program } from "../../src/bpf/insn.ts";
import { runFilter } from "../../src/bpf/interpreter.ts";
import type { Filter } from "../../src/ir.ts";
import type { ChildCall, ChildRequest } from "./kernel_child.ts";
import { ruleSetMatches } from "./workload.ts";

const CHILD = fileURLToPath(new URL("./kernel_child.ts", import.meta.url));
const PROJECT_BUN = fileURLToPath(new URL("../../node_modules/.bin/bun", import.meta.url));

/** A system call to time, as the child makes it. */
export interface TimedCall extends ChildCall {
  /** The column it is reported in: `gettid`, `ioctl` or `futex`. */
  readonly column: string;
  /** What the call is, for the report. */
  readonly description: string;
}

/** `FUTEX_WAKE_PRIVATE`: wakes nobody when asked to wake 0 waiters; cheap, and allowed by every corpus thread. */
const FUTEX_WAKE_PRIVATE = 129;
/** The address the interpreter check uses for the child's `"buffer"` argument (the filters never look at it). */
const SOME_ADDRESS = 0x7f00_0000_1000n;

/**
 * The calls timed for `filter`, each one the filter allows:
 * * `gettid`, allowed unconditionally: the kernel's action cache answers it
 *   without running the filter, so it measures seccomp's fixed cost;
 * * `ioctl(-1, REQUEST, 0)` with the first request the policy allows (for
 *   Firecracker's vcpu thread, `KVM_RUN`): the filter runs and checks an
 *   argument; the kernel then fails fast with EBADF;
 * * `futex(&word, FUTEX_WAKE_PRIVATE, 0)`: the same, for a syscall numbered
 *   late (202), which a linear chain in number order reaches last.
 * A call the filter does not allow is left out.
 *
 * @example
 * ```ts
 * timedCallsFor(filter).map((c) => c.column); // ["gettid", "ioctl", "futex"]
 * ```
 */
export function timedCallsFor(filter: Filter): TimedCall[] {
  const arch = getArch(filter.arch);
  const rulesOf = (name: string) => filter.syscalls.find((s) => s.name === name)?.rules;
  const calls: TimedCall[] = [];
  const gettid = rulesOf("gettid");
  if (gettid !== undefined && gettid.length === 0) {
    calls.push({
      column: "gettid",
      label: "gettid()",
      nr: arch.syscalls.get("gettid")!,
      args: [],
      description: "gettid(), unconditional",
    });
  }
  const ioctl = rulesOf("ioctl");
  const request = ioctl?.find((r) =>
    r.conditions.length === 1 && r.conditions[0].index === 1 && r.conditions[0].op === "eq"
  )
    ?.conditions[0].value;
  if (request !== undefined && request <= 0xffff_ffffn) {
    const value = Number(request);
    calls.push({
      column: "ioctl",
      label: `ioctl(-1, ${value})`,
      nr: arch.syscalls.get("ioctl")!,
      args: [-1, value, 0],
      description: `ioctl(-1, 0x${value.toString(16)}, 0) → EBADF`,
    });
  }
  const futex = rulesOf("futex");
  if (futex !== undefined && ruleSetMatches(futex, [SOME_ADDRESS, BigInt(FUTEX_WAKE_PRIVATE), 0n])) {
    calls.push({
      column: "futex",
      label: `futex(&w, ${FUTEX_WAKE_PRIVATE}, 0)`,
      nr: arch.syscalls.get("futex")!,
      args: ["buffer", FUTEX_WAKE_PRIVATE, 0],
      description: "futex(&word, FUTEX_WAKE_PRIVATE, 0) → 0",
    });
  }
  return calls;
}

/**
 * The calls a child makes under the filter besides the timed ones: `write` of
 * its result to stdout and `exit_group`. A filter that traps either cannot be
 * timed this way. (`clock_gettime` is answered by the vDSO.)
 *
 * @example
 * ```ts
 * childNeeds(filter).every((call) => programAllows(filter, program, call));
 * ```
 */
export function childNeeds(filter: Filter): ChildCall[] {
  const arch = getArch(filter.arch);
  return [
    { label: "write(1, ...)", nr: arch.syscalls.get("write")!, args: [1, "buffer", 8] },
    { label: "exit_group(0)", nr: arch.syscalls.get("exit_group")!, args: [0] },
  ];
}

/**
 * Whether `program` returns the filter's match action for `call` (run in the
 * interpreter first, so a trapped call is never timed as if it were allowed).
 *
 * @example
 * ```ts
 * programAllows(filter, program, timedCallsFor(filter)[0]); // true
 * ```
 */
export function programAllows(filter: Filter, program: Program, call: ChildCall): boolean {
  const arch = getArch(filter.arch);
  const args = call.args.map((a) => (a === "buffer" ? SOME_ADDRESS : BigInt.asUintN(64, BigInt(a))));
  const value = runFilter(program, { nr: call.nr, arch: arch.auditArch, args }, arch.endian).value >>> 0;
  return value === actionValue(filter.matchAction) >>> 0;
}

/**
 * Instructions the kernel runs for `call` under `program`: the interpreter's
 * step count, or null when the action cache answers the call without running
 * the filter.
 *
 * @example
 * ```ts
 * callSteps(filter, program, timedCallsFor(filter)[0]); // null: gettid is cached
 * ```
 */
export function callSteps(filter: Filter, program: Program, call: ChildCall): number | null {
  const arch = getArch(filter.arch);
  if (isConstantAllow(program, call.nr, arch.auditArch)) return null;
  const args = call.args.map((a) => (a === "buffer" ? SOME_ADDRESS : BigInt.asUintN(64, BigInt(a))));
  return runFilter(program, { nr: call.nr, arch: arch.auditArch, args }, arch.endian).steps;
}

/** One child configuration: a filter (or none) and the calls to time under it. */
export interface KernelJob {
  /** Name in progress messages and results. */
  readonly key: string;
  /** The filter; absent for the baseline. */
  readonly program?: Program;
  /** The calls to time. */
  readonly calls: readonly ChildCall[];
}

/** How long and how often to measure. */
export interface KernelOptions {
  /** Calls per timed loop. */
  readonly iterations: number;
  /** Timed loops per call in each child. */
  readonly repetitions: number;
  /** Children per job; jobs are interleaved round by round so drift hits them alike. */
  readonly rounds: number;
  /** Called before each child starts. */
  readonly progress?: (message: string) => void;
}

/** What the children returned for one job. */
export interface JobSamples {
  /** Call label → ns per call, every repetition of every round. */
  readonly samples: ReadonlyMap<string, readonly number[]>;
  /** Call label → first return value and errno after installation (from the last round). */
  readonly returned: ReadonlyMap<string, { readonly value: number; readonly errno: number }>;
}

/** What one child measured. */
export interface ChildResult {
  /** Call label → ns per call, one value per repetition. */
  readonly samples: Record<string, number[]>;
  /**
   * Call label → what its first call under the filter returned, and errno when
   * that was −1. A trapped call would also come back −1 (ENOSYS) if the
   * runtime caught SIGSYS, so the caller compares these with the baseline.
   */
  readonly returned: Record<string, { readonly value: number; readonly errno: number }>;
}

/**
 * Decodes a child's stdout: `calls × repetitions` float64 samples (all calls of
 * repetition 0, then 1, ...), then per call its first return value and errno.
 * Throws when the size does not fit.
 *
 * @example
 * ```ts
 * decodeChildOutput(bytes, ["gettid()"], 5).samples["gettid()"].length; // 5
 * ```
 */
export function decodeChildOutput(bytes: Uint8Array, labels: readonly string[], repetitions: number): ChildResult {
  const count = labels.length * (repetitions + 2);
  if (bytes.length !== count * 8) {
    throw new Error(`benchmark child wrote ${bytes.length} bytes, expected ${count * 8}`);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const at = (i: number) => view.getFloat64(i * 8, true);
  const samples: Record<string, number[]> = {};
  const returned: Record<string, { value: number; errno: number }> = {};
  labels.forEach((label, c) => {
    samples[label] = Array.from({ length: repetitions }, (_, rep) => at(rep * labels.length + c));
    const base = labels.length * repetitions + 2 * c;
    returned[label] = { value: at(base), errno: at(base + 1) };
  });
  return { samples, returned };
}

/** Runs one child and decodes what it wrote. @private */
function runChild(job: KernelJob, options: KernelOptions): ChildResult {
  const request: ChildRequest = {
    calls: job.calls,
    iterations: options.iterations,
    repetitions: options.repetitions,
    ...(job.program ? { program: btoa(String.fromCharCode(...encodeProgram(job.program, "little"))) } : {}),
  };
  const bun = existsSync(PROJECT_BUN) ? PROJECT_BUN : process.execPath;
  const run = spawnSync(bun, [CHILD], {
    env: { ...process.env, BENCH_CHILD: JSON.stringify(request) },
    timeout: 120_000,
  });
  if (run.status !== 0) {
    const how = run.signal ? `was killed by ${run.signal}` : `exited with status ${run.status}`;
    const stderr = run.stderr ? new TextDecoder().decode(run.stderr) : "";
    throw new Error(`benchmark child for ${job.key} ${how}${run.error ? ` (${run.error.message})` : ""}:\n${stderr}`);
  }
  return decodeChildOutput(run.stdout, job.calls.map((c) => c.label), options.repetitions);
}

/**
 * Runs every job `rounds` times, interleaved, and collects the timings.
 * Throws when a child fails.
 *
 * @example
 * ```ts
 * const results = runKernelJobs([{ key: "none", calls }], { iterations: 200_000, repetitions: 5, rounds: 3 });
 * ```
 */
export function runKernelJobs(jobs: readonly KernelJob[], options: KernelOptions): Map<string, JobSamples> {
  const samples = new Map(jobs.map((job) => [job.key, new Map<string, number[]>()]));
  const returned = new Map(jobs.map((job) => [job.key, new Map<string, { value: number; errno: number }>()]));
  for (let round = 0; round < options.rounds; round++) {
    // Rotate the order each round so no job always runs first (cold caches) or last.
    const order = jobs.map((_, i) => jobs[(i + round) % jobs.length]);
    for (const job of order) {
      options.progress?.(`kernel: round ${round + 1}/${options.rounds}, ${job.key}`);
      const result = runChild(job, options);
      for (const [label, values] of Object.entries(result.samples)) {
        const list = samples.get(job.key)!;
        list.set(label, [...(list.get(label) ?? []), ...values]);
      }
      for (const [label, value] of Object.entries(result.returned)) returned.get(job.key)!.set(label, value);
    }
  }
  return new Map(jobs.map((job) => [job.key, { samples: samples.get(job.key)!, returned: returned.get(job.key)! }]));
}

/** Median, quartiles and count of a sample. */
export interface Summary {
  /** Median. */
  readonly median: number;
  /** First quartile. */
  readonly p25: number;
  /** Third quartile. */
  readonly p75: number;
  /** Number of values. */
  readonly n: number;
}

/**
 * Median and quartiles (linear interpolation between order statistics).
 *
 * @example
 * ```ts
 * summarize([3, 1, 2]).median; // 2
 * ```
 */
export function summarize(values: readonly number[]): Summary {
  const sorted = [...values].sort((a, b) => a - b);
  const at = (q: number) => {
    const pos = (sorted.length - 1) * q;
    const lo = Math.floor(pos);
    const hi = Math.ceil(pos);
    return sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo);
  };
  return { median: at(0.5), p25: at(0.25), p75: at(0.75), n: sorted.length };
}
