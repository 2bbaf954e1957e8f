/**
 * Where a warm in-process compile spends its time, stage by stage: the
 * policy's `JSON.parse`, the fast-path front end (`parseValidPolicy`), and per
 * thread code generation with the cost-shaped dispatch, the same with a
 * linear dispatch instead (no planning of the syscall search), and the
 * optimizer. Medians over warm rounds, in µs. docs/bench.md quotes it:
 *
 *   bun scripts/bench/compile_stages.ts [POLICY] [ARCH]
 *
 * POLICY defaults to Firecracker's x86_64 policy beside the repository, ARCH
 * to x86_64.
 *
 * @module
 */
import { readFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { ARCH_NAMES, type ArchName, getArch } from "../../src/arch/arch.ts";
import { generateProgram, linearLayout } from "../../src/codegen/mod.ts";
import { optimizeProgram } from "../../src/optimize/mod.ts";
import { parseValidPolicy } from "../../src/policy/fast.ts";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..");
const [pathArg, archArg] = process.argv.slice(2);
const path = pathArg ??
  resolve(process.env.SECCOMPILER_CORPUS || resolve(root, "..", "shared", "corpus", "firecracker"), "x86_64-unknown-linux-musl.json");
const archName = archArg ?? "x86_64";
if (!(ARCH_NAMES as readonly string[]).includes(archName)) {
  console.error(`unknown architecture ${JSON.stringify(archName)}; expected one of ${ARCH_NAMES.join(", ")}`);
  process.exit(2);
}
const arch = getArch(archName as ArchName);
let text: string;
try {
  text = readFileSync(path, "utf8");
} catch (error) {
  console.error(`cannot read ${path}: ${(error as Error).message}`);
  process.exit(1);
}
const filters = parseValidPolicy(text, arch, false);
if (filters === undefined) {
  console.error(`${path}: not a valid policy for ${arch.name} (the fast path declines it); see seccompiler lint`);
  process.exit(1);
}

const WARM = 300;
const ROUNDS = 1000;
const samples = new Map<string, number[]>();
const time = (name: string, run: () => unknown, keep: boolean) => {
  const started = performance.now();
  run();
  if (keep) {
    let list = samples.get(name);
    if (list === undefined) samples.set(name, list = []);
    list.push((performance.now() - started) * 1000);
  }
};
for (let round = 0; round < WARM + ROUNDS; round++) {
  const keep = round >= WARM;
  time("JSON.parse", () => JSON.parse(text), keep);
  time("front end (fast path)", () => parseValidPolicy(text, arch, false), keep);
  for (const [thread, filter] of filters) {
    let program = generateProgram(filter);
    time(`${thread}: code generation`, () => program = generateProgram(filter), keep);
    time(`${thread}: code generation, linear dispatch`, () => generateProgram(filter, { layout: linearLayout }), keep);
    time(`${thread}: optimizer`, () => optimizeProgram(program), keep);
  }
}
const median = (values: number[]) => [...values].sort((x, y) => x - y)[values.length >> 1];
const width = Math.max(...[...samples.keys()].map((name) => name.length));
console.log(`${path} (${arch.name}), medians of ${ROUNDS} warm rounds:`);
for (const [name, values] of samples) console.log(`  ${name.padEnd(width)}  ${median(values).toFixed(0).padStart(5)} µs`);
