/**
 * `deno task compile` (deno.json): standalone Deno executables for
 * x86_64-unknown-linux-gnu and aarch64-unknown-linux-gnu. Compiling needs the
 * `denort` runtime from Deno's download server, which this machine and CI
 * cannot reach, so this file tests everything short of that download: the two
 * tasks differ only in target and output, the module graph they embed holds
 * only the runtime dependencies, and the entry point runs under `deno run`
 * with the tasks' own flags (compile, and exec on the real kernel).
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DENO, REPO_ROOT } from "./support/paths.ts";

const denoJson = JSON.parse(readFileSync(join(REPO_ROOT, "deno.json"), "utf8"));
const pkg = JSON.parse(readFileSync(join(REPO_ROOT, "package.json"), "utf8"));
const TARGETS = ["x86_64-unknown-linux-gnu", "aarch64-unknown-linux-gnu"];

/** One compile task split into its parts. */
function parseTask(command: string) {
  const words = command.split(/\s+/);
  // The project's pinned Deno by path: inside `deno task`, a bare `deno` resolves to node_modules/.bin/deno,
  // which deno task then tries to run as a JavaScript bin.
  assert.deepEqual(words.slice(0, 2), ["node_modules/.bin/deno", "compile"], command);
  const target = words[words.indexOf("--target") + 1];
  const output = words[words.indexOf("--output") + 1];
  const entry = words.at(-1)!;
  // What `deno run` accepts too: permissions and module resolution (the rest only makes sense for compile).
  const runFlags = words.slice(2, -1).filter((w, i, all) =>
    !["--target", "--output", "--exclude-unused-npm"].includes(w) && !["--target", "--output"].includes(all[i - 1] ?? "")
  );
  return { target, output, entry, runFlags, permissions: runFlags.filter((w) => /^--allow-|^-A$/.test(w)) };
}

const tasks = TARGETS.map((target) => {
  const name = Object.keys(denoJson.tasks).find((key) => key.startsWith("compile:") && denoJson.tasks[key].includes(`--target ${target}`));
  assert.ok(name, `no compile task for ${target}`);
  return { name, ...parseTask(denoJson.tasks[name]) };
});
const [first] = tasks;

describe("deno task compile (short of the denort download)", () => {
  test("one task per target, identical but for target and output; `compile` runs both", () => {
    for (const task of tasks) {
      assert.deepEqual(task.runFlags, first!.runFlags);
      assert.equal(task.entry, "src/cli/main.ts");
      assert.equal(task.output, `dist/seccompiler-deno-${task.target}`);
    }
    assert.deepEqual(tasks.map((t) => t.target), TARGETS);
    for (const { name } of tasks) assert.ok(denoJson.tasks.compile.includes(`node_modules/.bin/deno task ${name}`), name);
    // The launcher's Deno permission set: it reads /proc/self/* (cmdline, environ, auxv, fd), which
    // Deno opens only under --allow-all, and --allow-ffi alone already grants everything.
    assert.deepEqual(first!.permissions, ["--allow-all"]);
  });

  test("embeds only the runtime dependencies, at package.json's versions", () => {
    const mapFlag = first!.runFlags.find((w) => w.startsWith("--import-map="));
    assert.ok(mapFlag && first!.runFlags.includes("--no-config") && first!.runFlags.includes("--node-modules-dir=none"));
    const imports: Record<string, string> = JSON.parse(readFileSync(join(REPO_ROOT, mapFlag.slice("--import-map=".length)), "utf8")).imports;
    const runtime = Object.entries(pkg.dependencies as Record<string, string>).filter(([name]) => name !== "bun"); // bun: the npm bin's runtime, never imported
    assert.deepEqual(imports, Object.fromEntries(runtime.map(([name, version]) => [name, `npm:${name}@${version}`])));

    const info = spawnSync(DENO, ["info", "--json", ...first!.runFlags.filter((w) => !w.startsWith("--allow")), first!.entry], {
      cwd: REPO_ROOT, encoding: "utf8", env: { ...process.env, NO_COLOR: "1" },
    });
    assert.equal(info.status, 0, info.stderr);
    const modules: { kind?: string; specifier: string; size?: number; npmPackage?: string }[] = JSON.parse(info.stdout).modules;
    const npm = modules.filter((m) => m.kind === "npm").map((m) => m.npmPackage).sort();
    assert.deepEqual(npm, runtime.map(([name, version]) => `${name}@${version}`).sort());
    const local = modules.filter((m) => m.specifier.startsWith("file:"));
    assert.ok(local.every((m) => m.specifier.includes("/src/")), "only src/ modules");
  });

  test("the entry point runs under deno run with the tasks' flags: --help, compile, exec on the real kernel", () => {
    const dir = mkdtempSync(join(tmpdir(), "seccompiler-deno-compile-"));
    try {
      // deno task runs in the repository root; here the working directory is elsewhere.
      const flags = first!.runFlags.map((w) => w.replace(/^--import-map=(.*)$/, (_, path) => `--import-map=${join(REPO_ROOT, path)}`));
      const run = (args: string[]) =>
        spawnSync(DENO, ["run", ...flags, join(REPO_ROOT, first!.entry), ...args], {
          cwd: dir, encoding: "utf8", env: { ...process.env, NO_COLOR: "1" },
        });
      const help = run(["--help"]);
      assert.equal(help.status, 0, help.stderr);
      assert.match(help.stdout, /^seccompiler \d+\.\d+\.\d+/);
      const compiled = run(["-t", "aarch64", "-i", join(REPO_ROOT, "policies", "example.json"), "-o", "example.bpf"]);
      assert.equal(compiled.status, 0, compiled.stderr);
      assert.ok(readFileSync(join(dir, "example.bpf")).length > 100);

      writeFileSync(join(dir, "policy.json"), JSON.stringify({
        main: { default_action: "allow", filter_action: { errno: 1 }, filter: [{ syscall: "mkdir" }, { syscall: "mkdirat" }] },
      }));
      const exec = run(["exec", "--policy", "policy.json", "--", "sh", "-c", "grep -E '^Seccomp:' /proc/self/status; mkdir blocked || echo denied"]);
      assert.equal(exec.status, 0, exec.stderr);
      assert.match(exec.stdout, /Seccomp:\s+2/);
      assert.match(exec.stdout, /denied/);
      assert.equal(existsSync(join(dir, "blocked")), false);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
