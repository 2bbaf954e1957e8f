/**
 * Classic BPF instructions as the kernel's `struct sock_filter` sees them.
 *
 * This module is the instruction type every other BPF module shares: the
 * builder emits it, the encoder serialises it, the interpreter and the
 * validator consume it.
 *
 * @module
 */

/** One `struct sock_filter`: 16-bit opcode, two 8-bit jump offsets, 32-bit constant. */
export interface Instruction {
  /** Opcode (class | size | mode, or class | op | source). */
  readonly code: number;
  /** Forward offset taken when a conditional jump's test is true (0..255). */
  readonly jt: number;
  /** Forward offset taken when a conditional jump's test is false (0..255). */
  readonly jf: number;
  /** Constant operand, an unsigned 32-bit integer. */
  readonly k: number;
}

/** A whole filter program: what the kernel receives through `struct sock_fprog`. */
export type Program = readonly Instruction[];

/**
 * Opcode parts from `include/uapi/linux/filter.h` / `bpf_common.h`.
 *
 * @example
 * ```ts
 * const loadWord = BPF.LD | BPF.W | BPF.ABS; // 0x20, "ld [k]"
 * ```
 */
export const BPF = {
  // classes
  LD: 0x00, LDX: 0x01, ST: 0x02, STX: 0x03, ALU: 0x04, JMP: 0x05, RET: 0x06, MISC: 0x07,
  // sizes
  W: 0x00, H: 0x08, B: 0x10,
  // modes
  IMM: 0x00, ABS: 0x20, IND: 0x40, MEM: 0x60, LEN: 0x80, MSH: 0xa0,
  // alu ops
  ADD: 0x00, SUB: 0x10, MUL: 0x20, DIV: 0x30, OR: 0x40, AND: 0x50, LSH: 0x60, RSH: 0x70,
  NEG: 0x80, MOD: 0x90, XOR: 0xa0,
  // jump ops
  JA: 0x00, JEQ: 0x10, JGT: 0x20, JGE: 0x30, JSET: 0x40,
  // sources
  K: 0x00, X: 0x08, A: 0x10,
  // misc ops
  TAX: 0x00, TXA: 0x80,
} as const;

/** Largest program the kernel accepts (`BPF_MAXINSNS`); exactly this many is allowed. */
export const BPF_MAXINSNS = 4096;

/** Size of `struct seccomp_data` in bytes; `ld [k]` must read inside it. */
export const SECCOMP_DATA_SIZE = 64;

/** Offsets of the fixed fields of `struct seccomp_data`. */
export const SECCOMP_DATA = {
  /** `int nr` */
  NR: 0,
  /** `__u32 arch` (audit token) */
  ARCH: 4,
  /** `__u64 instruction_pointer` */
  IP: 8,
  /** `__u64 args[6]` start */
  ARGS: 16,
} as const;

// Opcode fields, as `BPF_CLASS`, `BPF_SIZE`, `BPF_MODE`, `BPF_OP`, `BPF_SRC` in bpf_common.h.
// Every pass that walks a program asks these questions; naming them keeps the masks in one place.

/**
 * The instruction class (`BPF_CLASS(code)`): one of `BPF.LD` … `BPF.MISC`.
 *
 * @example
 * ```ts
 * instructionClass(BPF.JMP | BPF.JEQ | BPF.K) === BPF.JMP; // true
 * ```
 */
export function instructionClass(code: number): number {
  return code & 0x07;
}

/**
 * The load/store width (`BPF_SIZE(code)`): `BPF.W`, `BPF.H` or `BPF.B`.
 *
 * @example
 * ```ts
 * instructionSize(BPF.LD | BPF.W | BPF.ABS) === BPF.W; // true
 * ```
 */
export function instructionSize(code: number): number {
  return code & 0x18;
}

/**
 * The addressing mode of a load or store (`BPF_MODE(code)`): `BPF.IMM`, `BPF.ABS`, `BPF.MEM`….
 *
 * @example
 * ```ts
 * instructionMode(BPF.LD | BPF.W | BPF.ABS) === BPF.ABS; // true
 * ```
 */
export function instructionMode(code: number): number {
  return code & 0xe0;
}

/**
 * The operation of an ALU or jump instruction (`BPF_OP(code)`): `BPF.ADD`…, `BPF.JA`, `BPF.JEQ`….
 *
 * @example
 * ```ts
 * instructionOp(BPF.JMP | BPF.JGE | BPF.K) === BPF.JGE; // true
 * ```
 */
export function instructionOp(code: number): number {
  return code & 0xf0;
}

/**
 * The operation of a misc instruction (`BPF_MISCOP(code)`): `BPF.TAX` or `BPF.TXA`.
 *
 * @example
 * ```ts
 * miscOp(BPF.MISC | BPF.TXA) === BPF.TXA; // true
 * ```
 */
export function miscOp(code: number): number {
  return code & 0xf8;
}

/**
 * Whether `code` is in the jump class: `ja` or a conditional jump.
 *
 * @example
 * ```ts
 * isJump(BPF.JMP | BPF.JA); // true
 * isJump(BPF.RET | BPF.K); // false
 * ```
 */
export function isJump(code: number): boolean {
  return instructionClass(code) === BPF.JMP;
}

/**
 * Whether `code` is `ja`: a jump class opcode whose operation is `BPF.JA`, which
 * jumps by `k` rather than by `jt`/`jf`.
 *
 * @example
 * ```ts
 * isUnconditionalJump(BPF.JMP | BPF.JA); // true
 * ```
 */
export function isUnconditionalJump(code: number): boolean {
  return isJump(code) && instructionOp(code) === BPF.JA;
}

/**
 * Whether `code` is a jump that branches by `jt`/`jf` (any jump but `ja`).
 *
 * @example
 * ```ts
 * isConditionalJump(BPF.JMP | BPF.JEQ | BPF.K); // true
 * isConditionalJump(BPF.JMP | BPF.JA); // false
 * ```
 */
export function isConditionalJump(code: number): boolean {
  return isJump(code) && instructionOp(code) !== BPF.JA;
}

/**
 * Whether `code` is in the return class (`ret #k`, `ret a`): execution ends there.
 *
 * @example
 * ```ts
 * isRet(BPF.RET | BPF.K); // true
 * ```
 */
export function isRet(code: number): boolean {
  return instructionClass(code) === BPF.RET;
}

/**
 * A non-jump instruction.
 *
 * @example
 * ```ts
 * const loadNr = stmt(BPF.LD | BPF.W | BPF.ABS, 0);
 * ```
 */
export function stmt(code: number, k: number): Instruction {
  return { code, jt: 0, jf: 0, k: k >>> 0 };
}

/**
 * A jump instruction with explicit offsets.
 *
 * @example
 * ```ts
 * const isRead = jump(BPF.JMP | BPF.JEQ | BPF.K, 0, 0, 1);
 * ```
 */
export function jump(code: number, k: number, jt: number, jf: number): Instruction {
  return { code, jt, jf, k: k >>> 0 };
}

/** Opcode of `ld [k]`, the only way seccomp reads `seccomp_data`. */
export const LD_ABS = BPF.LD | BPF.W | BPF.ABS;
/** Opcode of `ret #k`. */
export const RET_K = BPF.RET | BPF.K;
/** Opcode of `ja k`. */
export const JA = BPF.JMP | BPF.JA;
/** Opcode of `jeq #k`. */
export const JEQ_K = BPF.JMP | BPF.JEQ | BPF.K;
/** Opcode of `jgt #k`. */
export const JGT_K = BPF.JMP | BPF.JGT | BPF.K;
/** Opcode of `jge #k`. */
export const JGE_K = BPF.JMP | BPF.JGE | BPF.K;
/** Opcode of `jset #k`. */
export const JSET_K = BPF.JMP | BPF.JSET | BPF.K;
/** Opcode of `and #k`. */
export const AND_K = BPF.ALU | BPF.AND | BPF.K;
