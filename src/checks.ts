/**
 * The checks both validators share: the JSON front end (`policy/`) and
 * `validateFilter` in `ir.ts` (filters built in code). Each check looks at a
 * value that has already been read and returns the problem, without path or
 * position, so one problem gets one code and one message whichever front end
 * finds it. The caller adds where it is.
 *
 * @module
 */
import { type Action, formatAction, sameAction } from "./action.ts";
import { ARCH_NAMES, type ArchInfo, getArch, suggestSyscall } from "./arch/arch.ts";
import type { Diagnostic, DiagnosticCode } from "./diagnostics.ts";
import { closestMatch } from "./suggest.ts";
import {
  ACTION_KINDS,
  MAX_ARG_INDEX,
  OPERATORS,
  PAYLOAD_ACTIONS,
  type PayloadActionKind,
  PAYLOADLESS_ACTIONS,
  SIMPLE_OPERATORS,
  U64_MAX,
  type Width,
  WIDTH_MAX,
  WIDTHS,
} from "./vocabulary.ts";

/** A problem without its place: what a check returns. */
export interface Problem {
  /** Stable code. */
  readonly code: DiagnosticCode;
  /** One-line description. */
  readonly message: string;
  /** What to do about it. */
  readonly hint?: string;
  /** Warnings do not stop compilation. */
  readonly severity: Diagnostic["severity"];
}

/** @private */
function error(code: DiagnosticCode, message: string, hint?: string): Problem {
  return hint === undefined ? { code, message, severity: "error" } : { code, message, hint, severity: "error" };
}

/**
 * `"a", "b", "c"` for messages.
 *
 * @example
 * ```ts
 * quoteList(["eq", "ne"]); // '"eq", "ne"'
 * ```
 */
export function quoteList(words: readonly string[]): string {
  return words.map((word) => JSON.stringify(word)).join(", ");
}

/**
 * `; did you mean "x"?` or nothing.
 *
 * @example
 * ```ts
 * didYouMean("allow"); // '; did you mean "allow"?'
 * ```
 */
export function didYouMean(suggestion: string | undefined): string {
  return suggestion === undefined ? "" : `; did you mean "${suggestion}"?`;
}

// ---------------------------------------------------------------------------
// Actions

/**
 * An action name that is not one (`"Allow"`, `"deny"`).
 *
 * @example
 * ```ts
 * unknownAction("alow").message; // 'unknown action "alow"; did you mean "allow"?'
 * ```
 */
export function unknownAction(name: string): Problem {
  return error(
    "unknown-action",
    `unknown action "${name}"${didYouMean(closestMatch(name, ACTION_KINDS))}`,
    `actions are ${quoteList(PAYLOADLESS_ACTIONS)}, {"errno": N} and {"trace": N} (lowercase)`,
  );
}

/**
 * An `errno`/`trace` payload above its limit (the caller has checked that it
 * is a non-negative integer).
 *
 * @example
 * ```ts
 * checkActionData("errno", 4096n)?.code; // "errno-range"
 * checkActionData("trace", 65535n); // undefined
 * ```
 */
export function checkActionData(kind: PayloadActionKind, data: bigint): Problem | undefined {
  const max = PAYLOAD_ACTIONS[kind];
  if (data <= BigInt(max)) return undefined;
  return kind === "errno"
    ? error(
      "errno-range",
      `errno ${data} is above ${max}, the largest errno the kernel returns`,
      `the kernel caps errno values at MAX_ERRNO (${max})`,
    )
    : error("trace-range", `trace data ${data} does not fit 16 bits (0..${max})`);
}

/**
 * Match and mismatch action equal: the filter would do nothing. `matchName`
 * and `mismatchName` are how the caller's input spells the two fields.
 *
 * @example
 * ```ts
 * checkEqualActions({ kind: "allow" }, { kind: "allow" }, "matchAction", "mismatchAction")?.code; // "equal-actions"
 * ```
 */
export function checkEqualActions(
  match: Action,
  mismatch: Action,
  matchName: string,
  mismatchName: string,
): Problem | undefined {
  if (!sameAction(match, mismatch)) return undefined;
  return error(
    "equal-actions",
    `${matchName} and ${mismatchName} are both ${formatAction(mismatch)}`,
    "a filter whose two actions are equal does nothing; change one of them",
  );
}

// ---------------------------------------------------------------------------
// Numbers given as values (the JSON front end reads its numbers from the
// source text instead, with the same codes: see `policy/numbers.ts`)

/**
 * A number or bigint that must be an unsigned 64-bit integer; returns the
 * exact value or the problem.
 *
 * @example
 * ```ts
 * checkUnsigned("value", -1n); // { ok: false, problem: { code: "negative-number", ... } }
 * checkUnsigned("value", 7); // { ok: true, value: 7n }
 * ```
 */
export function checkUnsigned(
  label: string,
  value: unknown,
): { ok: true; value: bigint } | { ok: false; problem: Problem } {
  if (typeof value === "number") {
    if (!Number.isFinite(value) || !Number.isInteger(value)) {
      return { ok: false, problem: error("fractional-number", `${label} must be an integer, not ${value}`) };
    }
    if (Object.is(value, -0)) return { ok: false, problem: error("negative-zero", `${label} is written -0; write 0`) };
    value = BigInt(value);
  }
  if (typeof value !== "bigint") {
    return { ok: false, problem: error("wrong-type", `${label} must be an integer, not ${describeValue(value)}`) };
  }
  if (value < 0n) return { ok: false, problem: error("negative-number", `${label} must not be negative (got ${value})`) };
  if (value > U64_MAX) {
    return {
      ok: false,
      problem: error("number-too-large", `${label} ${value} does not fit 64 bits (the largest value is ${U64_MAX})`),
    };
  }
  return { ok: true, value };
}

/** "a string", "an object", ... for values given through the API. @private */
function describeValue(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "an array";
  const type = typeof value;
  return type === "object" ? "an object" : type === "undefined" ? "undefined" : `a ${type}`;
}

// ---------------------------------------------------------------------------
// Conditions

/**
 * An argument index above 5 (the caller has checked that it is a
 * non-negative integer).
 *
 * @example
 * ```ts
 * checkArgIndex(6n)?.message; // "argument index 6 is out of range 0..5"
 * ```
 */
export function checkArgIndex(index: bigint): Problem | undefined {
  if (index <= BigInt(MAX_ARG_INDEX)) return undefined;
  return error(
    "index-range",
    `argument index ${index} is out of range 0..${MAX_ARG_INDEX}`,
    "a syscall has at most six arguments, numbered 0 to 5",
  );
}

/**
 * A width that is not `dword` or `qword`.
 *
 * @example
 * ```ts
 * checkWidth("DWORD")?.message; // 'unknown type "DWORD"; did you mean "dword"?'
 * ```
 */
export function checkWidth(width: string): Problem | undefined {
  if ((WIDTHS as readonly string[]).includes(width)) return undefined;
  return error(
    "unknown-type",
    `unknown type "${width}"${didYouMean(closestMatch(width, WIDTHS))}`,
    `type is one of ${quoteList(WIDTHS)} (lowercase)`,
  );
}

/**
 * An operator name that is not one.
 *
 * @example
 * ```ts
 * checkOperator("eg")?.message; // 'unknown operator "eg"; did you mean "eq"?'
 * ```
 */
export function checkOperator(op: string): Problem | undefined {
  if ((OPERATORS as readonly string[]).includes(op)) return undefined;
  return error(
    "unknown-operator",
    `unknown operator "${op}"${didYouMean(closestMatch(op, OPERATORS))}`,
    `operators are ${quoteList(SIMPLE_OPERATORS)} and {"masked_eq": MASK}`,
  );
}

/**
 * A value or mask too wide for a `dword` condition (the reference compilers
 * silently keep only its low 32 bits). `label` names it: `val`, `masked_eq mask`.
 *
 * @example
 * ```ts
 * checkFitsWidth("dword", "val", 1n << 32n)?.code; // "dword-range"
 * ```
 */
export function checkFitsWidth(width: Width, label: string, value: bigint): Problem | undefined {
  const limit = WIDTH_MAX[width];
  if (value <= limit) return undefined;
  return error(
    "dword-range",
    `${label} ${value} does not fit a dword (0..${limit})`,
    "use qword, or write the 32-bit two's complement, e.g. 4294967196 for -100",
  );
}

/**
 * A `masked_eq` value with bits outside its mask: rust-vmm masks the value
 * and can match, libseccomp (Firecracker ≥ 1.11) never matches. A warning.
 *
 * @example
 * ```ts
 * checkValueInMask(5n, 4n)?.severity; // "warning"
 * ```
 */
export function checkValueInMask(value: bigint, mask: bigint): Problem | undefined {
  if ((value & ~mask) === 0n) return undefined;
  return {
    code: "value-outside-mask",
    message: `masked_eq val ${value} has bits outside the mask ${mask} (0x${mask.toString(16)}); ` +
      "rust-vmm masks the value and can match, Firecracker ≥ 1.11 (libseccomp) never matches",
    hint: `write the value already masked: ${value & mask}`,
    severity: "warning",
  };
}

// ---------------------------------------------------------------------------
// Rules and syscalls

/**
 * A rule with no conditions. `what` names the empty list as the caller's
 * input spells it; `hint` says how that input writes an unconditional rule.
 *
 * @example
 * ```ts
 * checkRuleNotEmpty(0, '"args"', 'leave "args" out')?.code; // "empty-args"
 * ```
 */
export function checkRuleNotEmpty(conditions: number, what: string, hint: string): Problem | undefined {
  if (conditions > 0) return undefined;
  return error("empty-args", `${what} is empty; a rule needs at least one condition`, hint);
}

/**
 * The syscall's number on `arch`, or the problem (with a suggestion, and the
 * architectures that do have the name).
 *
 * @example
 * ```ts
 * import { getArch } from "./arch/arch.ts";
 * lookupSyscall(getArch("x86_64"), "opne"); // { ok: false, problem: { code: "unknown-syscall", ... } }
 * ```
 */
export function lookupSyscall(
  arch: ArchInfo,
  name: string,
): { ok: true; nr: number } | { ok: false; problem: Problem } {
  const nr = arch.syscalls.get(name);
  if (nr !== undefined) return { ok: true, nr };
  const elsewhere = ARCH_NAMES.filter((other) => other !== arch.name && getArch(other).syscalls.has(name));
  return {
    ok: false,
    problem: error(
      "unknown-syscall",
      `unknown syscall "${name}" for ${arch.name}${didYouMean(suggestSyscall(arch, name))}`,
      elsewhere.length > 0
        ? `"${name}" exists on ${elsewhere.join(", ")} but not on ${arch.name}; names differ between architectures`
        : undefined,
    ),
  };
}
