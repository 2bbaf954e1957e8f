/**
 * Optimizer pass: a `ja` whose target is a `ret` becomes that `ret`.
 *
 * Why it is safe: executing `ja` then `ret #k` returns `k`; executing
 * `ret #k` in place of the `ja` returns the same `k` one instruction sooner.
 * The instruction count and every other offset are unchanged, and `ret #k`
 * is as cacheable for the kernel's action cache as the path it replaces.
 * (The builder's long-jump trampolines are such `ja`s: afterwards a far
 * branch to a return costs no extra instruction.)
 *
 * @module
 */
import { type Instruction, isRet, isUnconditionalJump, type Program } from "../bpf/insn.ts";
import type { PassResult } from "./rewrite.ts";

/**
 * Replaces each `ja` to a `ret` by a copy of the `ret`.
 *
 * @example
 * ```ts
 * import { JA, RET_K, stmt } from "../bpf/insn.ts";
 * inlineReturns([stmt(JA, 0), stmt(RET_K, 7)]).program[0]; // ret #7
 * ```
 */
export function inlineReturns(program: Program): PassResult {
  let changed = false;
  const out: Instruction[] = program.map((insn, pc) => {
    if (!isUnconditionalJump(insn.code)) return insn;
    const target = program[pc + 1 + insn.k];
    if (target === undefined || !isRet(target.code)) return insn;
    changed = true;
    return target;
  });
  return changed ? { program: out, changed } : { program, changed };
}
