/**
 * Child for test/kernel-operators.test.ts. Reads from stdin
 * `{ filters: [code, jt, jf, k][][], calls: { id, index, arg }[] }`, installs
 * every filter (stacked, calling thread), then calls getppid once per entry
 * of `calls` with `args[index] = arg` and `args[5] = id`, and prints what the
 * kernel answered: `0` when the call was allowed, else the errno.
 *
 * @module
 */
import { readFileSync } from "node:fs";
import type { Program } from "../../../src/bpf/insn.ts";
import { applyFilter, openLibc } from "../../../src/install/mod.ts";
import { describeError, nr, report } from "./common.ts";

interface Input {
  readonly filters: readonly (readonly [number, number, number, number])[][];
  readonly calls: readonly { readonly id: number; readonly index: number; readonly arg: string }[];
}

try {
  const input = JSON.parse(readFileSync(0, "utf8")) as Input;
  const libc = await openLibc();
  const getppid = nr("getppid");
  const programs: Program[] = input.filters.map((filter) => filter.map(([code, jt, jf, k]) => ({ code, jt, jf, k })));
  for (const program of programs) await applyFilter(program);
  const verdicts = input.calls.map(({ id, index, arg }) => {
    const args = [0n, 0n, 0n, 0n, 0n, BigInt(id)];
    args[index] = BigInt(arg);
    const result = libc.syscall(getppid, args[0], args[1], args[2], args[3], args[4], args[5]);
    return result === -1n ? libc.errno() : 0;
  });
  report({ verdicts });
} catch (error) {
  report({ error: describeError(error) });
}
