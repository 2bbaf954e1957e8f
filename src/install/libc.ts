/**
 * The few C library functions the installer needs, behind one interface that
 * Bun (`bun:ffi`) and Deno (`Deno.dlopen`) both implement.
 *
 * Everything here is synchronous once {@link openLibc} has resolved: the
 * launcher's "seccomp(), then execve() with nothing in between" relies on it.
 *
 * @module
 */
import { type ArchName, hostArch } from "../arch/arch.ts";
import { openBunLibc } from "./bun.ts";
import { openDenoLibc } from "./deno.ts";
import { InstallError } from "./errors.ts";

/**
 * Synchronous bindings to libc. Pointers are passed as addresses (`bigint`)
 * obtained from {@link Libc.address}; keep the buffer referenced for as long
 * as the address is in use.
 */
export interface Libc {
  /** The library that was opened (`libc.so.6`, `libc.musl-x86_64.so.1`, ...). */
  readonly path: string;
  /** Which FFI implementation is in use. */
  readonly runtime: "bun" | "deno";
  /** `prctl(option, arg2, arg3, arg4, arg5)`; returns −1 on failure (read {@link Libc.errno}). */
  prctl(option: number, arg2: bigint, arg3: bigint, arg4: bigint, arg5: bigint): number;
  /** `syscall(nr, a0, ..., a5)`; returns −1n on failure (read {@link Libc.errno}). */
  syscall(nr: number, a0: bigint, a1: bigint, a2: bigint, a3: bigint, a4: bigint, a5: bigint): bigint;
  /** `execve(path, argv, envp)` with NUL-terminated path and 0-terminated pointer tables; returns only on failure. */
  execve(path: Uint8Array, argv: BigUint64Array, envp: BigUint64Array): number;
  /** `write(fd, bytes, bytes.length)`. */
  write(fd: number, bytes: Uint8Array): bigint;
  /** `_exit(status)`: ends the process at once (one `exit_group`), skipping every runtime exit hook. */
  exit(status: number): never;
  /** The calling thread's `errno`; meaningful only right after a call that returned −1. */
  errno(): number;
  /** The address of a buffer's first byte (0n for an empty buffer). */
  address(buffer: ArrayBufferView): bigint;
  /**
   * Copies `bytes` to raw memory at `address`, which must be writable for
   * `bytes.length` bytes (memory this process mapped itself, e.g. with `mmap`).
   */
  copyToAddress(address: bigint, bytes: Uint8Array): void;
  /**
   * A callable for the native function at `address` taking four 64-bit
   * integers and returning one (the C ABI). The FFI trampoline is built now,
   * so later calls allocate nothing.
   */
  nativeFunction4(address: bigint): (a0: bigint, a1: bigint, a2: bigint, a3: bigint) => bigint;
}

/** musl spells some machine names differently from seccompiler. @private */
const MUSL_MACHINE: Record<ArchName, string> = {
  x86_64: "x86_64",
  aarch64: "aarch64",
  riscv64: "riscv64",
  loongarch64: "loongarch64",
  ppc64le: "powerpc64le",
  s390x: "s390x",
};

/** The C library a runtime is linked against. */
export type LibcFamily = "glibc" | "musl";

/**
 * The libraries tried, in order, for a runtime linked against `family`
 * (undefined: not known, as on Deno, whose `dlopen` only asks the system's
 * loader).
 *
 * Never a bare name that could fail: Bun's `dlopen` retries a name the
 * loader cannot find as a path in the working directory, so a failing
 * `libc.so.6` would load a `libc.so.6` the caller left there, before any
 * filter. glibc's soname cannot fail in a glibc runtime (it is already
 * loaded, and found among the loaded objects); musl is opened by the absolute
 * path of its dynamic loader, which is its C library.
 *
 * @example
 * ```ts
 * libcCandidates("x86_64", "glibc"); // ["libc.so.6"]
 * libcCandidates("x86_64", "musl"); // ["/lib/ld-musl-x86_64.so.1"]
 * ```
 */
export function libcCandidates(arch: ArchName, family: LibcFamily | undefined): string[] {
  const musl = `/lib/ld-musl-${MUSL_MACHINE[arch]}.so.1`;
  if (family === "glibc") return ["libc.so.6"];
  if (family === "musl") return [musl];
  return ["libc.so.6", musl];
}

/**
 * The standalone executable's build sets this (scripts/build.sh, `--define`):
 * it is built for glibc only, so it need not ask. @private
 */
declare const SECCOMPILER_BUILD_LIBC: LibcFamily | undefined;

/**
 * The C library the running Bun is linked against: the build's, or glibc
 * when the process reports a glibc runtime version (what Node's own report
 * finds with `gnu_get_libc_version`), else musl. @private
 */
function bunLibcFamily(): LibcFamily {
  if (typeof SECCOMPILER_BUILD_LIBC === "string") return SECCOMPILER_BUILD_LIBC;
  const header = (process.report?.getReport() as { header?: { glibcVersionRuntime?: unknown } } | undefined)?.header;
  return typeof header?.glibcVersionRuntime === "string" ? "glibc" : "musl";
}

/** Opens one library by name for the current runtime; throws if it cannot. */
export type LibcOpener = (path: string) => Libc;

let opened: Promise<Libc> | undefined;

/**
 * Opens libc once per process (later calls return the same bindings).
 * Throws {@link InstallError} `unsupported-platform` outside Linux, on an
 * unknown architecture or on a runtime without FFI, and `libc-not-found` when
 * no candidate library opens.
 *
 * @example
 * ```ts
 * const libc = await openLibc();
 * const pid = libc.syscall(39, 0n, 0n, 0n, 0n, 0n, 0n); // getpid on x86_64
 * ```
 */
export function openLibc(): Promise<Libc> {
  opened ??= loadLibc();
  // A failed attempt is not cached, so a caller can retry after fixing its environment.
  opened.catch(() => (opened = undefined));
  return opened;
}

/** @private */
async function loadLibc(): Promise<Libc> {
  const platform = (globalThis as { process?: { platform?: string } }).process?.platform;
  if (platform !== "linux") {
    throw new InstallError("unsupported-platform", `seccomp exists only on Linux, not on ${platform ?? "this platform"}`);
  }
  const arch = hostArch();
  if (arch === undefined) {
    throw new InstallError("unsupported-platform", "this CPU architecture is not one seccompiler supports");
  }
  const open = await runtimeOpener();
  const failures: string[] = [];
  for (const candidate of libcCandidates(arch, "Bun" in globalThis ? bunLibcFamily() : undefined)) {
    try {
      return open(candidate);
    } catch (error) {
      if (isPermissionError(error)) {
        throw new InstallError("permission-denied", `Deno refused to load a C library: ${(error as Error).message}`, {
          hint: "run deno with --allow-ffi (the one permission the seccompiler exec launcher needs)",
        });
      }
      failures.push(`${candidate}: ${error instanceof Error ? error.message : String(error)}`);
    }
  }
  throw new InstallError("libc-not-found", `could not open the C library (tried ${failures.join("; ")})`, {
    hint: "seccompiler needs glibc or musl as a shared library",
  });
}

/** The opener for Bun or Deno; modules are imported lazily so each runtime loads only its own. @private */
async function runtimeOpener(): Promise<LibcOpener> {
  if ("Bun" in globalThis) {
    const ffi = await import("bun:ffi");
    return (path) => openBunLibc(ffi, path);
  }
  if ("Deno" in globalThis) return openDenoLibc;
  throw new InstallError("unsupported-platform", "installing filters needs the FFI of Bun or Deno", {
    hint: "run with bun, or with deno and --allow-ffi",
  });
}

/**
 * Whether `error` is Deno's permission refusal (`NotCapable`, formerly
 * `PermissionDenied`), as opposed to a failure of the call itself.
 *
 * @example
 * ```ts
 * isPermissionError(new Error("x")); // false
 * ```
 */
export function isPermissionError(error: unknown): boolean {
  return error instanceof Error && (error.name === "NotCapable" || error.name === "PermissionDenied");
}
