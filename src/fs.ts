/**
 * Writing output files so that readers never see a partial one, and so that
 * nothing that was not ours is ever replaced.
 *
 * A filter file that is half-written when Firecracker (or a crash) reads it
 * is worse than no file: it may decode to something else. So the data goes to
 * a temporary file in the same directory, is flushed to disk, and is renamed
 * over the target, which POSIX makes atomic within one file system.
 *
 * What is already at the output path decides what happens
 * ({@link writeOutput}):
 *
 * | at the path                                  | what we do                                          |
 * |----------------------------------------------|-----------------------------------------------------|
 * | nothing                                      | create it, mode 0644 minus the umask's bits         |
 * | a regular file                               | replace it atomically, keeping its mode (and owner, as root) |
 * | a character device or FIFO (`/dev/null`)     | write into it, as Firecracker's `File::create` would; never replace it |
 * | a symbolic link to a character device or FIFO (`/dev/stdout`) | write into what it points to        |
 * | any other symbolic link                      | refuse: replacing the link or writing through it would change something that is not ours |
 * | a directory, block device or socket          | refuse                                              |
 *
 * Several files are written all or none ({@link writeOutputs}).
 *
 * @module
 */
import {
  closeSync,
  constants,
  fchmodSync,
  fchownSync,
  fstatSync,
  fsyncSync,
  linkSync,
  lstatSync,
  openSync,
  renameSync,
  type Stats,
  statSync,
  unlinkSync,
  writeSync,
} from "node:fs";
import { basename, dirname, join } from "node:path";

/** Mode of a new output file before the umask: rw-r--r--, never group- or world-writable. */
export const NEW_FILE_MODE = 0o644;

/** Why an output was refused before anything was written. */
export type OutputErrorCode = "symlink" | "directory" | "block-device" | "socket" | "not-regular";

/**
 * An output path that we will not write: the message names the path and what
 * is there, the hint what to do instead.
 *
 * @example
 * ```ts
 * try {
 *   writeOutput("/tmp", new Uint8Array(8));
 * } catch (error) {
 *   if (error instanceof OutputError) console.error(error.code); // "directory"
 * }
 * ```
 */
export class OutputError extends Error {
  constructor(readonly code: OutputErrorCode, message: string, readonly hint?: string) {
    super(message);
    this.name = "OutputError";
  }
}

/** One file to write. */
export interface OutputFile {
  readonly path: string;
  readonly data: Uint8Array | string;
}

/**
 * Writes `data` to `path` atomically: afterwards `path` holds either its old
 * content or all of `data`, never a mix or a prefix. On failure the temporary
 * file is removed and the error rethrown.
 *
 * `mode` (e.g. `0o644`) is applied exactly, regardless of the umask; without it
 * a new file gets {@link NEW_FILE_MODE} minus the umask's bits. This does not
 * look at what is at `path`: {@link writeOutput} does.
 *
 * @example
 * ```ts
 * writeFileAtomic("out/seccomp.bpf", new Uint8Array([1, 2, 3]), 0o644);
 * ```
 */
export function writeFileAtomic(path: string, data: Uint8Array | string, mode?: number): void {
  renameIntoPlace(writeTemporary(path, bytesOf(data), mode === undefined ? undefined : { mode }), path);
}

/** Renames a finished temporary over `path` (removing it if that fails) and syncs the directory. @private */
function renameIntoPlace(temporary: string, path: string): void {
  try {
    renameSync(temporary, path);
  } catch (error) {
    removeQuietly(temporary);
    throw error;
  }
  syncDirectory(dirname(path));
}

/**
 * Writes one output file, deciding by what is already at `path` (see the
 * table in the module documentation): creates or atomically replaces a
 * regular file (a replaced file keeps its mode, and its owner when we are
 * root), writes into a character device or FIFO without replacing it, and
 * refuses directories, block devices, sockets and symbolic links that do not
 * lead to a character device or FIFO, with an {@link OutputError}.
 *
 * @example
 * ```ts
 * writeOutput("seccomp_binary_filter.out", new Uint8Array([0, 0, 0, 0, 0, 0, 0, 0]));
 * writeOutput("/dev/null", "discarded");
 * ```
 */
export function writeOutput(path: string, data: Uint8Array | string): void {
  const bytes = bytesOf(data);
  const target = inspectTarget(path);
  if (target.kind === "special") {
    writeInto(path, bytes);
    return;
  }
  renameIntoPlace(writeTemporary(path, bytes, target.kind === "regular" ? { keep: target.stat } : undefined), path);
}

/** Test seam: the rename step of {@link writeOutputs}, so a failure between renames can be simulated. */
export interface WriteOutputsOptions {
  /** Replaces `renameSync` (tests inject a failure here). */
  readonly rename?: (from: string, to: string) => void;
}

/**
 * Writes several files all or none: every target must be absent or a regular
 * file (checked before anything is written); each file's data goes to a
 * temporary file beside it, and only when all of them are safely on disk are
 * they renamed into place. If writing fails, the temporaries are removed and
 * no target changed; if a rename fails, the targets already renamed are put
 * back (old ones from a hard-linked backup, new ones removed).
 *
 * @example
 * ```ts
 * writeOutputs([{ path: "out/vmm.bpf", data: new Uint8Array(8) }, { path: "out/api.bpf", data: new Uint8Array(8) }]);
 * ```
 */
export function writeOutputs(files: readonly OutputFile[], options: WriteOutputsOptions = {}): void {
  const rename = options.rename ?? renameSync;
  const targets = files.map((file) => {
    const target = inspectTarget(file.path);
    if (target.kind === "special") {
      throw new OutputError(
        "not-regular",
        `${file.path} is not a regular file; writing several files all or none needs regular files`,
        "remove it, or choose another output directory",
      );
    }
    return target;
  });
  const temporaries: string[] = [];
  const backups: (string | undefined)[] = [];
  try {
    files.forEach((file, i) => {
      const target = targets[i];
      temporaries.push(writeTemporary(file.path, bytesOf(file.data), target.kind === "regular" ? { keep: target.stat } : undefined));
    });
    // A hard link keeps the old content reachable until every rename has succeeded.
    files.forEach((file, i) => {
      if (targets[i].kind !== "regular") {
        backups.push(undefined);
        return;
      }
      const backup = temporaryName(file.path, "bak");
      linkSync(file.path, backup);
      backups.push(backup);
    });
  } catch (error) {
    for (const path of [...temporaries, ...backups]) if (path !== undefined) removeQuietly(path);
    throw error;
  }
  let renamed = 0;
  try {
    for (; renamed < files.length; renamed++) rename(temporaries[renamed], files[renamed].path);
  } catch (error) {
    // Undo in reverse: old files come back from their backups, new ones go.
    for (let i = renamed - 1; i >= 0; i--) {
      const backup = backups[i];
      try {
        if (backup !== undefined) renameSync(backup, files[i].path);
        else unlinkSync(files[i].path);
      } catch { /* keep undoing the others; the original error is reported */ }
    }
    for (let i = renamed; i < files.length; i++) removeQuietly(temporaries[i]);
    for (const backup of backups) if (backup !== undefined) removeQuietly(backup);
    throw error;
  }
  for (const backup of backups) if (backup !== undefined) removeQuietly(backup);
  for (const directory of new Set(files.map((file) => dirname(file.path)))) syncDirectory(directory);
}

/** What is at an output path. @private */
type Target = { kind: "absent" } | { kind: "regular"; stat: Stats } | { kind: "special" };

/** Classifies the output path, refusing what we never write (see the module table). @private */
function inspectTarget(path: string): Target {
  let stat: Stats;
  try {
    stat = lstatSync(path);
  } catch (error) {
    if ((error as { code?: string }).code === "ENOENT") return { kind: "absent" };
    throw error;
  }
  if (stat.isSymbolicLink()) {
    let resolved: Stats | undefined;
    try {
      resolved = statSync(path);
    } catch { /* dangling: refused below */ }
    if (resolved && (resolved.isCharacterDevice() || resolved.isFIFO())) return { kind: "special" };
    throw new OutputError(
      "symlink",
      `${path} is a symbolic link${resolved?.isFile() ? " to a regular file" : resolved ? "" : " that leads nowhere"}; ` +
        "refusing to replace the link or to write through it",
      "give the file the link points to as the output (or remove the link); use -o - for standard output",
    );
  }
  if (stat.isFile()) return { kind: "regular", stat };
  if (stat.isCharacterDevice() || stat.isFIFO()) return { kind: "special" };
  if (stat.isDirectory()) {
    throw new OutputError("directory", `${path} is a directory`, "name a file inside it");
  }
  if (stat.isBlockDevice()) {
    throw new OutputError("block-device", `${path} is a block device; refusing to write a filter onto a disk`);
  }
  throw new OutputError("socket", `${path} is a socket; it cannot be written as a file`);
}

/**
 * Writes into an existing character device or FIFO without replacing it,
 * like Rust's `File::create` (open for writing, no new file). A FIFO's open
 * waits for a reader, as it would for any writer.
 * @private
 */
function writeInto(path: string, bytes: Uint8Array): void {
  const fd = openSync(path, constants.O_WRONLY | constants.O_NOCTTY);
  try {
    // Whatever was checked before the open, the descriptor is what counts.
    const stat = fstatSync(fd);
    if (!stat.isCharacterDevice() && !stat.isFIFO()) {
      throw new OutputError("not-regular", `${path} changed while it was being opened; nothing written`);
    }
    let written = 0;
    while (written < bytes.length) written += writeSync(fd, bytes, written, bytes.length - written);
  } finally {
    closeSync(fd);
  }
}

/**
 * Writes `bytes` to a new temporary file beside `path`, flushed to disk, and
 * returns its name. Its mode is `mode` exactly, or `keep`'s mode (and owner,
 * when we are root), or {@link NEW_FILE_MODE} minus the umask's bits.
 * @private
 */
function writeTemporary(path: string, bytes: Uint8Array, from?: { mode?: number; keep?: Stats }): string {
  const temporary = temporaryName(path, "tmp");
  // "wx": never follow or reuse an existing file at the temporary name. The kernel applies the umask.
  const fd = openSync(temporary, "wx", NEW_FILE_MODE);
  try {
    if (from?.keep) {
      // Owner first: chown clears set-user-ID bits that the chmod then restores.
      if (isRoot()) fchownSync(fd, from.keep.uid, from.keep.gid);
      fchmodSync(fd, from.keep.mode & 0o7777);
    } else if (from?.mode !== undefined) {
      fchmodSync(fd, from.mode);
    }
    let written = 0;
    while (written < bytes.length) written += writeSync(fd, bytes, written, bytes.length - written);
    fsyncSync(fd);
  } catch (error) {
    try {
      closeSync(fd);
    } catch { /* already failing; the original error matters */ }
    removeQuietly(temporary);
    throw error;
  }
  closeSync(fd);
  return temporary;
}

/** `.NAME.UUID.tmp` beside `path`. @private */
function temporaryName(path: string, suffix: string): string {
  return join(dirname(path), `.${basename(path)}.${crypto.randomUUID()}.${suffix}`);
}

/** Whether the process runs as root (only root may give a file to another owner). @private */
function isRoot(): boolean {
  const process = (globalThis as { process?: { getuid?: () => number } }).process;
  return process?.getuid?.() === 0;
}

/** Text as UTF-8 bytes. @private */
function bytesOf(data: Uint8Array | string): Uint8Array {
  return typeof data === "string" ? new TextEncoder().encode(data) : data;
}

/** Unlinks a file we created, ignoring errors: it is cleanup after a failure. @private */
function removeQuietly(path: string): void {
  try {
    unlinkSync(path);
  } catch { /* nothing to clean up */ }
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
