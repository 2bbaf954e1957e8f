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
 * The interning table of {@link tailClasses}: open addressing from a key
 * (stage, first, second) to a dense id, so a lookup builds no key text and
 * boxes no number. Numbers are equal keys when `===`, or both NaN, as their
 * text would be. Reused from call to call: a slot counts only when its stamp
 * is the current call's. @private
 */
const table = {
  mask: -1,
  /** This call's stamp; older stamps mark free slots. */
  generation: 0,
  stamp: new Int32Array(0),
  stage: new Int32Array(0),
  first: new Float64Array(0),
  second: new Float64Array(0),
  id: new Int32Array(0),
};

/** Empties {@link table} and makes room for `entries` keys (kept at most half full). @private */
function resetTable(entries: number): void {
  let size = 64;
  while (size < entries * 2) size *= 2;
  if (size > table.mask + 1) {
    table.mask = size - 1;
    table.generation = 0;
    table.stamp = new Int32Array(size);
    table.stage = new Int32Array(size);
    table.first = new Float64Array(size);
    table.second = new Float64Array(size);
    table.id = new Int32Array(size);
  }
  if (table.generation === 0x7fffffff) {
    table.stamp.fill(0);
    table.generation = 0;
  }
  table.generation++;
}

/** 32 hash bits of a number: its integer part's two halves mixed (other numbers just collide more). @private */
function hashNumber(x: number): number {
  return Math.imul(x | 0, 0x9e3779b1) ^ Math.imul((x / 0x1_0000_0000) | 0, 0x85ebca6b);
}

/** Whether two numbers are the same key. @private */
function sameKey(x: number, y: number): boolean {
  return x === y || (x !== x && y !== y);
}

/** The id {@link table} gives the key, a new one (from `counter`) on first sight. @private */
function intern(stage: number, first: number, second: number, counter: { next: number }): number {
  let h = hashNumber(first) ^ Math.imul(hashNumber(second), 0xc2b2ae35) ^ Math.imul(stage, 0x27d4eb2f);
  h ^= h >>> 15;
  let slot = h & table.mask;
  while (table.stamp[slot] === table.generation) {
    if (table.stage[slot] === stage && sameKey(table.first[slot], first) && sameKey(table.second[slot], second)) {
      return table.id[slot];
    }
    slot = (slot + 1) & table.mask;
  }
  table.stamp[slot] = table.generation;
  table.stage[slot] = stage;
  table.first[slot] = first;
  table.second[slot] = second;
  table.id[slot] = counter.next++;
  return table.id[slot];
}

/** The stages of {@link tailClasses}'s keys. @private */
const enum Stage {
  /** (code, k) → operation. */
  Operation,
  /** (operation, jt class) → a conditional jump's first half. */
  JumpHalf,
  /** (operation, 0) → class of a return. */
  Return,
  /** (target class, 0) → class of a `ja`. */
  Goto,
  /** (jump half, jf class) → class of a conditional jump. */
  Branch,
  /** (operation, next class) → class of any other instruction. */
  Other,
}

/**
 * Equivalence class of each instruction (equal numbers: equivalent tails).
 * Linear: an instruction's identity is interned in hashed stages of number
 * pairs, `(code, k)` first, then one successor class at a time. @private
 */
function tailClasses(program: Program): number[] {
  const classes = new Array<number>(program.length);
  // Successor class + 1 (0: past the end).
  const next = (pc: number) => (pc < program.length ? classes[pc] + 1 : 0);
  // At most an operation, a jump half and a class per instruction.
  resetTable(3 * program.length);
  const operationCount = { next: 0 };
  const halfCount = { next: 0 };
  // Every kind of instruction draws from one class counter.
  const classCount = { next: 0 };
  for (let pc = program.length - 1; pc >= 0; pc--) {
    const { code, jt, jf, k } = program[pc];
    if (isUnconditionalJump(code)) {
      // Every `ja` to equivalent code is equivalent, whatever its offset.
      classes[pc] = intern(Stage.Goto, next(pc + 1 + k), 0, classCount);
      continue;
    }
    const operation = intern(Stage.Operation, code, k, operationCount);
    if (isRet(code)) {
      classes[pc] = intern(Stage.Return, operation, 0, classCount);
    } else if (isJump(code)) {
      const half = intern(Stage.JumpHalf, operation, next(pc + 1 + jt), halfCount);
      classes[pc] = intern(Stage.Branch, half, next(pc + 1 + jf), classCount);
    } else {
      classes[pc] = intern(Stage.Other, operation, next(pc + 1), classCount);
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
  // pcs of each class, ascending, side by side: class c's are byClass[start[c] .. start[c + 1]).
  // Class numbers are dense from 0, so a counting sort places them.
  let classCount = 0;
  for (const c of classes) if (c >= classCount) classCount = c + 1;
  const start = new Int32Array(classCount + 1);
  for (const c of classes) start[c + 1]++;
  for (let c = 0; c < classCount; c++) start[c + 1] += start[c];
  const byClass = new Int32Array(classes.length);
  const filled = start.slice(0, classCount);
  for (let pc = 0; pc < classes.length; pc++) byClass[filled[classes[pc]]++] = pc;
  /** The furthest copy of `to`'s class within `limit` instructions after `pc`. */
  const furthest = (pc: number, to: number, limit: number) => {
    if (to >= program.length) return to;
    const c = classes[to];
    if (start[c + 1] - start[c] === 1) return to;
    const max = pc + 1 + limit;
    // Binary search: the last member ≤ max (members after pc only; `to` itself qualifies).
    let lo = start[c];
    let hi = start[c + 1] - 1;
    let best = to;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if (byClass[mid] <= max) {
        if (byClass[mid] > best) best = byClass[mid];
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
