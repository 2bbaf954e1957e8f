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
import { isConstantAllow } from "../src/bpf/cache.ts";
import {
  DEFAULT_PASSES,
  foldSameTargets,
  inlineReturns,
  optimizeProgram,
  removeRedundantLoads,
  removeUnreachable,
  shareTails,
  threadJumps,
} from "../src/optimize/mod.ts";
import { removeInstructions } from "../src/optimize/rewrite.ts";
import { runSettings } from "./support/arbitraries.ts";
import { getArch } from "../src/arch/arch.ts";
import { BPF_MAXINSNS } from "../src/bpf/insn.ts";
import { generateProgram } from "../src/codegen/mod.ts";
import { compileFromJson, compilePolicy } from "../src/compile.ts";
import { PolicyError } from "../src/diagnostics.ts";

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

describe("jump passes", () => {
  const call = (program: readonly Instruction[], arg = 0n) => runFilter(program, { nr: 0, arch: 0, args: [0n, arg] });

  test("threadJumps: a branch onto a ja goes where the ja goes", () => {
    const program = [stmt(LD_ABS, ARG1_LO), jump(JEQ_K, 1, 0, 1), stmt(JA, 1), stmt(RET_K, 0), stmt(RET_K, 1)];
    const { program: out, changed } = threadJumps(program);
    assert.equal(changed, true);
    assert.deepEqual(out[1], jump(JEQ_K, 1, 2, 1));
    for (const arg of [0n, 1n]) assert.equal(call(out, arg).value, call(program, arg).value);
    assert.ok(call(out, 1n).steps < call(program, 1n).steps);
  });

  test("threadJumps: a conditional branch is not stretched past 255", () => {
    const filler = Array.from({ length: 300 }, () => stmt(RET_K, 9));
    // jt → the ja at 1, which leads 300 instructions further: out of a conditional branch's reach.
    const program = [jump(JEQ_K, 1, 0, 1), stmt(JA, 300), stmt(RET_K, 2), ...filler.slice(1), stmt(RET_K, 3)];
    assert.equal(threadJumps(program).changed, false);
  });

  test("inlineReturns: ja → ret becomes the ret", () => {
    const program = [stmt(JA, 1), stmt(RET_K, 0), stmt(RET_K, 5)];
    assert.deepEqual(inlineReturns(program).program[0], stmt(RET_K, 5));
  });

  test("foldSameTargets: a test whose branches coincide disappears", () => {
    const program = [stmt(LD_ABS, ARG1_LO), jump(JEQ_K, 7, 1, 1), stmt(RET_K, 0), stmt(RET_K, 1)];
    const { program: out } = foldSameTargets(program);
    assert.deepEqual(out, [stmt(LD_ABS, ARG1_LO), stmt(JA, 1), stmt(RET_K, 0), stmt(RET_K, 1)]);
    assert.equal(foldSameTargets([stmt(JA, 0), stmt(RET_K, 1)]).program.length, 1, "ja 0 is dropped");
  });

  test("removeUnreachable: code no path reaches goes, jumps still land", () => {
    const program = [jump(JEQ_K, 1, 0, 1), stmt(RET_K, 0), stmt(RET_K, 1)];
    const { program: out } = removeUnreachable([stmt(JA, 1), stmt(RET_K, 9), ...program, stmt(RET_K, 2)]);
    assert.deepEqual(out, [stmt(JA, 0), ...program]);
  });

  test("shareTails: identical tails are reached through one copy", () => {
    // Two identical "ld arg1; jeq 4 → allow | trap" tails.
    const tail = [stmt(LD_ABS, ARG1_LO), jump(JEQ_K, 4, 0, 1), stmt(RET_K, 0x7fff0000), stmt(RET_K, 0x30000)];
    const program = [stmt(LD_ABS, 16), jump(JEQ_K, 1, 0, 4), ...tail, ...tail];
    const optimized = optimizeProgram(program);
    // Both branches of the arg0 test now reach the same tail, so the test itself goes too.
    assert.equal(optimized.length, 5);
    assert.equal(optimized.some((i) => i.code === JEQ_K && i.k === 1), false);
    for (const arg0 of [0n, 1n]) {
      for (const arg1 of [0n, 4n]) {
        const data = { nr: 0, arch: 0, args: [arg0, arg1] };
        assert.equal(runFilter(optimized, data).value, runFilter(program, data).value);
      }
    }
    assert.equal(shareTails(tail).changed, false, "nothing to share in a single tail");
  });
});

/** Random loadable programs: loads, ALU, jumps forward within range, returns; always ends in ret. */
const programArb = programsOf(2, 40, 6);

/** Random programs of `min..max` instructions whose jumps skip up to `reach`. */
function programsOf(min: number, max: number, reach: number) {
  return fc.integer({ min, max }).chain((length) =>
  fc.array(
    fc.oneof(
      { weight: 4, arbitrary: fc.constantFrom(0, 4, 16, 20, 24, 28).map((k) => ({ kind: "ld" as const, k })) },
      { weight: 4, arbitrary: fc.tuple(fc.constantFrom(JEQ_K, JGT_K, JGE_K, JSET_K), fc.constantFrom(0, 1, 4, 0x40000000, 0xffffffff), fc.nat(reach), fc.nat(reach)).map(([code, k, jt, jf]) => ({ kind: "jump" as const, code, k, jt, jf })) },
      { weight: 1, arbitrary: fc.nat(reach).map((k) => ({ kind: "ja" as const, k })) },
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
}

const dataArb = fc.record({
  nr: fc.constantFrom(0, 1, 4, -1, 0x40000000),
  arch: fc.constantFrom(0, 4, 0xc000003e),
  args: fc.array(fc.constantFrom(0n, 1n, 4n, 0xffffffffn, 0x1_0000_0000n, 0xffff_ffff_ffff_ffffn), { minLength: 6, maxLength: 6 }),
});

/**
 * Checks `optimized` against `program`: same verdict on every call, never more instructions
 * executed, loadable, never longer, and the kernel's action cache sees the same allows.
 */
function assertSameBehaviour(program: readonly Instruction[], optimized: readonly Instruction[], calls: readonly (typeof dataArb extends fc.Arbitrary<infer T> ? T : never)[]) {
  assert.ok(optimized.length <= program.length);
  assert.deepEqual(validateProgram(optimized), []);
  for (const data of calls) {
    const before = runFilter(program, data);
    const after = runFilter(optimized, data);
    const shown = JSON.stringify(data, (_, v) => typeof v === "bigint" ? String(v) : v);
    assert.equal(after.value, before.value, shown);
    assert.ok(after.steps <= before.steps, `${shown}: ${after.steps} steps after, ${before.steps} before`);
  }
  for (const nr of [0, 1, 4, 0x40000000]) {
    for (const arch of [0, 4, 0xc000003e]) {
      assert.equal(isConstantAllow(optimized, nr, arch), isConstantAllow(program, nr, arch), `cache, nr ${nr} arch ${arch}`);
    }
  }
}

describe("optimizeProgram", () => {
  test("random programs: same verdict, never slower, same cache, still loadable, never longer", () => {
    const settings = runSettings("optimize", 0x0971_0001, 3000);
    let shrunk = 0;
    fc.assert(
      fc.property(programArb, fc.array(dataArb, { minLength: 8, maxLength: 8 }), (program, calls) => {
        assert.deepEqual(validateProgram(program), []);
        const optimized = optimizeProgram(program);
        if (optimized.length < program.length) shrunk++;
        assertSameBehaviour(program, optimized, calls);
      }),
      settings,
    );
    console.log(`[optimize] ${shrunk} of ${settings.numRuns} random programs got shorter`);
    assert.ok(shrunk > 0);
  });

  test("each pass alone keeps every verdict, on short and on long programs with far jumps", () => {
    for (const [name, arb, runs] of [["short", programArb, 1000], ["long", programsOf(200, 700, 255), 150]] as const) {
      const settings = runSettings(`optimize-passes-${name}`, 0x0971_0002, runs);
      fc.assert(
        fc.property(arb, fc.array(dataArb, { minLength: 8, maxLength: 8 }), (program, calls) => {
          for (const pass of DEFAULT_PASSES) assertSameBehaviour(program, pass(program).program, calls);
          assertSameBehaviour(program, optimizeProgram(program), calls);
        }),
        settings,
      );
    }
  });
});

describe("the 4096-instruction limit is checked after optimizing", () => {
  /** A policy: `syscalls` syscalls that each allow the same `values` request numbers (with gaps) in arg 1. */
  function policy(syscalls: readonly string[], values: number, distinct = false): string {
    const filter = syscalls.flatMap((name, s) =>
      Array.from({ length: values }, (_, i) => ({
        syscall: name,
        args: [{ index: 1, type: "dword", op: "eq", val: 3 * i + (distinct ? s * 100_000 : 0) }],
      }))
    );
    return JSON.stringify({ big: { default_action: "trap", filter_action: "allow", filter } });
  }

  test("a policy over 4096 instructions before optimizing but not after compiles", () => {
    const text = policy(["getppid", "getpgrp"], 1700);
    const { filters } = compilePolicy(text, "x86_64");
    const raw = generateProgram(filters.get("big")!);
    assert.ok(raw.length > BPF_MAXINSNS, `unoptimized: ${raw.length} instructions`);
    const program = compileFromJson(text, "x86_64").get("big")!;
    assert.ok(program.length <= BPF_MAXINSNS, `optimized: ${program.length} instructions`);
    assert.deepEqual(validateProgram(program), []);
    const nr = (name: string) => getArch("x86_64").syscalls.get(name)!;
    for (const name of ["getppid", "getpgrp"]) {
      for (const [arg, want] of [[0n, 0x7fff0000], [3n * 1699n, 0x7fff0000], [1n, 0x30000], [3n * 1700n, 0x30000]] as const) {
        assert.equal(runFilter(program, { nr: nr(name), arch: getArch("x86_64").auditArch, args: [0n, arg] }).value >>> 0, want, `${name}(${arg})`);
      }
    }
  });

  test("one that does not fit even optimized fails with the usual message", () => {
    const text = policy(["getppid", "getpgrp", "getsid"], 1700, true);
    assert.throws(() => compileFromJson(text, "x86_64"), (error: unknown) => {
      assert.ok(error instanceof PolicyError);
      assert.match(error.message, /filter "big" compiles to \d+ instructions; the kernel accepts at most 4096/);
      return true;
    });
  });
});
