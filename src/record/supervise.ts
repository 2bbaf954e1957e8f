/**
 * The supervisor: starts the helper (which installs the notifying filter and
 * becomes the target), takes the listener out of it with `pidfd_getfd`, then
 * answers every call with CONTINUE after noting who made it, until the target
 * and all its descendants have ended.
 *
 * Termination: the supervisor is a child subreaper, so every orphaned
 * descendant is re-parented to it and reaped here; when `waitid` reports no
 * children at all, no process that could still use the filter exists. This
 * does not depend on the listener's POLLHUP (Linux 5.8) nor on the target
 * waiting for its children.
 *
 * @module
 */
import { closeSync, openSync, readdirSync, readlinkSync, readSync } from "node:fs";
// Imported when first used: a static import of a Node built-in is hoisted to the top of the one-file
// standalone executable and loaded by every command (docs/bench.md, start-up).
const { release } = await import("node:os");
import type { ArchInfo } from "../arch/arch.ts";
import { hostArchInfo, type Libc, openLibc, queryActionAvailable } from "../install/mod.ts";
import { SECCOMP_RET } from "../action.ts";
import { type ChildStatus, type Listener, NOTIFY, openListener, reapOne, takeDescriptor } from "./kernel.ts";
import { spawnChild } from "./spawn.ts";
import { startEnvironment } from "../launcher/handover.ts";

/**
 * A failure of the recorder itself (never of the target).
 *
 * @example
 * ```ts
 * throw new RecordError("this kernel is too old to record", "record needs Linux 5.6");
 * ```
 */
export class RecordError extends Error {
  /** Stable code. */
  readonly code = "record";
  constructor(message: string, readonly hint?: string) {
    super(message);
    this.name = "RecordError";
  }
}

/** What the supervisor reports for each call of the target. */
export interface Call {
  /** The calling thread's name (`/proc/TID/comm` while the call waited). */
  readonly thread: string;
  readonly nr: number;
  readonly args: readonly bigint[];
}

/** How supervision ended. */
export interface Supervised {
  /** The target's status. */
  readonly status: ChildStatus;
  /** Whether the target was started (the helper reached its execve). */
  readonly started: boolean;
  /** Calls answered (the launcher's own included). */
  readonly answered: number;
  /** Calls whose thread ended before it could be identified (not recorded: they never ran). */
  readonly vanished: number;
}

/** Linux version as [major, minor]. @private */
function kernelVersion(): [number, number] {
  const match = /^(\d+)\.(\d+)/.exec(release());
  return match ? [Number(match[1]), Number(match[2])] : [0, 0];
}

/**
 * Refuses clearly when this kernel cannot record: user notifications with
 * CONTINUE need Linux 5.5, and `pidfd_getfd` 5.6.
 *
 * @example
 * ```ts
 * import { openLibc } from "../install/mod.ts";
 * checkKernel(await openLibc()); // throws RecordError on Linux < 5.6
 * ```
 */
export function checkKernel(libc: Libc): void {
  const [major, minor] = kernelVersion();
  if (major < 5 || (major === 5 && minor < 6)) {
    throw new RecordError(
      `this kernel (${release()}) is too old to record`,
      "record needs seccomp user notifications with SECCOMP_USER_NOTIF_FLAG_CONTINUE (Linux 5.5) and pidfd_getfd (Linux 5.6)",
    );
  }
  if (!queryActionAvailable(libc, SECCOMP_RET.USER_NOTIF)) {
    throw new RecordError("this kernel does not offer seccomp user notifications (SECCOMP_RET_USER_NOTIF)", "record needs Linux 5.6+ built with CONFIG_SECCOMP_FILTER");
  }
}

/**
 * The command that runs this same CLI again: Bun from source keeps its own
 * options (`--config`, `--no-env-file`) and the script; a compiled binary is
 * just itself; Deno runs the module with every permission (the helper
 * execve's an arbitrary program, which no permission would confine).
 *
 * @example
 * ```ts
 * selfCommand(["record", "--help"]); // [bun, "--config=…", ".../src/cli/main.ts", "record", "--help"]
 * ```
 */
export function selfCommand(args: readonly string[]): string[] {
  const bun = (globalThis as { Bun?: { main: string } }).Bun;
  if (bun) {
    if (bun.main.startsWith("/$bunfs/")) return [process.execPath, ...args];
    return [process.execPath, ...process.execArgv, process.argv[1], ...args];
  }
  // Through globalThis, typed here: the npm package's declarations are built with tsc, which has no Deno namespace.
  const deno = (globalThis as unknown as { Deno: { mainModule: string; execPath(): string } }).Deno;
  const main = new URL(deno.mainModule).pathname;
  // The helper execve's an arbitrary program, which no Deno permission confines anyway.
  return [deno.execPath(), "run", "--quiet", "--no-check", "--allow-all", main, ...args];
}

/** Sleeps `ms` milliseconds. @private */
function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** The helper's listener descriptor number, once it has installed the filter. @private */
function findListener(pid: number): number | undefined {
  let entries: string[];
  try {
    entries = readdirSync(`/proc/${pid}/fd`);
  } catch {
    return undefined;
  }
  for (const entry of entries) {
    try {
      if (readlinkSync(`/proc/${pid}/fd/${entry}`) === "anon_inode:seccomp notify") return Number(entry);
    } catch {
      // closed meanwhile
    }
  }
  return undefined;
}

/**
 * Status of a process killed by a signal, or that exited, for the shell: 128 + signal like sh.
 *
 * @example
 * ```ts
 * exitCode({ signal: 9, core: false }); // 137
 * ```
 */
export function exitCode(status: ChildStatus): number {
  return "exited" in status ? status.exited : 128 + status.signal;
}

/** Most time the helper gets to install its filter (it starts a runtime first). @private */
const LAUNCH_TIMEOUT_MS = 60_000;

/**
 * Runs `command` under the notifying filter and calls `onCall` for every call
 * the target (and its threads and descendants) makes, in the order they
 * arrive. Resolves when every one of them has ended.
 *
 * @example
 * ```ts
 * const result = await supervise(["/bin/true"], (call) => console.log(call.thread, call.nr));
 * ```
 */
export async function supervise(command: readonly string[], onCall: (call: Call) => void): Promise<Supervised> {
  const arch = hostArchInfo();
  const libc = await openLibc();
  checkKernel(libc);
  // Orphaned descendants come to us, so that "no children left" means "nothing left to record".
  if (libc.prctl(NOTIFY.PR_SET_CHILD_SUBREAPER, 1n, 0n, 0n, 0n) !== 0) {
    throw new RecordError(`prctl(PR_SET_CHILD_SUBREAPER) failed with errno ${libc.errno()}`);
  }
  // The terminal's Ctrl-C goes to the whole process group: let the target decide, and keep recording.
  const ignore = () => {};
  process.on("SIGINT", ignore);
  process.on("SIGQUIT", ignore);
  try {
    // The helper hands its own start environment to the target (as exec does): give it ours, byte for byte.
    const helper = await spawnChild(libc, selfCommand(["record", "--recording-helper", "--", ...command]), startEnvironment());
    const listener = await takeListener(libc, arch, helper);
    if ("status" in listener) return { status: listener.status, started: false, answered: 0, vanished: 0 };
    return serve(libc, arch, helper, listener, onCall);
  } finally {
    process.off("SIGINT", ignore);
    process.off("SIGQUIT", ignore);
  }
}

/** Waits for the helper's listener and copies it here; or the helper's status if it ended first. @private */
async function takeListener(libc: Libc, arch: ArchInfo, helper: number): Promise<Listener | { status: ChildStatus }> {
  const deadline = Date.now() + LAUNCH_TIMEOUT_MS;
  while (Date.now() < deadline) {
    const reaped = reapOne(libc, arch);
    if (typeof reaped === "object" && reaped.pid === helper) return { status: reaped.status };
    const fd = findListener(helper);
    if (fd !== undefined) {
      const taken = takeDescriptor(libc, arch, helper, fd);
      if ("fd" in taken) return openListener(libc, arch, taken.fd);
      killHelper(helper);
      throw new RecordError(
        `could not take the listener from the helper: ${taken.step} failed with errno ${taken.errno}`,
        taken.errno === 1
          ? "pidfd_getfd needs ptrace access to the child (Yama ptrace_scope 2 or 3, or a security module, forbids it)"
          : "record needs pidfd_getfd (Linux 5.6)",
      );
    }
    await sleep(1);
  }
  killHelper(helper);
  throw new RecordError(`the recording helper did not install its filter within ${LAUNCH_TIMEOUT_MS / 1000} s`);
}

/** SIGKILL for a helper we give up on (its calls would otherwise wait forever). @private */
function killHelper(pid: number): void {
  try {
    process.kill(pid, "SIGKILL");
  } catch {
    // already gone
  }
}

/** Notifications handled between two reaping passes while calls keep coming. @private */
const REAP_EVERY = 256;

/** The notification loop: answer, and reap, until no descendant is left. @private */
function serve(libc: Libc, arch: ArchInfo, helper: number, listener: Listener, onCall: (call: Call) => void): Supervised {
  const names = threadNames();
  try {
    return answerAll(libc, arch, helper, listener, onCall, names);
  } finally {
    names.close();
  }
}

/** @private */
function answerAll(
  libc: Libc,
  arch: ArchInfo,
  helper: number,
  listener: Listener,
  onCall: (call: Call) => void,
  names: ThreadNames,
): Supervised {
  let started = false;
  let answered = 0;
  let vanished = 0;
  let status: ChildStatus | undefined;
  const execve = arch.syscalls.get("execve")!;
  for (let sinceReap = 0;; sinceReap++) {
    const bits = sinceReap < REAP_EVERY ? listener.poll(50) : 0;
    if (bits & NOTIFY.POLLIN) {
      const notification = listener.receive();
      if (notification === undefined) continue;
      if (!started && notification.tid === helper) {
        // The helper's own calls between seccomp() and its execve (the execve included) are not the target's.
        if (notification.nr === execve) started = true;
      } else {
        const thread = names.read(notification.tid);
        // The name is only trustworthy if the call is still pending: otherwise the thread died and its id may be reused.
        if (thread !== undefined && listener.valid(notification.id)) {
          onCall({ thread, nr: notification.nr, args: notification.args });
        } else {
          vanished++;
        }
      }
      if (listener.continueCall(notification.id)) answered++;
      continue;
    }
    sinceReap = 0;
    for (;;) {
      const reaped = reapOne(libc, arch);
      if (reaped === "none") break;
      if (reaped === "no-children") return { status: status ?? { exited: 0 }, started, answered, vanished };
      if (reaped.pid === helper) status = reaped.status;
    }
  }
}

/** Current thread names by thread id. @private */
interface ThreadNames {
  read(tid: number): string | undefined;
  close(): void;
}

/** Open `/proc/TID/comm` descriptors kept at most (the oldest is closed first). @private */
const NAME_CACHE = 512;

/**
 * Reads threads' names through one open `/proc/TID/comm` descriptor per
 * thread, re-read with `pread` at offset 0 (which makes the kernel render the
 * current name) for each call: a fresh open per call costs several times
 * more. A descriptor stays bound to its thread: once the thread is gone,
 * reads fail (ESRCH) instead of naming a new thread that reused the id.
 * @private
 */
function threadNames(): ThreadNames {
  const open = new Map<number, number>();
  const buffer = new Uint8Array(64);
  const decoder = new TextDecoder();
  const forget = (tid: number) => {
    const fd = open.get(tid);
    open.delete(tid);
    if (fd !== undefined) closeSync(fd);
  };
  return {
    read(tid) {
      let fd = open.get(tid);
      try {
        if (fd === undefined) {
          if (open.size >= NAME_CACHE) forget(open.keys().next().value!);
          fd = openSync(`/proc/${tid}/comm`, "r");
          open.set(tid, fd);
        }
        const length = readSync(fd, buffer, 0, buffer.length, 0);
        return decoder.decode(buffer.subarray(0, length)).replace(/\n$/, "");
      } catch {
        forget(tid);
        return undefined;
      }
    },
    close() {
      for (const tid of [...open.keys()]) forget(tid);
    },
  };
}
