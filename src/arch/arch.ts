/**
 * Target architectures: audit token, byte order and syscall table.
 *
 * @module
 */
import { SECCOMP_SYSCALL, SYSCALL_TABLES } from "./syscalls.generated.ts";
import { closestMatch } from "../suggest.ts";

/** Architectures seccompiler can compile for. */
export const ARCH_NAMES = ["x86_64", "aarch64", "riscv64", "loongarch64", "ppc64le", "s390x"] as const;

/** One of {@link ARCH_NAMES}. */
export type ArchName = (typeof ARCH_NAMES)[number];

/** Everything code generation needs to know about a target. */
export interface ArchInfo {
  /** Canonical name, as accepted by `--target-arch`. */
  readonly name: ArchName;
  /** `AUDIT_ARCH_*` token the kernel puts in `seccomp_data.arch`. */
  readonly auditArch: number;
  /** Byte order: decides which 32-bit half of an argument sits at the lower offset. */
  readonly endian: "little" | "big";
  /** Whether the x32 ABI (nr | 0x40000000, same audit token) exists and must be guarded. */
  readonly hasX32: boolean;
  /** Syscall name → number. */
  readonly syscalls: ReadonlyMap<string, number>;
  /** Syscall number → canonical name (the first name in table order for aliases). */
  readonly names: ReadonlyMap<number, string>;
}

/** `__X32_SYSCALL_BIT`: x32 syscalls arrive as `nr | X32_SYSCALL_BIT` with the x86_64 token. */
export const X32_SYSCALL_BIT = 0x40000000;

const AUDIT_ARCH: Record<ArchName, { token: number; endian: "little" | "big" }> = {
  x86_64: { token: 0xc000003e, endian: "little" },
  aarch64: { token: 0xc00000b7, endian: "little" },
  riscv64: { token: 0xc00000f3, endian: "little" },
  loongarch64: { token: 0xc0000102, endian: "little" },
  ppc64le: { token: 0xc0000015, endian: "little" },
  // s390x is big-endian: no __AUDIT_ARCH_LE bit.
  s390x: { token: 0x80000016, endian: "big" },
};

/**
 * Other spellings of the architecture names that users type: Debian's and Go's
 * (`amd64`, `arm64`), Node's (`x64`, `loong64`). Keys are lowercase.
 */
export const ARCH_ALIASES: Readonly<Record<string, ArchName>> = {
  amd64: "x86_64",
  x64: "x86_64",
  arm64: "aarch64",
  loong64: "loongarch64",
};

/**
 * The architecture a user-typed name means: a name from {@link ARCH_NAMES} or
 * an alias from {@link ARCH_ALIASES}, in any letter case; undefined otherwise.
 *
 * @example
 * ```ts
 * parseArchName("AMD64"); // "x86_64"
 * parseArchName("sparc"); // undefined
 * ```
 */
export function parseArchName(text: string): ArchName | undefined {
  const lowered = text.toLowerCase();
  if (isArchName(lowered)) return lowered;
  return Object.hasOwn(ARCH_ALIASES, lowered) ? ARCH_ALIASES[lowered] : undefined;
}

/**
 * The byte order of `name`, without building its syscall table (the installer
 * needs only this and {@link seccompSyscallNumber}).
 *
 * @example
 * ```ts
 * archEndian("s390x"); // "big"
 * ```
 */
export function archEndian(name: ArchName): "little" | "big" {
  return AUDIT_ARCH[name].endian;
}

/**
 * `seccomp()`'s syscall number on `name`, without building its syscall table.
 *
 * @example
 * ```ts
 * seccompSyscallNumber("x86_64"); // 317
 * ```
 */
export function seccompSyscallNumber(name: ArchName): number {
  const nr = SECCOMP_SYSCALL[name];
  if (nr === undefined) throw new Error(`no seccomp syscall number for ${name}`);
  return nr;
}

const cache = new Map<ArchName, ArchInfo>();

/**
 * Whether `name` is a supported architecture (exact, lowercase spelling).
 *
 * @example
 * ```ts
 * isArchName("aarch64"); // true
 * ```
 */
export function isArchName(name: string): name is ArchName {
  return (ARCH_NAMES as readonly string[]).includes(name);
}

/** Architectures whose name tables {@link getArch} has not split yet → their table, with a leading comma. @private */
const unsplit = new WeakMap<ArchInfo, string>();

/**
 * The description of a supported architecture. Its `syscalls` and `names`
 * maps are built on first use: the launcher needs a dozen numbers, which
 * {@link syscallNumber} finds without splitting the whole table (about 1 ms
 * of cold start-up).
 *
 * @example
 * ```ts
 * getArch("x86_64").syscalls.get("close"); // 3
 * ```
 */
export function getArch(name: ArchName): ArchInfo {
  let info = cache.get(name);
  if (info) return info;
  const table = SYSCALL_TABLES[name];
  if (!table) throw new Error(`no syscall table for ${name}`);
  let maps: { syscalls: Map<string, number>; names: Map<number, string> } | undefined;
  const split = () => {
    const syscalls = new Map<string, number>();
    const names = new Map<number, string>();
    for (const entry of table.split(",")) {
      const space = entry.indexOf(" ");
      const syscall = entry.slice(0, space);
      const nr = Number(entry.slice(space + 1));
      syscalls.set(syscall, nr);
      if (!names.has(nr)) names.set(nr, syscall);
    }
    unsplit.delete(info!);
    return { syscalls, names };
  };
  const { token, endian } = AUDIT_ARCH[name];
  info = {
    name,
    auditArch: token,
    endian,
    hasX32: name === "x86_64",
    get syscalls() {
      return (maps ??= split()).syscalls;
    },
    get names() {
      return (maps ??= split()).names;
    },
  };
  unsplit.set(info, `,${table}`);
  cache.set(name, info);
  return info;
}

/**
 * The number of syscall `name` on `arch`, or `undefined`: the same answer as
 * `arch.syscalls.get(name)`, found in the table's text while its maps have not
 * been built (the launcher's path builds none).
 *
 * @example
 * ```ts
 * syscallNumber(getArch("aarch64"), "execve"); // 221
 * ```
 */
export function syscallNumber(arch: ArchInfo, name: string): number | undefined {
  const table = unsplit.get(arch);
  if (table === undefined) return arch.syscalls.get(name);
  // Entries are ",name number"; a name holds no comma or space.
  if (name.includes(",") || name.includes(" ")) return undefined;
  const key = `,${name} `;
  const at = table.indexOf(key);
  if (at < 0) return undefined;
  const start = at + key.length;
  const end = table.indexOf(",", start);
  return Number(table.slice(start, end < 0 ? table.length : end));
}

/**
 * The architecture seccompiler runs on, if it is a supported one.
 *
 * @example
 * ```ts
 * hostArch(); // "x86_64" on a PC
 * ```
 */
export function hostArch(): ArchName | undefined {
  const machine: Record<string, ArchName> = {
    x64: "x86_64", arm64: "aarch64", riscv64: "riscv64", loong64: "loongarch64", ppc64: "ppc64le", s390x: "s390x",
  };
  // node:process is available on Bun, Deno and Node alike.
  const arch = (globalThis as { process?: { arch?: string } }).process?.arch;
  return arch ? machine[arch] : undefined;
}

/**
 * Closest syscall name for a "did you mean" hint, or undefined when nothing is close.
 *
 * @example
 * ```ts
 * suggestSyscall(getArch("x86_64"), "opne"); // "open"
 * ```
 */
export function suggestSyscall(arch: ArchInfo, name: string): string | undefined {
  return closestMatch(name, arch.syscalls.keys());
}
