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
import { type ArchName, getArch, isArchName } from "./arch/arch.ts";
import {
  checkActionData,
  checkArgIndex,
  checkEqualActions,
  checkFitsWidth,
  checkOperator,
  checkRuleNotEmpty,
  checkUnsigned,
  checkWidth,
  lookupSyscall,
  type Problem,
  unknownAction,
} from "./checks.ts";
import { type Diagnostic, PolicyError } from "./diagnostics.ts";
import { type ArgIndex, isActionKind, isPayloadAction, MASKED_EQ, type Operator, type Width } from "./vocabulary.ts";

export { type ArgIndex, type Operator, type Width, WIDTH_MAX } from "./vocabulary.ts";

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
    const found = lookupSyscall(arch, name);
    if (!found.ok) {
      diagnostics.push(at(found.problem, `rules.${name}`));
      continue;
    }
    const nr = found.nr;
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
  const report = (problem: Problem | undefined, path: string) => {
    if (problem) out.push(at(problem, path));
  };
  if (!isArchName(filter.arch)) {
    out.push({ code: "unknown-arch", message: `unknown architecture "${String(filter.arch)}"`, path: "arch", severity: "error" });
    return out;
  }
  const mismatchValid = checkAction(filter.mismatchAction, "mismatchAction", report);
  const matchValid = checkAction(filter.matchAction, "matchAction", report);
  if (mismatchValid && matchValid) {
    report(checkEqualActions(filter.matchAction, filter.mismatchAction, "matchAction", "mismatchAction"), "matchAction");
  }
  const arch = getArch(filter.arch);
  let previous = -1;
  for (const [s, syscall] of filter.syscalls.entries()) {
    const path = `syscalls[${s}]`;
    const found = lookupSyscall(arch, syscall.name);
    if (!found.ok) report(found.problem, `${path}.name`);
    else if (found.nr !== syscall.nr) {
      out.push({
        code: "syscall-number",
        message: `syscall "${syscall.name}" is number ${found.nr} on ${arch.name}, not ${syscall.nr}`,
        path: `${path}.nr`,
        severity: "error",
      });
    }
    if (syscall.nr <= previous) {
      out.push({
        code: "syscall-order",
        message: `syscalls must be unique and in ascending number order (${syscall.name} = ${syscall.nr})`,
        path,
        severity: "error",
      });
    }
    previous = syscall.nr;
    for (const [r, ruleValue] of syscall.rules.entries()) {
      report(
        checkRuleNotEmpty(ruleValue.conditions.length, `rule ${r} of ${syscall.name}`, "an unconditional syscall is written with no rules at all"),
        `${path}.rules[${r}]`,
      );
      for (const [c, cond] of ruleValue.conditions.entries()) checkCondition(cond, `${path}.rules[${r}].conditions[${c}]`, report);
    }
  }
  return out;
}

/** A shared check's problem, placed at an IR path. @private */
function at(problem: Problem, path: string): Diagnostic {
  return { ...problem, path };
}

/** A field given through the API that should be a string. @private */
function notAString(field: string, value: unknown): Problem {
  return { code: "wrong-type", message: `${field} must be a string, not ${JSON.stringify(value) ?? String(value)}`, severity: "error" };
}

/** @private */
type Report = (problem: Problem | undefined, path: string) => void;

/** Reports what is wrong with `action`; true when it is valid. @private */
function checkAction(action: Action, path: string, report: Report): boolean {
  const kind = (action as { kind?: unknown } | undefined)?.kind;
  if (!isActionKind(kind)) {
    report(unknownAction(typeof kind === "string" ? kind : JSON.stringify(action) ?? String(action)), path);
    return false;
  }
  if (!isPayloadAction(kind)) return true;
  const data = checkUnsigned(`${kind} data`, (action as { data?: unknown }).data);
  const problem = data.ok ? checkActionData(kind, data.value) : data.problem;
  report(problem, `${path}.data`);
  return problem === undefined;
}

/** @private */
function checkCondition(cond: Condition, path: string, report: Report): void {
  const index = checkUnsigned("argument index", cond.index);
  report(index.ok ? checkArgIndex(index.value) : index.problem, `${path}.index`);
  const width = typeof cond.width === "string" ? checkWidth(cond.width) : notAString("width", cond.width);
  report(width, `${path}.width`);
  report(typeof cond.op === "string" ? checkOperator(cond.op) : notAString("op", cond.op), `${path}.op`);
  const value = checkUnsigned("value", cond.value);
  report(value.ok ? undefined : value.problem, `${path}.value`);
  const hasMask = cond.mask !== undefined;
  const mask = hasMask ? checkUnsigned("mask", cond.mask) : undefined;
  if (mask && !mask.ok) report(mask.problem, `${path}.mask`);
  if (cond.op === MASKED_EQ && !hasMask) {
    report({ code: "missing-mask", message: "masked_eq needs a mask", severity: "error" }, `${path}.mask`);
  } else if (cond.op !== MASKED_EQ && hasMask) {
    report({
      code: "unexpected-mask",
      message: `a mask is only meaningful with masked_eq, not ${cond.op}`,
      severity: "error",
    }, `${path}.mask`);
  }
  if (width !== undefined) return;
  if (value.ok) report(checkFitsWidth(cond.width, "value", value.value), `${path}.value`);
  if (mask?.ok) report(checkFitsWidth(cond.width, "mask", mask.value), `${path}.mask`);
}
