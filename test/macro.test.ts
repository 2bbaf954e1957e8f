/**
 * Build-time compilation: a Bun macro compiles the policy while bundling; the
 * bundle runs without the policy file; a bad policy fails the build with
 * positioned diagnostics.
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { copyFileSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { BUN, REPO_ROOT } from "./support/paths.ts";

const entry = (policy: string) => `
import { compilePolicyFile } from ${JSON.stringify(join(REPO_ROOT, "src", "macro.ts"))} with { type: "macro" };
import { deserializeBinary, runFilter } from ${JSON.stringify(join(REPO_ROOT, "src", "mod.ts"))};
const filters = deserializeBinary(Uint8Array.fromBase64(compilePolicyFile(${JSON.stringify(policy)}, "x86_64")));
const main = filters.get("main");
console.log(JSON.stringify({
  threads: [...filters.keys()],
  getpid: runFilter(main, { nr: 39, arch: 0xc000003e, args: [] }).value,
  getppid: runFilter(main, { nr: 110, arch: 0xc000003e, args: [] }).value,
}));
`;

describe("Bun macro", () => {
  test("compiles at build time; the bundle runs without the policy", () => {
    const dir = mkdtempSync(join(tmpdir(), "seccompiler-macro-"));
    try {
      writeFileSync(join(dir, "policy.json"), JSON.stringify({
        main: { default_action: { errno: 1 }, filter_action: "allow", filter: [{ syscall: "getpid" }] },
      }));
      writeFileSync(join(dir, "app.ts"), entry("policy.json"));
      const build = spawnSync(BUN, ["build", "app.ts", "--target=bun", "--outfile=app.js"], { cwd: dir, encoding: "utf8" });
      assert.equal(build.status, 0, build.stderr);
      rmSync(join(dir, "policy.json"));
      rmSync(join(dir, "app.ts"));
      const run = spawnSync(BUN, ["app.js"], { cwd: dir, encoding: "utf8" });
      assert.equal(run.status, 0, run.stderr);
      assert.deepEqual(JSON.parse(run.stdout), { threads: ["main"], getpid: 0x7fff0000, getppid: 0x00050001 });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test("a bad policy fails the build with positioned diagnostics", () => {
    const dir = mkdtempSync(join(tmpdir(), "seccompiler-macro-"));
    try {
      copyFileSync(join(REPO_ROOT, "policies", "example.json"), join(dir, "ok.json"));
      writeFileSync(join(dir, "policy.json"), '{\n  "main": {"default_action": "trap", "filter_action": "allow", "filter": [{"syscall": "opne"}]}\n}\n');
      writeFileSync(join(dir, "app.ts"), entry("policy.json"));
      const build = spawnSync(BUN, ["build", "app.ts", "--target=bun", "--outfile=app.js"], { cwd: dir, encoding: "utf8" });
      assert.notEqual(build.status, 0);
      assert.match(build.stderr + build.stdout, /policy\.json:2:\d+: error: unknown syscall "opne" for x86_64; did you mean "open"\?/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
