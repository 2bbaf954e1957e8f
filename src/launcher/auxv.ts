/**
 * The auxiliary vector the kernel gave this process (`/proc/self/auxv`),
 * read once per process: the launcher needs the page size, an address on the
 * initial stack (`image.ts`) and the entry point (`prelude.ts`).
 *
 * @module
 */
import { type FileAccess, nodeFileAccess } from "../files.ts";

/** `AT_PAGESZ`: the page size. */
export const AT_PAGESZ = 6n;
/** `AT_ENTRY`: the program's entry point. */
export const AT_ENTRY = 9n;
/** `AT_RANDOM`: the address of 16 random bytes the kernel put on the initial stack. */
export const AT_RANDOM = 25n;

const cache = new Map<boolean, ReadonlyMap<bigint, bigint>>();

/**
 * Every entry of the auxiliary vector, type → value, in the host's byte
 * order (`littleEndian`), read through `files`. Empty when `/proc/self/auxv`
 * cannot be read.
 *
 * @example
 * ```ts
 * const pageSize = auxiliaryVector(true).get(AT_PAGESZ) ?? 4096n;
 * ```
 */
export function auxiliaryVector(littleEndian: boolean, files: FileAccess = nodeFileAccess()): ReadonlyMap<bigint, bigint> {
  const cached = cache.get(littleEndian);
  if (cached !== undefined) return cached;
  const entries = new Map<bigint, bigint>();
  try {
    const auxv = files.readFileSync("/proc/self/auxv");
    const view = new DataView(auxv.buffer, auxv.byteOffset, auxv.byteLength);
    for (let at = 0; at + 16 <= auxv.byteLength; at += 16) {
      const type = view.getBigUint64(at, littleEndian);
      if (type === 0n) break; // AT_NULL ends the vector
      entries.set(type, view.getBigUint64(at + 8, littleEndian));
    }
  } catch {
    // Callers fall back (page size 4096, /proc/self/maps) or go without (no start state).
  }
  cache.set(littleEndian, entries);
  return entries;
}
