/**
 * The standalone executable: `bun build --compile` of the CLI works on its
 * own (compile and exec), and ignores a bunfig.toml/.env in the directory it
 * is started from (those could inject code into a tool that installs filters).
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { REPO_ROOT } from "./support/paths.ts";
import { standaloneExecutable } from "./support/standalone.ts";
import { deserializeBinary } from "../src/container.ts";
import { readFileSync } from "node:fs";

describe("standalone executable", () => {
  test("builds, compiles a policy, runs a program under a filter, ignores the caller's bunfig.toml", () => {
    const dir = mkdtempSync(join(tmpdir(), "seccompiler-ship-"));
    try {
      // Built once per test run by scripts/build.sh, shared with the other standalone tests.
      const binary = standaloneExecutable();

      // A hostile working directory: preload script and .env.
      writeFileSync(join(dir, "evil.ts"), `require("node:fs").writeFileSync(${JSON.stringify(join(dir, "INJECTED"))}, "x");`);
      writeFileSync(join(dir, "bunfig.toml"), 'preload = ["./evil.ts"]\n');
      writeFileSync(join(dir, ".env"), "SECCOMPILER_INJECTED=1\n");

      const run = (args: string[]) => spawnSync(binary, args, { cwd: dir, encoding: "utf8" });
      const version = run(["--version"]);
      assert.equal(version.status, 0, version.stderr);
      assert.match(version.stdout, /^seccompiler \d+\.\d+\.\d+/);

      const compiled = run(["-t", "x86_64", "-i", join(REPO_ROOT, "policies", "example.json"), "-o", "out.bin"]);
      assert.equal(compiled.status, 0, compiled.stderr);
      assert.ok(deserializeBinary(readFileSync(join(dir, "out.bin"))).size >= 2);

      writeFileSync(join(dir, "deny-getpid.json"), JSON.stringify({
        main: { default_action: "allow", filter_action: { errno: 1 }, filter: [{ syscall: "mkdir" }, { syscall: "mkdirat" }] },
      }));
      const exec = run(["exec", "--policy", "deny-getpid.json", "--", "sh", "-c", "grep -E '^(Seccomp|NoNewPrivs):' /proc/self/status; mkdir blocked || echo denied; env | grep -c SECCOMPILER_INJECTED || true"]);
      assert.equal(exec.status, 0, exec.stderr);
      assert.match(exec.stdout, /NoNewPrivs:\s+1/);
      assert.match(exec.stdout, /Seccomp:\s+2/);
      assert.match(exec.stdout, /denied/);
      assert.match(exec.stdout, /^0$/m); // .env was not loaded into the environment
      assert.equal(existsSync(join(dir, "blocked")), false);
      assert.equal(existsSync(join(dir, "INJECTED")), false);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
