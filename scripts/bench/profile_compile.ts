/**
 * A loop for the CPU profiler: compiles one policy many times in process, so
 * that a sampling profile shows where in-process compile time goes.
 * docs/bench.md shows its output and how to run it:
 *
 *   bun --cpu-prof-md --cpu-prof-interval=100 scripts/bench/profile_compile.ts [--positioned] [POLICY]
 *
 * `--positioned` turns the fast path for valid policies off (the front end
 * every policy took before it existed). POLICY defaults to Firecracker's
 * x86_64 policy beside the repository.
 *
 * @module
 */
import { readFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { compilePolicy } from "../../src/compile.ts";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..");
const args = process.argv.slice(2);
const positioned = args.includes("--positioned");
const path = args.find((a) => !a.startsWith("--")) ??
  resolve(process.env.SECCOMPILER_CORPUS || resolve(root, "..", "shared", "corpus", "firecracker"), "x86_64-unknown-linux-musl.json");
const text = readFileSync(path, "utf8");
const rounds = 2000;
const started = performance.now();
for (let i = 0; i < rounds; i++) compilePolicy(text, "x86_64", { fastPath: !positioned });
const perCompile = (performance.now() - started) / rounds;
console.error(`${rounds} compiles of ${path} (${positioned ? "positioned front end" : "fast path"}): ${(perCompile * 1000).toFixed(0)} µs each`);
