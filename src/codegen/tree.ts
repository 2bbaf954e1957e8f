/**
 * A binary-search dispatch: `jge` splits on the syscall number down to short
 * `jeq` chains, so any number is decided in O(log n) instructions instead of
 * the linear chain's O(n). libseccomp calls this optimize level 2; kernel
 * measurements put a 306-syscall list at 312 TSC ticks with a tree against
 * 1942 at the end of a linear chain (docs/kernel-seccomp.md, §9).
 *
 * Why it is safe: every split compares only A (the syscall number) with
 * `jge #k`, which the kernel's action-cache emulator follows, and each leaf
 * tests for equality exactly as the linear layout does; a number reaches a
 * leaf only if it lies in that leaf's range, so it matches a listed number
 * there or falls into the mismatch return. x32 numbers and nr −1 never get
 * here on x86_64 (the generator's x32 guard comes first); on other arches
 * they land in the last leaf and miss every `jeq`.
 *
 * @module
 */
import type { Label, ProgramBuilder } from "../bpf/builder.ts";
import { JEQ_K, JGE_K } from "../bpf/insn.ts";
import type { DispatchEntry, DispatchPlan, Layout } from "./layout.ts";

/**
 * Largest run of syscalls tested with a `jeq` chain instead of splitting
 * again: below this a split costs as much as it saves.
 */
export const TREE_LEAF_SIZE = 4;

/**
 * Binary search over the listed numbers, `jeq` chains of at most
 * {@link TREE_LEAF_SIZE} at the leaves. Same verdicts as the linear layout,
 * fewer instructions per call once more than a handful of syscalls are listed.
 *
 * @example
 * ```ts
 * import { generateProgram } from "./mod.ts";
 * import { ALLOW, errno, seccompFilter } from "../ir.ts";
 * const filter = seccompFilter({ arch: "x86_64", mismatchAction: errno(1), matchAction: ALLOW, rules: { read: [], write: [] } });
 * generateProgram(filter, { layout: treeLayout });
 * ```
 */
export const treeLayout: Layout = (builder: ProgramBuilder, plan: DispatchPlan): void => {
  emitRange(builder, plan.syscalls, plan.mismatch, true);
};

/**
 * Dispatch for `entries` (ascending, possibly empty). `last` is true for
 * the range placed right before the mismatch return, which may fall through
 * into it instead of jumping.
 * @private
 */
function emitRange(builder: ProgramBuilder, entries: readonly DispatchEntry[], mismatch: Label, last: boolean): void {
  if (entries.length <= TREE_LEAF_SIZE) {
    for (const entry of entries) builder.jump(JEQ_K, entry.nr, entry.target, "next");
    if (!last) builder.ja(mismatch);
    return;
  }
  const middle = entries.length >> 1;
  const upper = builder.label(`nr-ge-${entries[middle].nr}`);
  // Numbers below the split fall through into the lower half; the rest jump ahead.
  builder.jump(JGE_K, entries[middle].nr, upper, "next");
  emitRange(builder, entries.slice(0, middle), mismatch, false);
  builder.place(upper);
  emitRange(builder, entries.slice(middle), mismatch, last);
}
