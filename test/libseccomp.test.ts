/**
 * Cross-check with libseccomp (Debian's python3-seccomp; `.ci/run` installs
 * it, and the suite is skipped when it is missing).
 *
 * Every corpus policy — and a batch of random ones — is compiled twice: by
 * seccompiler, and by libseccomp through scripts/libseccomp_eval.py using
 * Firecracker v1.11+'s translation of the JSON format. Both programs run in the
 * interpreter on the same workload, and must return the same value on every
 * call where the two tools' semantics coincide:
 *
 * | seccompiler (native semantics)        | libseccomp                               | compared when |
 * |---------------------------------------|------------------------------------------|---------------|
 * | dword lt/le/gt/ge/ne: low 32 bits     | 64-bit comparison                        | the argument's high half is 0 |
 * | masked_eq: (arg & M) == (V & M)       | (arg & M) == V (V not masked)            | V has no bits outside M (filter level) |
 * | same index twice in a rule: AND       | refused                                  | never (filter level) |
 * | x86_64 nr −1: kill_process (x32 guard)| default action                           | nr ≠ −1 |
 * | loongarch64                           | unknown to libseccomp 2.5                | never |
 *
 * dword eq (masked with 0xffffffff by Firecracker's translation), qword
 * comparisons, foreign arches and x32 numbers (kill_process on both sides)
 * are compared everywhere.
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import fc from "fast-check";
import { actionValue, formatAction } from "../src/action.ts";
import { type ArchName, getArch } from "../src/arch/arch.ts";
import type { Instruction, Program } from "../src/bpf/insn.ts";
import { runFilter } from "../src/bpf/interpreter.ts";
import { generateProgram } from "../src/codegen/mod.ts";
import { optimizeProgram } from "../src/optimize/mod.ts";
import { compilePolicy } from "../src/compile.ts";
import type { Filter } from "../src/ir.ts";
import type { SyscallEvent } from "../src/reference.ts";
import { actionPairArb, callsArb, filterArb, filterToJson, propertyTimeout, runSettings, u64Arb } from "./support/arbitraries.ts";
import { CORPUS, HAVE_CORPUS } from "./support/paths.ts";
import { skipUnless } from "./support/require.ts";

const HELPER = fileURLToPath(new URL("../scripts/libseccomp_eval.py", import.meta.url));
const EXAMPLES = fileURLToPath(new URL("../policies/", import.meta.url));
/** Arches libseccomp 2.5 knows among ours. */
const LIBSECCOMP_ARCHES: readonly ArchName[] = ["x86_64", "aarch64", "riscv64", "ppc64le", "s390x"];

/** A python3 that can `import seccomp` (Debian's lives in /usr/bin, which a pyenv shim may shadow). */
function findPython(): string | undefined {
  for (const candidate of ["/usr/bin/python3", "python3"]) {
    const probe = spawnSync(candidate, ["-c", "import seccomp"], { encoding: "utf8" });
    if (probe.status === 0) return candidate;
  }
  return undefined;
}

const python = findPython();
const skip = skipUnless(
  "libseccomp",
  !python && "python3-seccomp is not installed (apt-get install python3-seccomp)",
  "libseccomp cross-check",
);

// The helper answers JSON whose shape depends on the request; callers read the fields they asked for.
// deno-lint-ignore no-explicit-any
function helper(request: unknown): any {
  const run = spawnSync(python!, [HELPER], { input: JSON.stringify(request), encoding: "utf8", maxBuffer: 1 << 28 });
  if (run.status !== 0) throw new Error(`libseccomp helper failed: ${run.stderr}`);
  return JSON.parse(run.stdout);
}

/** libseccomp's programs (raw sock_filter arrays), by filter name; an error message where it refused. */
function libseccompPrograms(arch: ArchName, filters: Map<string, Filter>, timeoutSeconds?: number): Map<string, Program | string> {
  const answer = helper({
    arch,
    timeoutSeconds,
    filters: [...filters].map(([name, filter]) => ({ name, ...(filterToJson(filter) as object) })),
  });
  const out = new Map<string, Program | string>();
  for (const [name, result] of Object.entries(answer.filters as Record<string, { bpf?: string; error?: string }>)) {
    if (result.error !== undefined) {
      out.set(name, result.error);
      continue;
    }
    // libseccomp writes the program in the target's byte order (what that kernel loads).
    const little = getArch(arch).endian === "little";
    const bytes = Uint8Array.from(atob(result.bpf!), (c) => c.charCodeAt(0));
    const view = new DataView(bytes.buffer);
    const program: Instruction[] = [];
    for (let at = 0; at < bytes.length; at += 8) {
      program.push({ code: view.getUint16(at, little), jt: bytes[at + 2], jf: bytes[at + 3], k: view.getUint32(at + 4, little) });
    }
    out.set(name, program);
  }
  return out;
}

/** Whether libseccomp can express the filter with our meaning (see the table above). */
function filterComparable(filter: Filter): boolean {
  return filter.syscalls.every((s) =>
    s.rules.every((r) => {
      const indexes = r.conditions.map((c) => c.index);
      if (new Set(indexes).size !== indexes.length) return false;
      return r.conditions.every((c) => c.op !== "masked_eq" || (c.value & ~(c.mask ?? 0n)) === 0n);
    })
  );
}

/** Whether both tools mean the same thing for this call (see the table above). */
function callComparable(filter: Filter, call: SyscallEvent): boolean {
  if (filter.arch === "x86_64" && call.nr >>> 0 === 0xffff_ffff) return false;
  const syscall = filter.syscalls.find((s) => s.nr === call.nr >>> 0);
  if (!syscall) return true;
  return syscall.rules.every((r) =>
    r.conditions.every((c) =>
      c.width === "qword" || c.op === "eq" || c.op === "masked_eq" || ((call.args[c.index] ?? 0n) >> 32n) === 0n
    )
  );
}

/** Whether every `ret` of a libseccomp program returns the filter's match or mismatch action, or kill_process. */
function returnsOnlyItsActions(program: Program, filter: Filter): boolean {
  const allowed = new Set([actionValue(filter.matchAction), actionValue(filter.mismatchAction), 0x8000_0000]);
  return program.every((insn) => insn.code !== 0x06 || allowed.has(insn.k >>> 0));
}

/** Each rule of each syscall as a filter of its own, named `nr:rule`. */
function singleRuleFilters(filter: Filter): Map<string, Filter> {
  const out = new Map<string, Filter>();
  for (const syscall of filter.syscalls) {
    syscall.rules.forEach((rule, r) => out.set(`${syscall.nr}:${r}`, { ...filter, syscalls: [{ ...syscall, rules: [rule] }] }));
  }
  return out;
}

function showCall(call: SyscallEvent): string {
  return `{arch: 0x${(call.arch >>> 0).toString(16)}, nr: ${call.nr}, args: [${call.args.map((x) => `0x${x.toString(16)}`)}]}`;
}

/** Every listed and unlisted number with plain arguments, plus boundary calls aimed at the rules. */
function workload(filter: Filter, seed: number, aimed: number): SyscallEvent[] {
  const arch = getArch(filter.arch);
  const calls: SyscallEvent[] = [];
  const [noise] = fc.sample(fc.array(u64Arb, { minLength: 6, maxLength: 6 }), { seed, numRuns: 1 });
  for (const nr of arch.names.keys()) {
    calls.push({ arch: arch.auditArch, nr, args: [] });
    calls.push({ arch: arch.auditArch, nr, args: noise });
  }
  calls.push(...fc.sample(callsArb(filter, { minCalls: aimed, maxCalls: aimed, zeroHighHalfForDwordOrdering: true }), { seed, numRuns: 1 })[0]);
  return calls;
}

/** Runs both programs on every comparable call; returns how many were compared. */
function compare(label: string, filter: Filter, ours: Program, theirs: Program, calls: readonly SyscallEvent[]): number {
  const endian = getArch(filter.arch).endian;
  let compared = 0;
  for (const call of calls) {
    if (!callComparable(filter, call)) continue;
    const a = runFilter(ours, call, endian).value >>> 0;
    const b = runFilter(theirs, call, endian).value >>> 0;
    if (a !== b) {
      assert.fail(`${label}: seccompiler returns 0x${a.toString(16)}, libseccomp 0x${b.toString(16)} for ${showCall(call)} ` +
        `(match ${formatAction(filter.matchAction)} = 0x${actionValue(filter.matchAction).toString(16)})`);
    }
    compared++;
  }
  return compared;
}

/**
 * Policy files with the arch each is meant for: Firecracker's corpus (kept
 * beside the repository; x86_64/aarch64 files for their arch,
 * unimplemented.json for both) and the repository's own policies/*.json.
 */
function policyFiles(): [string, ArchName][] {
  const out: [string, ArchName][] = [];
  const visit = (dir: string) => {
    for (const entry of readdirSync(dir).sort()) {
      const path = join(dir, entry);
      if (statSync(path).isDirectory()) visit(path);
      else if (entry.endsWith(".json") && !entry.endsWith(".schema.json")) {
        const arches: ArchName[] = entry.startsWith("x86_64") ? ["x86_64"] : entry.startsWith("aarch64") ? ["aarch64"] : ["x86_64", "aarch64"];
        for (const arch of arches) out.push([path, arch]);
      }
    }
  };
  if (HAVE_CORPUS) visit(CORPUS);
  visit(EXAMPLES);
  return out;
}

describe("libseccomp cross-check", { skip }, () => {
  test("seccompiler's syscall numbers are libseccomp's, for every name libseccomp knows", () => {
    for (const arch of LIBSECCOMP_ARCHES) {
      const table = getArch(arch).syscalls;
      const numbers = helper({ op: "resolve", arch, names: [...table.keys()] }).numbers as Record<string, number | null>;
      // libseccomp 2.5 answers the socketcall/ipc multiplexer for the socket and SysV IPC calls on
      // arches that have both (ppc64, s390x); the direct numbers in our table are the kernel's too.
      const multiplexers = new Set([table.get("socketcall"), table.get("ipc")].filter((n) => n !== undefined));
      const differ = [...table].filter(([name, nr]) =>
        numbers[name] !== null && numbers[name] !== nr && !multiplexers.has(numbers[name]!)
      );
      assert.deepEqual(differ.map(([name, nr]) => `${name}: ours ${nr}, libseccomp ${numbers[name]}`), [], arch);
      const known = [...table.keys()].filter((name) => numbers[name] !== null).length;
      assert.ok(known > table.size * 0.9, `${arch}: libseccomp knows only ${known}/${table.size} names`);
    }
  });

  test("every corpus policy: same verdict as libseccomp on every comparable call", { timeout: propertyTimeout(120_000) }, () => {
    const settings = runSettings("libseccomp-corpus", 0x5ecc_0004, 400);
    const files = policyFiles();
    assert.ok(files.length >= (HAVE_CORPUS ? 9 : 1), `policies not found under ${CORPUS} and ${EXAMPLES}`);
    let filters = 0;
    let compared = 0;
    for (const [file, arch] of files) {
      const { programs, filters: irs } = compilePolicy(readFileSync(file, "utf8"), arch, { file });
      const theirs = libseccompPrograms(arch, irs);
      for (const [thread, filter] of irs) {
        const label = `${file} (${arch}) thread ${thread}`;
        assert.ok(filterComparable(filter), `${label} uses a construct libseccomp reads differently`);
        const program = theirs.get(thread);
        assert.ok(Array.isArray(program), `${label}: libseccomp refused it: ${program}`);
        assert.ok(returnsOnlyItsActions(program, filter), `${label}: libseccomp's program returns something else`);
        compared += compare(label, filter, programs.get(thread)!, program, workload(filter, settings.seed, settings.numRuns));
        filters++;
      }
    }
    console.log(`[libseccomp-corpus] ${files.length} policy files, ${filters} filters, ${compared} calls compared`);
    assert.ok(filters >= (HAVE_CORPUS ? 24 : 1) && compared >= filters * 500);
  });

  test("random filters on the five shared arches, big-endian s390x included", { timeout: propertyTimeout(120_000) }, () => {
    // libseccomp merges the rules of one syscall into a decision tree, and 2.5.4 sometimes gets
    // that wrong (see docs/testing.md). Where the whole-filter programs disagree, each rule is
    // compiled by libseccomp on its own and the OR of those verdicts decides: if it sides with
    // seccompiler, the disagreement is counted as a libseccomp merge defect; if not, the test fails.
    const settings = runSettings("libseccomp-random", 0x5ecc_0005, 60);
    let compared = 0;
    let filters = 0;
    let timeouts = 0;
    let mergeDefects = 0;
    let swappedReturns = 0;
    let firstDefect = "";
    for (const arch of LIBSECCOMP_ARCHES) {
      const table = getArch(arch).syscalls;
      const endian = getArch(arch).endian;
      const resolved = helper({ op: "resolve", arch, names: [...table.keys()] });
      const numbers = resolved.numbers as Record<string, number | null>;
      const ruleSafe = new Set(resolved.ruleSafe as string[]);
      const pool = [...table.keys()].filter((name) => numbers[name] === table.get(name) && ruleSafe.has(name));
      const sample = fc.sample(
        filterArb({
          arches: [arch],
          syscallPool: pool,
          uniqueIndexPerRule: true,
          valueInsideMask: true,
          conditionBudget: 120,
          // libseccomp refuses errno 4095 (its check is `< MAX_ERRNO`); the kernel accepts it.
          actions: actionPairArb.filter(([a, b]) => [a, b].every((x) => x.kind !== "errno" || x.data < 4095)),
        }),
        { seed: settings.seed, numRuns: settings.numRuns },
      );
      const named = new Map(sample.map((filter, i) => [`f${i}`, filter]));
      const theirs = libseccompPrograms(arch, named, 1);
      for (const [name, filter] of named) {
        assert.ok(filterComparable(filter));
        const program = theirs.get(name);
        if (program === "timeout") {
          timeouts++;
          continue;
        }
        const label = `${arch} random ${name} (seed ${settings.seed}) ${JSON.stringify(filterToJson(filter))}`;
        assert.ok(Array.isArray(program), `${label}: libseccomp refused it: ${program}`);
        if (!returnsOnlyItsActions(program, filter)) {
          // libseccomp 2.5.4 writes some `ret` constants of large big-endian programs in host
          // byte order (0x7fff0000 comes out as 0x0000ff7f); such a program means nothing useful.
          swappedReturns++;
          continue;
        }
        const ours = optimizeProgram(generateProgram(filter));
        const calls = fc.sample(callsArb(filter, { minCalls: 60, maxCalls: 60, zeroHighHalfForDwordOrdering: true }), {
          seed: settings.seed + filters,
          numRuns: 1,
        })[0];
        let perRule: Map<string, Program | string> | undefined;
        for (const call of calls) {
          if (!callComparable(filter, call)) continue;
          compared++;
          const a: number = runFilter(ours, call, endian).value >>> 0;
          const b: number = runFilter(program, call, endian).value >>> 0;
          if (a === b) continue;
          const syscall = filter.syscalls.find((x) => x.nr === call.nr >>> 0);
          const oracleApplies = call.arch >>> 0 === getArch(arch).auditArch && syscall !== undefined && syscall.rules.length > 0;
          const where = `seccompiler 0x${a.toString(16)}, libseccomp 0x${b.toString(16)} for ${showCall(call)}`;
          assert.ok(oracleApplies, `${label}: ${where}`);
          perRule ??= libseccompPrograms(arch, singleRuleFilters(filter), 1);
          const verdicts = syscall.rules.map((_, r) => {
            const single = perRule!.get(`${syscall.nr}:${r}`);
            assert.ok(Array.isArray(single), `${label}: libseccomp failed on rule ${r} of ${syscall.name} alone: ${single}`);
            return runFilter(single, call, endian).value >>> 0;
          });
          const matchValue = actionValue(filter.matchAction);
          const oracle = verdicts.includes(matchValue) ? matchValue : actionValue(filter.mismatchAction);
          assert.equal(a, oracle, `${label}: ${where}; libseccomp rule by rule says 0x${oracle.toString(16)}`);
          mergeDefects++;
          firstDefect ||= `${label}: ${where}`;
        }
        filters++;
      }
    }
    console.log(`[libseccomp-random] ${filters} filters, ${compared} calls compared; ` +
      `${timeouts} filters skipped because libseccomp did not finish within 1 s; ` +
      `${swappedReturns} filters skipped because libseccomp byte-swapped some of its return values; ` +
      `${mergeDefects} calls where libseccomp's merged rules were wrong and its rule-by-rule verdicts agreed with seccompiler` +
      (firstDefect ? `\n  first: ${firstDefect.slice(0, 400)}…` : ""));
    // libseccomp 2.5.4 loops on a few lt/le/ne rule combinations; anything more than that is suspicious.
    if (settings.checkCoverage) {
      assert.ok(timeouts <= filters / 10, `${timeouts} libseccomp timeouts`);
      assert.ok(swappedReturns <= (filters + swappedReturns) / 5, `${swappedReturns} libseccomp programs with byte-swapped returns`);
      assert.ok(compared >= filters * 40);
      assert.ok(mergeDefects <= compared / 20, `${mergeDefects} libseccomp merge defects: more than expected`);
    }
  });
});
