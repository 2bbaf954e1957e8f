/**
 * The simplest dispatch layout: one `jeq` per syscall, in ascending number order.
 *
 * @module
 */
import type { ProgramBuilder } from "../bpf/builder.ts";
import { JEQ_K } from "../bpf/insn.ts";
import type { DispatchPlan, Layout } from "./layout.ts";

/**
 * A chain of `jeq #nr` tests in ascending number order; unlisted numbers fall
 * off the end into the mismatch return. Costs one instruction per syscall
 * (plus a trampoline for targets more than 255 instructions away).
 *
 * @example
 * ```ts
 * import { generateProgram } from "./mod.ts";
 * import { ALLOW, errno, seccompFilter } from "../ir.ts";
 * const filter = seccompFilter({ arch: "x86_64", mismatchAction: errno(1), matchAction: ALLOW, rules: { read: [] } });
 * generateProgram(filter, { layout: linearLayout });
 * ```
 */
export const linearLayout: Layout = (builder: ProgramBuilder, plan: DispatchPlan): void => {
  for (const entry of plan.syscalls) builder.jump(JEQ_K, entry.nr, entry.target, "next");
};
