/**
 * The filter file of Firecracker v1.15 and later: a `BTreeMap<String, Vec<u64>>`
 * in bitcode 0.6.9's serde format, written from docs/filter-file-formats.md.
 *
 * bitcode is columnar. The file is four columns, each present only when it
 * holds at least one value:
 *
 * ```text
 * file := LENGTHS([n])                           entry count
 *         LENGTHS(key byte lengths) key bytes    (n ≥ 1)
 *         LENGTHS(program lengths)               (n ≥ 1)
 *         U64S(all instructions, concatenated)   (at least one instruction)
 * ```
 *
 * `BYTES` packs small values several to a byte (base 2, 3, 4, 6 or 16,
 * optionally offset by a minimum); `LENGTHS` writes values under 255 as bytes
 * and the rest as u64s; `U64S` picks the narrowest of 8/16/32/64 bits,
 * optionally offset by a minimum. Each instruction is one u64:
 * `code | jt << 16 | jf << 24 | k << 32`.
 *
 * The reader accepts exactly what bitcode accepts (which includes some
 * encodings bitcode never writes) and refuses the rest with the offset of the
 * field at fault. It never allocates more than the input can hold: every
 * declared count is checked against the bytes that remain before use, and
 * the instruction column is only indexed, never copied whole.
 *
 * @module
 */
import { ContainerError, decodeKey } from "./common.ts";

// ---------------------------------------------------------------------------
// Writer

/** States per value, packing code and values per byte of the `BYTES` packings, narrowest last. */
const PACKINGS = [
  { states: 256, code: 0, perByte: 1 },
  { states: 16, code: 1, perByte: 2 },
  { states: 6, code: 2, perByte: 3 },
  { states: 4, code: 3, perByte: 4 },
  { states: 3, code: 4, perByte: 5 },
  { states: 2, code: 5, perByte: 8 },
] as const;

type Packing = (typeof PACKINGS)[number];

/** The narrowest packing that can hold `x`. @private */
function packingFor(x: number): Packing {
  if (x <= 1) return PACKINGS[5];
  if (x === 2) return PACKINGS[4];
  if (x === 3) return PACKINGS[3];
  if (x <= 5) return PACKINGS[2];
  if (x <= 15) return PACKINGS[1];
  return PACKINGS[0];
}

/** Integer widths of `U64S`, in bytes, with their header codes. @private */
const WIDTH_CODE: Record<number, number> = { 8: 0, 4: 1, 2: 2, 1: 3 };

/**
 * Bytes needed for the u64 `hi · 2^32 + lo` (1, 2, 4 or 8). The writer keeps
 * each u64 as two u32 halves: a filter file holds hundreds of instructions,
 * and BigInt arithmetic on each (shifts, subtraction, eight byte extractions)
 * was most of a short-lived `compile`'s time spent writing it. @private
 */
function widthFor(hi: number, lo: number): 1 | 2 | 4 | 8 {
  if (hi !== 0) return 8;
  if (lo <= 0xff) return 1;
  if (lo <= 0xffff) return 2;
  return 4;
}

/**
 * A growing output: single bytes gather in `bytes`, and a whole column
 * (the instructions) is appended as one array, after the bytes before it.
 * @private
 */
interface Sink {
  bytes: number[];
  readonly parts: Uint8Array[];
}

/** Appends `chunk` after everything written so far. @private */
function appendChunk(sink: Sink, chunk: Uint8Array): void {
  sink.parts.push(Uint8Array.from(sink.bytes), chunk);
  sink.bytes = [];
}

/** Everything written, as one array. @private */
function sinkBytes(sink: Sink): Uint8Array {
  if (sink.parts.length === 0) return Uint8Array.from(sink.bytes);
  const tail = Uint8Array.from(sink.bytes);
  let length = tail.length;
  for (const part of sink.parts) length += part.length;
  const out = new Uint8Array(length);
  let at = 0;
  for (const part of [...sink.parts, tail]) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}

/** `BYTES`: m ≥ 1 byte values, packed. @private */
function writeBytes(sink: Sink, values: ArrayLike<number>): void {
  const m = values.length;
  if (m <= 2) {
    for (let i = 0; i < m; i++) sink.bytes.push(values[i]);
    return;
  }
  let min = 255;
  let max = 0;
  for (let i = 0; i < m; i++) {
    min = Math.min(min, values[i]);
    max = Math.max(max, values[i]);
  }
  const basic = packingFor(max);
  const offset = packingFor(max - min);
  const useOffset = offset.states < basic.states && m > 5;
  const packing = useOffset ? offset : basic;
  const base = useOffset ? min : 0;
  if (useOffset) sink.bytes.push(2 * packing.code - 1, min);
  else sink.bytes.push(2 * packing.code);
  if (packing.states === 256) {
    for (let i = 0; i < m; i++) sink.bytes.push(values[i]);
    return;
  }
  for (let start = 0; start < m; start += packing.perByte) {
    let byte = 0;
    let scale = 1;
    for (let i = start; i < Math.min(start + packing.perByte, m); i++) {
      byte += (values[i] - base) * scale;
      scale *= packing.states;
    }
    sink.bytes.push(byte);
  }
}

/** The low `width` bytes of the u64 `hi · 2^32 + lo`, little-endian. @private */
function pushLittleEndian(sink: Sink, hi: number, lo: number, width: number): void {
  for (let i = 0; i < width && i < 4; i++) sink.bytes.push((lo >>> (8 * i)) & 0xff);
  for (let i = 4; i < width; i++) sink.bytes.push((hi >>> (8 * (i - 4))) & 0xff);
}

/**
 * `U64S`: N ≥ 1 unsigned 64-bit values, at the narrowest width. The values
 * are `words`' little-endian u64s (8 bytes each), read as u32 halves. @private
 */
function writeU64s(sink: Sink, words: Uint8Array): void {
  const view = new DataView(words.buffer, words.byteOffset, words.byteLength);
  const count = words.byteLength / 8;
  let minHi = view.getUint32(4, true);
  let minLo = view.getUint32(0, true);
  let maxHi = minHi;
  let maxLo = minLo;
  for (let at = 8; at < words.byteLength; at += 8) {
    const hi = view.getUint32(at + 4, true);
    const lo = view.getUint32(at, true);
    if (hi < minHi || (hi === minHi && lo < minLo)) {
      minHi = hi;
      minLo = lo;
    }
    if (hi > maxHi || (hi === maxHi && lo > maxLo)) {
      maxHi = hi;
      maxLo = lo;
    }
  }
  const basic = widthFor(maxHi, maxLo);
  // max − min as u32 halves: the low half borrows from the high one when it is smaller.
  const borrow = maxLo < minLo ? 1 : 0;
  const offset = widthFor(maxHi - minHi - borrow, (maxLo - minLo + 0x1_0000_0000 * borrow) >>> 0);
  const useOffset = offset < basic && count > 5;
  const width = useOffset ? offset : basic;
  const [baseHi, baseLo] = useOffset ? [minHi, minLo] : [0, 0];
  if (useOffset) {
    sink.bytes.push(2 * WIDTH_CODE[width] - 1);
    pushLittleEndian(sink, minHi, minLo, 8);
  } else {
    sink.bytes.push(2 * WIDTH_CODE[width]);
  }
  // Full width and no offset: the values are the words themselves.
  if (width === 8 && !useOffset) {
    appendChunk(sink, words);
    return;
  }
  // Each value − base, as halves (value ≥ base, so the high half never goes below 0), its low
  // `width` bytes little-endian.
  // Width 1 is a nested BYTES column, packed by writeBytes from the values; wider ones go straight to bytes.
  const lows = width === 1 ? new Array<number>(count) : [];
  const out = new Uint8Array(width === 1 ? 0 : count * width);
  const outView = new DataView(out.buffer);
  for (let k = 0, at = 0; k < count; k++, at += 8) {
    const hi = view.getUint32(at + 4, true);
    const lo = view.getUint32(at, true);
    const below = lo < baseLo ? 1 : 0;
    const low = (lo - baseLo + 0x1_0000_0000 * below) >>> 0;
    if (width === 1) lows[k] = low;
    else if (width === 2) outView.setUint16(2 * k, low, true);
    else if (width === 4) outView.setUint32(4 * k, low, true);
    else {
      outView.setUint32(8 * k, low, true);
      outView.setUint32(8 * k + 4, hi - baseHi - below, true);
    }
  }
  if (width === 1) writeBytes(sink, lows);
  else appendChunk(sink, out);
}

/** Little-endian u64s, 8 bytes each, of `values`. @private */
function wordsOf(values: readonly (number | bigint)[]): Uint8Array {
  const words = new Uint8Array(8 * values.length);
  const view = new DataView(words.buffer);
  values.forEach((value, k) => view.setBigUint64(8 * k, BigInt(value), true));
  return words;
}

/** `LENGTHS`: k ≥ 1 lengths; under 255 as bytes, the rest as u64s. @private */
function writeLengths(sink: Sink, lengths: readonly number[]): void {
  writeBytes(sink, lengths.map((length) => Math.min(length, 255)));
  const large = lengths.filter((length) => length >= 255);
  if (large.length > 0) writeU64s(sink, wordsOf(large));
}

/** One map entry to write: the key's UTF-8 bytes and its u64 values. */
export interface BitcodeEntry {
  /** The key, as UTF-8. */
  readonly key: Uint8Array;
  /** Its values (instructions as u64). */
  readonly values: readonly bigint[];
}

/** One map entry to write, its u64 values as bytes: what {@link encodeBitcodeWords} takes. */
export interface BitcodeWordsEntry {
  /** The key, as UTF-8. */
  readonly key: Uint8Array;
  /** Its values, little-endian u64s of 8 bytes each (a program encoded with `encodeProgram(p, "little")`). */
  readonly words: Uint8Array;
}

/**
 * Encodes a map in bitcode's serde format, entries in the order given (a
 * Rust `BTreeMap` writes them sorted by key bytes; the caller sorts). No
 * size limit and no check of the values: this is the format layer.
 *
 * @example
 * ```ts
 * encodeBitcode([{ key: new TextEncoder().encode("vmm"), values: [5n] }]); // 01 03 76 6d 6d 01 06 05
 * ```
 */
export function encodeBitcode(entries: readonly BitcodeEntry[]): Uint8Array {
  return encodeBitcodeWords(entries.map((entry) => ({ key: entry.key, words: wordsOf(entry.values) })));
}

/**
 * {@link encodeBitcode} for values already laid out as little-endian u64s:
 * the filter file's programs, whose encoded instructions are exactly that.
 *
 * @example
 * ```ts
 * const words = new Uint8Array(8);
 * words[0] = 5;
 * encodeBitcodeWords([{ key: new TextEncoder().encode("vmm"), words }]); // 01 03 76 6d 6d 01 06 05
 * ```
 */
export function encodeBitcodeWords(entries: readonly BitcodeWordsEntry[]): Uint8Array {
  const sink: Sink = { bytes: [], parts: [] };
  writeLengths(sink, [entries.length]);
  if (entries.length > 0) {
    writeLengths(sink, entries.map((entry) => entry.key.length));
    for (const entry of entries) for (const byte of entry.key) sink.bytes.push(byte);
    writeLengths(sink, entries.map((entry) => entry.words.byteLength / 8));
    let total = 0;
    for (const entry of entries) total += entry.words.byteLength;
    if (total > 0) {
      const all = new Uint8Array(total);
      let at = 0;
      for (const entry of entries) {
        all.set(entry.words, at);
        at += entry.words.byteLength;
      }
      writeU64s(sink, all);
    }
  }
  return sinkBytes(sink);
}

// ---------------------------------------------------------------------------
// Reader

/** A `BYTES` column located in the input, read digit by digit on demand. @private */
interface ByteColumn {
  /** Number of values. */
  readonly count: number;
  /** Offset of the first payload byte. */
  readonly payload: number;
  /** States per value (256 = raw bytes). */
  readonly states: number;
  /** Values per payload byte. */
  readonly perByte: number;
  /** Added to every value, mod 256. */
  readonly min: number;
}

/** A `U64S` column located in the input. @private */
interface U64Column {
  readonly count: number;
  /** Bytes per value; 1 means the values are a nested {@link ByteColumn}. */
  readonly width: 1 | 2 | 4 | 8;
  /** Added to every value, mod 2^64. */
  readonly min: bigint;
  /** Offset of the first payload byte (width > 1). */
  readonly payload: number;
  /** The nested byte column (width 1). */
  readonly bytes?: ByteColumn;
}

/** Value `index` of a byte column. @private */
function byteAt(input: Uint8Array, column: ByteColumn, index: number): number {
  if (column.states === 256) return (input[column.payload + index] + column.min) & 0xff;
  const byte = input[column.payload + Math.floor(index / column.perByte)];
  const digit = Math.floor(byte / column.states ** (index % column.perByte)) % column.states;
  return (digit + column.min) & 0xff;
}

/** Offset of the byte that holds value `index` of a byte column. @private */
function byteOffset(column: ByteColumn, index: number): number {
  return column.payload + Math.floor(index / column.perByte);
}

/** Value `index` of a u64 column. @private */
function u64At(input: Uint8Array, column: U64Column, index: number): bigint {
  let raw: bigint;
  if (column.width === 1) {
    raw = BigInt(byteAt(input, column.bytes!, index));
  } else {
    const view = new DataView(input.buffer, input.byteOffset, input.byteLength);
    const at = column.payload + index * column.width;
    if (column.width === 8) raw = view.getBigUint64(at, true);
    else if (column.width === 4) raw = BigInt(view.getUint32(at, true));
    else raw = BigInt(view.getUint16(at, true));
  }
  return BigInt.asUintN(64, column.min + raw);
}

/** Offset of the bytes that hold value `index` of a u64 column. @private */
function u64Offset(column: U64Column, index: number): number {
  return column.width === 1 ? byteOffset(column.bytes!, index) : column.payload + index * column.width;
}

/** Lengths decoded by `LENGTHS`: small values (255 escapes to the next large one). @private */
interface LengthColumn {
  readonly small: ByteColumn;
  readonly large?: U64Column;
  /** Sum of all lengths (checked to be under 2^51 − 1). */
  readonly total: number;
}

/** Bitcode's bound on any decoded length: `isize::MAX / 4096`. @private */
const HUGE_LENGTH = (1n << 51n) - 1n;

/** Reads the columns of the input in order, refusing what bitcode refuses. @private */
class BitcodeReader {
  offset = 0;
  constructor(readonly input: Uint8Array) {}

  get remaining(): number {
    return this.input.length - this.offset;
  }

  /** Claims `length` bytes of what remains ("EOF" in bitcode). */
  take(length: number, what: string): number {
    if (length > this.remaining) {
      throw new ContainerError(
        "truncated",
        `file ends inside ${what}: needs ${length} bytes at offset ${this.offset}, ${this.remaining} remain`,
        { offset: this.offset },
      );
    }
    const start = this.offset;
    this.offset += length;
    return start;
  }

  /** `BYTES` of `count` ≥ 1 values. */
  bytes(count: number, what: string): ByteColumn {
    if (count <= 2) return { count, payload: this.take(count, what), states: 256, perByte: 1, min: 0 };
    const headerAt = this.take(1, `the packing header of ${what}`);
    const header = this.input[headerAt];
    const code = Math.ceil(header / 2);
    if (code >= PACKINGS.length) {
      throw new ContainerError("invalid-packing", `${what}: packing header ${header} is not one of 0–10`, {
        offset: headerAt,
      });
    }
    const min = header % 2 === 1 ? this.input[this.take(1, `the minimum of ${what}`)] : 0;
    const { states, perByte } = PACKINGS[code];
    const payload = this.take(Math.ceil(count / perByte), what);
    return { count, payload, states, perByte, min };
  }

  /** `U64S` of `count` ≥ 1 values. */
  u64s(count: number, what: string): U64Column {
    const headerAt = this.take(1, `the integer header of ${what}`);
    const header = this.input[headerAt];
    if (header > 6) {
      throw new ContainerError("invalid-packing", `${what}: integer header ${header} is not one of 0–6`, {
        offset: headerAt,
      });
    }
    let min = 0n;
    if (header % 2 === 1) {
      const at = this.take(8, `the minimum of ${what}`);
      min = new DataView(this.input.buffer, this.input.byteOffset, this.input.byteLength).getBigUint64(at, true);
    }
    const width = ([8, 4, 4, 2, 2, 1, 1] as const)[header];
    if (width === 1) return { count, width, min, payload: this.offset, bytes: this.bytes(count, what) };
    return { count, width, min, payload: this.take(count * width, what) };
  }

  /** `LENGTHS` of `count` ≥ 1 values. */
  lengths(count: number, what: string): LengthColumn {
    const columnAt = this.offset;
    const small = this.bytes(count, what);
    let sum = 0;
    let escapes = 0;
    for (let i = 0; i < count; i++) {
      const value = byteAt(this.input, small, i);
      if (value === 255) escapes++;
      else sum += value;
    }
    if (sum + 255 * escapes < 255) return { small, total: sum };
    const large = escapes > 0 ? this.u64s(escapes, `the large values of ${what}`) : undefined;
    let total = BigInt(sum);
    for (let i = 0; i < escapes; i++) total += u64At(this.input, large!, i);
    if (total > 0xffff_ffff_ffff_ffffn) {
      throw new ContainerError("length-overflow", `${what}: their sum is over 2^64 − 1`, { offset: columnAt });
    }
    if (total >= HUGE_LENGTH) {
      throw new ContainerError("huge-length", `${what}: total ${total} is over bitcode's limit of 2^51 − 2`, {
        offset: columnAt,
      });
    }
    return { small, large, total: Number(total) };
  }
}

/** Reads the lengths of a column in order; `offset` is where the last one read is stored. @private */
class LengthCursor {
  offset = 0;
  #index = 0;
  #large = 0;
  constructor(readonly input: Uint8Array, readonly column: LengthColumn) {}

  next(): number {
    const { small, large } = this.column;
    const index = this.#index++;
    const value = byteAt(this.input, small, index);
    if (value !== 255 || large === undefined) {
      this.offset = byteOffset(small, index);
      return value;
    }
    // Checked by the reader: the sum, and so every part, is under 2^51.
    this.offset = u64Offset(large, this.#large);
    return Number(u64At(this.input, large, this.#large++));
  }
}

/** UTF-16 code units of the valid UTF-8 in `bytes[start, end)`. @private */
function utf16Length(bytes: Uint8Array, start: number, end: number): number {
  let units = 0;
  for (let i = start; i < end; i++) {
    const byte = bytes[i];
    if ((byte & 0xc0) !== 0x80) units += byte >= 0xf0 ? 2 : 1; // lead bytes only; 4-byte sequences are surrogate pairs
  }
  return units;
}

/** One thread of a decoded bitcode file. */
export interface BitcodeThread {
  /** Offset of the key's first byte. */
  readonly keyOffset: number;
  /** Offset of the byte that holds the program length. */
  readonly lengthOffset: number;
  /** Number of values (instructions). */
  readonly count: number;
  /** Index of the first value in the file's u64 column. */
  readonly start: number;
}

/** A structurally valid bitcode file: its threads, and the column their values are read from. */
export interface BitcodeFile {
  /** Thread name → where its program is; for a key given twice, the last (as Rust's `HashMap` keeps). */
  readonly threads: Map<string, BitcodeThread>;
  /** @private */
  readonly input: Uint8Array;
  /** @private */
  readonly column?: U64Column;
}

/**
 * Decodes the structure of a bitcode `HashMap<String, Vec<u64>>`, accepting
 * exactly what bitcode 0.6.9 accepts: non-canonical packings, wrapping
 * offsets, duplicate keys (the last one wins, as in Firecracker), entries in
 * any order. Refusals are {@link ContainerError}s with the offset of the
 * field at fault: `truncated`, `invalid-packing`, `invalid-utf8`,
 * `length-overflow`, `huge-length`, `trailing-bytes`. Values are not copied;
 * read them with {@link bitcodeValues}.
 *
 * @example
 * ```ts
 * const file = decodeBitcode(Uint8Array.of(0x01, 0x03, 0x76, 0x6d, 0x6d, 0x01, 0x06, 0x05));
 * bitcodeValues(file, "vmm"); // [5n]
 * ```
 */
export function decodeBitcode(input: Uint8Array): BitcodeFile {
  const reader = new BitcodeReader(input);
  const count = reader.lengths(1, "the thread count").total;
  const threads = new Map<string, BitcodeThread>();
  if (count === 0) {
    checkEnd(reader);
    return { threads, input };
  }
  const keyLengths = reader.lengths(count, "the name lengths");
  const keysAt = reader.take(keyLengths.total, "the thread names");
  // bitcode checks every name before it reads on; so does this reader. The names are valid
  // one by one exactly when their concatenation is valid UTF-8 and no name starts inside a
  // character (on a continuation byte): one decode for all of them, however many there are.
  const keysEnd = keysAt + keyLengths.total;
  const names = decodeKey(input.subarray(keysAt, keysEnd));
  const cursor = new LengthCursor(input, keyLengths);
  for (let i = 0, at = keysAt; i < count; i++) {
    const length = cursor.next();
    if (names === undefined || (length > 0 && (input[at] & 0xc0) === 0x80)) {
      if (decodeKey(input.subarray(at, at + length)) === undefined) {
        throw new ContainerError("invalid-utf8", `thread name ${i} is not valid UTF-8`, { offset: at });
      }
    }
    at += length;
  }
  const programLengths = reader.lengths(count, "the program lengths");
  const column = programLengths.total > 0 ? reader.u64s(programLengths.total, "the instructions") : undefined;
  checkEnd(reader);
  const keyCursor = new LengthCursor(input, keyLengths);
  const programCursor = new LengthCursor(input, programLengths);
  let keyOffset = keysAt;
  let unit = 0;
  let start = 0;
  for (let i = 0; i < count; i++) {
    const keyLength = keyCursor.next();
    const units = utf16Length(input, keyOffset, keyOffset + keyLength);
    const name = names!.slice(unit, unit + units);
    const length = programCursor.next();
    threads.delete(name); // the last occurrence wins, and is listed where it appears
    threads.set(name, { keyOffset, lengthOffset: programCursor.offset, count: length, start });
    keyOffset += keyLength;
    unit += units;
    start += length;
  }
  return { threads, input, ...(column ? { column } : {}) };
}

/** Refuses bytes after the last column ("Expected EOF"). @private */
function checkEnd(reader: BitcodeReader): void {
  if (reader.remaining > 0) {
    throw new ContainerError("trailing-bytes", `${reader.remaining} unexpected bytes after the last column`, {
      offset: reader.offset,
    });
  }
}

/**
 * The u64 values of one thread of a decoded file (allocates `count` values).
 *
 * @example
 * ```ts
 * bitcodeValues(decodeBitcode(Uint8Array.of(0x01, 0x01, 0x61, 0x00)), "a"); // []
 * ```
 */
export function bitcodeValues(file: BitcodeFile, name: string): bigint[] {
  const thread = file.threads.get(name);
  if (!thread) throw new RangeError(`no thread ${JSON.stringify(name)}`);
  const values: bigint[] = [];
  for (let i = 0; i < thread.count; i++) values.push(u64At(file.input, file.column!, thread.start + i));
  return values;
}

/**
 * Offset of the bytes that hold value `index` of thread `name` (for errors
 * about one instruction).
 *
 * @example
 * ```ts
 * bitcodeValueOffset(decodeBitcode(Uint8Array.of(0x01, 0x03, 0x76, 0x6d, 0x6d, 0x01, 0x06, 0x05)), "vmm", 0); // 7
 * ```
 */
export function bitcodeValueOffset(file: BitcodeFile, name: string, index: number): number {
  const thread = file.threads.get(name)!;
  return u64Offset(file.column!, thread.start + index);
}

/**
 * The raw little-endian instruction bytes of a thread when the file stores
 * them as plain 64-bit values (every real compiled filter), else undefined.
 *
 * @example
 * ```ts
 * bitcodeRawValues(decodeBitcode(Uint8Array.of(0x01, 0x03, 0x76, 0x6d, 0x6d, 0x01, 0x06, 0x05)), "vmm"); // undefined (8-bit)
 * ```
 */
export function bitcodeRawValues(file: BitcodeFile, name: string): Uint8Array | undefined {
  const thread = file.threads.get(name)!;
  if (!file.column || file.column.width !== 8) return undefined;
  const start = file.column.payload + thread.start * 8;
  return file.input.subarray(start, start + thread.count * 8);
}
