/**
 * examples/bun and examples/deno, run as a user would run them: copied into a
 * project that has the packed package installed (test/support/package.ts), so
 * `seccompiler`, `seccompiler/install` and `seccompiler/macro` resolve to what
 * npm installs. Each app compiles a filter from TypeScript, writes and loads a
 * filter file, installs it in a child, and embeds a filter in the program.
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { cpSync, existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DENO, REPO_ROOT } from "./support/paths.ts";
import { cleanEnv, installedPackage, PACKAGE_TEST } from "./support/package.ts";

/** Copies examples/<name> into the installed project and returns its path there. */
function example(name: string): string {
  const target = join(installedPackage().project, `example-${name}`);
  rmSync(target, { recursive: true, force: true });
  cpSync(join(REPO_ROOT, "examples", name), target, { recursive: true });
  return target;
}

/** A directory whose bunfig.toml preloads a script that leaves a marker, plus a .env. */
function hostileDir(): { dir: string; marker: string } {
  const dir = mkdtempSync(join(tmpdir(), "seccompiler-example-hostile-"));
  const marker = join(dir, "PRELOAD-RAN");
  writeFileSync(join(dir, "evil.js"), `require("node:fs").writeFileSync(${JSON.stringify(marker)}, "x");`);
  writeFileSync(join(dir, "bunfig.toml"), 'preload = ["./evil.js"]\n');
  writeFileSync(join(dir, ".env"), "SECCOMPILER_EXAMPLE_INJECTED=1\n");
  return { dir, marker };
}

describe("examples/bun", () => {
  test("app.ts: filter compiled from TypeScript, written, loaded and installed in a child; the parent stays unfiltered", PACKAGE_TEST, () => {
    const dir = example("bun");
    const run = spawnSync(installedPackage().bun, ["app.ts"], { cwd: dir, env: cleanEnv(), encoding: "utf8" });
    assert.equal(run.status, 0, run.stderr);
    assert.equal(run.stdout, "child: mkdir denied (EPERM)\nparent: mkdir allowed\n");
  });

  test("embedded.ts: the macro embeds the filter; built with the documented flags it ignores a hostile bunfig.toml, without them the preload runs first", PACKAGE_TEST, () => {
    const dir = example("bun");
    const { bun } = installedPackage();
    const build = (flags: string[], out: string) => {
      const run = spawnSync(bun, ["build", "--compile", ...flags, "embedded.ts", "--outfile", out], { cwd: dir, env: cleanEnv(), encoding: "utf8" });
      assert.equal(run.status, 0, run.stderr);
      return join(dir, out);
    };
    const hardened = build(["--no-compile-autoload-bunfig", "--no-compile-autoload-dotenv"], "embedded");
    const hostile = hostileDir();
    try {
      rmSync(join(dir, "policy.json")); // compiled in at build time: not needed to run
      const run = spawnSync(hardened, [join(hostile.dir, "made")], { cwd: hostile.dir, env: cleanEnv(), encoding: "utf8" });
      assert.equal(run.status, 0, run.stderr);
      assert.equal(run.stdout, "embedded: mkdir denied (EPERM)\n");
      assert.equal(existsSync(hostile.marker), false, "the hostile preload ran in the hardened build");

      // The warning in the docs, demonstrated: the same program built without the flags runs the
      // directory's preload before its own first line, so before the filter exists.
      cpSync(join(REPO_ROOT, "examples", "bun", "policy.json"), join(dir, "policy.json"));
      const unhardened = build([], "embedded-unhardened");
      const exposed = spawnSync(unhardened, [join(hostile.dir, "made")], { cwd: hostile.dir, env: cleanEnv(), encoding: "utf8" });
      assert.equal(exposed.stdout, "embedded: mkdir denied (EPERM)\n", exposed.stderr);
      assert.equal(existsSync(hostile.marker), true, "expected the unhardened build to run the preload");
    } finally {
      rmSync(hostile.dir, { recursive: true, force: true });
    }
  });
});

describe("examples/deno", () => {
  test("app.ts: filter compiled from TypeScript, written, loaded and installed in a child with read/env/ffi only", PACKAGE_TEST, () => {
    const dir = example("deno");
    const run = spawnSync(DENO, ["run", "--allow-read", "--allow-write", "--allow-env", "--allow-run", "app.ts"], {
      cwd: dir, env: cleanEnv(), encoding: "utf8",
    });
    assert.equal(run.status, 0, run.stderr);
    assert.equal(run.stdout, "child: mkdir denied (EPERM)\nparent: mkdir allowed\n");
  });

  test("embedded.ts: a filter file compiled by the package's bin, imported as bytes, installed first", PACKAGE_TEST, () => {
    const dir = example("deno");
    const { bin } = installedPackage();
    const compiled = spawnSync(bin, ["--target-arch", "x86_64", "--input-file", "policy.json", "--output-file", "worker.bpf"], {
      cwd: dir, env: cleanEnv(), encoding: "utf8",
    });
    assert.equal(compiled.status, 0, compiled.stderr);
    const target = join(dir, "made-by-embedded");
    const run = spawnSync(DENO, ["run", "--unstable-raw-imports", "--allow-read", "--allow-env", "--allow-ffi", "--allow-write", "embedded.ts", target], {
      cwd: dir, env: cleanEnv(), encoding: "utf8",
    });
    assert.equal(run.status, 0, run.stderr);
    assert.equal(run.stdout, "embedded: mkdir denied (EPERM)\n");
    assert.equal(existsSync(target), false);
  });
});
