/**
 * Child process for test/install.test.ts: runs one scenario of the library
 * API (`applyFilter`, `applyFilterAllThreads`, `actionAvailable`) on Bun or
 * Deno, installing filters into itself, and prints the observations as JSON.
 *
 * Usage: bun install-child.ts SCENARIO  |  deno run -A install-child.ts SCENARIO
 *
 * @module
 */
import { SECCOMP_RET } from "../../../src/action.ts";
import { hostArch } from "../../../src/arch/arch.ts";
import { BPF_MAXINSNS, JEQ_K, jump, LD_ABS, type Program, RET_K, stmt } from "../../../src/bpf/insn.ts";
import { compileFilter } from "../../../src/compile.ts";
import { ALLOW, errno, seccompFilter } from "../../../src/ir.ts";
import { actionAvailable, applyFilter, applyFilterAllThreads, openLibc } from "../../../src/install/mod.ts";
import { describeError, nr, rawSyscall, report, seccompStatus, threadStatuses } from "./common.ts";

const EACCES = 13;
const ENOSYS = 38;

/** getppid → errno(13); everything else allowed. @private */
function denyGetppid(): Program {
  const filter = seccompFilter({ arch: hostArch()!, mismatchAction: ALLOW, matchAction: errno(EACCES), rules: { getppid: [] } });
  return compileFilter(filter);
}

/** Calls `f`, returning the error it throws as data (or `null`). @private */
async function caught(f: () => Promise<unknown>): Promise<Record<string, unknown> | null> {
  try {
    await f();
    return null;
  } catch (error) {
    return describeError(error);
  }
}

/** Starts the worker and waits for its first report. @private */
function startWorker(install: boolean): Promise<{ worker: Worker; reply: { tid: number; status: unknown; getppid: number } }> {
  const worker = new Worker(new URL("./filter-worker.ts", import.meta.url).href, { type: "module" });
  return new Promise((resolve, reject) => {
    worker.onmessage = (event) => resolve({ worker, reply: event.data });
    worker.onerror = (event) => reject(new Error(`worker failed: ${(event as ErrorEvent).message}`));
    worker.postMessage({ install });
  });
}

const scenarios: Record<string, () => Promise<unknown>> = {
  /** Calling thread only: existing threads stay unfiltered, later ones inherit. */
  async apply() {
    const libc = await openLibc();
    const mainTid = rawSyscall(libc, "gettid");
    await applyFilter(denyGetppid());
    const threads = threadStatuses();
    const { reply } = await startWorker(false);
    return {
      mainTid,
      main: seccompStatus(),
      getppid: rawSyscall(libc, "getppid"),
      getpid: rawSyscall(libc, "getpid"),
      threads,
      worker: reply,
    };
  },

  /** TSYNC: every thread gets the filter. */
  async "all-threads"() {
    const libc = await openLibc();
    await applyFilterAllThreads(denyGetppid());
    return { threads: threadStatuses(), getppid: rawSyscall(libc, "getppid"), getpid: rawSyscall(libc, "getpid") };
  },

  /** TSYNC cannot move a thread that installed its own filter: the error names it. */
  async "tsync-conflict"() {
    const { reply } = await startWorker(true);
    const error = await caught(() => applyFilterAllThreads(denyGetppid()));
    return { workerTid: reply.tid, workerStatus: reply.status, error, main: seccompStatus() };
  },

  /** Invalid programs are refused before any system call: not even no_new_privs is set. */
  async "refuse-invalid"() {
    const tooLong: Program = [...Array.from({ length: BPF_MAXINSNS }, () => stmt(LD_ABS, 0)), stmt(RET_K, SECCOMP_RET.ALLOW)];
    const badJump: Program = [stmt(LD_ABS, 0), jump(JEQ_K, 1, 5, 0), stmt(RET_K, SECCOMP_RET.ALLOW)];
    const misaligned: Program = [stmt(LD_ABS, 2), stmt(RET_K, SECCOMP_RET.ALLOW)];
    return {
      empty: await caught(() => applyFilter([])),
      tooLong: await caught(() => applyFilter(tooLong)),
      badJump: await caught(() => applyFilterAllThreads(badJump)),
      misaligned: await caught(() => applyFilter(misaligned)),
      main: seccompStatus(),
    };
  },

  /** An action the kernel does not know is refused before anything is installed. */
  async "refuse-unavailable"() {
    const unknown: Program = [stmt(LD_ABS, 0), jump(JEQ_K, 39, 0, 1), stmt(RET_K, 0x12340000), stmt(RET_K, SECCOMP_RET.ALLOW)];
    return {
      single: await caught(() => applyFilter(unknown)),
      allThreads: await caught(() => applyFilterAllThreads(unknown)),
      main: seccompStatus(),
    };
  },

  /** SECCOMP_GET_ACTION_AVAIL for every action, raw values included. */
  async actions() {
    return {
      allow: await actionAvailable({ kind: "allow" }),
      kill_thread: await actionAvailable({ kind: "kill_thread" }),
      kill_process: await actionAvailable({ kind: "kill_process" }),
      trap: await actionAvailable({ kind: "trap" }),
      errno: await actionAvailable({ kind: "errno", data: 1 }),
      trace: await actionAvailable({ kind: "trace", data: 1 }),
      log: await actionAvailable({ kind: "log" }),
      user_notif: await actionAvailable({ kind: "user_notif" }),
      rawAllowWithData: await actionAvailable(0x7fff0001),
      rawUnknown: await actionAvailable(0x12340000),
      main: seccompStatus(),
    };
  },

  /** Where seccomp() answers ENOSYS, applyFilter falls back to prctl(PR_SET_SECCOMP); TSYNC cannot. */
  async fallback() {
    const libc = await openLibc();
    const hideSeccomp = seccompFilter({ arch: hostArch()!, mismatchAction: ALLOW, matchAction: errno(ENOSYS), rules: { seccomp: [] } });
    await applyFilter(compileFilter(hideSeccomp));
    const seccompAfterFirst = rawSyscall(libc, "seccomp", 1n, 0n, 0n);
    // Without seccomp() the kernel cannot be asked about actions, so only the Linux 3.5 ones count:
    // the compiled program's kill_process (arch check) is refused, a program using errno/allow is not.
    const killProcess = await caught(() => applyFilter(denyGetppid()));
    const legacy: Program = [
      stmt(LD_ABS, 0),
      jump(JEQ_K, nr("getppid"), 0, 1),
      stmt(RET_K, SECCOMP_RET.ERRNO | EACCES),
      stmt(RET_K, SECCOMP_RET.ALLOW),
    ];
    await applyFilter(legacy);
    const afterFallback = seccompStatus();
    const tsync = await caught(() => applyFilterAllThreads(legacy));
    return { seccompAfterFirst, killProcess, afterFallback, getppid: rawSyscall(libc, "getppid"), tsync, main: seccompStatus() };
  },

  /** The kernel's 32768-instruction budget per thread: the errno is named and explained. */
  async enomem() {
    const big: Program = [...Array.from({ length: BPF_MAXINSNS - 1 }, () => stmt(LD_ABS, 0)), stmt(RET_K, SECCOMP_RET.ALLOW)];
    let installed = 0;
    for (;;) {
      const error = await caught(() => applyFilter(big));
      if (error !== null) return { installed, error, main: seccompStatus() };
      installed++;
      if (installed > 16) return { installed, error: null, main: seccompStatus() };
    }
  },
};

const name = (globalThis as { process?: { argv: string[] } }).process!.argv.at(-1)!;
const scenario = scenarios[name];
if (!scenario) {
  report({ error: { message: `unknown scenario ${name}` } });
} else {
  try {
    report({ runtime: "Bun" in globalThis ? "bun" : "deno", result: await scenario() });
  } catch (error) {
    report({ error: describeError(error) });
  }
}
// Workers would keep the process alive.
(globalThis as { process?: { exit(code: number): never } }).process!.exit(0);
