/**
 * The words and limits of a seccomp policy, written once: action kinds and
 * their payload limits, comparison operators, argument widths, argument
 * indexes and the 64-bit range. The JSON Schema (`policy/schema.ts`), the IR
 * types and constructors (`ir.ts`, `action.ts`) and the shared checks
 * (`checks.ts`, used by both validators) all derive from these constants.
 *
 * @module
 */

/** Largest 64-bit unsigned value, 2^64 − 1. */
export const U64_MAX = 0xffff_ffff_ffff_ffffn;
/** Largest 32-bit unsigned value, 2^32 − 1. */
export const U32_MAX = 0xffff_ffffn;

/** Actions that carry no payload, as spelled in the JSON policy format. */
export const PAYLOADLESS_ACTIONS = ["allow", "kill_thread", "kill_process", "log", "trap", "user_notif"] as const;

/** Largest errno the kernel passes through (`MAX_ERRNO` in `include/linux/err.h`). */
export const MAX_ERRNO = 4095;
/** Largest `SECCOMP_RET_TRACE` message: the 16-bit `SECCOMP_RET_DATA` field. */
export const MAX_TRACE_DATA = 0xffff;

/** Actions that carry a payload → the largest payload. */
export const PAYLOAD_ACTIONS = { errno: MAX_ERRNO, trace: MAX_TRACE_DATA } as const;

/** An action that carries no payload. */
export type PayloadlessActionKind = typeof PAYLOADLESS_ACTIONS[number];
/** An action that carries a payload (`errno`, `trace`). */
export type PayloadActionKind = keyof typeof PAYLOAD_ACTIONS;
/** The action kinds seccompiler knows, spelled as in the JSON policy format. */
export type ActionKind = PayloadlessActionKind | PayloadActionKind;

/** Every action kind: the payload-less ones, then `errno` and `trace`. */
export const ACTION_KINDS: readonly ActionKind[] = [
  ...PAYLOADLESS_ACTIONS,
  ...(Object.keys(PAYLOAD_ACTIONS) as PayloadActionKind[]),
];

/** Operators without operand; all compare unsigned. */
export const SIMPLE_OPERATORS = ["eq", "ne", "lt", "le", "gt", "ge"] as const;
/** The operator that takes a mask: `(arg & mask) == (value & mask)`. */
export const MASKED_EQ = "masked_eq";

/** Comparison operators; all unsigned. `masked_eq` compares `(arg & mask) == (value & mask)`. */
export type Operator = typeof SIMPLE_OPERATORS[number] | typeof MASKED_EQ;

/** Every operator, `masked_eq` last. */
export const OPERATORS: readonly Operator[] = [...SIMPLE_OPERATORS, MASKED_EQ];

/** Largest value of each argument width: `dword` looks at the low 32 bits, `qword` at all 64. */
export const WIDTH_MAX = { dword: U32_MAX, qword: U64_MAX } as const;

/** How many bits of the argument a condition looks at. */
export type Width = keyof typeof WIDTH_MAX;

/** Both widths. */
export const WIDTHS: readonly Width[] = Object.keys(WIDTH_MAX) as Width[];

/** Largest syscall argument index: a syscall has six arguments, 0 to 5 (`seccomp_data.args[6]`). */
export const MAX_ARG_INDEX = 5;

/** Argument index, 0..{@link MAX_ARG_INDEX}. */
export type ArgIndex = 0 | 1 | 2 | 3 | 4 | 5;

/**
 * Whether `name` is a known action kind.
 *
 * @example
 * ```ts
 * isActionKind("allow"); // true
 * isActionKind("ALLOW"); // false
 * ```
 */
export function isActionKind(name: unknown): name is ActionKind {
  return typeof name === "string" && (ACTION_KINDS as readonly string[]).includes(name);
}

/**
 * Whether `name` is an action kind that carries a payload.
 *
 * @example
 * ```ts
 * isPayloadAction("errno"); // true
 * isPayloadAction("allow"); // false
 * ```
 */
export function isPayloadAction(name: unknown): name is PayloadActionKind {
  return name === "errno" || name === "trace";
}

/**
 * Whether `name` is an action kind without payload.
 *
 * @example
 * ```ts
 * isPayloadlessAction("log"); // true
 * ```
 */
export function isPayloadlessAction(name: unknown): name is PayloadlessActionKind {
  return typeof name === "string" && (PAYLOADLESS_ACTIONS as readonly string[]).includes(name);
}

/**
 * Whether `name` is an operator (`masked_eq` included).
 *
 * @example
 * ```ts
 * isOperator("le"); // true
 * ```
 */
export function isOperator(name: unknown): name is Operator {
  return typeof name === "string" && (OPERATORS as readonly string[]).includes(name);
}

/**
 * Whether `name` is a width.
 *
 * @example
 * ```ts
 * isWidth("qword"); // true
 * ```
 */
export function isWidth(name: unknown): name is Width {
  return name === "dword" || name === "qword";
}
