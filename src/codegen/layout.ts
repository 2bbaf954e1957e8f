/**
 * The dispatch-layout contract: how the generated program gets from the
 * syscall number to the code for that syscall.
 *
 * The generator owns everything around the dispatch (arch check, x32 guard,
 * returns, argument checks); a layout only decides the shape of the
 * number-to-target decision, so an optimizer can swap the linear chain for
 * a tree or a frequency order without touching the rest.
 *
 * @module
 */
import type { Label, ProgramBuilder } from "../bpf/builder.ts";

/** One syscall the dispatch must recognise. */
export interface DispatchEntry {
  /** Syscall number (below `0x40000000`, non-negative). */
  readonly nr: number;
  /** Where the dispatch jumps for this number: the syscall's argument checks, or straight to a return. */
  readonly target: Label;
}

/** Input of a {@link Layout}. */
export interface DispatchPlan {
  /** The syscalls, in ascending number order. */
  readonly syscalls: readonly DispatchEntry[];
  /** Where every other number goes; placed immediately after the dispatch. */
  readonly mismatch: Label;
}

/**
 * Emits the dispatch. On entry A holds `seccomp_data.nr`, already known to be
 * below `0x40000000` where the arch has x32. A layout must send each listed
 * number to its `target` and everything else to `mismatch` (falling off the end
 * of the dispatch reaches `mismatch`). To keep the kernel's action cache
 * usable it may only emit `ld [0]`, `ld [4]`, `jeq/jge/jgt/jset #k`, `ja` and
 * `and #k`, and it must not load arguments.
 *
 * @example
 * ```ts
 * import { JEQ_K } from "../bpf/insn.ts";
 * const myLayout: Layout = (builder, plan) => {
 *   for (const entry of plan.syscalls) builder.jump(JEQ_K, entry.nr, entry.target, "next");
 * };
 * ```
 */
export type Layout = (builder: ProgramBuilder, plan: DispatchPlan) => void;
