import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { SECCOMP_RET } from "../src/action.ts";
import { getArch, hostArch } from "../src/arch/arch.ts";
import { BPF_MAXINSNS, JA, JEQ_K, jump, LD_ABS, type Instruction, type Program, RET_K, SECCOMP_DATA, stmt } from "../src/bpf/insn.ts";
import { runFilter } from "../src/bpf/interpreter.ts";
import { compileFilter } from "../src/compile.ts";
import { ALLOW, condition, errno, rule, seccompFilter } from "../src/ir.ts";
import { CHILDREN, childJson, runChild } from "./support/children/spawn.ts";
import { operatorCases, type OperatorCase } from "./support/operator-cases.ts";

// Every operator × width case of the compiler tests, installed for real. Each distinct condition
// compiles to its own program (getppid with that condition on args[id % 5] → errno(1), everything
// else allowed). The programs are embedded unchanged (BPF jumps are relative) behind a dispatcher
// on args[5] = program id, packed into stacked filters of ≤ 4096 instructions, and installed in one
// Bun child, which calls getppid once per case. The kernel's verdict must equal the interpreter's
// on the case's own program, and the truth table's expectation.

const arch = getArch(hostArch()!);
const GETPPID = arch.syscalls.get("getppid")!;
const MATCH_ERRNO = 1;
// The low half of args[5]: ids are small, so the high half is always 0.
const ID_OFFSET = SECCOMP_DATA.ARGS + 8 * 5 + (arch.endian === "little" ? 0 : 4);

interface Block {
  readonly id: number;
  readonly index: 0 | 1 | 2 | 3 | 4;
  readonly program: Program;
  readonly cases: OperatorCase[];
}

/** One compiled program per distinct condition. */
function buildBlocks(cases: readonly OperatorCase[]): Block[] {
  const byCondition = new Map<string, OperatorCase[]>();
  for (const c of cases) {
    const key = `${c.op}/${c.width}/${c.value}/${c.mask}`;
    byCondition.set(key, [...(byCondition.get(key) ?? []), c]);
  }
  return [...byCondition.values()].map((group, id) => {
    const { op, width, value, mask } = group[0];
    const index = (id % 5) as Block["index"];
    const cond = condition(index, width, op, value, mask === undefined ? {} : { mask });
    const filter = seccompFilter({ arch: arch.name, mismatchAction: ALLOW, matchAction: errno(MATCH_ERRNO), rules: { getppid: [rule(cond)] } });
    return { id, index, program: compileFilter(filter), cases: group };
  });
}

/** Blocks behind a dispatcher on args[5]; non-getppid calls and unknown ids are allowed. */
function packFilter(blocks: readonly Block[]): Program {
  const head: Instruction[] = [
    stmt(LD_ABS, SECCOMP_DATA.NR),
    jump(JEQ_K, GETPPID, 1, 0),
    stmt(RET_K, SECCOMP_RET.ALLOW),
    stmt(LD_ABS, ID_OFFSET),
  ];
  const dispatchStart = head.length;
  const firstBlock = dispatchStart + 2 * blocks.length + 1;
  const dispatch: Instruction[] = [];
  let target = firstBlock;
  blocks.forEach((block, i) => {
    const jaPc = dispatchStart + 2 * i + 1;
    dispatch.push(jump(JEQ_K, block.id, 0, 1), stmt(JA, target - jaPc - 1));
    target += block.program.length;
  });
  return [...head, ...dispatch, stmt(RET_K, SECCOMP_RET.ALLOW), ...blocks.flatMap((b) => b.program)];
}

/** Greedy packing into filters under the kernel's 4096 instructions. */
function packFilters(blocks: readonly Block[]): { filter: Program; blocks: Block[] }[] {
  const out: { filter: Program; blocks: Block[] }[] = [];
  let current: Block[] = [];
  const size = (bs: Block[]) => 5 + 2 * bs.length + bs.reduce((n, b) => n + b.program.length, 0);
  for (const block of blocks) {
    if (current.length > 0 && size([...current, block]) > BPF_MAXINSNS) {
      out.push({ filter: packFilter(current), blocks: current });
      current = [];
    }
    current.push(block);
  }
  if (current.length > 0) out.push({ filter: packFilter(current), blocks: current });
  return out;
}

/** 0 for ALLOW, the errno for ERRNO; anything else is a failure of this harness. */
function verdictOf(value: number): number {
  if (value === SECCOMP_RET.ALLOW) return 0;
  assert.equal((value & 0xffff0000) >>> 0, SECCOMP_RET.ERRNO, `unexpected return 0x${value.toString(16)}`);
  return value & 0xffff;
}

describe("operators on the real kernel", () => {
  test("kernel verdict == interpreter verdict == truth table, for every operator × width case", () => {
    const cases = operatorCases();
    const blocks = buildBlocks(cases);
    const packed = packFilters(blocks);
    assert.ok(packed.length >= 1 && packed.length <= 7, `${packed.length} filters stay under the 32768-instruction stack budget`);
    const calls = blocks.flatMap((block) => block.cases.map((c) => ({ id: block.id, index: block.index, arg: c.arg, block, c })));
    const interpreted = calls.map(({ id, index, arg, block }) => {
      const args = [0n, 0n, 0n, 0n, 0n, BigInt(id)];
      args[index] = arg;
      const data = { nr: GETPPID, arch: arch.auditArch, args };
      const own = verdictOf(runFilter(block.program, data, arch.endian).value);
      const filter = packed.find((p) => p.blocks.includes(block))!.filter;
      assert.equal(verdictOf(runFilter(filter, data, arch.endian).value), own, "the dispatcher preserves the program's verdict");
      return own;
    });
    const input = JSON.stringify({
      filters: packed.map((p) => p.filter.map((i) => [i.code, i.jt, i.jf, i.k])),
      calls: calls.map(({ id, index, arg }) => ({ id, index, arg: arg.toString() })),
    });
    const json = childJson(runChild("bun", join(CHILDREN, "kernel-verdicts.ts"), [], { input }));
    assert.equal(json.error, undefined, JSON.stringify(json.error));
    const kernel: number[] = json.verdicts;
    assert.equal(kernel.length, calls.length);
    const mismatches: string[] = [];
    calls.forEach(({ c, index }, i) => {
      const expected = c.expected ? MATCH_ERRNO : 0;
      if (kernel[i] !== interpreted[i] || kernel[i] !== expected) {
        const mask = c.mask === undefined ? "" : ` mask 0x${c.mask.toString(16)}`;
        mismatches.push(
          `${c.op} ${c.width} 0x${c.value.toString(16)}${mask} on args[${index}] = 0x${c.arg.toString(16)}: ` +
            `kernel ${kernel[i]}, interpreter ${interpreted[i]}, table ${expected}`,
        );
      }
    });
    assert.deepEqual(mismatches, []);
    // Both outcomes occur, so the comparison cannot pass vacuously.
    assert.ok(kernel.includes(0) && kernel.includes(MATCH_ERRNO));
    assert.equal(calls.length, cases.length);
  });
});
