/**
 * Child for test/apply-threads.test.ts (Bun or Deno): warms the runtime's I/O
 * threads up with one asynchronous read, installs a filter that answers
 * `openat` with EPERM (everything else allowed) through `applyFilter` or
 * `applyFilterAllThreads` (argv[2]: "calling" or "all"), then reads a file
 * synchronously (main thread) and asynchronously (the runtime's threads), and
 * prints one JSON line: each read's outcome and how many threads existed.
 *
 * @module
 */
import { readdirSync, readFileSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { getArch, hostArch } from "../../../src/arch/arch.ts";
import { compileFromJson } from "../../../src/compile.ts";
import { applyFilter, applyFilterAllThreads } from "../../../src/install/mod.ts";

const mode = process.argv[2];
const file = process.argv[3];
const arch = getArch(hostArch()!);
const filter = [...arch.syscalls.keys()].filter((name) => name !== "openat" && name !== "open").map((syscall) => ({ syscall }));
const program = compileFromJson(
  JSON.stringify({ main: { default_action: { errno: 1 }, filter_action: "allow", filter } }),
  arch.name,
).get("main")!;

const outcome = async (read: () => unknown) => {
  try {
    await read();
    return "ok";
  } catch (error) {
    return (error as { code?: string }).code ?? (error as Error).name;
  }
};
// deno-lint-ignore no-explicit-any
const runtime = globalThis as any;
const nativeAsync = () => ("Bun" in runtime ? runtime.Bun.file(file).text() : runtime.Deno.readTextFile(file));

// Warm up: the I/O threads exist before the filter, as in any program that did I/O first.
await readFile(file);
await nativeAsync();
const threadsBefore = readdirSync("/proc/self/task").length;
await (mode === "all" ? applyFilterAllThreads(program) : applyFilter(program));
const report = {
  sync: await outcome(() => readFileSync(file)),
  promises: await outcome(() => readFile(file)),
  native: await outcome(nativeAsync),
  threadsBefore,
};
console.log(JSON.stringify(report));
