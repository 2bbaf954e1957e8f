/**
 * The synchronous file operations that reading input and the launcher need,
 * as one small interface with two sources:
 *
 * - {@link nodeFileAccess}: `node:fs`, loaded on first use (Bun, Deno, Node);
 * - `syscallFileAccess` (`src/launcher/syscall_files.ts`): raw system calls
 *   through the libc binding the launcher opens anyway.
 *
 * Why two: on Bun, loading `node:fs` costs about 4 ms of every process start
 * (docs/bench.md), a tenth of `seccompiler exec`. The launcher needs a
 * dozen reads of `/proc/self` and of its input, which raw calls do without
 * that load. Everything else keeps `node:fs`, and nothing imports it
 * statically on the launcher's path.
 *
 * Both sources fail the way `node:fs` does: an `Error` whose `code` is the
 * errno name (`ENOENT`), so callers and their messages do not depend on the
 * source.
 *
 * @module
 */

/** Linux `open(2)` flags and `access(2)` modes used here: the generic values, the same on every architecture seccompiler targets. */
export const LINUX_FILE_FLAGS = {
  O_RDONLY: 0,
  O_NOCTTY: 0o400,
  O_NONBLOCK: 0o4000,
  O_CLOEXEC: 0o2000000,
  X_OK: 1,
} as const;

/** The file-type half of a stat result, shaped like `node:fs`'s `Stats`. */
export interface FileStat {
  /** Size in bytes (what the file system reports; 0 for most of /proc). */
  readonly size: number;
  /** A regular file. */
  isFile(): boolean;
  /** A directory. */
  isDirectory(): boolean;
  /** A FIFO (named pipe). */
  isFIFO(): boolean;
  /** A character device. */
  isCharacterDevice(): boolean;
  /** A block device. */
  isBlockDevice(): boolean;
  /** A socket. */
  isSocket(): boolean;
}

/**
 * Synchronous file operations with `node:fs` signatures (the subset used).
 * Every descriptor is opened close-on-exec. Failures throw an `Error` with
 * `code` set to the errno name.
 */
export interface FileAccess {
  /** Opens `path` with numeric `flags` ({@link LINUX_FILE_FLAGS}); returns the descriptor. */
  openSync(path: string, flags: number): number;
  /** Closes `fd`. */
  closeSync(fd: number): void;
  /** Reads up to `length` bytes into `buffer[offset..]`, at `position` (`null`: the file offset); returns the count, 0 at end of file. */
  readSync(fd: number, buffer: Uint8Array, offset: number, length: number, position: number | null): number;
  /** The type and size of an open descriptor. */
  fstatSync(fd: number): FileStat;
  /** The type and size of `path`, following symbolic links. */
  statSync(path: string): FileStat;
  /** Throws unless the calling process may access `path` with `mode` (`X_OK`). */
  accessSync(path: string, mode: number): void;
  /** The names in directory `path`, without `.` and `..`. */
  readdirSync(path: string): string[];
  /** The whole content of `path`, read until end of file (for small files such as those of /proc). */
  readFileSync(path: string): Uint8Array;
}

let nodeFs: FileAccess | undefined;

/**
 * `node:fs` as a {@link FileAccess}, loaded on first call (not at import:
 * the module's load is the cost this interface exists to avoid).
 *
 * @example
 * ```ts
 * const files = nodeFileAccess();
 * files.readdirSync("/proc/self/fd").length > 0; // true
 * ```
 */
export function nodeFileAccess(): FileAccess {
  // process.getBuiltinModule is synchronous on Bun, Deno and Node, unlike import().
  nodeFs ??= process.getBuiltinModule("node:fs") satisfies FileAccess;
  return nodeFs;
}

/**
 * Text of the bytes `files.readFileSync` returned, for line-oriented /proc
 * files (`status`, `maps`): invalid UTF-8 becomes U+FFFD, which no parsed
 * field contains.
 *
 * @example
 * ```ts
 * readTextFile(nodeFileAccess(), "/proc/self/status").includes("SigIgn:"); // true
 * ```
 */
export function readTextFile(files: FileAccess, path: string): string {
  return new TextDecoder().decode(files.readFileSync(path));
}
