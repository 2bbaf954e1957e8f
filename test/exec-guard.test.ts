/**
 * The exec guard as an attacker sees it, on the real kernel: a target that
 * searches for the launcher's execve addresses the way the single-pointer
 * guard was found (execve(guess, …) under an errno policy, EPERM for a miss)
 * finds nothing in a bounded time, through the wrapper and through the
 * standalone executable. A control run shows that a hit would be noticed.
 */
import { after, describe, test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { getArch, hostArch } from "../src/arch/arch.ts";
import { addressSpaceBits } from "../src/launcher/image.ts";
import { CHILDREN } from "./support/children/spawn.ts";
import { CLI } from "./support/paths.ts";
import { standaloneExecutable } from "./support/standalone.ts";

const arch = getArch(hostArch()!);
const work = mkdtempSync(join(tmpdir(), "seccompiler-guard-test-"));
after(() => rmSync(work, { recursive: true, force: true }));
const GUESSER = join(CHILDREN, "guess-execve.py");
const SECONDS = 3;
/** The real interpreter: a pyenv shim is a bash script, whose own execve the policy would refuse. */
const PYTHON = spawnSync("python3", ["-c", "import os, sys; print(os.path.realpath(sys.executable))"], { encoding: "utf8" })
  .stdout.trim();

/** Everything allowed except execve/execveat, which get errno(1); `extra` rules are added. */
function policy(name: string, extra: unknown[] = []): string {
  const filter = [...arch.syscalls.keys()]
    .filter((s) => s !== "execve" && s !== "execveat")
    .map((syscall) => ({ syscall }));
  const path = join(work, name);
  writeFileSync(path, JSON.stringify({ main: { default_action: { errno: 1 }, filter_action: "allow", filter: [...filter, ...extra] } }));
  return path;
}

const launchers: [string, () => string[]][] = [
  ["wrapper", () => [CLI, "exec"]],
  ["standalone executable", () => [standaloneExecutable(), "exec"]],
];

describe("exec guard: a blind search finds nothing", () => {
  const plain = policy("errno-exec.json");
  // Control: execve with exactly this path pointer is allowed by the policy itself.
  const hint = 0x3a5_5a5a_6000n;
  const control = policy("control.json", [{ syscall: "execve", args: [{ index: 0, type: "qword", op: "eq", val: Number(hint) }] }]);
  const execve = String(arch.syscalls.get("execve"));

  for (const [name, command] of launchers) {
    test(`${name}: ${SECONDS} s of guessing under an errno policy: no guess passes the guard`, { timeout: 120_000 }, () => {
      const [bin, ...args] = command();
      const run = spawnSync(bin, [...args, "--policy", plain, "--", PYTHON, GUESSER, execve, String(SECONDS)], {
        encoding: "utf8",
        cwd: work,
        timeout: 60_000,
      });
      assert.equal(run.status, 0, run.stderr);
      const report = JSON.parse(run.stdout);
      assert.ok(report.tries > 10_000, `only ${report.tries} guesses`);
      assert.deepEqual(report.hits, [], "a guess got something other than EPERM");
    });

    test(`${name}: control: the same search notices a pointer the policy lets through`, { timeout: 60_000 }, () => {
      const [bin, ...args] = command();
      const run = spawnSync(bin, [...args, "--policy", control, "--", PYTHON, GUESSER, execve, "0", hint.toString(16)], {
        encoding: "utf8",
        cwd: work,
        timeout: 60_000,
      });
      assert.equal(run.status, 0, run.stderr);
      const report = JSON.parse(run.stdout);
      assert.deepEqual(report.hits[0], [`0x${hint.toString(16)}`, "0x0", "0x0", 14], "EFAULT: allowed, but not mapped in the target");
    });
  }

  test("the addresses span the whole user address space", { timeout: 60_000 }, () => {
    const bits = addressSpaceBits();
    assert.ok(bits >= 39 && bits <= 57, `${bits} bits`);
    // The launcher takes the bits from the stack address in the auxiliary vector; the top of the
    // highest user mapping in /proc/self/maps must give the same.
    let top = 0n;
    for (const line of readFileSync("/proc/self/maps", "latin1").split("\n")) {
      const end = line.split(" ")[0]?.split("-")[1];
      if (end && BigInt(`0x${end}`) < 1n << 63n && BigInt(`0x${end}`) > top) top = BigInt(`0x${end}`);
    }
    assert.equal(bits, (top - 1n).toString(2).length, "bits from auxv == bits from /proc/self/maps");
    const seen: bigint[] = [];
    for (let i = 0; i < 8; i++) {
      const run = spawnSync(CLI, ["exec", "--policy", plain, "--dry-run", "--", "true"], { encoding: "utf8", cwd: work });
      assert.equal(run.status, 0, run.stderr);
      const match = /execve\((0x[0-9a-f]+), (0x[0-9a-f]+), (0x[0-9a-f]+)\)/.exec(run.stdout);
      assert.ok(match, run.stdout);
      seen.push(...match.slice(1).map((hex) => BigInt(hex)));
    }
    assert.equal(new Set(seen).size, seen.length, "24 distinct addresses");
    // 24 uniform draws over 2^bits: all below 2^(bits-4) has probability 2^-96.
    assert.ok(seen.some((a) => a >= 1n << BigInt(bits - 4)), "some address in the top sixteenth");
    assert.ok(seen.every((a) => a < 1n << BigInt(bits)));
  });
});
