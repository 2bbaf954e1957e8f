/**
 * Writes policies/seccompiler.schema.json from the schema definitions in
 * src/policy/schema.ts. With `--check`, writes nothing and exits 1 when the
 * committed file is out of date.
 *
 * Usage: bun scripts/gen-schema.ts [--check]
 *
 * @module
 */
import { readFileSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { policySchemaText } from "../src/policy/schema.ts";

const target = fileURLToPath(new URL("../policies/seccompiler.schema.json", import.meta.url));
const text = policySchemaText();
const check = (globalThis as { process?: { argv?: string[] } }).process?.argv?.includes("--check") ?? false;

if (check) {
  let current = "";
  try {
    current = readFileSync(target, "utf8");
  } catch {
    // A missing file is simply out of date.
  }
  if (current !== text) {
    console.error(`${target} is out of date; run: bun scripts/gen-schema.ts`);
    (globalThis as { process?: { exitCode?: number } }).process!.exitCode = 1;
  }
} else {
  writeFileSync(target, text);
  console.log(`wrote ${target}`);
}
