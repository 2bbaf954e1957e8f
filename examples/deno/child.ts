/**
 * The worker: loads the filter file named on its command line, installs the
 * "main" filter on itself, then tries to create a directory.
 *
 *   deno run --allow-read --allow-env --allow-ffi --allow-write child.ts FILTER_FILE DIRECTORY
 */
import { applyFilter, deserializeBinary } from "seccompiler/install";

const [filterFile, directory] = Deno.args;
if (filterFile === undefined || directory === undefined) throw new Error("usage: child.ts FILTER_FILE DIRECTORY");
const main = deserializeBinary(await Deno.readFile(filterFile)).get("main");
if (main === undefined) throw new Error(`${filterFile} has no filter for thread "main"`);
await applyFilter(main);

try {
  Deno.mkdirSync(directory);
  console.log("child: mkdir allowed");
} catch (error) {
  console.log(`child: mkdir denied (${(error as { code?: string }).code})`);
}
