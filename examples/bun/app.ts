/**
 * A Bun app that keeps itself unfiltered and runs its worker under a filter:
 * compiles the filter from TypeScript (filter.ts), writes it as a Firecracker
 * filter file, and starts child.ts, which loads that file and installs it.
 *
 *   bun app.ts
 */
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { compileFilter, serializeBinary } from "seccompiler";
import { denyMkdir } from "./filter.ts";

const dir = mkdtempSync(join(tmpdir(), "seccompiler-example-"));
const filterFile = join(dir, "worker.bpf");
writeFileSync(filterFile, serializeBinary(new Map([["main", compileFilter(denyMkdir)]])));

const child = spawnSync(process.execPath, [join(import.meta.dir, "child.ts"), filterFile, join(dir, "made-by-child")], {
  encoding: "utf8",
});
process.stdout.write(child.stdout);
process.stderr.write(child.stderr);
// The parent has no filter: it can still create directories.
mkdirSync(join(dir, "made-by-parent"));
console.log("parent: mkdir allowed");
process.exit(child.status ?? 1);
