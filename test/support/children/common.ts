/**
 * Helpers shared by the child processes the kernel tests spawn. Children run
 * on Bun or Deno, install filters into themselves, and print one JSON
 * document on stdout for the parent test to check.
 *
 * @module
 */
import { readdirSync, readFileSync, writeSync } from "node:fs";
import { getArch, hostArch } from "../../../src/arch/arch.ts";
import type { Libc } from "../../../src/install/libc.ts";

/** The seccomp-related fields of a task's `/proc/.../status`. */
export interface SeccompStatus {
  readonly seccomp: number;
  readonly filters: number;
  readonly noNewPrivs: number;
}

/**
 * Reads `Seccomp`, `Seccomp_filters` and `NoNewPrivs` of the process (or of one of its threads).
 *
 * @example
 * ```ts
 * seccompStatus().seccomp; // 2 once a filter is installed
 * ```
 */
export function seccompStatus(tid?: number | string): SeccompStatus {
  const path = tid === undefined ? "/proc/thread-self/status" : `/proc/self/task/${tid}/status`;
  const fields = new Map<string, number>();
  for (const line of readFileSync(path, "utf8").split("\n")) {
    const match = /^(Seccomp|Seccomp_filters|NoNewPrivs):\s*(\d+)/.exec(line);
    if (match) fields.set(match[1], Number(match[2]));
  }
  return { seccomp: fields.get("Seccomp") ?? -1, filters: fields.get("Seccomp_filters") ?? -1, noNewPrivs: fields.get("NoNewPrivs") ?? -1 };
}

/**
 * Status of every thread of the process, by thread id.
 *
 * @example
 * ```ts
 * Object.keys(threadStatuses()).length; // 5 on Bun
 * ```
 */
export function threadStatuses(): Record<string, SeccompStatus> {
  const out: Record<string, SeccompStatus> = {};
  for (const tid of readdirSync("/proc/self/task")) {
    try {
      out[tid] = seccompStatus(tid);
    } catch {
      // The thread exited between the listing and the read.
    }
  }
  return out;
}

/** A syscall number on the host. @example `nr("getppid")` */
export function nr(name: string): number {
  const value = getArch(hostArch()!).syscalls.get(name);
  if (value === undefined) throw new Error(`no syscall ${name}`);
  return value;
}

/**
 * Calls a syscall with up to six arguments; returns the result, or `-errno`.
 *
 * @example
 * ```ts
 * rawSyscall(libc, "getppid"); // the parent's pid, or -1 (EPERM) when a filter denies it
 * ```
 */
export function rawSyscall(libc: Libc, name: string, ...args: bigint[]): number {
  const a = [...args, 0n, 0n, 0n, 0n, 0n, 0n];
  const result = libc.syscall(nr(name), a[0], a[1], a[2], a[3], a[4], a[5]);
  return result === -1n ? -libc.errno() : Number(result);
}

/** Prints the child's result as one JSON document (bigints as strings). @example `report({ ok: true })` */
export function report(value: unknown): void {
  const text = JSON.stringify(value, (_key, v) => (typeof v === "bigint" ? v.toString() : v));
  const bytes = new TextEncoder().encode(`${text}\n`);
  let offset = 0;
  while (offset < bytes.length) offset += writeSync(1, bytes, offset, bytes.length - offset);
}

/** An error as plain data for {@link report}. @example `describeError(e).code` */
export function describeError(error: unknown): Record<string, unknown> {
  if (!(error instanceof Error)) return { message: String(error) };
  const { name, message } = error;
  const extra = error as unknown as Record<string, unknown>;
  return {
    name,
    message,
    code: extra.code,
    errno: extra.errno,
    errnoName: extra.errnoName,
    hint: extra.hint,
    threadId: extra.threadId,
    issues: Array.isArray(extra.issues) ? extra.issues.length : undefined,
  };
}
