/**
 * Extra rows of `npm run bench`: each section is a separate module that
 * measures something and hands back a small table, optional target checks,
 * and its figures for `--format json`. To add one, write a module exporting a
 * {@link BenchSection} and list it in {@link SECTIONS}; `scripts/bench.ts`
 * runs them after the filter comparison, prints each table, adds its target
 * checks to the summary, and puts `data` under `sections.<id>` in the JSON.
 *
 * @module
 */
import { compileScaling } from "./compile_scaling.ts";
import type { TargetCheck } from "./report.ts";

/** What a section gets from the benchmark. */
export interface SectionContext {
  /** The repository root. */
  readonly repoRoot: string;
  /** `--quick`: fewer repetitions, for a fast look. */
  readonly quick: boolean;
  /** Shows a progress message on a terminal (no-op otherwise). */
  readonly progress: (message: string) => void;
}

/** What a section hands back. */
export interface SectionResult {
  /** Column titles of the section's table. */
  readonly header: readonly string[];
  /** Table rows, cells already formatted. */
  readonly rows: readonly (readonly string[])[];
  /** Ratios with targets, listed in the benchmark's target summary. */
  readonly targets?: readonly TargetCheck[];
  /** Lines printed under the table. */
  readonly notes?: readonly string[];
  /** The figures, for `--format json`. */
  readonly data: unknown;
}

/** One section of extra rows. */
export interface BenchSection {
  /** Key under `sections` in the JSON output, and the `--skip ID` name. */
  readonly id: string;
  /** Heading printed above the table. */
  readonly title: string;
  /** Measures; may be asynchronous. Throwing stops the benchmark with the message. */
  run(context: SectionContext): SectionResult | Promise<SectionResult>;
}

/** The sections `npm run bench` runs, in order. */
export const SECTIONS: readonly BenchSection[] = [compileScaling];
