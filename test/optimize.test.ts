// deno-facing
/**
 * The optimizer never changes a verdict: unit cases for each pass, and random
 * programs (independent of the code generator) run before and after.
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { AND_K, BPF, type Instruction, JA, JEQ_K, JGE_K, JGT_K, JSET_K, jump, LD_ABS, RET_K, stmt } from "../src/bpf/insn.ts";
import { runFilter } from "../src/bpf/interpreter.ts";
import { validateProgram } from "../src/bpf/validate.ts";
import { optimizeProgram, removeRedundantLoads } from "../src/optimize/mod.ts";
import { removeInstructions } from "../src/optimize/rewrite.ts";
import { runSettings } from "./support/arbitraries.ts";

const ARG1_LO = 24;

describe("removeInstructions", () => {
  test("jumps over and onto removed instructions are retargeted", () => {
    const program = [
      jump(JEQ_K, 1, 2, 0), // → 3 (removed) / 1
      stmt(LD_ABS, 0), // removed
      stmt(JA, 1), // → 4
      stmt(LD_ABS, 4), // removed
      stmt(RET_K, 7),
    ];
    assert.deepEqual(removeInstructions(program, new Set([1, 3])), [jump(JEQ_K, 1, 1, 0), stmt(JA, 0), stmt(RET_K, 7)]);
  });
});

describe("removeRedundantLoads", () => {
  test("a chain of single-condition rules on one argument loads it once", () => {
    const program = [
      stmt(LD_ABS, ARG1_LO), jump(JEQ_K, 0x5421, 4, 0),
      stmt(LD_ABS, ARG1_LO), jump(JEQ_K, 0x5451, 2, 0),
      stmt(LD_ABS, ARG1_LO), jump(JEQ_K, 0xae80, 0, 1),
      stmt(RET_K, 0x7fff0000),
      stmt(RET_K, 0x00030000),
    ];
    const { program: optimized, changed } = removeRedundantLoads(program);
    assert.equal(changed, true);
    assert.equal(optimized.filter((i) => i.code === LD_ABS).length, 1);
    for (const arg of [0x5421n, 0x5451n, 0xae80n, 0n]) {
      assert.equal(runFilter(optimized, { nr: 0, arch: 0, args: [0n, arg] }).value, runFilter(program, { nr: 0, arch: 0, args: [0n, arg] }).value);
    }
  });

  test("a load stays when paths disagree or A was changed", () => {
    const disagree = [
      jump(JEQ_K, 0, 0, 2), stmt(LD_ABS, 16), stmt(JA, 1), stmt(LD_ABS, 20), stmt(LD_ABS, 16), stmt(RET_K, 0),
    ];
    assert.equal(removeRedundantLoads(disagree).changed, false);
    const masked = [stmt(LD_ABS, 16), stmt(AND_K, 4), stmt(LD_ABS, 16), stmt(RET_K, 0)];
    assert.equal(removeRedundantLoads(masked).changed, false);
    const viaX = [stmt(LD_ABS, 16), stmt(BPF.MISC | BPF.TXA, 0), stmt(LD_ABS, 16), stmt(RET_K, 0)];
    assert.equal(removeRedundantLoads(viaX).changed, false);
    const keptByTax = [stmt(LD_ABS, 16), stmt(BPF.MISC | BPF.TAX, 0), stmt(LD_ABS, 16), stmt(RET_K, 0)];
    assert.equal(removeRedundantLoads(keptByTax).program.length, 3);
  });
});

/** Random loadable programs: loads, ALU, jumps forward within range, returns; always ends in ret. */
const programArb = fc.integer({ min: 2, max: 40 }).chain((length) =>
  fc.array(
    fc.oneof(
      { weight: 4, arbitrary: fc.constantFrom(0, 4, 16, 20, 24, 28).map((k) => ({ kind: "ld" as const, k })) },
      { weight: 4, arbitrary: fc.tuple(fc.constantFrom(JEQ_K, JGT_K, JGE_K, JSET_K), fc.constantFrom(0, 1, 4, 0x40000000, 0xffffffff), fc.nat(6), fc.nat(6)).map(([code, k, jt, jf]) => ({ kind: "jump" as const, code, k, jt, jf })) },
      { weight: 1, arbitrary: fc.nat(4).map((k) => ({ kind: "ja" as const, k })) },
      { weight: 1, arbitrary: fc.constantFrom(4, 0xff, 0xffffffff).map((k) => ({ kind: "and" as const, k })) },
      { weight: 1, arbitrary: fc.constantFrom(BPF.MISC | BPF.TAX, BPF.MISC | BPF.TXA, BPF.LD | BPF.IMM).map((code) => ({ kind: "misc" as const, code })) },
      { weight: 2, arbitrary: fc.constantFrom(0x7fff0000, 0x00050001, 0x80000000).map((k) => ({ kind: "ret" as const, k })) },
    ),
    { minLength: length, maxLength: length },
  ).map((items) => {
    const program: Instruction[] = items.map((item, pc) => {
      const room = items.length - pc - 1; // instructions after this one; the final ret is appended
      switch (item.kind) {
        case "ld": return stmt(LD_ABS, item.k);
        case "jump": return jump(item.code, item.k, Math.min(item.jt, room), Math.min(item.jf, room));
        case "ja": return stmt(JA, Math.min(item.k, room));
        case "and": return stmt(AND_K, item.k);
        case "misc": return stmt(item.code, 3);
        case "ret": return stmt(RET_K, item.k);
      }
    });
    program.push(stmt(RET_K, 0x7ffc0000));
    return program;
  })
);

const dataArb = fc.record({
  nr: fc.constantFrom(0, 1, 4, -1, 0x40000000),
  arch: fc.constantFrom(0, 4, 0xc000003e),
  args: fc.array(fc.constantFrom(0n, 1n, 4n, 0xffffffffn, 0x1_0000_0000n, 0xffff_ffff_ffff_ffffn), { minLength: 6, maxLength: 6 }),
});

describe("optimizeProgram", () => {
  test("random programs: same verdict on random data before and after, still loadable, never longer", () => {
    const settings = runSettings("optimize", 0x0971_0001, 3000);
    let shrunk = 0;
    fc.assert(
      fc.property(programArb, fc.array(dataArb, { minLength: 8, maxLength: 8 }), (program, calls) => {
        assert.deepEqual(validateProgram(program), []);
        const optimized = optimizeProgram(program);
        assert.ok(optimized.length <= program.length);
        if (optimized.length < program.length) shrunk++;
        assert.deepEqual(validateProgram(optimized), []);
        for (const data of calls) {
          assert.equal(runFilter(optimized, data).value, runFilter(program, data).value, JSON.stringify(data, (_, v) => typeof v === "bigint" ? String(v) : v));
        }
      }),
      settings,
    );
    console.log(`[optimize] ${shrunk} of ${settings.numRuns} random programs got shorter`);
    assert.ok(shrunk > 0);
  });
});
