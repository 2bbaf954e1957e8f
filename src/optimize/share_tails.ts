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

/**
 * The number `map` gives `key`, a new one (from `counter`) on first sight.
 * @private
 */
function intern(map: Map<number, number>, key: number, counter: { next: number }): number {
  let id = map.get(key);
  if (id === undefined) {
    id = counter.next++;
    map.set(key, id);
  }
  return id;
}

/**
 * Equivalence class of each instruction (equal numbers: equivalent tails).
 * Linear: an instruction's identity is interned in hashed numeric stages,
 * `(code, k)` first, then one successor class at a time; each stage's key is
 * a pair of numbers below the program's length squared (or `code`·2³² + k),
 * exact in a double, so no key text is built. @private
 */
function tailClasses(program: Program): number[] {
  const classes = new Array<number>(program.length);
  const width = program.length + 1;
  // Successor class + 1 (0: past the end), so every pair key is (x · width + successor).
  const next = (pc: number) => (pc < program.length ? classes[pc] + 1 : 0);
  // (code, k): `k` is keyed on its own under each code, so any number stays exact.
  const operations = new Map<number, Map<number, number>>();
  const operationCount = { next: 0 };
  // (operation, jt class): a conditional jump's first stage.
  const jumpHalves = new Map<number, number>();
  const halfCount = { next: 0 };
  // One map per kind of instruction, sharing one class counter.
  const returns = new Map<number, number>();
  const gotos = new Map<number, number>();
  const branches = new Map<number, number>();
  const others = new Map<number, number>();
  const classCount = { next: 0 };
  for (let pc = program.length - 1; pc >= 0; pc--) {
    const { code, jt, jf, k } = program[pc];
    if (isUnconditionalJump(code)) {
      // Every `ja` to equivalent code is equivalent, whatever its offset.
      classes[pc] = intern(gotos, next(pc + 1 + k), classCount);
      continue;
    }
    let byK = operations.get(code);
    if (byK === undefined) {
      byK = new Map();
      operations.set(code, byK);
    }
    const operation = intern(byK, k, operationCount);
    if (isRet(code)) {
      classes[pc] = intern(returns, operation, classCount);
    } else if (isJump(code)) {
      const half = intern(jumpHalves, operation * width + next(pc + 1 + jt), halfCount);
      classes[pc] = intern(branches, half * width + next(pc + 1 + jf), classCount);
    } else {
      classes[pc] = intern(others, operation * width + next(pc + 1), classCount);
    }
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
  // pcs of each class, ascending (class numbers are dense from 0).
  const members: number[][] = [];
  for (let pc = 0; pc < classes.length; pc++) {
    const list = members[classes[pc]];
    if (list) list.push(pc);
    else members[classes[pc]] = [pc];
  }
  /** The furthest copy of `to`'s class within `limit` instructions after `pc`. */
  const furthest = (pc: number, to: number, limit: number) => {
    if (to >= program.length) return to;
    const list = members[classes[to]];
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
