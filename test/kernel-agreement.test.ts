/**
 * Kernel agreement (x86_64 Linux): random filters installed for real in child
 * processes answer real system calls exactly as the interpreter (and the
 * reference evaluator) predicts.
 *
 * Each policy lists syscalls from a pool that is harmless with any arguments;
 * the match action is an errno that no real call returns (4001..4095) and the
 * mismatch action is allow, so one child survives every call and can report
 * them all. Arguments are aimed at the conditions (value ±1, masks, garbage in
 * the high half of dword arguments) and reach the kernel as full 64-bit
 * registers. Fatal verdicts (kill_process on nr −1 and x32 numbers, trap, a
 * matching kill_process rule) each get a child of their own, which must die by
 * SIGSYS after installing.
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { type Action, actionValue, formatAction } from "../src/action.ts";
import { runFilter } from "../src/bpf/interpreter.ts";
import { generateProgram } from "../src/codegen/mod.ts";
import { optimizeProgram } from "../src/optimize/mod.ts";
import { type Filter, validateFilter } from "../src/ir.ts";
import { referenceAction, REFERENCE_AUDIT_ARCH, type SyscallEvent } from "../src/reference.ts";
import { callsArb, filterArb, propertyTimeout, runSettings } from "./support/arbitraries.ts";
import { HARMLESS_X86_64, kernelUnavailable, type KernelResult, runInChild, UNLISTED_X86_64_NUMBERS } from "./support/kernel-harness.ts";
import { skipUnless } from "./support/require.ts";

const skip = skipUnless("kernel", kernelUnavailable(), "kernel agreement");
const X86 = REFERENCE_AUDIT_ARCH.x86_64;
const ALLOW: Action = { kind: "allow" };

/** A harmless-pool policy: mismatch allow, match errno(4001..4095). */
const kernelFilterArb = filterArb({
  arches: ["x86_64"],
  syscallPool: HARMLESS_X86_64,
  maxSyscalls: HARMLESS_X86_64.length,
  actions: fc.integer({ min: 4001, max: 4095 }).map((data) => [ALLOW, { kind: "errno", data }] as const),
});

/** What the kernel did with one call, as an action: errno(E) when the filter answered, else allow. */
function observedAction(result: KernelResult, matchAction: Action): Action {
  if (result.ret === -1n && matchAction.kind === "errno" && result.errno === matchAction.data) return matchAction;
  return ALLOW;
}

function show(call: SyscallEvent): string {
  return `nr ${call.nr} args [${call.args.map((a) => `0x${a.toString(16)}`).join(", ")}]`;
}

describe("kernel agreement (x86_64, real seccomp in child processes)", { skip }, () => {
  test("random policies: kernel verdict == interpreter == reference on every call", { timeout: propertyTimeout(300_000) }, () => {
    const settings = runSettings("kernel-agreement", 0x5ecc_0003, 40);
    const cases = fc.sample(
      kernelFilterArb.chain((filter) =>
        callsArb(filter, { nativeOnly: true, minCalls: 25, maxCalls: 25, extraNumbers: UNLISTED_X86_64_NUMBERS })
          .map((calls) => ({ filter, calls }))
      ),
      { seed: settings.seed, numRuns: settings.numRuns },
    );
    let calls = 0;
    const seen = { match: 0, mismatch: 0 };
    for (const [index, { filter, calls: events }] of cases.entries()) {
      assert.deepEqual(validateFilter(filter), []);
      const program = optimizeProgram(generateProgram(filter));
      const outcome = runInChild(program, events);
      const where = `policy #${index} (seed ${settings.seed}): ${JSON.stringify(filter, (_k, v) => typeof v === "bigint" ? v.toString() : v)}`;
      assert.ok(outcome.installed && outcome.results, `child failed (status ${outcome.status}, signal ${outcome.signal}): ${outcome.stderr}\n${where}`);
      assert.equal(outcome.results.length, events.length);
      events.forEach((call, i) => {
        const predicted = runFilter(program, call, "little").value >>> 0;
        const reference = referenceAction(filter, call);
        assert.equal(predicted, actionValue(reference), `interpreter vs reference, ${show(call)}\n${where}`);
        const observed = observedAction(outcome.results![i], filter.matchAction);
        assert.equal(
          actionValue(observed),
          predicted,
          `kernel did ${formatAction(observed)} (ret ${outcome.results![i].ret}, errno ${outcome.results![i].errno}), ` +
            `interpreter predicted 0x${predicted.toString(16)}, for ${show(call)}\n${where}`,
        );
        if (reference === filter.matchAction) seen.match++;
        else seen.mismatch++;
        calls++;
      });
    }
    console.log(`[kernel-agreement] ${cases.length} policies, ${calls} real calls; ${JSON.stringify(seen)}`);
    assert.equal(calls, settings.numRuns * 25);
    // Both verdicts must be common, or the comparison says little.
    if (settings.checkCoverage) assert.ok(seen.match > calls / 5 && seen.mismatch > calls / 5, JSON.stringify(seen));
  });

  test("fatal verdicts: kill_process kills by SIGSYS, trap skips the call, as predicted", { timeout: propertyTimeout(120_000) }, () => {
    const base: Filter = {
      arch: "x86_64",
      mismatchAction: ALLOW,
      matchAction: { kind: "errno", data: 4001 },
      syscalls: [{ name: "getppid", nr: 110, rules: [] }],
    };
    const killing: Filter = {
      ...base,
      matchAction: { kind: "kill_process" },
      syscalls: [{ name: "getpgid", nr: 121, rules: [{ conditions: [{ index: 0, width: "dword", op: "eq", value: 7n }] }] }],
    };
    const trapping: Filter = { ...killing, matchAction: { kind: "trap" } };
    const probes: [string, Filter, SyscallEvent][] = [
      ["nr -1", base, { arch: X86, nr: -1, args: [] }],
      ["x32 getppid", base, { arch: X86, nr: 110 | 0x4000_0000, args: [] }],
      ["kill_process rule, dword eq under a garbage high half", killing, { arch: X86, nr: 121, args: [0xffff_ffff_0000_0007n] }],
      ["trap rule", trapping, { arch: X86, nr: 121, args: [7n] }],
    ];
    for (const [name, filter, call] of probes) {
      const program = optimizeProgram(generateProgram(filter));
      const expected = referenceAction(filter, call);
      assert.equal(runFilter(program, call).value >>> 0, actionValue(expected), name);
      // A harmless call first: the filter is in, and survivable until the fatal call.
      const outcome = runInChild(program, [{ arch: X86, nr: 39, args: [] }, call]);
      assert.ok(outcome.installed, `${name}: not installed: ${outcome.stderr}`);
      if (expected.kind === "kill_process") {
        assert.equal(outcome.results, undefined, `${name}: child survived`);
        assert.equal(outcome.signal, "SIGSYS", `${name}: status ${outcome.status}, signal ${outcome.signal}`);
      } else {
        assert.equal(expected.kind, "trap", name);
        // SIGSYS is sent and the call skipped with ENOSYS; Bun's runtime catches SIGSYS, so the
        // child may live to report it. Either way getpgid(7) was not run (it would give ESRCH or a pgid).
        if (outcome.results) {
          assert.deepEqual(outcome.results[1], { ret: -1n, errno: 38 }, name);
        } else {
          assert.equal(outcome.signal, "SIGSYS", `${name}: status ${outcome.status}, signal ${outcome.signal}`);
        }
      }
    }
    // Control: one bit away from the rule, the same filter lets the child live and run the call.
    const survived = runInChild(optimizeProgram(generateProgram(killing)), [{ arch: X86, nr: 121, args: [0xffff_ffff_0000_0006n] }]);
    assert.equal(survived.results?.length, 1, survived.stderr);
    assert.notEqual(survived.results![0].errno, 38);
  });
});
