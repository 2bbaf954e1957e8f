/**
 * `posix_spawn` through FFI: starts the recording helper as a child that the
 * runtime knows nothing about, so the supervisor alone reaps it (and, as a
 * subreaper, every orphaned descendant) with `waitid`. The runtimes' own
 * spawn APIs reap their children themselves, which would race with that.
 *
 * glibc and musl implement `posix_spawn` with `clone(CLONE_VM | CLONE_VFORK)`
 * and `execve`, which is safe from a multi-threaded runtime.
 *
 * @module
 */
import type { Libc } from "../install/mod.ts";
import { commandTables } from "./argv.ts";

/** Starts `argv[0]` (an absolute path) with `argv` and `env`; returns the child's pid. */
type PosixSpawn = (pid: Int32Array, path: Uint8Array, argv: BigUint64Array, envp: BigUint64Array) => number;

/** Binds `posix_spawn` from the library `libc` was opened from. @private */
async function bindPosixSpawn(libc: Libc): Promise<PosixSpawn> {
  if (libc.runtime === "bun") {
    const { dlopen } = await import("bun:ffi");
    const { symbols } = dlopen(libc.path, {
      posix_spawn: { args: ["ptr", "ptr", "ptr", "ptr", "ptr", "ptr"], returns: "i32" },
    });
    return (pid, path, argv, envp) => symbols.posix_spawn(pid, path, null, null, argv, envp);
  }
  // Deno's FFI through globalThis, typed here: the npm package's declarations are built with tsc, which has no Deno namespace.
  const deno = (globalThis as unknown as {
    Deno: { dlopen(path: string, symbols: object): { symbols: { posix_spawn(...args: unknown[]): number } } };
  }).Deno;
  const { symbols } = deno.dlopen(libc.path, {
    posix_spawn: { parameters: ["buffer", "buffer", "pointer", "pointer", "buffer", "buffer"], result: "i32" },
  } as const);
  return (pid, path, argv, envp) => symbols.posix_spawn(pid, path, null, null, argv, envp);
}

/**
 * Spawns `argv` (`argv[0]` must be an absolute path) with environment `env`
 * (an object, or the entries as raw bytes, passed unchanged),
 * inheriting every descriptor without close-on-exec (stdin, stdout, stderr).
 * Returns the pid; throws with the error number when `posix_spawn` fails.
 *
 * @example
 * ```ts
 * import { openLibc } from "../install/mod.ts";
 * const pid = await spawnChild(await openLibc(), ["/bin/true"], process.env);
 * ```
 */
export async function spawnChild(
  libc: Libc,
  argv: readonly string[],
  env: Readonly<Record<string, string | undefined>> | readonly Uint8Array[],
): Promise<number> {
  const spawn = await bindPosixSpawn(libc);
  const image = commandTables(libc, argv[0], argv, env);
  const pid = new Int32Array(1);
  const error = spawn(pid, image.path, image.argv, image.envp);
  if (error !== 0) throw new Error(`posix_spawn ${argv[0]} failed with errno ${error}`);
  return pid[0];
}
