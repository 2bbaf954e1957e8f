/**
 * The 4096-instruction limit, for real: a policy that compiles to exactly
 * 4096 instructions is accepted by seccompiler and by the kernel (installed
 * in a child, and its last rule still answers); one that compiles to 4097 is
 * refused by seccompiler with the thread's name and the count (library and
 * CLI), and the kernel refuses a 4097-instruction program too. Policies on
 * either side of the limit compile or fail cleanly.
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { actionValue } from "../src/action.ts";
import { getArch } from "../src/arch/arch.ts";
import { BPF_MAXINSNS, type Program } from "../src/bpf/insn.ts";
import { runFilter } from "../src/bpf/interpreter.ts";
import { validateProgram } from "../src/bpf/validate.ts";
import { compileFromJson } from "../src/compile.ts";
import { PolicyError } from "../src/diagnostics.ts";
import type { Filter } from "../src/ir.ts";
import { referenceAction } from "../src/reference.ts";
import { policyText } from "./support/arbitraries.ts";
import { HARMLESS_X86_64, kernelUnavailable, runInChild } from "./support/kernel-harness.ts";
import { CLI } from "./support/paths.ts";

const X86 = getArch("x86_64");
const THREAD = "big_thread";

/**
 * A policy for thread {@link THREAD}: getppid with `rules` rules (arg0 == 2i: values with gaps
 * between them, so the compiler cannot merge them into one range), plus `extra`
 * unconditional syscalls. Every syscall is harmless with any arguments, so the
 * kernel test's child survives; the match action is errno(4001).
 */
function bigFilter(rules: number, extra: number): Filter {
  const others = HARMLESS_X86_64.filter((n) => n !== "getppid").slice(0, extra);
  if (others.length < extra) throw new Error(`only ${others.length} extra syscalls available`);
  const syscalls = [
    { name: "getppid", nr: X86.syscalls.get("getppid")!, rules: Array.from({ length: rules }, (_, i) => ({
      conditions: [{ index: 0 as const, width: "dword" as const, op: "eq" as const, value: BigInt(2 * i) }],
    })) },
    ...others.map((name) => ({ name, nr: X86.syscalls.get(name)!, rules: [] })),
  ].sort((a, b) => a.nr - b.nr);
  return { arch: "x86_64", mismatchAction: { kind: "allow" }, matchAction: { kind: "errno", data: 4001 }, syscalls };
}

/** Compiles through the JSON front end; the length, or the PolicyError. */
function compileLength(filter: Filter): { program?: Program; error?: PolicyError } {
  try {
    return { program: compileFromJson(policyText(filter, THREAD), "x86_64").get(THREAD)! };
  } catch (error) {
    if (error instanceof PolicyError) return { error };
    throw error;
  }
}

/** Unchecked length (the compiler refuses over-long programs, so measure with the limit lifted). @private */
function rawLength(filter: Filter): number {
  const result = compileLength(filter);
  if (result.program) return result.program.length;
  const match = /compiles to (\d+) instructions/.exec(result.error!.message);
  if (!match) throw result.error!;
  return Number(match[1]);
}

/** Finds (rules, extra) whose program is exactly `target` instructions long. */
function policyOfLength(target: number): Filter {
  // The most rules that stay just under the target, by bisection (length grows with the rule count,
  // but not by a fixed step: values are found by a search tree), then unconditional syscalls one by one.
  let low = 1;
  let high = target;
  while (low < high) {
    const middle = Math.ceil((low + high) / 2);
    if (rawLength(bigFilter(middle, 0)) <= target - 2) low = middle;
    else high = middle - 1;
  }
  for (let r = low + 3; r > Math.max(0, low - 12); r--) {
    for (let extra = 0; extra <= 12; extra++) {
      const length = rawLength(bigFilter(r, extra));
      if (length === target) return bigFilter(r, extra);
      if (length > target) break;
    }
  }
  throw new Error(`no policy of exactly ${target} instructions found (the layout changed?)`);
}

describe("the 4096-instruction limit", () => {
  // Found on first use, inside a test, so a layout change fails a test instead of the file.
  let found: { exact: Filter; over: Filter } | undefined;
  const limitPolicies = () => (found ??= { exact: policyOfLength(BPF_MAXINSNS), over: policyOfLength(BPF_MAXINSNS + 1) });

  test("exactly 4096 instructions: accepted, valid, and right at the far end", () => {
    const { exact } = limitPolicies();
    const { program, error } = compileLength(exact);
    assert.equal(error, undefined, error?.message);
    assert.equal(program!.length, 4096);
    assert.deepEqual(validateProgram(program!), []);
    const last = exact.syscalls.find((s) => s.name === "getppid")!.rules.length - 1;
    for (const arg of [0, 2 * last, 2 * last + 1]) { // rule i tests arg0 == 2i
      const call = { arch: X86.auditArch, nr: X86.syscalls.get("getppid")!, args: [BigInt(arg)] };
      assert.equal(runFilter(program!, call).value >>> 0, actionValue(referenceAction(exact, call)), `arg ${arg}`);
    }
  });

  test("4097 instructions: refused with the thread name and the count", () => {
    const { over } = limitPolicies();
    const { error } = compileLength(over);
    assert.ok(error, "a 4097-instruction program was accepted");
    const tooLong = error.diagnostics.find((d) => d.code === "program-too-long");
    assert.ok(tooLong, JSON.stringify(error.diagnostics));
    assert.match(tooLong.message, new RegExp(`"${THREAD}".*4097`));
    assert.ok(tooLong.position, "no position for the thread");
  });

  test("the CLI refuses 4097 with exit 1 and the same message, and writes 4096", () => {
    const { exact, over } = limitPolicies();
    const dir = mkdtempSync(join(tmpdir(), "seccompiler-limits-"));
    try {
      writeFileSync(join(dir, "over.json"), policyText(over, THREAD));
      writeFileSync(join(dir, "exact.json"), policyText(exact, THREAD));
      const refused = spawnSync(CLI, ["--target-arch", "x86_64", "--input-file", "over.json", "--output-file", "o.bpf"], { cwd: dir, encoding: "utf8" });
      assert.equal(refused.status, 1, refused.stderr);
      assert.match(refused.stderr, new RegExp(`${THREAD}.*4097`));
      const accepted = spawnSync(CLI, ["--target-arch", "x86_64", "--input-file", "exact.json", "--output-file", "e.bpf"], { cwd: dir, encoding: "utf8" });
      assert.equal(accepted.status, 0, accepted.stderr);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test("policies around the limit compile or fail cleanly", () => {
    const base = policyOfLength(BPF_MAXINSNS - 20);
    const rules = base.syscalls.find((s) => s.name === "getppid")!.rules.length;
    let accepted = 0;
    let refused = 0;
    for (let r = rules; r <= rules + 14; r++) {
      for (const extra of [0, 3, 7]) {
        const filter = bigFilter(r, extra);
        const { program, error } = compileLength(filter);
        if (program) {
          assert.ok(program.length <= BPF_MAXINSNS);
          assert.deepEqual(validateProgram(program), []);
          accepted++;
        } else {
          assert.ok(error!.diagnostics.every((d) => d.code === "program-too-long" && d.position), error!.message);
          assert.match(error!.message, new RegExp(`"${THREAD}" compiles to (409[7-9]|41\\d\\d) instructions`));
          refused++;
        }
      }
    }
    assert.ok(accepted > 0 && refused > 0, `accepted ${accepted}, refused ${refused}`);
  });

  test("the kernel accepts the 4096-instruction program and refuses 4097", { skip: kernelUnavailable() }, () => {
    const { exact } = limitPolicies();
    const program = compileLength(exact).program!;
    const getppid = X86.syscalls.get("getppid")!;
    const last = exact.syscalls.find((s) => s.name === "getppid")!.rules.length - 1;
    const outcome = runInChild(program, [
      { arch: X86.auditArch, nr: getppid, args: [BigInt(2 * last)] }, // rule i tests arg0 == 2i
      { arch: X86.auditArch, nr: getppid, args: [BigInt(2 * last + 1)] },
    ]);
    assert.ok(outcome.installed && outcome.results, `not installed: ${outcome.stderr}`);
    assert.deepEqual(outcome.results[0], { ret: -1n, errno: 4001 }); // the last rule, at the far end, still answers
    assert.ok(outcome.results[1].ret > 0n, "getppid was not allowed");
    // 4097: one harmless instruction in front (it loads nr, and the program reloads what it needs).
    const longer: Program = [{ code: 0x20, jt: 0, jf: 0, k: 0 }, ...program];
    const refused = runInChild(longer, [{ arch: X86.auditArch, nr: getppid, args: [] }]);
    assert.equal(refused.installed, false);
    assert.equal(refused.status, 4, refused.stderr);
    assert.match(refused.stderr, /errno 22/);
  });
});
