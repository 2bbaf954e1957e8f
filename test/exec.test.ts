import { after, describe, test } from "node:test";
import assert from "node:assert/strict";
import { spawn, spawnSync, type SpawnSyncReturns } from "node:child_process";
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { SECCOMP_RET } from "../src/action.ts";
import { getArch, hostArch } from "../src/arch/arch.ts";
import { isConstantAllow } from "../src/bpf/cache.ts";
import { JEQ_K, jump, RET_K, stmt } from "../src/bpf/insn.ts";
import { BuilderError } from "../src/bpf/builder.ts";
import { runFilter } from "../src/bpf/interpreter.ts";
import { compileFromJson } from "../src/compile.ts";
import { serializeBinary } from "../src/container.ts";
import { GUARD_LENGTH, withExecGuard } from "../src/launcher/guard.ts";
import { DEFAULT_SEARCH_PATH, executableFormat, resolveCommand } from "../src/launcher/resolve.ts";
import { CHILDREN, runtimeCommand } from "./support/children/spawn.ts";
import { BUN, DENO, REPO_ROOT } from "./support/paths.ts";

const arch = getArch(hostArch()!);
const CLI_MAIN = join(REPO_ROOT, "src", "cli", "main.ts");
const LAUNCHER = join(REPO_ROOT, "src", "launcher", "exec.ts");
const THREAD_TARGET = join(CHILDREN, "thread-target.ts");
const work = mkdtempSync(join(tmpdir(), "seccompiler-exec-test-"));
after(() => rmSync(work, { recursive: true, force: true }));

/** A file in the test's scratch directory. */
function scratch(name: string, content?: string | Uint8Array, mode?: number): string {
  const path = join(work, name);
  if (content !== undefined) writeFileSync(path, content);
  if (mode !== undefined) chmodSync(path, mode);
  return path;
}

/** A one-thread policy allowing every syscall of the host except `deny`, whose default is `defaultAction`. */
function allExcept(deny: readonly string[], defaultAction: unknown, thread = "main"): string {
  const filter = [...arch.syscalls.keys()].filter((name) => !deny.includes(name)).map((syscall) => ({ syscall }));
  return JSON.stringify({ [thread]: { default_action: defaultAction, filter_action: "allow", filter } });
}

/** Runs `seccompiler exec ARGS` through the CLI on Bun (or the launcher module on Deno). */
function launch(args: readonly string[], runtime: "bun" | "deno" = "bun"): SpawnSyncReturns<string> {
  const command = runtime === "bun" ? [BUN, CLI_MAIN, "exec"] : runtimeCommand("deno", LAUNCHER);
  return spawnSync(command[0], [...command.slice(1), ...args], {
    encoding: "utf8",
    cwd: work,
    env: { ...process.env, LC_ALL: "C", NO_COLOR: "1" },
    timeout: 60_000,
  });
}

const policies = {
  /** errno(42) for mkdir/mkdirat, everything else allowed (42: ENOMSG, an errno nothing else produces). */
  errno: scratch("errno.json", allExcept(["mkdir", "mkdirat"], { errno: 42 })),
  killUmask: scratch("kill.json", allExcept(["umask"], "kill_process")),
  trapUmask: scratch("trap.json", allExcept(["umask"], "trap")),
  /** A VMM-style policy: everything but execve/execveat. */
  noExec: scratch("noexec.json", allExcept(["execve", "execveat"], "kill_process")),
  twoThreads: scratch("two.json", JSON.stringify({
    ...JSON.parse(allExcept(["umask"], "kill_process", "vmm")),
    ...JSON.parse(allExcept(["umask"], "kill_process", "api")),
  })),
};

describe("exec: resolving the command like execvp", () => {
  const bin1 = join(work, "bin1");
  const bin2 = join(work, "bin2");
  mkdirSync(bin1, { recursive: true });
  mkdirSync(bin2, { recursive: true });
  writeFileSync(join(bin1, "tool"), "#!/bin/sh\n");
  chmodSync(join(bin1, "tool"), 0o644);
  writeFileSync(join(bin2, "tool"), "#!/bin/sh\n");
  chmodSync(join(bin2, "tool"), 0o755);
  writeFileSync(join(bin1, "plain"), "#!/bin/sh\n");
  chmodSync(join(bin1, "plain"), 0o644);
  writeFileSync(join(bin1, "garbage"), "echo no shebang\n");
  chmodSync(join(bin1, "garbage"), 0o755);
  mkdirSync(join(bin1, "adir"), { recursive: true });

  test("PATH order, skipping non-executable candidates", () => {
    assert.deepEqual(resolveCommand("tool", `${bin1}:${bin2}`), { ok: true, path: `${bin2}/tool` });
  });
  test("only non-executable candidates: not-executable (126), none: not-found (127)", () => {
    const plain = resolveCommand("plain", `${bin1}:${bin2}`);
    assert.equal(plain.ok, false);
    assert.equal(!plain.ok && plain.reason, "not-executable");
    const missing = resolveCommand("nope", `${bin1}:${bin2}`);
    assert.equal(!missing.ok && missing.reason, "not-found");
    assert.equal(!resolveCommand("", bin1).ok, true);
  });
  test("a name with a slash is used as is; directories and non-ELF, non-#! files are refused", () => {
    assert.deepEqual(resolveCommand(`${bin2}/tool`, ""), { ok: true, path: `${bin2}/tool` });
    const dir = resolveCommand(`${bin1}/adir`, undefined);
    assert.equal(!dir.ok && dir.reason, "not-executable");
    const garbage = resolveCommand(`${bin1}/garbage`, undefined);
    assert.equal(!garbage.ok && garbage.reason, "not-executable");
    assert.match(!garbage.ok ? garbage.message : "", /ENOEXEC/);
    assert.equal(!resolveCommand(`${bin1}/none`, undefined).ok, true);
  });
  test("PATH unset searches glibc's default; formats are detected from the first bytes", () => {
    assert.equal(DEFAULT_SEARCH_PATH, "/bin:/usr/bin");
    const sh = resolveCommand("sh", undefined);
    assert.ok(sh.ok && (sh.path === "/bin/sh" || sh.path === "/usr/bin/sh"));
    assert.equal(executableFormat("/bin/sh"), "elf");
    assert.equal(executableFormat(`${bin2}/tool`), "script");
    assert.equal(executableFormat(`${bin1}/garbage`), "unknown");
  });
});

describe("exec: the launcher-only execve guard", () => {
  const policy = compileFromJson(readFileSync(policies.noExec, "utf8"), arch.name).get("main")!;
  const addresses = { path: 0x7ffd_1234_5670n, argv: 0x0000_5eed_0010n, envp: 0x4321_8765_4320n };
  const exact = [addresses.path, addresses.argv, addresses.envp];
  const guarded = withExecGuard(policy, arch, addresses);
  const execve = arch.syscalls.get("execve")!;
  const run = (nr: number, args: bigint[], token = arch.auditArch) =>
    runFilter(guarded, { nr, arch: token, args }, arch.endian).value;

  test("allows exactly the execve whose path, argv and envp pointers are the launcher's buffers", () => {
    assert.equal(guarded.length, policy.length + GUARD_LENGTH);
    assert.equal(run(execve, exact), SECCOMP_RET.ALLOW);
    // Each of the six 32-bit halves is compared: changing any one of them gets the policy's verdict.
    for (let i = 0; i < 3; i++) {
      for (const flip of [1n, 1n << 20n, 1n << 32n, 1n << 40n]) {
        const args = [...exact];
        args[i] ^= flip;
        assert.equal(run(execve, args), SECCOMP_RET.KILL_PROCESS, `argument ${i} ^ ${flip}`);
      }
      const args = [...exact];
      args[i] = 0n;
      assert.equal(run(execve, args), SECCOMP_RET.KILL_PROCESS, `argument ${i} = 0`);
    }
    // The old guard's bypass: the right path pointer with any argv/envp.
    assert.equal(run(execve, [addresses.path, 0n, 0n]), SECCOMP_RET.KILL_PROCESS);
  });
  test("every execve runs the same guard instructions: no timing difference for a half guessed right", () => {
    // A trivial policy, so only the guard's own path length can differ.
    const program = withExecGuard([stmt(RET_K, SECCOMP_RET.KILL_PROCESS)], arch, addresses);
    const steps = (args: bigint[]) => runFilter(program, { nr: execve, arch: arch.auditArch, args }, arch.endian).steps;
    const none = steps([1n, 2n, 3n]);
    assert.equal(none, GUARD_LENGTH); // all but the guard's ret, then the policy's ret
    assert.equal(steps([addresses.path, 2n, 3n]), none);
    assert.equal(steps([addresses.path & 0xffffffffn, 2n, 3n]), none);
    assert.equal(steps([addresses.path, addresses.argv, 3n]), none);
    assert.equal(steps(exact), GUARD_LENGTH); // every guard instruction, ending at its ret ALLOW
  });
  test("everything else falls through to the policy unchanged, action cache included", () => {
    for (const name of ["read", "write", "execveat", "umask"]) {
      const nr = arch.syscalls.get(name)!;
      const data = { nr, arch: arch.auditArch, args: exact };
      assert.equal(runFilter(guarded, data, arch.endian).value, runFilter(policy, data, arch.endian).value, name);
      assert.equal(isConstantAllow(guarded, nr, arch.auditArch), isConstantAllow(policy, nr, arch.auditArch), name);
    }
    assert.equal(isConstantAllow(guarded, arch.syscalls.get("read")!, arch.auditArch), true);
    // A foreign architecture's execve (same number, other token) is the policy's business.
    assert.equal(run(execve, exact, 0x40000003), SECCOMP_RET.KILL_PROCESS);
  });
  test("big-endian targets compare the halves at swapped offsets", () => {
    const s390x = getArch("s390x");
    const program = withExecGuard([stmt(RET_K, SECCOMP_RET.KILL_PROCESS)], s390x, addresses);
    const verdict = (endian: "big" | "little") =>
      runFilter(program, { nr: s390x.syscalls.get("execve")!, arch: s390x.auditArch, args: exact }, endian).value;
    assert.equal(verdict("big"), SECCOMP_RET.ALLOW);
    assert.equal(verdict("little"), SECCOMP_RET.KILL_PROCESS);
  });
  test("the guard is built by ProgramBuilder: the policy's own jumps are kept, and jumps out of it are refused", () => {
    // A policy whose first instruction jumps: its offset must survive being appended.
    const jumpy = [jump(JEQ_K, 7, 1, 0), stmt(RET_K, SECCOMP_RET.KILL_PROCESS), stmt(RET_K, SECCOMP_RET.ALLOW)];
    const program = withExecGuard(jumpy, arch, addresses);
    assert.deepEqual(program.slice(GUARD_LENGTH), jumpy);
    assert.throws(() => withExecGuard([jump(JEQ_K, 7, 5, 0), stmt(RET_K, 0)], arch, addresses), BuilderError);
  });
});

describe("exec on the real kernel", () => {
  test("the target runs filtered: Seccomp 2, one filter, NoNewPrivs, and so do the threads it creates (Bun)", () => {
    const run = launch(["--policy", policies.errno, "--", BUN, THREAD_TARGET]);
    assert.equal(run.status, 0, run.stderr);
    const report = JSON.parse(run.stdout);
    assert.deepEqual(report.main, { seccomp: 2, filters: 1, noNewPrivs: 1 });
    const threads = Object.values(report.threads);
    assert.ok(threads.length > 1, "the target started threads");
    for (const status of threads) assert.deepEqual(status, { seccomp: 2, filters: 1, noNewPrivs: 1 });
  });

  test("the same through the Deno launcher", () => {
    const run = launch(["--policy", policies.errno, "--", BUN, THREAD_TARGET], "deno");
    assert.equal(run.status, 0, run.stderr);
    const report = JSON.parse(run.stdout);
    assert.deepEqual(report.main, { seccomp: 2, filters: 1, noNewPrivs: 1 });
    for (const status of Object.values(report.threads)) assert.deepEqual(status, { seccomp: 2, filters: 1, noNewPrivs: 1 });
  });

  test("errno mismatch action: the denied call fails with that errno, allowed work succeeds", () => {
    const dir = join(work, "made-by-mkdir");
    const run = launch(["--policy", policies.errno, "--", "/bin/sh", "-c", `echo allowed; mkdir ${dir}; echo "status=$?"`]);
    assert.equal(run.status, 0, run.stderr);
    assert.equal(run.stdout, "allowed\nstatus=1\n");
    assert.match(run.stderr, /No message of desired type/, "errno 42 is ENOMSG");
    assert.equal(existsSync(dir), false);
  });

  test("statx refused (ENOSYS as before Linux 4.11, EPERM from a container profile): the launcher falls back and starts the program", () => {
    // The outer launcher makes statx fail with ENOSYS for everything it starts; the inner one, on Bun and on
    // Deno, must still read its policy (fstat falls back to node:fs, as libuv does) and install its filter.
    const noStatx = scratch("no-statx.json", JSON.stringify({
      outer: { default_action: "allow", filter_action: { errno: 38 }, filter: [{ syscall: "statx" }] },
    }));
    for (const runtime of ["bun", "deno"] as const) {
      const inner = runtime === "bun" ? [BUN, CLI_MAIN, "exec"] : runtimeCommand("deno", LAUNCHER);
      const run = launch(["--policy", noStatx, "--", ...inner, "--policy", policies.killUmask, "--", "/bin/sh", "-c", "grep -c '^Seccomp:.2' /proc/self/status"]);
      assert.equal(run.status, 0, `${runtime}: ${run.stderr}`);
      assert.equal(run.stdout, "1\n", runtime);
    }
  });

  test("kill_process: the target dies of SIGSYS at the denied call", () => {
    const run = launch(["--policy", policies.killUmask, "--", "/bin/sh", "-c", "echo before; umask 022; echo after"]);
    assert.equal(run.signal, "SIGSYS");
    assert.equal(run.stdout, "before\n");
  });

  test("trap: SIGSYS is delivered to the target, which can handle it", () => {
    const handled = launch(["--policy", policies.trapUmask, "--", "/bin/sh", "-c", 'trap "echo trapped" SYS; umask 077; echo after']);
    assert.equal(handled.status, 0, handled.stderr);
    assert.equal(handled.stdout, "trapped\nafter\n");
    const unhandled = launch(["--policy", policies.trapUmask, "--", "/bin/sh", "-c", "umask 077; echo after"]);
    assert.equal(unhandled.signal, "SIGSYS");
    assert.equal(unhandled.stdout, "");
  });

  test("with the guard the launcher's execve passes but the target's own execve dies", () => {
    const run = launch(["--policy", policies.noExec, "--", "/bin/sh", "-c", "echo started; exec /bin/true"]);
    assert.equal(run.stdout, "started\n");
    assert.equal(run.signal, "SIGSYS");
  });

  test("--no-exec-guard works when the policy itself allows execve", () => {
    const run = launch(["--policy", policies.killUmask, "--no-exec-guard", "--", "/bin/sh", "-c", "exec /bin/echo re-exec ok"]);
    assert.equal(run.status, 0, run.stderr);
    assert.equal(run.stdout, "re-exec ok\n");
  });

  test("on success the launcher prints nothing: the target's stdio and exit status pass through", () => {
    const run = launch(["--policy", policies.killUmask, "--", "sh", "-c", "echo out; echo err >&2; exit 7"]);
    assert.equal(run.status, 7);
    assert.equal(run.stdout, "out\n");
    assert.equal(run.stderr, "err\n");
  });

  test("--thread may be left out when the file holds one filter; filter files work like policies", () => {
    const file = scratch("one.bin", serializeBinary(compileFromJson(readFileSync(policies.noExec, "utf8"), arch.name)));
    const run = launch(["--filter-file", file, "--", "/bin/sh", "-c", "echo ok; exec /bin/true"]);
    assert.equal(run.stdout, "ok\n");
    assert.equal(run.signal, "SIGSYS");
    const chosen = launch(["--policy", policies.twoThreads, "--thread", "api", "--", "true"]);
    assert.equal(chosen.status, 0, chosen.stderr);
  });

  test("--dry-run prints the plan and installs and runs nothing", () => {
    const marker = join(work, "dry-run-marker");
    const run = launch(["--policy", policies.noExec, "--dry-run", "--", "sh", "-c", `touch ${marker}`]);
    assert.equal(run.status, 0, run.stderr);
    assert.match(run.stdout, /^thread: main$/m);
    assert.match(run.stdout, new RegExp(`^arch: ${arch.name}$`, "m"));
    assert.match(run.stdout, new RegExp(`^instructions: \\d+ \\(policy \\d+ \\+ exec guard ${GUARD_LENGTH}\\)$`, "m"));
    assert.match(run.stdout, /^exec guard: on \(allows only execve\(0x[0-9a-f]+, 0x[0-9a-f]+, 0x[0-9a-f]+\): path, argv, envp at random addresses\)$/m);
    assert.match(run.stdout, /^command: \/(usr\/)?bin\/sh$/m);
    assert.equal(existsSync(marker), false);
    const off = launch(["--policy", policies.killUmask, "--no-exec-guard", "--dry-run", "--", "true"]);
    assert.match(off.stdout, /^exec guard: off \(the policy answers allow to the launcher's execve\)$/m);
  });

  describe("fail closed: every refusal starts nothing", () => {
    const marker = join(work, "marker");
    const touch = ["/bin/sh", "-c", `touch ${marker}`];
    // The target's shell execs touch, so this policy must allow execve.
    const valid = scratch("valid.bin", serializeBinary(compileFromJson(readFileSync(policies.killUmask, "utf8"), arch.name)));
    const corrupt = scratch("corrupt.bin", readFileSync(valid).subarray(0, 40));
    const unknownAction = scratch("unknown-action.bin", serializeBinary(new Map([["main", [stmt(RET_K, 0x12340000)]]])));
    const badPolicy = scratch("bad.json", '{ "main": { "default_action": "allow", "filter_action": "allow", "filter": [{ "syscall": "opne" }] } }');
    // The thread to install is fine; another thread of the same policy is not: the whole policy is validated.
    const badSibling = scratch("bad-sibling.json", JSON.stringify({
      ...JSON.parse(allExcept([], "kill_process")),
      api: { default_action: "allow", filter_action: "allow", filter: [{ syscall: "opne" }] },
    }));
    const notExecutable = scratch("script.sh", `#!/bin/sh\ntouch ${marker}\n`, 0o644);
    // A thread that compiles to more than the kernel's 4096 instructions (1,000 scattered two-argument rules: ~4,500).
    const tooLong = {
      default_action: "trap",
      filter_action: "allow",
      filter: Array.from({ length: 1000 }, (_, i) => ({
        syscall: "write",
        args: [{ index: 0, type: "dword", op: "eq", val: (i * 7919) % 65536 }, { index: 1, type: "dword", op: "eq", val: (i * 104729) % 1000003 }],
      })),
    };
    const longSibling = scratch("long-sibling.json", JSON.stringify({ ...JSON.parse(allExcept([], "kill_process")), big: tooLong }));

    test("exec --policy generates only the thread it installs: a sibling thread too long for the kernel does not stop it", () => {
      rmSync(marker, { force: true });
      const run = launch(["--policy", longSibling, "--thread", "main", "--", ...touch]);
      assert.equal(run.status, 0, run.stderr);
      assert.equal(existsSync(marker), true);
      rmSync(marker);
    });

    test("control: the same target does create the marker when nothing is wrong", () => {
      rmSync(marker, { force: true });
      const run = launch(["--filter-file", valid, "--", ...touch]);
      assert.equal(run.status, 0, run.stderr);
      assert.equal(existsSync(marker), true);
      rmSync(marker);
    });

    const refusals: [string, string[], number, RegExp][] = [
      ["unknown thread", ["--policy", policies.twoThreads, "--thread", "vcpu", "--", ...touch], 125, /no filter for thread "vcpu"/],
      ["ambiguous thread", ["--policy", policies.twoThreads, "--", ...touch], 125, /choose one with --thread/],
      ["corrupt filter file", ["--filter-file", corrupt, "--", ...touch], 125, /not a valid filter container/],
      ["oversized filter file", ["--filter-file", valid, "--bytes-limit", "64", "--", ...touch], 125, /over the 64-byte limit/],
      ["policy that does not compile", ["--policy", badPolicy, "--", ...touch], 125, /does not compile/],
      ["policy with an error in another thread", ["--policy", badSibling, "--thread", "main", "--", ...touch], 125, /does not compile[^]*opne/],
      ["the installed thread itself too long for the kernel", ["--policy", longSibling, "--thread", "big", "--", ...touch], 125, /compiles to \d+ instructions; the kernel accepts at most 4096/],
      ["unknown command", ["--filter-file", valid, "--", "seccompiler-test-no-such-command"], 127, /not found/],
      ["non-executable file", ["--filter-file", valid, "--", notExecutable], 126, /not executable/],
      ["--no-exec-guard with a policy that denies execve", ["--policy", policies.noExec, "--no-exec-guard", "--", ...touch], 125, /answers kill_process to the launcher's execve/],
      ["an action the kernel lacks", ["--filter-file", unknownAction, "--", ...touch], 125, /0x12340000/],
      ["usage: no '--' before the command", ["--filter-file", valid, ...touch], 125, /Unknown option '-c'[^]*after '--'/],
      ["usage: a stray argument before '--'", ["--filter-file", valid, "true", "--", ...touch], 125, /unexpected argument "true" before "--"/],
      ["usage: unknown option", ["--filter-file", valid, "--frobnicate", "--", ...touch], 125, /frobnicate/],
      ["usage: two filter sources", ["--filter-file", valid, "--policy", policies.noExec, "--", ...touch], 125, /not both/],
    ];
    for (const [name, args, code, message] of refusals) {
      test(`${name} → ${code}`, () => {
        rmSync(marker, { force: true });
        const run = launch(args);
        assert.equal(run.status, code, `${run.stderr}`);
        assert.equal(run.stdout, "");
        assert.match(run.stderr, /^seccompiler: /);
        assert.match(run.stderr, message);
        assert.equal(existsSync(marker), false, "the target must not have run");
      });
    }

    test("--help prints usage on stdout and exits 0", () => {
      const run = launch(["--help"]);
      assert.equal(run.status, 0);
      assert.match(run.stdout, /^Usage: seccompiler exec/);
      assert.match(run.stdout, /125 launcher error/);
    });
  });

  test("reliability: 200 consecutive runs of a strict allowlist policy on Bun all succeed", { timeout: 600_000 }, () => {
    // What a dynamically linked /bin/true needs, and nothing else; execve only through the guard.
    const allow = [
      "access", "arch_prctl", "brk", "close", "exit_group", "fstat", "getrandom", "mmap", "mprotect", "munmap",
      "newfstatat", "openat", "pread64", "prlimit64", "read", "rseq", "set_robust_list", "set_tid_address", "write",
    ].filter((name) => arch.syscalls.has(name));
    const strict = scratch("strict.json", JSON.stringify({
      main: { default_action: "kill_process", filter_action: "allow", filter: allow.map((syscall) => ({ syscall })) },
    }));
    const file = scratch("strict.bin", serializeBinary(compileFromJson(readFileSync(strict, "utf8"), arch.name)));
    const failures: string[] = [];
    for (let i = 0; i < 200; i++) {
      const run = spawnSync(BUN, [LAUNCHER, "--filter-file", file, "--", "/bin/true"], { encoding: "utf8", cwd: work });
      if (run.status !== 0) failures.push(`run ${i}: status ${run.status}, signal ${run.signal}, ${run.stderr.trim()}`);
    }
    assert.deepEqual(failures, []);
  });

  test("Deno: without --allow-ffi the permission is named, exit 125, nothing started; --allow-ffi alone is enough", { timeout: 120_000 }, () => {
    const marker = join(work, "deno-permission-marker");
    rmSync(marker, { force: true });
    const policy = policies.killUmask;
    const withFlags = (flags: string[], script = `touch ${marker}`) =>
      spawnSync(DENO, ["run", ...flags, LAUNCHER, "--policy", policy, "--", "/bin/sh", "-c", script], { encoding: "utf8", cwd: work });
    const noFfi = withFlags(["--allow-read", "--allow-env"]);
    assert.equal(noFfi.status, 125, noFfi.stderr);
    assert.match(noFfi.stderr, /--allow-(all|ffi)/);
    assert.doesNotMatch(noFfi.stderr, /libc-not-found|glibc or musl/);
    assert.equal(existsSync(marker), false, "the target must not have run");
    // The launcher reads its input and /proc/self through the FFI (src/launcher/syscall_files.ts), so
    // --allow-ffi, which grants every power anyway, is the only permission it needs; the filter is in force.
    const ffiOnly = withFlags(["--allow-ffi"]);
    assert.equal(ffiOnly.status, 0, ffiOnly.stderr);
    assert.equal(existsSync(marker), true, "the target runs with --allow-ffi alone");
    const filtered = withFlags(["--allow-ffi"], "umask 022");
    assert.equal(filtered.signal, "SIGSYS", "umask is killed by the installed filter");
    // With a wrapper's hand-over inherited, --dry-run still needs nothing more (no process.env read on Deno).
    const handedOver = spawnSync("sh", ["-pc", [
      `seccompiler_tools=/usr/bin:/bin; . "${join(REPO_ROOT, "bin", "handover.sh")}"; seccompiler_record_start_state`,
      `exec "$0" run --allow-ffi "$1" --dry-run --policy "$2" -- /bin/true`,
    ].join("\n"), DENO, LAUNCHER, policy], { encoding: "utf8", cwd: work });
    assert.equal(handedOver.status, 0, handedOver.stderr);
    assert.match(handedOver.stdout, /^start state recorded by: wrapper$/m);
    assert.match(handedOver.stdout, /^runtime option: none$/m);
    // The library names --allow-ffi with a code of its own.
    const script = scratch("no-ffi.ts", [
      `import { applyFilter } from ${JSON.stringify(join(REPO_ROOT, "src", "install", "mod.ts"))};`,
      `try { await applyFilter([{ code: 6, jt: 0, jf: 0, k: 0x7fff0000 }]); } catch (e) { console.log(JSON.stringify([e.code, e.message])); }`,
    ].join("\n"));
    const lib = spawnSync(DENO, ["run", "--allow-read", script], { encoding: "utf8", cwd: work });
    const [code, message] = JSON.parse(lib.stdout);
    assert.equal(code, "permission-denied");
    assert.match(message, /--allow-ffi/);
  });

  test("reliability: 200 strict-allowlist launches on Deno (100 in a row, 100 four at a time) all reach the program", { timeout: 900_000 }, async () => {
    // Before seccomp and execve ran in one native call, 2 of 40 such launches died of SIGSYS (futex/gettid
    // on Deno's main thread between the two FFI calls).
    const allow = [
      "access", "arch_prctl", "brk", "close", "exit_group", "fstat", "getrandom", "mmap", "mprotect", "munmap",
      "newfstatat", "openat", "pread64", "prlimit64", "read", "rseq", "set_robust_list", "set_tid_address", "write",
    ].filter((name) => arch.syscalls.has(name));
    const file = scratch("strict-deno.bin", serializeBinary(compileFromJson(JSON.stringify({
      main: { default_action: "kill_process", filter_action: "allow", filter: allow.map((syscall) => ({ syscall })) },
    }), arch.name)));
    const args = ["run", "--allow-all", LAUNCHER, "--filter-file", file, "--", "/bin/true"];
    const failures: string[] = [];
    const note = (i: number, status: number | null, signal: string | null) => {
      if (status !== 0) failures.push(`run ${i}: status ${status}, signal ${signal}`);
    };
    for (let i = 0; i < 100; i++) {
      const run = spawnSync(DENO, args, { encoding: "utf8", cwd: work });
      note(i, run.status, run.signal);
    }
    const once = (i: number) =>
      new Promise<void>((resolve) => {
        const child = spawn(DENO, args, { cwd: work, stdio: "ignore" });
        child.on("close", (status, signal) => {
          note(i, status, signal);
          resolve();
        });
      });
    for (let i = 100; i < 200; i += 4) await Promise.all([0, 1, 2, 3].map((j) => once(i + j)));
    assert.deepEqual(failures, []);
  });
});
