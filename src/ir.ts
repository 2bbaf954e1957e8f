/**
 * The intermediate representation: the contract between front ends (JSON
 * policy, TypeScript API) and the back end (code generation).
 *
 * A {@link Filter} is one BPF program for one thread kind on one
 * architecture. Semantics:
 * - a syscall listed with no rules matches unconditionally;
 * - a syscall with rules matches when any rule matches (OR);
 * - a rule matches when all its conditions hold (AND);
 * - a match returns `matchAction`, anything else returns `mismatchAction`.
 *
 * @module
 */
import type { Action } from "./action.ts";
import { formatAction, MAX_ERRNO, MAX_TRACE_DATA, sameAction } from "./action.ts";
import { type ArchName, getArch, isArchName, suggestSyscall } from "./arch/arch.ts";
import { type Diagnostic, PolicyError } from "./diagnostics.ts";

/** How many bits of the argument a condition looks at. */
export type Width = "dword" | "qword";

/** Comparison operators; all unsigned. `masked_eq` compares `(arg & mask) == (value & mask)`. */
export type Operator = "eq" | "ne" | "lt" | "le" | "gt" | "ge" | "masked_eq";

/** Argument index, 0..5. */
export type ArgIndex = 0 | 1 | 2 | 3 | 4 | 5;

/** One argument comparison. */
export interface Condition {
  /** Which syscall argument (0..5). */
  readonly index: ArgIndex;
  /** `dword`: only the low 32 bits of the argument; `qword`: all 64. */
  readonly width: Width;
  /** The comparison. */
  readonly op: Operator;
  /** Value compared against (fits the width). */
  readonly value: bigint;
  /** Mask for `masked_eq` (fits the width); absent for other operators. */
  readonly mask?: bigint;
}

/** A conjunction of conditions; never empty. */
export interface Rule {
  /** All must hold. */
  readonly conditions: readonly Condition[];
}

/** The rules for one syscall. */
export interface SyscallRules {
  /** Syscall name on the filter's architecture. */
  readonly name: string;
  /** Syscall number on the filter's architecture. */
  readonly nr: number;
  /** Empty: the syscall matches unconditionally. Otherwise: any rule matching is a match. */
  readonly rules: readonly Rule[];
}

/** One seccomp filter for one architecture. */
export interface Filter {
  /** Target architecture. */
  readonly arch: ArchName;
  /** Returned when no rule matches (`default_action` / `mismatch_action`). */
  readonly mismatchAction: Action;
  /** Returned when a rule matches (`filter_action` / `match_action`). */
  readonly matchAction: Action;
  /** Syscalls in ascending number order, each at most once. */
  readonly syscalls: readonly SyscallRules[];
}

/** Largest value of each width. */
export const WIDTH_MAX: Record<Width, bigint> = { dword: 0xffffffffn, qword: 0xffffffffffffffffn };

// ---------------------------------------------------------------------------
// Constructors (the TypeScript front end)

/** `allow` */
export const ALLOW: Action = { kind: "allow" };
/** `kill_process` */
export const KILL_PROCESS: Action = { kind: "kill_process" };
/** `kill_thread` */
export const KILL_THREAD: Action = { kind: "kill_thread" };
/** `trap` */
export const TRAP: Action = { kind: "trap" };
/** `log` */
export const LOG: Action = { kind: "log" };
/** `user_notif` */
export const USER_NOTIF: Action = { kind: "user_notif" };

/**
 * `errno(n)`: the syscall fails with errno `n` (0..4095).
 *
 * @example
 * ```ts
 * errno(1); // EPERM
 * ```
 */
export function errno(data: number): Action {
  return { kind: "errno", data };
}

/**
 * `trace(n)`: hand the syscall to a ptrace tracer with message `n` (0..65535).
 *
 * @example
 * ```ts
 * trace(7);
 * ```
 */
export function trace(data: number): Action {
  return { kind: "trace", data };
}

/**
 * One argument condition, like the Rust crate's `SeccompCondition::new`.
 *
 * @example
 * ```ts
 * condition(1, "dword", "eq", 0x5421n);                 // ioctl request FIONBIO
 * condition(2, "dword", "masked_eq", 0n, { mask: 4n });  // no PROT_EXEC
 * ```
 */
export function condition(
  index: number,
  width: Width,
  op: Operator,
  value: bigint | number,
  options: { mask?: bigint | number } = {},
): Condition {
  const cond: Condition = { index: index as ArgIndex, width, op, value: BigInt(value) };
  return options.mask === undefined ? cond : { ...cond, mask: BigInt(options.mask) };
}

/**
 * A rule: all conditions must hold (like `SeccompRule::new`).
 *
 * @example
 * ```ts
 * rule(condition(0, "dword", "eq", 1), condition(2, "qword", "le", 4096));
 * ```
 */
export function rule(...conditions: Condition[]): Rule {
  return { conditions };
}

/** Input of {@link seccompFilter}. */
export interface FilterSpec {
  /** Target architecture. */
  readonly arch: ArchName;
  /** Returned when nothing matches. */
  readonly mismatchAction: Action;
  /** Returned when a rule matches. */
  readonly matchAction: Action;
  /** Syscall name → rules; an empty list means "always matches". */
  readonly rules: Readonly<Record<string, readonly Rule[]>> | Iterable<readonly [string, readonly Rule[]]>;
}

/**
 * Builds and validates a filter (like `SeccompFilter::new`). Throws a
 * {@link PolicyError} listing every problem.
 *
 * @example
 * ```ts
 * const filter = seccompFilter({
 *   arch: "x86_64",
 *   mismatchAction: errno(1),
 *   matchAction: ALLOW,
 *   rules: { read: [], write: [rule(condition(0, "dword", "eq", 1))] },
 * });
 * ```
 */
export function seccompFilter(spec: FilterSpec): Filter {
  const diagnostics: Diagnostic[] = [];
  if (!isArchName(spec.arch)) {
    throw new PolicyError([{ code: "unknown-arch", message: `unknown architecture "${String(spec.arch)}"`, path: "arch", severity: "error" }]);
  }
  const arch = getArch(spec.arch);
  const entries: [string, readonly Rule[]][] = Symbol.iterator in spec.rules
    ? [...(spec.rules as Iterable<readonly [string, readonly Rule[]]>)].map(([n, r]) => [n, r])
    : Object.entries(spec.rules as Record<string, readonly Rule[]>);
  const seen = new Map<string, readonly Rule[]>();
  const syscalls: SyscallRules[] = [];
  for (const [name, rules] of entries) {
    if (seen.has(name)) {
      diagnostics.push({ code: "duplicate-syscall", message: `syscall "${name}" is listed twice`, path: `rules.${name}`, severity: "error" });
      continue;
    }
    seen.set(name, rules);
    const nr = arch.syscalls.get(name);
    if (nr === undefined) {
      const suggestion = suggestSyscall(arch, name);
      diagnostics.push({
        code: "unknown-syscall",
        message: `unknown syscall "${name}" for ${arch.name}${suggestion ? `; did you mean "${suggestion}"?` : ""}`,
        path: `rules.${name}`,
        severity: "error",
      });
      continue;
    }
    syscalls.push({ name, nr, rules: rules.map((r) => ({ conditions: [...r.conditions] })) });
  }
  syscalls.sort((a, b) => a.nr - b.nr);
  const filter: Filter = { arch: spec.arch, mismatchAction: spec.mismatchAction, matchAction: spec.matchAction, syscalls };
  diagnostics.push(...validateFilter(filter));
  if (diagnostics.some((d) => d.severity === "error")) throw new PolicyError(diagnostics);
  return filter;
}

// ---------------------------------------------------------------------------
// Validation shared by every front end

/**
 * Checks the IR invariants and returns every problem (empty when valid).
 * The JSON front end reports the same problems with source positions before
 * building IR; this is the safety net for filters built in code.
 *
 * @example
 * ```ts
 * validateFilter({ arch: "x86_64", mismatchAction: ALLOW, matchAction: ALLOW, syscalls: [] }).length; // 1
 * ```
 */
export function validateFilter(filter: Filter): Diagnostic[] {
  const out: Diagnostic[] = [];
  const error = (code: string, message: string, path: string, hint?: string) =>
    out.push({ code, message, path, severity: "error", ...(hint ? { hint } : {}) });
  if (!isArchName(filter.arch)) {
    error("unknown-arch", `unknown architecture "${String(filter.arch)}"`, "arch");
    return out;
  }
  checkAction(filter.mismatchAction, "mismatchAction", error);
  checkAction(filter.matchAction, "matchAction", error);
  if (sameAction(filter.matchAction, filter.mismatchAction)) {
    error("equal-actions", `match action and mismatch action are both ${formatAction(filter.matchAction)}`, "matchAction",
      "a filter whose two actions are equal does nothing; change one of them");
  }
  const arch = getArch(filter.arch);
  let previous = -1;
  for (const [s, syscall] of filter.syscalls.entries()) {
    const path = `syscalls[${s}]`;
    if (arch.syscalls.get(syscall.name) !== syscall.nr) {
      error("unknown-syscall", `syscall "${syscall.name}" is not number ${syscall.nr} on ${arch.name}`, `${path}.nr`);
    }
    if (syscall.nr <= previous) {
      error("syscall-order", `syscalls must be unique and in ascending number order (${syscall.name} = ${syscall.nr})`, path);
    }
    previous = syscall.nr;
    for (const [r, ruleValue] of syscall.rules.entries()) {
      if (ruleValue.conditions.length === 0) {
        error("empty-rule", `rule ${r} of ${syscall.name} has no conditions`, `${path}.rules[${r}]`,
          "an unconditional syscall is written with no rules at all");
      }
      for (const [c, cond] of ruleValue.conditions.entries()) checkCondition(cond, `${path}.rules[${r}].conditions[${c}]`, error);
    }
  }
  return out;
}

/** @private */
type Report = (code: string, message: string, path: string, hint?: string) => void;

/** @private */
function checkAction(action: Action, path: string, error: Report): void {
  const kinds = ["allow", "kill_thread", "kill_process", "log", "trap", "user_notif", "errno", "trace"];
  if (!action || !kinds.includes(action.kind)) {
    error("unknown-action", `unknown action ${JSON.stringify(action)}`, path);
    return;
  }
  if (action.kind === "errno" || action.kind === "trace") {
    const max = action.kind === "errno" ? MAX_ERRNO : MAX_TRACE_DATA;
    if (!Number.isInteger(action.data) || action.data < 0 || action.data > max) {
      error("action-data-range", `${action.kind} data ${action.data} is outside 0..${max}`, `${path}.data`);
    }
  }
}

/** @private */
function checkCondition(cond: Condition, path: string, error: Report): void {
  if (!Number.isInteger(cond.index) || cond.index < 0 || cond.index > 5) {
    error("index-range", `argument index ${cond.index} is outside 0..5`, `${path}.index`);
  }
  if (cond.width !== "dword" && cond.width !== "qword") {
    error("bad-width", `width must be "dword" or "qword", not ${JSON.stringify(cond.width)}`, `${path}.width`);
    return;
  }
  const ops: Operator[] = ["eq", "ne", "lt", "le", "gt", "ge", "masked_eq"];
  if (!ops.includes(cond.op)) error("bad-operator", `unknown operator ${JSON.stringify(cond.op)}`, `${path}.op`);
  const max = WIDTH_MAX[cond.width];
  if (typeof cond.value !== "bigint" || cond.value < 0n || cond.value > max) {
    error("value-range", `value ${String(cond.value)} does not fit ${cond.width} (0..${max})`, `${path}.value`);
  }
  if (cond.op === "masked_eq") {
    if (typeof cond.mask !== "bigint" || cond.mask < 0n || cond.mask > max) {
      error("mask-range", `mask ${String(cond.mask)} does not fit ${cond.width} (0..${max})`, `${path}.mask`);
    }
  } else if (cond.mask !== undefined) {
    error("unexpected-mask", `a mask is only meaningful with masked_eq, not ${cond.op}`, `${path}.mask`);
  }
}
