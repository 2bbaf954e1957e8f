/**
 * Optimizer pass: a conditional jump whose two branches go to the same place
 * becomes a `ja`, and a `ja 0` (a jump to the next instruction) goes away.
 *
 * Why it is safe: a conditional jump only changes the program counter; when
 * both offsets are equal, the outcome of the test cannot matter. `ja 0`
 * continues with the next instruction, exactly as if it were absent; jumps
 * that targeted it now target that next instruction.
 *
 * @module
 */
import { BPF, type Instruction, isConditionalJump, isUnconditionalJump, type Program } from "../bpf/insn.ts";
import { type PassResult, removeInstructions } from "./rewrite.ts";

const JA = BPF.JMP | BPF.JA;

/**
 * Folds conditional jumps with coinciding targets and drops `ja 0`.
 *
 * @example
 * ```ts
 * import { JEQ_K, jump, RET_K, stmt } from "../bpf/insn.ts";
 * foldSameTargets([jump(JEQ_K, 5, 0, 0), stmt(RET_K, 0)]).program.length; // 1
 * ```
 */
export function foldSameTargets(program: Program): PassResult {
  let changed = false;
  const folded: Instruction[] = program.map((insn) => {
    if (!isConditionalJump(insn.code) || insn.jt !== insn.jf) return insn;
    changed = true;
    return { code: JA, jt: 0, jf: 0, k: insn.jt };
  });
  const noops = new Set<number>();
  folded.forEach((insn, pc) => {
    if (isUnconditionalJump(insn.code) && insn.k === 0) noops.add(pc);
  });
  if (noops.size > 0) return { program: removeInstructions(folded, noops), changed: true };
  return changed ? { program: folded, changed } : { program, changed };
}
