/**
 * `seccompiler record` on the real kernel: real programs are recorded, the
 * recorded policy then runs the same command through `exec` with
 * kill_process as mismatch action, and removing any one recorded rule makes
 * it fail. Plus threads, children, --merge, and targets that end badly.
 *
 * The C test programs in test/support/record/ are built here with the
 * system's C compiler (gcc/cc), statically, into a temporary directory.
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { lstatSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { release, tmpdir } from "node:os";
import { join } from "node:path";
import { parse as parseJsonc } from "jsonc-parser";
import { CLI, DENO, REPO_ROOT } from "./support/paths.ts";
import { skipUnless } from "./support/require.ts";
import { lintPolicy } from "../src/lint/mod.ts";
import { hostArch } from "../src/arch/arch.ts";
import { mergePolicy, renderPolicy } from "../src/record/policy.ts";
import { addCall, newRecording, parseArgSpecs, parseThreadRules, type RecordConfig } from "../src/record/recording.ts";
import { getArch } from "../src/arch/arch.ts";

const [major, minor] = release().split(".").map(Number);
const kernelReason = process.platform !== "linux"
  ? "not Linux"
  : major < 5 || (major === 5 && minor < 6)
  ? `kernel ${release()} predates pidfd_getfd (5.6)`
  : hostArch() === undefined
  ? "unsupported CPU"
  : false;

const work = mkdtempSync(join(tmpdir(), "seccompiler-record-"));
process.on("exit", () => rmSync(work, { recursive: true, force: true }));

/** Builds a C test program; fails the test (not skips) when no compiler works. */
function build(name: string): string {
  const output = join(work, name);
  const source = join(REPO_ROOT, "test", "support", "record", `${name}.c`);
  const r = spawnSync("cc", ["-O1", "-pthread", "-static", "-Wall", "-Wextra", "-Werror", "-o", output, source], { encoding: "utf8" });
  assert.equal(r.status, 0, `cc failed: ${r.error ?? ""}${r.stderr}`);
  return output;
}

/** Runs the CLI synchronously. */
function cli(args: string[], cwd = work) {
  const r = spawnSync(CLI, args, { encoding: "utf8", cwd, timeout: 300_000 });
  return { code: r.status, signal: r.signal, stdout: r.stdout, stderr: r.stderr };
}

/**
 * Runs a command asynchronously (for the many runs of the removal check), with stdin, stdout
 * and stderr on pipes like the recording had: the C library behaves differently on a terminal
 * or /dev/null (it asks for the terminal settings with an ioctl), so the stdio must match.
 */
function runAsync(command: string[]): Promise<{ code: number | null; signal: string | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    // stdin too is a pipe (closed at once), as spawnSync gives the recording.
    const child = spawn(command[0], command.slice(1), { cwd: work, stdio: ["pipe", "pipe", "pipe"] });
    child.stdin.end();
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk) => (stdout += chunk));
    child.stderr.on("data", (chunk) => (stderr += chunk));
    child.on("close", (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
}

/** Records `command` into `file`; returns the parsed policy (comments dropped). */
function record(file: string, command: string[], options: string[] = [], expectedCode = 0) {
  const r = cli(["record", "-o", file, ...options, "--", ...command]);
  assert.equal(r.code, expectedCode, r.stderr);
  // deno-lint-ignore no-explicit-any
  return parseJsonc(readFileSync(join(work, file), "utf8")) as Record<string, any>;
}

/** Syscall names of one recorded filter. */
// deno-lint-ignore no-explicit-any
function syscalls(policy: Record<string, any>, thread: string): Set<string> {
  return new Set(policy[thread].filter.map((rule: { syscall: string }) => rule.syscall));
}

/**
 * The policy lets `command` run under exec exactly as it runs unfiltered (exit status and
 * output, which is `expected` status); and, for every recorded syscall, the policy without
 * that syscall's rules makes it end differently. Returns the syscalls whose removal changed
 * nothing (expected: none).
 */
async function checkExactness(
  name: string,
  // deno-lint-ignore no-explicit-any
  policy: Record<string, any>,
  thread: string,
  command: string[],
  expected: number,
  normalize: (output: string) => string = (output) => output,
): Promise<string[]> {
  const run = async (argv: string[]) => {
    const r = await runAsync(argv);
    return { ...r, stdout: normalize(r.stdout) };
  };
  const reference = await run(command);
  assert.equal(reference.code, expected, `${name}: unfiltered run: ${reference.stderr}`);
  const whole = join(work, `${name}.exec.json`);
  writeFileSync(whole, JSON.stringify(policy));
  const ok = await run([CLI, "exec", "--policy", whole, "--thread", thread, "--", ...command]);
  assert.equal(ok.code, expected, `${name}: the recorded policy must run the command: ${ok.signal} ${ok.stderr}`);
  assert.equal(ok.stdout, reference.stdout, `${name}: same output under the recorded policy`);
  const names = [...syscalls(policy, thread)];
  const survivors: string[] = [];
  const queue = [...names];
  const worker = async () => {
    for (let syscall = queue.shift(); syscall !== undefined; syscall = queue.shift()) {
      const reduced = structuredClone(policy);
      reduced[thread].filter = reduced[thread].filter.filter((rule: { syscall: string }) => rule.syscall !== syscall);
      const file = join(work, `${name}.without-${syscall}.json`);
      writeFileSync(file, JSON.stringify(reduced));
      const r = await run([CLI, "exec", "--policy", file, "--thread", thread, "--", ...command]);
      if (r.code === expected && r.signal === null && r.stdout === reference.stdout) survivors.push(syscall);
    }
  };
  await Promise.all([worker(), worker(), worker()]);
  return survivors.sort();
}

/**
 * A threaded program calls futex only when a thread has to wait (pthread_join before the
 * worker has ended), which the scheduler decides: removing futex may or may not change a run.
 * Every other recorded syscall must matter.
 */
function withoutTiming(survivors: string[]): string[] {
  return survivors.filter((syscall) => syscall !== "futex");
}

describe("record on the real kernel", { skip: skipUnless("kernel", kernelReason, "record on the real kernel") }, () => {
  test("/bin/ls -l /: exec runs it under the recording; without any one syscall it fails", async () => {
    const policy = record("ls.json", ["/bin/ls", "-l", "/"]);
    assert.deepEqual(Object.keys(policy), ["main"]);
    assert.equal(policy.main.default_action, "kill_process");
    for (const name of ["openat", "getdents64", "write", "exit_group"]) assert.ok(syscalls(policy, "main").has(name), name);
    assert.ok(!syscalls(policy, "main").has("execve"), "the launcher's own execve is not recorded");
    // Sizes and link counts in / change while other processes run (/proc, /tmp): compare the names.
    const names = (output: string) => output.split("\n").map((line) => line.split(/\s+/).slice(8).join(" ")).join("\n");
    assert.deepEqual(await checkExactness("ls", policy, "main", ["/bin/ls", "-l", "/"], 0, names), []);
  });

  test("sh -c with a pipeline: children are recorded, the exit status passes through", async () => {
    const script = "ls / | wc -l; exit 3";
    const policy = record("sh.json", ["sh", "-c", script], [], 3);
    for (const name of ["pipe2", "execve", "wait4", "dup2"]) {
      if (getArch(hostArch()!).syscalls.has(name)) assert.ok(syscalls(policy, "main").has(name), name);
    }
    assert.deepEqual(await checkExactness("sh", policy, "main", ["sh", "-c", script], 3), []);
  });

  test("a program whose threads name themselves: per-thread filters with the right syscalls, --args ioctl:1", async () => {
    const program = build("threads");
    const r = cli(["record", "-o", "threads.json", "--threads", "worker-*=worker,*=main", "--args", "ioctl:1", "--", program]);
    assert.equal(r.code, 0, r.stderr);
    const text = readFileSync(join(work, "threads.json"), "utf8");
    const policy = parseJsonc(text);
    assert.deepEqual(Object.keys(policy), ["main", "worker"]);
    const main = syscalls(policy, "main");
    const worker = syscalls(policy, "worker");
    // The workers' own calls (after naming themselves) and only theirs.
    assert.deepEqual([...worker].sort(), ["exit", "ioctl", "madvise", "rt_sigprocmask", "sched_yield"].sort());
    assert.ok(main.has("uname") && !worker.has("uname"), "uname is main's alone");
    assert.ok(main.has("clone3") || main.has("clone"));
    // ioctl: one rule per request code, FIONREAD (0x541b) in both groups, FIONBIO (0x5421) in main only.
    const requests = (thread: string) =>
      policy[thread].filter.filter((rule: { syscall: string }) => rule.syscall === "ioctl").map((rule: { args: { val: number }[] }) => rule.args[0].val);
    assert.deepEqual(requests("worker"), [0x541b]);
    assert.deepEqual(requests("main"), [0x541b, 0x5421]);
    assert.match(text, /"worker": \{/);
    assert.match(text, /"val": 21531 \}\] \}, \/\/ seen 2 times \(0x541b\)/);
    assert.match(text, /\/\/ threads: "worker-0", "worker-1"/);
    // The recording lints clean of errors, and the main filter runs the whole program.
    assert.deepEqual(lintPolicy(text, { arch: hostArch()! }).filter((f) => f.severity === "error"), []);
    assert.deepEqual(withoutTiming(await checkExactness("threads", policy, "main", [program], 0)), []);
    // An ioctl request the recording never saw kills the process (kill_process: SIGSYS).
    const extra = cli(["exec", "--policy", join(work, "threads.json"), "--thread", "main", "--", program, "extra"]);
    assert.equal(extra.signal, "SIGSYS", extra.stderr);
  });

  test("one group without --threads: exec runs the threaded program, and it needs every recorded syscall", async () => {
    const program = build("threads");
    const policy = record("threads-one.json", [program], ["--args", "ioctl:1"]);
    assert.deepEqual(Object.keys(policy), ["main"]);
    assert.deepEqual(withoutTiming(await checkExactness("threads-one", policy, "main", [program], 0)), []);
  });

  test("--merge is idempotent and keeps comments and order", () => {
    const program = build("threads");
    record("merge.json", [program], ["--threads", "worker-*=worker"]);
    const before = readFileSync(join(work, "merge.json"), "utf8");
    const again = cli(["record", "--merge", "merge.json", "--threads", "worker-*=worker", "--", program]);
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stderr, /nothing new/);
    assert.equal(readFileSync(join(work, "merge.json"), "utf8"), before);
    // New calls (a shell's) are appended to the end of the existing filter; nothing before changes.
    const more = cli(["record", "--merge", "merge.json", "--threads", "worker-*=worker", "--", "sh", "-c", program]);
    assert.equal(more.code, 0, more.stderr);
    const after = readFileSync(join(work, "merge.json"), "utf8");
    assert.notEqual(after, before);
    // Everything before the main filter's closing bracket is kept; only a comma joins the new rules.
    const withoutCommas = (text: string) => text.replace(/\}, \/\/ seen/g, "} // seen");
    const kept = withoutCommas(before);
    assert.ok(withoutCommas(after).startsWith(kept.slice(0, kept.indexOf("    ]\n  },"))), "existing text kept");
    assert.ok(parseJsonc(after).main.filter.some((rule: { syscall: string }) => rule.syscall === "execve"), "sh's execve added");
    const third = cli(["record", "--merge", "merge.json", "--threads", "worker-*=worker", "--", "sh", "-c", program]);
    assert.equal(third.code, 0, third.stderr);
    assert.equal(readFileSync(join(work, "merge.json"), "utf8"), after, "merging the same run again changes nothing");
    assert.deepEqual(lintPolicy(after, { arch: hostArch()! }).filter((f) => f.severity === "error"), []);
  });

  test("a process that exits while its threads wait on the supervisor ends the recording with its status", () => {
    const program = build("vanish");
    record("vanish.json", [program], [], 7);
  });

  test("a bounded fork bomb: orphans are reaped, the recording ends when the last one does", () => {
    // 2^8 - 1 shells, each starting two children and exiting at once: most end up orphans.
    const bomb = 'f() { [ "$1" -gt 0 ] || exit 0; (f $(($1 - 1)) &); (f $(($1 - 1)) &); }; f 7; exit 4';
    const started = Date.now();
    const policy = record("bomb.json", ["sh", "-c", bomb], [], 4);
    assert.ok(syscalls(policy, "main").has("exit_group"));
    assert.ok(Date.now() - started < 240_000);
  });

  test("a target killed by a signal: 128 + N, and the policy is still written", () => {
    const policy = record("killed.json", ["sh", "-c", "kill -9 $$"], [], 137);
    assert.ok(syscalls(policy, "main").has("kill"));
  });

  test("on Deno too: the recording runs /bin/ls under exec", () => {
    const file = join(work, "deno-ls.json");
    const r = spawnSync(DENO, ["run", "-A", "--quiet", "--no-check", join(REPO_ROOT, "src", "cli", "main.ts"), "record", "-o", file, "--", "/bin/ls", "/"], {
      encoding: "utf8",
      cwd: work,
    });
    assert.equal(r.status, 0, r.stderr);
    const listing = spawnSync("/bin/ls", ["/"], { encoding: "utf8" }).stdout;
    assert.equal(r.stdout, listing);
    const again = cli(["exec", "--policy", file, "--", "/bin/ls", "/"]);
    assert.equal(again.code, 0, again.stderr);
    assert.equal(again.stdout, listing);
  });

  test("output: /dev/null is written into, never replaced; a symbolic link is refused and left alone", () => {
    const r = cli(["record", "-o", "/dev/null", "--", "/bin/true"]);
    assert.equal(r.code, 0, r.stderr);
    assert.ok(statSync("/dev/null").isCharacterDevice());
    writeFileSync(join(work, "precious.txt"), "keep");
    symlinkSync(join(work, "precious.txt"), join(work, "link.json"));
    const refused = cli(["record", "-o", "link.json", "--", "/bin/true"]);
    assert.equal(refused.code, 125, refused.stderr);
    assert.match(refused.stderr, /cannot write link\.json/);
    assert.equal(readFileSync(join(work, "precious.txt"), "utf8"), "keep");
    assert.ok(lstatSync(join(work, "link.json")).isSymbolicLink());
  });

  test("a missing program: 127 and no policy", () => {
    const r = cli(["record", "-o", "none.json", "--", "/nonexistent/program"]);
    assert.equal(r.code, 127, r.stderr);
    assert.match(r.stderr, /nonexistent/);
    assert.throws(() => readFileSync(join(work, "none.json")));
  });

  test("refuses clearly under another listener (a recorder inside a recording)", () => {
    const r = cli(["record", "-o", "outer.json", "--", CLI, "record", "-o", "inner.json", "--", "/bin/true"]);
    assert.match(r.stderr, /already installed/);
    assert.equal(r.code, 125, r.stderr);
  });
});

describe("record: usage", () => {
  test("usage errors exit 2", () => {
    assert.equal(cli(["record"]).code, 2);
    assert.equal(cli(["record", "--args", "ioctl", "--", "/bin/true"]).code, 2);
    assert.equal(cli(["record", "--args", "nosuchcall:1", "--", "/bin/true"]).code, 2);
    assert.equal(cli(["record", "--threads", "x", "--", "/bin/true"]).code, 2);
    assert.equal(cli(["record", "--max-values", "0", "--", "/bin/true"]).code, 2);
    assert.match(cli(["record", "--help"]).stdout, /Usage: seccompiler record/);
  });
});

describe("record: policy text and merge (no kernel)", () => {
  const arch = getArch("x86_64");
  const config: RecordConfig = {
    arch,
    argSpecs: parseArgSpecs("ioctl:1,socket:0", arch),
    threadRules: parseThreadRules("fc_api=api,fc_vcpu*=vcpu,*=vmm"),
    maxValues: 3,
  };
  const calls: [string, string, bigint[]][] = [
    ["fc_api", "read", []],
    ["fc_vcpu 0", "ioctl", [9n, 0xae80n]],
    ["fc_vcpu 1", "ioctl", [9n, 0xae80n]],
    ["firecracker", "socket", [1n]],
    ["firecracker", "ioctl", [3n, 0x1_0000_5401n]],
  ];
  const recordingOf = (list: typeof calls) => {
    const recording = newRecording();
    for (const [thread, name, args] of list) addCall(recording, config, thread, arch.syscalls.get(name)!, [...args, 0n, 0n, 0n, 0n]);
    return recording;
  };

  test("groups by pattern, dword values, comments; the text is a valid policy", () => {
    const text = renderPolicy(recordingOf(calls), config.argSpecs, "firecracker --api-sock x");
    const policy = parseJsonc(text);
    assert.deepEqual(Object.keys(policy), ["api", "vcpu", "vmm"]);
    assert.match(text, /\{ "syscall": "ioctl", "args": \[\{ "index": 1, "type": "dword", "op": "eq", "val": 44672 \}\] \} \/\/ seen 2 times \(0xae80\)/);
    // Only the low 32 bits of a dword argument are recorded.
    assert.equal(policy.vmm.filter.find((r: { syscall: string }) => r.syscall === "ioctl").args[0].val, 0x5401);
    assert.deepEqual(lintPolicy(text, { arch: "x86_64" }).filter((f) => f.severity === "error"), []);
  });

  test("past --max-values distinct values a syscall is recorded without conditions", () => {
    const many = [0n, 1n, 2n, 3n, 4n].map((v): [string, string, bigint[]] => ["fc_api", "ioctl", [0n, v]]);
    const policy = parseJsonc(renderPolicy(recordingOf(many), config.argSpecs, "x"));
    assert.deepEqual(policy.api.filter, [{ syscall: "ioctl" }]);
  });

  test("merge appends after trailing comments, adds new filters, and is idempotent", () => {
    const existing = `{
  // hand-written
  "vmm": {
    "default_action": "kill_process",
    "filter_action": "allow",
    "filter": [
      { "syscall": "socket" }, // any domain
      /* keep me */ { "syscall": "read" } // last
    ]
  }
}
`;
    const recording = recordingOf(calls);
    const once = mergePolicy(existing, recording, config.argSpecs);
    assert.deepEqual([...once.added], [["vmm", 1]]);
    assert.deepEqual(once.newFilters, ["api", "vcpu"]);
    assert.ok(once.text.startsWith(existing.slice(0, existing.indexOf(" // last"))));
    assert.match(once.text, /\{ "syscall": "read" \}, \/\/ last\n {6}\{ "syscall": "ioctl"/);
    const parsed = parseJsonc(once.text);
    assert.deepEqual(Object.keys(parsed), ["vmm", "api", "vcpu"]);
    const twice = mergePolicy(once.text, recording, config.argSpecs);
    assert.equal(twice.text, once.text);
    assert.equal(twice.added.size + twice.newFilters.length, 0);
    assert.deepEqual(lintPolicy(once.text, { arch: "x86_64" }).filter((f) => f.severity === "error"), []);
  });
});
