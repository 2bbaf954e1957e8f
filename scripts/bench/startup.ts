/**
 * Start-up and compile-speed rows of `npm run bench` (issue 11): whole
 * processes timed against a hello-world of the same Bun, and the in-process
 * compile timed against `JSON.parse` of the same text. Every figure is a
 * ratio measured in one run, printed next to its target.
 *
 * Rows (median of `runs` rounds; in each round every command runs once, in
 * turn, so that load on the machine falls on all of them alike):
 * - `bun build --compile` hello-world (the floor for standalone executables)
 *   and `bun hello.js` (the floor from source);
 * - the standalone executable (built with `scripts/build.sh` into a
 *   temporary directory) running `exec --filter-file F --thread bench --
 *   /bin/true`, and the same from source (`scripts/seccompiler`);
 * - `exec --policy P --thread bench -- /bin/true` (standalone);
 * - `compile` of the policy (standalone).
 * Then the same commands under load: {@link PARALLEL} copies at once per
 * round, timed until the last exits (no targets; the ratios show whether the
 * launcher's overhead holds when the machine is busy).
 * P is the benchmark's policy (Firecracker's x86_64 policy) with one more
 * thread, `bench`, that lets /bin/true run; F is P compiled.
 *
 * Run alone: `bun scripts/bench/startup.ts [--runs N] [--policy FILE] [--format json]`.
 *
 * @module
 */
import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { arch as hostCpu, availableParallelism, tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { compilePolicy } from "../../src/compile.ts";

/** What the Rust crate (rust-vmm seccompiler) takes to compile Firecracker's x86_64 policy in process, in µs (issue 11). */
export const RUST_CRATE_COMPILE_US = 170;

/** One whole-process row. */
export interface ProcessRow {
  /** Short name. */
  readonly name: string;
  /** The command line, as a reader would type it (paths relative to the repository or the temporary directory). */
  readonly command: string;
  /** Median wall time, ms. */
  readonly medianMs: number;
  /** The row it is divided by. */
  readonly floor?: string;
  /** medianMs ÷ the floor's medianMs. */
  readonly ratio?: number;
  /** The target for the ratio (at most). */
  readonly target?: number;
}

/** Everything {@link measureStartup} measured. */
export interface StartupResult {
  /** Rounds per process row. */
  readonly runs: number;
  /** Whole-process rows. */
  readonly processes: readonly ProcessRow[];
  /** Why the exec rows were left out, if they were. */
  readonly execSkipped?: string;
  /**
   * The same commands under load: {@link PARALLEL} copies started at once, wall time until the last
   * one exits (median of the rounds), each ratio against the hello-world run the same way.
   */
  readonly parallel: readonly ProcessRow[];
  /** In-process compile of the policy, warm. */
  readonly inProcess: {
    /** Median µs of `compilePolicy(text, "x86_64")`. */
    readonly compileUs: number;
    /** Median µs of `JSON.parse(text)`. */
    readonly jsonParseUs: number;
    /** compileUs ÷ jsonParseUs. */
    readonly ratio: number;
    /** Target for the ratio (at most). */
    readonly target: number;
    /** The Rust crate's figure, for comparison. */
    readonly rustCrateUs: number;
    /** Samples of each. */
    readonly samples: number;
  };
}

/** Options of {@link measureStartup}. */
export interface StartupOptions {
  /** The policy (x86_64) to compile and launch with. */
  readonly policyPath: string;
  /** Rounds per process row (default 21). */
  readonly runs?: number;
  /** Progress messages (to a terminal). */
  readonly progress?: (message: string) => void;
}

const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..");
const BUN = join(REPO_ROOT, "node_modules", ".bin", "bun");

/** The thread added to the policy so that /bin/true can run under it: everything allowed but ptrace. @private */
const BENCH_THREAD =
  `"bench": {"default_action": "allow", "filter_action": {"errno": 1}, "filter": [{"syscall": "ptrace"}]},`;

/** Median of a list of numbers. @private */
function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

/** Runs a command, failing the benchmark when it does not exit 0 (a failing command is fast and meaningless). @private */
function run(argv: readonly string[], cwd: string): number {
  const started = performance.now();
  const result = spawnSync(argv[0], argv.slice(1), { cwd, stdio: ["ignore", "ignore", "pipe"] });
  const elapsed = performance.now() - started;
  if (result.status !== 0) {
    throw new Error(`${argv.join(" ")} exited with ${result.status ?? result.signal}: ${String(result.stderr).trim()}`);
  }
  return elapsed;
}

/** Copies of a command started at once for the parallel rows (the machine's CPUs, at least 2, at most 8). */
export const PARALLEL = Math.min(8, Math.max(2, availableParallelism()));

/** Starts `copies` copies of a command at once; resolves with the wall time until the last exits. @private */
function runParallel(argv: readonly string[], cwd: string, copies: number): Promise<number> {
  const started = performance.now();
  return Promise.all(Array.from({ length: copies }, () =>
    new Promise<void>((done, fail) => {
      const child = spawn(argv[0], argv.slice(1), { cwd, stdio: "ignore" });
      child.on("error", fail);
      child.on("exit", (code, signal) =>
        code === 0 ? done() : fail(new Error(`${argv.join(" ")} exited with ${code ?? signal} (parallel run)`))
      );
    })
  )).then(() => performance.now() - started);
}

/** A command of one row. @private */
interface Subject {
  readonly name: string;
  readonly argv: readonly string[];
  readonly shown: string;
  readonly floor?: string;
  readonly target?: number;
}

/**
 * Builds the executables and inputs in a temporary directory, times every
 * row and returns the figures. Throws when a command fails.
 *
 * @example
 * ```ts
 * const result = await measureStartup({ policyPath: "../shared/corpus/firecracker/x86_64-unknown-linux-musl.json", runs: 5 });
 * console.log(formatStartup(result));
 * ```
 */
export async function measureStartup(options: StartupOptions): Promise<StartupResult> {
  const runs = options.runs ?? 21;
  const progress = options.progress ?? (() => {});
  const policyText = readFileSync(options.policyPath, "utf8");
  const dir = mkdtempSync(join(tmpdir(), "seccompiler-bench-"));
  try {
    progress("startup: building the executables");
    writeFileSync(join(dir, "hello.js"), 'console.log("hello, world");\n');
    const buildFlags = ["--no-compile-autoload-dotenv", "--no-compile-autoload-bunfig"];
    run([BUN, "build", "--compile", ...buildFlags, join(dir, "hello.js"), "--outfile", join(dir, "hello")], dir);
    const subjects: Subject[] = [
      { name: "hello (compiled)", argv: [join(dir, "hello")], shown: "bun build --compile hello.js; ./hello" },
      { name: "hello (bun)", argv: [BUN, join(dir, "hello.js")], shown: "bun hello.js" },
    ];
    const onX64 = process.platform === "linux" && hostCpu() === "x64";
    const execSkipped = onX64 ? undefined : "the policy is for x86_64; exec rows need a Linux x86_64 host";
    if (onX64) {
      run(["sh", join(REPO_ROOT, "scripts", "build.sh"), "x64", dir], dir);
      const exe = join(dir, "seccompiler-linux-x64");
      const policy = join(dir, "policy.json");
      const brace = policyText.indexOf("{");
      writeFileSync(policy, `${policyText.slice(0, brace + 1)}\n  ${BENCH_THREAD}${policyText.slice(brace + 1)}`);
      const filterFile = join(dir, "policy.bpf");
      run([exe, "compile", "--target-arch", "x86_64", "--input-file", policy, "--output-file", filterFile], dir);
      const source = join(REPO_ROOT, "scripts", "seccompiler");
      const exec = ["exec", "--thread", "bench"];
      subjects.push(
        {
          name: "exec --filter-file (compiled)",
          argv: [exe, ...exec, "--filter-file", filterFile, "--", "/bin/true"],
          shown: "seccompiler-linux-x64 exec --thread bench --filter-file policy.bpf -- /bin/true",
          floor: "hello (compiled)",
          target: 2,
        },
        {
          name: "exec --filter-file (source)",
          argv: [source, ...exec, "--filter-file", filterFile, "--", "/bin/true"],
          shown: "scripts/seccompiler exec --thread bench --filter-file policy.bpf -- /bin/true",
          floor: "hello (bun)",
          target: 2,
        },
        {
          name: "exec --policy (compiled)",
          argv: [exe, ...exec, "--policy", policy, "--", "/bin/true"],
          shown: "seccompiler-linux-x64 exec --thread bench --policy policy.json -- /bin/true",
          floor: "hello (compiled)",
          target: 2.5,
        },
        {
          name: "compile (compiled)",
          argv: [exe, "compile", "--target-arch", "x86_64", "--input-file", options.policyPath, "--output-file", join(dir, "fc.out")],
          shown: "seccompiler-linux-x64 compile --target-arch x86_64 --input-file x86_64-unknown-linux-musl.json",
          floor: "hello (compiled)",
          target: 3,
        },
      );
    }
    const times = new Map<string, number[]>(subjects.map((s) => [s.name, []]));
    for (const subject of subjects) run(subject.argv, dir); // warm the page cache; check each runs
    for (let round = 0; round < runs; round++) {
      progress(`startup: round ${round + 1}/${runs}`);
      for (const subject of subjects) times.get(subject.name)!.push(run(subject.argv, dir));
    }
    const rows = (samples: Map<string, number[]>, label: (name: string) => string) => {
      const medians = new Map([...samples].map(([name, values]) => [name, median(values)]));
      return subjects.filter((s) => samples.has(s.name)).map((s): ProcessRow => {
        const medianMs = medians.get(s.name)!;
        if (s.floor === undefined) return { name: label(s.name), command: s.shown, medianMs };
        return { name: label(s.name), command: s.shown, medianMs, floor: label(s.floor), ratio: medianMs / medians.get(s.floor)! };
      });
    };
    const processes = rows(times, (name) => name).map((row) => {
      const target = subjects.find((s) => s.name === row.name)?.target;
      return target === undefined ? row : { ...row, target };
    });
    progress("startup: in-process compile");
    const together = new Map<string, number[]>(subjects.map((s) => [s.name, []]));
    for (let round = 0; round < runs; round++) {
      progress(`startup: ${PARALLEL} at once, round ${round + 1}/${runs}`);
      for (const subject of subjects) together.get(subject.name)!.push(await runParallel(subject.argv, dir, PARALLEL));
    }
    const parallel = rows(together, (name) => `${name} ×${PARALLEL}`);
    return { runs, processes, ...(execSkipped ? { execSkipped } : {}), parallel, inProcess: measureInProcess(policyText) };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Warm medians of compilePolicy and JSON.parse of the same text, sampled alternately. @private */
function measureInProcess(text: string): StartupResult["inProcess"] {
  for (let i = 0; i < 300; i++) {
    JSON.parse(text);
    compilePolicy(text, "x86_64");
  }
  const samples = 500;
  const parse: number[] = [];
  const compile: number[] = [];
  for (let i = 0; i < samples; i++) {
    let started = performance.now();
    JSON.parse(text);
    parse.push(performance.now() - started);
    started = performance.now();
    compilePolicy(text, "x86_64");
    compile.push(performance.now() - started);
  }
  const compileUs = median(compile) * 1000;
  const jsonParseUs = median(parse) * 1000;
  return { compileUs, jsonParseUs, ratio: compileUs / jsonParseUs, target: 5, rustCrateUs: RUST_CRATE_COMPILE_US, samples };
}

/**
 * The rows as a table, each ratio with its target and whether it is met.
 *
 * @example
 * ```ts
 * declare const result: StartupResult;
 * console.log(formatStartup(result));
 * ```
 */
export function formatStartup(result: StartupResult): string {
  const lines = [`Start-up (median of ${result.runs} runs, whole process, wall time):`, ""];
  const name = Math.max(...result.processes.map((row) => row.name.length));
  for (const row of result.processes) {
    const ratio = row.ratio === undefined
      ? ""
      : `  ${row.ratio.toFixed(2)}× ${row.floor}  (target ≤ ${row.target}×: ${row.ratio <= row.target! ? "met" : "NOT met"})`;
    lines.push(`  ${row.name.padEnd(name)}  ${row.medianMs.toFixed(1).padStart(7)} ms${ratio}`);
  }
  if (result.execSkipped) lines.push(`  (exec and compile rows skipped: ${result.execSkipped})`);
  if (result.parallel.length > 0) {
    lines.push("", `Under load: ${PARALLEL} copies started at once, wall time until the last exits (median of ${result.runs}):`, "");
    const width = Math.max(...result.parallel.map((row) => row.name.length));
    for (const row of result.parallel) {
      const ratio = row.ratio === undefined ? "" : `  ${row.ratio.toFixed(2)}× ${row.floor}`;
      lines.push(`  ${row.name.padEnd(width)}  ${row.medianMs.toFixed(1).padStart(7)} ms${ratio}`);
    }
  }
  const p = result.inProcess;
  lines.push(
    "",
    `In-process compile of the policy, warm (median of ${p.samples}):`,
    "",
    `  compilePolicy  ${p.compileUs.toFixed(0).padStart(6)} µs  (the Rust crate: ${p.rustCrateUs} µs)`,
    `  JSON.parse     ${p.jsonParseUs.toFixed(0).padStart(6)} µs`,
    `  ratio          ${p.ratio.toFixed(2).padStart(6)}×  (target ≤ ${p.target}×: ${p.ratio <= p.target ? "met" : "NOT met"})`,
    "",
    "Commands:",
    ...result.processes.map((row) => `  ${row.name}: ${row.command}`),
  );
  return lines.join("\n");
}

if (import.meta.main) {
  const { values } = parseArgs({
    options: { runs: { type: "string" }, policy: { type: "string" }, format: { type: "string", default: "table" } },
  });
  const policyPath = resolve(
    values.policy ??
      join(process.env.SECCOMPILER_CORPUS || join(REPO_ROOT, "..", "shared", "corpus", "firecracker"), "x86_64-unknown-linux-musl.json"),
  );
  const result = await measureStartup({
    policyPath,
    runs: values.runs === undefined ? undefined : Number(values.runs),
    progress: (message) => process.stderr.isTTY && process.stderr.write(`\r\x1b[K${message}`),
  });
  if (process.stderr.isTTY) process.stderr.write("\r\x1b[K");
  console.log(values.format === "json" ? JSON.stringify(result, null, 2) : formatStartup(result));
}
