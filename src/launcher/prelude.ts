/**
 * The entry prelude of the standalone executable: a few machine instructions
 * that run before the Bun runtime and record what the runtime is about to
 * change, so that `exec` can give the target the process it would have had.
 *
 * Bun raises the soft `RLIMIT_NOFILE` to the hard limit and sets SIGPIPE and
 * SIGXFSZ to "ignore" in native code, before any JavaScript runs, and keeps
 * no record of the old values. The sh wrapper records them itself
 * (`handover.ts`); the standalone executable has no wrapper. So the build
 * (`scripts/entry-prelude.ts`) puts this prelude at the executable's ELF entry
 * point. It makes three read-only system calls, stores their results in a
 * private page of its own, then jumps to the runtime's real entry point with
 * the registers the dynamic loader handed over (`rdx` / `x0`) untouched:
 *
 * ```text
 * prlimit64(0, RLIMIT_NOFILE, NULL, &record.nofile)   ; soft and hard, as the caller left them
 * rt_sigaction(SIGPIPE, NULL, &record.signal[0], 8)   ; old disposition
 * rt_sigaction(SIGXFSZ, NULL, &record.signal[1], 8)
 * record.magic = RECORD_MAGIC                         ; last: the record is complete
 * jmp original_entry
 * ```
 *
 * The launcher finds the record through the auxiliary vector: `AT_ENTRY` is
 * the prelude, and the 16 bytes just before it hold {@link HEADER_MAGIC} and
 * the record's address. Both are read through `/proc/self/mem`, which needs no
 * FFI. Nothing the caller controls (environment, files, arguments) reaches
 * the record: it is written by the first instructions the process runs.
 *
 * Record layout (little-endian u64 words, offsets in bytes):
 *
 * ```text
 *  0  RECORD_MAGIC
 *  8  prlimit64 result (0 or -errno)
 * 16  soft RLIMIT_NOFILE   24  hard RLIMIT_NOFILE
 * 32 + 48 i  rt_sigaction result for RUNTIME_IGNORED_SIGNALS[i]
 * 40 + 48 i  the kernel's struct sigaction (handler first; 32 bytes)
 * ```
 *
 * @module
 */
import { type FileAccess, LINUX_FILE_FLAGS, nodeFileAccess } from "../files.ts";
import { type ArchInfo, syscallNumber } from "../arch/arch.ts";
import { AT_ENTRY, auxiliaryVector } from "./auxv.ts";

/** "SCPRELUD": marks the 16-byte header just before the prelude's first instruction. */
export const HEADER_MAGIC = 0x44554c4552504353n;
/** "SCRECORD": written last by the prelude, so a record with it is complete. */
export const RECORD_MAGIC = 0x44524f4345524353n;
/**
 * Signals Bun or Deno set to SIG_IGN at start-up (SIGPIPE 13, SIGXFSZ 25):
 * the ones whose start-up disposition the prelude records.
 */
export const RUNTIME_IGNORED_SIGNALS: readonly number[] = [13, 25];
/**
 * Where each field lives in the record (byte offsets), written once for the
 * code generators and the reader.
 */
const RECORD = {
  magic: 0,
  limitResult: 8,
  limitSoft: 16,
  /** The `rt_sigaction` result for `RUNTIME_IGNORED_SIGNALS[i]`; the old action follows 8 bytes later. */
  signalResult: (i: number) => 32 + 48 * i,
  signalAction: (i: number) => 40 + 48 * i,
} as const;
/** Bytes of the record: the fixed words, then 48 per signal (result and the kernel's 32-byte sigaction). */
export const RECORD_SIZE = RECORD.signalResult(RUNTIME_IGNORED_SIGNALS.length);
/** Bytes of the header in front of the prelude's code. */
export const HEADER_SIZE = 16;

const RLIMIT_NOFILE = 7;
const SIG_IGN = 1n;

/** Where the prelude lives and where it goes, in the process's address space. */
export interface PreludePlacement {
  /** Address of the prelude's first instruction (the new ELF entry point). */
  readonly entry: bigint;
  /** The runtime's original entry point, jumped to at the end. */
  readonly originalEntry: bigint;
  /** Address of the writable record ({@link RECORD_SIZE} bytes). */
  readonly record: bigint;
}

/** Little-endian bytes of `value` in `size` bytes. @private */
function le(value: bigint, size: number): number[] {
  const out: number[] = [];
  for (let i = 0; i < size; i++) out.push(Number((value >> BigInt(8 * i)) & 0xffn));
  return out;
}

/** x86_64 code. `rbx` holds the record's address; `r12` keeps `rdx` (the loader's `atexit` function). @private */
function x86_64Code(at: PreludePlacement, nr: { prlimit64: number; rt_sigaction: number }): number[] {
  const code: number[] = [
    0xf3, 0x0f, 0x1e, 0xfa, // endbr64: a landing pad should indirect-branch tracking ever be on (a no-op otherwise)
    0x49, 0x89, 0xd4, // mov r12, rdx
    0x48, 0xbb, ...le(at.record, 8), // movabs rbx, record
    0xb8, ...le(BigInt(nr.prlimit64), 4), // mov eax, SYS_prlimit64
    0x31, 0xff, // xor edi, edi           ; this process
    0xbe, ...le(BigInt(RLIMIT_NOFILE), 4), // mov esi, RLIMIT_NOFILE
    0x31, 0xd2, // xor edx, edx           ; no new limit
    0x4c, 0x8d, 0x53, RECORD.limitSoft, // lea r10, [rbx+limitSoft] ; old limit
    0x0f, 0x05, // syscall
    0x48, 0x89, 0x43, RECORD.limitResult, // mov [rbx+limitResult], rax
  ];
  RUNTIME_IGNORED_SIGNALS.forEach((signal, i) => {
    code.push(
      0xb8, ...le(BigInt(nr.rt_sigaction), 4), // mov eax, SYS_rt_sigaction
      0xbf, ...le(BigInt(signal), 4), // mov edi, signal
      0x31, 0xf6, // xor esi, esi           ; no new action
      0x48, 0x8d, 0x53, RECORD.signalAction(i), // lea rdx, [rbx+action] ; old action
      0x41, 0xba, ...le(8n, 4), // mov r10d, 8          ; sigsetsize
      0x0f, 0x05, // syscall
      0x48, 0x89, 0x43, RECORD.signalResult(i), // mov [rbx+result], rax
    );
  });
  code.push(
    0x48, 0xb8, ...le(RECORD_MAGIC, 8), // movabs rax, RECORD_MAGIC
    0x48, 0x89, 0x43, RECORD.magic, // mov [rbx+magic], rax
    0x4c, 0x89, 0xe2, // mov rdx, r12
  );
  // jmp rel32 to the original entry, relative to the end of this 5-byte instruction.
  const jumpEnd = at.entry + BigInt(code.length + 5);
  const relative = at.originalEntry - jumpEnd;
  if (relative < -(1n << 31n) || relative >= 1n << 31n) throw new RangeError("the original entry point is out of jmp rel32 range");
  code.push(0xe9, ...le(BigInt.asUintN(32, relative), 4));
  return code;
}

/** aarch64 code. `x20` holds the record's address; `x19` keeps `x0` (the loader's `atexit` function). @private */
function aarch64Code(at: PreludePlacement, nr: { prlimit64: number; rt_sigaction: number }): number[] {
  const words: number[] = [];
  const movImmediate = (rd: number, value: bigint) => {
    for (let hw = 0; hw < 4; hw++) {
      const chunk = Number((value >> BigInt(16 * hw)) & 0xffffn);
      // movz for the first half-word, movk for the others.
      words.push(((hw === 0 ? 0xd2800000 : 0xf2800000) | (hw << 21) | (chunk << 5) | rd) >>> 0);
    }
  };
  const movSmall = (rd: number, value: number) => words.push((0xd2800000 | (value << 5) | rd) >>> 0); // movz xd, #value
  const addImmediate = (rd: number, rn: number, value: number) => words.push((0x91000000 | (value << 10) | (rn << 5) | rd) >>> 0);
  const store = (rt: number, rn: number, offset: number) => words.push((0xf9000000 | ((offset / 8) << 10) | (rn << 5) | rt) >>> 0);
  const svc = () => words.push(0xd4000001);
  words.push(0xd50324df); // bti jc: a landing pad should the pages ever be BTI-guarded (a no-op otherwise)
  words.push(0xaa0003f3); // mov x19, x0
  movImmediate(20, at.record);
  movSmall(0, 0); // this process
  movSmall(1, RLIMIT_NOFILE);
  movSmall(2, 0); // no new limit
  addImmediate(3, 20, RECORD.limitSoft); // old limit
  movSmall(8, nr.prlimit64);
  svc();
  store(0, 20, RECORD.limitResult);
  RUNTIME_IGNORED_SIGNALS.forEach((signal, i) => {
    movSmall(0, signal);
    movSmall(1, 0); // no new action
    addImmediate(2, 20, RECORD.signalAction(i)); // old action
    movSmall(3, 8); // sigsetsize
    movSmall(8, nr.rt_sigaction);
    svc();
    store(0, 20, RECORD.signalResult(i));
  });
  movImmediate(0, RECORD_MAGIC);
  store(0, 20, RECORD.magic);
  words.push(0xaa1303e0); // mov x0, x19
  const branchAt = at.entry + BigInt(4 * words.length);
  const relative = (at.originalEntry - branchAt) / 4n;
  if (relative < -(1n << 25n) || relative >= 1n << 25n) throw new RangeError("the original entry point is out of b range");
  words.push((0x14000000 | Number(BigInt.asUintN(26, relative))) >>> 0); // b original_entry
  return words.flatMap((word) => le(BigInt(word), 4));
}

/**
 * The bytes to place at `placement.entry - HEADER_SIZE`: the header
 * ({@link HEADER_MAGIC}, record address) followed by the prelude's code.
 *
 * @example
 * ```ts
 * import { getArch } from "../arch/arch.ts";
 * const bytes = preludeBytes(getArch("x86_64"), { entry: 0x1a40780n, originalEntry: 0x1a40d00n, record: 0x6c80000n });
 * bytes.length; // header and code
 * ```
 */
export function preludeBytes(arch: ArchInfo, placement: PreludePlacement): Uint8Array {
  const numbers = { prlimit64: syscallNumber(arch, "prlimit64")!, rt_sigaction: syscallNumber(arch, "rt_sigaction")! };
  let code: number[];
  if (arch.name === "x86_64") code = x86_64Code(placement, numbers);
  else if (arch.name === "aarch64") code = aarch64Code(placement, numbers);
  else throw new RangeError(`no entry prelude for ${arch.name}: the standalone executable is built for x86_64 and aarch64`);
  return Uint8Array.from([...le(HEADER_MAGIC, 8), ...le(placement.record, 8), ...code]);
}

/** What the prelude found at start, before the runtime changed it. */
export interface StartState {
  /** Soft `RLIMIT_NOFILE` at start. */
  readonly nofileSoft: bigint;
  /**
   * The signals of {@link RUNTIME_IGNORED_SIGNALS} ignored at start, as a
   * `SigIgn` mask (bit n−1 for signal n); the prelude knows no others.
   */
  readonly ignored: bigint;
}

/** Reads `length` bytes of this process's memory at `address`; `undefined` if unreadable. @private */
function readOwnMemory(files: FileAccess, fd: number, address: bigint, length: number): DataView | undefined {
  const buffer = new Uint8Array(length);
  try {
    if (files.readSync(fd, buffer, 0, length, Number(address)) !== length) return undefined;
  } catch {
    return undefined;
  }
  return new DataView(buffer.buffer);
}

/**
 * The start state the entry prelude recorded, or `undefined` when this
 * process did not start through one (run from source, by Deno, or a build
 * without it) or the record is incomplete. Only on little-endian hosts with a
 * prelude (x86_64, aarch64).
 *
 * @example
 * ```ts
 * const state = readStartState();
 * if (state !== undefined) console.log(`soft RLIMIT_NOFILE at start: ${state.nofileSoft}`);
 * ```
 */
export function readStartState(files: FileAccess = nodeFileAccess()): StartState | undefined {
  if (process.arch !== "x64" && process.arch !== "arm64") return undefined;
  let fd: number | undefined;
  try {
    const entry = auxiliaryVector(true, files).get(AT_ENTRY);
    if (entry === undefined || entry < BigInt(HEADER_SIZE)) return undefined;
    fd = files.openSync("/proc/self/mem", LINUX_FILE_FLAGS.O_RDONLY);
    const header = readOwnMemory(files, fd, entry - BigInt(HEADER_SIZE), HEADER_SIZE);
    if (header === undefined || header.getBigUint64(0, true) !== HEADER_MAGIC) return undefined;
    const record = readOwnMemory(files, fd, header.getBigUint64(8, true), RECORD_SIZE);
    if (record === undefined) return undefined;
    if (record.getBigUint64(RECORD.magic, true) !== RECORD_MAGIC) return undefined;
    if (record.getBigInt64(RECORD.limitResult, true) !== 0n) return undefined;
    let ignored = 0n;
    for (const [i, signal] of RUNTIME_IGNORED_SIGNALS.entries()) {
      if (record.getBigInt64(RECORD.signalResult(i), true) !== 0n) return undefined;
      // The handler is the first word of the kernel's struct sigaction.
      if (record.getBigUint64(RECORD.signalAction(i), true) === SIG_IGN) ignored |= 1n << BigInt(signal - 1);
    }
    return { nofileSoft: record.getBigUint64(RECORD.limitSoft, true), ignored };
  } catch {
    return undefined;
  } finally {
    if (fd !== undefined) files.closeSync(fd);
  }
}
