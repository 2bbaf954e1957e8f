// deno-facing
/**
 * Every Firecracker policy compiles for its arch, and the compiled programs
 * mean what the JSON says: for each rule a call that satisfies it gets the
 * match action; unlisted syscalls, the wrong arch and x32 numbers get what
 * they should.
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { actionValue } from "../src/action.ts";
import { type ArchName, getArch, X32_SYSCALL_BIT } from "../src/arch/arch.ts";
import { runFilter } from "../src/bpf/interpreter.ts";
import { validateProgram } from "../src/bpf/validate.ts";
import { compilePolicy } from "../src/compile.ts";
import type { Condition, Rule } from "../src/ir.ts";
import { conditionHolds } from "../src/reference.ts";
import { CORPUS, HAVE_CORPUS } from "./support/paths.ts";
import { skipUnless } from "./support/require.ts";

const FILES: [string, ArchName][] = [
  ["x86_64-unknown-linux-musl.json", "x86_64"],
  ["aarch64-unknown-linux-musl.json", "aarch64"],
  ["v1.10.1/x86_64-unknown-linux-musl.json", "x86_64"],
  ["v1.10.1/aarch64-unknown-linux-musl.json", "aarch64"],
  ["unimplemented.json", "x86_64"],
  ["unimplemented.json", "aarch64"],
];

/** Candidate values for one argument, from the conditions that test it. */
function candidates(conditions: readonly Condition[]): bigint[] {
  const out = new Set<bigint>([0n, 1n, 0xffffffffn, 0xffffffffffffffffn]);
  for (const c of conditions) {
    for (const base of [c.value, c.mask !== undefined ? c.value & c.mask : c.value]) {
      for (const delta of [-1n, 0n, 1n]) {
        const v = base + delta;
        if (v >= 0n && v <= 0xffffffffffffffffn) out.add(v);
      }
    }
  }
  return [...out];
}

/** Arguments that satisfy every condition of `rule` (found by search over candidates). */
function satisfyingArgs(rule: Rule): bigint[] {
  const args = [0n, 0n, 0n, 0n, 0n, 0n];
  for (let index = 0; index < 6; index++) {
    const onIndex = rule.conditions.filter((c) => c.index === index);
    if (onIndex.length === 0) continue;
    const found = candidates(onIndex).find((arg) => onIndex.every((c) => conditionHolds(c, arg)));
    assert.notEqual(found, undefined, `no satisfying value for index ${index}`);
    args[index] = found!;
  }
  return args;
}

/** Arguments that violate `condition` while keeping the others as `base`. */
function violatingArgs(rule: Rule, which: number, base: bigint[]): bigint[] | undefined {
  const c = rule.conditions[which];
  const args = [...base];
  const bad = candidates([c]).find((arg) => !conditionHolds(c, arg));
  if (bad === undefined) return undefined;
  args[c.index] = bad;
  return args;
}

describe("Firecracker corpus", { skip: skipUnless("corpus", !HAVE_CORPUS && `corpus absent (${CORPUS})`, "Firecracker corpus") }, () => {
  for (const [file, archName] of FILES) {
    test(`${file} for ${archName}`, () => {
      const arch = getArch(archName);
      const text = readFileSync(join(CORPUS, file), "utf8");
      const { programs, filters } = compilePolicy(text, archName, { file });
      assert.deepEqual([...programs.keys()], ["api", "vcpu", "vmm"]);
      let checkedRules = 0;
      for (const [thread, program] of programs) {
        assert.deepEqual(validateProgram(program), [], `${thread} validates`);
        const filter = filters.get(thread)!;
        const match = actionValue(filter.matchAction);
        const mismatch = actionValue(filter.mismatchAction);
        const verdict = (nr: number, args: bigint[], auditArch = arch.auditArch) =>
          runFilter(program, { nr, arch: auditArch, args }, arch.endian).value;
        const listed = new Set(filter.syscalls.map((s) => s.nr));
        for (const syscall of filter.syscalls) {
          if (syscall.rules.length === 0) {
            assert.equal(verdict(syscall.nr, [7n, 7n, 7n, 7n, 7n, 7n]), match, `${thread} ${syscall.name}`);
            continue;
          }
          for (const rule of syscall.rules) {
            const args = satisfyingArgs(rule);
            assert.equal(verdict(syscall.nr, args), match, `${thread} ${syscall.name} ${JSON.stringify(args.map(String))}`);
            checkedRules++;
            // Breaking one condition must not match unless another rule of the same syscall accepts the call.
            for (let which = 0; which < rule.conditions.length; which++) {
              const bad = violatingArgs(rule, which, args);
              if (!bad) continue;
              const otherRuleMatches = syscall.rules.some((r) =>
                r.conditions.every((c) => conditionHolds(c, bad[c.index]))
              );
              assert.equal(verdict(syscall.nr, bad), otherRuleMatches ? match : mismatch, `${thread} ${syscall.name} broken cond ${which}`);
            }
          }
        }
        // Unlisted syscalls, including numbers past the table, get the mismatch action.
        const maxNr = Math.max(...arch.names.keys());
        for (let nr = 0; nr <= maxNr + 10; nr++) {
          if (!listed.has(nr)) assert.equal(verdict(nr, [0n]), mismatch, `${thread} unlisted ${nr}`);
        }
        // The wrong arch is killed, whatever the syscall.
        for (const other of [0x40000003, 0xc00000b7, 0xc000003e, 0x80000016]) {
          if (other === arch.auditArch) continue;
          for (const nr of [...listed].slice(0, 5)) assert.equal(verdict(nr, [0n], other), 0x80000000, `${thread} arch 0x${other.toString(16)}`);
        }
        // x32 numbers on x86_64 are killed, even for syscalls the filter allows.
        if (arch.hasX32) {
          for (const nr of [...listed].slice(0, 10)) assert.equal(verdict(nr | X32_SYSCALL_BIT, [0n]), 0x80000000);
          assert.equal(verdict(0x40000208, [0n]), 0x80000000); // x32 execve
        }
      }
      if (!file.startsWith("unimplemented")) assert.ok(checkedRules > 20, `checked ${checkedRules} conditional rules`);
    });
  }
});
