/**
 * Optimizer pass: remove instructions no path from the first one reaches.
 *
 * Why it is safe: classic BPF has no indirect jumps, so the successors of
 * every instruction are known exactly (the next one, a jump's targets, none
 * after a `ret`); an instruction outside the closure from pc 0 never runs.
 * Jumps only ever target reachable instructions, so no jump is retargeted.
 *
 * @module
 */
import { isJump, isRet, isUnconditionalJump, type Program } from "../bpf/insn.ts";
import { type PassResult, removeInstructions } from "./rewrite.ts";

/**
 * Drops unreachable instructions.
 *
 * @example
 * ```ts
 * import { RET_K, stmt } from "../bpf/insn.ts";
 * removeUnreachable([stmt(RET_K, 0), stmt(RET_K, 1)]).program.length; // 1
 * ```
 */
export function removeUnreachable(program: Program): PassResult {
  const reached = new Array<boolean>(program.length).fill(false);
  if (program.length > 0) reached[0] = true;
  // Jumps only go forward, so one pass in order sees every predecessor first.
  for (let pc = 0; pc < program.length; pc++) {
    if (!reached[pc]) continue;
    const insn = program[pc];
    const mark = (to: number) => {
      if (to < program.length) reached[to] = true;
    };
    if (isRet(insn.code)) continue;
    if (isUnconditionalJump(insn.code)) mark(pc + 1 + insn.k);
    else if (isJump(insn.code)) {
      mark(pc + 1 + insn.jt);
      mark(pc + 1 + insn.jf);
    } else mark(pc + 1);
  }
  const dead = new Set<number>();
  reached.forEach((r, pc) => {
    if (!r) dead.add(pc);
  });
  if (dead.size === 0) return { program, changed: false };
  return { program: removeInstructions(program, dead), changed: true };
}
