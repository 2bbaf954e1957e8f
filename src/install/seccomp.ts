/**
 * The kernel calls of installing a filter, as synchronous steps over a
 * {@link Libc}: build `struct sock_fprog`, set `no_new_privs`, call
 * `seccomp(SECCOMP_SET_MODE_FILTER)` (or `prctl(PR_SET_SECCOMP)` where the
 * syscall is missing), and ask which actions the kernel knows.
 *
 * `mod.ts` exports these steps as the low-level API (the launcher strings
 * them together with `execve` and nothing in between) and wraps them in the
 * async `applyFilter` / `applyFilterAllThreads`.
 *
 * @module
 */
import { actionFromValue, SECCOMP_RET, SECCOMP_RET_ACTION_FULL } from "../action.ts";
import { archEndian, type ArchInfo, type ArchName, getArch, hostArch, seccompSyscallNumber } from "../arch/arch.ts";
import { encodeProgram } from "../bpf/encode.ts";
import { type Program, RET_K } from "../bpf/insn.ts";
import { validateProgram } from "../bpf/validate.ts";
import { errnoName, InstallError, seccompHint } from "./errors.ts";
import type { Libc } from "./libc.ts";

/** `prctl` options and `seccomp` operations and flags (include/uapi/linux/{prctl,seccomp}.h). */
export const SECCOMP_CONSTANTS = {
  PR_GET_SECCOMP: 21,
  PR_SET_SECCOMP: 22,
  PR_SET_NO_NEW_PRIVS: 38,
  SECCOMP_MODE_FILTER: 2,
  SECCOMP_SET_MODE_FILTER: 1,
  SECCOMP_GET_ACTION_AVAIL: 2,
  SECCOMP_FILTER_FLAG_TSYNC: 1,
} as const;

const ENOSYS = 38;
const EINVAL = 22;
const EOPNOTSUPP = 95;

/**
 * A validated program in kernel form. Holds every buffer whose address the
 * kernel will read, so keeping this object alive keeps the addresses valid.
 */
export interface PreparedFilter {
  /** The program as given. */
  readonly program: Program;
  /** The instructions in the host's byte order. */
  readonly instructions: Uint8Array;
  /** `struct sock_fprog` (16 bytes: u16 length, padding, u64 pointer to `instructions`). */
  readonly fprog: Uint8Array;
  /** Address of {@link PreparedFilter.fprog}. */
  readonly fprogAddress: bigint;
}

/**
 * The running machine's architecture description; throws
 * {@link InstallError} `unsupported-platform` when it is not a supported one.
 *
 * @example
 * ```ts
 * hostArchInfo().syscalls.get("seccomp"); // 317 on x86_64
 * ```
 */
export function hostArchInfo(): ArchInfo {
  return getArch(hostArchName());
}

/**
 * The running machine's architecture name; throws {@link InstallError}
 * `unsupported-platform` when it is not a supported one. The install path uses
 * this rather than {@link hostArchInfo}, so that an application bundling only
 * the installer does not carry every architecture's syscall table.
 * @private
 */
function hostArchName(): ArchName {
  const name = hostArch();
  if (name === undefined) {
    throw new InstallError("unsupported-platform", "this CPU architecture is not one seccompiler supports");
  }
  return name;
}

/**
 * Checks `program` against the kernel's load-time rules (length 1..4096
 * included) without calling the kernel. Throws {@link InstallError}
 * `invalid-program` listing every problem.
 *
 * @example
 * ```ts
 * checkProgram([]); // throws: the program is empty
 * ```
 */
export function checkProgram(program: Program): void {
  const issues = validateProgram(program);
  if (issues.length === 0) return;
  const first = issues[0];
  const more = issues.length > 1 ? ` (and ${issues.length - 1} more)` : "";
  throw new InstallError(
    "invalid-program",
    `the kernel would refuse this filter: instruction ${first.pc}: ${first.message}${more}`,
    { issues, hint: "nothing was installed; fix the program (the kernel accepts 1..4096 instructions)" },
  );
}

/**
 * Validates `program`, encodes it in the host's byte order and builds the
 * `struct sock_fprog` that points at it. No system call is made.
 *
 * @example
 * ```ts
 * import type { Program } from "../bpf/insn.ts";
 * import { openLibc } from "./libc.ts";
 * declare const program: Program;
 * const libc = await openLibc();
 * const prepared = prepareFilter(libc, program);
 * installPrepared(libc, prepared, { allThreads: false });
 * ```
 */
export function prepareFilter(libc: Libc, program: Program): PreparedFilter {
  checkProgram(program);
  return prepareCheckedFilter(libc, program);
}

/**
 * {@link prepareFilter} without its {@link checkProgram}, for a caller that
 * has just run that check itself (the library's `install` checks before it
 * opens libc, so a bad program fails the same way everywhere). Not part of
 * the public API: an unchecked program must never reach the kernel.
 *
 * @example
 * ```ts
 * import type { Program } from "../bpf/insn.ts";
 * import { openLibc } from "./libc.ts";
 * declare const program: Program;
 * const libc = await openLibc();
 * checkProgram(program);
 * const prepared = prepareCheckedFilter(libc, program);
 * ```
 */
export function prepareCheckedFilter(libc: Libc, program: Program): PreparedFilter {
  const endian = archEndian(hostArchName());
  const instructions = encodeProgram(program, endian);
  const fprog = new Uint8Array(16);
  const view = new DataView(fprog.buffer);
  const little = endian === "little";
  view.setUint16(0, program.length, little);
  view.setBigUint64(8, libc.address(instructions), little);
  return { program, instructions, fprog, fprogAddress: libc.address(fprog) };
}

/**
 * `prctl(PR_SET_NO_NEW_PRIVS, 1)`: required before an unprivileged
 * `seccomp()`, and kept by every child and across `execve`.
 *
 * @example
 * ```ts
 * import { openLibc } from "./libc.ts";
 * setNoNewPrivs(await openLibc());
 * ```
 */
export function setNoNewPrivs(libc: Libc): void {
  if (libc.prctl(SECCOMP_CONSTANTS.PR_SET_NO_NEW_PRIVS, 1n, 0n, 0n, 0n) === 0) return;
  throw new InstallError("no-new-privs-failed", "prctl(PR_SET_NO_NEW_PRIVS) failed", {
    errno: libc.errno(),
    hint: "the kernel is older than 3.5, or a filter already installed denies prctl",
  });
}

/**
 * Installs a prepared filter. With `allThreads: false` it goes on the calling
 * thread only, through `seccomp()`, falling back to `prctl(PR_SET_SECCOMP)`
 * when `seccomp()` is missing (ENOSYS). With `allThreads: true` it uses TSYNC
 * and throws `tsync-failed` with the id of the thread that could not be
 * synchronised. Call {@link setNoNewPrivs} first.
 *
 * @example
 * ```ts
 * import type { Program } from "../bpf/insn.ts";
 * import { openLibc } from "./libc.ts";
 * declare const program: Program;
 * const libc = await openLibc();
 * installPrepared(libc, prepareFilter(libc, program), { allThreads: false });
 * ```
 */
export function installPrepared(libc: Libc, prepared: PreparedFilter, options: { allThreads: boolean }): void {
  const { SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_TSYNC, PR_SET_SECCOMP, SECCOMP_MODE_FILTER } =
    SECCOMP_CONSTANTS;
  const flags = options.allThreads ? BigInt(SECCOMP_FILTER_FLAG_TSYNC) : 0n;
  const result = seccompSyscall(libc, SECCOMP_SET_MODE_FILTER, flags, prepared.fprogAddress);
  if (result === 0n) return;
  if (result > 0n) {
    // TSYNC reports the first thread it could not move onto the new filter.
    throw new InstallError(
      "tsync-failed",
      `could not install the filter on every thread: thread ${result} cannot be synchronised (its filters are not an ancestor of the caller's, or it is in strict mode)`,
      {
        threadId: Number(result),
        hint: "that thread installed a filter of its own; nothing was installed. Install process-wide filters from one thread before others add their own, or filter each thread itself",
      },
    );
  }
  const errno = libc.errno();
  if (errno === ENOSYS) requireSeccomp(libc);
  if (errno === ENOSYS && !options.allThreads) {
    // Linux 3.5..3.16, or a filter answering ENOSYS for seccomp(): the prctl path takes no flags.
    const fallback = libc.prctl(PR_SET_SECCOMP, BigInt(SECCOMP_MODE_FILTER), prepared.fprogAddress, 0n, 0n);
    if (fallback === 0) return;
    const fallbackErrno = libc.errno();
    throw new InstallError("seccomp-failed", "seccomp() is missing and prctl(PR_SET_SECCOMP) failed", {
      errno: fallbackErrno,
      ...hint(fallbackErrno),
    });
  }
  if (errno === ENOSYS) {
    throw new InstallError("seccomp-failed", "seccomp() with TSYNC failed", {
      errno,
      hint: "synchronising all threads needs the seccomp() system call (Linux 3.17); prctl(PR_SET_SECCOMP) cannot do it",
    });
  }
  throw new InstallError("seccomp-failed", `seccomp(SECCOMP_SET_MODE_FILTER${options.allThreads ? ", TSYNC" : ""}) failed`, {
    errno,
    ...hint(errno),
  });
}

/** `{ hint }` when there is one. @private */
function hint(errno: number): { hint?: string } {
  const text = seccompHint(errno);
  return text === undefined ? {} : { hint: text };
}

/** `syscall(SYS_seccomp, op, flags, args)`. @private */
function seccompSyscall(libc: Libc, op: number, flags: bigint, args: bigint): bigint {
  const nr = seccompSyscallNumber(hostArchName());
  return libc.syscall(nr, BigInt(op), flags, args, 0n, 0n, 0n);
}

/**
 * Called after `seccomp()` failed with ENOSYS, which means either a Linux
 * 3.5..3.16 kernel (no `seccomp()` yet, filters through `prctl`) or no seccomp
 * at all: a kernel without CONFIG_SECCOMP, or qemu-user, which answers ENOSYS
 * to `seccomp()` and EINVAL to every seccomp `prctl`. `prctl(PR_GET_SECCOMP)`
 * tells them apart; throws {@link InstallError} `seccomp-unavailable` for the
 * second, so the error names the real cause instead of a missing feature.
 * @private
 */
function requireSeccomp(libc: Libc): void {
  if (libc.prctl(SECCOMP_CONSTANTS.PR_GET_SECCOMP, 0n, 0n, 0n, 0n) >= 0) return;
  const prctlErrno = libc.errno();
  throw new InstallError(
    "seccomp-unavailable",
    `seccomp is unavailable (prctl(PR_GET_SECCOMP) fails with ${errnoName(prctlErrno)}, and seccomp() with ENOSYS)`,
    { errno: ENOSYS, ...hint(ENOSYS) },
  );
}

/** Actions every seccomp-filter kernel (3.5+) knows, used when the kernel cannot be asked. @private */
const ORIGINAL_ACTIONS: ReadonlySet<number> = new Set([
  SECCOMP_RET.KILL_THREAD,
  SECCOMP_RET.TRAP,
  SECCOMP_RET.ERRNO,
  SECCOMP_RET.TRACE,
  SECCOMP_RET.ALLOW,
]);

/**
 * Whether the running kernel knows the action of return value `value` (its
 * data bits are ignored), through `SECCOMP_GET_ACTION_AVAIL` (Linux 4.14).
 * On older kernels, which cannot be asked, only the actions of Linux 3.5 count
 * as available.
 *
 * @example
 * ```ts
 * import { openLibc } from "./libc.ts";
 * const libc = await openLibc();
 * queryActionAvailable(libc, 0x7fc00000); // USER_NOTIF: true on Linux 5.0+
 * ```
 */
export function queryActionAvailable(libc: Libc, value: number): boolean {
  const bits = (value & SECCOMP_RET_ACTION_FULL) >>> 0;
  const action = new Uint32Array([bits]);
  const result = seccompSyscall(libc, SECCOMP_CONSTANTS.SECCOMP_GET_ACTION_AVAIL, 0n, libc.address(action));
  if (result === 0n) return true;
  const errno = libc.errno();
  if (errno === EOPNOTSUPP) return false;
  if (errno === ENOSYS) requireSeccomp(libc);
  // EINVAL: the kernel predates the operation; ENOSYS (with seccomp present): it predates seccomp().
  if (errno === EINVAL || errno === ENOSYS) return ORIGINAL_ACTIONS.has(bits);
  throw new InstallError("action-query-failed", "seccomp(SECCOMP_GET_ACTION_AVAIL) failed", { errno });
}

/** Kernel version that introduced each action, for the hint. @private */
const ACTION_SINCE: ReadonlyMap<number, string> = new Map([
  [SECCOMP_RET.KILL_PROCESS, "4.14"],
  [SECCOMP_RET.LOG, "4.14"],
  [SECCOMP_RET.USER_NOTIF, "5.0"],
]);

/**
 * The distinct action bits of every `ret #k` in `program`, in program order.
 *
 * @example
 * ```ts
 * import type { Program } from "../bpf/insn.ts";
 * declare const program: Program;
 * returnedActions(program); // [0x80000000, 0x7fff0000]
 * ```
 */
export function returnedActions(program: Program): number[] {
  const seen = new Set<number>();
  for (const insn of program) {
    if (insn.code === RET_K) seen.add((insn.k & SECCOMP_RET_ACTION_FULL) >>> 0);
  }
  return [...seen];
}

/**
 * Throws {@link InstallError} `action-unavailable` when `program` can return an
 * action the running kernel does not know: the kernel accepts such a filter
 * but treats the unknown action as a kill when it is returned.
 *
 * @example
 * ```ts
 * import type { Program } from "../bpf/insn.ts";
 * import { openLibc } from "./libc.ts";
 * declare const program: Program;
 * const libc = await openLibc();
 * checkActionsAvailable(libc, program);
 * ```
 */
export function checkActionsAvailable(libc: Libc, program: Program): void {
  for (const bits of returnedActions(program)) {
    if (queryActionAvailable(libc, bits)) continue;
    const action = actionFromValue(bits);
    const hex = `0x${bits.toString(16).padStart(8, "0")}`;
    const since = ACTION_SINCE.get(bits);
    throw new InstallError(
      "action-unavailable",
      action === undefined
        ? `the filter returns ${hex}, which is not a seccomp action this kernel knows`
        : `the filter returns ${action.kind} (${hex}), which this kernel does not support`,
      {
        hint: action === undefined
          ? "the kernel would treat it as a kill at run time; nothing was installed"
          : `${action.kind} needs Linux ${since ?? "a newer kernel"}; use another action (e.g. errno or trap) on this kernel`,
      },
    );
  }
}
