/**
 * `npm run bench`: seccompiler's filters against libseccomp's, on Firecracker's
 * x86_64 and aarch64 policies and the large ioctl fixture (policies/vmm-ioctl.json),
 * one filter per thread; then the extra sections (scripts/bench/sections.ts);
 * then every ratio next to its target.
 *
 * For each thread it compares seccompiler's program with libseccomp's default
 * program and libseccomp's binary tree (`CTL_OPTIMIZE` 2): program size,
 * instructions executed (seccompiler's interpreter runs all three programs),
 * syscalls the kernel's action cache skips, and the real cost per system call
 * with the filter installed (child processes, for policies of the host's arch).
 * See docs/bench.md.
 *
 * Usage: bun scripts/bench.ts [--format table|json] [--policy FILE [--arch ARCH]] [--no-kernel]
 *        [--quick] [--skip SECTION] [--iterations N] [--repetitions N] [--rounds N]
 *
 * @module
 */
import { existsSync, readFileSync } from "node:fs";
import { availableParallelism, release } from "node:os";
import { basename, dirname, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { type ArchName, hostArch, isArchName } from "../src/arch/arch.ts";
import type { Program } from "../src/bpf/insn.ts";
import { compilePolicy } from "../src/compile.ts";
import { PolicyError } from "../src/diagnostics.ts";
import type { Filter } from "../src/ir.ts";
import type { ChildCall } from "./bench/kernel_child.ts";
import { checkVerdicts, measureProgram, type ProgramFigures } from "./bench/figures.ts";
import {
  callSteps,
  childNeeds,
  type JobSamples,
  type KernelJob,
  type KernelOptions,
  programAllows,
  runKernelJobs,
  summarize,
  type TimedCall,
  timedCallsFor,
} from "./bench/kernel.ts";
import { buildLibseccompPrograms, findPython } from "./bench/libseccomp.ts";
import {
  type BenchResult,
  formatTable,
  type KernelFigure,
  policyTargets,
  type PolicyResult,
  RATIO_FIGURES,
  type SectionOutput,
  type TargetCheck,
  targetMet,
  type ThreadResult,
  type Variant,
  type VariantResult,
  VARIANTS,
} from "./bench/report.ts";
import { SECTIONS } from "./bench/sections.ts";
import { formatStartup, measureStartup, type StartupResult } from "./bench/startup.ts";
import { buildWorkload } from "./bench/workload.ts";

const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const CORPUS = process.env.SECCOMPILER_CORPUS || resolve(REPO_ROOT, "..", "shared", "corpus", "firecracker");

/** A policy measured on one architecture, with its targets. @private */
interface Subject {
  readonly path: string;
  readonly arch: ArchName;
  /** Whether the 100+-values targets apply (the ioctl fixture). */
  readonly valueSearch: boolean;
  /** Whether it lives outside the repository (the corpus): a hint if missing. */
  readonly corpus: boolean;
}

/** What `npm run bench` measures by default. @private */
const DEFAULT_SUBJECTS: readonly Subject[] = [
  { path: resolve(CORPUS, "x86_64-unknown-linux-musl.json"), arch: "x86_64", valueSearch: false, corpus: true },
  { path: resolve(CORPUS, "aarch64-unknown-linux-musl.json"), arch: "aarch64", valueSearch: false, corpus: true },
  { path: resolve(REPO_ROOT, "policies", "vmm-ioctl.json"), arch: "x86_64", valueSearch: true, corpus: false },
];

const USAGE = `Usage: bun scripts/bench.ts [options]

Compares seccompiler's filters with libseccomp's on Firecracker's x86_64 and aarch64
policies and on policies/vmm-ioctl.json, runs the extra sections (${SECTIONS.map((s) => s.id).join(", ")}),
and prints every ratio next to its target.

  --format table|json   output format (default table)
  --policy FILE         measure only this policy (targets as for the corpus)
  --arch ARCH           its architecture (default x86_64)
  --no-kernel           skip the real-kernel timing
  --quick               --no-kernel, and fewer repetitions in the sections
  --skip SECTION        do not run this section (repeatable)
  --no-startup          skip the start-up and compile-speed rows (scripts/bench/startup.ts)
  --startup-runs N      rounds of each start-up row (default 21)
  --iterations N        calls per timed loop (default 200000)
  --repetitions N       timed loops per call in each child (default 5)
  --rounds N            children per filter (default 5)
  -h, --help            this text`;

/** A bad command line (exit status 2). */
class UsageError extends Error {}
/** Something the benchmark needs is missing (exit status 1). */
class SetupError extends Error {}

/** Parses a positive integer option. @private */
function positive(name: string, text: string | undefined, fallback: number): number {
  if (text === undefined) return fallback;
  const value = Number(text);
  if (!Number.isInteger(value) || value < 1) {
    throw new UsageError(`--${name} must be a positive integer, not "${text}"`);
  }
  return value;
}

/** Erases the progress line, if one was drawn. @private */
function clearProgress(): void {
  if (process.stderr.isTTY) process.stderr.write("\r\x1b[K");
}

/** The figures about the machine that docs/bench.md asks for. @private */
function machine(libseccomp: string): BenchResult["machine"] {
  const read = (path: string) => {
    try {
      return readFileSync(path, "utf8");
    } catch {
      return "";
    }
  };
  const cpuModel = /^model name\s*:\s*(.*)$/m.exec(read("/proc/cpuinfo"))?.[1] ?? "unknown";
  return {
    kernel: release(),
    cpus: availableParallelism(),
    cpuModel,
    bun: (process.versions as Record<string, string | undefined>).bun ?? "not bun",
    libseccomp,
    bpfJit: read("/proc/sys/net/core/bpf_jit_enable").trim() || "unknown",
  };
}

/** seccompiler ÷ other, or null when other is 0. @private */
function divide(ours: number, other: number): number | null {
  return other === 0 ? null : ours / other;
}

/** Kernel figures of one job against the baseline. @private */
function kernelFigures(
  filter: Filter,
  program: Program,
  calls: readonly TimedCall[],
  job: JobSamples,
  baseline: JobSamples,
): Record<string, KernelFigure> {
  const out: Record<string, KernelFigure> = {};
  for (const call of calls) {
    const withFilter = summarize(job.samples.get(call.label)!);
    const without = summarize(baseline.samples.get(call.label)!);
    out[call.column] = {
      call: call.label,
      withFilter,
      overheadNs: withFilter.median - without.median,
      noiseNs: Math.max(1, withFilter.p75 - withFilter.p25, without.p75 - without.p25),
      filterSteps: callSteps(filter, program, call),
    };
  }
  return out;
}

/** ours ÷ other for a kernel overhead, or null when the divisor is within the noise. @private */
function kernelRatio(ours: KernelFigure, other: KernelFigure): number | null {
  return Math.abs(other.overheadNs) < other.noiseNs ? null : ours.overheadNs / other.overheadNs;
}

/** Whether two kernel overheads differ by less than the noise. @private */
function withinNoise(ours: KernelFigure, other: KernelFigure): boolean {
  return Math.abs(ours.overheadNs - other.overheadNs) < Math.max(ours.noiseNs, other.noiseNs);
}

/** Checks that a call returned under the filter what it returned without one. @private */
function checkReturned(key: string, call: TimedCall, job: JobSamples, baseline: JobSamples): void {
  const got = job.returned.get(call.label)!;
  const expected = baseline.returned.get(call.label)!;
  const same = call.column === "gettid" ? got.value > 0 : got.value === expected.value && got.errno === expected.errno;
  if (!same) {
    throw new Error(
      `${key}: ${call.label} returned ${got.value} (errno ${got.errno}) under the filter but ` +
        `${expected.value} (errno ${expected.errno}) without one; the filter did not let it through`,
    );
  }
}

/** The command line, checked. @private */
interface Options {
  readonly format: "table" | "json";
  readonly policy?: string;
  readonly arch: ArchName;
  readonly kernel: boolean;
  readonly quick: boolean;
  readonly skip: readonly string[];
  readonly startup: boolean;
  readonly startupRuns: number;
  readonly timing: KernelOptions;
}

/** Parses the command line; undefined for `--help`. Throws {@link UsageError}. @private */
function parseOptions(argv: readonly string[]): Options | undefined {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      format: { type: "string", default: "table" },
      policy: { type: "string" },
      arch: { type: "string" },
      "no-kernel": { type: "boolean", default: false },
      quick: { type: "boolean", default: false },
      skip: { type: "string", multiple: true, default: [] },
      "no-startup": { type: "boolean", default: false },
      "startup-runs": { type: "string" },
      iterations: { type: "string" },
      repetitions: { type: "string" },
      rounds: { type: "string" },
      help: { type: "boolean", short: "h", default: false },
    },
    strict: true,
  });
  if (values.help) return undefined;
  if (values.format !== "table" && values.format !== "json") {
    throw new UsageError(`--format must be table or json, not "${values.format}"`);
  }
  const arch = values.arch ?? "x86_64";
  if (!isArchName(arch)) throw new UsageError(`--arch must be an architecture seccompiler knows, not "${arch}"`);
  if (values.arch !== undefined && values.policy === undefined) throw new UsageError("--arch goes with --policy");
  for (const id of values.skip) {
    if (!SECTIONS.some((s) => s.id === id)) {
      throw new UsageError(`--skip: no section "${id}" (sections: ${SECTIONS.map((s) => s.id).join(", ")})`);
    }
  }
  return {
    format: values.format,
    policy: values.policy,
    arch,
    quick: values.quick,
    skip: values.skip,
    startup: !values["no-startup"],
    startupRuns: positive("startup-runs", values["startup-runs"], 21),
    kernel: !values["no-kernel"] && !values.quick,
    timing: {
      iterations: positive("iterations", values.iterations, 200_000),
      repetitions: positive("repetitions", values.repetitions, 5),
      rounds: positive("rounds", values.rounds, 5),
      progress: (message: string) => {
        if (process.stderr.isTTY) process.stderr.write(`\r\x1b[K${message}`);
      },
    },
  };
}

/** The policy's label for the report; throws {@link SetupError} when it is missing. @private */
function locatePolicy(subject: Subject): { path: string; label: string } {
  const label = relative(REPO_ROOT, subject.path);
  if (!existsSync(subject.path)) {
    const hint = subject.corpus
      ? "\nThe Firecracker corpus is expected beside the repository (../shared/corpus/firecracker/, or " +
        "SECCOMPILER_CORPUS); pass --policy FILE to measure another policy."
      : "";
    throw new SetupError(`policy not found: ${label}${hint}`);
  }
  return { path: subject.path, label };
}

/** Every thread's filter and its three programs. @private */
interface Subjects {
  readonly filters: ReadonlyMap<string, Filter>;
  readonly programs: ReadonlyMap<string, Record<Variant, Program>>;
  readonly libseccompVersion: string;
}

/** Compiles the policy with seccompiler and with libseccomp. @private */
function compileSubjects(policy: { path: string; label: string }, arch: ArchName): Subjects {
  const python = findPython();
  if (python === undefined) {
    throw new SetupError(
      "libseccomp's Python binding is missing: install Debian's python3-seccomp (apt-get install python3-seccomp)",
    );
  }
  const compiled = compilePolicy(readFileSync(policy.path, "utf8"), arch, { file: policy.label });
  const libseccomp = buildLibseccompPrograms(python, arch, compiled.filters);
  const programs = new Map<string, Record<Variant, Program>>();
  for (const thread of compiled.filters.keys()) {
    programs.set(thread, {
      seccompiler: compiled.programs.get(thread)!,
      libseccomp: libseccomp.linear.get(thread)!,
      libseccompTree: libseccomp.tree.get(thread)!,
    });
  }
  return { filters: compiled.filters, programs, libseccompVersion: libseccomp.version };
}

/**
 * Interpreter and cache figures per thread and program, after checking that
 * every program gives the policy's verdict on every call. @private
 */
function measureStatic(subjects: Subjects): Map<string, Record<Variant, ProgramFigures>> {
  const out = new Map<string, Record<Variant, ProgramFigures>>();
  for (const [thread, filter] of subjects.filters) {
    const workload = buildWorkload(filter);
    const programs = subjects.programs.get(thread)!;
    const figures = {} as Record<Variant, ProgramFigures>;
    for (const variant of VARIANTS) {
      const problem = checkVerdicts(filter, programs[variant], workload);
      if (problem) throw new Error(`${thread}: ${variant}'s program disagrees with the policy: ${problem}`);
      figures[variant] = measureProgram(filter, programs[variant], workload);
    }
    out.set(thread, figures);
  }
  return out;
}

/** What the kernel part measured. @private */
interface KernelRun {
  /** Thread → the calls timed for it. */
  readonly timed: ReadonlyMap<string, readonly TimedCall[]>;
  /** Thread → why it was not timed. */
  readonly skipped: ReadonlyMap<string, string>;
  /** Job key (`baseline`, `<thread>/<variant>`) → samples. */
  readonly samples: ReadonlyMap<string, JobSamples>;
}

/**
 * Times every thread's three programs in the kernel, plus a baseline child
 * without a filter that times every call, and checks each call got through. @private
 */
function measureKernel(subjects: Subjects, timing: KernelOptions): KernelRun {
  const jobs: KernelJob[] = [];
  const baselineCalls = new Map<string, TimedCall>();
  const timed = new Map<string, TimedCall[]>();
  const skipped = new Map<string, string>();
  for (const [thread, filter] of subjects.filters) {
    const programs = subjects.programs.get(thread)!;
    const allowedByAll = (call: ChildCall) => VARIANTS.every((v) => programAllows(filter, programs[v], call));
    const blocked = childNeeds(filter).filter((call) => !allowedByAll(call));
    if (blocked.length > 0) {
      skipped.set(
        thread,
        `the filter does not allow ${blocked.map((c) => c.label).join(" and ")}, which the timing child needs`,
      );
      continue;
    }
    const calls = timedCallsFor(filter).filter(allowedByAll);
    timed.set(thread, calls);
    for (const call of calls) baselineCalls.set(call.label, call);
    for (const variant of VARIANTS) jobs.push({ key: `${thread}/${variant}`, program: programs[variant], calls });
  }
  jobs.unshift({ key: "baseline", calls: [...baselineCalls.values()] });
  const samples = runKernelJobs(jobs, timing);
  clearProgress();
  for (const [thread, calls] of timed) {
    for (const variant of VARIANTS) {
      const key = `${thread}/${variant}`;
      for (const call of calls) checkReturned(key, call, samples.get(key)!, samples.get("baseline")!);
    }
  }
  return { timed, skipped, samples };
}

/** One thread's figures, kernel figures and ratios. @private */
function threadResult(
  thread: string,
  filter: Filter,
  programs: Record<Variant, Program>,
  figures: Record<Variant, ProgramFigures>,
  kernel: KernelRun | undefined,
): ThreadResult {
  const calls = kernel?.timed.get(thread) ?? [];
  const baseline = kernel?.samples.get("baseline");
  const variants = {} as Record<Variant, VariantResult>;
  for (const variant of VARIANTS) {
    const job = kernel?.samples.get(`${thread}/${variant}`);
    variants[variant] = job && baseline
      ? { ...figures[variant], kernel: kernelFigures(filter, programs[variant], calls, job, baseline) }
      : figures[variant];
  }
  const kernelOf = (variant: Variant, call: TimedCall) => variants[variant].kernel![call.column];
  const ratiosAgainst = (other: Variant) => {
    const out: Record<string, number | null> = {};
    for (const f of RATIO_FIGURES) out[f] = divide(variants.seccompiler[f], variants[other][f]);
    for (const call of calls) {
      out[`kernel.${call.column}`] = kernelRatio(kernelOf("seccompiler", call), kernelOf(other, call));
    }
    return out;
  };
  const noisy = (other: Variant) =>
    calls.filter((call) => withinNoise(kernelOf("seccompiler", call), kernelOf(other, call))).map((c) =>
      `kernel.${c.column}`
    );
  const skipped = kernel?.skipped.get(thread);
  return {
    thread,
    syscalls: filter.syscalls.length,
    rules: filter.syscalls.reduce((n, s) => n + Math.max(1, s.rules.length), 0),
    timedCalls: Object.fromEntries(calls.map((c) => [c.column, c.description])),
    ...(skipped ? { kernelSkipped: skipped } : {}),
    variants,
    ratios: {
      vsLibseccomp: ratiosAgainst("libseccomp"),
      vsLibseccompTree: ratiosAgainst("libseccompTree"),
      withinNoise: { vsLibseccomp: noisy("libseccomp"), vsLibseccompTree: noisy("libseccompTree") },
    },
  };
}

/** Why the kernel part cannot run here, if it cannot. @private */
function kernelUnavailable(options: Options, arch: ArchName): string | undefined {
  if (!options.kernel) return options.quick ? "--quick" : "--no-kernel";
  if (process.platform !== "linux" || hostArch() !== arch) return `the host is not Linux ${arch}`;
  if (!("Bun" in globalThis)) return "the kernel part needs Bun";
  return undefined;
}

/** The thread's ratios next to the targets. @private */
function threadTargets(label: string, subject: Subject, t: ThreadResult): TargetCheck[] {
  const checks: TargetCheck[] = policyTargets(subject.valueSearch).map((target) => ({
    subject: `${label} / ${t.thread}`,
    figure: target.label,
    ratio: t.ratios.vsLibseccompTree[target.figure],
    target: target.target,
  }));
  checks.push({
    subject: `${label} / ${t.thread}`,
    figure: "syscalls the action cache skips",
    ratio: t.ratios.vsLibseccompTree.cached,
    target: 1,
    min: 1,
  });
  return checks;
}

/** Measures one policy. @private */
function measurePolicy(subject: Subject, options: Options): PolicyResult & { libseccompVersion: string } {
  const policy = locatePolicy(subject);
  const subjects = compileSubjects(policy, subject.arch);
  const figures = measureStatic(subjects);
  const kernelSkipped = kernelUnavailable(options, subject.arch);
  const kernel = kernelSkipped === undefined ? measureKernel(subjects, options.timing) : undefined;
  const threads = [...subjects.filters].map(([thread, filter]) =>
    threadResult(thread, filter, subjects.programs.get(thread)!, figures.get(thread)!, kernel)
  );
  const baseline = kernel?.samples.get("baseline");
  const label = `${basename(policy.path)} ${subject.arch}`;
  return {
    policy: policy.label,
    arch: subject.arch,
    ...(baseline
      ? {
        kernel: {
          iterations: options.timing.iterations,
          repetitions: options.timing.repetitions,
          rounds: options.timing.rounds,
          baseline: Object.fromEntries([...baseline.samples].map(([call, s]) => [call, summarize(s)])),
        },
      }
      : { kernelSkipped }),
    threads,
    targets: threads.flatMap((t) => threadTargets(label, subject, t)),
    libseccompVersion: subjects.libseccompVersion,
  };
}

/** Runs the sections not skipped. @private */
async function runSections(options: Options): Promise<Record<string, SectionOutput>> {
  const out: Record<string, SectionOutput> = {};
  for (const section of SECTIONS) {
    if (options.skip.includes(section.id)) continue;
    const progress = options.timing.progress ?? (() => {});
    const result = await section.run({ repoRoot: REPO_ROOT, quick: options.quick, progress });
    clearProgress();
    out[section.id] = {
      id: section.id,
      title: section.title,
      header: result.header,
      rows: result.rows,
      notes: result.notes ?? [],
      targets: result.targets ?? [],
      data: result.data,
    };
  }
  return out;
}

async function main(): Promise<number> {
  const started = performance.now();
  const options = parseOptions(process.argv.slice(2));
  if (options === undefined) {
    console.log(USAGE);
    return 0;
  }
  const subjects: readonly Subject[] = options.policy
    ? [{ path: resolve(options.policy), arch: options.arch, valueSearch: false, corpus: false }]
    : DEFAULT_SUBJECTS;
  const measured = subjects.map((subject) => measurePolicy(subject, options));
  const sections = await runSections(options);
  const checks = [...measured.flatMap((p) => p.targets), ...Object.values(sections).flatMap((s) => s.targets)];
  const result: BenchResult = {
    machine: machine(measured[0]?.libseccompVersion ?? "unknown"),
    policies: measured.map(({ libseccompVersion: _, ...p }) => p),
    sections,
    targets: { checks, met: checks.filter(targetMet).length, total: checks.length },
    seconds: (performance.now() - started) / 1000,
  };
  // Start-up and compile-speed rows (issue 11): on the first x86_64 policy measured.
  const startupPolicy = subjects.find((s) => s.arch === "x86_64");
  const startup: StartupResult | undefined = options.startup && startupPolicy
    ? await measureStartup({ policyPath: startupPolicy.path, runs: options.startupRuns, progress: options.timing.progress })
    : undefined;
  clearProgress();
  if (options.format === "json") console.log(JSON.stringify(startup ? { ...result, startup } : result, null, 2));
  else console.log(startup ? `${formatTable(result)}\n\n${formatStartup(startup)}` : formatTable(result));
  return 0;
}

try {
  process.exitCode = await main();
} catch (error) {
  clearProgress();
  const code = (error as { code?: unknown }).code;
  if (error instanceof UsageError || (typeof code === "string" && code.startsWith("ERR_PARSE_ARGS"))) {
    console.error(`bench: ${(error as Error).message}`);
    process.exitCode = 2;
  } else if (error instanceof PolicyError) {
    console.error(`bench: the policy does not compile:\n${error.message}`);
    process.exitCode = 1;
  } else {
    console.error(`bench: ${error instanceof Error ? error.message : String(error)}`);
    process.exitCode = 1;
  }
}
