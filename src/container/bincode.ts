/**
 * The filter file of Firecracker v0.25 to v1.14: a bincode-encoded map from
 * thread name to BPF program, little-endian, fixed-width integers.
 *
 * ```text
 * file   := map_len:u64le  entry{map_len}
 * entry  := key_len:u64le  key:bytes[key_len]  insn_count:u64le  insn{insn_count}
 * insn   := code:u16le  jt:u8  jf:u8  k:u32le
 * ```
 *
 * The reader is strict about everything (the input may come from anyone):
 * every length is range-checked as a `bigint` before it is used, a key given
 * twice and programs over the kernel's 4096 instructions are refused.
 *
 * @module
 */
import { decodeProgram, INSN_SIZE } from "../bpf/encode.ts";
import { BPF_MAXINSNS, type Program } from "../bpf/insn.ts";
import { ContainerError, decodeKey } from "./common.ts";

/** One entry to write: key bytes, instruction count and the encoded instructions. */
export interface BincodeEntry {
  /** The key, as UTF-8. */
  readonly key: Uint8Array;
  /** Instructions encoded little-endian (8 bytes each). */
  readonly body: Uint8Array;
}

/**
 * Encodes entries, in the order given (the caller sorts them).
 *
 * @example
 * ```ts
 * encodeBincode([{ key: new TextEncoder().encode("a"), body: new Uint8Array(8) }]).length; // 33
 * ```
 */
export function encodeBincode(entries: readonly BincodeEntry[]): Uint8Array {
  const size = entries.reduce((total, entry) => total + 16 + entry.key.length + entry.body.length, 8);
  const out = new Uint8Array(size);
  const view = new DataView(out.buffer);
  view.setBigUint64(0, BigInt(entries.length), true);
  let offset = 8;
  for (const { key, body } of entries) {
    view.setBigUint64(offset, BigInt(key.length), true);
    out.set(key, offset + 8);
    offset += 8 + key.length;
    view.setBigUint64(offset, BigInt(body.length / INSN_SIZE), true);
    out.set(body, offset + 8);
    offset += 8 + body.length;
  }
  return out;
}

/** One thread of a decoded bincode file. */
export interface BincodeThread {
  /** Offset of the key's first byte. */
  readonly keyOffset: number;
  /** Offset of the instruction count. */
  readonly countOffset: number;
  /** Offset of the first instruction. */
  readonly programOffset: number;
  /** The instructions, unvalidated. */
  readonly program: Program;
}

/**
 * Decodes a bincode filter file, entries in any order (Firecracker ≤ v1.2
 * wrote hash-map order). Refusals are {@link ContainerError}s with the offset
 * of the field at fault: `truncated`, `bad-map-length`, `bad-key-length`,
 * `invalid-utf8`, `program-too-long`, `bad-program-length`, `duplicate-key`,
 * `trailing-bytes`.
 *
 * @example
 * ```ts
 * decodeBincode(new Uint8Array(8)).size; // 0
 * ```
 */
export function decodeBincode(input: Uint8Array): Map<string, BincodeThread> {
  const reader = new Reader(input);
  const mapLen = reader.u64("the entry count");
  // Each entry takes at least 16 bytes (key_len + insn_count).
  const maxEntries = BigInt(Math.floor(reader.remaining / 16));
  if (mapLen > maxEntries) {
    throw new ContainerError(
      "bad-map-length",
      `file claims ${mapLen} entries but the ${reader.remaining} bytes after the count hold at most ${maxEntries}`,
      { offset: 0 },
    );
  }
  const threads = new Map<string, BincodeThread>();
  for (let index = 0; index < Number(mapLen); index++) {
    const [key, thread] = readEntry(reader, index);
    if (threads.has(key)) {
      throw new ContainerError("duplicate-key", `filter "${key}" appears twice (Firecracker would keep one silently)`, {
        offset: thread.keyOffset,
        key,
      });
    }
    threads.set(key, thread);
  }
  if (reader.remaining > 0) {
    throw new ContainerError("trailing-bytes", `${reader.remaining} unexpected bytes after the last of ${mapLen} entries`, {
      offset: reader.offset,
    });
  }
  return threads;
}

/** Reads one `key_len key insn_count insn*` entry. @private */
function readEntry(reader: Reader, index: number): [string, BincodeThread] {
  const keyLenOffset = reader.offset;
  const keyLen = reader.u64(`the name length of entry ${index}`);
  if (keyLen > BigInt(reader.remaining)) {
    throw new ContainerError(
      "bad-key-length",
      `entry ${index} claims a ${keyLen}-byte name but only ${reader.remaining} bytes remain`,
      { offset: keyLenOffset },
    );
  }
  const keyOffset = reader.offset;
  const key = decodeKey(reader.bytes(Number(keyLen)));
  if (key === undefined) {
    throw new ContainerError("invalid-utf8", `the name of entry ${index} is not valid UTF-8`, { offset: keyOffset });
  }
  const countOffset = reader.offset;
  const count = reader.u64(`the instruction count of filter "${key}"`);
  if (count > BigInt(BPF_MAXINSNS)) {
    throw new ContainerError(
      "program-too-long",
      `filter "${key}" claims ${count} instructions; the kernel accepts at most ${BPF_MAXINSNS}`,
      { offset: countOffset, key },
    );
  }
  const byteCount = count * BigInt(INSN_SIZE);
  if (byteCount > BigInt(reader.remaining)) {
    throw new ContainerError(
      "bad-program-length",
      `filter "${key}" claims ${count} instructions (${byteCount} bytes) but only ${reader.remaining} bytes remain`,
      { offset: countOffset, key },
    );
  }
  const programOffset = reader.offset;
  const program = decodeProgram(reader.bytes(Number(byteCount)), "little");
  return [key, { keyOffset, countOffset, programOffset, program }];
}

/** Bounds-checked little-endian cursor over the input. @private */
class Reader {
  offset = 0;
  readonly #input: Uint8Array;
  readonly #view: DataView;
  constructor(input: Uint8Array) {
    this.#input = input;
    this.#view = new DataView(input.buffer, input.byteOffset, input.byteLength);
  }
  get remaining(): number {
    return this.#input.length - this.offset;
  }
  /** Reads a u64 length, kept as bigint until the caller has range-checked it. */
  u64(what: string): bigint {
    if (this.remaining < 8) {
      throw new ContainerError(
        "truncated",
        `file ends inside ${what}: needed 8 bytes at offset ${this.offset}, ${this.remaining} remain`,
        { offset: this.offset },
      );
    }
    const value = this.#view.getBigUint64(this.offset, true);
    this.offset += 8;
    return value;
  }
  bytes(length: number): Uint8Array {
    const slice = this.#input.subarray(this.offset, this.offset + length);
    this.offset += length;
    return slice;
  }
}
