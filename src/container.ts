/**
 * Firecracker filter files: thread name → BPF program, in either of the two
 * layouts Firecracker has used — `bitcode` (v1.15 and later, the default) or
 * `bincode` (v0.25 to v1.14). Every reader goes through
 * {@link deserializeBinary}, which detects the layout.
 *
 * This module is the filter layer: it turns programs into u64s or
 * instruction bytes and back, and applies this project's rules (no empty or
 * over-long programs, programs the kernel would accept, Firecracker's size
 * limit, no thread names that collide in Firecracker). The byte layouts
 * themselves are in `container/bincode.ts` and `container/bitcode.ts`.
 *
 * @module
 */
import { decodeProgram, encodeProgram, INSN_SIZE } from "./bpf/encode.ts";
import { BPF_MAXINSNS, type Instruction, type Program } from "./bpf/insn.ts";
import { validateProgram } from "./bpf/validate.ts";
import { decodeBincode, encodeBincode } from "./container/bincode.ts";
import {
  bitcodeRawValues,
  bitcodeValueOffset,
  bitcodeValues,
  decodeBitcode,
  encodeBitcodeWords,
} from "./container/bitcode.ts";
import {
  CONTAINER_FORMATS,
  ContainerError,
  type ContainerFormat,
  DEFAULT_BYTES_LIMIT,
  describeFormat,
  keyBytes,
  sortedByKey,
} from "./container/common.ts";
import { caseCollisions } from "./firecracker.ts";

export { CONTAINER_FORMATS, ContainerError, DEFAULT_BYTES_LIMIT, describeFormat };
export type { ContainerFormat };

/** Options for {@link serializeBinary}. */
export interface SerializeOptions {
  /** Layout to write. Default `bitcode`, what Firecracker v1.15 and later read. */
  readonly format?: ContainerFormat;
  /** Largest file written, in bytes (Firecracker reads at most 100,000). Default 100,000. */
  readonly bytesLimit?: number;
}

/** Options for {@link deserializeBinary} and {@link readContainer}. */
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
  /** Read this layout only. Default: detect it (and refuse bytes that are valid in both). */
  readonly format?: ContainerFormat;
}

/** What {@link readContainer} returns. */
export interface ReadContainer {
  /** The layout the file is in. */
  readonly format: ContainerFormat;
  /** Thread name → program. */
  readonly programs: Map<string, Program>;
}

/**
 * Writes filters as a Firecracker filter file, `bitcode` (v1.15+) unless
 * `options.format` says `bincode` (v0.25–v1.14). Entries are sorted by the
 * UTF-8 bytes of their key, as Firecracker's own compiler writes them, so the
 * output does not depend on insertion order. Programs are not validated
 * (Firecracker's own test fixtures are not valid seccomp programs), only
 * checked to be 1–4096 encodable instructions. Refuses thread names that
 * differ only in case (`case-collision`: Firecracker lowercases them and keeps
 * one at random) and files over `bytesLimit` (`too-large`).
 *
 * @example
 * ```ts
 * import { BPF, stmt } from "./bpf/insn.ts";
 * serializeBinary({ api: [stmt(BPF.RET | BPF.K, 0x7fff0000)] }).length; // 15
 * serializeBinary({ api: [stmt(BPF.RET | BPF.K, 0x7fff0000)] }, { format: "bincode" }).length; // 35
 * ```
 */
export function serializeBinary(
  filters: ReadonlyMap<string, Program> | Readonly<Record<string, Program>>,
  options: SerializeOptions = {},
): Uint8Array {
  const format = options.format ?? "bitcode";
  if (!CONTAINER_FORMATS.includes(format)) {
    throw new ContainerError("unknown-format", `unknown filter file format ${JSON.stringify(format)}; expected bitcode or bincode`);
  }
  const entries = (filters instanceof Map ? [...filters.entries()] : Object.entries(filters)).map(([key, program]) => {
    const bytes = keyBytes(key);
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
    return { key, bytes, body };
  });
  const sorted = sortedByKey(entries);
  const [collision] = caseCollisions(sorted.map((entry) => entry.key));
  if (collision) {
    throw new ContainerError(
      "case-collision",
      `filter names ${JSON.stringify(collision[0])} and ${JSON.stringify(collision[1])} differ only in case; ` +
        `Firecracker lowercases names and would keep one of the two at random`,
      { key: collision[1] },
    );
  }
  const out = format === "bincode"
    ? encodeBincode(sorted.map(({ bytes, body }) => ({ key: bytes, body })))
    : encodeBitcodeWords(sorted.map(({ bytes, body }) => ({ key: bytes, words: body })));
  const bytesLimit = options.bytesLimit ?? DEFAULT_BYTES_LIMIT;
  if (out.length > bytesLimit) {
    throw new ContainerError(
      "too-large",
      `the filter file would be ${out.length} bytes, over the ${bytesLimit}-byte limit Firecracker reads`,
    );
  }
  return out;
}

/** The instruction a bitcode u64 stands for. @private */
function instructionOf(value: bigint): Instruction {
  const low = Number(value & 0xffff_ffffn);
  return { code: low & 0xffff, jt: (low >>> 16) & 0xff, jf: low >>> 24, k: Number(value >> 32n) };
}

/** A thread after structural decoding, in either layout. @private */
interface DecodedThread {
  readonly key: string;
  /** Offset of the field holding the instruction count. */
  readonly countOffset: number;
  readonly count: number;
  /** Builds the program (allocates `count` instructions). */
  readonly program: () => Program;
  /** Offset of instruction `pc`. */
  readonly offsetOf: (pc: number) => number;
}

/** Structural decoding of one layout; throws ContainerError. @private */
function decodeStructure(input: Uint8Array, format: ContainerFormat): DecodedThread[] {
  if (format === "bincode") {
    return [...decodeBincode(input)].map(([key, thread]) => ({
      key,
      countOffset: thread.countOffset,
      count: thread.program.length,
      program: () => thread.program,
      offsetOf: (pc) => thread.programOffset + pc * INSN_SIZE,
    }));
  }
  const file = decodeBitcode(input);
  return [...file.threads].map(([key, thread]) => ({
    key,
    countOffset: thread.lengthOffset,
    count: thread.count,
    program: () => {
      const raw = bitcodeRawValues(file, key);
      return raw ? decodeProgram(raw, "little") : bitcodeValues(file, key).map(instructionOf);
    },
    offsetOf: (pc) => bitcodeValueOffset(file, key, pc),
  }));
}

/**
 * The layout of `input`, decided by structure alone: the one layout it
 * decodes in. Bytes that decode in both are refused (`ambiguous-format`)
 * rather than guessed; bytes that decode in neither get the error of the
 * layout that read further (its code and offset), naming both.
 *
 * @private
 */
function detect(input: Uint8Array): { format: ContainerFormat; threads: DecodedThread[] } {
  const results = CONTAINER_FORMATS.map((format) => {
    try {
      return { format, threads: decodeStructure(input, format) };
    } catch (error) {
      if (!(error instanceof ContainerError)) throw error;
      return { format, error };
    }
  });
  const decoded = results.filter((result) => result.threads !== undefined);
  if (decoded.length === 1) return { format: decoded[0].format, threads: decoded[0].threads! };
  if (decoded.length > 1) {
    throw new ContainerError(
      "ambiguous-format",
      `these ${input.length} bytes are a valid filter file in both layouts (${
        CONTAINER_FORMATS.map(describeFormat).join(" and ")
      }); name the layout with --container bitcode|bincode (library: the format option)`,
      { offset: 0 },
    );
  }
  const failures = results.map((result) => ({ format: result.format, error: result.error! }));
  failures.sort((a, b) => (b.error.offset ?? 0) - (a.error.offset ?? 0));
  const [best, other] = failures;
  const describe = (f: typeof best) => `as ${f.format} (${describeFormat(f.format)}): ${f.error.message} (at byte ${f.error.offset ?? 0})`;
  throw new ContainerError(best.error.code, `not a filter file in either layout; ${describe(best)}; ${describe(other)}`, {
    offset: best.error.offset ?? 0,
    ...(best.error.key !== undefined ? { key: best.error.key } : {}),
  });
}

/**
 * Reads a Firecracker filter file in either layout and says which it was.
 * Without `options.format` the layout is detected from the structure of the
 * bytes; bytes valid in both layouts are refused (`ambiguous-format`) unless
 * the layout is named. Everything malformed or hostile is refused with a
 * {@link ContainerError} naming the problem and its byte offset: oversized
 * input (checked before any decoding), truncation, lengths that cannot fit in
 * what remains, invalid UTF-8 names, empty or over-long programs, trailing
 * bytes, and (unless `validate: false`) programs the kernel would refuse.
 *
 * Beyond that, each layout is read as Firecracker reads it: entries in any
 * order; in bitcode, every encoding bitcode accepts, and a name given twice
 * keeps its last program (bincode files with a name given twice are refused).
 *
 * @example
 * ```ts
 * const { format, programs } = readContainer(Deno.readFileSync("seccomp.bpf"));
 * console.log(format, programs.get("vmm")?.length);
 * ```
 */
export function readContainer(input: Uint8Array, options: DeserializeOptions = {}): ReadContainer {
  const bytesLimit = options.bytesLimit ?? DEFAULT_BYTES_LIMIT;
  if (input.length > bytesLimit) {
    throw new ContainerError("too-large", `filter file is ${input.length} bytes, over the ${bytesLimit}-byte limit`, {
      offset: bytesLimit,
    });
  }
  if (options.format !== undefined && !CONTAINER_FORMATS.includes(options.format)) {
    throw new ContainerError("unknown-format", `unknown filter file format ${JSON.stringify(options.format)}; expected bitcode or bincode`);
  }
  const { format, threads } = options.format
    ? { format: options.format, threads: decodeStructure(input, options.format) }
    : detect(input);
  const programs = new Map<string, Program>();
  for (const thread of threads) {
    const { key, count } = thread;
    if (count === 0 && !options.allowEmpty) {
      throw new ContainerError(
        "empty-program",
        `filter "${key}" has no instructions (Firecracker would run that thread unfiltered)`,
        { offset: thread.countOffset, key },
      );
    }
    if (count > BPF_MAXINSNS) {
      throw new ContainerError(
        "program-too-long",
        `filter "${key}" has ${count} instructions; the kernel accepts at most ${BPF_MAXINSNS}`,
        { offset: thread.countOffset, key },
      );
    }
    const program = thread.program();
    if (options.validate !== false && program.length > 0) {
      const issues = validateProgram(program);
      if (issues.length > 0) {
        const { pc, message } = issues[0];
        throw new ContainerError(
          "invalid-program",
          `filter "${key}" would be refused by the kernel: instruction ${pc}: ${message}`,
          { offset: thread.offsetOf(pc), key },
        );
      }
    }
    programs.set(key, program);
  }
  return { format, programs };
}

/**
 * Reads a Firecracker filter file in either layout (see {@link readContainer},
 * which also says which layout it was).
 *
 * @example
 * ```ts
 * const filters = deserializeBinary(Deno.readFileSync("seccomp.bpf"));
 * filters.get("vmm")?.length;
 * ```
 */
export function deserializeBinary(input: Uint8Array, options: DeserializeOptions = {}): Map<string, Program> {
  return readContainer(input, options).programs;
}
