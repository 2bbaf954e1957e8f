/**
 * Firecracker's seccomp filter container (v0.25 – v1.14): a bincode-encoded
 * map from thread category to BPF program, little-endian, fixed-width ints.
 *
 * ```text
 * file   := map_len:u64le  entry{map_len}
 * entry  := key_len:u64le  key:bytes[key_len]  insn_count:u64le  insn{insn_count}
 * insn   := code:u16le  jt:u8  jf:u8  k:u32le
 * ```
 *
 * The writer is reproducible (entries sorted by the UTF-8 bytes of the key,
 * as a Rust `BTreeMap<String, _>` orders them). The reader accepts any entry
 * order but is strict about everything else: the input may come from anyone,
 * so every length is range-checked as a `bigint` before it is used.
 *
 * @module
 */
import { decodeProgram, encodeProgram, INSN_SIZE } from "./bpf/encode.ts";
import { BPF_MAXINSNS, type Program } from "./bpf/insn.ts";
import { validateProgram } from "./bpf/validate.ts";

/** Firecracker's `DESERIALIZATION_BYTES_LIMIT`: the default largest container accepted. */
export const DEFAULT_BYTES_LIMIT = 100_000;

/**
 * A container that cannot be written or read.
 *
 * Codes: `empty-program`, `program-too-long`, `duplicate-key`, `invalid-key`,
 * `bad-field` (writer and reader); `truncated`, `too-large`, `bad-map-length`,
 * `bad-key-length`, `invalid-utf8`, `bad-program-length`, `trailing-bytes`,
 * `invalid-program` (reader).
 *
 * @example
 * ```ts
 * declare const bytes: Uint8Array;
 * try { deserializeBinary(bytes); } catch (e) { if (e instanceof ContainerError) console.log(e.code, e.offset); }
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

/** Options for {@link deserializeBinary}. */
export interface DeserializeOptions {
  /** Largest input accepted, in bytes; checked before anything is decoded. Default 100,000 like Firecracker. */
  readonly bytesLimit?: number;
  /** Refuse programs the kernel would refuse (see `validateProgram`). Default true. */
  readonly validate?: boolean;
  /**
   * Accept 0-instruction programs, which Firecracker reads as "no filter for
   * this thread" (`--no-seccomp`). Default false: a silently unfiltered thread
   * is a hazard.
   */
  readonly allowEmpty?: boolean;
}

const utf8Encoder = new TextEncoder();

/**
 * Writes filters as a Firecracker container. Entries are sorted by the UTF-8
 * bytes of their key, so the output does not depend on insertion order.
 * Programs are not validated (Firecracker's own test fixtures are not valid
 * seccomp programs), only checked to be 1–4096 encodable instructions.
 *
 * @example
 * ```ts
 * import { BPF, stmt } from "./bpf/insn.ts";
 * serializeBinary({ api: [stmt(BPF.RET | BPF.K, 0x7fff0000)] }).length; // 35
 * ```
 */
export function serializeBinary(
  filters: ReadonlyMap<string, Program> | Readonly<Record<string, Program>>,
): Uint8Array {
  const entries = filters instanceof Map ? [...filters.entries()] : Object.entries(filters);
  const encoded = entries.map(([key, program]) => {
    const keyBytes = utf8Encoder.encode(key);
    // Lone surrogates encode as U+FFFD, which would silently rename the filter.
    if (new TextDecoder().decode(keyBytes) !== key) {
      throw new ContainerError("invalid-key", `filter name ${JSON.stringify(key)} is not well-formed Unicode`, {
        key,
      });
    }
    if (program.length === 0) {
      throw new ContainerError(
        "empty-program",
        `filter "${key}" has no instructions (Firecracker would run that thread unfiltered)`,
        { key },
      );
    }
    if (program.length > BPF_MAXINSNS) {
      throw new ContainerError(
        "program-too-long",
        `filter "${key}" has ${program.length} instructions; the kernel accepts at most ${BPF_MAXINSNS}`,
        { key },
      );
    }
    let body: Uint8Array;
    try {
      body = encodeProgram(program, "little");
    } catch (error) {
      throw new ContainerError("bad-field", `filter "${key}": ${(error as Error).message}`, { key });
    }
    return { key, keyBytes, body, count: program.length };
  });
  encoded.sort((a, b) => compareBytes(a.keyBytes, b.keyBytes));
  for (let i = 1; i < encoded.length; i++) {
    if (compareBytes(encoded[i - 1].keyBytes, encoded[i].keyBytes) === 0) {
      throw new ContainerError("duplicate-key", `filter name "${encoded[i].key}" appears twice`, {
        key: encoded[i].key,
      });
    }
  }
  const size = encoded.reduce((total, entry) => total + 16 + entry.keyBytes.length + entry.body.length, 8);
  const out = new Uint8Array(size);
  const view = new DataView(out.buffer);
  view.setBigUint64(0, BigInt(encoded.length), true);
  let offset = 8;
  for (const { keyBytes, body, count } of encoded) {
    view.setBigUint64(offset, BigInt(keyBytes.length), true);
    out.set(keyBytes, offset + 8);
    offset += 8 + keyBytes.length;
    view.setBigUint64(offset, BigInt(count), true);
    out.set(body, offset + 8);
    offset += 8 + body.length;
  }
  return out;
}

/**
 * Reads a Firecracker container, refusing anything malformed or hostile with
 * a {@link ContainerError} that names the problem and its byte offset:
 * oversized input (before any decoding), truncation, lengths that cannot fit
 * in what remains, invalid UTF-8 keys, empty or over-long programs, duplicate
 * keys, trailing bytes, and (unless `validate: false`) programs the kernel
 * would refuse. Entries may come in any order.
 *
 * @example
 * ```ts
 * const filters = deserializeBinary(Deno.readFileSync("seccomp.bpf"));
 * filters.get("vmm")?.length;
 * ```
 */
export function deserializeBinary(input: Uint8Array, options: DeserializeOptions = {}): Map<string, Program> {
  const bytesLimit = options.bytesLimit ?? DEFAULT_BYTES_LIMIT;
  if (input.length > bytesLimit) {
    throw new ContainerError(
      "too-large",
      `container is ${input.length} bytes, over the ${bytesLimit}-byte limit`,
      { offset: bytesLimit },
    );
  }
  const reader = new Reader(input);
  const mapLenOffset = reader.offset;
  const mapLen = reader.u64("the entry count");
  // Each entry takes at least 16 bytes (key_len + insn_count).
  const maxEntries = BigInt(Math.floor(reader.remaining / 16));
  if (mapLen > maxEntries) {
    throw new ContainerError(
      "bad-map-length",
      `container claims ${mapLen} entries but the ${reader.remaining} bytes after the count hold at most ${maxEntries}`,
      { offset: mapLenOffset },
    );
  }
  const filters = new Map<string, Program>();
  for (let index = 0; index < Number(mapLen); index++) {
    const { key, keyOffset, program } = readEntry(reader, index, options);
    if (filters.has(key)) {
      throw new ContainerError("duplicate-key", `filter "${key}" appears twice (Firecracker would keep one silently)`, {
        offset: keyOffset,
        key,
      });
    }
    filters.set(key, program);
  }
  if (reader.remaining > 0) {
    throw new ContainerError(
      "trailing-bytes",
      `${reader.remaining} unexpected bytes after the last of ${mapLen} entries`,
      { offset: reader.offset },
    );
  }
  return filters;
}

/** Reads and checks one `key_len key insn_count insn*` entry. @private */
function readEntry(
  reader: Reader,
  index: number,
  options: DeserializeOptions,
): { key: string; keyOffset: number; program: Program } {
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
  let key: string;
  try {
    key = new TextDecoder("utf-8", { fatal: true }).decode(reader.bytes(Number(keyLen)));
  } catch {
    throw new ContainerError("invalid-utf8", `the name of entry ${index} is not valid UTF-8`, { offset: keyOffset });
  }
  const countOffset = reader.offset;
  const count = reader.u64(`the instruction count of filter "${key}"`);
  if (count === 0n && !options.allowEmpty) {
    throw new ContainerError(
      "empty-program",
      `filter "${key}" has no instructions (Firecracker would run that thread unfiltered)`,
      { offset: countOffset, key },
    );
  }
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
  if (options.validate !== false && program.length > 0) {
    const issues = validateProgram(program);
    if (issues.length > 0) {
      const { pc, message } = issues[0];
      throw new ContainerError(
        "invalid-program",
        `filter "${key}" would be refused by the kernel: instruction ${pc}: ${message}`,
        { offset: programOffset + pc * INSN_SIZE, key },
      );
    }
  }
  return { key, keyOffset, program };
}

/** Orders byte strings lexicographically, as Rust compares `String`s. @private */
function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const length = Math.min(a.length, b.length);
  for (let i = 0; i < length; i++) {
    if (a[i] !== b[i]) return a[i] - b[i];
  }
  return a.length - b.length;
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
    this.#need(8, what);
    const value = this.#view.getBigUint64(this.offset, true);
    this.offset += 8;
    return value;
  }
  bytes(length: number): Uint8Array {
    const slice = this.#input.subarray(this.offset, this.offset + length);
    this.offset += length;
    return slice;
  }
  #need(length: number, what: string): void {
    if (this.remaining < length) {
      throw new ContainerError(
        "truncated",
        `container ends inside ${what}: needed ${length} bytes at offset ${this.offset}, ${this.remaining} remain`,
        { offset: this.offset },
      );
    }
  }
}
