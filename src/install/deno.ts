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
    execve: (file, argv, envp) => symbols.execve(file as BufferSource, argv as BufferSource, envp as BufferSource),
    write: (fd, bytes) => BigInt(symbols.write(fd, bytes as BufferSource, BigInt(bytes.length))),
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
      const pointer = Deno.UnsafePointer.of(buffer as BufferSource);
      return pointer === null ? 0n : BigInt(Deno.UnsafePointer.value(pointer));
    },
  };
}
