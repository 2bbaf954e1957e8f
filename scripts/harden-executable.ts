/**
 * Makes a `bun build --compile` executable deaf to the environment variables
 * through which Bun's runtime loads code before the embedded program starts:
 * `BUN_OPTIONS` (extra command-line options, such as `--preload`), every
 * `BUN_INSPECT*` (the inspector and its preload), `BUN_BE_BUN` (run as the
 * `bun` CLI instead of the embedded program). (`BUN_JSC_*` engine options
 * stay: the runtime matches that prefix in code, not through a string
 * constant; they tune the engine and load no code — README, "Injection".)
 * A JavaScript check cannot do this: a preload runs before it and can start
 * the target itself.
 *
 * How: the runtime looks these names up from string constants in its own
 * read-only data. Each occurrence outside the embedded program (the `.bun`
 * ELF section) and Bun's JavaScript builtins (`.bun_builtins`, source text
 * that only runs once the native side has started the inspector) gets its
 * first byte replaced by NUL. An environment entry can
 * never contain a NUL before its `=`, so the lookup can never match again;
 * every other variable keeps working.
 *
 * Fails (exit 1) when the file is not an ELF64 executable with a `.bun`
 * section or a name is not found: then the runtime's layout has changed and
 * the build must stop rather than ship an executable that honours them.
 * `scripts/build.sh` then checks the result by running it with each variable
 * set to inject a marker-writing preload.
 *
 * Usage: bun scripts/harden-executable.ts FILE
 *
 * @module
 */
import { readFileSync, writeFileSync } from "node:fs";
import { isElf64Le, sectionHeaders } from "./elf.ts";

/** The names (or name prefixes) neutralised; a prefix covers every name that starts with it. */
export const NEUTRALISED = ["BUN_OPTIONS", "BUN_INSPECT", "BUN_BE_BUN"] as const;

/**
 * Byte range [start, end) of the section called `name`; `undefined` when the
 * file is not ELF64 little-endian or has no such section.
 *
 * @example
 * ```ts
 * elfSection(readFileSync("dist/seccompiler-linux-x64"), ".bun"); // [offset, end] of the embedded program
 * ```
 */
export function elfSection(file: Uint8Array, name: string): [number, number] | undefined {
  if (!isElf64Le(file)) return undefined;
  const section = sectionHeaders(file).find((s) => s.name === name);
  return section === undefined ? undefined : [section.offset, section.offset + section.size];
}

/** Every offset of `needle` in `haystack`. */
function occurrences(haystack: Uint8Array, needle: Uint8Array): number[] {
  const found: number[] = [];
  for (let at = haystack.indexOf(needle[0]); at !== -1; at = haystack.indexOf(needle[0], at + 1)) {
    let match = true;
    for (let i = 1; i < needle.length && match; i++) match = haystack[at + i] === needle[i];
    if (match) found.push(at);
  }
  return found;
}

/**
 * Patches `file` in memory; returns how many occurrences of each name were
 * neutralised. Throws when the layout is not the expected one.
 *
 * @example
 * ```ts
 * const counts = hardenExecutable(readFileSync("dist/seccompiler-linux-x64"));
 * ```
 */
export function hardenExecutable(file: Uint8Array): Record<string, number> {
  const payload = elfSection(file, ".bun");
  const builtins = elfSection(file, ".bun_builtins");
  if (payload === undefined || builtins === undefined) {
    throw new Error("not an ELF64 executable with .bun and .bun_builtins sections: is this a bun build --compile output?");
  }
  const outside = (at: number) => [payload, builtins].every(([start, end]) => at < start || at >= end);
  const counts: Record<string, number> = {};
  for (const name of NEUTRALISED) {
    const hits = occurrences(file, new TextEncoder().encode(name)).filter(outside);
    if (hits.length === 0) throw new Error(`the runtime has no "${name}" string any more: its layout changed; not shipping`);
    for (const at of hits) file[at] = 0;
    counts[name] = hits.length;
  }
  return counts;
}

if (import.meta.main) {
  const path = process.argv[2];
  if (path === undefined) {
    console.error("usage: bun scripts/harden-executable.ts FILE");
    process.exit(2);
  }
  try {
    const file = readFileSync(path);
    const counts = hardenExecutable(file);
    writeFileSync(path, file);
    console.log(`hardened ${path}: ${Object.entries(counts).map(([name, n]) => `${name} ×${n}`).join(", ")}`);
  } catch (error) {
    console.error(`harden-executable: error: ${(error as Error).message}`);
    process.exit(1);
  }
}
