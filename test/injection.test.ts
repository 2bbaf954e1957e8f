/**
 * No code reaches the launcher from the caller's environment or working
 * directory, on the real kernel: with a hostile directory (bunfig.toml with a
 * preload, .env, tsconfig.json, package.json) and each runtime variable that
 * loads code (BUN_OPTIONS, BUN_INSPECT*, BUN_BE_BUN, NODE_OPTIONS), the
 * preload never runs (its marker file never appears), the launcher still works
 * and the target runs filtered — through the wrapper and through the
 * standalone executable, whose runtime scripts/harden-executable.ts made deaf
 * to those variables.
 */
import { after, describe, test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, realpathSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { elfSection, hardenExecutable, NEUTRALISED } from "../scripts/harden-executable.ts";
import { CLI, DENO, REPO_ROOT } from "./support/paths.ts";
import { standaloneExecutable } from "./support/standalone.ts";

const dir = mkdtempSync(join(tmpdir(), "seccompiler-injection-test-"));
after(() => rmSync(dir, { recursive: true, force: true }));
const INJECTED = join(dir, "INJECTED");
const evil = join(dir, "evil.js");
// The preload writes the marker, then does what the reported attack did: starts the target itself.
writeFileSync(evil, `require("node:fs").writeFileSync(${JSON.stringify(INJECTED)}, "x");\n`);
writeFileSync(join(dir, "evil.mjs"), `import { writeFileSync } from "node:fs"; writeFileSync(${JSON.stringify(INJECTED)}, "x");\n`);
writeFileSync(join(dir, "bunfig.toml"), 'preload = ["./evil.js"]\n[run]\npreload = ["./evil.js"]\n');
writeFileSync(join(dir, ".env"), `BUN_OPTIONS=--preload ${evil}\nNODE_OPTIONS=--require ${evil}\nSECCOMPILER_DOTENV=1\n`);
writeFileSync(join(dir, "tsconfig.json"), JSON.stringify({ compilerOptions: { paths: { "valibot": ["./evil.js"] } } }));
writeFileSync(join(dir, "package.json"), JSON.stringify({ name: "hostile", type: "commonjs", main: "evil.js" }));
const policy = join(dir, "policy.json");
writeFileSync(policy, JSON.stringify({ main: { default_action: "allow", filter_action: { errno: 1 }, filter: [{ syscall: "mkdir" }] } }));

// Deno finds a deno.json from the working directory; this one maps the launcher's imports to the preload.
const evilImports = Object.fromEntries(["node:fs", "node:util", "node:path", "node:os"].map((name) => [name, "./evil.mjs"]));
writeFileSync(join(dir, "deno.json"), JSON.stringify({ imports: evilImports, scopes: { "file:///": evilImports } }));
writeFileSync(join(dir, "import_map.json"), JSON.stringify({ imports: evilImports }));

// Programs a wrapper might start, each of which writes the marker: a PATH that finds them first must not matter.
const hostileBin = join(dir, "hostile-bin");
mkdirSync(hostileBin);
for (const tool of ["od", "readlink", "dirname", "basename", "sed", "tr", "cat", "uname"]) {
  writeFileSync(join(hostileBin, tool), `#!/bin/sh\n: > ${JSON.stringify(INJECTED)}\nexit 1\n`, { mode: 0o755 });
}

const vectors: [string, Record<string, string>][] = [
  ["bunfig.toml, .env, tsconfig.json, package.json in the working directory", {}],
  ["BUN_OPTIONS=--preload", { BUN_OPTIONS: `--preload ${evil}` }],
  ["BUN_OPTIONS=--require", { BUN_OPTIONS: `--require=${evil}` }],
  ["BUN_INSPECT_PRELOAD", { BUN_INSPECT_PRELOAD: evil }],
  ["BUN_INSPECT with BUN_INSPECT_PRELOAD", { BUN_INSPECT: "ws://127.0.0.1:9/x", BUN_INSPECT_PRELOAD: evil }],
  ["BUN_INSPECT_CONNECT_TO", { BUN_INSPECT_CONNECT_TO: "unix:///nonexistent", BUN_INSPECT_PRELOAD: evil }],
  ["BUN_BE_BUN", { BUN_BE_BUN: "1" }],
  ["NODE_OPTIONS=--require", { NODE_OPTIONS: `--require ${evil}` }],
  ["NODE_OPTIONS=--import", { NODE_OPTIONS: `--import ${join(dir, "evil.mjs")}` }],
  // The wrappers find the variables to remove by splitting `export -p` into words: a value that looks like
  // more variables must not hide one. (dash and bash discard an inherited IFS; the scrub sets its own anyway,
  // and a scrub that split on an IFS of "_" fails these vectors.)
  ["IFS=_ with BUN_OPTIONS", { IFS: "_", BUN_OPTIONS: `--preload ${evil}` }],
  ["IFS== with NODE_OPTIONS", { IFS: "=", NODE_OPTIONS: `--require ${evil}` }],
  ["a value holding a newline and an export line, with BUN_OPTIONS", {
    A: "x'\nexport BUN_FAKE='1\n",
    BUN_OPTIONS: `--preload ${evil}`,
  }],
  // The wrappers start od (and readlink through a symlink) from /usr/bin, /bin or an absolute PATH entry after them.
  ["a PATH that finds od, readlink, dirname, sed and tr in a hostile directory first", {
    PATH: `${hostileBin}:${process.env.PATH ?? "/usr/bin:/bin"}`,
  }],
  // bash imports exported functions, which then replace the builtins the wrapper uses (bash, -p: never).
  ["bash functions named like the builtins the wrapper uses, with BUN_OPTIONS", {
    ...Object.fromEntries(["command", "read", "cd", "pwd", "ulimit", "export", "set"].map((name) => [
      `BASH_FUNC_${name}%%`,
      `() {  : > ${JSON.stringify(INJECTED)}; builtin ${name} "$@"; }`,
    ])),
    BUN_OPTIONS: `--preload ${evil}`,
  }],
  ["CDPATH and BASH_ENV pointing at the hostile directory", { CDPATH: dir, BASH_ENV: evil, ENV: evil }],
  ["DENO_* (V8 flags, config, import map, cache directory)", {
    DENO_V8_FLAGS: "--expose-gc",
    DENO_CONFIG: join(dir, "deno.json"),
    DENO_IMPORT_MAP: join(dir, "import_map.json"),
    DENO_DIR: dir,
  }],
];

const launchers: [string, () => string[]][] = [
  ["wrapper", () => [CLI]],
  // The wrapper is POSIX sh; where /bin/sh is bash (or someone runs it with bash) it must hold as well.
  // Where /bin/sh is bash, the wrappers' `#!/bin/sh -p` runs bash with -p: no function imported from the
  // environment, no BASH_ENV, CDPATH or SHELLOPTS. (`bash scripts/seccompiler` typed by hand has no -p.)
  ["wrapper run by bash (as its shebang would, -p)", () => ["bash", "-p", CLI]],
  ["standalone executable", () => [standaloneExecutable()]],
  ["Deno wrapper (scripts/seccompiler-deno)", () => [join(REPO_ROOT, "scripts", "seccompiler-deno")]],
];

describe("no injection into the launcher", () => {
  for (const [name, launcher] of launchers) {
    for (const [vector, env] of vectors) {
      test(`${name}: ${vector}: the preload never runs, the target runs filtered`, { timeout: 300_000 }, () => {
        rmSync(INJECTED, { force: true });
        const status = join(dir, "target-status");
        rmSync(status, { force: true });
        const [bin, ...args] = launcher();
        const run = spawnSync(bin, [...args, "exec", "--policy", policy, "--", "/bin/sh", "-c",
          `grep -E '^(Seccomp|NoNewPrivs):' /proc/self/status > ${status}; env > ${status}.env`], {
          cwd: dir,
          encoding: "utf8",
          env: { PATH: process.env.PATH ?? "/usr/bin:/bin", ...env },
          timeout: 60_000,
        });
        assert.equal(existsSync(INJECTED), false, "the preload ran");
        assert.equal(run.status, 0, run.stderr);
        assert.match(readFileSync(status, "utf8"), /Seccomp:\s+2/);
        assert.match(readFileSync(status, "utf8"), /NoNewPrivs:\s+1/);
        const targetEnv = readFileSync(`${status}.env`, "utf8");
        assert.doesNotMatch(targetEnv, /SECCOMPILER_DOTENV/, ".env was not loaded");
        // The caller's variables reach the program unchanged: only the launcher is kept from them.
        // (IFS and names that are not identifiers excepted: the target here is sh, which drops those from what it
        // passes on, as it would when started directly; test/exec-handover.test.ts checks the bytes themselves.)
        for (const [key, value] of Object.entries(env)) {
          if (key !== "IFS" && /^[A-Za-z_][A-Za-z0-9_]*$/.test(key)) assert.ok(targetEnv.includes(`${key}=${value}\n`), key);
        }
      });
    }
  }

  test("what remains: Deno started directly (deno run …/exec.ts) runs a NODE_OPTIONS --require script first (README)", { timeout: 300_000 }, () => {
    rmSync(INJECTED, { force: true });
    const run = spawnSync(DENO, ["run", "--allow-all", join(REPO_ROOT, "src", "launcher", "exec.ts"), "--policy", policy, "--", "/bin/true"], {
      cwd: dir,
      encoding: "utf8",
      env: { PATH: process.env.PATH ?? "/usr/bin:/bin", NODE_OPTIONS: `--require ${evil}` },
      timeout: 60_000,
    });
    assert.equal(existsSync(INJECTED), true, `Deno no longer runs NODE_OPTIONS scripts: update the README (${run.stderr})`);
    rmSync(INJECTED, { force: true });
  });

  test("both wrappers run their sh with -p (bash, where it is /bin/sh, then imports no function from the environment)", () => {
    for (const wrapper of [join(REPO_ROOT, "scripts", "seccompiler"), join(REPO_ROOT, "bin", "seccompiler")]) {
      assert.equal(readFileSync(wrapper, "utf8").split("\n")[0], "#!/bin/sh -p", wrapper);
    }
  });

  test("a C library planted in the working directory is never loaded, even when the runtime's own cannot be bound", { timeout: 300_000 }, () => {
    // Bun's dlopen retries a bare library name that the loader cannot find as a file in the working
    // directory. BUN_JSC_useJIT=0 (which reaches the standalone executable) makes binding libc.so.6 fail,
    // the way a musl runtime fails to find it: no other name may then be tried.
    const planted = mkdtempSync(join(dir, "planted-"));
    const marker = join(planted, "CONSTRUCTOR-RAN");
    const source = join(planted, "evil.c");
    writeFileSync(source, `#include <stdio.h>\n__attribute__((constructor)) static void ran(void) { FILE *f = fopen(${JSON.stringify(marker)}, "w"); if (f) fclose(f); }\n`);
    const names = ["libc.so.6", "libc.musl-x86_64.so.1", "libc.musl-aarch64.so.1", "ld-musl-x86_64.so.1", "ld-musl-aarch64.so.1"];
    const built = spawnSync("cc", ["-shared", "-fPIC", "-o", join(planted, names[0]), source], { encoding: "utf8" });
    assert.equal(built.status, 0, built.stderr);
    for (const name of names.slice(1)) writeFileSync(join(planted, name), readFileSync(join(planted, names[0])));
    // The planted library is loadable: a bare name that fails elsewhere is found here by Bun (the control).
    const control = spawnSync(join(REPO_ROOT, "node_modules", ".bin", "bun"), ["-e",
      `try { require("bun:ffi").dlopen("libc.musl-x86_64.so.1", { getpid: { args: [], returns: "i32" } }); } catch {}`], { cwd: planted, encoding: "utf8" });
    assert.equal(control.status, 0, control.stderr);
    assert.equal(existsSync(marker), true, "control: Bun loads a bare name from the working directory");
    rmSync(marker);
    const run = spawnSync(standaloneExecutable(), ["exec", "--policy", policy, "--", "/bin/true"], {
      cwd: planted,
      encoding: "utf8",
      env: { PATH: process.env.PATH ?? "/usr/bin:/bin", BUN_JSC_useJIT: "0" },
    });
    assert.equal(existsSync(marker), false, "a library from the working directory was loaded");
    assert.equal(run.status, 125, run.stderr);
    assert.match(run.stderr, /could not open the C library \(tried libc\.so\.6: /);
    // The launcher run normally from there is not affected either.
    const normal = spawnSync(standaloneExecutable(), ["exec", "--policy", policy, "--", "/bin/true"], { cwd: planted, encoding: "utf8" });
    assert.equal(normal.status, 0, normal.stderr);
    assert.equal(existsSync(marker), false);
  });

  test("standalone executable: BUN_BE_BUN does not turn it into the bun CLI", { timeout: 300_000 }, () => {
    rmSync(INJECTED, { force: true });
    const run = spawnSync(standaloneExecutable(), ["-e", `require("fs").writeFileSync(${JSON.stringify(INJECTED)}, "x")`], {
      cwd: dir,
      encoding: "utf8",
      env: { PATH: process.env.PATH ?? "/usr/bin:/bin", BUN_BE_BUN: "1" },
    });
    assert.equal(existsSync(INJECTED), false);
    assert.equal(run.status, 2, "seccompiler's own usage error");
    assert.match(run.stderr, /Unknown option '-e'/);
  });

  test("hardening: the names are gone from the runtime part of the shipped executable, kept in the program", { timeout: 300_000 }, () => {
    const file = readFileSync(standaloneExecutable());
    const [start, end] = elfSection(file, ".bun")!;
    const builtins = elfSection(file, ".bun_builtins")!;
    for (const name of NEUTRALISED) {
      const needle = Buffer.from(name);
      for (let at = file.indexOf(needle); at !== -1; at = file.indexOf(needle, at + 1)) {
        const inside = (at >= start && at < end) || (at >= builtins[0] && at < builtins[1]);
        assert.ok(inside, `${name} still at byte ${at}, in the runtime`);
      }
    }
  });

  test("hardening refuses a file that is not a compiled executable (the build then stops)", () => {
    assert.throws(() => hardenExecutable(readFileSync(realpathSync("/bin/sh"))), /not an ELF64 executable with .bun/);
    assert.throws(() => hardenExecutable(new TextEncoder().encode("#!/bin/sh\n")), /not an ELF64 executable/);
  });

  for (const [name, launcher] of launchers) {
    test(`${name}: BUN_JSC_* engine options still reach the runtime (README): no code runs, and a launcher they break fails closed`, { timeout: 300_000 }, () => {
      rmSync(INJECTED, { force: true });
      const marker = join(dir, "jsc-target-ran");
      rmSync(marker, { force: true });
      const [bin, ...args] = launcher();
      // useJIT=0 disables the JIT that bun:ffi needs: the launcher cannot install anything.
      const run = spawnSync(bin, [...args, "exec", "--policy", policy, "--", "/bin/sh", "-c", `touch ${marker}`], {
        cwd: dir,
        encoding: "utf8",
        env: { PATH: process.env.PATH ?? "/usr/bin:/bin", BUN_JSC_useJIT: "0" },
        timeout: 60_000,
      });
      assert.equal(existsSync(INJECTED), false);
      if (name !== "standalone executable") {
        assert.equal(run.status, 0, run.stderr); // the wrappers remove every BUN_* variable
        assert.equal(existsSync(marker), true);
      } else {
        assert.equal(run.status, 125, run.stderr);
        assert.match(run.stderr, /bun:ffi requires the JIT/);
        assert.equal(existsSync(marker), false, "the target must not have run");
      }
    });
  }
});
