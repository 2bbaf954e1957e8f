/**
 * The standalone executable's entry prelude (`src/launcher/prelude.ts`,
 * `scripts/entry-prelude.ts`): the instructions in front of Bun's entry point
 * that record the caller's soft open-files limit and SIGPIPE/SIGXFSZ
 * dispositions before Bun changes them. The end-to-end comparison with a
 * direct start is in `exec-handover.test.ts`; the aarch64 code runs under
 * qemu in `qemu.test.ts`.
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { installEntryPrelude } from "../scripts/entry-prelude.ts";
import { elfHeader, PF_W, PF_X, programHeaders, PT_LOAD, PT_NOTE } from "../scripts/elf.ts";
import { getArch } from "../src/arch/arch.ts";
import { HEADER_MAGIC, preludeBytes, readStartState, RUNTIME_ENVIRONMENT } from "../src/launcher/prelude.ts";
import { standaloneExecutable } from "./support/standalone.ts";
import { REPO_ROOT } from "./support/paths.ts";

const work = mkdtempSync(join(tmpdir(), "seccompiler-prelude-test-"));
process.on("exit", () => rmSync(work, { recursive: true, force: true }));
const policy = join(work, "policy.json");
writeFileSync(policy, JSON.stringify({ main: { default_action: "allow", filter_action: "kill_process", filter: [] } }));

/** `exec --dry-run` of the standalone executable, started by sh after `setup` (ulimit, trap). */
function dryRun(setup: string): string {
  const run = spawnSync("sh", ["-c", `${setup}\nexec "$0" exec --dry-run --policy "$1" -- /bin/true`, standaloneExecutable(), policy], {
    encoding: "utf8",
  });
  assert.equal(run.status, 0, run.stderr);
  return run.stdout;
}

const line = (report: string, label: string) => report.split("\n").find((l) => l.startsWith(label));

describe("entry prelude of the standalone executable", () => {
  test("records the caller's soft open-files limit and ignored SIGPIPE before Bun raises and ignores them", () => {
    const report = dryRun("ulimit -Sn 555 && trap '' PIPE");
    assert.equal(line(report, "start state recorded by:"), "start state recorded by: entry prelude");
    assert.equal(line(report, "soft RLIMIT_NOFILE:"), "soft RLIMIT_NOFILE: restored to 555");
    assert.equal(line(report, "signals reset to default:"), "signals reset to default: SIGXFSZ", "SIGPIPE was ignored at start: kept");
  });

  test("and a caller that ignores SIGXFSZ only, with another limit", () => {
    const report = dryRun("ulimit -Sn 1000 && trap '' XFSZ");
    assert.equal(line(report, "soft RLIMIT_NOFILE:"), "soft RLIMIT_NOFILE: restored to 1000");
    assert.equal(line(report, "signals reset to default:"), "signals reset to default: SIGPIPE");
  });

  test("a caller with both at default gets both reset", () => {
    const report = dryRun("trap - PIPE XFSZ");
    assert.equal(line(report, "signals reset to default:"), "signals reset to default: SIGPIPE, SIGXFSZ");
  });

  test("gives the runtime its option, and the program exactly the caller's environment", () => {
    assert.equal(
      line(dryRun("true"), "runtime option:"),
      `runtime option: ${RUNTIME_ENVIRONMENT} (set by the entry prelude for the runtime alone; not in PROGRAM's environment)`,
    );
    // A caller's own setting comes after the prelude's, and the engine takes the first: the report says so.
    assert.equal(
      line(dryRun("export BUN_JSC_useWarmUpMarkedBlocks=1"), "runtime option:"),
      `runtime option: ${RUNTIME_ENVIRONMENT} (set by the entry prelude for the runtime alone, ahead of the caller's ` +
        "BUN_JSC_useWarmUpMarkedBlocks=1, which the engine therefore ignores; PROGRAM gets the caller's)",
    );
    // The program's environment is the kernel's copy: byte for byte what the caller passed, in its order.
    const run = spawnSync("env", ["-i", "Z=1", "B=", "A=x=y", standaloneExecutable(), "exec", "--policy", policy, "--", "/bin/cat", "/proc/self/environ"]);
    assert.equal(run.status, 0, run.stderr.toString());
    assert.equal(run.stdout.toString(), "Z=1\0B=\0A=x=y\0");
  });

  test("a large environment (50,000 variables, about 1.1 MB) is copied for the runtime and reaches the program unchanged", () => {
    const env = Object.fromEntries(Array.from({ length: 50_000 }, (_, i) => [`SOAK_${i}`, `value-${i}`]));
    // spawnSync's default maxBuffer is 1 MiB: past it the child is killed (a status of null) whenever it has not
    // exited yet, so both runs get room for the whole environment.
    const options = { env, maxBuffer: 16 * 1024 * 1024 };
    const direct = spawnSync("/bin/cat", ["/proc/self/environ"], options);
    const launched = spawnSync(standaloneExecutable(), ["exec", "--policy", policy, "--", "/bin/cat", "/proc/self/environ"], options);
    assert.equal(direct.error, undefined);
    assert.equal(direct.status, 0);
    assert.equal(launched.error, undefined);
    assert.equal(launched.status, 0, launched.stderr.toString());
    assert.ok(direct.stdout.length > 1_000_000, `${direct.stdout.length} bytes`);
    assert.ok(launched.stdout.equals(direct.stdout), "the program's environment differs from a direct start's");
  });

  test("the wrappers give Bun the same option, and the program the caller's environment", () => {
    assert.match(readFileSync(join(REPO_ROOT, "bin", "handover.sh"), "utf8"), new RegExp(`^  ${RUNTIME_ENVIRONMENT}$`, "m"));
    const wrapper = join(REPO_ROOT, "scripts", "seccompiler");
    const report = spawnSync(wrapper, ["exec", "--dry-run", "--policy", policy, "--", "/bin/true"], { encoding: "utf8" });
    assert.equal(report.status, 0, report.stderr);
    assert.equal(
      line(report.stdout, "runtime option:"),
      `runtime option: ${RUNTIME_ENVIRONMENT} (set by the wrapper for the runtime alone; not in PROGRAM's environment)`,
    );
    const run = spawnSync("env", ["-i", "PATH=/usr/bin:/bin", "Z=1", wrapper, "exec", "--policy", policy, "--", "/bin/cat", "/proc/self/environ"]);
    assert.equal(run.status, 0, run.stderr.toString());
    assert.equal(run.stdout.toString(), "PATH=/usr/bin:/bin\0Z=1\0");
  });

  test("the executable's layout: entry header, record segment writable but not executable, the old entry still code", () => {
    const file = readFileSync(standaloneExecutable());
    const { entry } = elfHeader(file);
    const headers = programHeaders(file);
    const loads = headers.filter((p) => p.type === PT_LOAD);
    assert.equal(headers.filter((p) => p.type === PT_NOTE).length, 0, "the PT_NOTE became the record's PT_LOAD");
    const text = loads.find((p) => p.vaddr <= entry && entry < p.vaddr + p.memsz)!;
    assert.ok((text.flags & PF_X) !== 0 && (text.flags & PF_W) === 0, "the prelude runs from the read-only executable segment");
    const at = Number(text.offset + entry - text.vaddr) - 16;
    assert.equal(file.readBigUInt64LE(at), HEADER_MAGIC);
    const record = file.readBigUInt64LE(at + 8);
    const segment = loads.find((p) => p.vaddr === record)!;
    assert.ok(segment !== undefined, "the record has a segment of its own");
    assert.equal(segment.flags & PF_X, 0, "the record's segment is not executable");
    assert.ok(segment.offset > 64n * 8n, "it does not map the program headers (Linux would derive AT_PHDR from it)");
    const sorted = [...loads].sort((a, b) => (a.vaddr < b.vaddr ? -1 : 1));
    assert.deepEqual(sorted, loads, "PT_LOAD entries stay in address order");
  });

  test("the patcher refuses a second prelude, a position-independent executable and a non-ELF file", () => {
    const file = readFileSync(standaloneExecutable());
    assert.throws(() => installEntryPrelude(file), /already has an entry prelude/);
    assert.throws(() => installEntryPrelude(readFileSync("/bin/true")), /not a fixed-address executable/);
    assert.throws(() => installEntryPrelude(new TextEncoder().encode("#!/bin/sh\n".padEnd(100))), /not an ELF64/);
  });

  test("the code jumps back to the original entry point (x86_64 rel32, aarch64 b)", () => {
    const placement = { entry: 0x1a40c80n, originalEntry: 0x1a40d00n, record: 0x6c80000n, environ: 0x6a214a0n };
    const x86 = preludeBytes(getArch("x86_64"), placement);
    const jump = x86.subarray(x86.length - 5);
    assert.equal(jump[0], 0xe9);
    const end = placement.entry - 16n + BigInt(x86.length);
    assert.equal(end + BigInt(Buffer.from(jump.subarray(1)).readInt32LE()), placement.originalEntry);
    const arm = preludeBytes(getArch("aarch64"), placement);
    const branch = Buffer.from(arm.subarray(arm.length - 4)).readUInt32LE();
    assert.equal(branch >>> 26, 0b000101, "b imm26");
    const offset = BigInt((branch << 6) >> 6) * 4n; // sign-extend imm26
    assert.equal(placement.entry - 16n + BigInt(arm.length) - 4n + offset, placement.originalEntry);
    assert.throws(() => preludeBytes(getArch("riscv64"), placement), /no entry prelude for riscv64/);
  });

  test("a process started without a prelude (this test runner) reads no start state", () => {
    assert.equal(readStartState(), undefined);
  });
});
