/**
 * Argument conditions → BPF. Every comparison is unsigned; `dword` looks at
 * the low 32-bit half only, `qword` at both halves, high half first.
 *
 * @module
 */
import type { Label, ProgramBuilder } from "../bpf/builder.ts";
import { AND_K, JEQ_K, JGE_K, JGT_K, LD_ABS, SECCOMP_DATA } from "../bpf/insn.ts";
import type { ArgIndex, Condition } from "../ir.ts";

/** Byte offsets of the two 32-bit halves of one `seccomp_data.args[i]`. */
export interface ArgumentHalves {
  /** Offset of the low (least significant) half. */
  readonly lo: number;
  /** Offset of the high (most significant) half. */
  readonly hi: number;
}

/**
 * Where the halves of argument `index` sit, for the target's byte order
 * (never the host's): little-endian puts the low half first.
 *
 * @example
 * ```ts
 * argumentHalves(0, "little"); // { lo: 16, hi: 20 }
 * argumentHalves(0, "big");    // { lo: 20, hi: 16 }
 * ```
 */
export function argumentHalves(index: ArgIndex, endian: "little" | "big"): ArgumentHalves {
  const base = SECCOMP_DATA.ARGS + 8 * index;
  return endian === "little" ? { lo: base, hi: base + 4 } : { lo: base + 4, hi: base };
}

const LOW_MASK = 0xffffffffn;

/** The low and high 32-bit halves of a u64. @private */
function split(value: bigint): { lo: number; hi: number } {
  return { lo: Number(value & LOW_MASK), hi: Number((value >> 32n) & LOW_MASK) };
}

/**
 * Emits the test for one condition: control falls through when it holds and
 * goes to `fail` when it does not. Clobbers A.
 *
 * @example
 * ```ts
 * import { ProgramBuilder } from "../bpf/builder.ts";
 * import { condition } from "../ir.ts";
 * const b = new ProgramBuilder();
 * const fail = b.label("fail");
 * emitCondition(b, condition(1, "dword", "eq", 0x5421n), "little", fail); // ld [24]; jeq #0x5421
 * ```
 */
export function emitCondition(b: ProgramBuilder, cond: Condition, endian: "little" | "big", fail: Label): void {
  const at = argumentHalves(cond.index, endian);
  const value = split(cond.value);
  if (cond.op === "masked_eq") {
    const mask = split(cond.mask ?? 0n);
    if (cond.width === "qword") {
      b.stmt(LD_ABS, at.hi);
      b.stmt(AND_K, mask.hi);
      b.jump(JEQ_K, (value.hi & mask.hi) >>> 0, "next", fail);
    }
    b.stmt(LD_ABS, at.lo);
    b.stmt(AND_K, mask.lo);
    b.jump(JEQ_K, (value.lo & mask.lo) >>> 0, "next", fail);
    return;
  }
  if (cond.width === "dword") {
    b.stmt(LD_ABS, at.lo);
    compareWord(b, cond.op, value.lo, "next", fail);
    return;
  }
  // qword: decide on the high half unless it is equal, then on the low half.
  const pass = b.label("qword-pass");
  b.stmt(LD_ABS, at.hi);
  switch (cond.op) {
    case "eq":
      b.jump(JEQ_K, value.hi, "next", fail);
      break;
    case "ne":
      b.jump(JEQ_K, value.hi, "next", pass);
      break;
    case "gt":
    case "ge":
      b.jump(JGT_K, value.hi, pass, "next");
      b.jump(JEQ_K, value.hi, "next", fail);
      break;
    case "lt":
    case "le":
      b.jump(JGT_K, value.hi, fail, "next");
      b.jump(JEQ_K, value.hi, "next", pass);
      break;
  }
  b.stmt(LD_ABS, at.lo);
  compareWord(b, cond.op, value.lo, "next", fail);
  b.place(pass);
}

/** One unsigned 32-bit comparison of A against `k`. @private */
function compareWord(
  b: ProgramBuilder,
  op: Exclude<Condition["op"], "masked_eq">,
  k: number,
  pass: "next",
  fail: Label,
): void {
  switch (op) {
    case "eq":
      return b.jump(JEQ_K, k, pass, fail);
    case "ne":
      return b.jump(JEQ_K, k, fail, pass);
    case "gt":
      return b.jump(JGT_K, k, pass, fail);
    case "ge":
      return b.jump(JGE_K, k, pass, fail);
    case "lt":
      return b.jump(JGE_K, k, fail, pass);
    case "le":
      return b.jump(JGT_K, k, fail, pass);
  }
}
