/**
 * The recording helper: the process `seccompiler record` starts, which
 * installs the notifying filter on itself and `execve`s the target.
 *
 * It never talks to the supervisor. After `seccomp()` returns, every system
 * call of this thread waits for the supervisor, and the supervisor cannot
 * answer before it holds the listener descriptor; so the helper makes no
 * call to hand the descriptor over. The supervisor copies it out of this
 * process with `pidfd_getfd` (see docs/record.md), while the helper's next
 * call, `execve`, waits for it. The descriptor is close-on-exec, so the
 * target never holds its own listener.
 *
 * @module
 */
import type { ArchInfo } from "../arch/arch.ts";
import { actionValue } from "../action.ts";
import { JEQ_K, JGE_K, jump, LD_ABS, type Program, RET_K, SECCOMP_DATA, stmt } from "../bpf/insn.ts";
import { errnoName, hostArchInfo, type Libc, openLibc, type PreparedFilter, prepareFilter, setNoNewPrivs } from "../install/mod.ts";
import { resolveCommand } from "../launcher/resolve.ts";
import { applyHandover, getEntry, type Handover, HandoverError, planHandover } from "../launcher/handover.ts";
import { writeAll } from "../output.ts";
import { type CommandTables, commandTables } from "./argv.ts";
import { NOTIFY } from "./kernel.ts";

/** Exit codes shared with the supervisor (env(1)'s, like `exec`). */
export const RECORD_EXIT = { LAUNCHER_ERROR: 125, NOT_EXECUTABLE: 126, NOT_FOUND: 127 } as const;

/**
 * The filter the target runs under while recording: every native system call
 * goes to the supervisor (`user_notif`); calls of another architecture (and
 * x32 on x86_64) kill the process, as a compiled policy's architecture check
 * would.
 *
 * @example
 * ```ts
 * import { getArch } from "../arch/arch.ts";
 * notifyProgram(getArch("x86_64")).length; // 7
 * ```
 */
export function notifyProgram(arch: ArchInfo): Program {
  const notify = actionValue({ kind: "user_notif" });
  const kill = actionValue({ kind: "kill_process" });
  const x32 = arch.hasX32 ? [jump(JGE_K, 0x40000000, 1, 0)] : [];
  return [
    stmt(LD_ABS, SECCOMP_DATA.ARCH),
    jump(JEQ_K, arch.auditArch, 0, 2 + x32.length),
    stmt(LD_ABS, SECCOMP_DATA.NR),
    ...x32,
    stmt(RET_K, notify),
    stmt(RET_K, kill),
  ];
}

/** Prints an error on stderr. @private */
function report(message: string, hint?: string): void {
  writeAll(2, `seccompiler record: error: ${message}\n${hint ? `  hint: ${hint}\n` : ""}`);
}

/** Why installing the notifying filter failed, for the user. @private */
function installHint(errno: number): string {
  if (errno === 16) {
    return "a seccomp filter with a user-notification listener is already installed on this process (only one listener is allowed in a filter stack): record cannot run under another recorder or a container runtime's notifying filter";
  }
  if (errno === 22) return "this kernel does not support seccomp user notifications with a listener (Linux 5.0+; record needs 5.6+)";
  if (errno === 38) return "this kernel has no seccomp() system call";
  return "the kernel refused the filter";
}

/**
 * Runs the helper: `command` is the target and its arguments. Returns only on
 * failure (an exit code); on success the process becomes the target.
 *
 * @example
 * ```ts
 * const code = await recordChildMain(["/bin/ls", "-l", "/"]);
 * ```
 */
export async function recordChildMain(command: readonly string[]): Promise<number> {
  const arch = hostArchInfo();
  const libc = await openLibc();
  // The target inherits what `exec` would give it (the caller's environment, signals, open-files
  // limit and descriptors, not the runtime's), so that the recording matches later runs under exec.
  let handover: Handover;
  try {
    handover = planHandover(command, 0);
  } catch (error) {
    if (!(error instanceof HandoverError)) throw error;
    report(error.message, error.hint);
    return RECORD_EXIT.LAUNCHER_ERROR;
  }
  const [name] = command;
  const resolution = resolveCommand(name, getEntry(handover.envp, "PATH"));
  if (!resolution.ok) {
    report(resolution.message, resolution.hint);
    return resolution.reason === "not-found" ? RECORD_EXIT.NOT_FOUND : RECORD_EXIT.NOT_EXECUTABLE;
  }
  const image = commandTables(libc, resolution.path, handover.argv, handover.envp);
  const prepared = prepareFilter(libc, notifyProgram(arch));
  try {
    applyHandover(libc, arch, handover);
  } catch (error) {
    if (!(error instanceof HandoverError)) throw error;
    report(error.message, error.hint);
    return RECORD_EXIT.LAUNCHER_ERROR;
  }
  return installAndExec(libc, arch, prepared, image, resolution.path);
}

/**
 * `no_new_privs` (required for an unprivileged notifying filter), `seccomp()`
 * with NEW_LISTENER, then `execve` with nothing in between.
 * @private
 */
function installAndExec(
  libc: Libc,
  arch: ArchInfo,
  prepared: PreparedFilter,
  image: CommandTables,
  path: string,
): number {
  setNoNewPrivs(libc);
  const seccomp = arch.syscalls.get("seccomp")!;
  const fd = libc.syscall(seccomp, 1n, BigInt(NOTIFY.SECCOMP_FILTER_FLAG_NEW_LISTENER), prepared.fprogAddress, 0n, 0n, 0n);
  if (fd < 0n) {
    const errno = libc.errno();
    report(`installing the recording filter failed: ${errnoName(errno) ?? `errno ${errno}`}`, installHint(errno));
    return RECORD_EXIT.LAUNCHER_ERROR;
  }
  libc.execve(image.path, image.argv, image.envp);
  // The filter is on: one raw write and one exit_group, nothing the runtime might add.
  const errno = libc.errno();
  libc.write(2, new TextEncoder().encode(`seccompiler record: error: execve ${path} failed with errno ${errno}\n`));
  libc.exit(errno === 2 || errno === 20 ? RECORD_EXIT.NOT_FOUND : RECORD_EXIT.NOT_EXECUTABLE);
}
