/**
 * Optimizer pass: jump threading. A jump whose target is an unconditional
 * `ja` goes straight to where that `ja` leads.
 *
 * Why it is safe: `ja` changes nothing but the program counter, so arriving
 * at it or at its destination is the same state. A conditional branch is only
 * retargeted when the new offset still fits its 8-bit field; `ja` offsets
 * are 32-bit. Destinations only move forward, so the program stays a DAG.
 *
 * @module
 */
import { MAX_CONDITIONAL_OFFSET as MAX_JUMP_OFFSET } from "../bpf/builder.ts";
import { type Instruction, isConditionalJump, isUnconditionalJump, type Program } from "../bpf/insn.ts";
import type { PassResult } from "./rewrite.ts";

/** Final destination of a chain of `ja`s starting at `pc`. @private */
function follow(program: Program, pc: number): number {
  let at = pc;
  while (at < program.length && isUnconditionalJump(program[at].code)) at = at + 1 + program[at].k;
  return at;
}

/**
 * Retargets every jump that lands on a `ja` to the end of the `ja` chain.
 *
 * @example
 * ```ts
 * import { JA, JEQ_K, jump, RET_K, stmt } from "../bpf/insn.ts";
 * const program = [jump(JEQ_K, 1, 0, 1), stmt(JA, 1), stmt(RET_K, 0), stmt(RET_K, 1)];
 * threadJumps(program).program[0].jt; // 2: straight to ret 1
 * ```
 */
export function threadJumps(program: Program): PassResult {
  let changed = false;
  const out: Instruction[] = program.map((insn, pc) => {
    if (isUnconditionalJump(insn.code)) {
      const to = follow(program, pc + 1 + insn.k);
      if (to === pc + 1 + insn.k) return insn;
      changed = true;
      return { ...insn, k: to - pc - 1 };
    }
    if (!isConditionalJump(insn.code)) return insn;
    const retarget = (offset: number) => {
      const to = follow(program, pc + 1 + offset);
      return to - pc - 1 <= MAX_JUMP_OFFSET ? to - pc - 1 : offset;
    };
    const jt = retarget(insn.jt);
    const jf = retarget(insn.jf);
    if (jt === insn.jt && jf === insn.jf) return insn;
    changed = true;
    return { ...insn, jt, jf };
  });
  return changed ? { program: out, changed } : { program, changed };
}
