/**
 * Differential tests: for random filters on every architecture (big-endian
 * s390x included), the generated program, run in the interpreter, returns
 * exactly what the reference evaluator says the filter means — on random
 * calls and on boundary calls aimed at every condition.
 *
 * Seeded: the seed is printed; replay a failure with SECCOMPILER_SEED (and
 * SECCOMPILER_PATH as printed by fast-check). SECCOMPILER_CASES scales the run.
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { type Action, actionValue, formatAction } from "../src/action.ts";
import { ARCH_NAMES, getArch } from "../src/arch/arch.ts";
import { BPF, type Instruction, type Program } from "../src/bpf/insn.ts";
import { runFilter } from "../src/bpf/interpreter.ts";
import { validateProgram } from "../src/bpf/validate.ts";
import { generateProgram } from "../src/codegen/mod.ts";
import { optimizeProgram } from "../src/optimize/mod.ts";
import { ALLOW, condition, errno, type Filter, rule, seccompFilter } from "../src/ir.ts";
import { conditionHolds, referenceAction, REFERENCE_AUDIT_ARCH, type SyscallEvent } from "../src/reference.ts";
import { filterCaseArb, policyText, propertyTimeout, runSettings } from "./support/arbitraries.ts";
import { compileFromJson } from "../src/compile.ts";

const X86 = REFERENCE_AUDIT_ARCH.x86_64;

/** Interpreter verdict vs reference verdict for one call; a readable message when they differ. */
function disagreement(filter: Filter, program: Program, call: SyscallEvent): string | undefined {
  const expected = referenceAction(filter, call);
  const got = runFilter(program, call, getArch(filter.arch).endian).value >>> 0;
  if (got === actionValue(expected)) return undefined;
  return `${filter.arch}: call ${describeCall(call)} → program returned 0x${got.toString(16)}, ` +
    `reference says ${formatAction(expected)} (0x${actionValue(expected).toString(16)})`;
}

function describeCall(call: SyscallEvent): string {
  return `{arch: 0x${(call.arch >>> 0).toString(16)}, nr: ${call.nr}, args: [${call.args.map((a) => `0x${a.toString(16)}`).join(", ")}]}`;
}


/** The example of docs/policy-format.md, §10: read unconditional; write(1, …) or write(2, …, ≤ 4096); errno(1) otherwise. */
function exampleTwo() {
  return seccompFilter({
    arch: "x86_64",
    mismatchAction: errno(1),
    matchAction: ALLOW,
    rules: {
      read: [],
      write: [rule(condition(0, "dword", "eq", 1)), rule(condition(0, "dword", "eq", 2), condition(2, "qword", "le", 4096))],
    },
  });
}

describe("reference evaluator", () => {
  test("conditions are unsigned, dword ignores the high half, masked_eq masks both sides", () => {
    const c = (width: "dword" | "qword", op: Parameters<typeof condition>[2], value: bigint, mask?: bigint) =>
      condition(0, width, op, value, mask === undefined ? {} : { mask });
    assert.equal(conditionHolds(c("dword", "eq", 1n), 0xdead_beef_0000_0001n), true);
    assert.equal(conditionHolds(c("qword", "eq", 1n), 0xdead_beef_0000_0001n), false);
    assert.equal(conditionHolds(c("dword", "gt", 5n), 0x1_0000_0003n), false);
    assert.equal(conditionHolds(c("qword", "gt", 5n), 0x1_0000_0003n), true);
    assert.equal(conditionHolds(c("qword", "lt", 1n << 63n), (1n << 63n) - 1n), true); // unsigned: no sign bit
    assert.equal(conditionHolds(c("qword", "ge", (1n << 64n) - 1n), (1n << 64n) - 1n), true);
    assert.equal(conditionHolds(c("dword", "le", 0xffff_ffffn), 0xffff_ffff_ffff_ffffn), true);
    assert.equal(conditionHolds(c("dword", "ne", 0n), 0x1_0000_0000n), false);
    assert.equal(conditionHolds(c("qword", "masked_eq", 0b1010n, 0b0110n), 0b0011n), true); // 0b0010 == 0b0010
    assert.equal(conditionHolds(c("qword", "masked_eq", 0b1010n, 0b0110n), 0b0001n), false);
    assert.equal(conditionHolds(c("dword", "masked_eq", 0n, 4n), 0xffff_ffff_0000_0003n), true); // no PROT_EXEC
    assert.equal(conditionHolds(c("dword", "masked_eq", 0n, 4n), 7n), false);
  });

  test("filter semantics: arch, x32, rules OR, conditions AND, unconditional, unlisted", () => {
    const filter = exampleTwo();
    const at = (nr: number, args: bigint[] = [], arch = X86): Action => referenceAction(filter, { arch, nr, args });
    assert.deepEqual(at(0), ALLOW);
    assert.deepEqual(at(1, [1n]), ALLOW);
    assert.deepEqual(at(1, [2n, 0n, 4096n]), ALLOW);
    assert.deepEqual(at(1, [2n, 0n, 4097n]), errno(1));
    assert.deepEqual(at(1, [3n]), errno(1));
    assert.deepEqual(at(39), errno(1));
    assert.deepEqual(at(0, [], REFERENCE_AUDIT_ARCH.aarch64), { kind: "kill_process" });
    assert.deepEqual(at(0 | 0x4000_0000), { kind: "kill_process" });
    assert.deepEqual(at(-1), { kind: "kill_process" }); // 0xffffffff has the x32 bit
    assert.deepEqual(referenceAction({ ...filter, arch: "aarch64", syscalls: [] }, { arch: REFERENCE_AUDIT_ARCH.aarch64, nr: -1, args: [] }), errno(1));
  });

  test("audit tokens match the kernel headers", () => {
    for (const name of ARCH_NAMES) assert.equal(REFERENCE_AUDIT_ARCH[name], getArch(name).auditArch, name);
  });

  test("agrees with rust-vmm's own output for the docs/policy-format.md example", () => {
    // The program rust-vmm emits for that example (docs/policy-format.md, §10), transcribed by hand:
    // a second, independent implementation. It has no x32 guard, so x32 numbers are left out.
    const rows: [number, number, number, number][] = [
      [0x20, 0, 0, 4], [0x15, 1, 0, 0xc000003e], [0x06, 0, 0, 0x80000000], [0x20, 0, 0, 0], [0x15, 0, 1, 0],
      [0x05, 0, 0, 1], [0x05, 0, 0, 2], [0x06, 0, 0, 0x7fff0000], [0x06, 0, 0, 0x00050001], [0x15, 0, 1, 1],
      [0x05, 0, 0, 1], [0x05, 0, 0, 4], [0x20, 0, 0, 0x10], [0x15, 0, 1, 1], [0x06, 0, 0, 0x7fff0000],
      [0x05, 0, 0, 1], [0x05, 0, 0, 9], [0x20, 0, 0, 0x24], [0x25, 6, 0, 0], [0x15, 0, 2, 0], [0x20, 0, 0, 0x20],
      [0x25, 3, 0, 0x1000], [0x20, 0, 0, 0x10], [0x15, 0, 1, 2], [0x06, 0, 0, 0x7fff0000], [0x06, 0, 0, 0x00050001],
      [0x06, 0, 0, 0x00050001],
    ];
    const rustVmm: Program = rows.map(([code, jt, jf, k]): Instruction => ({ code, jt, jf, k }));
    const filter = exampleTwo();
    const ours = generateProgram(filter);
    const argValues = [0n, 1n, 2n, 3n, 4095n, 4096n, 4097n, 1n << 32n, (1n << 32n) | 2n, (1n << 64n) - 1n];
    let compared = 0;
    for (const nr of [0, 1, 2, 39, 1000]) {
      for (const a0 of argValues) {
        for (const a2 of argValues) {
          const call = { arch: X86, nr, args: [a0, 0n, a2] };
          const expected = actionValue(referenceAction(filter, call));
          assert.equal(runFilter(rustVmm, call).value >>> 0, expected, `rust-vmm ${describeCall(call)}`);
          assert.equal(runFilter(ours, call).value >>> 0, expected, `ours ${describeCall(call)}`);
          compared++;
        }
      }
    }
    assert.equal(compared, 500);
  });
});

describe("interpreter reads seccomp_data as the kernel lays it out", () => {
  // docs/kernel-seccomp.md, §1: args[i] low word at 16+8i on little-endian, high word there on big-endian.
  // This anchors the interpreter independently of the code generator, so a swapped half cannot
  // cancel out between the two.
  const probe = (offset: number, expected: number): Program => [
    { code: BPF.LD | BPF.W | BPF.ABS, jt: 0, jf: 0, k: offset },
    { code: BPF.JMP | BPF.JEQ | BPF.K, jt: 0, jf: 1, k: expected },
    { code: BPF.RET | BPF.K, jt: 0, jf: 0, k: 1 },
    { code: BPF.RET | BPF.K, jt: 0, jf: 0, k: 2 },
  ];
  const args = [0x1111_1111_2222_2222n, 0, 0, 0, 0, 0x5555_5555_6666_6666n].map(BigInt);
  const data = { nr: -1, arch: 0x8000_0016, args };
  test("little-endian", () => {
    assert.equal(runFilter(probe(16, 0x2222_2222), data, "little").value, 1);
    assert.equal(runFilter(probe(20, 0x1111_1111), data, "little").value, 1);
    assert.equal(runFilter(probe(56, 0x6666_6666), data, "little").value, 1);
    assert.equal(runFilter(probe(60, 0x5555_5555), data, "little").value, 1);
  });
  test("big-endian", () => {
    assert.equal(runFilter(probe(16, 0x1111_1111), data, "big").value, 1);
    assert.equal(runFilter(probe(20, 0x2222_2222), data, "big").value, 1);
    assert.equal(runFilter(probe(56, 0x5555_5555), data, "big").value, 1);
    assert.equal(runFilter(probe(60, 0x6666_6666), data, "big").value, 1);
  });
  test("nr and arch", () => {
    assert.equal(runFilter(probe(0, 0xffff_ffff), data, "big").value, 1);
    assert.equal(runFilter(probe(4, 0x8000_0016), data, "big").value, 1);
  });
});

describe("generated programs mean what the reference says", () => {
  test("random filters on every arch, random and boundary calls", { timeout: propertyTimeout(300_000) }, () => {
    const settings = runSettings("differential", 0x5ecc_0001, 3_000);
    const seenArch = new Map<string, number>();
    const verdicts = { match: 0, mismatch: 0, kill: 0 };
    let calls = 0;
    let shortened = 0;
    fc.assert(
      fc.property(filterCaseArb(), ({ filter, calls: events }) => {
        // Both what the code generator emits and what the optimizer makes of it must mean the policy.
        const generated = generateProgram(filter);
        const optimized = optimizeProgram(generated);
        for (const program of [generated, optimized]) {
          const issues = validateProgram(program);
          if (issues.length > 0) throw new Error(`invalid program for ${filter.arch}: ${JSON.stringify(issues[0])}`);
        }
        if (optimized.length < generated.length) shortened++;
        seenArch.set(filter.arch, (seenArch.get(filter.arch) ?? 0) + 1);
        for (const call of events) {
          const problem = disagreement(filter, generated, call) ?? disagreement(filter, optimized, call);
          if (problem) throw new Error(problem);
          const verdict = referenceAction(filter, call);
          if (verdict === filter.matchAction) verdicts.match++;
          else if (verdict === filter.mismatchAction) verdicts.mismatch++;
          else verdicts.kill++;
          calls++;
        }
      }),
      settings,
    );
    console.log(`[differential] ${settings.numRuns} filters (${shortened} shortened by the optimizer), ${calls} calls; verdicts ${JSON.stringify(verdicts)}; ` +
      `per arch ${JSON.stringify(Object.fromEntries(seenArch))}`);
    // Not vacuous: every arch drawn, and each kind of verdict common.
    if (settings.checkCoverage) {
      for (const arch of ARCH_NAMES) assert.ok((seenArch.get(arch) ?? 0) >= settings.numRuns / 20, `${arch} under-sampled`);
      assert.ok(verdicts.match > calls / 5 && verdicts.mismatch > calls / 5 && verdicts.kill > calls / 50, JSON.stringify(verdicts));
    }
  });
});

describe("the JSON front end preserves meaning", () => {
  test("random filters printed as policy text, compiled, mean what the reference says of the original", { timeout: propertyTimeout(300_000) }, () => {
    // Values go through the text as exact decimal integers up to 2^64−1: a front end that read
    // them as doubles, or truncated a width, would change the meaning here.
    const settings = runSettings("differential-json", 0x5ecc_0002, 1_000);
    let calls = 0;
    fc.assert(
      fc.property(filterCaseArb({ maxSyscalls: 60 }), ({ filter, calls: events }) => {
        const text = policyText(filter, "main");
        const program = compileFromJson(text, filter.arch).get("main");
        if (!program) throw new Error("thread main missing");
        for (const call of events) {
          const problem = disagreement(filter, program, call);
          if (problem) throw new Error(`${problem}\npolicy: ${text}`);
          calls++;
        }
      }),
      settings,
    );
    console.log(`[differential-json] ${settings.numRuns} policies, ${calls} calls`);
    if (settings.checkCoverage) assert.ok(calls >= settings.numRuns);
  });
});
