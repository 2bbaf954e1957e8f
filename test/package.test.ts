/**
 * The npm package as a user gets it (test/support/package.ts: built, packed,
 * installed into a fresh project): what it ships, that Node, Bun and Deno
 * import its three entry points, that an app's strict tsc accepts its
 * declarations, how small an install-only app bundles, and that its bin runs
 * on the Bun it depends on and ignores a hostile working directory.
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DENO, REPO_ROOT } from "./support/paths.ts";
import { cleanEnv, installedPackage, PACKAGE_TEST } from "./support/package.ts";
import { ARCH_NAMES, getArch, seccompSyscallNumber } from "../src/arch/arch.ts";

/**
 * Ceiling for the minified bundle of an app that imports only `seccompiler/install`
 * (measured: see the size test's message and the README). It fails when the compiler, a parser,
 * a validation library or the syscall tables creep into the install path.
 */
const INSTALL_BUNDLE_CEILING = 32 * 1024;

const POLICY = JSON.stringify({
  main: { default_action: "allow", filter_action: { errno: 1 }, filter: [{ syscall: "mkdir" }, { syscall: "mkdirat" }] },
});

/** Writes `files` into the installed project and runs `command` there. */
function inProject(files: Record<string, string>, command: string, args: string[], env: Record<string, string> = {}) {
  const { project } = installedPackage();
  for (const [name, text] of Object.entries(files)) writeFileSync(join(project, name), text);
  return spawnSync(command, args, { cwd: project, env: cleanEnv(env), encoding: "utf8" });
}

/** A script that compiles POLICY with "seccompiler", installs it with "seccompiler/install", and tries mkdir. */
const INSTALL_SCRIPT = (mkdir: string) => `
import { compileFromJson, serializeBinary } from "seccompiler";
import { applyFilter, deserializeBinary, InstallError } from "seccompiler/install";
const bytes = serializeBinary(compileFromJson(${JSON.stringify(POLICY)}, "x86_64"));
const main = deserializeBinary(bytes).get("main");
if (main === undefined) throw new Error("no main filter");
await applyFilter(main);
let outcome = "created";
try { ${mkdir} } catch (error) { outcome = error.code ?? error.name; }
console.log(JSON.stringify({ outcome, installError: typeof InstallError }));
`;

describe("npm package", () => {
  test("ships lib/ (ES modules + .d.ts), the bin, LICENSE and README, nothing else", PACKAGE_TEST, () => {
    const { files } = installedPackage();
    const outside = files.filter((f) => !f.startsWith("lib/"));
    assert.deepEqual(outside, ["LICENSE", "README.md", "bin/bunfig.toml", "bin/handover.sh", "bin/seccompiler", "bin/tsconfig.json", "package.json"]);
    for (const entry of ["mod", "install", "macro"]) {
      assert.ok(files.includes(`lib/${entry}.js`), `lib/${entry}.js`);
      assert.ok(files.includes(`lib/${entry}.d.ts`), `lib/${entry}.d.ts`);
    }
    assert.ok(files.every((f) => /\.(js|d\.ts)$/.test(f) || !f.startsWith("lib/")), "only .js and .d.ts under lib/");
    assert.match(readFileSync(join(REPO_ROOT, "LICENSE"), "utf8"), /Apache License\s+Version 2\.0/);
    const pkg = JSON.parse(readFileSync(join(REPO_ROOT, "package.json"), "utf8"));
    assert.equal(pkg.license, "Apache-2.0");
    assert.ok(pkg.repository && pkg.keywords?.length && pkg.engines?.node, "repository, keywords, engines");
    // deno.json (JSR) publishes the same version and the same three entry points, from the sources.
    const deno = JSON.parse(readFileSync(join(REPO_ROOT, "deno.json"), "utf8"));
    assert.equal(deno.version, pkg.version);
    assert.equal(deno.license, pkg.license);
    assert.deepEqual(Object.keys(deno.exports), Object.keys(pkg.exports));
  });

  test("Node imports all three entry points from the installed package", PACKAGE_TEST, () => {
    const run = inProject({
      "node-app.mjs": `
import * as all from "seccompiler";
import * as install from "seccompiler/install";
import * as macro from "seccompiler/macro";
const programs = all.deserializeBinary(all.serializeBinary(all.compileFromJson(${JSON.stringify(POLICY)}, "x86_64")));
const main = install.deserializeBinary(all.serializeBinary(programs)).get("main");
const denied = all.runFilter(main, { nr: 83, arch: 0xc000003e, args: [] }).value; // mkdir
console.log(JSON.stringify({ denied, install: typeof install.applyFilter, macro: typeof macro.compilePolicyFile }));
`,
    }, "node", ["node-app.mjs"]);
    assert.equal(run.status, 0, run.stderr);
    assert.deepEqual(JSON.parse(run.stdout), { denied: 0x00050001, install: "function", macro: "function" });
  });

  test("Bun imports the package and installs a filter (in a child)", PACKAGE_TEST, () => {
    const { bun } = installedPackage();
    const run = inProject({ "bun-app.mjs": INSTALL_SCRIPT(`require("node:fs").mkdirSync("bun-made")`) }, bun, ["bun-app.mjs"]);
    assert.equal(run.status, 0, run.stderr);
    assert.deepEqual(JSON.parse(run.stdout), { outcome: "EPERM", installError: "function" });
  });

  test("Deno imports the package from npm (no type stripping in node_modules) and installs a filter", PACKAGE_TEST, () => {
    // The permissions an app that installs a filter needs: read (libc, the package), env, ffi.
    const run = inProject(
      { "deno-app.mjs": INSTALL_SCRIPT(`Deno.mkdirSync("deno-made")`) },
      DENO, ["run", "--allow-read", "--allow-env", "--allow-ffi", "--allow-write=deno-made", "deno-app.mjs"],
    );
    assert.equal(run.status, 0, run.stderr);
    assert.deepEqual(JSON.parse(run.stdout), { outcome: "EPERM", installError: "function" });
  });

  test("an app's strict tsc (noUncheckedIndexedAccess, skipLibCheck false, no ambient types) accepts the declarations", PACKAGE_TEST, () => {
    const run = inProject({
      "tsconfig.json": JSON.stringify({
        compilerOptions: {
          target: "ES2022", module: "NodeNext", moduleResolution: "NodeNext", lib: ["ES2023"], types: [],
          strict: true, noUncheckedIndexedAccess: true, exactOptionalPropertyTypes: true, skipLibCheck: false, noEmit: true,
        },
        files: ["typed-app.ts"],
      }),
      "typed-app.ts": `
import { compileFromJson, serializeBinary, type Program, type Filter, PolicyError } from "seccompiler";
import { applyFilter, deserializeBinary, InstallError, type InstallErrorCode } from "seccompiler/install";
import { compilePolicyFile } from "seccompiler/macro";
const main: Program | undefined = deserializeBinary(serializeBinary(compileFromJson("{}", "x86_64"))).get("main");
if (main !== undefined) await applyFilter(main);
const code: InstallErrorCode | undefined = new InstallError("seccomp-failed", "x").code;
const base64: string = compilePolicyFile("p.json", "aarch64");
export type { Filter };
export { code, base64, PolicyError };
`,
    }, "node", [join(REPO_ROOT, "node_modules", "typescript", "bin", "tsc"), "-p", "tsconfig.json"]);
    assert.equal(run.status, 0, `${run.stdout}${run.stderr}`);
  });

  test("an app importing only seccompiler/install bundles none of the compiler and no syscall table", PACKAGE_TEST, () => {
    const { bun } = installedPackage();
    const run = inProject(
      {
        "lean-app.ts": `
import { readFileSync } from "node:fs";
import { applyFilter, deserializeBinary } from "seccompiler/install";
const main = deserializeBinary(readFileSync(process.argv[2] ?? "app.bpf")).get("main");
if (main !== undefined) await applyFilter(main);
`,
      },
      bun, ["build", "lean-app.ts", "--minify", "--target=bun", "--outfile=lean-app.js", "--metafile=lean-app.meta.json"],
    );
    assert.equal(run.status, 0, run.stderr);
    const { project } = installedPackage();
    const inputs = Object.keys(JSON.parse(readFileSync(join(project, "lean-app.meta.json"), "utf8")).inputs);
    const forbidden = inputs.filter((input) =>
      /node_modules\/(typebox|valibot|jsonc-parser)\/|\/lib\/(policy|codegen|optimize|cli|launcher)\/|\/lib\/(compile|ir|diagnostics|reference)\.js$/
        .test(input)
    );
    assert.deepEqual(forbidden, [], `the install entry pulls in ${forbidden.join(", ")}`);
    // The installer knows seccomp()'s number without the tables (generated from the same CSV).
    assert.equal(readFileSync(join(project, "lean-app.js"), "utf8").includes("rt_sigaction"), false, "syscall tables bundled");
    for (const arch of ARCH_NAMES) assert.equal(seccompSyscallNumber(arch), getArch(arch).syscalls.get("seccomp"), arch);
    const size = statSync(join(project, "lean-app.js")).size;
    assert.ok(size <= INSTALL_BUNDLE_CEILING, `install-only bundle is ${size} bytes, ceiling ${INSTALL_BUNDLE_CEILING}`);
    console.log(`install-only app bundle (bun build --minify): ${size} bytes from ${inputs.length} modules`);
  });
});

describe("npm bin", () => {
  test("runs on the dependency Bun and ignores a hostile directory (bunfig.toml preload, .env, tsconfig paths, BUN_OPTIONS, NODE_OPTIONS)", PACKAGE_TEST, () => {
    const { bin } = installedPackage();
    const dir = mkdtempSync(join(tmpdir(), "seccompiler-hostile-"));
    try {
      const marker = join(dir, "INJECTED");
      writeFileSync(join(dir, "evil.ts"), `require("node:fs").writeFileSync(${JSON.stringify(marker)}, "x");`);
      writeFileSync(join(dir, "bunfig.toml"), 'preload = ["./evil.ts"]\n[run]\nbun = true\n');
      writeFileSync(join(dir, ".env"), "SECCOMPILER_INJECTED=1\n");
      writeFileSync(join(dir, "tsconfig.json"), JSON.stringify({ compilerOptions: { paths: { "typebox": ["./evil.ts"], "valibot": ["./evil.ts"] } } }));
      writeFileSync(join(dir, "policy.json"), POLICY);
      // PATH without any bun: the bin must find the one the package depends on.
      const env = cleanEnv({ BUN_OPTIONS: `--preload ${join(dir, "evil.ts")}`, NODE_OPTIONS: `--require ${join(dir, "evil.ts")}`, PATH: "/usr/bin:/bin" });
      const run = (args: string[]) => spawnSync(bin, args, { cwd: dir, env, encoding: "utf8" });

      const version = run(["--version"]);
      assert.equal(version.status, 0, version.stderr);
      assert.match(version.stdout, /^seccompiler \d+\.\d+\.\d+/);
      const schema = run(["schema"]); // loads typebox: a tsconfig "paths" entry must not redirect it
      assert.equal(schema.status, 0, schema.stderr);
      const compiled = run(["-t", "x86_64", "-i", "policy.json", "-o", "out.bin"]);
      assert.equal(compiled.status, 0, compiled.stderr);
      const exec = run(["exec", "--policy", "policy.json", "--", "sh", "-c",
        "grep -E '^Seccomp:' /proc/self/status; mkdir blocked || echo denied; env | grep -c SECCOMPILER_INJECTED || true"]);
      assert.equal(exec.status, 0, exec.stderr);
      assert.match(exec.stdout, /Seccomp:\s+2/);
      assert.match(exec.stdout, /denied/);
      assert.match(exec.stdout, /^0$/m);
      assert.equal(existsSync(join(dir, "blocked")), false);
      assert.equal(existsSync(marker), false, "a preload from the caller's directory or BUN_OPTIONS ran");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
