/**
 * Installing seccomp filters into the running process, on Bun and Deno.
 *
 * Every function validates first (kernel load-time rules, length 1..4096,
 * actions the running kernel knows) and only then calls the kernel, so a bad
 * program never leaves the process half-configured.
 *
 * Two levels:
 * * `applyFilter`, `applyFilterAllThreads`, `actionAvailable`: async, one call
 *   does everything;
 * * the low-level steps, synchronous once {@link openLibc} has resolved, for a
 *   caller that must do something right after the install with nothing in
 *   between (the `exec` launcher calls `execve`). In order:
 *   {@link openLibc} → {@link prepareFilter} (runs {@link checkProgram};
 *   keep the result alive: the kernel reads its buffers) →
 *   {@link checkActionsAvailable} → {@link setNoNewPrivs} →
 *   {@link installPrepared}. Each throws {@link InstallError}; nothing that
 *   changes the process happens before `setNoNewPrivs`.
 *
 * @example
 * ```ts
 * import { compileFromJson } from "../compile.ts";
 * import { applyFilter } from "./mod.ts";
 * declare const policyText: string;
 * const programs = compileFromJson(policyText, "x86_64");
 * await applyFilter(programs.get("main")!);
 * ```
 *
 * @example The low-level steps
 * ```ts
 * import type { Program } from "../bpf/insn.ts";
 * import { checkActionsAvailable, installPrepared, openLibc, prepareFilter, setNoNewPrivs } from "./mod.ts";
 * declare const program: Program;
 * const libc = await openLibc();
 * const prepared = prepareFilter(libc, program);
 * checkActionsAvailable(libc, program);
 * setNoNewPrivs(libc);
 * installPrepared(libc, prepared, { allThreads: false });
 * // nothing in between: the next call runs under the filter
 * ```
 *
 * @module
 */
import { type Action, actionValue } from "../action.ts";
import type { Program } from "../bpf/insn.ts";
import { openLibc } from "./libc.ts";
import {
  checkActionsAvailable,
  checkProgram,
  installPrepared,
  prepareCheckedFilter,
  queryActionAvailable,
  setNoNewPrivs,
} from "./seccomp.ts";

export {
  errnoName,
  errnoNumber,
  InstallError,
  type InstallErrorCode,
  type InstallErrorDetails,
  seccompHint,
} from "./errors.ts";
export { isPermissionError, type Libc, openLibc } from "./libc.ts";
export {
  checkActionsAvailable,
  checkProgram,
  hostArchInfo,
  installPrepared,
  type PreparedFilter,
  prepareFilter,
  queryActionAvailable,
  returnedActions,
  SECCOMP_CONSTANTS,
  setNoNewPrivs,
} from "./seccomp.ts";

/**
 * Installs `program` on the calling thread: sets `no_new_privs`, then calls
 * `seccomp(SECCOMP_SET_MODE_FILTER)` without flags (`prctl(PR_SET_SECCOMP)`
 * where `seccomp()` is missing). Threads the caller creates afterwards inherit
 * the filter; threads that already exist do not (use
 * {@link applyFilterAllThreads} for those). The filter cannot be removed.
 *
 * **Only the calling thread.** Bun and Deno do I/O and JIT work on threads
 * of their own, started before your code runs: those keep running unfiltered.
 * With a filter that denies `openat`, `readFileSync` fails but
 * `fs.promises.readFile`, `Bun.file().text()` and `Deno.readTextFile` still
 * open the file (shown by `test/apply-threads.test.ts`). Use `applyFilter` to
 * confine the calling thread (and the threads it starts later); use
 * {@link applyFilterAllThreads} when the policy must hold for the whole
 * process.
 *
 * Throws {@link InstallError}: `invalid-program` and `action-unavailable`
 * before any kernel call that changes the process; `no-new-privs-failed` or
 * `seccomp-failed` (with `errno`/`errnoName` and a `hint`) from the kernel.
 *
 * @example
 * ```ts
 * import type { Program } from "../bpf/insn.ts";
 * declare const program: Program;
 * await applyFilter(program);
 * ```
 */
export async function applyFilter(program: Program): Promise<void> {
  await install(program, false);
}

/**
 * Installs `program` on every thread of the process at once
 * (`SECCOMP_FILTER_FLAG_TSYNC`), after setting `no_new_privs`.
 *
 * Throws {@link InstallError} like {@link applyFilter}, plus `tsync-failed`
 * with `threadId` when a thread cannot be synchronised (it already has a
 * filter that is not an ancestor of the caller's); then nothing was installed
 * on any thread.
 *
 * @example
 * ```ts
 * import type { Program } from "../bpf/insn.ts";
 * declare const program: Program;
 * await applyFilterAllThreads(program);
 * ```
 */
export async function applyFilterAllThreads(program: Program): Promise<void> {
  await install(program, true);
}

/** Validate everything, then `no_new_privs` and the install: the one sequence both entry points share. @private */
async function install(program: Program, allThreads: boolean): Promise<void> {
  // Checked before libc is opened, so a bad program is reported as such on every platform.
  checkProgram(program);
  const libc = await openLibc();
  const prepared = prepareCheckedFilter(libc, program);
  checkActionsAvailable(libc, program);
  setNoNewPrivs(libc);
  installPrepared(libc, prepared, { allThreads });
}

/**
 * Whether the running kernel supports `action` (asked through
 * `SECCOMP_GET_ACTION_AVAIL`, Linux 4.14; older kernels count as supporting
 * only the Linux 3.5 actions). Accepts an {@link Action} or a raw return value
 * (data bits are ignored).
 *
 * @example
 * ```ts
 * await actionAvailable({ kind: "user_notif" }); // true on Linux 5.0+
 * await actionAvailable(0x7ffc0000);             // LOG
 * ```
 */
export async function actionAvailable(action: Action | number): Promise<boolean> {
  const value = typeof action === "number" ? action >>> 0 : actionValue(action);
  return queryActionAvailable(await openLibc(), value);
}
