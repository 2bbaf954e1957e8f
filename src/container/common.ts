/**
 * What both filter-file layouts share: the error type, Firecracker's size
 * limit, and the key rules (well-formed Unicode, ordered by UTF-8 bytes).
 *
 * @module
 */

/**
 * The two layouts of Firecracker's filter file: `bincode` (Firecracker v0.25
 * to v1.14) and `bitcode` (v1.15 and later).
 */
export type ContainerFormat = "bincode" | "bitcode";

/** Both layouts, the current one first. */
export const CONTAINER_FORMATS: readonly ContainerFormat[] = ["bitcode", "bincode"];

/**
 * How a layout is named to users.
 *
 * @example
 * ```ts
 * describeFormat("bitcode"); // "Firecracker ≥ 1.15 format"
 * ```
 */
export function describeFormat(format: ContainerFormat): string {
  return format === "bitcode" ? "Firecracker ≥ 1.15 format" : "Firecracker ≤ 1.14 format";
}

/** Firecracker's `DESERIALIZATION_BYTES_LIMIT`: the largest filter file it reads (and its compiler writes). */
export const DEFAULT_BYTES_LIMIT = 100_000;

/**
 * A filter file that cannot be written or read.
 *
 * Codes shared by both layouts: `empty-program`, `program-too-long`,
 * `duplicate-key`, `invalid-key`, `bad-field`, `too-large` (writer and
 * reader); `truncated`, `invalid-utf8`, `trailing-bytes`, `invalid-program`,
 * `ambiguous-format`, `unknown-format` (reader). Bincode only: `bad-map-length`, `bad-key-length`,
 * `bad-program-length`. Bitcode only: `invalid-packing`, `length-overflow`,
 * `huge-length`. Reader errors carry the byte offset of the offending field.
 *
 * @example
 * ```ts
 * import { deserializeBinary } from "../container.ts";
 * try { deserializeBinary(new Uint8Array(0)); } catch (e) { if (e instanceof ContainerError) console.log(e.code, e.offset); }
 * ```
 */
export class ContainerError extends Error {
  /** Stable machine-readable code. */
  readonly code: string;
  /** Byte offset in the input of the offending field (reader errors). */
  readonly offset?: number;
  /** Thread category (map key) involved, when there is one. */
  readonly key?: string;
  constructor(code: string, message: string, details?: { offset?: number; key?: string }) {
    super(message);
    this.name = "ContainerError";
    this.code = code;
    if (details?.offset !== undefined) this.offset = details.offset;
    if (details?.key !== undefined) this.key = details.key;
  }
}

const utf8Encoder = new TextEncoder();

/**
 * The UTF-8 bytes of a thread name, refusing strings with lone surrogates
 * (they would be written as U+FFFD and silently rename the filter).
 *
 * @example
 * ```ts
 * keyBytes("vmm"); // Uint8Array [0x76, 0x6d, 0x6d]
 * ```
 */
export function keyBytes(key: string): Uint8Array {
  if (!key.isWellFormed()) {
    throw new ContainerError("invalid-key", `filter name ${JSON.stringify(key)} is not well-formed Unicode`, { key });
  }
  return utf8Encoder.encode(key);
}

/**
 * Orders byte strings as Rust orders `String`s (and so `BTreeMap` keys):
 * unsigned bytes, a proper prefix first. For UTF-8 this is code-point order,
 * which is not JavaScript's UTF-16 `sort()` order.
 *
 * @example
 * ```ts
 * compareBytes(keyBytes("\uff61"), keyBytes("\u{1f600}")) < 0; // true; "\uff61" > "\u{1f600}" in JS
 * ```
 */
export function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const length = Math.min(a.length, b.length);
  for (let i = 0; i < length; i++) {
    if (a[i] !== b[i]) return a[i] - b[i];
  }
  return a.length - b.length;
}

/**
 * Sorts entries by the UTF-8 bytes of their key and refuses a key given twice
 * (a Rust `BTreeMap` cannot hold one).
 *
 * @example
 * ```ts
 * sortedByKey([{ key: "b", bytes: keyBytes("b") }, { key: "a", bytes: keyBytes("a") }]).map((e) => e.key); // ["a", "b"]
 * ```
 */
export function sortedByKey<T extends { readonly key: string; readonly bytes: Uint8Array }>(entries: readonly T[]): T[] {
  const sorted = [...entries].sort((a, b) => compareBytes(a.bytes, b.bytes));
  for (let i = 1; i < sorted.length; i++) {
    if (compareBytes(sorted[i - 1].bytes, sorted[i].bytes) === 0) {
      throw new ContainerError("duplicate-key", `filter name ${JSON.stringify(sorted[i].key)} appears twice`, {
        key: sorted[i].key,
      });
    }
  }
  return sorted;
}

/**
 * Decodes one key strictly: invalid UTF-8 is an error, and a leading U+FEFF
 * is part of the name (the default decoder would drop it).
 *
 * @example
 * ```ts
 * decodeKey(Uint8Array.of(0xef, 0xbb, 0xbf, 0x61)); // "\ufeffa"
 * ```
 */
export function decodeKey(bytes: Uint8Array): string | undefined {
  // Fast path for the usual ASCII names (and the empty one): no decoder call.
  if (bytes.length <= 64 && bytes.every((byte) => byte < 0x80)) return String.fromCharCode(...bytes);
  try {
    return keyDecoder.decode(bytes);
  } catch {
    return undefined;
  }
}

const keyDecoder = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });
