// deno-facing
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import {
  ALLOW, compileFilter, compileFromJson, condition, errno, KILL_PROCESS, PolicyError, rule, runFilter, seccompFilter, TRAP, trace,
} from "../src/mod.ts";
import { BPF_MAXINSNS } from "../src/bpf/insn.ts";

const X86 = 0xc000003e;

describe("programmatic API (the TypeScript front end)", () => {
  test("constructors build the same filter the JSON front end does", () => {
    const filter = seccompFilter({
      arch: "x86_64",
      mismatchAction: errno(1),
      matchAction: ALLOW,
      rules: {
        write: [rule(condition(0, "dword", "eq", 1)), rule(condition(0, "dword", "eq", 2), condition(2, "qword", "le", 4096))],
        read: [],
      },
    });
    assert.deepEqual(filter.syscalls.map((s) => s.name), ["read", "write"]); // sorted by number
    const fromTs = compileFilter(filter);
    const fromJson = compileFromJson(JSON.stringify({
      main: {
        mismatch_action: { errno: 1 }, match_action: "allow", filter: [
          { syscall: "read" },
          { syscall: "write", args: [{ index: 0, type: "dword", op: "eq", val: 1 }] },
          { syscall: "write", args: [{ index: 0, type: "dword", op: "eq", val: 2 }, { index: 2, type: "qword", op: "le", val: 4096 }] },
        ],
      },
    }), "x86_64").get("main")!;
    assert.deepEqual(fromTs, fromJson);
    const v = (nr: number, args: bigint[]) => runFilter(fromTs, { nr, arch: X86, args }).value;
    assert.equal(v(1, [2n, 0n, 4096n]), 0x7fff0000);
    assert.equal(v(1, [2n, 0n, 4097n]), 0x00050001);
    assert.equal(v(39, []), 0x00050001);
  });

  test("masked_eq takes its mask as an option", () => {
    const program = compileFilter(seccompFilter({
      arch: "aarch64", mismatchAction: TRAP, matchAction: ALLOW,
      rules: { mmap: [rule(condition(2, "dword", "masked_eq", 0, { mask: 4 }))] },
    }));
    const mmap = 222;
    assert.equal(runFilter(program, { nr: mmap, arch: 0xc00000b7, args: [0n, 0n, 3n] }).value, 0x7fff0000);
    assert.equal(runFilter(program, { nr: mmap, arch: 0xc00000b7, args: [0n, 0n, 7n] }).value, 0x00030000);
  });

  test("validated like JSON: every problem is reported", () => {
    try {
      seccompFilter({
        arch: "x86_64",
        mismatchAction: errno(5000),
        matchAction: trace(70000),
        rules: {
          opne: [],
          ioctl: [rule(condition(6, "dword", "eq", 0x1_0000_0000n))],
          read: [rule()],
        },
      });
      assert.fail("should throw");
    } catch (error) {
      assert.ok(error instanceof PolicyError);
      const codes = error.diagnostics.map((d) => d.code).sort();
      assert.deepEqual(codes, ["dword-range", "empty-args", "errno-range", "index-range", "trace-range", "unknown-syscall"]);
      assert.match(error.message, /unknown syscall "opne" for x86_64; did you mean "open"\?/);
    }
  });

  test("equal actions are refused", () => {
    assert.throws(() => seccompFilter({ arch: "x86_64", mismatchAction: errno(1), matchAction: errno(1), rules: {} }), /both errno\(1\)/);
    assert.doesNotThrow(() => seccompFilter({ arch: "x86_64", mismatchAction: errno(1), matchAction: errno(2), rules: {} }));
  });

  test("programs over 4096 instructions are refused with the thread and count; 4096 is not", () => {
    // Scattered values (no two adjacent, so no range can absorb them) on two arguments: every rule
    // costs instructions. Bisect the rule count between a size that fits and one that cannot, with a
    // bounded number of compiles (a loop that waits for an error never ends if the optimizer learns
    // to shrink the pattern).
    const build = (rules: number) => seccompFilter({
      arch: "x86_64", mismatchAction: KILL_PROCESS, matchAction: ALLOW,
      rules: {
        ioctl: Array.from({ length: rules }, (_, i) =>
          rule(condition(1, "dword", "eq", (i * 7919 + 13) % 1_000_003 * 3), condition(2, "dword", "eq", i * 5 + 1))),
      },
    });
    const tryCompile = (rules: number) => {
      try {
        return { length: compileFilter(build(rules), "vmm").length };
      } catch (error) {
        assert.ok(error instanceof PolicyError, String(error));
        return { error };
      }
    };
    let fits = 1;
    let tooLong = BPF_MAXINSNS; // a rule costs at least one instruction
    const refused = tryCompile(tooLong).error;
    assert.ok(refused, `${tooLong} two-condition rules fit in ${BPF_MAXINSNS} instructions`);
    assert.equal(refused.diagnostics[0].code, "program-too-long");
    assert.match(refused.diagnostics[0].message, /filter "vmm" compiles to \d+ instructions; the kernel accepts at most 4096/);
    assert.ok(tryCompile(fits).length! <= BPF_MAXINSNS);
    while (tooLong - fits > 1) {
      const middle = Math.floor((fits + tooLong) / 2);
      if (tryCompile(middle).error) tooLong = middle;
      else fits = middle;
    }
    const largest = tryCompile(fits).length!;
    assert.ok(largest <= BPF_MAXINSNS && largest > BPF_MAXINSNS - 16, `largest fitting program has ${largest} instructions`);
    assert.equal(tryCompile(tooLong).error?.diagnostics[0].code, "program-too-long");
  });

  test("argument validation of compileFromJson", () => {
    // @ts-expect-error wrong type on purpose
    assert.throws(() => compileFromJson(42, "x86_64"), /policy text must be a string/);
    // @ts-expect-error wrong arch on purpose
    assert.throws(() => compileFromJson("{}", "x86"), /arch must be one of/);
    assert.equal(compileFromJson("{}", "x86_64").size, 0);
  });
});

describe("one code per problem, whichever front end finds it", () => {
  // Each case: one problem written as JSON and built through the API; both must report the same code
  // (and, where the message names nothing front-end specific, the same message).
  type Case = { name: string; json: { actions?: string; rule: string }; api: Parameters<typeof seccompFilter>[0]; code: string; sameMessage: boolean };
  const base = { arch: "x86_64" as const, mismatchAction: TRAP, matchAction: ALLOW };
  const cond = (text: string) => `{"syscall": "ioctl", "args": [${text}]}`;
  const cases: Case[] = [
    { name: "errno above 4095", json: { actions: '"default_action": {"errno": 4096}, "filter_action": "allow"', rule: '{"syscall": "read"}' },
      api: { ...base, mismatchAction: errno(4096), rules: { read: [] } }, code: "errno-range", sameMessage: true },
    { name: "trace above 16 bits", json: { actions: '"default_action": "trap", "filter_action": {"trace": 65536}', rule: '{"syscall": "read"}' },
      api: { ...base, matchAction: trace(65536), rules: { read: [] } }, code: "trace-range", sameMessage: true },
    { name: "argument index 6", json: { rule: cond('{"index": 6, "type": "dword", "op": "eq", "val": 1}') },
      api: { ...base, rules: { ioctl: [rule(condition(6, "dword", "eq", 1))] } }, code: "index-range", sameMessage: true },
    { name: "dword value over 32 bits", json: { rule: cond('{"index": 1, "type": "dword", "op": "eq", "val": 4294967296}') },
      api: { ...base, rules: { ioctl: [rule(condition(1, "dword", "eq", 0x1_0000_0000n))] } }, code: "dword-range", sameMessage: false },
    { name: "unknown width", json: { rule: cond('{"index": 1, "type": "DWORD", "op": "eq", "val": 1}') },
      api: { ...base, rules: { ioctl: [rule(condition(1, "DWORD" as "dword", "eq", 1))] } }, code: "unknown-type", sameMessage: true },
    { name: "unknown operator", json: { rule: cond('{"index": 1, "type": "dword", "op": "eg", "val": 1}') },
      api: { ...base, rules: { ioctl: [rule(condition(1, "dword", "eg" as "eq", 1))] } }, code: "unknown-operator", sameMessage: true },
    { name: "rule without conditions", json: { rule: '{"syscall": "ioctl", "args": []}' },
      api: { ...base, rules: { ioctl: [rule()] } }, code: "empty-args", sameMessage: false },
    { name: "unknown syscall", json: { rule: '{"syscall": "opne"}' },
      api: { ...base, rules: { opne: [] } }, code: "unknown-syscall", sameMessage: true },
    { name: "equal actions", json: { actions: '"default_action": "allow", "filter_action": "allow"', rule: '{"syscall": "read"}' },
      api: { ...base, mismatchAction: ALLOW, rules: { read: [] } }, code: "equal-actions", sameMessage: false },
  ];
  for (const c of cases) {
    test(c.name, () => {
      const actions = c.json.actions ?? '"default_action": "trap", "filter_action": "allow"';
      const text = `{"main": {${actions}, "filter": [${c.json.rule}]}}`;
      const fromJson = (() => {
        try { compileFromJson(text, "x86_64"); } catch (error) { if (error instanceof PolicyError) return error.diagnostics; throw error; }
        assert.fail("the JSON policy should be refused");
      })();
      const fromApi = (() => {
        try { seccompFilter(c.api); } catch (error) { if (error instanceof PolicyError) return error.diagnostics; throw error; }
        assert.fail("the API filter should be refused");
      })();
      assert.deepEqual(fromJson.map((d) => d.code), [c.code]);
      assert.deepEqual(fromApi.map((d) => d.code), [c.code]);
      if (c.sameMessage) assert.equal(fromApi[0].message, fromJson[0].message);
    });
  }
});
