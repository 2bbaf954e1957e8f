/**
 * The worker: loads the filter file named on its command line, installs the
 * "main" filter on itself, then tries to create a directory.
 *
 *   bun child.ts FILTER_FILE DIRECTORY
 */
import { mkdirSync, readFileSync } from "node:fs";
import { applyFilter, deserializeBinary } from "seccompiler/install";

const [filterFile, directory] = process.argv.slice(2);
if (filterFile === undefined || directory === undefined) throw new Error("usage: bun child.ts FILTER_FILE DIRECTORY");
const main = deserializeBinary(readFileSync(filterFile)).get("main");
if (main === undefined) throw new Error(`${filterFile} has no filter for thread "main"`);
await applyFilter(main);

try {
  mkdirSync(directory);
  console.log("child: mkdir allowed");
} catch (error) {
  console.log(`child: mkdir denied (${(error as NodeJS.ErrnoException).code})`);
}
