/**
 * The C strings and pointer tables `posix_spawn` and `execve` take, built in
 * the JavaScript heap (the recorder needs no fixed addresses, unlike the
 * `exec` launcher's guard).
 *
 * @module
 */
import type { Libc } from "../install/mod.ts";

/** A path, `argv` and `envp` ready for `execve`; keep it referenced while the addresses are in use. */
export interface CommandTables {
  /** The NUL-terminated path. */
  readonly path: Uint8Array;
  /** `char *argv[]`, ending in 0. */
  readonly argv: BigUint64Array;
  /** `char *envp[]`, ending in 0. */
  readonly envp: BigUint64Array;
  /** The strings the tables point into (held so that their addresses stay valid). */
  readonly strings: readonly Uint8Array[];
}

const encoder = new TextEncoder();

/** `text` (or raw bytes) + NUL; throws on an embedded NUL, which no C string can hold. @private */
function cString(text: string | Uint8Array, what: string): Uint8Array {
  const bytes = typeof text === "string" ? encoder.encode(text) : text;
  if (bytes.includes(0)) throw new Error(`${what} contains a NUL byte, which execve cannot pass`);
  const out = new Uint8Array(bytes.length + 1);
  out.set(bytes);
  return out;
}

/**
 * Builds `path`, `argv` and `envp`. `env` is either an environment object
 * (undefined values skipped) or the entries as raw bytes, passed unchanged.
 *
 * @example
 * ```ts
 * import { openLibc } from "../install/mod.ts";
 * const tables = commandTables(await openLibc(), "/bin/true", ["true"], { PATH: "/bin" });
 * ```
 */
export function commandTables(
  libc: Libc,
  path: string,
  argv: readonly (string | Uint8Array)[],
  env: Readonly<Record<string, string | undefined>> | readonly Uint8Array[],
): CommandTables {
  const strings: Uint8Array[] = [];
  const table = (items: readonly (string | Uint8Array)[], what: string): BigUint64Array => {
    const pointers = new BigUint64Array(items.length + 1);
    items.forEach((item, i) => {
      const buffer = cString(item, `${what} ${i}`);
      strings.push(buffer);
      pointers[i] = libc.address(buffer);
    });
    return pointers;
  };
  const entries = Array.isArray(env)
    ? env as readonly Uint8Array[]
    : Object.entries(env).flatMap(([name, value]) => (value === undefined ? [] : [`${name}=${value}`]));
  return { path: cString(path, "the program path"), argv: table(argv, "argument"), envp: table(entries, "environment entry"), strings };
}
