/**
 * {@link Libc} through `bun:ffi`. A static `import "bun:ffi"` is a fatal
 * error in Deno, so the caller imports `bun:ffi` dynamically, on Bun only,
 * and passes it in; this module itself is safe to load anywhere (and is
 * loaded statically: a dynamically imported module cost about 1 ms more of
 * every launch than this one).
 *
 * @module
 */
import type { Libc } from "./libc.ts";

/** The `bun:ffi` module. */
export type BunFfi = typeof import("bun:ffi");

/**
 * Opens `path` with `bun:ffi` and binds the installer's functions.
 *
 * @example
 * ```ts
 * const libc = openBunLibc(await import("bun:ffi"), "libc.so.6");
 * libc.prctl(38, 1n, 0n, 0n, 0n); // PR_SET_NO_NEW_PRIVS
 * ```
 */
export function openBunLibc(ffi: BunFfi, path: string): Libc {
  const { CFunction, dlopen, ptr, read, toArrayBuffer } = ffi;
  const { symbols } = dlopen(path, {
    prctl: { args: ["i32", "u64", "u64", "u64", "u64"], returns: "i32" },
    // syscall(2) is variadic; a fixed-arity call is ABI-compatible on the 64-bit Linux targets.
    syscall: { args: ["i64", "u64", "u64", "u64", "u64", "u64", "u64"], returns: "i64" },
    execve: { args: ["ptr", "ptr", "ptr"], returns: "i32" },
    write: { args: ["i32", "ptr", "u64"], returns: "i64" },
    _exit: { args: ["i32"], returns: "void" },
    __errno_location: { args: [], returns: "ptr" },
  });
  const errnoLocation = symbols.__errno_location;
  return {
    path,
    runtime: "bun",
    prctl: (option, arg2, arg3, arg4, arg5) => symbols.prctl(option, arg2, arg3, arg4, arg5),
    syscall: (nr, a0, a1, a2, a3, a4, a5) => BigInt(symbols.syscall(nr, a0, a1, a2, a3, a4, a5)),
    execve: (file, argv, envp) => symbols.execve(file, argv, envp),
    write: (fd, bytes) => BigInt(symbols.write(fd, bytes.length === 0 ? null : bytes, bytes.length)),
    exit(status): never {
      symbols._exit(status);
      throw new Error("_exit returned");
    },
    errno: () => read.i32(errnoLocation()!, 0),
    // ptr() is typed for typed arrays and DataView; a byte view of the same memory has the same address.
    address: (buffer) =>
      buffer.byteLength === 0 ? 0n : BigInt(ptr(new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength))),
    nativeFunction4(address) {
      const fn = CFunction({
        ptr: Number(address) as import("bun:ffi").Pointer,
        args: ["u64", "u64", "u64", "u64"],
        returns: "i64",
      });
      return (a0, a1, a2, a3) => BigInt(fn(a0, a1, a2, a3));
    },
    copyToAddress(address, bytes) {
      if (bytes.length === 0) return;
      // bun:ffi pointers are numbers; user-space addresses (< 2^53) are exact.
      new Uint8Array(toArrayBuffer(Number(address) as Parameters<typeof toArrayBuffer>[0], 0, bytes.length)).set(bytes);
    },
  };
}
