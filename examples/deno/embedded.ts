/**
 * The filter embedded in the program: Deno cannot run Bun macros, so the
 * filter file is compiled ahead of time with the CLI and imported as bytes
 * (`deno compile --unstable-raw-imports` puts it inside the executable). The
 * first thing the program does is install it.
 *
 *   seccompiler --target-arch x86_64 --input-file policy.json --output-file worker.bpf
 *   deno run --unstable-raw-imports --allow-read --allow-env --allow-ffi --allow-write embedded.ts
 */
import { applyFilter, deserializeBinary } from "seccompiler/install";
import filterBytes from "./worker.bpf" with { type: "bytes" };

const main = deserializeBinary(filterBytes).get("main");
if (main === undefined) throw new Error("worker.bpf has no filter for thread main");
await applyFilter(main);

try {
  Deno.mkdirSync(Deno.args[0] ?? "made-by-embedded");
  console.log("embedded: mkdir allowed");
} catch (error) {
  console.log(`embedded: mkdir denied (${(error as { code?: string }).code})`);
}
