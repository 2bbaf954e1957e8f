/**
 * A classic-BPF interpreter with seccomp's semantics, for testing filters
 * against synthetic system calls on any host (including foreign
 * architectures, which qemu-user cannot test: it answers seccomp with ENOSYS).
 *
 * Semantics follow what the kernel runs after converting the classic program
 * to eBPF (`bpf_convert_filter`):
 * * A, X and M[0..15] are u32; every ALU result wraps at 32 bits.
 * * `ld [k]` reads one 32-bit word of `struct seccomp_data` as the TARGET lays
 *   it out: a u64 argument's low half sits at the lower offset on
 *   little-endian targets and at the higher offset on big-endian ones.
 * * `ld #len` / `ldx #len` load 64 (`seccomp_check_filter` rewrites them).
 * * Division by X = 0 ends the program returning 0 (KILL_THREAD), as the
 *   converted program's guard does.
 * * Shifts use the shift count modulo 32 (`X & 31`). The kernel refuses
 *   `lsh #k` / `rsh #k` with k ≥ 32 at load time, so only the X forms can
 *   shift by 32 or more. The kernel runs those as 32-bit eBPF shifts, whose
 *   count the eBPF ISA (RFC 9669) masks with 31, which is also what the x86-64,
 *   arm64 and riscv64 JITs do (C's `<<` would be undefined there).
 *
 * @module
 */
import { BPF, type Program, SECCOMP_DATA_SIZE } from "./insn.ts";
import { BpfError } from "./errors.ts";

/** The input a seccomp filter sees: `struct seccomp_data`. */
export interface SeccompData {
  /** System call number; `int` in the kernel, so -1 reads as 0xffffffff. */
  readonly nr: number;
  /** `AUDIT_ARCH_*` token. */
  readonly arch: number;
  /** Address of the system call instruction; 0 when absent. */
  readonly instructionPointer?: bigint;
  /** Up to six u64 arguments; missing ones are 0. Wider values keep their low 64 bits. */
  readonly args: readonly bigint[];
}

/** Result of one run. */
export interface FilterResult {
  /** The 32-bit value the filter returned (action | data). */
  readonly value: number;
  /** Instructions executed, the final `ret` included. */
  readonly steps: number;
}

// Per-call scratch, reused to keep runs allocation-free. runFilter never calls
// back into user code while it holds them, so sharing is safe.
const memory = new Uint32Array(16);
/** seccomp_data as 16 words; words 0 and 1 (nr, arch) are kept in locals instead. */
const words = new Uint32Array(SECCOMP_DATA_SIZE / 4);

/**
 * Runs `program` on `data` and returns what it returns, with the number of
 * instructions executed. `endian` is the target's byte order: it decides where
 * each argument half sits in `seccomp_data`.
 *
 * Throws {@link BpfError} when the program cannot run to a `ret`: `fell-off-end`
 * (execution passes the last instruction), `invalid-opcode` (an opcode seccomp
 * refuses), `load-out-of-range` (`ld [k]` outside the 64 bytes or misaligned) or
 * `bad-memory-index` (`M[k]` with k ≥ 16). Programs that pass
 * {@link validateProgram} never throw.
 *
 * @example
 * ```ts
 * import type { Program } from "./insn.ts";
 * declare const program: Program;
 * runFilter(program, { nr: 39, arch: 0xc000003e, args: [] }); // { value: 0x00050001, steps: 6 }
 * ```
 */
export function runFilter(
  program: Program,
  data: SeccompData,
  endian: "little" | "big" = "little",
): FilterResult {
  const length = program.length;
  const lowFirst = endian === "little";
  const nrWord = data.nr >>> 0;
  const archWord = data.arch >>> 0;
  // Bit f set once the u64 field f (0 = instruction pointer, 1..6 = args) sits in `words`:
  // most runs read only nr and arch, so the BigInt splitting is done on demand.
  let fieldsReady = 0;
  memory.fill(0);
  let a = 0;
  let x = 0;
  let pc = 0;
  let steps = 0;
  for (;;) {
    if (pc >= length) {
      throw new BpfError("fell-off-end", `execution ran past the last instruction (${length - 1}) without a ret`, {
        pc,
      });
    }
    const insn = program[pc];
    const k = insn.k >>> 0;
    steps++;
    pc++;
    switch (insn.code) {
      // loads
      case BPF.LD | BPF.W | BPF.ABS: {
        if (k >= SECCOMP_DATA_SIZE || (k & 3) !== 0) {
          throw new BpfError("load-out-of-range", `ld [${k}] is outside the 64-byte seccomp_data or misaligned`, {
            pc: pc - 1,
          });
        }
        const index = k >>> 2;
        if (index === 0) a = nrWord;
        else if (index === 1) a = archWord;
        else {
          const field = (index - 2) >>> 1;
          if ((fieldsReady & (1 << field)) === 0) {
            fillField(data, field, lowFirst);
            fieldsReady |= 1 << field;
          }
          a = words[index];
        }
        break;
      }
      case BPF.LD | BPF.W | BPF.LEN:
        a = SECCOMP_DATA_SIZE;
        break;
      case BPF.LDX | BPF.W | BPF.LEN:
        x = SECCOMP_DATA_SIZE;
        break;
      case BPF.LD | BPF.IMM:
        a = k;
        break;
      case BPF.LDX | BPF.IMM:
        x = k;
        break;
      case BPF.LD | BPF.MEM:
        a = memory[memoryIndex(k, pc - 1)];
        break;
      case BPF.LDX | BPF.MEM:
        x = memory[memoryIndex(k, pc - 1)];
        break;
      case BPF.ST:
        memory[memoryIndex(k, pc - 1)] = a;
        break;
      case BPF.STX:
        memory[memoryIndex(k, pc - 1)] = x;
        break;
      // ALU, constant operand
      case BPF.ALU | BPF.ADD | BPF.K:
        a = (a + k) >>> 0;
        break;
      case BPF.ALU | BPF.SUB | BPF.K:
        a = (a - k) >>> 0;
        break;
      case BPF.ALU | BPF.MUL | BPF.K:
        a = Math.imul(a, k) >>> 0;
        break;
      case BPF.ALU | BPF.DIV | BPF.K:
        // Refused at load time; behave like the X form if it is run anyway.
        if (k === 0) return { value: 0, steps };
        a = (a / k) >>> 0;
        break;
      case BPF.ALU | BPF.OR | BPF.K:
        a = (a | k) >>> 0;
        break;
      case BPF.ALU | BPF.AND | BPF.K:
        a = (a & k) >>> 0;
        break;
      case BPF.ALU | BPF.XOR | BPF.K:
        a = (a ^ k) >>> 0;
        break;
      case BPF.ALU | BPF.LSH | BPF.K:
        a = (a << (k & 31)) >>> 0;
        break;
      case BPF.ALU | BPF.RSH | BPF.K:
        a = a >>> (k & 31);
        break;
      case BPF.ALU | BPF.NEG:
        a = -a >>> 0;
        break;
      // ALU, X operand
      case BPF.ALU | BPF.ADD | BPF.X:
        a = (a + x) >>> 0;
        break;
      case BPF.ALU | BPF.SUB | BPF.X:
        a = (a - x) >>> 0;
        break;
      case BPF.ALU | BPF.MUL | BPF.X:
        a = Math.imul(a, x) >>> 0;
        break;
      case BPF.ALU | BPF.DIV | BPF.X:
        if (x === 0) return { value: 0, steps };
        // Exact: for u32 operands the rounded double quotient never reaches the next integer.
        a = (a / x) >>> 0;
        break;
      case BPF.ALU | BPF.OR | BPF.X:
        a = (a | x) >>> 0;
        break;
      case BPF.ALU | BPF.AND | BPF.X:
        a = (a & x) >>> 0;
        break;
      case BPF.ALU | BPF.XOR | BPF.X:
        a = (a ^ x) >>> 0;
        break;
      case BPF.ALU | BPF.LSH | BPF.X:
        a = (a << (x & 31)) >>> 0;
        break;
      case BPF.ALU | BPF.RSH | BPF.X:
        a = a >>> (x & 31);
        break;
      // jumps: offsets are relative to the next instruction, always forward
      case BPF.JMP | BPF.JA:
        pc += k;
        break;
      case BPF.JMP | BPF.JEQ | BPF.K:
        pc += a === k ? insn.jt : insn.jf;
        break;
      case BPF.JMP | BPF.JGT | BPF.K:
        pc += a > k ? insn.jt : insn.jf;
        break;
      case BPF.JMP | BPF.JGE | BPF.K:
        pc += a >= k ? insn.jt : insn.jf;
        break;
      case BPF.JMP | BPF.JSET | BPF.K:
        pc += (a & k) !== 0 ? insn.jt : insn.jf;
        break;
      case BPF.JMP | BPF.JEQ | BPF.X:
        pc += a === x ? insn.jt : insn.jf;
        break;
      case BPF.JMP | BPF.JGT | BPF.X:
        pc += a > x ? insn.jt : insn.jf;
        break;
      case BPF.JMP | BPF.JGE | BPF.X:
        pc += a >= x ? insn.jt : insn.jf;
        break;
      case BPF.JMP | BPF.JSET | BPF.X:
        pc += (a & x) !== 0 ? insn.jt : insn.jf;
        break;
      // returns
      case BPF.RET | BPF.K:
        return { value: k, steps };
      case BPF.RET | BPF.A:
        return { value: a, steps };
      // misc
      case BPF.MISC | BPF.TAX:
        x = a;
        break;
      case BPF.MISC | BPF.TXA:
        a = x;
        break;
      default:
        throw new BpfError(
          "invalid-opcode",
          `opcode 0x${insn.code.toString(16).padStart(2, "0")} is not allowed in a seccomp filter`,
          { pc: pc - 1 },
        );
    }
  }
}

/** Checks a scratch-memory index (refused at load time when ≥ 16). @private */
function memoryIndex(k: number, pc: number): number {
  if (k >= 16) throw new BpfError("bad-memory-index", `M[${k}]: scratch memory has only 16 slots`, { pc });
  return k;
}

/**
 * Splits u64 field `field` (0 = instruction pointer, 1..6 = args[0..5]) into
 * its two words at byte offset 8 + 8·field, low half first on little-endian
 * targets and high half first on big-endian ones.
 *
 * @private
 */
function fillField(data: SeccompData, field: number, lowFirst: boolean): void {
  const value = field === 0 ? data.instructionPointer : data.args[field - 1];
  let low = 0;
  let high = 0;
  if (value !== undefined && value !== 0n) {
    low = Number(BigInt.asUintN(32, value));
    high = Number(BigInt.asUintN(32, value >> 32n));
  }
  const first = 2 + 2 * field;
  words[first] = lowFirst ? low : high;
  words[first + 1] = lowFirst ? high : low;
}
