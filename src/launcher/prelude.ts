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
 * copy the stack frame 8 bytes lower, with RUNTIME_ENVIRONMENT before envp[0]
 * environ = the copy's envp                           ; the loader set it from the old frame
 * jmp original_entry
 * ```
 *
 * The one entry the prelude adds to the environment the runtime sees is
 * {@link RUNTIME_ENVIRONMENT}. It goes into a copy of the initial stack frame
 * (argc, argv, envp, auxv) just below the kernel's, which the runtime's
 * `_start` then reads, and the C library's `environ` (already set by the
 * dynamic loader) is pointed at it; the strings stay where the kernel put them, so
 * `/proc/self/environ`, from which `exec` and `record` take the target's
 * environment, is exactly the caller's.
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

/**
 * The environment entry the prelude gives the runtime (and only the runtime):
 * JavaScriptCore's option that turns off its heap warm-up thread
 * ("JSCWarmUp"). That thread pre-faults heap blocks for a program whose heap
 * is growing, and starts the allocator's scavenger thread; for a launcher
 * that runs a few milliseconds, it costs about 140 page faults, and `execve`
 * must then stop both threads. Without it, `exec` took 2–4 ms less
 * (docs/bench.md, third session). Bun reads `BUN_JSC_*` options from its
 * environment at start-up only, so it cannot be set from JavaScript.
 */
export const RUNTIME_ENVIRONMENT = "BUN_JSC_useWarmUpMarkedBlocks=0";

/** {@link RUNTIME_ENVIRONMENT} as the NUL-terminated bytes the prelude carries. @private */
const RUNTIME_ENVIRONMENT_BYTES = [...new TextEncoder().encode(RUNTIME_ENVIRONMENT), 0];

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
  /**
   * Address of the C library's `environ` in the executable (a copy
   * relocation of a fixed-address executable): the dynamic loader has
   * already set it from the kernel's stack, so the prelude points it at the
   * copied environment that starts with {@link RUNTIME_ENVIRONMENT}.
   */
  readonly environ: bigint;
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
  );
  // The environment entry, jumped over: its address is known when the code is placed.
  code.push(0xeb, RUNTIME_ENVIRONMENT_BYTES.length); // jmp over the string (rel8)
  const entryString = at.entry + BigInt(code.length);
  code.push(...RUNTIME_ENVIRONMENT_BYTES);
  code.push(
    // Measure the frame the kernel built: argc, argv[], NULL, envp[], NULL, auxv pairs up to AT_NULL.
    0x49, 0x89, 0xe3, // mov r11, rsp                 ; old frame
    0x49, 0x8b, 0x0b, // mov rcx, [r11]               ; argc
    0x4d, 0x8d, 0x44, 0xcb, 0x10, // lea r8, [r11+rcx*8+16]   ; &envp[0]
    0x4c, 0x89, 0xc7, // mov rdi, r8
    0x48, 0x8b, 0x07, // .env: mov rax, [rdi]
    0x48, 0x83, 0xc7, 0x08, // add rdi, 8
    0x48, 0x85, 0xc0, // test rax, rax
    0x75, 0xf4, // jnz .env                     ; past envp's NULL
    0x48, 0x8b, 0x07, // .aux: mov rax, [rdi]   ; a_type
    0x48, 0x83, 0xc7, 0x10, // add rdi, 16
    0x48, 0x85, 0xc0, // test rax, rax
    0x75, 0xf4, // jnz .aux                     ; past AT_NULL
    0x49, 0x89, 0xfa, // mov r10, rdi                 ; end of the old frame
    // The copy starts 8 bytes lower (one more pointer), rounded down to 16 as the ABI wants rsp at entry.
    0x4c, 0x89, 0xd0, // mov rax, r10
    0x4c, 0x29, 0xd8, // sub rax, r11
    0x48, 0x83, 0xc0, 0x08, // add rax, 8
    0x4c, 0x89, 0xda, // mov rdx, r11
    0x48, 0x29, 0xc2, // sub rdx, rax
    0x48, 0x83, 0xe2, 0xf0, // and rdx, -16           ; new frame, wholly below the old one
    // argc and argv[] with its NULL, then the new entry, then envp[] and auxv (the direction flag is clear at entry).
    0x4c, 0x89, 0xde, // mov rsi, r11
    0x48, 0x89, 0xd7, // mov rdi, rdx
    0x4c, 0x89, 0xc1, // mov rcx, r8
    0x4c, 0x29, 0xd9, // sub rcx, r11
    0x48, 0xc1, 0xe9, 0x03, // shr rcx, 3
    0xf3, 0x48, 0xa5, // rep movsq
    0x49, 0x89, 0xf9, // mov r9, rdi                  ; the copy's envp
    0x48, 0xb8, ...le(entryString, 8), // movabs rax, entry string
    0x48, 0xab, // stosq
    0x4c, 0x89, 0xc6, // mov rsi, r8
    0x4c, 0x89, 0xd1, // mov rcx, r10
    0x4c, 0x29, 0xc1, // sub rcx, r8
    0x48, 0xc1, 0xe9, 0x03, // shr rcx, 3
    0xf3, 0x48, 0xa5, // rep movsq
    0x48, 0x89, 0xd4, // mov rsp, rdx
    0x48, 0xb8, ...le(at.environ, 8), // movabs rax, &environ
    0x4c, 0x89, 0x08, // mov [rax], r9
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
  // The environment entry, branched over (padded to whole instructions).
  const stringWords = Math.ceil(RUNTIME_ENVIRONMENT_BYTES.length / 4);
  words.push((0x14000000 | (stringWords + 1)) >>> 0); // b over the string
  const entryString = at.entry + BigInt(4 * words.length);
  const padded = [...RUNTIME_ENVIRONMENT_BYTES, 0, 0, 0].slice(0, 4 * stringWords);
  for (let k = 0; k < stringWords; k++) words.push((padded[4 * k] | (padded[4 * k + 1] << 8) | (padded[4 * k + 2] << 16) | (padded[4 * k + 3] << 24)) >>> 0);
  words.push(
    // Measure the frame the kernel built: argc, argv[], NULL, envp[], NULL, auxv pairs up to AT_NULL.
    0x910003e9, // mov x9, sp                  ; old frame
    0xf940012a, // ldr x10, [x9]               ; argc
    0x8b0a0d2b, // add x11, x9, x10, lsl #3
    0x9100416b, // add x11, x11, #16           ; &envp[0]
    0xaa0b03ec, // mov x12, x11
    0xf840858d, // .env: ldr x13, [x12], #8
    0xb5ffffed, // cbnz x13, .env              ; past envp's NULL
    0xf841058d, // .aux: ldr x13, [x12], #16   ; a_type
    0xb5ffffed, // cbnz x13, .aux              ; past AT_NULL
    // The copy starts 8 bytes lower (one more pointer), rounded down to 16 as sp must be.
    0xcb09018e, // sub x14, x12, x9
    0x910021ce, // add x14, x14, #8
    0xcb0e012f, // sub x15, x9, x14
    0x927cedef, // and x15, x15, #~15          ; new frame, wholly below the old one
    0xaa0903f0, // mov x16, x9
    0xaa0f03f1, // mov x17, x15
    // argc and argv[] with its NULL...
    0xeb0b021f, // .head: cmp x16, x11
    0x54000080, // b.eq .insert
    0xf840860d, // ldr x13, [x16], #8
    0xf800862d, // str x13, [x17], #8
    0x17fffffc, // b .head
  );
  words.push(0xaa1103ee); // .insert: mov x14, x17   ; the copy's envp
  movImmediate(13, entryString); // the new entry...
  words.push(
    0xf800862d, // str x13, [x17], #8
    // ...then envp[] and auxv.
    0xeb0c021f, // .tail: cmp x16, x12
    0x54000080, // b.eq .done
    0xf840860d, // ldr x13, [x16], #8
    0xf800862d, // str x13, [x17], #8
    0x17fffffc, // b .tail
    0x910001ff, // .done: mov sp, x15
  );
  movImmediate(13, at.environ);
  words.push(0xf90001ae); // str x14, [x13]      ; environ = the copy's envp
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
 * const bytes = preludeBytes(getArch("x86_64"), { entry: 0x1a40780n, originalEntry: 0x1a40d00n, record: 0x6c80000n, environ: 0x6a214a0n });
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
