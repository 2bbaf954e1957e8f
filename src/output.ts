/**
 * Synchronous output to file descriptors, shared by the CLI and the launcher:
 * everything is flushed before the process exits or execve's, so nothing is
 * lost (docs/runtimes.md, "Output before exit and execve").
 *
 * @module
 */

/**
 * `node:fs`, loaded at the first write rather than at import: its load costs
 * about 4 ms of start-up on Bun, and a successful launch writes nothing
 * (src/files.ts). @private
 */
function nodeFs(): typeof import("node:fs") {
  return process.getBuiltinModule("node:fs");
}

/**
 * Writes all of `text` to a file descriptor synchronously (output still
 * pending at exit or execve would be lost), looping on short writes and
 * retrying EAGAIN. Returns false when the descriptor refuses the bytes
 * (closed pipe, full disk): callers that are about to exit or execve have
 * nothing better to do with that than carry on, and a stack trace would
 * help nobody.
 *
 * @example
 * ```ts
 * writeAll(1, "hello\n");
 * ```
 */
export function writeAll(fd: number, text: string | Uint8Array): boolean {
  const bytes = typeof text === "string" ? new TextEncoder().encode(text) : text;
  let offset = 0;
  while (offset < bytes.length) {
    try {
      offset += nodeFs().writeSync(fd, bytes, offset, bytes.length - offset);
    } catch (error) {
      if ((error as { code?: string }).code === "EAGAIN") continue;
      return false;
    }
  }
  return true;
}

/**
 * Prints a line on stdout.
 *
 * @example
 * ```ts
 * out("ok");
 * ```
 */
export function out(line: string): void {
  writeAll(1, line.endsWith("\n") ? line : `${line}\n`);
}

/**
 * Prints a line on stderr.
 *
 * @example
 * ```ts
 * err("seccompiler: error: ...");
 * ```
 */
export function err(line: string): void {
  writeAll(2, line.endsWith("\n") ? line : `${line}\n`);
}
