/**
 * Optimizer pass: remove `ld [k]` when the accumulator already holds that word
 * on every path that reaches it.
 *
 * Why it is safe: seccomp_data does not change while a filter runs, so
 * loading a word the accumulator already holds is a no-op. The analysis is
 * exact over the program's DAG (classic BPF only jumps forward): the state
 * reaching an instruction is the meet of its predecessors' states, and any
 * instruction that may write A (a load of something else, ALU, `txa`, an
 * unknown opcode) makes A unknown. A jump that targeted a removed load now
 * targets the instruction after it, which that path would have reached
 * anyway with the same A.
 *
 * Typical win: a chain of single-condition rules on the same argument
 * (`ioctl` request numbers) reloads the argument before every `jeq`; the
 * failing `jeq` leaves it in A, so every reload but the first goes.
 *
 * @module
 */
import {
  BPF,
  type Instruction,
  instructionClass,
  isJump,
  isRet,
  isUnconditionalJump,
  LD_ABS,
  miscOp,
  type Program,
} from "../bpf/insn.ts";
import { type PassResult, removeInstructions } from "./rewrite.ts";

/** What A holds: the word at this `seccomp_data` offset, or unknown (-1). @private */
type AccumulatorState = number;
const UNKNOWN = -1;
/** Not reached by any path yet. @private */
const UNREACHED = -2;

/** Whether executing `insn` leaves A unchanged. @private */
function preservesAccumulator(insn: Instruction): boolean {
  const cls = instructionClass(insn.code);
  if (cls === BPF.JMP || cls === BPF.RET || cls === BPF.ST || cls === BPF.STX || cls === BPF.LDX) return true;
  // misc: `tax` (X = A) keeps A; `txa` overwrites it.
  if (cls === BPF.MISC) return miscOp(insn.code) === BPF.TAX;
  return false;
}

/**
 * Removes every `ld [k]` whose word A already holds on all incoming paths.
 *
 * @example
 * ```ts
 * import { jump, LD_ABS, JEQ_K, RET_K, stmt } from "../bpf/insn.ts";
 * const program = [stmt(LD_ABS, 24), jump(JEQ_K, 1, 1, 0), stmt(LD_ABS, 24), stmt(RET_K, 0)];
 * removeRedundantLoads(program).program.length; // 3
 * ```
 */
export function removeRedundantLoads(program: Program): PassResult {
  const incoming: AccumulatorState[] = new Array(program.length).fill(UNREACHED);
  if (program.length > 0) incoming[0] = UNKNOWN;
  const merge = (pc: number, state: AccumulatorState) => {
    if (pc >= program.length) return;
    const current = incoming[pc];
    incoming[pc] = current === UNREACHED || current === state ? state : UNKNOWN;
  };
  const redundant = new Set<number>();
  for (let pc = 0; pc < program.length; pc++) {
    const insn = program[pc];
    const before = incoming[pc];
    if (before === UNREACHED) continue; // dead code: another pass's business
    let after: AccumulatorState;
    if (insn.code === LD_ABS) {
      if (before === insn.k) redundant.add(pc);
      after = insn.k;
    } else {
      after = preservesAccumulator(insn) ? before : UNKNOWN;
    }
    if (isRet(insn.code)) continue;
    if (isJump(insn.code)) {
      if (isUnconditionalJump(insn.code)) {
        merge(pc + 1 + insn.k, after);
      } else {
        merge(pc + 1 + insn.jt, after);
        merge(pc + 1 + insn.jf, after);
      }
      continue;
    }
    merge(pc + 1, after);
  }
  if (redundant.size === 0) return { program, changed: false };
  return { program: removeInstructions(program, redundant), changed: true };
}
