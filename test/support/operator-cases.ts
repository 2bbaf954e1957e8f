/**
 * The operator truth table: every operator × width × boundary value ×
 * argument, with the expected outcome decided by the reference evaluator's
 * `conditionHolds` (`src/reference.ts`: plain bigint math, independent of the
 * code generator). Shared by the codegen test and the kernel tests, so the
 * interpreter and the real kernel are held to the same table.
 *
 * @module
 */
import type { Operator, Width } from "../../src/ir.ts";
import { conditionHolds } from "../../src/reference.ts";

/** One row: does `op(arg, value[, mask])` at `width` hold? */
export interface OperatorCase {
  /** The comparison. */
  readonly op: Operator;
  /** `dword` compares the low 32 bits only; `qword` all 64. */
  readonly width: Width;
  /** The condition's value (fits the width). */
  readonly value: bigint;
  /** The condition's mask (`masked_eq` only; fits the width). */
  readonly mask?: bigint;
  /** The 64-bit argument the syscall is called with. */
  readonly arg: bigint;
  /** Whether the condition holds. */
  readonly expected: boolean;
}

const U32_MAX = 0xffffffffn;
const U64_MAX = 0xffffffffffffffffn;
const HIGH_GARBAGE = 0xdeadbeefn << 32n;

/** Boundary values per width. */
export const BOUNDARY_VALUES: Readonly<Record<Width, readonly bigint[]>> = {
  dword: [0n, 1n, 1n << 31n, U32_MAX],
  qword: [0n, 1n, 1n << 31n, U32_MAX, 1n << 32n, 1n << 63n, U64_MAX, U64_MAX - 1n],
};

/** Masks for `masked_eq` per width (a mask must fit its width). */
export const MASKS: Readonly<Record<Width, readonly bigint[]>> = {
  dword: [0n, 0xffn, U32_MAX, 4n],
  qword: [0n, 0xffn, U32_MAX, 0xffffffff00000000n, U64_MAX, 4n],
};

/** `masked_eq` values, several with bits outside the masks. */
export const MASKED_VALUES: Readonly<Record<Width, readonly bigint[]>> = {
  dword: [0n, 4n, 0x1234n, 0x80000004n, U32_MAX],
  qword: [0n, 4n, 0x1234n, 0x00000001_00000004n, 0xdeadbeef_00000004n, U64_MAX],
};

/** Interesting arguments around `value`, deduplicated, sorted, clamped to u64. @private */
function argumentsAround(value: bigint, extra: readonly bigint[] = []): bigint[] {
  const candidates = [
    0n, value - 1n, value, value + 1n, U32_MAX, 1n << 32n, U64_MAX,
    // Garbage in the high half: ignored by dword, decisive for qword.
    value | HIGH_GARBAGE, (value - 1n) | HIGH_GARBAGE, (value + 1n) | HIGH_GARBAGE,
    // Same high half with a different low half, and the reverse.
    value ^ U32_MAX, value ^ (U32_MAX << 32n),
    // Neighbours across the half boundary.
    value + (1n << 32n), value - (1n << 32n), value + (1n << 32n) - 1n, value - (1n << 32n) + 1n,
    ...extra,
  ];
  const inRange = candidates.filter((a) => a >= 0n && a <= U64_MAX);
  return [...new Set(inRange)].sort((x, y) => (x < y ? -1 : x > y ? 1 : 0));
}

/**
 * The whole table, in a fixed order.
 *
 * @example
 * ```ts
 * const rows = operatorCases();
 * rows.filter((c) => c.op === "masked_eq" && c.width === "qword").length > 0; // true
 * ```
 */
export function operatorCases(): OperatorCase[] {
  const out: OperatorCase[] = [];
  const widths: Width[] = ["dword", "qword"];
  const ordering: Operator[] = ["eq", "ne", "lt", "le", "gt", "ge"];
  for (const width of widths) {
    for (const op of ordering) {
      for (const value of BOUNDARY_VALUES[width]) {
        for (const arg of argumentsAround(value)) {
          out.push({ op, width, value, arg, expected: conditionHolds({ index: 0, op, width, value }, arg) });
        }
      }
    }
    for (const mask of MASKS[width]) {
      for (const value of MASKED_VALUES[width]) {
        const masked = value & mask;
        // Arguments that agree with the value only inside the mask, only outside it, or nowhere.
        const extra = [masked, masked | (~mask & U64_MAX), masked ^ 4n, masked ^ 1n, masked ^ (1n << 32n), ~value & U64_MAX];
        for (const arg of argumentsAround(value, extra)) {
          out.push({ op: "masked_eq", width, value, mask, arg, expected: conditionHolds({ index: 0, op: "masked_eq", width, value, mask }, arg) });
        }
      }
    }
  }
  return out;
}
