/**
 * The filter embedded at build time with the Bun macro: policy.json is
 * compiled while `bun build` runs, and only the filter bytes end up in the
 * executable. The first thing the program does is install it.
 *
 *   bun build --compile --no-compile-autoload-bunfig --no-compile-autoload-dotenv embedded.ts --outfile embedded
 *
 * Keep both --no-compile-autoload flags: without them the executable reads a
 * bunfig.toml (and .env) from the directory it starts in, and a preload script
 * listed there would run before this filter is installed.
 */
import { mkdirSync } from "node:fs";
import { compilePolicyFile } from "seccompiler/macro" with { type: "macro" };
import { applyFilter, deserializeBinary } from "seccompiler/install";

const filters = deserializeBinary(Uint8Array.fromBase64(compilePolicyFile("policy.json", "x86_64")));
const main = filters.get("main");
if (main === undefined) throw new Error("policy.json has no filter for thread main");
await applyFilter(main);

try {
  mkdirSync(process.argv[2] ?? "made-by-embedded");
  console.log("embedded: mkdir allowed");
} catch (error) {
  console.log(`embedded: mkdir denied (${(error as NodeJS.ErrnoException).code})`);
}
