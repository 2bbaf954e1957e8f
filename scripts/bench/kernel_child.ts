/**
 * One child of the kernel-cost benchmark (Bun only): optionally installs a
 * filter on its own thread with `applyFilter`, then times tight loops of
 * system calls made through libc's `syscall()`, and writes the timings to
 * stdout in binary (see {@link ChildRequest} and `decodeChildOutput` in
 * kernel.ts).
 *
 * Input: the environment variable `BENCH_CHILD`, a JSON {@link ChildRequest}.
 *
 * The loops run in syscall_loop.c (compiled here by Bun's TinyCC), which also
 * writes the result and exits: once the filter is in, this thread must make
 * no system call the Firecracker policy traps, and the JavaScript runtime
 * makes several of its own (see that file).
 *
 * @module
 */
import { cc, FFIType, ptr } from "bun:ffi";
import { fileURLToPath } from "node:url";
import { decodeProgram } from "../../src/bpf/encode.ts";
import { applyFilter } from "../../src/install/mod.ts";

/** One system call to time. Argument `"buffer"` stands for the address of a private aligned word. */
export interface ChildCall {
  /** Label in the result. */
  readonly label: string;
  /** System call number. */
  readonly nr: number;
  /** Up to three arguments (the filters look at nothing else here). */
  readonly args: readonly (number | "buffer")[];
}

/** What the parent asks for. */
export interface ChildRequest {
  /** The filter as base64 of little-endian `sock_filter`s; absent for the no-filter baseline. */
  readonly program?: string;
  /** The calls, timed in turn within each repetition. */
  readonly calls: readonly ChildCall[];
  /** Calls per timed loop. */
  readonly iterations: number;
  /** Timed loops per call. */
  readonly repetitions: number;
}

const LOOP_SOURCE = fileURLToPath(new URL("./syscall_loop.c", import.meta.url));

async function main(): Promise<void> {
  const request = JSON.parse(process.env.BENCH_CHILD ?? "null") as ChildRequest | null;
  if (request === null) throw new Error("BENCH_CHILD is not set; this script is started by scripts/bench.ts");
  const { symbols } = cc({
    source: LOOP_SOURCE,
    library: ["c"],
    symbols: {
      run_and_exit: {
        args: [FFIType.ptr, FFIType.i32, FFIType.i32, FFIType.i32, FFIType.ptr],
        returns: FFIType.void,
      },
    },
  });
  // Everything the native loop touches is allocated before the filter goes in.
  const word = new Int32Array(2);
  const calls = new BigInt64Array(4 * request.calls.length);
  request.calls.forEach((call, i) => {
    calls[4 * i] = BigInt(call.nr);
    for (let a = 0; a < 3; a++) {
      const arg = call.args[a] ?? 0;
      calls[4 * i + 1 + a] = arg === "buffer" ? BigInt(ptr(word)) : BigInt(arg);
    }
  });
  const out = new Float64Array(request.calls.length * (request.repetitions + 2));
  const program = request.program === undefined
    ? undefined
    : decodeProgram(Uint8Array.from(atob(request.program), (c) => c.charCodeAt(0)), "little");
  if (program !== undefined) await applyFilter(program);
  symbols.run_and_exit(ptr(calls), request.calls.length, request.iterations, request.repetitions, ptr(out));
  // Unreachable; naming `word` keeps the futex word referenced while the loop uses its address.
  throw new Error(`run_and_exit returned (word ${word[0]})`);
}

await main();
