/**
 * {@link Libc} through `Deno.dlopen` (needs `--allow-ffi`).
 *
 * No symbol is `nonblocking`: such calls run on a worker thread, so a filter
 * would land on that thread and not on the caller's.
 *
 * @module
 */
import type { Libc } from "./libc.ts";

const SYMBOLS = {
  prctl: { parameters: ["i32", "u64", "u64", "u64", "u64"], result: "i32" },
  syscall: { parameters: ["i64", "u64", "u64", "u64", "u64", "u64", "u64"], result: "i64" },
  execve: { parameters: ["buffer", "buffer", "buffer"], result: "i32" },
  write: { parameters: ["i32", "buffer", "u64"], result: "i64" },
  _exit: { parameters: ["i32"], result: "void" },
  __errno_location: { parameters: [], result: "pointer" },
} as const;

/**
 * The part of Deno's FFI API this module calls, typed here because the package's own
 * declarations are built with tsc, which has no `Deno` namespace. Read from globalThis so
 * nothing is evaluated outside Deno (this module is imported only there).
 * @private
 */
interface DenoFfi {
  dlopen(path: string, symbols: typeof SYMBOLS): {
    symbols: {
      prctl(option: number, arg2: bigint, arg3: bigint, arg4: bigint, arg5: bigint): number;
      syscall(nr: bigint, a0: bigint, a1: bigint, a2: bigint, a3: bigint, a4: bigint, a5: bigint): bigint | number;
      execve(file: Uint8Array, argv: BigUint64Array, envp: BigUint64Array): number;
      write(fd: number, bytes: Uint8Array, length: bigint): bigint | number;
      _exit(status: number): void;
      __errno_location(): object | null;
    };
  };
  UnsafePointerView: {
    new (pointer: object): { getInt32(): number };
    getArrayBuffer(pointer: object, byteLength: number): ArrayBuffer;
  };
  UnsafePointer: {
    of(buffer: ArrayBufferView): object | null;
    value(pointer: object): bigint | number;
    create(address: bigint): object | null;
  };
}

const Deno = (globalThis as unknown as { Deno: DenoFfi }).Deno;

/**
 * Opens `path` with `Deno.dlopen` and binds the installer's functions.
 *
 * @example
 * ```ts
 * const libc = openDenoLibc("libc.so.6");
 * libc.prctl(38, 1n, 0n, 0n, 0n); // PR_SET_NO_NEW_PRIVS
 * ```
 */
export function openDenoLibc(path: string): Libc {
  const { symbols } = Deno.dlopen(path, SYMBOLS);
  return {
    path,
    runtime: "deno",
    prctl: (option, arg2, arg3, arg4, arg5) => symbols.prctl(option, arg2, arg3, arg4, arg5),
    syscall: (nr, a0, a1, a2, a3, a4, a5) => BigInt(symbols.syscall(BigInt(nr), a0, a1, a2, a3, a4, a5)),
    execve: (file, argv, envp) => symbols.execve(file, argv, envp),
    write: (fd, bytes) => BigInt(symbols.write(fd, bytes, BigInt(bytes.length))),
    exit(status): never {
      symbols._exit(status);
      throw new Error("_exit returned");
    },
    // errno is thread-local, so its location is looked up on every read.
    errno: () => new Deno.UnsafePointerView(symbols.__errno_location()!).getInt32(),
    copyToAddress(address, bytes) {
      if (bytes.length === 0) return;
      const pointer = Deno.UnsafePointer.create(address);
      if (pointer === null) throw new Error("copyToAddress: null address");
      new Uint8Array(Deno.UnsafePointerView.getArrayBuffer(pointer, bytes.length)).set(bytes);
    },
    address(buffer) {
      const pointer = Deno.UnsafePointer.of(buffer);
      return pointer === null ? 0n : BigInt(Deno.UnsafePointer.value(pointer));
    },
  };
}
