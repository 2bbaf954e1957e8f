/**
 * The CLI's conventions: exit codes and usage errors. The writers themselves
 * live in `src/output.ts`, shared with the launcher; they are re-exported here
 * so every command imports its output from one place.
 *
 * @module
 */
export { err, out, writeAll } from "../output.ts";

/** Exit codes shared by every command. */
export const EXIT = {
  /** Success. */
  OK: 0,
  /** Bad policy, bad filter file, I/O error: the input was the problem. */
  FAILURE: 1,
  /** The command line was the problem. */
  USAGE: 2,
} as const;

/**
 * A command-line mistake; the CLI prints it with a pointer to `--help` and exits 2.
 *
 * @example
 * ```ts
 * throw new UsageError("missing --target-arch", "compile");
 * ```
 */
export class UsageError extends Error {
  /** Stable code. */
  readonly code = "usage";
  constructor(message: string, readonly command = "") {
    super(message);
    this.name = "UsageError";
  }
}

/**
 * An I/O error as the user should see it: "no such file or directory (ENOENT)"
 * rather than a stack.
 *
 * @example
 * ```ts
 * describeIoError({ code: "ENOENT" }); // "no such file or directory (ENOENT)"
 * ```
 */
export function describeIoError(error: unknown): string {
  const e = error as { code?: string; message?: string };
  const known: Record<string, string> = {
    ENOENT: "no such file or directory",
    EACCES: "permission denied",
    EISDIR: "is a directory",
    ENOTDIR: "a path component is not a directory",
    EROFS: "read-only file system",
    ENOSPC: "no space left on device",
  };
  if (e.code && known[e.code]) return `${known[e.code]} (${e.code})`;
  return e.message ?? String(error);
}
