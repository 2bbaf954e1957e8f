/**
 * Bench section: compile time against policy size. Firecracker's x86_64
 * policy is scaled 1×, 4×, 16× and 48× by repeating every conditional rule
 * with its first `eq` value shifted (so the copies are distinct rules, and
 * ioctl, futex, mmap... get k times the request values); unconditional
 * syscalls stay as they are. At 48× the policy has about 4,000 rules.
 *
 * Two times per size, each the median of several warm runs in this process:
 * the whole `compilePolicy` (parse, validate, generate, optimize), and code
 * generation plus the optimizer alone on the already parsed filters. Linear
 * growth shows as a constant time per rule; the ratio column divides each
 * size's time per rule by 1×'s.
 *
 * @module
 */
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { generateProgram } from "../../src/codegen/mod.ts";
import { compilePolicy } from "../../src/compile.ts";
import { optimizeProgram } from "../../src/optimize/mod.ts";
import type { BenchSection, SectionContext, SectionResult } from "./sections.ts";
import type { TargetCheck } from "./report.ts";

/** Scale factors measured. */
export const SCALES = [1, 4, 16, 48] as const;
/** Largest accepted time-per-rule ratio to 1× at the biggest scale (linear growth: about 1). */
export const LINEAR_TARGET = 2;

/** A rule of the Firecracker dialect, as far as scaling needs it. @private */
interface JsonRule {
  syscall: string;
  args?: { index: number; type: string; op: unknown; val: number }[];
  [key: string]: unknown;
}

/**
 * The policy text with every conditional rule repeated `k` times (values shifted).
 *
 * @example
 * ```ts
 * const text = '{"t": {"default_action": "trap", "filter_action": "allow", "filter": [' +
 *   '{"syscall": "ioctl", "args": [{"index": 1, "type": "dword", "op": "eq", "val": 21537}]}]}}';
 * scalePolicy(text, 4).rules; // 4
 * ```
 */
export function scalePolicy(text: string, k: number): { text: string; rules: number } {
  const policy = JSON.parse(text) as Record<string, { filter: JsonRule[]; [key: string]: unknown }>;
  let rules = 0;
  for (const thread of Object.values(policy)) {
    const out: JsonRule[] = [];
    for (const r of thread.filter) {
      const first = r.args?.findIndex((a) => a.op === "eq") ?? -1;
      if (first < 0) {
        out.push(r);
        continue;
      }
      for (let i = 0; i < k; i++) {
        // 2^20 apart: past every value the policy uses, still below 2^32 at 48 copies.
        const args = r.args!.map((a, j) => (j === first ? { ...a, val: (a.val + i * 0x10_0000) % 0x1_0000_0000 } : a));
        out.push({ ...r, args });
      }
    }
    thread.filter = out;
    rules += out.length;
  }
  return { text: JSON.stringify(policy), rules };
}

/** Median of `runs` timings of `work`, in milliseconds, after one warm-up. @private */
function medianMs(runs: number, work: () => void): number {
  work();
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const start = performance.now();
    work();
    times.push(performance.now() - start);
  }
  times.sort((a, b) => a - b);
  return times[times.length >> 1];
}

/** The section; see the module comment. */
export const compileScaling: BenchSection = {
  id: "compileScaling",
  title: "compile time vs policy size (Firecracker x86_64 policy, conditional rules repeated k times)",
  run(context: SectionContext): SectionResult {
    const corpus = process.env.SECCOMPILER_CORPUS || resolve(context.repoRoot, "..", "shared", "corpus", "firecracker");
    const base = readFileSync(resolve(corpus, "x86_64-unknown-linux-musl.json"), "utf8");
    const rows: {
      scale: number;
      rules: number;
      instructions: number;
      compileMs: number;
      backendMs: number;
    }[] = [];
    for (const k of SCALES) {
      context.progress(`compile scaling: ${k}x`);
      const { text, rules } = scalePolicy(base, k);
      const runs = context.quick ? 3 : k >= 16 ? 7 : 21;
      const compiled = compilePolicy(text, "x86_64");
      const filters = [...compiled.filters.values()];
      const compileMs = medianMs(runs, () => compilePolicy(text, "x86_64"));
      const backendMs = medianMs(runs, () => {
        for (const f of filters) optimizeProgram(generateProgram(f));
      });
      const instructions = [...compiled.programs.values()].reduce((n, p) => n + p.length, 0);
      rows.push({ scale: k, rules, instructions, compileMs, backendMs });
    }
    const first = rows[0];
    const perRule = (ms: number, r: { rules: number }, base: number) => (ms / r.rules) / (base / first.rules);
    const last = rows[rows.length - 1];
    const targets: TargetCheck[] = [
      {
        subject: `compile ${last.scale}x (${last.rules} rules)`,
        figure: "codegen+optimize time per rule / 1x",
        ratio: perRule(last.backendMs, last, first.backendMs),
        target: LINEAR_TARGET,
      },
      {
        subject: `compile ${last.scale}x (${last.rules} rules)`,
        figure: "whole compile time per rule / 1x",
        ratio: perRule(last.compileMs, last, first.compileMs),
        target: LINEAR_TARGET,
      },
    ];
    return {
      header: ["size", "rules", "insns", "compile ms", "per rule / 1x", "codegen+opt ms", "per rule / 1x"],
      rows: rows.map((r) => [
        `${r.scale}x`,
        String(r.rules),
        String(r.instructions),
        r.compileMs.toFixed(2),
        `${perRule(r.compileMs, r, first.compileMs).toFixed(2)}x`,
        r.backendMs.toFixed(2),
        `${perRule(r.backendMs, r, first.backendMs).toFixed(2)}x`,
      ]),
      targets,
      notes: [
        "Medians of warm runs in one process. insns: all threads' program lengths together. A time per rule",
        "that stays near 1x means compile time grows linearly with the number of rules.",
      ],
      data: { scales: rows },
    };
  },
};
