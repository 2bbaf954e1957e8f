/**
 * {@link FileAccess} through raw system calls on the libc binding: how the
 * launcher reads its filter file, its policy, the program's first bytes and
 * `/proc/self` without loading `node:fs` (see `src/files.ts` for why).
 *
 * Every call goes through `syscall(2)` with the host architecture's numbers,
 * so there is one FFI symbol and no per-call binding. Layouts used are the
 * ones that do not differ between architectures: `statx` (not `struct stat`)
 * and `linux_dirent64`. `EINTR` is retried, as libuv does for `node:fs`.
 *
 * @module
 */
import { type ArchInfo, type ArchName, syscallNumber } from "../arch/arch.ts";
import type { FileAccess, FileStat } from "../files.ts";
import { LINUX_FILE_FLAGS } from "../files.ts";
import { errnoName, type Libc } from "../install/mod.ts";

/** `AT_FDCWD` as the unsigned 64-bit argument the binding passes. */
const AT_FDCWD = BigInt.asUintN(64, -100n);
/** `statx` flag: `path` is empty, stat the descriptor itself. */
const AT_EMPTY_PATH = 0x1000n;
/** `statx` mask: the file type and the size are all that is asked. */
const STATX_TYPE_AND_SIZE = 0x1n | 0x200n;
/** Offsets in `struct statx` (identical on every architecture). */
const STATX = { size: 256, mode: 0x1c, fileSize: 0x28 } as const;
/** `S_IFMT` and the file types of `st_mode`. */
const S_IFMT = 0o170000;
const S_IF = { REG: 0o100000, DIR: 0o040000, FIFO: 0o010000, CHR: 0o020000, BLK: 0o060000, SOCK: 0o140000 } as const;
const EINTR = 4;
/**
 * `struct stat` of `newfstatat`, for kernels without `statx`: `st_mode` follows `st_nlink` (8 bytes) on
 * x86_64, ppc64le and s390x, and precedes it (4 bytes) in the asm-generic layout; `st_size` is at 48 in both.
 */
const STAT_MODE_OFFSET: Readonly<Record<ArchName, number>> = { x86_64: 24, ppc64le: 24, s390x: 24, aarch64: 16, riscv64: 16, loongarch64: 16 };
const STAT_SIZE_OFFSET = 48;
const STAT_SIZE = 144;
/** `statx` errors after which libuv, too, falls back to `fstat`/`stat`. */
const STATX_UNAVAILABLE: ReadonlySet<string> = new Set(["ENOSYS", "EPERM", "EOPNOTSUPP", "EINVAL"]);
const EAGAIN = 11;
/**
 * Times a call other than `read` is repeated after EAGAIN. None of them fails
 * so for a file the launcher reads, but the errno read after the call can be
 * one the runtime left in between (Deno under load: a futex of its own), and
 * a second call then reports the real outcome.
 */
const EAGAIN_RETRIES = 8;
/**
 * First buffer of the whole-file and directory readers: a page. The files
 * read (`/proc/self/{auxv,cmdline,environ,status}`, the descriptor
 * directory) are mostly smaller, and every fresh page of a buffer is a page
 * fault; a whole-file buffer doubles when full.
 */
const FIRST_CHUNK = 4096;

const encoder = new TextEncoder();
const names = new TextDecoder();

/** A `node:fs`-style error: `code` is the errno name. @private */
function systemError(errno: number, call: string, path?: string): Error {
  const code = errnoName(errno);
  return Object.assign(new Error(`${code}: ${call}${path === undefined ? "" : ` '${path}'`}`), { code, errno: -errno, syscall: call });
}

/** `mode`'s file type as a {@link FileStat}. @private */
function fileStat(mode: number, size: number): FileStat {
  const type = mode & S_IFMT;
  return {
    size,
    isFile: () => type === S_IF.REG,
    isDirectory: () => type === S_IF.DIR,
    isFIFO: () => type === S_IF.FIFO,
    isCharacterDevice: () => type === S_IF.CHR,
    isBlockDevice: () => type === S_IF.BLK,
    isSocket: () => type === S_IF.SOCK,
  };
}

/**
 * A {@link FileAccess} over `libc.syscall` with `arch`'s numbers (the host's).
 * Throws at creation if the architecture lacks one of the calls.
 *
 * @example
 * ```ts
 * import { openLibc, hostArchInfo } from "../install/mod.ts";
 * const files = syscallFileAccess(await openLibc(), hostArchInfo());
 * files.readdirSync("/proc/self/fd");
 * ```
 */
export function syscallFileAccess(libc: Libc, arch: ArchInfo): FileAccess {
  const number = (name: string): number => {
    const nr = syscallNumber(arch, name);
    if (nr === undefined) throw new Error(`no ${name} system call on ${arch.name}`);
    return nr;
  };
  const nr = {
    openat: number("openat"),
    close: number("close"),
    read: number("read"),
    pread64: number("pread64"),
    statx: number("statx"),
    faccessat: number("faccessat"),
    getdents64: number("getdents64"),
    // Only for kernels without statx; −1 where the architecture has none (loongarch64 before Linux 6.11).
    newfstatat: syscallNumber(arch, "newfstatat") ?? -1,
  };

  /**
   * Runs one call, repeating it on EINTR (and a few times on EAGAIN, except
   * `read`, whose EAGAIN is real on a non-blocking pipe and handled by its
   * caller); returns the non-negative result or throws.
   */
  const call = (name: keyof typeof nr, path: string | undefined, ...args: bigint[]): number => {
    for (let again = 0;;) {
      const result = libc.syscall(nr[name], args[0] ?? 0n, args[1] ?? 0n, args[2] ?? 0n, args[3] ?? 0n, args[4] ?? 0n, 0n);
      if (result >= 0n) return Number(result);
      const errno = libc.errno();
      if (errno === EINTR) continue;
      if (errno === EAGAIN && name !== "read" && again++ < EAGAIN_RETRIES) continue;
      throw systemError(errno, name, path);
    }
  };
  /** The path as a NUL-terminated C string; a NUL inside cannot name a file. */
  const cPath = (path: string): Uint8Array => {
    if (path.includes("\0")) throw systemError(2, "open", path);
    return encoder.encode(`${path}\0`);
  };
  const statx = (dirfd: bigint, path: string, flags: bigint, shown: string): FileStat => {
    const buffer = new Uint8Array(STATX.size);
    const pathBytes = cPath(path);
    try {
      call("statx", shown, dirfd, libc.address(pathBytes), flags, STATX_TYPE_AND_SIZE, libc.address(buffer));
    } catch (error) {
      // A kernel before 4.11, or a container profile that refuses statx: newfstatat, as libuv falls back
      // for these errors. (node:fs cannot stand in: Deno's knows only the descriptors it opened itself.)
      if (!STATX_UNAVAILABLE.has((error as { code?: string }).code ?? "") || nr.newfstatat < 0) throw error;
      const stat = new Uint8Array(STAT_SIZE);
      call("newfstatat", shown, dirfd, libc.address(pathBytes), libc.address(stat), flags);
      const view = new DataView(stat.buffer);
      const little = arch.endian === "little";
      return fileStat(view.getUint32(STAT_MODE_OFFSET[arch.name], little), Number(view.getBigInt64(STAT_SIZE_OFFSET, little)));
    }
    const view = new DataView(buffer.buffer);
    const little = arch.endian === "little";
    return fileStat(view.getUint16(STATX.mode, little), Number(view.getBigUint64(STATX.fileSize, little)));
  };
  const open = (path: string, flags: number): number => {
    const pathBytes = cPath(path);
    return call("openat", path, AT_FDCWD, libc.address(pathBytes), BigInt(flags | LINUX_FILE_FLAGS.O_CLOEXEC), 0n);
  };
  const close = (fd: number): void => {
    // close() is not retried: on Linux the descriptor is gone even when it reports EINTR.
    libc.syscall(nr.close, BigInt(fd), 0n, 0n, 0n, 0n, 0n);
  };

  return {
    openSync: open,
    closeSync: close,
    readSync(fd, buffer, offset, length, position) {
      if (length === 0) return 0;
      const target = buffer.subarray(offset, offset + length);
      return position === null
        ? call("read", undefined, BigInt(fd), libc.address(target), BigInt(target.length))
        : call("pread64", undefined, BigInt(fd), libc.address(target), BigInt(target.length), BigInt(position));
    },
    fstatSync: (fd) => statx(BigInt(fd), "", AT_EMPTY_PATH, `fd ${fd}`),
    statSync: (path) => statx(AT_FDCWD, path, 0n, path),
    accessSync(path, mode) {
      const pathBytes = cPath(path);
      call("faccessat", path, AT_FDCWD, libc.address(pathBytes), BigInt(mode));
    },
    readdirSync(path) {
      // Non-blocking, as opendir(3) is not: a FIFO named here must fail (ENOTDIR below), not hang the open.
      const fd = open(path, LINUX_FILE_FLAGS.O_RDONLY | LINUX_FILE_FLAGS.O_NONBLOCK);
      try {
        const entries: string[] = [];
        const buffer = new Uint8Array(FIRST_CHUNK);
        const view = new DataView(buffer.buffer);
        const little = arch.endian === "little";
        for (;;) {
          const filled = call("getdents64", path, BigInt(fd), libc.address(buffer), BigInt(buffer.length));
          if (filled === 0) return entries;
          // struct linux_dirent64: u64 ino, s64 off, u16 reclen, u8 type, then the NUL-terminated name.
          for (let at = 0; at < filled;) {
            const length = view.getUint16(at + 16, little);
            const nameStart = at + 19;
            const nameEnd = buffer.indexOf(0, nameStart);
            const name = names.decode(buffer.subarray(nameStart, nameEnd < 0 || nameEnd > at + length ? at + length : nameEnd));
            if (name !== "." && name !== "..") entries.push(name);
            at += length;
          }
        }
      } finally {
        close(fd);
      }
    },
    readFileSync(path) {
      const fd = open(path, LINUX_FILE_FLAGS.O_RDONLY);
      try {
        // One buffer, read into until a read returns 0; doubled (and copied) when full.
        let buffer = new Uint8Array(FIRST_CHUNK);
        let filled = 0;
        for (;;) {
          if (filled === buffer.length) {
            const grown = new Uint8Array(2 * buffer.length);
            grown.set(buffer);
            buffer = grown;
          }
          const free = buffer.subarray(filled);
          const n = call("read", path, BigInt(fd), libc.address(free), BigInt(free.length));
          if (n === 0) return buffer.subarray(0, filled);
          filled += n;
        }
      } finally {
        close(fd);
      }
    },
  };
}
