/**
 * The arm64 executable, run under qemu-user (Debian's qemu-user-static with
 * the arm64 C library from libc6-arm64-cross, which .ci/run installs): --help,
 * compiles of both Firecracker corpus policies byte-identical to the x64
 * executable's, `check`, and `exec` failing closed with the real cause (qemu's
 * seccomp() answers ENOSYS) and never starting the target, and no code
 * injected through the working directory or the environment.
 *
 * Also, without qemu: how the installer tells "no seccomp at all" from "a
 * kernel older than seccomp()" when seccomp() answers ENOSYS.
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { SECCOMP_RET } from "../src/action.ts";
import { LD_ABS, RET_K, stmt, type Program } from "../src/bpf/insn.ts";
import { InstallError } from "../src/install/errors.ts";
import { RUNTIME_ENVIRONMENT } from "../src/launcher/prelude.ts";
import { installEntryPrelude } from "../scripts/entry-prelude.ts";
import type { Libc } from "../src/install/libc.ts";
import { checkActionsAvailable } from "../src/install/seccomp.ts";
import { CORPUS, HAVE_CORPUS, REPO_ROOT } from "./support/paths.ts";
import { skipUnless } from "./support/require.ts";
import { standaloneExecutable } from "./support/standalone.ts";

const QEMU = "/usr/bin/qemu-aarch64-static";
const ARM64_SYSROOT = "/usr/aarch64-linux-gnu";
const missing = !existsSync(QEMU)
  ? `${QEMU} absent (apt-get install qemu-user-static)`
  : !existsSync(join(ARM64_SYSROOT, "lib", "libc.so.6"))
  ? `${ARM64_SYSROOT} absent (apt-get install libc6-arm64-cross)`
  : !HAVE_CORPUS
  ? `corpus absent (${CORPUS})`
  : process.arch !== "x64"
  ? `the host is ${process.arch}, not x64`
  : false;

/** A libc whose seccomp() fails with ENOSYS and whose prctl(PR_GET_SECCOMP) answers `prctlResult`/`prctlErrno`. */
function enosysLibc(prctlResult: number, prctlErrno: number): Libc {
  let errno = 0;
  return {
    path: "fake",
    runtime: "bun",
    prctl: () => ((errno = prctlErrno), prctlResult),
    syscall: () => ((errno = 38), -1n),
    execve: () => -1,
    write: () => 0n,
    exit: () => {
      throw new Error("exit");
    },
    errno: () => errno,
    address: () => 0x1000n,
    copyToAddress: () => {},
    nativeFunction4: () => () => -38n,
  };
}

const KILL_PROCESS_PROGRAM: Program = [stmt(LD_ABS, 4), stmt(RET_K, SECCOMP_RET.KILL_PROCESS), stmt(RET_K, SECCOMP_RET.ALLOW)];

describe("seccomp() answers ENOSYS", () => {
  test("and seccomp prctls fail too (qemu-user, no CONFIG_SECCOMP): seccomp-unavailable, naming ENOSYS", () => {
    assert.throws(() => checkActionsAvailable(enosysLibc(-1, 22), KILL_PROCESS_PROGRAM), (error: unknown) => {
      assert.ok(error instanceof InstallError);
      assert.equal(error.code, "seccomp-unavailable");
      assert.equal(error.errnoName, "ENOSYS");
      assert.match(error.message, /^seccomp is unavailable .*EINVAL.*ENOSYS/);
      assert.match(error.hint ?? "", /qemu-user/);
      return true;
    });
  });

  test("but prctl(PR_GET_SECCOMP) works (Linux 3.5..3.16): only the 3.5 actions, kill_process needs 4.14", () => {
    assert.throws(() => checkActionsAvailable(enosysLibc(0, 0), KILL_PROCESS_PROGRAM), (error: unknown) => {
      assert.ok(error instanceof InstallError);
      assert.equal(error.code, "action-unavailable");
      assert.match(error.hint ?? "", /kill_process needs Linux 4\.14/);
      return true;
    });
  });
});

describe("arm64 executable under qemu-user", { skip: skipUnless("qemu", missing, "arm64 executable under qemu-user") }, () => {
  const arm64 = (args: string[], cwd: string) =>
    spawnSync(QEMU, ["-L", ARM64_SYSROOT, standaloneExecutable("arm64"), ...args], { cwd, encoding: "utf8", timeout: 120_000 });
  const x64 = (args: string[], cwd: string) => spawnSync(standaloneExecutable("x64"), args, { cwd, encoding: "utf8" });

  test("--help, compiles of both corpus policies (byte-identical to x64), check", () => {
    const dir = mkdtempSync(join(tmpdir(), "seccompiler-qemu-"));
    try {
      const help = arm64(["--help"], dir);
      assert.equal(help.status, 0, help.stderr);
      assert.match(help.stdout, /^seccompiler \d+\.\d+\.\d+/);

      for (const arch of ["x86_64", "aarch64"]) {
        const policy = join(CORPUS, `${arch}-unknown-linux-musl.json`);
        const fromArm64 = arm64(["-t", arch, "-i", policy, "-o", `${arch}.arm64.bpf`], dir);
        assert.equal(fromArm64.status, 0, fromArm64.stderr);
        const fromX64 = x64(["-t", arch, "-i", policy, "-o", `${arch}.x64.bpf`], dir);
        assert.equal(fromX64.status, 0, fromX64.stderr);
        const a = readFileSync(join(dir, `${arch}.arm64.bpf`));
        const b = readFileSync(join(dir, `${arch}.x64.bpf`));
        assert.ok(a.length > 1000, `${arch}: ${a.length} bytes`);
        assert.ok(a.equals(b), `${arch}: the arm64 executable's output differs from the x64 executable's`);
      }

      const args = ["check", "--format", "json", "-f", "aarch64.arm64.bpf", "-t", "aarch64", "--thread", "vmm", "--syscall", "ptrace"];
      const checked = arm64(args, dir);
      assert.equal(checked.status, 0, checked.stderr);
      assert.equal(checked.stdout, x64(args, dir).stdout);
      const [result] = JSON.parse(checked.stdout).results;
      assert.deepEqual([result.nr, result.action], [117, "trap"]); // Firecracker's vmm thread traps ptrace
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test("the entry prelude records the start state before the runtime's own start-up, then the runtime runs", () => {
    // qemu-user has no seccomp, so `exec --dry-run` stops early; its -strace shows the prelude's calls instead.
    const run = spawnSync("sh", ["-c", `ulimit -Sn 555 && trap '' PIPE && exec "$@"`, "sh", QEMU, "-strace", "-L", ARM64_SYSROOT, standaloneExecutable("arm64"), "--version"], {
      encoding: "utf8",
      timeout: 120_000,
    });
    assert.equal(run.status, 0, run.stderr);
    assert.match(run.stdout, /^seccompiler \d+\.\d+\.\d+/);
    const calls = run.stderr.split("\n").map((l) => l.replace(/^\d+ /, ""));
    // qemu prints all six argument registers for prlimit64; the last two hold whatever they held (any
    // number, negative too). Bun reads the limit the same way later, so the prelude's call is the one
    // followed at once by the two rt_sigaction reads.
    const limit = calls.findIndex((c, i) =>
      /^prlimit64\(0,7,0,\d+,/.test(c) && /^rt_sigaction\(SIGPIPE,NULL,/.test(calls[i + 1] ?? "")
    );
    assert.ok(limit >= 0, "prlimit64(0, RLIMIT_NOFILE, NULL, &record) followed by rt_sigaction(SIGPIPE, NULL, ...)");
    assert.match(calls[limit], /\) = 0$/);
    assert.match(calls[limit + 1], /^rt_sigaction\(SIGPIPE,NULL,0x[0-9a-f]+\) = 0$/);
    assert.match(calls[limit + 2], /^rt_sigaction\(SIGXFSZ,NULL,0x[0-9a-f]+\) = 0$/);
    const record = BigInt(/^prlimit64\(0,7,0,(\d+),/.exec(calls[limit])![1]) - 16n;
    assert.equal(BigInt(/0x[0-9a-f]+/.exec(calls[limit + 1])![0]), record + 40n, "SIGPIPE's old action goes to the record");
    const runtimeIgnores = calls.findIndex((c) => /^rt_sigaction\(SIGPIPE,0x/.test(c));
    assert.ok(runtimeIgnores > limit, "the runtime changes SIGPIPE only after the prelude read it");
  });

  test("the entry prelude's copied stack frame on both architectures: argv intact, the runtime option, the caller's variables", { timeout: 300_000 }, () => {
    const dir = mkdtempSync(join(tmpdir(), "seccompiler-qemu-probe-"));
    try {
      // A probe executable with the prelude: it prints what the runtime got.
      writeFileSync(join(dir, "probe.ts"), "console.log(JSON.stringify({ argv: process.argv.slice(2), env: process.env }));\n");
      const bun = join(REPO_ROOT, "node_modules", ".bin", "bun");
      for (const [target, run] of [
        ["bun-linux-x64", (exe: string, args: string[]) => spawnSync("env", ["-i", "X=1", "EMPTY=", exe, ...args], { encoding: "utf8" })],
        ["bun-linux-arm64", (exe: string, args: string[]) => spawnSync("env", ["-i", "X=1", "EMPTY=", QEMU, "-L", ARM64_SYSROOT, exe, ...args], { encoding: "utf8", timeout: 120_000 })],
      ] as const) {
        const exe = join(dir, `probe-${target}`);
        const build = spawnSync(bun, ["build", "--compile", `--target=${target}`, join(dir, "probe.ts"), "--outfile", exe], { cwd: dir, encoding: "utf8", timeout: 240_000 });
        assert.equal(build.status, 0, build.stderr);
        const file = readFileSync(exe);
        installEntryPrelude(file);
        writeFileSync(exe, file);
        for (const args of [[], ["one"], ["a", "", "b c", "δ"], Array.from({ length: 300 }, (_, i) => `arg${i}`)]) {
          const result = run(exe, args);
          assert.equal(result.status, 0, `${target}: ${result.stderr}`);
          const seen = JSON.parse(result.stdout);
          assert.deepEqual(seen.argv, args, `${target}: argv`);
          assert.deepEqual(seen.env, { [RUNTIME_ENVIRONMENT.split("=")[0]]: "0", X: "1", EMPTY: "" }, `${target}: environment`);
        }
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test("no injection: a hostile directory and BUN_OPTIONS, BUN_INSPECT*, BUN_BE_BUN, NODE_OPTIONS run nothing", () => {
    // The x64 build checks its own executable this way (scripts/build.sh); the arm64 one runs here.
    const dir = mkdtempSync(join(tmpdir(), "seccompiler-qemu-injection-"));
    try {
      const marker = join(dir, "INJECTED");
      const evil = join(dir, "evil.js");
      writeFileSync(evil, `require("node:fs").writeFileSync(${JSON.stringify(marker)}, "x");\n`);
      writeFileSync(join(dir, "bunfig.toml"), 'preload = ["./evil.js"]\n');
      writeFileSync(join(dir, ".env"), `BUN_OPTIONS=--preload ${evil}\n`);
      const vectors: Record<string, string>[] = [
        {},
        { BUN_OPTIONS: `--preload ${evil}` },
        { BUN_INSPECT_PRELOAD: evil },
        { BUN_INSPECT: "ws://127.0.0.1:9/x", BUN_INSPECT_PRELOAD: evil },
        { BUN_BE_BUN: "1" },
        { NODE_OPTIONS: `--require ${evil}` },
      ];
      for (const vector of vectors) {
        const run = spawnSync(QEMU, ["-L", ARM64_SYSROOT, standaloneExecutable("arm64"), "--version"], {
          cwd: dir,
          encoding: "utf8",
          timeout: 120_000,
          env: { PATH: process.env.PATH ?? "/usr/bin:/bin", ...vector },
        });
        assert.equal(run.status, 0, `${JSON.stringify(vector)}: ${run.stderr}`);
        assert.match(run.stdout, /^seccompiler \d+\.\d+\.\d+/, JSON.stringify(vector));
        assert.equal(existsSync(marker), false, `${JSON.stringify(vector)}: the preload ran`);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test("the aarch64 seccomp+execve stub: returns −errno when seccomp() fails, −errno−4096 when execve() fails, and execs", { timeout: 300_000 }, () => {
    // qemu-user has no seccomp(): the stub's first call is checked as it fails, and a call that returns 0
    // (sched_yield) stands in for it so the execve half runs too (test/support/children/arm64-stub.ts).
    const dir = mkdtempSync(join(tmpdir(), "seccompiler-qemu-stub-"));
    try {
      const probe = join(dir, "arm64-stub");
      const build = spawnSync(join(REPO_ROOT, "node_modules", ".bin", "bun"), [
        "build", "--compile", "--target=bun-linux-arm64", join(REPO_ROOT, "test", "support", "children", "arm64-stub.ts"), "--outfile", probe,
      ], { encoding: "utf8", timeout: 240_000 });
      assert.equal(build.status, 0, build.stderr);
      const run = (which: string, marker?: string) =>
        spawnSync(QEMU, ["-L", ARM64_SYSROOT, probe, which, ...(marker ? [marker] : [])], { cwd: dir, encoding: "utf8", timeout: 120_000 });
      const failed = run("seccomp-fails");
      assert.equal(failed.status, 0, failed.stderr);
      assert.equal(JSON.parse(failed.stdout).result, "-38", "seccomp() answered ENOSYS and the stub returned it");
      const missing = run("execve-fails");
      assert.equal(missing.status, 0, missing.stderr);
      assert.equal(JSON.parse(missing.stdout).result, String(-2 - 4096), "execve() answered ENOENT, marked as after the install");
      const marker = join(dir, "MARKER");
      const execd = run("execve", marker);
      assert.equal(execd.status, 0, execd.stderr);
      assert.equal(execd.stdout, "", "the stub returned instead of exec'ing");
      assert.equal(readFileSync(marker, "utf8"), "stub-ran\n");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test("exec fails closed: exit 125, names seccomp unavailable (ENOSYS), the target never starts", () => {
    const dir = mkdtempSync(join(tmpdir(), "seccompiler-qemu-"));
    try {
      writeFileSync(join(dir, "policy.json"), JSON.stringify({
        main: { default_action: "allow", filter_action: { errno: 1 }, filter: [{ syscall: "mkdirat" }] },
      }));
      const marker = join(dir, "STARTED");
      const run = arm64(["exec", "--policy", "policy.json", "--", "/bin/sh", "-c", `echo started > ${marker}`], dir);
      assert.equal(run.status, 125, `${run.stdout}${run.stderr}`);
      assert.match(run.stderr, /seccomp is unavailable/);
      assert.match(run.stderr, /ENOSYS/);
      assert.doesNotMatch(run.stderr, /4\.14/);
      assert.equal(run.stdout, "");
      assert.equal(existsSync(marker), false, "the target ran");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
