/**
 * Soak mode of the trust tests (`npm run soak`): the same property suites CI
 * runs, with every case budget multiplied, so the differential suite checks a
 * million random filters (10,000 per CI run × 100) and the others scale alike.
 *
 * Usage:
 *   bun scripts/soak.ts [--scale N] [--seed S] [suite...]
 *
 *   --scale N   multiply every suite's CI budget by N (default 100: 1,000,000 differential cases)
 *   --seed S    fast-check seed for every suite (default: a fresh one, printed; replay with the same value)
 *   suite       differential, kernel-agreement, libseccomp, hostile, reproducible (default: all)
 *
 * A failure prints its seed and fast-check path; replay it with
 *   SECCOMPILER_SEED=<seed> SECCOMPILER_PATH=<path> bun test test/<suite>.test.ts
 *
 * @module
 */
import { spawnSync } from "node:child_process";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..");
const SUITES = ["differential", "kernel-agreement", "libseccomp", "hostile", "reproducible"];

const { values, positionals } = parseArgs({
  args: process.argv.slice(2),
  options: { scale: { type: "string", default: "100" }, seed: { type: "string" }, help: { type: "boolean", short: "h" } },
  allowPositionals: true,
});
if (values.help) {
  console.log("usage: bun scripts/soak.ts [--scale N] [--seed S] [" + SUITES.join("|") + "...]");
  process.exit(0);
}
const scale = Number(values.scale);
if (!Number.isFinite(scale) || scale <= 0) {
  console.error(`soak: --scale must be a positive number, not ${JSON.stringify(values.scale)}`);
  process.exit(2);
}
const unknown = positionals.filter((s) => !SUITES.includes(s));
if (unknown.length > 0) {
  console.error(`soak: unknown suite ${unknown.join(", ")}; choose from ${SUITES.join(", ")}`);
  process.exit(2);
}
const seed = values.seed ?? String((Math.random() * 0x7fffffff) | 0);
const suites = positionals.length > 0 ? positionals : SUITES;

console.log(`soak: scale x${scale}, seed ${seed}, suites ${suites.join(", ")}`);
const started = Date.now();
let failed = 0;
for (const suite of suites) {
  const run = spawnSync(join(ROOT, "node_modules", ".bin", "bun"), ["test", "--timeout", "86400000", `test/${suite}.test.ts`], {
    cwd: ROOT,
    stdio: "inherit",
    env: { ...process.env, SECCOMPILER_CASES: `x${scale}`, SECCOMPILER_SEED: seed },
  });
  if (run.status !== 0) failed++;
}
const minutes = ((Date.now() - started) / 60_000).toFixed(1);
console.log(`soak: ${suites.length - failed}/${suites.length} suites passed in ${minutes} min (seed ${seed}, scale x${scale})`);
process.exit(failed === 0 ? 0 : 1);
