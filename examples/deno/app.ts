/**
 * A Deno app that keeps itself unfiltered and runs its worker under a filter:
 * compiles the filter from TypeScript, writes it as a Firecracker filter file,
 * and starts child.ts, which loads that file and installs it.
 *
 *   deno run --allow-read --allow-write --allow-env --allow-run app.ts
 */
import { ALLOW, compileFilter, errno, hostArch, seccompFilter, serializeBinary } from "seccompiler";

const arch = hostArch();
if (arch === undefined) throw new Error("seccompiler does not support this CPU architecture");
const denyMkdir = seccompFilter({ arch, mismatchAction: ALLOW, matchAction: errno(1), rules: { mkdir: [], mkdirat: [] } });

const dir = await Deno.makeTempDir({ prefix: "seccompiler-example-" });
const filterFile = `${dir}/worker.bpf`;
await Deno.writeFile(filterFile, serializeBinary(new Map([["main", compileFilter(denyMkdir)]])));

// The worker gets only what installing a filter needs (read, env, ffi) and writing into dir.
const child = await new Deno.Command(Deno.execPath(), {
  args: [
    "run", "--allow-read", "--allow-env", "--allow-ffi", `--allow-write=${dir}`,
    new URL("./child.ts", import.meta.url).pathname, filterFile, `${dir}/made-by-child`,
  ],
}).output();
await Deno.stdout.write(child.stdout);
await Deno.stderr.write(child.stderr);
// The parent has no filter: it can still create directories.
await Deno.mkdir(`${dir}/made-by-parent`);
console.log("parent: mkdir allowed");
Deno.exit(child.code);
