/**
 * A re-implementation of the kernel's action-cache emulator
 * (`seccomp_is_const_allow` in kernel/seccomp.c, Linux 5.11+).
 *
 * When a filter is attached, the kernel runs this emulator for every syscall
 * number of the native arch; the numbers whose path ends in a literal
 * `ret ALLOW` using only constant-foldable instructions are cached and never
 * run the filter again. Reporting them tells a user which syscalls cost
 * nothing at run time.
 *
 * @module
 */
import { type ArchInfo, X32_SYSCALL_BIT } from "../arch/arch.ts";
import { SECCOMP_RET } from "../action.ts";
import { AND_K, JA, JEQ_K, JGE_K, JGT_K, JSET_K, LD_ABS, type Program, RET_K, SECCOMP_DATA } from "./insn.ts";

/**
 * Whether the kernel would cache `nr` on `auditArch` as "always allow".
 * Mirrors the kernel exactly: anything but the instructions below makes the
 * path uncacheable, including any argument or instruction-pointer load.
 *
 * @example
 * ```ts
 * import type { Program } from "./insn.ts";
 * declare const program: Program;
 * isConstantAllow(program, 0, 0xc000003e); // true when read is allowed unconditionally
 * ```
 */
export function isConstantAllow(program: Program, nr: number, auditArch: number): boolean {
  let accumulator = 0;
  for (let pc = 0; pc < program.length; pc++) {
    const { code, k, jt, jf } = program[pc];
    switch (code) {
      case LD_ABS:
        if (k === SECCOMP_DATA.NR) accumulator = nr >>> 0;
        else if (k === SECCOMP_DATA.ARCH) accumulator = auditArch >>> 0;
        else return false;
        break;
      case RET_K:
        return k >>> 0 === SECCOMP_RET.ALLOW;
      case JA:
        pc += k;
        break;
      case JEQ_K:
        pc += accumulator === k >>> 0 ? jt : jf;
        break;
      case JGE_K:
        pc += accumulator >= k >>> 0 ? jt : jf;
        break;
      case JGT_K:
        pc += accumulator > k >>> 0 ? jt : jf;
        break;
      case JSET_K:
        pc += (accumulator & k) !== 0 ? jt : jf;
        break;
      case AND_K:
        accumulator = (accumulator & k) >>> 0;
        break;
      default:
        return false;
    }
  }
  // Ran off the end: the kernel warns and does not cache.
  return false;
}

/** Result of {@link actionCacheReport}. */
export interface ActionCacheReport {
  /** Syscalls the kernel skips the filter for (always allowed), by name. */
  readonly cached: readonly string[];
  /** Syscalls that run the filter on every call, by name. */
  readonly filtered: readonly string[];
}

/**
 * Which of the arch's syscalls the kernel's action cache would skip for
 * `program` installed alone. x32 numbers and foreign arches are never cached
 * by the kernel, so they are not listed.
 *
 * @example
 * ```ts
 * import { getArch } from "../arch/arch.ts";
 * import type { Program } from "./insn.ts";
 * declare const program: Program;
 * const { cached } = actionCacheReport(program, getArch("x86_64"));
 * ```
 */
export function actionCacheReport(program: Program, arch: ArchInfo): ActionCacheReport {
  const cached: string[] = [];
  const filtered: string[] = [];
  for (const [nr, name] of arch.names) {
    if (nr & X32_SYSCALL_BIT) continue;
    (isConstantAllow(program, nr, arch.auditArch) ? cached : filtered).push(name);
  }
  return { cached, filtered };
}
