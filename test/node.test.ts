/**
 * The pure library runs on Node too: bundle src/mod.ts for Node with Bun and
 * compile, serialize, read back and evaluate a policy in a Node process.
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { BUN, REPO_ROOT } from "./support/paths.ts";

const node = spawnSync("node", ["--version"], { encoding: "utf8" });

describe("library on Node", { skip: node.status !== 0 && "node not installed" }, () => {
  test("compileFromJson, serializeBinary, deserializeBinary, runFilter", () => {
    // Inside node_modules so Node resolves the dependencies the way an installed package would.
    mkdirSync(join(REPO_ROOT, "node_modules", ".cache"), { recursive: true });
    const dir = mkdtempSync(join(REPO_ROOT, "node_modules", ".cache", "seccompiler-node-"));
    try {
      const bundle = join(dir, "seccompiler.mjs");
      const build = spawnSync(BUN, ["build", join(REPO_ROOT, "src", "mod.ts"), "--target=node", "--format=esm", "--packages=external", `--outfile=${bundle}`], { encoding: "utf8" });
      assert.equal(build.status, 0, build.stderr);
      const script = join(dir, "use.mjs");
      writeFileSync(script, `
import { compileFromJson, serializeBinary, deserializeBinary, runFilter, PolicyError } from ${JSON.stringify(bundle)};
const policy = '{"main": {"default_action": {"errno": 1}, "filter_action": "allow", "filter": [{"syscall": "getpid"}]}}';
const programs = deserializeBinary(serializeBinary(compileFromJson(policy, "x86_64")));
const program = programs.get("main");
const allowed = runFilter(program, { nr: 39, arch: 0xc000003e, args: [] }).value;
const denied = runFilter(program, { nr: 40, arch: 0xc000003e, args: [] }).value;
let error = "";
try { compileFromJson('{"main": 1}', "x86_64", { file: "p.json" }); } catch (e) { error = e instanceof PolicyError ? e.diagnostics[0].code : "wrong type"; }
console.log(JSON.stringify({ allowed, denied, error }));
`);
      const run = spawnSync("node", [script], { encoding: "utf8" });
      assert.equal(run.status, 0, run.stderr);
      const result = JSON.parse(run.stdout);
      assert.equal(result.allowed, 0x7fff0000);
      assert.equal(result.denied, 0x00050001);
      assert.notEqual(result.error, "");
      assert.notEqual(result.error, "wrong type");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
