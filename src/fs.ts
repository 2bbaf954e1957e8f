/**
 * Writing output files so that readers never see a partial one.
 *
 * A filter file that is half-written when Firecracker (or a crash) reads it
 * is worse than no file: it may decode to something else. So the data goes to
 * a temporary file in the same directory, is flushed to disk, and is renamed
 * over the target, which POSIX makes atomic within one file system.
 *
 * @module
 */
import { closeSync, fchmodSync, fsyncSync, openSync, renameSync, unlinkSync, writeSync } from "node:fs";
import { basename, dirname, join } from "node:path";

/**
 * Writes `data` to `path` atomically: afterwards `path` holds either its old
 * content or all of `data`, never a mix or a prefix. On failure the temporary
 * file is removed and the error rethrown.
 *
 * `mode` (e.g. `0o644`) is applied exactly, regardless of the umask; without it
 * the new file gets the usual `0o666 & ~umask`.
 *
 * @example
 * ```ts
 * import type { Program } from "./bpf/insn.ts";
 * import { serializeBinary } from "./container.ts";
 * declare const filters: Map<string, Program>;
 * writeFileAtomic("out/seccomp.bpf", serializeBinary(filters), 0o644);
 * ```
 */
export function writeFileAtomic(path: string, data: Uint8Array | string, mode?: number): void {
  const bytes = typeof data === "string" ? new TextEncoder().encode(data) : data;
  const directory = dirname(path);
  const temporary = join(directory, `.${basename(path)}.${crypto.randomUUID()}.tmp`);
  // "wx": never follow or reuse an existing file at the temporary name.
  const fd = openSync(temporary, "wx", mode ?? 0o666);
  let open = true;
  try {
    if (mode !== undefined) fchmodSync(fd, mode);
    let written = 0;
    while (written < bytes.length) {
      written += writeSync(fd, bytes, written, bytes.length - written);
    }
    fsyncSync(fd);
    open = false;
    closeSync(fd);
    renameSync(temporary, path);
  } catch (error) {
    if (open) {
      try {
        closeSync(fd);
      } catch { /* already failing; the original error matters */ }
    }
    try {
      unlinkSync(temporary);
    } catch { /* nothing to clean up */ }
    throw error;
  }
  syncDirectory(directory);
}

/**
 * Flushes the directory entry so the rename itself survives a crash. Best
 * effort: some platforms cannot open or fsync a directory.
 *
 * @private
 */
function syncDirectory(directory: string): void {
  let fd: number | undefined;
  try {
    fd = openSync(directory, "r");
    fsyncSync(fd);
  } catch {
    // The data is already safely in place; only crash durability of the name is at stake.
  } finally {
    if (fd !== undefined) {
      try {
        closeSync(fd);
      } catch { /* ignore */ }
    }
  }
}
