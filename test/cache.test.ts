// deno-facing
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { actionCacheReport, isConstantAllow } from "../src/bpf/cache.ts";
import { AND_K, JA, JEQ_K, JSET_K, LD_ABS, RET_K, jump, stmt } from "../src/bpf/insn.ts";
import { getArch } from "../src/arch/arch.ts";

const X86 = 0xc000003e;
const ALLOW = 0x7fff0000;
const KILL = 0x80000000;

describe("action cache emulator", () => {
  // ld arch; jeq x86 ? next : kill; ld nr; jeq 0 → allow; jeq 1 → ld [16] …; ret errno
  const program = [
    stmt(LD_ABS, 4),
    jump(JEQ_K, X86, 1, 0),
    stmt(RET_K, KILL),
    stmt(LD_ABS, 0),
    jump(JEQ_K, 0, 3, 0),
    jump(JEQ_K, 1, 0, 3),
    stmt(LD_ABS, 16),
    jump(JEQ_K, 1, 0, 1),
    stmt(RET_K, ALLOW),
    stmt(RET_K, 0x00050001),
  ];

  test("unconditional allow is cached, argument paths and denials are not", () => {
    // nr 0 jumps from pc 4 by 3 → pc 8: ret ALLOW.
    assert.equal(isConstantAllow(program, 0, X86), true);
    assert.equal(isConstantAllow(program, 1, X86), false); // loads args[0]
    assert.equal(isConstantAllow(program, 2, X86), false); // errno
    assert.equal(isConstantAllow(program, 0, 0xc00000b7), false); // foreign arch → kill
  });

  test("jset, and, ja are followed; other instructions stop caching", () => {
    const viaMask = [stmt(LD_ABS, 0), stmt(AND_K, 0xff), jump(JSET_K, 0x80, 1, 0), stmt(JA, 1), stmt(RET_K, 0), stmt(RET_K, ALLOW)];
    assert.equal(isConstantAllow(viaMask, 0x100, X86), true); // 0x100 & 0xff = 0 → jset false → ja 1 → ret ALLOW
    assert.equal(isConstantAllow(viaMask, 0x80, X86), false);
    assert.equal(isConstantAllow([stmt(0x00, 5), stmt(RET_K, ALLOW)], 0, X86), false); // ld #imm is not emulated
    assert.equal(isConstantAllow([stmt(LD_ABS, 0)], 0, X86), false); // runs off the end
  });

  test("report over a whole table", () => {
    const report = actionCacheReport(program, getArch("x86_64"));
    assert.deepEqual(report.cached, ["read"]);
    assert.ok(report.filtered.includes("write"));
    assert.equal(report.cached.length + report.filtered.length, getArch("x86_64").names.size);
  });
});
