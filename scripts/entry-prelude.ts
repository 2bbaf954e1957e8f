/**
 * Puts the entry prelude (`src/launcher/prelude.ts`) in front of a
 * `bun build --compile` executable, so that `exec` knows the soft
 * `RLIMIT_NOFILE` and the SIGPIPE/SIGXFSZ dispositions its caller gave it,
 * which Bun's native start-up overwrites before any JavaScript runs.
 *
 * The executable is changed in three places, all checked first:
 *
 * 1. **Code.** The header and the prelude's instructions go into the zero
 *    padding that precedes the executable segment in the file (the linker
 *    aligns that segment's file offset to its address). The segment is
 *    extended backwards over them: its start moves down by the same amount
 *    in file and memory, so every other byte keeps its address.
 * 2. **Record.** The `PT_NOTE` program header (the ABI tag and build id,
 *    which nothing reads at run time) becomes a small private read-write
 *    `PT_LOAD` above every other segment, where the prelude writes its
 *    record. It maps one page of the file copy-on-write; the file is never
 *    written through it.
 * 3. **Entry.** `e_entry` points at the prelude, which jumps to the old entry.
 *
 * Refuses (exit 1) when the layout is not the one this relies on: not an
 * x86_64 or aarch64 `ET_EXEC` file, no zero padding large enough, padding
 * that belongs to a section, no `PT_NOTE`, or a prelude already there. Then
 * the runtime's layout changed and the build must stop. `scripts/build.sh`
 * checks the result by running it.
 *
 * Usage: bun scripts/entry-prelude.ts FILE
 *
 * @module
 */
import { readFileSync, writeFileSync } from "node:fs";
import { type ArchName, getArch } from "../src/arch/arch.ts";
import { HEADER_MAGIC, HEADER_SIZE, type PreludePlacement, preludeBytes } from "../src/launcher/prelude.ts";
import {
  dynamicSymbol,
  elfHeader,
  ET_EXEC,
  isElf64Le,
  PF_R,
  PF_W,
  PF_X,
  programHeaders,
  PT_LOAD,
  PT_NOTE,
  sectionHeaders,
  setEntry,
  SHT_NOBITS,
  writeProgramHeader,
} from "./elf.ts";

/** The largest page size Linux uses (aarch64 with 64 KiB pages): segments are kept this far apart. */
const GRANULE = 0x10000n;
/** Bytes the record segment maps (it needs only `RECORD_SIZE`). */
const RECORD_SEGMENT_SIZE = 0x1000n;
/**
 * The file bytes the record segment maps (their content is irrelevant: the
 * prelude overwrites the record). Not the first page: Linux derives
 * `AT_PHDR` from the last `PT_LOAD` whose file range holds the program
 * header table, and the dynamic loader computes the load bias from it.
 */
const RECORD_FILE_OFFSET = GRANULE;

const MACHINES: Record<number, ArchName> = { 62: "x86_64", 183: "aarch64" };

const alignUp = (value: bigint, to: bigint) => (value + to - 1n) / to * to;
const alignDown = (value: bigint, to: bigint) => value / to * to;

/**
 * Patches `file` in memory; returns where the prelude and its record went.
 * Throws when the layout is not the expected one.
 *
 * @example
 * ```ts
 * const file = readFileSync("dist/seccompiler-linux-x64");
 * const placement = installEntryPrelude(file);
 * ```
 */
export function installEntryPrelude(file: Uint8Array): PreludePlacement & { arch: ArchName } {
  if (!isElf64Le(file)) throw new Error("not an ELF64 little-endian file");
  const header = elfHeader(file);
  const archName = MACHINES[header.machine];
  if (archName === undefined) throw new Error(`no entry prelude for ELF machine ${header.machine} (x86_64 and aarch64 only)`);
  if (header.type !== ET_EXEC) throw new Error("not a fixed-address executable (ET_EXEC): the runtime's layout changed");
  const arch = getArch(archName);
  const headers = programHeaders(file);
  const loads = headers.filter((p) => p.type === PT_LOAD);
  const text = loads.find((p) => (p.flags & PF_X) !== 0 && p.vaddr <= header.entry && header.entry < p.vaddr + p.memsz);
  if (text === undefined) throw new Error("the entry point is in no executable segment");
  const existing = header.entry - text.vaddr >= BigInt(HEADER_SIZE)
    ? new DataView(file.buffer, file.byteOffset + Number(text.offset + header.entry - text.vaddr) - HEADER_SIZE, 8).getBigUint64(0, true)
    : 0n;
  if (existing === HEADER_MAGIC) throw new Error("the executable already has an entry prelude");

  // The file bytes just before the executable segment: after the previous segment's end.
  const previousEnd = loads.filter((p) => p !== text && p.offset + p.filesz <= text.offset)
    .reduce((end, p) => (p.offset + p.filesz > end ? p.offset + p.filesz : end), 0n);
  const note = headers.find((p) => p.type === PT_NOTE);
  if (note === undefined) throw new Error("no PT_NOTE program header to turn into the record's segment");
  if (loads.some((p) => p.index > note.index)) throw new Error("PT_NOTE comes before a PT_LOAD: the record's segment would break address order");
  const phoff = header.programHeaderOffset;
  if (phoff >= RECORD_FILE_OFFSET && phoff < RECORD_FILE_OFFSET + RECORD_SEGMENT_SIZE) throw new Error("the program headers are where the record's segment maps");
  const record = alignUp(loads.reduce((end, p) => (p.vaddr + p.memsz > end ? p.vaddr + p.memsz : end), 0n), GRANULE);

  // The C library's `environ`, copied into the executable's .bss (a copy relocation) at a fixed address:
  // the prelude points it at the environment it gives the runtime.
  const environ = dynamicSymbol(file, "environ");
  if (environ === undefined || environ.size !== 8n) throw new Error("no 8-byte environ defined in the executable's dynamic symbols");
  if (!loads.some((p) => (p.flags & PF_W) !== 0 && p.vaddr <= environ.value && environ.value + 8n <= p.vaddr + p.memsz)) {
    throw new Error("environ is not in a writable segment");
  }
  // Sized with a placeholder placement: the code's length does not depend on the addresses.
  const size = BigInt(preludeBytes(arch, { entry: text.vaddr, originalEntry: text.vaddr, record, environ: environ.value }).length);
  const start = alignDown(text.offset - size, 16n);
  const moved = text.offset - start;
  if (start < previousEnd) throw new Error(`only ${text.offset - previousEnd} bytes of padding before the executable segment; the prelude needs ${size}`);
  for (let at = Number(start); at < Number(text.offset); at++) {
    if (file[at] !== 0) throw new Error(`the padding before the executable segment is not zero at file offset 0x${at.toString(16)}`);
  }
  const overlapping = sectionHeaders(file).find((s) =>
    s.type !== SHT_NOBITS && s.size > 0 && BigInt(s.offset) < text.offset && BigInt(s.offset + s.size) > start
  );
  if (overlapping !== undefined) throw new Error(`the padding before the executable segment belongs to section ${overlapping.name}`);
  const previousVaddrEnd = loads.filter((p) => p.vaddr < text.vaddr).reduce((end, p) => (p.vaddr + p.memsz > end ? p.vaddr + p.memsz : end), 0n);
  if (alignDown(text.vaddr - moved, GRANULE) < alignUp(previousVaddrEnd, GRANULE)) {
    throw new Error("extending the executable segment would share a page with the segment before it");
  }

  const placement: PreludePlacement = {
    entry: text.vaddr - moved + BigInt(HEADER_SIZE),
    originalEntry: header.entry,
    record,
    environ: environ.value,
  };
  const bytes = preludeBytes(arch, placement);
  file.set(bytes, Number(start));
  text.offset -= moved;
  text.vaddr -= moved;
  text.paddr -= moved;
  text.filesz += moved;
  text.memsz += moved;
  writeProgramHeader(file, text);
  Object.assign(note, {
    type: PT_LOAD,
    flags: PF_R | PF_W,
    offset: RECORD_FILE_OFFSET,
    vaddr: record,
    paddr: record,
    filesz: RECORD_SEGMENT_SIZE,
    memsz: RECORD_SEGMENT_SIZE,
    align: GRANULE,
  });
  writeProgramHeader(file, note);
  setEntry(file, placement.entry);
  return { ...placement, arch: archName };
}

if (import.meta.main) {
  const path = process.argv[2];
  if (path === undefined) {
    console.error("usage: bun scripts/entry-prelude.ts FILE");
    process.exit(2);
  }
  try {
    const file = readFileSync(path);
    const placed = installEntryPrelude(file);
    writeFileSync(path, file);
    const hex = (n: bigint) => `0x${n.toString(16)}`;
    console.log(`entry prelude in ${path} (${placed.arch}): entry ${hex(placed.entry)} → ${hex(placed.originalEntry)}, record at ${hex(placed.record)}, environ at ${hex(placed.environ)}`);
  } catch (error) {
    console.error(`entry-prelude: error: ${(error as Error).message}`);
    process.exit(1);
  }
}
