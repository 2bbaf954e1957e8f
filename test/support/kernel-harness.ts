/**
 * Running filters for real: a Bun child installs a program and makes system
 * calls through libc `syscall()` (see `children/trust-kernel-child.ts`).
 * Used by the kernel-agreement and limits tests. x86_64 Linux only.
 *
 * @module
 */
import { Buffer } from "node:buffer";
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { encodeProgram } from "../../src/bpf/encode.ts";
import type { Program } from "../../src/bpf/insn.ts";
import type { SyscallEvent } from "../../src/reference.ts";

/** The Bun binary the children run on. */
export const BUN = fileURLToPath(new URL("../../node_modules/.bin/bun", import.meta.url));
/** The child script. */
export const KERNEL_CHILD = fileURLToPath(new URL("./children/trust-kernel-child.ts", import.meta.url));

/**
 * x86_64 syscalls that are harmless with ANY arguments when the filter lets
 * them run: they read process attributes, compare kernel objects, create a
 * new descriptor, or act on a descriptor without changing what it refers to.
 * None of them writes through a pointer argument, closes or reconfigures a
 * descriptor, sends a signal, or arms a timer, so the child survives every
 * allowed call. The filter's match action is an errno no real call returns.
 */
export const HARMLESS_X86_64: readonly string[] = [
  "sched_yield", "dup", "getpid", "fsync", "fdatasync", "getuid", "getgid", "geteuid", "getegid",
  "getppid", "getpgrp", "getpgid", "getsid", "getpriority", "sched_getscheduler", "sched_get_priority_max",
  "sched_get_priority_min", "readahead", "epoll_create", "fadvise64", "ioprio_get", "eventfd", "kcmp",
];

/**
 * Numbers no kernel assigns on x86_64: the kernel answers ENOSYS, the filter
 * sees an unlisted number. (Not 335/336: newer kernels run uretprobe/uprobe
 * there, which raise SIGILL outside a probe trampoline.)
 */
export const UNLISTED_X86_64_NUMBERS: readonly number[] = [600, 1000, 4095, 0x3fff_ffff];

/** Why real filters cannot be tried here, or undefined when they can. */
export function kernelUnavailable(): string | undefined {
  if (process.platform !== "linux") return "not Linux";
  if (process.arch !== "x64") return "not x86_64";
  if (!existsSync(BUN)) return "no Bun binary";
  try {
    if (!/^Seccomp:/m.test(readFileSync("/proc/self/status", "utf8"))) return "kernel without seccomp";
  } catch {
    return "no /proc";
  }
  return undefined;
}

/** One call's outcome in the child. */
export interface KernelResult {
  /** Raw return value of `syscall()`. */
  readonly ret: bigint;
  /** errno when `ret` is −1, else 0. */
  readonly errno: number;
}

/** What happened to a child. */
export interface ChildOutcome {
  /** The filter was installed (the child said so before its first call). */
  readonly installed: boolean;
  /** Per-call outcomes, when the child lived to report them. */
  readonly results?: readonly KernelResult[];
  /** Exit status, or null when killed by a signal. */
  readonly status: number | null;
  /** Signal that ended the child, if any. */
  readonly signal: string | null;
  /** The child's standard error (for failure messages). */
  readonly stderr: string;
}

/**
 * Installs `program` in a fresh child and makes `calls` (their `nr` and
 * `args`; the arch is always the host's) one after the other.
 *
 * @example
 * ```ts
 * const outcome = runInChild(program, [{ arch: 0xc000003e, nr: 39, args: [] }]);
 * outcome.results?.[0].errno;
 * ```
 */
export function runInChild(program: Program, calls: readonly SyscallEvent[]): ChildOutcome {
  const bytes = encodeProgram(program, "little");
  const request = JSON.stringify({
    program: Buffer.from(bytes).toString("base64"),
    calls: calls.map((c) => ({ nr: c.nr, args: Array.from({ length: 6 }, (_, i) => BigInt.asUintN(64, c.args[i] ?? 0n).toString()) })),
  });
  const child = spawnSync(BUN, [KERNEL_CHILD], { input: request, encoding: "utf8", timeout: 60_000 });
  const lines = (child.stdout ?? "").split("\n").filter((l) => l.trim() !== "");
  const installed = lines.some((l) => l.startsWith(`{"installed":true`));
  const last = lines.length > 0 ? JSON.parse(lines[lines.length - 1]) : undefined;
  const results = last?.results?.map((r: { ret: string; errno: number }) => ({ ret: BigInt(r.ret), errno: r.errno }));
  return { installed, results, status: child.status, signal: child.signal, stderr: child.stderr ?? "" };
}
