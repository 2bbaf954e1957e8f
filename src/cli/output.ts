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
