import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { SECCOMP_RET } from "../src/action.ts";
import { BPF_MAXINSNS, LD_ABS, RET_K, stmt } from "../src/bpf/insn.ts";
import { errnoName, errnoNumber, InstallError, seccompHint } from "../src/install/errors.ts";
import { libcCandidates } from "../src/install/libc.ts";
import { checkProgram, returnedActions } from "../src/install/seccomp.ts";
import { CHILDREN, childJson, RUNTIMES, runChild } from "./support/children/spawn.ts";

// Filters are installed only in child processes (Bun and Deno), never in the test runner.
const CHILD = join(CHILDREN, "install-child.ts");

/** Runs one scenario of install-child.ts and returns its result. */
function scenario(runtime: (typeof RUNTIMES)[number], name: string) {
  const run = runChild(runtime, CHILD, [name]);
  const json = childJson(run);
  assert.equal(json.error, undefined, `${runtime} ${name}: ${JSON.stringify(json.error)}\n${run.stderr}`);
  assert.equal(json.runtime, runtime);
  return json.result;
}

describe("installer, pure parts", () => {
  test("errno names and hints", () => {
    assert.equal(errnoName(13), "EACCES");
    assert.equal(errnoName(22), "EINVAL");
    assert.equal(errnoName(12345), "errno 12345");
    assert.equal(errnoNumber("ENOSYS"), 38);
    assert.equal(errnoNumber("ENOPE"), undefined);
    assert.match(seccompHint(13)!, /no_new_privs/);
    assert.match(seccompHint(12)!, /32768/);
    const error = new InstallError("seccomp-failed", "seccomp failed", { errno: 22, hint: "h" });
    assert.equal(error.errnoName, "EINVAL");
    assert.equal(error.message, "seccomp failed: EINVAL (invalid argument)");
    assert.equal(error.hint, "h");
  });

  test("libc candidates: never a bare name that could fail (Bun would retry it in the working directory)", () => {
    assert.deepEqual(libcCandidates("x86_64", "glibc"), ["libc.so.6"]);
    assert.deepEqual(libcCandidates("x86_64", "musl"), ["/lib/ld-musl-x86_64.so.1"]);
    assert.deepEqual(libcCandidates("ppc64le", "musl"), ["/lib/ld-musl-powerpc64le.so.1"]);
    // Deno's dlopen asks only the system's loader: glibc's soname, then musl's loader by path.
    assert.deepEqual(libcCandidates("aarch64", undefined), ["libc.so.6", "/lib/ld-musl-aarch64.so.1"]);
  });

  test("returned actions are the distinct action bits of ret #k", () => {
    const program = [stmt(RET_K, SECCOMP_RET.ERRNO | 1), stmt(RET_K, SECCOMP_RET.ERRNO | 2), stmt(RET_K, SECCOMP_RET.ALLOW)];
    assert.deepEqual(returnedActions(program), [SECCOMP_RET.ERRNO, SECCOMP_RET.ALLOW]);
  });

  test("checkProgram refuses what the kernel would, with every issue", () => {
    assert.throws(() => checkProgram([]), (e: unknown) => e instanceof InstallError && e.code === "invalid-program");
    const tooLong = Array.from({ length: BPF_MAXINSNS + 1 }, () => stmt(RET_K, SECCOMP_RET.ALLOW));
    assert.throws(() => checkProgram(tooLong), /at most 4096/);
    assert.throws(() => checkProgram([stmt(LD_ABS, 64), stmt(LD_ABS, 3)]), (e: unknown) =>
      e instanceof InstallError && (e.issues?.length ?? 0) >= 3);
    checkProgram(Array.from({ length: BPF_MAXINSNS }, () => stmt(RET_K, SECCOMP_RET.ALLOW)));
  });
});

for (const runtime of RUNTIMES) {
  describe(`installer on ${runtime} (real kernel, child process)`, () => {
    test("applyFilter: calling thread filtered, errno returned, existing threads untouched, new threads inherit", () => {
      const r = scenario(runtime, "apply");
      assert.deepEqual(r.main, { seccomp: 2, filters: 1, noNewPrivs: 1 });
      assert.equal(r.getppid, -13, "getppid must fail with EACCES");
      assert.ok(r.getpid > 0, "getpid must still work");
      assert.deepEqual(r.threads[String(r.mainTid)], { seccomp: 2, filters: 1, noNewPrivs: 1 });
      const others = Object.entries(r.threads).filter(([tid]) => tid !== String(r.mainTid));
      assert.ok(others.length > 0, "the runtime has helper threads");
      for (const [tid, status] of others) assert.equal((status as { seccomp: number }).seccomp, 0, `thread ${tid}`);
      assert.deepEqual(r.worker.status, { seccomp: 2, filters: 1, noNewPrivs: 1 }, "a thread created afterwards inherits");
      assert.equal(r.worker.getppid, -13);
    });

    test("applyFilterAllThreads: every thread filtered", () => {
      const r = scenario(runtime, "all-threads");
      const statuses = Object.values(r.threads);
      assert.ok(statuses.length > 1);
      for (const status of statuses) assert.deepEqual(status, { seccomp: 2, filters: 1, noNewPrivs: 1 });
      assert.equal(r.getppid, -13);
      assert.ok(r.getpid > 0);
    });

    test("applyFilterAllThreads: reports the thread that could not sync, installs nothing", () => {
      const r = scenario(runtime, "tsync-conflict");
      assert.equal(r.workerStatus.seccomp, 2, "the worker installed its own filter");
      assert.equal(r.error.code, "tsync-failed");
      assert.equal(r.error.threadId, r.workerTid);
      assert.match(r.error.message, new RegExp(`thread ${r.workerTid}`));
      assert.ok(r.error.hint);
      assert.equal(r.main.seccomp, 0);
    });

    test("invalid programs are refused before any system call", () => {
      const r = scenario(runtime, "refuse-invalid");
      for (const key of ["empty", "tooLong", "badJump", "misaligned"]) {
        assert.equal(r[key]?.code, "invalid-program", key);
        assert.equal(r[key].name, "InstallError", key);
      }
      assert.match(r.tooLong.message, /4097 instructions/);
      assert.deepEqual(r.main, { seccomp: 0, filters: 0, noNewPrivs: 0 }, "not even no_new_privs was set");
    });

    test("an action the kernel lacks is refused before install", () => {
      const r = scenario(runtime, "refuse-unavailable");
      for (const key of ["single", "allThreads"]) {
        assert.equal(r[key].code, "action-unavailable", key);
        assert.match(r[key].message, /0x12340000/);
      }
      assert.deepEqual(r.main, { seccomp: 0, filters: 0, noNewPrivs: 0 });
    });

    test("actionAvailable asks the kernel (SECCOMP_GET_ACTION_AVAIL)", () => {
      const r = scenario(runtime, "actions");
      for (const kind of ["allow", "kill_thread", "kill_process", "trap", "errno", "trace", "log", "user_notif"]) {
        assert.equal(r[kind], true, kind);
      }
      assert.equal(r.rawAllowWithData, true, "data bits are ignored");
      assert.equal(r.rawUnknown, false);
      assert.equal(r.main.seccomp, 0, "asking installs nothing");
    });

    test("falls back to prctl(PR_SET_SECCOMP) where seccomp() answers ENOSYS; TSYNC cannot", () => {
      const r = scenario(runtime, "fallback");
      assert.equal(r.seccompAfterFirst, -38, "the first filter hides seccomp()");
      assert.equal(r.killProcess.code, "action-unavailable", "without seccomp() only the Linux 3.5 actions count");
      assert.deepEqual(r.afterFallback, { seccomp: 2, filters: 2, noNewPrivs: 1 }, "installed through prctl");
      assert.equal(r.getppid, -13);
      assert.equal(r.tsync.code, "seccomp-failed");
      assert.equal(r.tsync.errnoName, "ENOSYS");
      assert.match(r.tsync.hint, /TSYNC|synchronising/);
      assert.equal(r.main.filters, 2);
    });

    test("kernel errors carry the errno name and a hint (ENOMEM past 32768 instructions)", () => {
      const r = scenario(runtime, "enomem");
      // 7 × (4096 + 4) = 28700; an 8th 4096-instruction filter exceeds 32768.
      assert.equal(r.installed, 7);
      assert.equal(r.error.code, "seccomp-failed");
      assert.equal(r.error.errno, 12);
      assert.equal(r.error.errnoName, "ENOMEM");
      assert.match(r.error.message, /ENOMEM/);
      assert.match(r.error.hint, /32768/);
      assert.equal(r.main.filters, 7);
    });
  });
}
