// deno-facing
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { type Action, actionValue, SECCOMP_RET } from "../src/action.ts";
import { ARCH_NAMES, type ArchName, getArch, X32_SYSCALL_BIT } from "../src/arch/arch.ts";
import { BuilderError, type BuilderErrorCode, ProgramBuilder } from "../src/bpf/builder.ts";
import {
  BPF,
  BPF_MAXINSNS,
  type Instruction,
  JA,
  JEQ_K,
  JGE_K,
  JGT_K,
  JSET_K,
  LD_ABS,
  type Program,
  RET_K,
  AND_K,
} from "../src/bpf/insn.ts";
import { runFilter } from "../src/bpf/interpreter.ts";
import { validateProgram } from "../src/bpf/validate.ts";
import { argumentHalves, generateProgram, type Layout, linearLayout, TREE_LEAF_SIZE, treeLayout } from "../src/codegen/mod.ts";
import { actionCacheReport } from "../src/bpf/cache.ts";
import {
  ALLOW,
  condition,
  errno,
  type Filter,
  KILL_PROCESS,
  LOG,
  type Rule,
  rule,
  seccompFilter,
  TRAP,
  trace,
  USER_NOTIF,
} from "../src/ir.ts";
import { operatorCases } from "./support/operator-cases.ts";

const KILL = SECCOMP_RET.KILL_PROCESS;
/** Distinct values for the arguments a condition does not look at. */
const otherArg = (i: number) => 0xa5a5a5a5_5a5a5a50n + BigInt(i);

/** What the filter returns for one call. */
function call(program: Program, arch: ArchName, nr: number, args: readonly bigint[] = []): number {
  const info = getArch(arch);
  return runFilter(program, { nr, arch: info.auditArch, args }, info.endian).value;
}

/** Args with `value` at `index` and distinct garbage everywhere else. */
function argsWith(index: number, value: bigint): bigint[] {
  return Array.from({ length: 6 }, (_, i) => (i === index ? value : otherArg(i)));
}

/** The kernel would load it, and every exit is a literal `ret #k`. */
function assertLoadable(program: Program, allowTooLong = false): void {
  const issues = validateProgram(program).filter((issue) => !(allowTooLong && issue.code === "too-long"));
  assert.deepEqual(issues, []);
  for (const [pc, insn] of program.entries()) {
    if ((insn.code & 0x07) === BPF.RET) assert.equal(insn.code, RET_K, `pc ${pc}: ret must be ret #k`);
  }
}

/** The first `count` syscall names of an arch, in number order. */
function firstSyscalls(arch: ArchName, count: number): string[] {
  const names = [...getArch(arch).names.entries()].sort((a, b) => a[0] - b[0]).map(([, name]) => name);
  assert.ok(names.length >= count, `${arch} has only ${names.length} syscalls`);
  return names.slice(0, count);
}

/** Actions varied per arch so every action kind flows through a return somewhere. */
const ACTIONS: Record<ArchName, { match: Action; mismatch: Action }> = {
  x86_64: { match: ALLOW, mismatch: errno(1) },
  aarch64: { match: ALLOW, mismatch: KILL_PROCESS },
  riscv64: { match: LOG, mismatch: TRAP },
  loongarch64: { match: ALLOW, mismatch: USER_NOTIF },
  ppc64le: { match: trace(7), mismatch: errno(4095) },
  s390x: { match: ALLOW, mismatch: errno(38) },
};

/**
 * The path the kernel's action-cache emulator takes for `nr`: it follows only
 * `ld [0]`, `ld [4]`, K jumps, `ja` and `and #k`, and stops at the first other
 * instruction (such as an argument load) or at a return.
 */
function cachePath(program: Program, nr: number, auditArch: number): Instruction[] {
  const path: Instruction[] = [];
  let a = 0;
  let pc = 0;
  while (pc < program.length) {
    const insn = program[pc];
    path.push(insn);
    pc++;
    switch (insn.code) {
      case LD_ABS:
        if (insn.k === 0) a = nr >>> 0;
        else if (insn.k === 4) a = auditArch >>> 0;
        else return path;
        break;
      case AND_K:
        a = (a & insn.k) >>> 0;
        break;
      case JA:
        pc += insn.k;
        break;
      case JEQ_K:
        pc += a === insn.k ? insn.jt : insn.jf;
        break;
      case JGT_K:
        pc += a > insn.k ? insn.jt : insn.jf;
        break;
      case JGE_K:
        pc += a >= insn.k ? insn.jt : insn.jf;
        break;
      case JSET_K:
        pc += (a & insn.k) !== 0 ? insn.jt : insn.jf;
        break;
      default:
        return path;
    }
  }
  return path;
}

// ---------------------------------------------------------------------------

describe("ProgramBuilder", () => {
  test("resolves labels and fall-through", () => {
    const b = new ProgramBuilder();
    const deny = b.label("deny");
    const allow = b.label("allow");
    b.stmt(LD_ABS, 0);
    b.jump(JEQ_K, 39, allow, "next");
    b.jump(JEQ_K, 40, "next", deny);
    b.place(allow);
    b.ret(SECCOMP_RET.ALLOW);
    b.place(deny);
    b.ret(SECCOMP_RET.ERRNO | 1);
    const program = b.build();
    assert.deepEqual(program.map((i) => [i.code, i.jt, i.jf, i.k]), [
      [LD_ABS, 0, 0, 0],
      [JEQ_K, 1, 0, 39],
      [JEQ_K, 0, 1, 40],
      [RET_K, 0, 0, SECCOMP_RET.ALLOW],
      [RET_K, 0, 0, SECCOMP_RET.ERRNO | 1],
    ]);
    assertLoadable(program);
  });

  test("ja resolves to the distance, labels may share a place", () => {
    const b = new ProgramBuilder();
    const one = b.label();
    const two = b.label();
    b.ja(one);
    b.jump(JEQ_K, 0, two, one);
    b.stmt(LD_ABS, 4);
    b.place(one);
    b.place(two);
    b.ret(0);
    const program = b.build();
    assert.deepEqual(program[0], { code: JA, jt: 0, jf: 0, k: 2 });
    assert.deepEqual(program[1], { code: JEQ_K, jt: 1, jf: 1, k: 0 });
  });

  test("a far true branch gets a trampoline", () => {
    const b = new ProgramBuilder();
    const far = b.label("far");
    b.stmt(LD_ABS, 0);
    b.jump(JEQ_K, 7, far, "next");
    for (let i = 0; i < 300; i++) b.stmt(LD_ABS, 0);
    b.ret(1);
    b.place(far);
    b.ret(2);
    const program = b.build();
    assertLoadable(program);
    assert.equal(program.length, 305);
    assert.deepEqual(program[1], { code: JEQ_K, jt: 0, jf: 1, k: 7 });
    assert.deepEqual(program[2], { code: JA, jt: 0, jf: 0, k: 301 });
    assert.equal(runFilter(program, { nr: 7, arch: 0, args: [] }).value, 2);
    assert.equal(runFilter(program, { nr: 8, arch: 0, args: [] }).value, 1);
  });

  test("both branches far: two trampolines", () => {
    const b = new ProgramBuilder();
    const t = b.label("t");
    const f = b.label("f");
    b.stmt(LD_ABS, 0);
    b.jump(JGT_K, 10, t, f);
    for (let i = 0; i < 300; i++) b.stmt(LD_ABS, 0);
    b.place(t);
    b.ret(1);
    for (let i = 0; i < 300; i++) b.stmt(LD_ABS, 0);
    b.place(f);
    b.ret(2);
    const program = b.build();
    assertLoadable(program);
    assert.deepEqual(program.slice(1, 4).map((i) => [i.code, i.jt, i.jf]), [[JGT_K, 0, 1], [JA, 0, 0], [JA, 0, 0]]);
    assert.equal(runFilter(program, { nr: 11, arch: 0, args: [] }).value, 1);
    assert.equal(runFilter(program, { nr: 10, arch: 0, args: [] }).value, 2);
  });

  test("a trampoline that pushes an earlier branch past 255 makes it far too", () => {
    const b = new ProgramBuilder();
    const near = b.label("near");
    const far = b.label("far");
    b.stmt(LD_ABS, 0);
    b.jump(JEQ_K, 1, near, "next"); // exactly 255 away until the next jump grows
    b.jump(JEQ_K, 2, far, "next");
    for (let i = 0; i < 254; i++) b.stmt(LD_ABS, 0);
    b.place(near);
    b.ret(100);
    for (let i = 0; i < 300; i++) b.stmt(LD_ABS, 0);
    b.place(far);
    b.ret(200);
    b.ret(300); // unreachable tail keeps "far" from being the last instruction
    const program = b.build();
    assertLoadable(program);
    assert.deepEqual([program[1].jt, program[2].code], [0, JA], "the first jump needed a trampoline");
    assert.equal(runFilter(program, { nr: 1, arch: 0, args: [] }).value, 100);
    assert.equal(runFilter(program, { nr: 2, arch: 0, args: [] }).value, 200);
    assert.equal(runFilter(program, { nr: 3, arch: 0, args: [] }).value, 100);
  });

  test("a branch of exactly 255 stays short", () => {
    const b = new ProgramBuilder();
    const edge = b.label();
    b.stmt(LD_ABS, 0);
    b.jump(JEQ_K, 1, edge, "next");
    for (let i = 0; i < 254; i++) b.stmt(LD_ABS, 0);
    b.ret(0);
    b.place(edge);
    b.ret(1);
    const program = b.build();
    assert.equal(program.length, 258);
    assert.equal(program[1].jt, 255);
    assertLoadable(program);
  });

  test("hundreds of far jumps to distinct targets all land correctly", () => {
    const count = 400;
    const b = new ProgramBuilder();
    const labels = Array.from({ length: count }, (_, i) => b.label(`t${i}`));
    b.stmt(LD_ABS, 0);
    for (const [i, label] of labels.entries()) b.jump(JEQ_K, i, label, "next");
    b.ret(0xffff);
    for (const [i, label] of labels.entries()) {
      b.place(label);
      b.ret(1000 + i);
    }
    const program = b.build();
    assertLoadable(program);
    assert.ok(program.length > count * 2 + 2, "some trampolines were inserted");
    for (let nr = 0; nr < count; nr++) assert.equal(runFilter(program, { nr, arch: 0, args: [] }).value, 1000 + nr);
    assert.equal(runFilter(program, { nr: count, arch: 0, args: [] }).value, 0xffff);
  });

  const errors: [BuilderErrorCode, (b: ProgramBuilder) => void][] = [
    ["unplaced-label", (b) => {
      b.ja(b.label("nowhere"));
      b.ret(0);
    }],
    ["backward-jump", (b) => {
      const back = b.label("back");
      b.place(back);
      b.stmt(LD_ABS, 0);
      b.jump(JEQ_K, 0, back, "next");
      b.ret(0);
    }],
    ["backward-jump", (b) => {
      const self = b.label("self");
      b.place(self);
      b.ja(self);
      b.ret(0);
    }],
    ["label-past-end", (b) => {
      const end = b.label("end");
      b.ja(end);
      b.place(end);
    }],
    ["label-past-end", (b) => {
      b.stmt(LD_ABS, 0);
      b.jump(JEQ_K, 0, "next", "next");
    }],
  ];
  for (const [code, emit] of errors) {
    test(`build error: ${code}`, () => {
      const b = new ProgramBuilder();
      emit(b);
      assert.throws(() => b.build(), (e: unknown) => e instanceof BuilderError && e.code === code);
    });
  }

  test("misuse errors", () => {
    const b = new ProgramBuilder();
    const label = b.label();
    b.place(label);
    const isCode = (code: BuilderErrorCode) => (e: unknown) => e instanceof BuilderError && e.code === code;
    assert.throws(() => b.place(label), isCode("label-placed-twice"));
    assert.throws(() => b.ja(new ProgramBuilder().label()), isCode("foreign-label"));
    assert.throws(() => b.jump(JA, 0, "next", "next"), isCode("not-a-conditional-jump"));
    assert.throws(() => b.jump(RET_K, 0, "next", "next"), isCode("not-a-conditional-jump"));
    assert.throws(() => b.stmt(JEQ_K, 0), isCode("not-a-statement"));
  });
});

// ---------------------------------------------------------------------------

describe("generateProgram: argument conditions", () => {
  const cases = operatorCases();

  test("the operator table is non-trivial", () => {
    const ops = new Set(cases.map((c) => `${c.op}/${c.width}`));
    assert.equal(ops.size, 14);
    for (const key of ops) {
      const rows = cases.filter((c) => `${c.op}/${c.width}` === key);
      assert.ok(rows.some((c) => c.expected) && rows.some((c) => !c.expected), `${key} has both outcomes`);
    }
  });

  test("argument halves follow the target's byte order", () => {
    for (let i = 0; i < 6; i++) {
      assert.deepEqual(argumentHalves(i as 0, "little"), { lo: 16 + 8 * i, hi: 20 + 8 * i });
      assert.deepEqual(argumentHalves(i as 0, "big"), { hi: 16 + 8 * i, lo: 20 + 8 * i });
    }
    const filter = seccompFilter({
      arch: "s390x",
      mismatchAction: errno(1),
      matchAction: ALLOW,
      rules: { write: [rule(condition(2, "dword", "eq", 1))] },
    });
    const loads = generateProgram(filter).filter((i) => i.code === LD_ABS).map((i) => i.k);
    assert.deepEqual(loads, [4, 0, 36], "s390x's low half of args[2] is at 20 + 16");
  });

  // One filter per arch: every (op, width, value, mask) group is its own syscall
  // with a single one-condition rule, on argument index group % 6.
  for (const arch of ARCH_NAMES) {
    test(`every operator × width × boundary on ${arch}`, () => {
      const groups = new Map<string, typeof cases>();
      for (const c of cases) {
        const key = `${c.op}/${c.width}/${c.value}/${c.mask ?? ""}`;
        const rows = groups.get(key);
        if (rows) rows.push(c);
        else groups.set(key, [c]);
      }
      const names = firstSyscalls(arch, groups.size);
      const { match, mismatch } = ACTIONS[arch];
      const entries = [...groups.values()].map((rows, g): [string, Rule[]] => {
        const { op, width, value, mask } = rows[0];
        const options = mask === undefined ? {} : { mask };
        return [names[g], [rule(condition(g % 6, width, op, value, options))]];
      });
      const filter = seccompFilter({ arch, matchAction: match, mismatchAction: mismatch, rules: entries });
      const program = generateProgram(filter);
      assertLoadable(program);
      const nrOf = (name: string) => getArch(arch).syscalls.get(name)!;

      const failures: string[] = [];
      let runs = 0;
      for (const [g, rows] of [...groups.values()].entries()) {
        for (const c of rows) {
          const got = call(program, arch, nrOf(names[g]), argsWith(g % 6, c.arg));
          const want = actionValue(c.expected ? match : mismatch);
          runs++;
          if (got !== want) {
            failures.push(
              `${c.op} ${c.width} value=${c.value.toString(16)} mask=${c.mask?.toString(16)} ` +
                `arg${g % 6}=${c.arg.toString(16)}: got ${got.toString(16)}, want ${want.toString(16)}`,
            );
          }
        }
      }
      assert.equal(runs, cases.length);
      assert.deepEqual(failures.slice(0, 10), []);
    });
  }

  test("every argument index, both halves, on every arch", () => {
    for (const arch of ARCH_NAMES) {
      for (let index = 0; index < 6; index++) {
        const value = 0x11223344_55667788n;
        const filter = seccompFilter({
          arch,
          mismatchAction: errno(1),
          matchAction: ALLOW,
          rules: { ioctl: [rule(condition(index, "qword", "eq", value))] },
        });
        const program = generateProgram(filter);
        const nr = getArch(arch).syscalls.get("ioctl")!;
        assert.equal(call(program, arch, nr, argsWith(index, value)), SECCOMP_RET.ALLOW, `${arch} arg${index}`);
        // Swapped halves must not match: catches an endianness mix-up.
        const swapped = ((value & 0xffffffffn) << 32n) | (value >> 32n);
        assert.equal(call(program, arch, nr, argsWith(index, swapped)), SECCOMP_RET.ERRNO | 1, `${arch} arg${index}`);
        // The same value at another index must not match.
        const other = (index + 1) % 6;
        assert.equal(call(program, arch, nr, argsWith(other, value)), SECCOMP_RET.ERRNO | 1, `${arch} arg${index}`);
      }
    }
  });
});

// ---------------------------------------------------------------------------

describe("generateProgram: dispatch", () => {
  test("a foreign arch token is killed", () => {
    const tokens = [...ARCH_NAMES.map((a) => getArch(a).auditArch), 0x40000003, 0x40000028, 0x80000015, 0];
    for (const arch of ARCH_NAMES) {
      const filter = seccompFilter({ arch, mismatchAction: errno(1), matchAction: ALLOW, rules: { read: [], close: [] } });
      const program = generateProgram(filter);
      const read = getArch(arch).syscalls.get("read")!;
      for (const token of tokens) {
        const got = runFilter(program, { nr: read, arch: token, args: [] }, getArch(arch).endian).value;
        assert.equal(got, token === getArch(arch).auditArch ? SECCOMP_RET.ALLOW : KILL, `${arch} token ${token}`);
      }
    }
  });

  test("x32 numbers are killed on x86_64, even in a default-allow filter", () => {
    for (const [mismatchAction, matchAction] of [[errno(1), ALLOW], [ALLOW, errno(1)]] as const) {
      const filter = seccompFilter({ arch: "x86_64", mismatchAction, matchAction, rules: { read: [], execve: [] } });
      const program = generateProgram(filter);
      for (const nr of [X32_SYSCALL_BIT, X32_SYSCALL_BIT | 59, 0x40000208, 0x7fffffff, -1, 0x80000000]) {
        assert.equal(call(program, "x86_64", nr), KILL, `nr 0x${(nr >>> 0).toString(16)}`);
      }
      assert.equal(call(program, "x86_64", 59), actionValue(matchAction));
      assert.equal(call(program, "x86_64", 39), actionValue(mismatchAction));
    }
  });

  test("no x32 guard where there is no x32", () => {
    const filter = seccompFilter({ arch: "aarch64", mismatchAction: errno(1), matchAction: ALLOW, rules: { read: [] } });
    const program = generateProgram(filter);
    assert.equal(program.some((i) => i.k === X32_SYSCALL_BIT), false);
    assert.equal(call(program, "aarch64", X32_SYSCALL_BIT | 63), SECCOMP_RET.ERRNO | 1);
  });

  test("listed syscalls match, every unlisted number gets the mismatch action", () => {
    for (const arch of ARCH_NAMES) {
      const { match, mismatch } = ACTIONS[arch];
      const names = ["read", "write", "close", "getpid", "exit_group", "openat", "futex"];
      const filter = seccompFilter({ arch, mismatchAction: mismatch, matchAction: match, rules: Object.fromEntries(names.map((n) => [n, []])) });
      const program = generateProgram(filter);
      assertLoadable(program);
      const listed = new Set(names.map((n) => getArch(arch).syscalls.get(n)!));
      const top = Math.max(...getArch(arch).names.keys()) + 20;
      for (let nr = 0; nr <= top; nr++) {
        assert.equal(call(program, arch, nr), actionValue(listed.has(nr) ? match : mismatch), `${arch} nr ${nr}`);
      }
    }
  });

  test("an empty filter returns the mismatch action for everything", () => {
    const filter: Filter = { arch: "riscv64", mismatchAction: errno(2), matchAction: ALLOW, syscalls: [] };
    const program = generateProgram(filter);
    assertLoadable(program);
    for (const nr of [0, 63, 64, 500]) assert.equal(call(program, "riscv64", nr), SECCOMP_RET.ERRNO | 2);
    assert.equal(runFilter(program, { nr: 0, arch: 0xc000003e, args: [] }).value, KILL);
  });

  test("a swapped-in layout changes the bytes but not the behaviour", () => {
    const reversed: Layout = (b, plan) => {
      for (const entry of [...plan.syscalls].reverse()) b.jump(JEQ_K, entry.nr, entry.target, "next");
      b.ja(plan.mismatch);
    };
    const filter = seccompFilter({
      arch: "x86_64",
      mismatchAction: errno(1),
      matchAction: ALLOW,
      rules: { read: [], write: [rule(condition(0, "dword", "eq", 1))], close: [] },
    });
    const linear = generateProgram(filter, { layout: linearLayout });
    const other = generateProgram(filter, { layout: reversed });
    const searched = generateProgram(filter);
    assert.notDeepEqual(other, linear);
    assert.notDeepEqual(searched, linear, "the default is the cost-shaped search, not a layout");
    assertLoadable(other);
    assertLoadable(searched);
    for (const [nr, arg0] of [[0, 0n], [1, 1n], [1, 2n], [3, 0n], [4, 0n], [-1, 0n], [0x40000001, 0n]] as const) {
      assert.equal(call(other, "x86_64", nr, [arg0]), call(linear, "x86_64", nr, [arg0]), `nr ${nr}`);
      assert.equal(call(searched, "x86_64", nr, [arg0]), call(linear, "x86_64", nr, [arg0]), `nr ${nr}`);
    }
  });
});

// ---------------------------------------------------------------------------

describe("treeLayout (the default dispatch)", () => {
  /** A filter listing `count` syscalls of `arch`, every third one with an argument check. */
  function wideFilter(arch: ArchName, count: number, stride = 1) {
    const names = [...getArch(arch).syscalls.keys()].filter((_, i) => i % stride === 0).slice(0, count);
    return seccompFilter({
      arch,
      mismatchAction: errno(38),
      matchAction: ALLOW,
      rules: Object.fromEntries(names.map((name, i) => [name, i % 3 === 0 ? [rule(condition(0, "dword", "eq", 7))] : []])),
    });
  }

  for (const arch of ARCH_NAMES) {
    test(`${arch}: same verdict as the linear chain for every number, and the kernel's cache sees the same allows`, () => {
      for (const [count, stride] of [[0, 1], [1, 1], [TREE_LEAF_SIZE, 1], [TREE_LEAF_SIZE + 1, 1], [37, 3], [300, 1]]) {
        const filter = wideFilter(arch, count, stride);
        const tree = generateProgram(filter, { layout: treeLayout });
        const linear = generateProgram(filter, { layout: linearLayout });
        assertLoadable(tree);
        const maxNr = Math.max(0, ...getArch(arch).names.keys()) + 5;
        for (let nr = -1; nr <= maxNr; nr++) {
          for (const arg0 of [7n, 8n]) {
            assert.equal(call(tree, arch, nr, [arg0]), call(linear, arch, nr, [arg0]), `${count} syscalls, nr ${nr}, arg0 ${arg0}`);
          }
        }
        assert.deepEqual(actionCacheReport(tree, getArch(arch)), actionCacheReport(linear, getArch(arch)), `${count} syscalls`);
      }
    });
  }

  test("any number is decided in logarithmic steps", () => {
    const filter = wideFilter("x86_64", 300);
    const tree = generateProgram(filter, { layout: treeLayout });
    const linear = generateProgram(filter, { layout: linearLayout });
    const steps = (program: typeof tree) => {
      let worst = 0;
      for (let nr = 0; nr < 600; nr++) worst = Math.max(worst, runFilter(program, { nr, arch: 0xc000003e, args: [8n] }).steps);
      return worst;
    };
    // 5 fixed instructions (arch check, x32 guard) + ceil(log2(300 / 4)) splits + a 4-entry leaf + a few for the rules.
    assert.ok(steps(tree) <= 25, `tree worst case ${steps(tree)} steps`);
    assert.ok(steps(linear) >= 300, `linear worst case ${steps(linear)} steps`);
  });
});

// ---------------------------------------------------------------------------

describe("generateProgram: rules", () => {
  test("a masked test that is only about bits being set is one jset, without and; others keep and + jeq", () => {
    const cases: { mask: number; value: number; jset: boolean }[] = [
      { mask: 4, value: 0, jset: true }, // PROT_EXEC clear (Firecracker's mmap rules)
      { mask: 0x30, value: 0, jset: true }, // no bit of a wider mask
      { mask: 4, value: 4, jset: true }, // one bit set
      { mask: 6, value: 6, jset: false }, // two bits set: jset would accept either alone
      { mask: 6, value: 2, jset: false },
    ];
    for (const arch of ["x86_64", "aarch64", "s390x"] as const) {
      for (const { mask, value, jset } of cases) {
        const filter = seccompFilter({
          arch,
          mismatchAction: errno(1),
          matchAction: ALLOW,
          rules: { mmap: [rule(condition(2, "dword", "masked_eq", value, { mask }))] },
        });
        const program = generateProgram(filter);
        const label = `${arch} (x & ${mask}) == ${value}`;
        assert.equal(program.some((i) => i.code === JSET_K && i.k === mask), jset, `${label}: jset`);
        assert.equal(program.some((i) => i.code === AND_K), !jset, `${label}: and`);
        const nr = getArch(arch).syscalls.get("mmap")!;
        for (let x = 0; x < 64; x++) {
          const args = [otherArg(0), otherArg(1), BigInt(x) | 0xabc00n, otherArg(3)];
          const want = (x & mask) === value ? SECCOMP_RET.ALLOW : actionValue(errno(1));
          assert.equal(call(program, arch, nr, args), want, `${label}, x = ${x}`);
        }
      }
    }
  });

  test("values made of a few flag bits share one jset (futex's 0, 1, 128, 129); every value still gets its verdict", () => {
    // [allowed values, the jset's mask when the flag test is used (undefined: a plain search)]
    const cases: [readonly number[], number | undefined][] = [
      [[0, 1, 128, 137, 129], 0xffffff7e], // Firecracker's futex ops: FUTEX_WAIT, FUTEX_WAKE, their _PRIVATE forms, one more
      [[0, 1, 128, 129], 0xffffff7e],
      [[0, 2, 8, 10, 0x40, 0x42, 0x48, 0x4a], 0xffffffb5], // three bits, all eight combinations
      [[0, 2, 8, 10, 0x40, 0x42, 0x48], 0xfffffff5], // 0x4a missing: the two-bit set {0, 2, 8, 10}, then a search
      [[1, 128, 129], undefined], // 0 is not allowed: every flag set holds 0
      [[0, 1], undefined], // one bit: a range test does as well
    ];
    const sample = (allowed: readonly number[]) => {
      const values = new Set<number>([0xffffffff, 0x80000000, 0x100, 0x7fffffff]);
      for (const v of allowed) for (const d of [0, 1, 2, 4, 8, 0x80, 0x100, 0x10000]) values.add((v ^ d) >>> 0);
      for (let v = 0; v < 300; v++) values.add(v);
      return [...values];
    };
    for (const arch of ["x86_64", "aarch64", "s390x"] as const) {
      for (const [allowed, mask] of cases) {
        const filter = seccompFilter({
          arch,
          mismatchAction: errno(1),
          matchAction: ALLOW,
          rules: { futex: allowed.map((v) => rule(condition(1, "dword", "eq", v))) },
        });
        const program = generateProgram(filter);
        assertLoadable(program);
        const label = `${arch} {${allowed.join(", ")}}`;
        const jsets = program.filter((i) => i.code === JSET_K).map((i) => i.k);
        assert.deepEqual(jsets, mask === undefined ? [] : [mask], `${label}: jset`);
        const nr = getArch(arch).syscalls.get("futex")!;
        for (const x of sample(allowed)) {
          // The high half is ignored (dword), so garbage there must not matter.
          const args = [otherArg(0), BigInt(x) | (0x5a5a5a5an << 32n), otherArg(2)];
          const want = allowed.includes(x) ? SECCOMP_RET.ALLOW : actionValue(errno(1));
          assert.equal(call(program, arch, nr, args), want, `${label}, x = ${x}`);
        }
      }
    }
  });

  test("random flag-like value sets: every value gets its verdict, whatever plan wins", () => {
    // Deterministic pseudo-random sets: a few bits, most of their combinations, some other values.
    let seed = 0x5eed;
    const next = () => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0);
    const nr = getArch("x86_64").syscalls.get("futex")!;
    for (let round = 0; round < 60; round++) {
      const bits: number[] = [];
      while (bits.length < 1 + (next() % 4)) {
        const bit = 2 ** (next() % 32);
        if (!bits.includes(bit)) bits.push(bit);
      }
      const allowed = new Set<number>();
      for (let mask = 0; mask < 1 << bits.length; mask++) {
        if (next() % 5 === 0 && mask !== 0) continue; // sometimes a combination is missing
        allowed.add(bits.reduce((v, bit, i) => (mask & (1 << i) ? v + bit : v), 0));
      }
      for (let k = next() % 3; k > 0; k--) allowed.add(next());
      const values = [...allowed];
      const filter = seccompFilter({
        arch: "x86_64",
        mismatchAction: errno(1),
        matchAction: ALLOW,
        rules: { futex: values.map((v) => rule(condition(1, "dword", "eq", v))) },
      });
      const program = generateProgram(filter);
      assertLoadable(program);
      const probes = new Set<number>([0, 1, 0xffffffff]);
      for (const v of values) for (const bit of [0, ...bits, 1, 2, 0x80000000]) probes.add((v ^ bit) >>> 0);
      for (const x of probes) {
        const want = allowed.has(x) ? SECCOMP_RET.ALLOW : actionValue(errno(1));
        assert.equal(call(program, "x86_64", nr, [0n, BigInt(x)]), want, `round ${round} {${values.join(", ")}}, x = ${x}`);
      }
    }
  });

  for (const arch of ARCH_NAMES) {
    test(`OR of rules, AND of conditions, ranges on one index (${arch})`, () => {
      const filter = seccompFilter({
        arch,
        mismatchAction: errno(1),
        matchAction: ALLOW,
        rules: {
          // The example of docs/policy-format.md, §10.
          read: [],
          write: [
            rule(condition(0, "dword", "eq", 1)),
            rule(condition(0, "dword", "eq", 2), condition(2, "qword", "le", 4096)),
          ],
          // Two conditions on one index form a range; dword ignores the high half.
          close: [rule(condition(0, "dword", "ge", 20), condition(0, "dword", "lt", 40))],
          // A qword range straddling the 2^32 boundary.
          futex: [rule(condition(5, "qword", "gt", 0xffffff00n), condition(5, "qword", "le", 0x1_00000010n))],
        },
      });
      const program = generateProgram(filter);
      assertLoadable(program);
      const nr = (name: string) => getArch(arch).syscalls.get(name)!;
      const EPERM = SECCOMP_RET.ERRNO | 1;
      const ALLOWED = SECCOMP_RET.ALLOW;
      const expect = (name: string, args: bigint[], want: number) =>
        assert.equal(call(program, arch, nr(name), args), want, `${name}(${args.join(", ")})`);
      expect("read", [], ALLOWED);
      expect("write", [1n], ALLOWED);
      expect("write", [1n, 0n, 1n << 40n], ALLOWED);
      expect("write", [2n, 0n, 4096n], ALLOWED);
      expect("write", [2n, 0n, 0n], ALLOWED);
      expect("write", [2n, 0n, 4097n], EPERM);
      expect("write", [2n, 0n, 5000n], EPERM);
      expect("write", [2n, 0n, (1n << 32n) + 1n], EPERM);
      expect("write", [3n, 0n, 0n], EPERM);
      expect("write", [(7n << 32n) | 1n], ALLOWED);
      expect("getpid", [], EPERM);
      for (const [fd, want] of [[19n, EPERM], [20n, ALLOWED], [39n, ALLOWED], [40n, EPERM], [0n, EPERM]] as const) {
        expect("close", [fd], want);
        expect("close", [fd | (0xffffffffn << 32n)], want);
      }
      const futexArgs = (v: bigint) => [0n, 0n, 0n, 0n, 0n, v];
      expect("futex", futexArgs(0xffffff00n), EPERM);
      expect("futex", futexArgs(0xffffff01n), ALLOWED);
      expect("futex", futexArgs(0x1_00000000n), ALLOWED);
      expect("futex", futexArgs(0x1_00000010n), ALLOWED);
      expect("futex", futexArgs(0x1_00000011n), EPERM);
      expect("futex", futexArgs(0x10n), EPERM);
      expect("futex", futexArgs(0x2_00000005n), EPERM);
    });
  }

  test("a syscall's argument checks never run for another syscall", () => {
    // If write's body leaked onto read's path, read(1) would be decided by write's rule.
    const filter = seccompFilter({
      arch: "x86_64",
      mismatchAction: errno(1),
      matchAction: ALLOW,
      rules: { read: [rule(condition(0, "dword", "eq", 5))], write: [rule(condition(0, "dword", "eq", 1))] },
    });
    const program = generateProgram(filter);
    assert.equal(call(program, "x86_64", 0, [1n]), SECCOMP_RET.ERRNO | 1);
    assert.equal(call(program, "x86_64", 0, [5n]), SECCOMP_RET.ALLOW);
    assert.equal(call(program, "x86_64", 1, [5n]), SECCOMP_RET.ERRNO | 1);
    assert.equal(call(program, "x86_64", 1, [1n]), SECCOMP_RET.ALLOW);
  });

  for (const arch of ["x86_64", "s390x"] as const) {
    test(`jumps beyond 255 instructions (${arch})`, () => {
      // 60 syscalls, every other one with 12 rules: the dispatch's jumps to the
      // later bodies are hundreds of instructions long.
      const names = firstSyscalls(arch, 60);
      const entries = names.map((name, s): [string, Rule[]] => [
        name,
        s % 2 === 0 ? [] : Array.from({ length: 12 }, (_, r) => rule(condition(r % 6, "dword", "eq", 1000 * s + r))),
      ]);
      const filter = seccompFilter({ arch, mismatchAction: errno(1), matchAction: ALLOW, rules: entries });
      const program = generateProgram(filter);
      assertLoadable(program);
      assert.ok(program.some((i) => i.code === JA && i.k > 255), "a trampoline spans more than 255 instructions");
      for (const [s, name] of names.entries()) {
        const nr = getArch(arch).syscalls.get(name)!;
        if (s % 2 === 0) {
          assert.equal(call(program, arch, nr, argsWith(0, 123456n)), SECCOMP_RET.ALLOW, name);
          continue;
        }
        for (let r = 0; r < 12; r++) {
          const value = BigInt(1000 * s + r);
          assert.equal(call(program, arch, nr, argsWith(r % 6, value)), SECCOMP_RET.ALLOW, `${name} rule ${r}`);
          assert.equal(call(program, arch, nr, argsWith(r % 6, value + 1n)), SECCOMP_RET.ERRNO | 1, `${name} rule ${r}`);
        }
      }
    });
  }

  test("programs over 4096 instructions are produced whole", () => {
    const names = firstSyscalls("aarch64", 40);
    const entries = names.map((name, s): [string, Rule[]] => [
      name,
      Array.from({ length: 80 }, (_, r) => rule(condition(r % 6, "qword", "eq", BigInt(s) << 32n | BigInt(r)))),
    ]);
    const filter = seccompFilter({ arch: "aarch64", mismatchAction: KILL_PROCESS, matchAction: ALLOW, rules: entries });
    const program = generateProgram(filter);
    assert.ok(program.length > BPF_MAXINSNS, `length ${program.length}`);
    assert.deepEqual(validateProgram(program).map((i) => i.code), ["too-long"]);
    assertLoadable(program, true);
    for (const [s, name] of names.entries()) {
      const nr = getArch("aarch64").syscalls.get(name)!;
      for (const r of [0, 41, 79]) {
        const value = BigInt(s) << 32n | BigInt(r);
        assert.equal(call(program, "aarch64", nr, argsWith(r % 6, value)), SECCOMP_RET.ALLOW, `${name} rule ${r}`);
        assert.equal(call(program, "aarch64", nr, argsWith(r % 6, value ^ (1n << 40n))), KILL, `${name} rule ${r}`);
      }
    }
  });
});

// ---------------------------------------------------------------------------

describe("generateProgram: properties", () => {
  test("deterministic", () => {
    const rules = {
      write: [rule(condition(0, "dword", "eq", 1)), rule(condition(1, "qword", "masked_eq", 0n, { mask: 4n }))],
      read: [],
      mmap: [rule(condition(2, "dword", "masked_eq", 0, { mask: 4 }), condition(3, "dword", "eq", 34))],
      close: [],
    };
    const reordered = { close: rules.close, mmap: rules.mmap, read: rules.read, write: rules.write };
    for (const arch of ARCH_NAMES) {
      const build = (r: typeof rules) => generateProgram(seccompFilter({ arch, mismatchAction: TRAP, matchAction: ALLOW, rules: r }));
      const first = build(rules);
      assert.deepEqual(build(rules), first);
      assert.deepEqual(build(reordered), first, "key order of the input does not matter");
    }
  });

  test("unconditional allows reach a literal ret ALLOW through cacheable code only", () => {
    for (const arch of ARCH_NAMES) {
      const info = getArch(arch);
      const unconditional = ["read", "close", "getpid", "exit_group"];
      const conditional = ["write", "ioctl", "futex", "mmap"];
      const filter = seccompFilter({
        arch,
        mismatchAction: errno(1),
        matchAction: ALLOW,
        rules: Object.fromEntries([
          ...unconditional.map((n) => [n, []]),
          ...conditional.map((n, i) => [n, [rule(condition(i, "qword", "ge", 5n)), rule(condition(5, "dword", "eq", 1))]]),
        ]),
      });
      const program = generateProgram(filter);
      for (const name of unconditional) {
        const path = cachePath(program, info.syscalls.get(name)!, info.auditArch);
        const last = path[path.length - 1];
        assert.deepEqual([last.code, last.k], [RET_K, SECCOMP_RET.ALLOW], `${arch} ${name} ends in ret ALLOW`);
        assert.equal(path.some((i) => i.code === LD_ABS && i.k >= 8), false, `${arch} ${name} loads no argument`);
      }
      for (const name of conditional) {
        // The walker does see argument loads when they are on the path.
        const path = cachePath(program, info.syscalls.get(name)!, info.auditArch);
        const last = path[path.length - 1];
        assert.ok(last.code === LD_ABS && last.k >= 16, `${arch} ${name} checks arguments`);
      }
    }
  });
});
