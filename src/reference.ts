/**
 * The reference evaluator: what a filter *means*, decided straight from the
 * IR for one system call, without generating or running any BPF.
 *
 * It exists so the test suite can check the code generator against an
 * independent statement of the semantics. It is deliberately the plainest
 * code possible and shares nothing with `src/codegen/` or `src/bpf/` but the
 * IR types: it even keeps its own copy of the audit tokens (transcribed from
 * `include/uapi/linux/audit.h`), so a typo in the arch table shows up as a
 * disagreement instead of being silently shared by both sides.
 *
 * The meaning of a filter for a call `(arch, nr, args)`:
 * 1. `arch` is not the filter's audit token → `kill_process`
 *    (a filter describes one ABI; anything else is refused outright).
 * 2. On x86_64, `nr` has the x32 bit (`0x40000000`) set → `kill_process`:
 *    x32 calls carry the x86_64 token, so without this rule a default-allow
 *    filter would let them all through (rust-vmm/seccompiler#74). Read as an
 *    unsigned 32-bit number, every value from `0x40000000` up is refused;
 *    that includes `nr == -1`.
 * 3. `nr` equals a listed syscall's number and that syscall has no rules, or
 *    any of its rules has all its conditions true → `matchAction`.
 * 4. Anything else (unlisted, outside the table, no rule holding) →
 *    `mismatchAction`.
 *
 * A condition is unsigned. `dword` looks only at the low 32 bits of the
 * argument (the high half may hold garbage and is ignored); `qword` at all
 * 64. `masked_eq` holds when `(arg & mask) == (value & mask)`.
 *
 * @module
 */
import type { Action } from "./action.ts";
import type { Condition, Filter } from "./ir.ts";

/** One system call as the kernel shows it to a filter (`struct seccomp_data`, minus the instruction pointer). */
export interface SyscallEvent {
  /** `seccomp_data.arch`: the caller's audit token, an unsigned 32-bit number. */
  readonly arch: number;
  /** `seccomp_data.nr`: a 32-bit number, signed or unsigned (`-1` and `0xffffffff` are the same call). */
  readonly nr: number;
  /** `seccomp_data.args`: six unsigned 64-bit arguments (missing ones count as 0). */
  readonly args: readonly bigint[];
}

/**
 * Audit tokens, written out again from the kernel headers on purpose
 * (`EM_* | __AUDIT_ARCH_64BIT | __AUDIT_ARCH_LE`; s390x is big-endian and has
 * no LE bit). See the module comment for why this is not imported.
 */
export const REFERENCE_AUDIT_ARCH: Readonly<Record<Filter["arch"], number>> = {
  x86_64: 0x8000_0000 + 0x4000_0000 + 62,
  aarch64: 0x8000_0000 + 0x4000_0000 + 183,
  riscv64: 0x8000_0000 + 0x4000_0000 + 243,
  loongarch64: 0x8000_0000 + 0x4000_0000 + 258,
  ppc64le: 0x8000_0000 + 0x4000_0000 + 21,
  s390x: 0x8000_0000 + 22,
};

/** `__X32_SYSCALL_BIT`. @private */
const X32_BIT = 0x4000_0000;
/** `2^32 - 1`. @private */
const LOW_32 = 0xffff_ffffn;
/** `2^64 - 1`. @private */
const ALL_64 = 0xffff_ffff_ffff_ffffn;
/** What a filter returns when it refuses a call outright. @private */
const KILL_PROCESS: Action = { kind: "kill_process" };

/**
 * The action a filter means for one system call.
 *
 * @example
 * ```ts
 * import { ALLOW, errno, seccompFilter, rule, condition } from "./ir.ts";
 * const filter = seccompFilter({
 *   arch: "x86_64", mismatchAction: errno(1), matchAction: ALLOW,
 *   rules: { write: [rule(condition(0, "dword", "eq", 1))] },
 * });
 * referenceAction(filter, { arch: 0xc000003e, nr: 1, args: [1n] });             // { kind: "allow" }
 * referenceAction(filter, { arch: 0xc000003e, nr: 1, args: [0xffffffff00000001n] }); // allow: dword ignores the high half
 * referenceAction(filter, { arch: 0xc000003e, nr: 1, args: [2n] });             // { kind: "errno", data: 1 }
 * ```
 */
export function referenceAction(filter: Filter, event: SyscallEvent): Action {
  if (event.arch >>> 0 !== REFERENCE_AUDIT_ARCH[filter.arch]) return KILL_PROCESS;
  const nr = event.nr >>> 0;
  if (filter.arch === "x86_64" && nr >= X32_BIT) return KILL_PROCESS;
  for (const syscall of filter.syscalls) {
    if (syscall.nr >>> 0 !== nr) continue;
    if (syscall.rules.length === 0) return filter.matchAction;
    for (const rule of syscall.rules) {
      if (rule.conditions.every((condition) => conditionHolds(condition, argument(event, condition.index)))) {
        return filter.matchAction;
      }
    }
    return filter.mismatchAction;
  }
  return filter.mismatchAction;
}

/**
 * Whether one condition holds for the given argument value.
 *
 * @example
 * ```ts
 * conditionHolds({ index: 0, width: "dword", op: "gt", value: 5n }, 0x1_0000_0003n); // false: only the low half (3) counts
 * conditionHolds({ index: 0, width: "qword", op: "gt", value: 5n }, 0x1_0000_0003n); // true
 * ```
 */
export function conditionHolds(condition: Condition, argumentValue: bigint): boolean {
  const width = condition.width === "dword" ? LOW_32 : ALL_64;
  const arg = argumentValue & width;
  const value = condition.value & width;
  switch (condition.op) {
    case "eq":
      return arg === value;
    case "ne":
      return arg !== value;
    case "lt":
      return arg < value;
    case "le":
      return arg <= value;
    case "gt":
      return arg > value;
    case "ge":
      return arg >= value;
    case "masked_eq": {
      const mask = (condition.mask ?? 0n) & width;
      return (arg & mask) === (value & mask);
    }
  }
}

/** Argument `index` as an unsigned 64-bit value. @private */
function argument(event: SyscallEvent, index: number): bigint {
  return BigInt.asUintN(64, event.args[index] ?? 0n);
}
