/**
 * Everything the commands read from the user, decided in one place so that
 * `compile`, the inspection commands (`disasm`, `check`, `cache`) and `exec`
 * accept the same spellings and refuse the same things with the same words:
 *
 * - architecture names and their aliases ({@link parseArchOption});
 * - byte-count and digest options ({@link parseByteCount}, {@link parseSha256}),
 *   and the rule that a single-value option may be given once ({@link repeatedOption});
 * - reading a file safely and within a limit ({@link readInputFile}): filter
 *   files must be regular files, opened non-blocking so a FIFO without a
 *   writer cannot hang us; nothing is ever read past the limit, so no option
 *   makes us allocate without bound;
 * - strict UTF-8 with an optional byte order mark ({@link decodeUtf8},
 *   {@link readPolicyFile}, which also applies the policy size cap before any
 *   parsing);
 * - picking a thread's program out of a filter ({@link selectThreads},
 *   {@link selectOneThread}).
 *
 * Every refusal is an {@link InputError} with a stable code; the commands map
 * `code === "usage"` to their usage exit status and the rest to "bad input".
 *
 * @module
 */
import { type FileAccess, type FileStat, LINUX_FILE_FLAGS, nodeFileAccess } from "./files.ts";
import { ARCH_ALIASES, ARCH_NAMES, type ArchName, hostArch, parseArchName } from "./arch/arch.ts";
import { quoteName } from "./diagnostics.ts";

export { quoteName };

/** Default cap on a policy's size, checked before parsing (`--max-input-bytes` raises it). */
export const DEFAULT_MAX_INPUT_BYTES = 16 * 1024 * 1024;

/**
 * Ceiling of every byte limit an option can ask for (1 GiB). Reading stops at
 * the limit, so this bounds the memory one input can take whatever the
 * command line says.
 */
export const MAX_BYTE_LIMIT = 1024 * 1024 * 1024;

/** Why an input was refused. Stable: scripts may match on it. */
export type InputErrorCode =
  /** A bad option value (exit 2; `exec`: 125). */
  | "usage"
  /** The operating system refused to open or read the file. */
  | "unreadable"
  /** A directory, device, FIFO or socket where a regular file is required. */
  | "not-regular"
  /** The file's content does not match its size: it changed, or it is a /proc or /sys file. */
  | "unstable"
  /** Larger than the limit. */
  | "too-large"
  /** Text that is not UTF-8. */
  | "invalid-utf8"
  /** The file's SHA-256 is not the one `--sha256` pinned. */
  | "sha256-mismatch"
  /** No program for the thread asked for, or none at all, or several when one is needed. */
  | "thread";

/**
 * A refused input, already phrased for the user: `message` names the file
 * and the problem, `hint` (when present) says what to do.
 *
 * @example
 * ```ts
 * try {
 *   readInputFile("/dev/zero", { what: "filter file", limit: 100_000, limitOption: "--bytes-limit" });
 * } catch (error) {
 *   if (error instanceof InputError) console.error(error.code, error.message);
 * }
 * ```
 */
export class InputError extends Error {
  constructor(
    readonly code: InputErrorCode,
    message: string,
    readonly hint?: string,
    readonly position?: { readonly file: string; readonly line: number; readonly column: number },
  ) {
    super(message);
    this.name = "InputError";
  }
}

/**
 * An {@link InputError} as the CLI prints it: `file:line:col: error: …` when it
 * has a position, `seccompiler: error: …` otherwise, then the hint.
 *
 * @example
 * ```ts
 * formatInputError(new InputError("too-large", "policy p.json is too large", "raise --max-input-bytes"));
 * ```
 */
export function formatInputError(error: InputError): string {
  const { position } = error;
  const head = position ? `${position.file}:${position.line}:${position.column}: error: ` : "seccompiler: error: ";
  return `${head}${error.message}${error.hint ? `\n  hint: ${error.hint}` : ""}`;
}

// ---------------------------------------------------------------------------
// Option values

/**
 * The architecture named by `--target-arch` (any letter case, aliases such as
 * `amd64` and `arm64` accepted), or this machine's when the option is absent.
 *
 * @example
 * ```ts
 * parseArchOption("amd64"); // "x86_64"
 * parseArchOption(undefined); // the host's, e.g. "x86_64"
 * ```
 */
export function parseArchOption(text: string | undefined, option = "--target-arch"): ArchName {
  if (text === undefined) {
    const host = hostArch();
    if (host === undefined) throw new InputError("usage", `this machine's architecture is not supported; give ${option}`);
    return host;
  }
  const arch = parseArchName(text);
  if (arch === undefined) {
    throw new InputError(
      "usage",
      `unknown architecture ${quoteName(text)} for ${option}; expected one of ${ARCH_NAMES.join(", ")} (or ${Object.keys(ARCH_ALIASES).join(", ")})`,
    );
  }
  return arch;
}

/**
 * A positive whole number of bytes no larger than {@link MAX_BYTE_LIMIT}, as
 * `--bytes-limit` and `--max-input-bytes` take it; `fallback` when absent.
 *
 * @example
 * ```ts
 * parseByteCount("200000", "--bytes-limit", 100_000); // 200000
 * parseByteCount(undefined, "--bytes-limit", 100_000); // 100000
 * ```
 */
export function parseByteCount(text: string | undefined, option: string, fallback: number): number {
  if (text === undefined) return fallback;
  if (!/^[0-9]+$/.test(text)) throw new InputError("usage", `${option} must be a positive whole number of bytes, not ${quoteName(text)}`);
  const value = Number(text);
  if (value < 1) throw new InputError("usage", `${option} must be at least 1`);
  if (value > MAX_BYTE_LIMIT) throw new InputError("usage", `${option} is at most ${MAX_BYTE_LIMIT} (1 GiB), not ${quoteName(text)}`);
  return value;
}

/**
 * A SHA-256 digest as 64 hexadecimal digits (any case), returned lowercase;
 * undefined when absent.
 *
 * @example
 * ```ts
 * parseSha256("E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855");
 * ```
 */
export function parseSha256(text: string | undefined, option = "--sha256"): string | undefined {
  if (text === undefined) return undefined;
  if (!/^[0-9a-fA-F]{64}$/.test(text)) {
    throw new InputError("usage", `${option} needs a SHA-256 digest of 64 hexadecimal digits, not ${quoteName(text)}`, "compute one with: sha256sum FILE");
  }
  return text.toLowerCase();
}

/** The tokens the option scanner (`src/options.ts`, like `parseArgs` with `tokens: true`) returns (only what we read of them). */
type Token = { kind: string; name?: string; rawName?: string };

/**
 * The first single-value option given twice, as typed (`-o`, `--output-file`),
 * or undefined. `parseArgs` (and so the scanner) keeps the last one; for an option that
 * names a file or a limit that hides a mistake, so every command refuses it.
 *
 * @example
 * ```ts
 * import { scanOptions } from "./options.ts";
 * const options = { thread: { type: "string" } } as const;
 * const { tokens } = scanOptions(["--thread", "a", "--thread", "b"], options);
 * repeatedOption(tokens, options); // "--thread"
 * ```
 */
export function repeatedOption(tokens: readonly Token[], options: Readonly<Record<string, { type: string; multiple?: boolean }>>): string | undefined {
  const seen = new Set<string>();
  for (const token of tokens) {
    if (token.kind !== "option" || token.name === undefined) continue;
    const spec = options[token.name];
    if (spec === undefined || spec.type !== "string" || spec.multiple) continue;
    if (seen.has(token.name)) return token.rawName ?? `--${token.name}`;
    seen.add(token.name);
  }
  return undefined;
}

// ---------------------------------------------------------------------------
// Reading files

/** How {@link readInputFile} reads one input. */
export interface ReadOptions {
  /** What the file is, for messages: "filter file", "policy"... */
  readonly what: string;
  /** Largest accepted size in bytes; nothing past it is read. */
  readonly limit: number;
  /** The option that raises the limit, named in the hint. */
  readonly limitOption: string;
  /**
   * Accept only regular files (filter files). Otherwise FIFOs, pipes and
   * character devices are read too, still within the limit (policies: `-i <(…)`).
   */
  readonly regularOnly?: boolean;
  /** `"-"` means standard input. */
  readonly allowStdin?: boolean;
  /** Lowercase hex SHA-256 the bytes must have (from {@link parseSha256}). */
  readonly sha256?: string;
  /** Where the file is read from (default {@link nodeFileAccess}; the launcher passes raw system calls). */
  readonly files?: FileAccess;
}

/** {@link readBounded}'s first buffer when the size is not known: a page. */
const FIRST_READ_BYTES = 4096;

/**
 * Reads a whole input file without ever reading more than `limit + 1` bytes,
 * refusing (with an {@link InputError}) what is not what it claims to be:
 *
 * - the file is opened with `O_NONBLOCK | O_NOCTTY`, so opening a FIFO that
 *   has no writer, or a terminal, neither blocks nor changes anything;
 * - directories are refused, and with `regularOnly` also devices, FIFOs and
 *   sockets (a filter file is a file on disk);
 * - a regular file larger than the limit is refused before reading; anything
 *   else is read in chunks and refused as soon as it passes the limit
 *   (`/dev/zero`, a growing file);
 * - with `regularOnly`, a file whose content does not match its size is
 *   refused: it changed while being read, or it is a `/proc` or `/sys` file;
 * - with `sha256`, the bytes must have exactly that digest.
 *
 * @example
 * ```ts
 * const bytes = readInputFile("seccomp.bpf", { what: "filter file", limit: 100_000, limitOption: "--bytes-limit", regularOnly: true });
 * ```
 */
export function readInputFile(path: string, options: ReadOptions): Uint8Array {
  const stdin = options.allowStdin === true && path === "-";
  const name = stdin ? "<stdin>" : path;
  const files = options.files ?? nodeFileAccess();
  let fd: number;
  if (stdin) {
    fd = 0;
  } else {
    try {
      fd = files.openSync(path, LINUX_FILE_FLAGS.O_RDONLY | LINUX_FILE_FLAGS.O_NONBLOCK | LINUX_FILE_FLAGS.O_NOCTTY);
    } catch (error) {
      throw new InputError("unreadable", `cannot read ${options.what} ${name}: ${describeSystemError(error)}`);
    }
  }
  try {
    let stat: FileStat;
    try {
      stat = files.fstatSync(fd);
    } catch (error) {
      throw new InputError("unreadable", `cannot read ${options.what} ${name}: ${describeSystemError(error)}`);
    }
    if (stat.isDirectory()) throw new InputError("not-regular", `${options.what} ${name} is a directory`);
    if (options.regularOnly && !stat.isFile()) {
      throw new InputError(
        "not-regular",
        `${options.what} ${name} is ${fileKind(stat)}, not a regular file`,
        `a ${options.what} must be an ordinary file on disk; copy the data to one first`,
      );
    }
    if (stat.isFile() && stat.size > options.limit) throw tooLarge(name, `is ${stat.size} bytes, over`, options);
    const bytes = readBounded(files, fd, name, options, stat.isFile() ? stat.size : 0);
    if (options.regularOnly && bytes.length !== stat.size) {
      // Files in /proc and /sys report a size (0, or 4096) unrelated to what a read returns.
      const held = bytes.length > options.limit ? `more than ${options.limit}` : String(bytes.length);
      throw new InputError(
        "unstable",
        stat.size === 0
          ? `${options.what} ${name} is not an ordinary file: it reports a size of 0 bytes but has content (a /proc or /sys file?)`
          : `${options.what} ${name} reports a size of ${stat.size} bytes but ${held} were read: it changed while being read, or it is a /proc or /sys file`,
        `a ${options.what} must be an ordinary file on disk that nothing is writing to`,
      );
    }
    if (options.sha256 !== undefined) checkSha256(bytes, name, options);
    return bytes;
  } finally {
    if (!stdin) {
      try {
        files.closeSync(fd);
      } catch { /* a read-only descriptor: nothing was buffered */ }
    }
  }
}

/**
 * Reads a policy as text: {@link readInputFile} with the policy size cap
 * (checked before any parsing, so a huge input costs no more than the cap),
 * then {@link decodeUtf8}.
 *
 * @example
 * ```ts
 * const { text, file } = readPolicyFile("policies/example.json", { limit: DEFAULT_MAX_INPUT_BYTES });
 * ```
 */
export function readPolicyFile(
  path: string,
  options: { limit: number; sha256?: string; allowStdin?: boolean; files?: FileAccess },
): { text: string; file: string } {
  const file = options.allowStdin && path === "-" ? "<stdin>" : path;
  const bytes = readInputFile(path, {
    what: "policy",
    limit: options.limit,
    limitOption: "--max-input-bytes",
    allowStdin: options.allowStdin,
    sha256: options.sha256,
    files: options.files,
  });
  return { text: decodeUtf8(bytes, file), file };
}

/**
 * Decodes strict UTF-8: invalid bytes are an error naming their line and
 * column, never replacement characters. A leading byte order mark is dropped
 * so that positions match what editors show.
 *
 * @example
 * ```ts
 * decodeUtf8(new Uint8Array([0xef, 0xbb, 0xbf, 0x7b, 0x7d]), "p.json"); // "{}"
 * ```
 */
export function decodeUtf8(bytes: Uint8Array, file: string): string {
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true, ignoreBOM: false }).decode(bytes);
  } catch {
    const offset = firstInvalidUtf8(bytes);
    // Lines and columns count characters of the valid prefix, as the policy diagnostics do.
    const prefix = new TextDecoder("utf-8").decode(bytes.subarray(0, offset)).replace(/^\uFEFF/, "");
    const line = prefix.split("\n").length;
    const column = prefix.length - prefix.lastIndexOf("\n");
    const byte = (bytes[offset] ?? 0).toString(16).padStart(2, "0");
    throw new InputError("invalid-utf8", `not valid UTF-8 (byte ${offset} is 0x${byte})`, "save the file as UTF-8", { file, line, column });
  }
  // TextDecoder already strips one BOM (ignoreBOM: false); a second one is content.
  return text;
}

/** Offset where the first invalid UTF-8 sequence starts (RFC 3629: no overlongs, surrogates or code points past U+10FFFF). @private */
function firstInvalidUtf8(bytes: Uint8Array): number {
  let i = 0;
  while (i < bytes.length) {
    const lead = bytes[i];
    if (lead < 0x80) {
      i++;
      continue;
    }
    const continuation = lead >= 0xc2 && lead <= 0xdf ? 1 : lead >= 0xe0 && lead <= 0xef ? 2 : lead >= 0xf0 && lead <= 0xf4 ? 3 : -1;
    if (continuation < 0 || i + continuation >= bytes.length) return i;
    // The second byte's range is narrower after E0, ED, F0 and F4.
    const low = lead === 0xe0 ? 0xa0 : lead === 0xf0 ? 0x90 : 0x80;
    const high = lead === 0xed ? 0x9f : lead === 0xf4 ? 0x8f : 0xbf;
    if (bytes[i + 1] < low || bytes[i + 1] > high) return i;
    for (let k = 2; k <= continuation; k++) {
      if ((bytes[i + k] & 0xc0) !== 0x80) return i;
    }
    i += continuation + 1;
  }
  return bytes.length;
}

/**
 * Reads from `fd` until end of file, or fails once more than the limit has
 * come. One buffer, grown by doubling (never past `limit + 1` bytes: that
 * byte is the proof of "too large"); it starts at `sizeHint + 1` bytes (a
 * regular file's size: its whole content and the end of file in one buffer)
 * or a page, since every fresh page of a buffer costs a page fault. @private
 */
function readBounded(files: FileAccess, fd: number, name: string, options: ReadOptions, sizeHint: number): Uint8Array {
  const cap = options.limit + 1;
  let buffer = new Uint8Array(Math.min(Math.max(sizeHint + 1, FIRST_READ_BYTES), cap));
  let filled = 0;
  for (;;) {
    if (filled === buffer.length) {
      const grown = new Uint8Array(Math.min(2 * buffer.length, cap));
      grown.set(buffer);
      buffer = grown;
    }
    let n: number;
    try {
      n = files.readSync(fd, buffer, filled, buffer.length - filled, null);
    } catch (error) {
      if ((error as { code?: string }).code === "EAGAIN") {
        // A pipe whose writer has not written yet (non-blocking descriptor): wait a little.
        Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 10);
        continue;
      }
      throw new InputError("unreadable", `cannot read ${options.what} ${name}: ${describeSystemError(error)}`);
    }
    if (n === 0) break;
    filled += n;
    if (filled > options.limit) {
      if (options.regularOnly) break; // the caller reports the size mismatch, which says more
      throw tooLarge(name, "is over", options);
    }
  }
  return buffer.subarray(0, filled);
}

/** The "over the limit" error. @private */
function tooLarge(name: string, size: string, options: ReadOptions): InputError {
  return new InputError(
    "too-large",
    `${options.what} ${name} ${size} the ${options.limit}-byte limit`,
    `raise ${options.limitOption} if the file is trusted and really this large`,
  );
}

/** Compares the bytes' SHA-256 with the pinned one. @private */
function checkSha256(bytes: Uint8Array, name: string, options: ReadOptions): void {
  // Loaded on demand: importing node:crypto up front costs every run's start-up, --sha256 or not (issue 11).
  const { createHash } = process.getBuiltinModule("node:crypto");
  const actual = createHash("sha256").update(bytes).digest("hex");
  if (actual !== options.sha256) {
    throw new InputError(
      "sha256-mismatch",
      `${options.what} ${name} has SHA-256 ${actual}, not the ${options.sha256} given with --sha256`,
      "the file is not the one that was pinned; refusing to use it",
    );
  }
}

/** "a FIFO", "a character device"... @private */
function fileKind(stat: FileStat): string {
  if (stat.isFIFO()) return "a FIFO (named pipe)";
  if (stat.isCharacterDevice()) return "a character device";
  if (stat.isBlockDevice()) return "a block device";
  if (stat.isSocket()) return "a socket";
  if (stat.isDirectory()) return "a directory";
  return "not a regular file";
}

/**
 * An operating-system error as a short phrase: "no such file or directory
 * (ENOENT)" rather than a stack.
 *
 * @example
 * ```ts
 * describeSystemError(Object.assign(new Error("x"), { code: "EACCES" })); // "permission denied (EACCES)"
 * ```
 */
export function describeSystemError(error: unknown): string {
  const e = error as { code?: string; message?: string };
  const known: Record<string, string> = {
    ENOENT: "no such file or directory",
    EACCES: "permission denied",
    EPERM: "operation not permitted",
    EISDIR: "is a directory",
    ENOTDIR: "a path component is not a directory",
    ELOOP: "too many levels of symbolic links",
    ENAMETOOLONG: "file name too long",
    EROFS: "read-only file system",
    ENOSPC: "no space left on device",
    EDQUOT: "disk quota exceeded",
    EFBIG: "file too large",
    ENXIO: "no such device or address",
    EIO: "input/output error",
  };
  if (e.code && Object.hasOwn(known, e.code)) return `${known[e.code]} (${e.code})`;
  return e.code ?? e.message ?? String(error);
}

// ---------------------------------------------------------------------------
// Threads

/**
 * The programs to work on: all of them, or only `thread`'s when given.
 * `source` names the file in the message when the thread is missing.
 *
 * @example
 * ```ts
 * selectThreads(new Map([["vmm", 1], ["api", 2]]), "vmm", "seccomp.bpf"); // Map { "vmm" => 1 }
 * ```
 */
export function selectThreads<T>(programs: ReadonlyMap<string, T>, thread: string | undefined, source: string): Map<string, T> {
  if (thread === undefined) return new Map(programs);
  const program = programs.get(thread);
  if (program === undefined) {
    throw new InputError("thread", `no filter for thread ${quoteName(thread)} in ${source}`, threadList(programs));
  }
  return new Map([[thread, program]]);
}

/**
 * Exactly one program: `thread`'s, or the only one when `thread` is not given.
 *
 * @example
 * ```ts
 * selectOneThread(new Map([["main", 1]]), undefined, "seccomp.bpf"); // ["main", 1]
 * ```
 */
export function selectOneThread<T>(programs: ReadonlyMap<string, T>, thread: string | undefined, source: string): [string, T] {
  if (thread === undefined) {
    if (programs.size === 1) return [...programs][0];
    throw new InputError(
      "thread",
      programs.size === 0 ? `${source} holds no filters` : `${source} holds ${programs.size} threads; choose one with --thread`,
      programs.size === 0 ? undefined : threadList(programs),
    );
  }
  return [...selectThreads(programs, thread, source)][0];
}

/** "threads: "vmm", "api"" (at most 20 names, each shortened). @private */
function threadList(programs: ReadonlyMap<string, unknown>): string {
  const names = [...programs.keys()];
  if (names.length === 0) return "it holds no threads";
  const shown = names.slice(0, 20).map((name) => quoteName(name)).join(", ");
  return `threads: ${shown}${names.length > 20 ? `, and ${names.length - 20} more` : ""}`;
}
