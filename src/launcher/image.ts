/**
 * The `execve` arguments in C form, built before the filter is installed so
 * that nothing needs allocating (or can fail) between `seccomp()` and
 * `execve()`.
 *
 * The path, the `argv` table (with its strings) and the `envp` table (with its
 * strings) each live in their own anonymous mapping, placed with
 * `MAP_FIXED_NOREPLACE` at an address drawn uniformly from the whole user
 * address space, at a random 16-byte offset inside its first page. The exec
 * guard allows only an `execve` whose three arguments are exactly these three
 * addresses, so a target would have to guess all three at once.
 *
 * @module
 */
import { type FileAccess, nodeFileAccess, readTextFile } from "../files.ts";
import { archEndian, type ArchInfo, hostArch, syscallNumber } from "../arch/arch.ts";
import type { Libc } from "../install/mod.ts";
import { AT_PAGESZ, AT_RANDOM, auxiliaryVector } from "./auxv.ts";

/** The three `execve` arguments, in memory, with their addresses. */
export interface ExecImage {
  /** The program path as given to `execve` (for messages). */
  readonly path: Uint8Array;
  /** Address of the NUL-terminated path. */
  readonly pathAddress: bigint;
  /** Address of `char *argv[]` (ending in 0). */
  readonly argvAddress: bigint;
  /** Address of `char *envp[]` (ending in 0). */
  readonly envpAddress: bigint;
  /** The three mappings, for `--dry-run` and tests. */
  readonly mappings: readonly Mapping[];
}

/** One anonymous mapping holding part of the image. */
export interface Mapping {
  /** Page-aligned start. */
  readonly start: bigint;
  /** Length in bytes (whole pages). */
  readonly length: number;
}

/** What goes into the image: raw bytes, no NUL inside any of them. */
export interface ExecImageInput {
  /** The resolved program path. */
  readonly path: Uint8Array;
  /** `argv` strings, `argv[0]` first. */
  readonly argv: readonly Uint8Array[];
  /** `envp` strings (`NAME=value`, or whatever the launcher received). */
  readonly envp: readonly Uint8Array[];
}

/**
 * Thrown when the image cannot be built: a NUL byte in a string, or no free
 * random address found.
 *
 * @example
 * ```ts
 * throw new ImageError("argument 2 contains a NUL byte");
 * ```
 */
export class ImageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ImageError";
  }
}

/** Source of randomness: fills the array (tests may pass a deterministic one). */
export type RandomSource = (words: BigUint64Array<ArrayBuffer>) => void;

/** `crypto.getRandomValues`, available on Bun and Deno. */
export const secureRandom: RandomSource = (words) => {
  crypto.getRandomValues(words);
};

const PROT_READ = 0x1n;
const PROT_WRITE = 0x2n;
const MAP_PRIVATE = 0x02n;
const MAP_ANONYMOUS = 0x20n;
/** Linux 4.17; older kernels treat the address as a hint, which is checked below. */
const MAP_FIXED_NOREPLACE = 0x100000n;
const NO_FD = 0xffff_ffff_ffff_ffffn;
/** The kernel's default `vm.mmap_min_addr`; nothing is placed below it. */
const LOWEST_ADDRESS = 0x10000n;
/** Attempts at a random address before giving up (a collision is ~never needed twice). */
const ATTEMPTS = 64;
/** Offsets inside the first page are multiples of this (pointer tables need 8). */
const OFFSET_ALIGN = 16;

/** What the launcher reads from the auxiliary vector. @private */
interface AuxFacts {
  /** `AT_PAGESZ`, or 4096 when it cannot be read. */
  readonly pageSize: number;
  /** `AT_RANDOM`, an address on the initial stack, when present. */
  readonly stackAddress?: bigint;
}

/** The page size and an address on the initial stack, from the auxiliary vector. @private */
function auxFacts(littleEndian: boolean, files: FileAccess): AuxFacts {
  const auxv = auxiliaryVector(littleEndian, files);
  // The common page size when unknown; a wrong guess only makes mmap fail (EINVAL), never unsafe.
  const pageSize = Number(auxv.get(AT_PAGESZ) ?? 4096n);
  const stackAddress = auxv.get(AT_RANDOM);
  return { pageSize, ...(stackAddress === undefined ? {} : { stackAddress }) };
}

/**
 * Bits of the user address space: the bit length of the highest user mapping
 * (the stack sits at the top), e.g. 47 on x86_64 with 4-level paging, 39 or 48
 * on aarch64. Kernel-space entries (`[vsyscall]`) are ignored.
 *
 * @example
 * ```ts
 * addressSpaceBits(); // 47 on x86_64
 * ```
 */
export function addressSpaceBits(): number {
  const host = hostArch();
  const files = nodeFileAccess();
  return addressSpaceBitsOf(auxFacts(host === undefined || archEndian(host) === "little", files), files);
}

/**
 * The same from the auxiliary vector when it names a stack address: the
 * initial stack is the highest user mapping, so its address has the bit
 * length of the user address space, and one short read of
 * `/proc/self/auxv` replaces parsing `/proc/self/maps` (start-up time of
 * every launch). Falls back to the maps. @private
 */
function addressSpaceBitsOf(aux: AuxFacts, files: FileAccess): number {
  if (aux.stackAddress !== undefined && aux.stackAddress > 0n && aux.stackAddress < 1n << 63n) {
    return aux.stackAddress.toString(2).length;
  }
  let top = 0n;
  for (const line of readTextFile(files, "/proc/self/maps").split("\n")) {
    const dash = line.indexOf("-");
    const space = line.indexOf(" ");
    if (dash < 0 || space < dash) continue;
    const end = BigInt(`0x${line.slice(dash + 1, space)}`);
    if (end < 1n << 63n && end > top) top = end;
  }
  if (top === 0n) throw new ImageError("cannot find the top of the address space in /proc/self/maps");
  return (top - 1n).toString(2).length;
}

/** Maps `length` bytes at a random page of the user address space. @private */
function mapRandom(libc: Libc, arch: ArchInfo, length: number, page: bigint, bits: number, random: RandomSource): bigint {
  const mmap = BigInt(syscallNumber(arch, "mmap")!);
  const munmap = syscallNumber(arch, "munmap")!;
  const span = ((1n << BigInt(bits)) - LOWEST_ADDRESS - BigInt(length)) / page;
  const word = new BigUint64Array(1);
  let lastErrno = 0;
  for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
    random(word);
    const address = LOWEST_ADDRESS + (word[0] % span) * page;
    const result = libc.syscall(
      Number(mmap),
      address,
      BigInt(length),
      PROT_READ | PROT_WRITE,
      MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE,
      NO_FD,
      0n,
    );
    if (result === -1n) {
      lastErrno = libc.errno(); // EEXIST: something lives there already; try elsewhere.
      continue;
    }
    const mapped = BigInt.asUintN(64, result);
    if (mapped === address) return mapped;
    // A kernel without MAP_FIXED_NOREPLACE took the address as a hint and put the mapping elsewhere.
    libc.syscall(munmap, mapped, BigInt(length), 0n, 0n, 0n, 0n);
  }
  throw new ImageError(`could not map the execve buffers at a random address (${ATTEMPTS} attempts; last errno ${lastErrno})`);
}

/** Appends a NUL, refusing strings that already contain one. @private */
function cString(bytes: Uint8Array, what: string): Uint8Array {
  if (bytes.includes(0)) throw new ImageError(`${what} contains a NUL byte, which execve cannot pass`);
  const out = new Uint8Array(bytes.length + 1);
  out.set(bytes);
  return out;
}

/** One region's contents, laid out from `offset` inside a mapping at `start`. @private */
interface Region {
  readonly bytes: Uint8Array;
  readonly offset: number;
}

/** A pointer table followed by its strings, with pointers computed for a mapping at `start`. @private */
function tableRegion(strings: readonly Uint8Array[], start: bigint, offset: number, little: boolean): Region {
  const tableSize = (strings.length + 1) * 8;
  const total = tableSize + strings.reduce((sum, s) => sum + s.length, 0);
  const bytes = new Uint8Array(total);
  const view = new DataView(bytes.buffer);
  let at = tableSize;
  strings.forEach((s, i) => {
    view.setBigUint64(i * 8, start + BigInt(offset + at), little);
    bytes.set(s, at);
    at += s.length;
  });
  // The last table entry stays 0: the terminator.
  return { bytes, offset };
}

/**
 * Maps the three regions of an `execve` image at independent random
 * addresses and fills them. Pointer tables use the host's byte order.
 * `files` reads the auxiliary vector (and `/proc/self/maps` if needed);
 * `random` draws the addresses.
 *
 * @example
 * ```ts
 * import { hostArchInfo, openLibc } from "../install/mod.ts";
 * const bytes = (text: string) => new TextEncoder().encode(text);
 * const image = buildExecImage(await openLibc(), hostArchInfo(), {
 *   path: bytes("/usr/bin/true"), argv: [bytes("true")], envp: [bytes("PATH=/usr/bin")],
 * });
 * image.pathAddress; // somewhere in the whole user address space
 * ```
 */
export function buildExecImage(
  libc: Libc,
  arch: ArchInfo,
  input: ExecImageInput,
  files: FileAccess = nodeFileAccess(),
  random: RandomSource = secureRandom,
): ExecImage {
  const path = cString(input.path, "the program path");
  const argv = input.argv.map((s, i) => cString(s, `argument ${i}`));
  const envp = input.envp.map((s, i) => cString(s, `environment entry ${i}`));
  const little = arch.endian === "little";
  const aux = auxFacts(little, files);
  const page = aux.pageSize;
  const bits = addressSpaceBitsOf(aux, files);
  const offsetWord = new BigUint64Array(1);
  const randomOffset = (): number => {
    random(offsetWord);
    return Number(offsetWord[0] % BigInt(page / OFFSET_ALIGN)) * OFFSET_ALIGN;
  };
  const roundUp = (n: number) => Math.ceil(n / page) * page;

  const mappings: Mapping[] = [];
  const place = (size: number, fill: (start: bigint, offset: number) => Region): bigint => {
    const offset = randomOffset();
    const length = roundUp(offset + size);
    const start = mapRandom(libc, arch, length, BigInt(page), bits, random);
    mappings.push({ start, length });
    const region = fill(start, offset);
    libc.copyToAddress(start + BigInt(region.offset), region.bytes);
    return start + BigInt(offset);
  };
  const tableSize = (strings: readonly Uint8Array[]) => (strings.length + 1) * 8 + strings.reduce((n, s) => n + s.length, 0);

  const pathAddress = place(path.length, (_start, offset) => ({ bytes: path, offset }));
  const argvAddress = place(tableSize(argv), (start, offset) => tableRegion(argv, start, offset, little));
  const envpAddress = place(tableSize(envp), (start, offset) => tableRegion(envp, start, offset, little));
  return { path: input.path, pathAddress, argvAddress, envpAddress, mappings };
}
