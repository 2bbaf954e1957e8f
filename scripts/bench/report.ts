/**
 * The benchmark's result document (`--format json`) and its table rendering.
 *
 * @module
 */
import type { ProgramFigures } from "./figures.ts";
import type { Summary } from "./kernel.ts";

/** The three programs compared for each thread. */
export const VARIANTS = ["seccompiler", "libseccomp", "libseccompTree"] as const;
/** One of {@link VARIANTS}. */
export type Variant = (typeof VARIANTS)[number];

/** Display names of the variants. */
export const VARIANT_LABELS: Record<Variant, string> = {
  seccompiler: "seccompiler",
  libseccomp: "libseccomp",
  libseccompTree: "libseccomp tree (-O2)",
};

/** Kernel cost of one timed call under one filter. */
export interface KernelFigure {
  /** The call (as labelled in `kernel.baseline`). */
  readonly call: string;
  /** ns per call with the filter: median, quartiles, sample count. */
  readonly withFilter: Summary;
  /** Median ns per call above the no-filter baseline's median. */
  readonly overheadNs: number;
  /** The larger interquartile range of this call's samples with and without the filter (at least 1 ns). */
  readonly noiseNs: number;
  /** Instructions the filter executes for the call (interpreter); null when the action cache skips the filter. */
  readonly filterSteps: number | null;
}

/** Everything measured for one program. */
export interface VariantResult extends ProgramFigures {
  /** Column (`gettid`, `ioctl`, `futex`) → kernel cost; absent when the kernel part did not run. */
  readonly kernel?: Readonly<Record<string, KernelFigure>>;
}

/** Figures that get a ratio, in table order. */
export const RATIO_FIGURES = [
  "instructions",
  "meanSteps",
  "meanStepsCacheAware",
  "worstSteps",
  "unlistedSteps",
  "ruleMeanSteps",
  "ruleWorstSteps",
  "uncachedMeanSteps",
  "cached",
] as const;

/** A ratio next to its target (issue 10's targets, or a section's). */
export interface TargetCheck {
  /** What was measured: `<policy> <arch> / <thread>`, or a section's row. */
  readonly subject: string;
  /** The figure, in words. */
  readonly figure: string;
  /** seccompiler ÷ reference (null when the reference is 0). */
  readonly ratio: number | null;
  /** Largest ratio that meets the target. */
  readonly target: number;
  /** Smallest ratio that meets the target, when there is one (1 with target 1: "equal"). */
  readonly min?: number;
}

/**
 * Whether a check meets its target.
 *
 * @example
 * ```ts
 * targetMet({ subject: "vmm", figure: "program length", ratio: 0.7, target: 1 }); // true
 * ```
 */
export function targetMet(check: TargetCheck): boolean {
  return check.ratio !== null && check.ratio <= check.target + 1e-9 && (check.min === undefined || check.ratio >= check.min - 1e-9);
}

/**
 * The ratio targets for one policy's threads, against libseccomp's tree (`CTL_OPTIMIZE` 2):
 * `valueSearch` tightens the rule-matching targets for policies with 100+ values of one argument.
 *
 * @example
 * ```ts
 * policyTargets(false).map((t) => t.target); // [0.6, 0.6, 0.8, 1]
 * ```
 */
export function policyTargets(
  valueSearch: boolean,
): readonly { figure: (typeof RATIO_FIGURES)[number]; label: string; target: number }[] {
  const rules = valueSearch ? 0.3 : 0.6;
  return [
    { figure: "ruleMeanSteps", label: "rule-matching calls: mean executed", target: rules },
    { figure: "ruleWorstSteps", label: "rule-matching calls: max executed", target: rules },
    { figure: "uncachedMeanSteps", label: "uncached calls (denied too): mean executed", target: 0.8 },
    { figure: "instructions", label: "program length", target: 1.0 },
  ];
}

/** One thread's results. */
export interface ThreadResult {
  /** Thread name in the policy. */
  readonly thread: string;
  /** Listed syscalls. */
  readonly syscalls: number;
  /** Rules (a syscall without conditions counts as one). */
  readonly rules: number;
  /** The calls timed in the kernel for this thread, column → description. */
  readonly timedCalls: Readonly<Record<string, string>>;
  /** Why this thread's filters were not timed in the kernel, when they were not. */
  readonly kernelSkipped?: string;
  /** Figures per program. */
  readonly variants: Readonly<Record<Variant, VariantResult>>;
  /**
   * seccompiler ÷ libseccomp and seccompiler ÷ libseccomp tree, per figure
   * (`kernel.<column>` for overheads). Below 1: seccompiler is smaller/faster.
   * null when the divisor is 0 or, for kernel overheads, within the noise.
   */
  readonly ratios: {
    readonly vsLibseccomp: Readonly<Record<string, number | null>>;
    readonly vsLibseccompTree: Readonly<Record<string, number | null>>;
    /**
     * The `kernel.<column>` ratios whose overheads differ by less than the
     * noise (the larger {@link KernelFigure.noiseNs} of the two): read them as "no
     * measurable difference".
     */
    readonly withinNoise: {
      readonly vsLibseccomp: readonly string[];
      readonly vsLibseccompTree: readonly string[];
    };
  };
}

/** Everything measured for one policy on one architecture. */
export interface PolicyResult {
  /** The policy file, relative to the repository root when inside it or beside it. */
  readonly policy: string;
  /** Target architecture. */
  readonly arch: string;
  /** Kernel timing settings and the baseline; absent when the kernel part was skipped. */
  readonly kernel?: {
    readonly iterations: number;
    readonly repetitions: number;
    readonly rounds: number;
    /** Call label → ns per call without any filter. */
    readonly baseline: Readonly<Record<string, Summary>>;
  };
  /** Why the kernel part was skipped, when it was. */
  readonly kernelSkipped?: string;
  /** Per thread. */
  readonly threads: readonly ThreadResult[];
  /** The ratio targets of every thread, with the measured ratios. */
  readonly targets: readonly TargetCheck[];
}

/** A section's output (scripts/bench/sections.ts). */
export interface SectionOutput {
  /** The section's id. */
  readonly id: string;
  /** Its heading. */
  readonly title: string;
  /** Table header and rows. */
  readonly header: readonly string[];
  readonly rows: readonly (readonly string[])[];
  /** Lines under the table. */
  readonly notes: readonly string[];
  /** Its target checks. */
  readonly targets: readonly TargetCheck[];
  /** Its figures. */
  readonly data: unknown;
}

/** The whole result document. */
export interface BenchResult {
  /** Where it ran. */
  readonly machine: {
    readonly kernel: string;
    readonly cpus: number;
    readonly cpuModel: string;
    readonly bun: string;
    readonly libseccomp: string;
    readonly bpfJit: string;
  };
  /** One entry per policy and architecture measured. */
  readonly policies: readonly PolicyResult[];
  /** Extra sections, by id. */
  readonly sections: Readonly<Record<string, SectionOutput>>;
  /** Every target check (policies, then sections), and how many are met. */
  readonly targets: { readonly checks: readonly TargetCheck[]; readonly met: number; readonly total: number };
  /** Wall time of the run, seconds. */
  readonly seconds: number;
}

/** Formats a number with a fixed number of decimals, or "n/a". @private */
function num(value: number | null | undefined, decimals = 1): string {
  return value === null || value === undefined || !Number.isFinite(value) ? "n/a" : value.toFixed(decimals);
}

/** Formats a ratio as `1.23x`. @private */
function ratio(value: number | null | undefined): string {
  return value === null || value === undefined ? "n/a" : `${value.toFixed(2)}x`;
}

/** `+25.8 [12]`: overhead in ns and the instructions the filter runs (`c` when cached). @private */
function kernelCell(figure: KernelFigure | undefined): string {
  if (figure === undefined) return "-";
  const sign = figure.overheadNs < 0 ? "" : "+";
  return `${sign}${num(figure.overheadNs)} [${figure.filterSteps ?? "c"}]`;
}

/** Right-aligns every column but the first. @private */
function table(rows: readonly (readonly string[])[]): string {
  const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => r[c].length)));
  return rows.map((r) => r.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]) : cell.padStart(widths[c]))).join("  "))
    .join("\n");
}

/** The per-thread tables of one policy. @private */
function formatPolicy(result: PolicyResult): string[] {
  const out: string[] = ["", `== ${result.policy} (${result.arch})`];
  const columns = ["gettid", "ioctl", "futex"];
  const kernel = result.kernel;
  if (kernel) {
    out.push(
      `kernel: ${kernel.iterations} calls per loop, ${kernel.repetitions} loops x ${kernel.rounds} children per filter; ` +
        `figures are median ns/call above the no-filter baseline`,
      `baseline (no filter), median [p25-p75] ns/call: ` +
        Object.entries(kernel.baseline).map(([call, s]) => `${call} ${num(s.median)} [${num(s.p25)}-${num(s.p75)}]`)
          .join(", "),
    );
  } else {
    out.push(`kernel: skipped (${result.kernelSkipped ?? "not requested"})`);
  }
  for (const t of result.threads) {
    const header = [
      "",
      "insns",
      "mean",
      "mean*",
      "worst",
      "unlisted",
      "rule",
      "rule max",
      "uncached",
      "cached",
      ...(kernel ? columns.map((c) => `${c} ns`) : []),
    ];
    const rows: string[][] = [header];
    for (const variant of ["seccompiler", "libseccomp", "libseccompTree"] as const) {
      const v = t.variants[variant];
      rows.push([
        VARIANT_LABELS[variant],
        String(v.instructions),
        num(v.meanSteps),
        num(v.meanStepsCacheAware),
        String(v.worstSteps),
        num(v.unlistedSteps),
        num(v.ruleMeanSteps),
        String(v.ruleWorstSteps),
        num(v.uncachedMeanSteps),
        String(v.cached),
        ...(kernel ? columns.map((c) => kernelCell(v.kernel?.[c])) : []),
      ]);
    }
    const against = [
      ["ours / libseccomp", t.ratios.vsLibseccomp, t.ratios.withinNoise.vsLibseccomp],
      ["ours / tree", t.ratios.vsLibseccompTree, t.ratios.withinNoise.vsLibseccompTree],
    ] as const;
    for (const [label, ratios, noisy] of against) {
      const kernelRatio = (c: string) => {
        const key = `kernel.${c}`;
        if (!(key in ratios)) return "-";
        return `${noisy.includes(key) ? "~" : ""}${ratio(ratios[key])}`;
      };
      rows.push([label, ...RATIO_FIGURES.map((f) => ratio(ratios[f])), ...(kernel ? columns.map(kernelRatio) : [])]);
    }
    out.push("", `${t.thread}: ${t.syscalls} syscalls, ${t.rules} rules`, table(rows));
    if (t.kernelSkipped) out.push(`  not timed: ${t.kernelSkipped}`);
    else if (kernel) out.push(`  timed: ${Object.values(t.timedCalls).join("; ")}`);
  }
  return out;
}

/** The target summary: every ratio next to its target. @private */
function formatTargets(checks: readonly TargetCheck[]): string[] {
  const rows: string[][] = [["", "figure", "ratio", "target", ""]];
  for (const c of checks) {
    const bound = c.min === c.target ? `= ${c.target.toFixed(2)}x` : `<= ${c.target.toFixed(2)}x`;
    rows.push([c.subject, c.figure, ratio(c.ratio), bound, targetMet(c) ? "met" : "MISSED"]);
  }
  const met = checks.filter(targetMet).length;
  return ["", `== targets (seccompiler / libseccomp tree unless stated): ${met} of ${checks.length} met`, table(rows)];
}

/**
 * Renders `result` as the human-readable report.
 *
 * @example
 * ```ts
 * console.log(formatTable(result));
 * ```
 */
export function formatTable(result: BenchResult): string {
  const m = result.machine;
  const out: string[] = [
    `seccompiler bench`,
    `machine: Linux ${m.kernel}, ${m.cpus} CPUs, ${m.cpuModel}; Bun ${m.bun}; libseccomp ${m.libseccomp}; bpf_jit_enable=${m.bpfJit}`,
  ];
  for (const p of result.policies) out.push(...formatPolicy(p));
  out.push(
    "",
    "insns: program length. mean: instructions executed per allowed call, every listed syscall weighted",
    "equally (its rules averaged). mean*: the same with the syscalls the kernel's action cache skips",
    "counted as 0. worst: most instructions on any call tried (allowed calls, every combination of the",
    "rules' argument values, every unlisted syscall). unlisted: mean for an unlisted syscall. rule / rule",
    "max: mean and most instructions over the calls that match an argument rule (one per rule). uncached:",
    "mean over every call the action cache cannot skip (rule-matching calls, all argument combinations",
    "tried, unlisted syscalls). cached: native syscalls the action cache skips. Kernel columns: median",
    "ns/call above the baseline, and [instructions the filter runs for that call] (c: the action cache",
    "skips the filter). Ratios below 1x favour seccompiler; ~: the two overheads differ by less than the",
    "noise (interquartile range of the samples); n/a: divisor 0 or within the noise.",
  );
  for (const section of Object.values(result.sections)) {
    out.push("", `== ${section.title}`, table([section.header, ...section.rows]), ...section.notes);
  }
  out.push(...formatTargets(result.targets.checks));
  out.push(`(${result.seconds.toFixed(1)} s)`);
  return out.join("\n");
}
