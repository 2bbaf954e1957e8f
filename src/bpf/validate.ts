/**
 * The kernel's load-time checks for a seccomp filter, run ahead of time.
 *
 * `seccomp(SECCOMP_SET_MODE_FILTER)` refuses a program with EINVAL when any
 * check in `bpf_check_classic` (net/core/filter.c) or `seccomp_check_filter`
 * (kernel/seccomp.c) fails. {@link validateProgram} applies the same rules and
 * says which instruction broke which rule, so a bad filter fails at compile
 * time with a message instead of at install time with a bare errno.
 *
 * @module
 */
import type { BpfIssue } from "./errors.ts";
import { BPF, BPF_MAXINSNS, type Instruction, type Program, SECCOMP_DATA_SIZE } from "./insn.ts";

/** Opcodes of the seccomp-accepted conditional jumps (K and X forms). @private */
const CONDITIONAL_JUMPS: ReadonlySet<number> = new Set([
  BPF.JMP | BPF.JEQ | BPF.K, BPF.JMP | BPF.JEQ | BPF.X,
  BPF.JMP | BPF.JGT | BPF.K, BPF.JMP | BPF.JGT | BPF.X,
  BPF.JMP | BPF.JGE | BPF.K, BPF.JMP | BPF.JGE | BPF.X,
  BPF.JMP | BPF.JSET | BPF.K, BPF.JMP | BPF.JSET | BPF.X,
]);

/**
 * Every opcode `seccomp_check_filter` lets through, and nothing else: no
 * half-word or byte loads, no `IND`/`MSH`, no `mod`, no `ret x`.
 */
export const SECCOMP_OPCODES: ReadonlySet<number> = new Set([
  // loads
  BPF.LD | BPF.W | BPF.ABS, BPF.LD | BPF.W | BPF.LEN, BPF.LDX | BPF.W | BPF.LEN,
  BPF.LD | BPF.IMM, BPF.LDX | BPF.IMM, BPF.LD | BPF.MEM, BPF.LDX | BPF.MEM,
  // stores
  BPF.ST, BPF.STX,
  // ALU, K and X forms
  ...[BPF.ADD, BPF.SUB, BPF.MUL, BPF.DIV, BPF.OR, BPF.AND, BPF.LSH, BPF.RSH, BPF.XOR].flatMap((op) => [
    BPF.ALU | op | BPF.K,
    BPF.ALU | op | BPF.X,
  ]),
  BPF.ALU | BPF.NEG,
  // jumps
  BPF.JMP | BPF.JA, ...CONDITIONAL_JUMPS,
  // returns
  BPF.RET | BPF.K, BPF.RET | BPF.A,
  // misc
  BPF.MISC | BPF.TAX, BPF.MISC | BPF.TXA,
]);

/** Number of scratch memory slots (`BPF_MEMWORDS`). */
export const BPF_MEMWORDS = 16;

/**
 * Why an instruction cannot be encoded as a `struct sock_filter`, or undefined
 * when every field fits its width. Shared with the encoder.
 *
 * @example
 * ```ts
 * fieldProblem({ code: 6, jt: 0, jf: 300, k: 0 }); // "jf 300 is not a u8 (0..255)"
 * ```
 */
export function fieldProblem(insn: Instruction): string | undefined {
  if (!isUint(insn.code, 0xffff)) return `code ${insn.code} is not a u16 (0..65535)`;
  if (!isUint(insn.jt, 0xff)) return `jt ${insn.jt} is not a u8 (0..255)`;
  if (!isUint(insn.jf, 0xff)) return `jf ${insn.jf} is not a u8 (0..255)`;
  if (!isUint(insn.k, 0xffffffff)) return `k ${insn.k} is not a u32 (0..4294967295)`;
  return undefined;
}

/** @private */
function isUint(value: number, max: number): boolean {
  return Number.isInteger(value) && value >= 0 && value <= max;
}

/** Whether `code` is a `ret` (`ret #k` or `ret a`). @private */
function isRet(code: number): boolean {
  return code === (BPF.RET | BPF.K) || code === (BPF.RET | BPF.A);
}

/**
 * Every reason the kernel would refuse `program` as a seccomp filter; an empty
 * array means the kernel accepts it (as far as the program itself goes: the
 * 32768-instruction limit over a stack of filters is the installer's business).
 *
 * The rules, in the kernel's words:
 * * length 1..4096 (`BPF_MAXINSNS`);
 * * only the opcodes seccomp accepts ({@link SECCOMP_OPCODES});
 * * `ld [k]`: k < 64 and k % 4 == 0;
 * * `div #0` is refused, and so are `lsh #k` / `rsh #k` with k ≥ 32;
 * * `M[k]`: k < 16;
 * * jump targets (`pc + 1 + jt/jf`, `pc + 1 + k` for `ja`) inside the program;
 * * the last instruction is a `ret`;
 * * every `M[k]` read is preceded by a write on every path (checked as the
 *   kernel's `check_load_and_stores` does; see {@link memoryIssues}).
 *
 * @example
 * ```ts
 * import { BPF, stmt } from "./insn.ts";
 * validateProgram([stmt(BPF.LD | BPF.W | BPF.ABS, 0)]); // [{ code: "missing-ret", pc: 0, ... }]
 * ```
 */
export function validateProgram(program: Program): BpfIssue[] {
  const length = program.length;
  if (length === 0) {
    return [{ code: "empty-program", message: "program has no instructions (the kernel needs 1 to 4096)", pc: 0 }];
  }
  const issues: BpfIssue[] = [];
  if (length > BPF_MAXINSNS) {
    issues.push({
      code: "too-long",
      message: `program has ${length} instructions; the kernel accepts at most ${BPF_MAXINSNS}`,
      pc: BPF_MAXINSNS,
    });
  }
  let jumpsValid = true;
  for (let pc = 0; pc < length; pc++) {
    const issue = instructionIssue(program[pc], pc, length);
    if (issue) {
      issues.push(issue);
      if (issue.code === "jump-out-of-range" || issue.code === "bad-field") jumpsValid = false;
    }
  }
  const last = program[length - 1];
  if (!isRet(last.code)) {
    issues.push({
      code: "missing-ret",
      message: `last instruction (opcode 0x${hex(last.code, 2)}) is not a ret; execution would run off the end`,
      pc: length - 1,
    });
  }
  // The memory check walks jump edges, so it needs every target in range.
  if (jumpsValid) issues.push(...memoryIssues(program));
  return issues;
}

/** The per-instruction checks of `bpf_check_classic` and `seccomp_check_filter`. @private */
function instructionIssue(insn: Instruction, pc: number, length: number): BpfIssue | undefined {
  const field = fieldProblem(insn);
  if (field) return { code: "bad-field", message: `instruction cannot be encoded: ${field}`, pc };
  const { code, k } = insn;
  if (!SECCOMP_OPCODES.has(code)) {
    return { code: "invalid-opcode", message: `opcode 0x${hex(code, 2)} is not allowed in a seccomp filter`, pc };
  }
  switch (code) {
    case BPF.LD | BPF.W | BPF.ABS:
      if (k >= SECCOMP_DATA_SIZE) {
        return {
          code: "load-out-of-range",
          message: `ld [${k}] reads past the ${SECCOMP_DATA_SIZE}-byte seccomp_data`,
          pc,
        };
      }
      if (k % 4 !== 0) return { code: "load-misaligned", message: `ld [${k}]: offset is not a multiple of 4`, pc };
      return undefined;
    case BPF.ALU | BPF.DIV | BPF.K:
      if (k === 0) return { code: "division-by-zero", message: "div #0: division by a constant zero", pc };
      return undefined;
    case BPF.ALU | BPF.LSH | BPF.K:
    case BPF.ALU | BPF.RSH | BPF.K:
      if (k >= 32) {
        const op = code === (BPF.ALU | BPF.LSH | BPF.K) ? "lsh" : "rsh";
        return { code: "shift-too-large", message: `${op} #${k}: shift by 32 or more`, pc };
      }
      return undefined;
    case BPF.LD | BPF.MEM:
    case BPF.LDX | BPF.MEM:
    case BPF.ST:
    case BPF.STX:
      if (k >= BPF_MEMWORDS) {
        return {
          code: "bad-memory-index",
          message: `M[${k}]: scratch memory has only ${BPF_MEMWORDS} slots (0..${BPF_MEMWORDS - 1})`,
          pc,
        };
      }
      return undefined;
    case BPF.JMP | BPF.JA:
      // Compared as the kernel does, in unsigned arithmetic: k >= length - pc - 1.
      if (k >= length - pc - 1) {
        return {
          code: "jump-out-of-range",
          message: `ja +${k}: target ${pc + 1 + k} is past the last instruction (${length - 1})`,
          pc,
        };
      }
      return undefined;
    default:
      if (CONDITIONAL_JUMPS.has(code)) {
        // Plain comparisons, not an array of the two: this runs cold in every launch (docs/bench.md).
        const jtTarget = pc + 1 + insn.jt;
        const jfTarget = pc + 1 + insn.jf;
        const badTarget = jtTarget >= length ? jtTarget : jfTarget >= length ? jfTarget : undefined;
        if (badTarget !== undefined) {
          return {
            code: "jump-out-of-range",
            message: `jump target ${badTarget} (jt ${insn.jt}, jf ${insn.jf}) is past the end (${length} instructions)`,
            pc,
          };
        }
      }
      return undefined;
  }
}

/**
 * The kernel's `check_load_and_stores`: one forward pass keeping a 16-bit
 * "written" mask; each jump ANDs its mask into its targets and resets the
 * running mask to all-ones, and each instruction starts from the running mask
 * ANDed with what the jumps into it brought.
 *
 * This is path-sensitive over the jump DAG with one kernel quirk kept on
 * purpose: a `ret` does not reset the running mask, so the instruction after
 * a `ret` also inherits the mask from before the `ret`, as if it fell through.
 * The kernel therefore refuses a few programs whose real paths all write the
 * slot first; matching it exactly is the point of this module.
 *
 * Expects every jump target and memory index to be in range.
 *
 * @private
 */
function memoryIssues(program: Program): BpfIssue[] {
  const issues: BpfIssue[] = [];
  const all = 0xffff;
  const masks = new Uint16Array(program.length).fill(all);
  let valid = 0;
  for (let pc = 0; pc < program.length; pc++) {
    valid &= masks[pc];
    const { code, k, jt, jf } = program[pc];
    switch (code) {
      case BPF.ST:
      case BPF.STX:
        if (k < BPF_MEMWORDS) valid |= 1 << k;
        break;
      case BPF.LD | BPF.MEM:
      case BPF.LDX | BPF.MEM:
        if (k < BPF_MEMWORDS && (valid & (1 << k)) === 0) {
          const mnemonic = code === (BPF.LD | BPF.MEM) ? "ld" : "ldx";
          issues.push({
            code: "uninitialized-memory",
            message: `${mnemonic} M[${k}]: the slot is not written on every path to this instruction`,
            pc,
          });
        }
        break;
      case BPF.JMP | BPF.JA:
        masks[pc + 1 + k] &= valid;
        valid = all;
        break;
      default:
        if (CONDITIONAL_JUMPS.has(code)) {
          masks[pc + 1 + jt] &= valid;
          masks[pc + 1 + jf] &= valid;
          valid = all;
        }
    }
  }
  return issues;
}

/** Zero-padded lowercase hex of at least `bytes` bytes. @private */
function hex(value: number, bytes: number): string {
  return value.toString(16).padStart(bytes * 2, "0");
}
