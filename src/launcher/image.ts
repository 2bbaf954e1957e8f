/**
 * The `execve` arguments in C form, built before the filter is installed so
 * that nothing needs allocating (or can fail) between `seccomp()` and
 * `execve()`.
 *
 * @module
 */
import type { Libc } from "../install/mod.ts";

/** NUL-terminated strings and 0-terminated pointer tables, with their addresses. */
export interface ExecImage {
  /** The resolved path, NUL-terminated: the guard allows exactly this buffer's address. */
  readonly path: Uint8Array;
  /** Address of {@link ExecImage.path}. */
  readonly pathAddress: bigint;
  /** `char *argv[]`, ending in 0. */
  readonly argv: BigUint64Array;
  /** Address of {@link ExecImage.argv}. */
  readonly argvAddress: bigint;
  /** `char *envp[]`, ending in 0. */
  readonly envp: BigUint64Array;
  /** Address of {@link ExecImage.envp}. */
  readonly envpAddress: bigint;
  /**
   * Every string buffer the tables point into. Holding them here keeps them
   * alive (and their addresses valid) as long as the image is referenced.
   */
  readonly strings: readonly Uint8Array[];
}

/**
 * Thrown when a string cannot be passed to `execve` (it contains a NUL byte).
 *
 * @example
 * ```ts
 * throw new ImageError("argument 2 contains a NUL byte");
 * ```
 */
export class ImageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ImageError";
  }
}

const encoder = new TextEncoder();

/** `text` as a NUL-terminated C string. @private */
function cString(text: string, what: string): Uint8Array {
  if (text.includes("\0")) throw new ImageError(`${what} contains a NUL byte, which execve cannot pass`);
  return encoder.encode(`${text}\0`);
}

/**
 * Encodes `path`, `argv` and `env` for `execve`. Environment entries are
 * passed as `NAME=value`, in the object's order.
 *
 * @example
 * ```ts
 * import { openLibc } from "../install/mod.ts";
 * const libc = await openLibc();
 * const image = buildExecImage(libc, "/usr/bin/true", ["true"], { PATH: "/usr/bin" });
 * libc.execve(image.path, image.argv, image.envp);
 * ```
 */
export function buildExecImage(
  libc: Libc,
  path: string,
  argv: readonly string[],
  env: Readonly<Record<string, string | undefined>>,
): ExecImage {
  const pathBuffer = cString(path, "the program path");
  const strings: Uint8Array[] = [pathBuffer];
  const table = (items: readonly string[], what: string): BigUint64Array => {
    const pointers = new BigUint64Array(items.length + 1);
    items.forEach((item, i) => {
      const buffer = cString(item, `${what} ${i}`);
      strings.push(buffer);
      pointers[i] = libc.address(buffer);
    });
    return pointers;
  };
  const argvTable = table(argv, "argument");
  const envEntries = Object.entries(env).flatMap(([name, value]) => (value === undefined ? [] : [`${name}=${value}`]));
  const envpTable = table(envEntries, "environment entry");
  return {
    path: pathBuffer,
    pathAddress: libc.address(pathBuffer),
    argv: argvTable,
    argvAddress: libc.address(argvTable),
    envp: envpTable,
    envpAddress: libc.address(envpTable),
    strings,
  };
}
