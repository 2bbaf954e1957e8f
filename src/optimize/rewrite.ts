/**
 * The one program rewrite the optimizer passes share: deleting instructions
 * and retargeting the jumps around them.
 *
 * @module
 */
import { type Instruction, isJump, isUnconditionalJump, type Program } from "../bpf/insn.ts";

/** What every pass returns: the new program, and whether it differs. */
export interface PassResult {
  /** The rewritten program (the input itself when nothing changed). */
  readonly program: Program;
  /** Whether the pass changed anything; the optimizer runs passes until none does. */
  readonly changed: boolean;
}

/**
 * `program` without the instructions at `removed`. A jump to a removed
 * instruction lands on the next kept one; callers may only remove
 * instructions for which that is equivalent. Offsets only shrink, so every
 * jump that fit before still fits.
 *
 * @example
 * ```ts
 * import { JA, RET_K, stmt } from "../bpf/insn.ts";
 * removeInstructions([stmt(JA, 1), stmt(RET_K, 0), stmt(RET_K, 1)], new Set([1])); // [ja 0, ret 1]
 * ```
 */
export function removeInstructions(program: Program, removed: ReadonlySet<number>): Instruction[] {
  // newIndex[pc] = position of the first kept instruction at or after pc.
  const newIndex = new Array<number>(program.length + 1);
  let kept = program.length - removed.size;
  newIndex[program.length] = kept;
  for (let pc = program.length - 1; pc >= 0; pc--) {
    if (!removed.has(pc)) kept--;
    newIndex[pc] = kept;
  }
  const out: Instruction[] = [];
  for (let pc = 0; pc < program.length; pc++) {
    if (removed.has(pc)) continue;
    const insn = program[pc];
    if (!isJump(insn.code)) {
      out.push(insn);
      continue;
    }
    const from = newIndex[pc];
    const retarget = (offset: number) => newIndex[pc + 1 + offset] - from - 1;
    if (isUnconditionalJump(insn.code)) out.push({ ...insn, k: retarget(insn.k) });
    else out.push({ ...insn, jt: retarget(insn.jt), jf: retarget(insn.jf) });
  }
  return out;
}
