/**
 * Optimizer pass: identical returns and identical tails are shared. Two
 * instructions are equivalent when they are the same instruction and their
 * successors are equivalent (computed from the end, which classic BPF's
 * forward-only jumps make a single pass). Every jump to an instruction is
 * pointed at the furthest equivalent copy it can reach; copies nobody jumps
 * to or falls into any more are then removed by the unreachable-code pass.
 *
 * Why it is safe: equivalent instructions do the same thing to A, X and the
 * scratch memory and continue at equivalent instructions, so by induction
 * from the returns, running from either copy gives the same verdict for every
 * input (and the same path shape, so the kernel's action cache is
 * unaffected). Jumps only move forward, conditional offsets stay within 255.
 *
 * @module
 */
import { MAX_CONDITIONAL_OFFSET as MAX_JUMP_OFFSET } from "../bpf/builder.ts";
import { type Instruction, isConditionalJump, isJump, isRet, isUnconditionalJump, type Program } from "../bpf/insn.ts";
import type { PassResult } from "./rewrite.ts";

/** Equivalence class of each instruction (equal numbers: equivalent tails). @private */
function tailClasses(program: Program): number[] {
  const classes = new Array<number>(program.length);
  const ids = new Map<string, number>();
  const classOf = (pc: number) => (pc < program.length ? classes[pc] : -1);
  for (let pc = program.length - 1; pc >= 0; pc--) {
    const { code, jt, jf, k } = program[pc];
    let key: string;
    if (isRet(code)) key = `${code},${k}`;
    else if (isUnconditionalJump(code)) key = `ja,${classOf(pc + 1 + k)}`;
    else if (isJump(code)) key = `${code},${k},${classOf(pc + 1 + jt)},${classOf(pc + 1 + jf)}`;
    else key = `${code},${k},${classOf(pc + 1)}`;
    let id = ids.get(key);
    if (id === undefined) {
      id = ids.size;
      ids.set(key, id);
    }
    classes[pc] = id;
  }
  return classes;
}

/**
 * Points jumps at the furthest reachable equivalent copy of their target.
 *
 * @example
 * ```ts
 * import { JEQ_K, jump, RET_K, stmt } from "../bpf/insn.ts";
 * // Two copies of ret 1; the jeq's true branch moves to the second.
 * shareTails([jump(JEQ_K, 5, 0, 1), stmt(RET_K, 1), stmt(RET_K, 0), stmt(RET_K, 1)]).program[0].jt; // 2
 * ```
 */
export function shareTails(program: Program): PassResult {
  const classes = tailClasses(program);
  // pcs of each class, ascending.
  const members = new Map<number, number[]>();
  classes.forEach((c, pc) => {
    const list = members.get(c);
    if (list) list.push(pc);
    else members.set(c, [pc]);
  });
  /** The furthest copy of `to`'s class within `limit` instructions after `pc`. */
  const furthest = (pc: number, to: number, limit: number) => {
    if (to >= program.length) return to;
    const list = members.get(classes[to])!;
    if (list.length === 1) return to;
    const max = pc + 1 + limit;
    // Binary search: the last member ≤ max (members after pc only; `to` itself qualifies).
    let lo = 0;
    let hi = list.length - 1;
    let best = to;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if (list[mid] <= max) {
        if (list[mid] > best) best = list[mid];
        lo = mid + 1;
      } else {
        hi = mid - 1;
      }
    }
    return best;
  };
  let changed = false;
  const out: Instruction[] = program.map((insn, pc) => {
    if (isUnconditionalJump(insn.code)) {
      const to = furthest(pc, pc + 1 + insn.k, 0xffffffff);
      if (to === pc + 1 + insn.k) return insn;
      changed = true;
      return { ...insn, k: to - pc - 1 };
    }
    if (!isConditionalJump(insn.code)) return insn;
    const jt = furthest(pc, pc + 1 + insn.jt, MAX_JUMP_OFFSET) - pc - 1;
    const jf = furthest(pc, pc + 1 + insn.jf, MAX_JUMP_OFFSET) - pc - 1;
    if (jt === insn.jt && jf === insn.jf) return insn;
    changed = true;
    return { ...insn, jt, jf };
  });
  return changed ? { program: out, changed } : { program, changed };
}
