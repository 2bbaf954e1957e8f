/**
 * Typed errors of the installer: every failure names the step, the errno
 * (number and name) when the kernel gave one, and what to do about it.
 *
 * @module
 */
import type { BpfIssue } from "../bpf/errors.ts";

/**
 * Stable codes of {@link InstallError}:
 * * `invalid-program`: the program breaks a kernel load-time rule (nothing was called);
 * * `action-unavailable`: the program returns an action the running kernel lacks;
 * * `unsupported-platform`: not Linux, an architecture without a syscall table, or no FFI;
 * * `libc-not-found`: no C library could be opened;
 * * `permission-denied`: the runtime's permission system refused (Deno without `--allow-ffi`);
 * * `no-new-privs-failed`: `prctl(PR_SET_NO_NEW_PRIVS)` failed;
 * * `seccomp-unavailable`: this kernel, or an emulator such as qemu-user, offers no seccomp filters at all;
 * * `seccomp-failed`: the kernel refused the filter;
 * * `tsync-failed`: another thread could not be synchronised (see `threadId`);
 * * `action-query-failed`: `SECCOMP_GET_ACTION_AVAIL` failed for a reason other than "unsupported".
 */
export type InstallErrorCode =
  | "invalid-program"
  | "action-unavailable"
  | "unsupported-platform"
  | "libc-not-found"
  | "permission-denied"
  | "no-new-privs-failed"
  | "seccomp-unavailable"
  | "seccomp-failed"
  | "tsync-failed"
  | "action-query-failed";

/** Fields of an {@link InstallError} besides code and message. */
export interface InstallErrorDetails {
  /** The errno the kernel returned, when there is one. */
  readonly errno?: number;
  /** What to do about it. */
  readonly hint?: string;
  /** For `tsync-failed`: the id of the thread that could not be synchronised. */
  readonly threadId?: number;
  /** For `invalid-program`: every broken rule. */
  readonly issues?: readonly BpfIssue[];
}

/**
 * Thrown by `applyFilter`, `applyFilterAllThreads` and `actionAvailable`.
 *
 * @example
 * ```ts
 * import type { Program } from "../bpf/insn.ts";
 * import { applyFilter } from "./mod.ts";
 * declare const program: Program;
 * try {
 *   await applyFilter(program);
 * } catch (e) {
 *   if (e instanceof InstallError) console.error(e.code, e.errnoName, e.hint);
 * }
 * ```
 */
export class InstallError extends Error {
  /** Stable machine-readable code. */
  readonly code: InstallErrorCode;
  /** The errno number, when the kernel returned one. */
  readonly errno?: number;
  /** Symbolic errno name (`EACCES`, `EINVAL`, ...), when the kernel returned one. */
  readonly errnoName?: string;
  /** What to do about it. */
  readonly hint?: string;
  /** For `tsync-failed`: the thread that could not be synchronised. */
  readonly threadId?: number;
  /** For `invalid-program`: every broken load-time rule. */
  readonly issues?: readonly BpfIssue[];

  constructor(code: InstallErrorCode, message: string, details: InstallErrorDetails = {}) {
    const name = details.errno === undefined ? undefined : errnoName(details.errno);
    super(name === undefined ? message : `${message}: ${name} (${describeErrno(details.errno!)})`);
    this.name = "InstallError";
    this.code = code;
    if (details.errno !== undefined) {
      this.errno = details.errno;
      this.errnoName = name;
    }
    if (details.hint !== undefined) this.hint = details.hint;
    if (details.threadId !== undefined) this.threadId = details.threadId;
    if (details.issues !== undefined) this.issues = details.issues;
  }
}

/** Linux errno numbers (generic values, shared by every architecture seccompiler targets). @private */
const ERRNO_NAMES: ReadonlyMap<number, readonly [string, string]> = new Map([
  [1, ["EPERM", "operation not permitted"]],
  [2, ["ENOENT", "no such file or directory"]],
  [3, ["ESRCH", "no such process"]],
  [4, ["EINTR", "interrupted system call"]],
  [5, ["EIO", "input/output error"]],
  [6, ["ENXIO", "no such device or address"]],
  [7, ["E2BIG", "argument list too long"]],
  [8, ["ENOEXEC", "exec format error"]],
  [9, ["EBADF", "bad file descriptor"]],
  [10, ["ECHILD", "no child processes"]],
  [11, ["EAGAIN", "resource temporarily unavailable"]],
  [12, ["ENOMEM", "cannot allocate memory"]],
  [13, ["EACCES", "permission denied"]],
  [14, ["EFAULT", "bad address"]],
  [15, ["ENOTBLK", "block device required"]],
  [16, ["EBUSY", "device or resource busy"]],
  [17, ["EEXIST", "file exists"]],
  [18, ["EXDEV", "invalid cross-device link"]],
  [19, ["ENODEV", "no such device"]],
  [20, ["ENOTDIR", "not a directory"]],
  [21, ["EISDIR", "is a directory"]],
  [22, ["EINVAL", "invalid argument"]],
  [23, ["ENFILE", "too many open files in system"]],
  [24, ["EMFILE", "too many open files"]],
  [25, ["ENOTTY", "inappropriate ioctl for device"]],
  [26, ["ETXTBSY", "text file busy"]],
  [27, ["EFBIG", "file too large"]],
  [28, ["ENOSPC", "no space left on device"]],
  [29, ["ESPIPE", "illegal seek"]],
  [30, ["EROFS", "read-only file system"]],
  [31, ["EMLINK", "too many links"]],
  [32, ["EPIPE", "broken pipe"]],
  [34, ["ERANGE", "numerical result out of range"]],
  [35, ["EDEADLK", "resource deadlock avoided"]],
  [36, ["ENAMETOOLONG", "file name too long"]],
  [37, ["ENOLCK", "no locks available"]],
  [38, ["ENOSYS", "function not implemented"]],
  [39, ["ENOTEMPTY", "directory not empty"]],
  [40, ["ELOOP", "too many levels of symbolic links"]],
  [61, ["ENODATA", "no data available"]],
  [75, ["EOVERFLOW", "value too large for defined data type"]],
  [84, ["EILSEQ", "invalid or incomplete multibyte or wide character"]],
  [95, ["EOPNOTSUPP", "operation not supported"]],
  [110, ["ETIMEDOUT", "connection timed out"]],
  [116, ["ESTALE", "stale file handle"]],
  [121, ["EREMOTEIO", "remote I/O error"]],
  [122, ["EDQUOT", "disk quota exceeded"]],
  [125, ["ECANCELED", "operation canceled"]],
]);

/**
 * Symbolic name of a Linux errno, or `errno N` when it is not in the table.
 *
 * @example
 * ```ts
 * errnoName(13); // "EACCES"
 * ```
 */
export function errnoName(errno: number): string {
  return ERRNO_NAMES.get(errno)?.[0] ?? `errno ${errno}`;
}

/**
 * Linux errno number of a symbolic name, or `undefined`.
 *
 * @example
 * ```ts
 * errnoNumber("EPERM"); // 1
 * ```
 */
export function errnoNumber(name: string): number | undefined {
  for (const [errno, [known]] of ERRNO_NAMES) if (known === name) return errno;
  return undefined;
}

/** `strerror`-like text. @private */
function describeErrno(errno: number): string {
  return ERRNO_NAMES.get(errno)?.[1] ?? "unknown error";
}

/**
 * What to do when `seccomp(SECCOMP_SET_MODE_FILTER)` (or the prctl fallback)
 * fails with `errno`.
 *
 * @example
 * ```ts
 * seccompHint(12); // "the stack of filters on this thread is over the kernel's ..."
 * ```
 */
export function seccompHint(errno: number): string | undefined {
  switch (errno) {
    case 13:
      return "set no_new_privs first (prctl PR_SET_NO_NEW_PRIVS) or run with CAP_SYS_ADMIN";
    case 22:
      return "the kernel refused the program or a flag; the program passed seccompiler's own load-time checks, so the kernel is probably older than a feature in use (TSYNC needs 3.17)";
    case 12:
      return "the stack of filters on this thread is over the kernel's 32768-instruction limit (each filter counts its length + 4); install fewer or shorter filters";
    case 14:
      return "the program buffer was not readable; this is a bug in seccompiler, please report it";
    case 16:
      return "the filter chain already has a user-notification listener";
    case 38:
      return "the kernel has no seccomp filter support (CONFIG_SECCOMP_FILTER), or this runs under qemu-user, which refuses seccomp";
    default:
      return undefined;
  }
}
