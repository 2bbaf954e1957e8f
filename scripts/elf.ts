/**
 * Just enough of the ELF64 little-endian format for the build scripts that
 * patch `bun build --compile` executables (`harden-executable.ts`,
 * `entry-prelude.ts`): the file header's fields, program headers and section
 * headers, read from and written to the file's bytes.
 *
 * @module
 */

/** `PT_LOAD`: a segment mapped into memory. */
export const PT_LOAD = 1;
/** `PT_NOTE`: auxiliary notes (ABI tag, build id); nothing needs them at run time. */
export const PT_NOTE = 4;
/** Segment permission bits. */
export const PF_X = 1, PF_W = 2, PF_R = 4;
/** `ET_EXEC`: an executable loaded at fixed addresses (not position-independent). */
export const ET_EXEC = 2;
/** `SHT_NOBITS`: a section that occupies no bytes of the file (`.bss`). */
export const SHT_NOBITS = 8;

/** One program header; offsets and addresses as bigint, as the file holds them. */
export interface ProgramHeader {
  /** Index in the program header table. */
  readonly index: number;
  type: number;
  flags: number;
  offset: bigint;
  vaddr: bigint;
  paddr: bigint;
  filesz: bigint;
  memsz: bigint;
  align: bigint;
}

/** One section header's name, type and place in the file. */
export interface SectionHeader {
  readonly name: string;
  readonly type: number;
  readonly offset: number;
  readonly size: number;
}

/** The file header fields the scripts use. */
export interface ElfHeader {
  /** `e_type` (`ET_EXEC`, `ET_DYN`, ...). */
  readonly type: number;
  /** `e_machine`: 62 for x86_64, 183 for aarch64. */
  readonly machine: number;
  /** `e_entry`. */
  readonly entry: bigint;
  /** `e_phoff`: where the program header table starts in the file. */
  readonly programHeaderOffset: bigint;
}

/** A DataView over the whole file. @private */
function viewOf(file: Uint8Array): DataView {
  return new DataView(file.buffer, file.byteOffset, file.byteLength);
}

/**
 * Whether `file` starts like an ELF64 little-endian object.
 *
 * @example
 * ```ts
 * isElf64Le(new Uint8Array([0x7f, 0x45, 0x4c, 0x46, 2, 1])); // true
 * ```
 */
export function isElf64Le(file: Uint8Array): boolean {
  return file.length >= 64 && file[0] === 0x7f && file[1] === 0x45 && file[2] === 0x4c && file[3] === 0x46 && file[4] === 2 &&
    file[5] === 1;
}

/**
 * The file header's type, machine and entry point.
 *
 * @example
 * ```ts
 * import { readFileSync } from "node:fs";
 * elfHeader(readFileSync("dist/seccompiler-linux-x64")).machine; // 62
 * ```
 */
export function elfHeader(file: Uint8Array): ElfHeader {
  const view = viewOf(file);
  return {
    type: view.getUint16(0x10, true),
    machine: view.getUint16(0x12, true),
    entry: view.getBigUint64(0x18, true),
    programHeaderOffset: view.getBigUint64(0x20, true),
  };
}

/**
 * Sets `e_entry`.
 *
 * @example
 * ```ts
 * setEntry(file, 0x1a40780n);
 * ```
 */
export function setEntry(file: Uint8Array, entry: bigint): void {
  viewOf(file).setBigUint64(0x18, entry, true);
}

/**
 * Every program header, in table order.
 *
 * @example
 * ```ts
 * import { readFileSync } from "node:fs";
 * programHeaders(readFileSync("dist/seccompiler-linux-x64")).filter((p) => p.type === PT_LOAD).length; // 3
 * ```
 */
export function programHeaders(file: Uint8Array): ProgramHeader[] {
  const view = viewOf(file);
  const phoff = Number(elfHeader(file).programHeaderOffset);
  const phentsize = view.getUint16(0x36, true);
  const phnum = view.getUint16(0x38, true);
  const headers: ProgramHeader[] = [];
  for (let index = 0; index < phnum; index++) {
    const at = phoff + index * phentsize;
    headers.push({
      index,
      type: view.getUint32(at, true),
      flags: view.getUint32(at + 4, true),
      offset: view.getBigUint64(at + 8, true),
      vaddr: view.getBigUint64(at + 16, true),
      paddr: view.getBigUint64(at + 24, true),
      filesz: view.getBigUint64(at + 32, true),
      memsz: view.getBigUint64(at + 40, true),
      align: view.getBigUint64(at + 48, true),
    });
  }
  return headers;
}

/**
 * Writes `header` back into its slot of the program header table.
 *
 * @example
 * ```ts
 * const [first] = programHeaders(file);
 * writeProgramHeader(file, first);
 * ```
 */
export function writeProgramHeader(file: Uint8Array, header: ProgramHeader): void {
  const view = viewOf(file);
  const at = Number(elfHeader(file).programHeaderOffset) + header.index * view.getUint16(0x36, true);
  view.setUint32(at, header.type, true);
  view.setUint32(at + 4, header.flags, true);
  view.setBigUint64(at + 8, header.offset, true);
  view.setBigUint64(at + 16, header.vaddr, true);
  view.setBigUint64(at + 24, header.paddr, true);
  view.setBigUint64(at + 32, header.filesz, true);
  view.setBigUint64(at + 40, header.memsz, true);
  view.setBigUint64(at + 48, header.align, true);
}

/**
 * Every section header, with its name from the section name table.
 *
 * @example
 * ```ts
 * import { readFileSync } from "node:fs";
 * sectionHeaders(readFileSync("dist/seccompiler-linux-x64")).find((s) => s.name === ".bun");
 * ```
 */
export function sectionHeaders(file: Uint8Array): SectionHeader[] {
  const view = viewOf(file);
  const shoff = Number(view.getBigUint64(0x28, true));
  const shentsize = view.getUint16(0x3a, true);
  const shnum = view.getUint16(0x3c, true);
  const shstrndx = view.getUint16(0x3e, true);
  const header = (i: number) => shoff + i * shentsize;
  const strtab = Number(view.getBigUint64(header(shstrndx) + 0x18, true));
  const decoder = new TextDecoder();
  const sections: SectionHeader[] = [];
  for (let i = 0; i < shnum; i++) {
    const nameOffset = strtab + view.getUint32(header(i), true);
    sections.push({
      name: decoder.decode(file.subarray(nameOffset, file.indexOf(0, nameOffset))),
      type: view.getUint32(header(i) + 4, true),
      offset: Number(view.getBigUint64(header(i) + 0x18, true)),
      size: Number(view.getBigUint64(header(i) + 0x20, true)),
    });
  }
  return sections;
}

/** A symbol of the dynamic symbol table: its address, size and section index (0: undefined, imported). */
export interface DynamicSymbol {
  readonly value: bigint;
  readonly size: bigint;
  readonly section: number;
}

/**
 * The first symbol named `name` in `.dynsym` that the file itself defines
 * (section index not 0), or undefined. For a fixed-address executable its
 * value is the address the variable or function has at run time; a libc
 * variable the executable uses (`environ`) lives there through a copy
 * relocation.
 *
 * @example
 * ```ts
 * import { readFileSync } from "node:fs";
 * dynamicSymbol(readFileSync("dist/seccompiler-linux-x64"), "environ")?.value;
 * ```
 */
export function dynamicSymbol(file: Uint8Array, name: string): DynamicSymbol | undefined {
  const sections = sectionHeaders(file);
  const symbols = sections.find((s) => s.name === ".dynsym");
  const strings = sections.find((s) => s.name === ".dynstr");
  if (symbols === undefined || strings === undefined) return undefined;
  const view = viewOf(file);
  const wanted = new TextEncoder().encode(name);
  const SYMBOL_SIZE = 24;
  for (let at = symbols.offset; at + SYMBOL_SIZE <= symbols.offset + symbols.size; at += SYMBOL_SIZE) {
    const nameAt = strings.offset + view.getUint32(at, true);
    const section = view.getUint16(at + 6, true);
    if (section === 0 || file[nameAt + wanted.length] !== 0) continue;
    if (!wanted.every((byte, i) => file[nameAt + i] === byte)) continue;
    return { value: view.getBigUint64(at + 8, true), size: view.getBigUint64(at + 16, true), section };
  }
  return undefined;
}
