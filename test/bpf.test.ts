// deno-facing
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import {
  BPF,
  BPF_MAXINSNS,
  type Instruction,
  instructionClass,
  instructionMode,
  instructionOp,
  instructionSize,
  isConditionalJump,
  isJump,
  isRet,
  isUnconditionalJump,
  jump,
  miscOp,
  type Program,
  stmt,
} from "../src/bpf/insn.ts";
import { decodeProgram, encodeProgram, readRawBpf } from "../src/bpf/encode.ts";
import { BpfError } from "../src/bpf/errors.ts";
import { SECCOMP_OPCODES, validateProgram } from "../src/bpf/validate.ts";
import { runFilter, type SeccompData } from "../src/bpf/interpreter.ts";
import { disassemble, formatInstruction } from "../src/bpf/disasm.ts";

/** Bytes from a hex dump like "20 00 ff". */
function bytes(dump: string): Uint8Array {
  const parts = dump.trim().split(/\s+/);
  return Uint8Array.from(parts, (part) => parseInt(part, 16));
}

function toHex(data: Uint8Array): string {
  return [...data].map((b) => b.toString(16).padStart(2, "0")).join(" ");
}

const LD_ABS = BPF.LD | BPF.W | BPF.ABS;
const RET_K = BPF.RET | BPF.K;
const RET_A = BPF.RET | BPF.A;
const ALLOW = 0x7fff0000;
const X86_64 = 0xc000003e;

/** "ERRNO(1) for getpid, allow everything else" on x86_64: 7 instructions, 56 bytes in the raw `.bpf` form (docs/kernel-seccomp.md, §3). */
const GETPID: Program = [
  stmt(LD_ABS, 4),
  jump(BPF.JMP | BPF.JEQ | BPF.K, X86_64, 1, 0),
  stmt(RET_K, 0x80000000),
  stmt(LD_ABS, 0),
  jump(BPF.JMP | BPF.JEQ | BPF.K, 39, 0, 1),
  stmt(RET_K, 0x00050001),
  stmt(RET_K, ALLOW),
];
const GETPID_BYTES = bytes(`
  20 00 00 00 04 00 00 00
  15 00 01 00 3e 00 00 c0
  06 00 00 00 00 00 00 80
  20 00 00 00 00 00 00 00
  15 00 00 01 27 00 00 00
  06 00 00 00 01 00 05 00
  06 00 00 00 00 00 ff 7f`);

const NO_DATA: SeccompData = { nr: 0, arch: X86_64, args: [] };

function run(program: Program, data: SeccompData = NO_DATA, endian: "little" | "big" = "little") {
  return runFilter(program, data, endian);
}

function issueCodes(program: Program): string[] {
  return validateProgram(program).map((issue) => issue.code);
}

function throwsBpf(fn: () => unknown, code: string): BpfError {
  let caught: unknown;
  try {
    fn();
  } catch (error) {
    caught = error;
  }
  assert.ok(caught instanceof BpfError, `expected BpfError ${code}, got ${String(caught)}`);
  assert.equal(caught.code, code, caught.message);
  assert.ok(caught.message.length > 10);
  return caught;
}

describe("opcode fields", () => {
  test("split every seccomp opcode into the fields it was built from", () => {
    const names = (code: number) =>
      [isJump(code) && "jump", isConditionalJump(code) && "cond", isUnconditionalJump(code) && "ja", isRet(code) && "ret"]
        .filter(Boolean).join(",");
    const seen = new Map<number, string>();
    for (const code of SECCOMP_OPCODES) seen.set(code, names(code));
    // The jumps and returns seccomp accepts, and nothing else among its opcodes.
    assert.deepEqual(
      [...seen].filter(([, n]) => n !== "").sort(([a], [b]) => a - b),
      [
        [BPF.JMP | BPF.JA, "jump,ja"],
        [BPF.JMP | BPF.JEQ | BPF.K, "jump,cond"],
        [BPF.JMP | BPF.JEQ | BPF.X, "jump,cond"],
        [BPF.JMP | BPF.JGT | BPF.K, "jump,cond"],
        [BPF.JMP | BPF.JGT | BPF.X, "jump,cond"],
        [BPF.JMP | BPF.JGE | BPF.K, "jump,cond"],
        [BPF.JMP | BPF.JGE | BPF.X, "jump,cond"],
        [BPF.JMP | BPF.JSET | BPF.K, "jump,cond"],
        [BPF.JMP | BPF.JSET | BPF.X, "jump,cond"],
        [BPF.RET | BPF.K, "ret"],
        [BPF.RET | BPF.A, "ret"],
      ].sort(([a], [b]) => (a as number) - (b as number)),
    );
    const ldHalfInd = BPF.LD | BPF.H | BPF.IND;
    assert.deepEqual(
      [instructionClass(ldHalfInd), instructionSize(ldHalfInd), instructionMode(ldHalfInd)],
      [BPF.LD, BPF.H, BPF.IND],
    );
    assert.equal(instructionOp(BPF.ALU | BPF.XOR | BPF.X), BPF.XOR);
    assert.equal(miscOp(BPF.MISC | BPF.TXA), BPF.TXA);
    assert.equal(miscOp(BPF.MISC | BPF.TAX), BPF.TAX);
  });
});

describe("encoder", () => {
  test("the raw getpid example, byte for byte", () => {
    assert.equal(toHex(encodeProgram(GETPID)), toHex(GETPID_BYTES));
    assert.equal(toHex(encodeProgram(GETPID, "little")), toHex(GETPID_BYTES));
    assert.deepEqual(decodeProgram(GETPID_BYTES), GETPID);
  });

  test("big-endian (s390x) swaps the bytes of code and k, not jt/jf", () => {
    const big = encodeProgram(GETPID, "big");
    assert.equal(big.length, 56);
    for (let i = 0; i < GETPID.length; i++) {
      const le = GETPID_BYTES.subarray(i * 8, i * 8 + 8);
      const be = big.subarray(i * 8, i * 8 + 8);
      assert.deepEqual([...be], [le[1], le[0], le[2], le[3], le[7], le[6], le[5], le[4]], `insn ${i}`);
    }
    assert.equal(toHex(big.subarray(8, 16)), "00 15 01 00 c0 00 00 3e");
    assert.deepEqual(decodeProgram(big, "big"), GETPID);
    // Reading with the wrong byte order gives different instructions.
    assert.notDeepEqual(decodeProgram(big, "little"), GETPID);
  });

  test("round trip of arbitrary field values in both byte orders", () => {
    const program: Instruction[] = [];
    let seed = 12345;
    const next = () => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0);
    for (let i = 0; i < 200; i++) {
      program.push({ code: next() & 0xffff, jt: next() & 0xff, jf: next() & 0xff, k: next() });
    }
    program.push({ code: 0xffff, jt: 255, jf: 255, k: 0xffffffff }, { code: 0, jt: 0, jf: 0, k: 0 });
    for (const endian of ["little", "big"] as const) {
      const encoded = encodeProgram(program, endian);
      assert.equal(encoded.length, program.length * 8);
      assert.deepEqual(decodeProgram(encoded, endian), program);
    }
  });

  test("decodes from a subarray with a non-zero byte offset", () => {
    const padded = new Uint8Array(3 + GETPID_BYTES.length);
    padded.set(GETPID_BYTES, 3);
    assert.deepEqual(decodeProgram(padded.subarray(3)), GETPID);
  });

  test("decodeProgram rejects a size that is not a multiple of 8", () => {
    throwsBpf(() => decodeProgram(new Uint8Array(9)), "bad-length");
    throwsBpf(() => decodeProgram(new Uint8Array(7), "big"), "bad-length");
    assert.deepEqual(decodeProgram(new Uint8Array(0)), []);
  });

  test("encodeProgram refuses fields that do not fit", () => {
    const error = throwsBpf(() => encodeProgram([stmt(RET_K, 0), { code: 6, jt: 256, jf: 0, k: 0 }]), "bad-field");
    assert.equal(error.pc, 1);
    throwsBpf(() => encodeProgram([{ code: 0x10000, jt: 0, jf: 0, k: 0 }]), "bad-field");
    throwsBpf(() => encodeProgram([{ code: 6, jt: 0, jf: 0, k: -1 }]), "bad-field");
    throwsBpf(() => encodeProgram([{ code: 6, jt: 0, jf: 0, k: 2 ** 32 }]), "bad-field");
    throwsBpf(() => encodeProgram([{ code: 6, jt: 0.5, jf: 0, k: 0 }]), "bad-field");
  });
});

describe("raw .bpf reader", () => {
  test("reads a valid file in either byte order", () => {
    assert.deepEqual(readRawBpf(GETPID_BYTES, "little"), GETPID);
    assert.deepEqual(readRawBpf(encodeProgram(GETPID, "big"), "big"), GETPID);
  });

  test("each rejection has its own code", () => {
    throwsBpf(() => readRawBpf(new Uint8Array(0)), "empty");
    throwsBpf(() => readRawBpf(GETPID_BYTES.subarray(0, 13)), "bad-length");
    const tooLong = encodeProgram(new Array(BPF_MAXINSNS + 1).fill(stmt(RET_K, ALLOW)));
    throwsBpf(() => readRawBpf(tooLong), "too-long");
    // A big-endian file read as little-endian has garbage opcodes.
    const invalid = throwsBpf(() => readRawBpf(encodeProgram(GETPID, "big"), "little"), "invalid-program");
    assert.equal(invalid.pc, 0);
    assert.ok(invalid.issues && invalid.issues.length > 0);
    const noRet = throwsBpf(() => readRawBpf(encodeProgram([stmt(LD_ABS, 0)])), "invalid-program");
    assert.match(noRet.message, /instruction 0: .*not a ret/);
  });

  test("exactly 4096 instructions is accepted", () => {
    const program = [...new Array(BPF_MAXINSNS - 1).fill(stmt(LD_ABS, 0)), stmt(RET_K, ALLOW)];
    assert.equal(readRawBpf(encodeProgram(program)).length, BPF_MAXINSNS);
  });
});

describe("interpreter", () => {
  test("the getpid example: results and steps", () => {
    assert.deepEqual(run(GETPID, { nr: 39, arch: X86_64, args: [] }), { value: 0x00050001, steps: 5 });
    assert.deepEqual(run(GETPID, { nr: 40, arch: X86_64, args: [] }), { value: ALLOW, steps: 5 });
    assert.deepEqual(run(GETPID, { nr: 39, arch: 0x40000003, args: [] }), { value: 0x80000000, steps: 3 });
  });

  const aluCases: [string, number, number, number, number][] = [
    // name, op, A, operand, expected
    ["add", BPF.ADD, 5, 7, 12],
    ["add wraps", BPF.ADD, 0xffffffff, 2, 1],
    ["sub", BPF.SUB, 9, 4, 5],
    ["sub wraps", BPF.SUB, 1, 2, 0xffffffff],
    ["mul", BPF.MUL, 6, 7, 42],
    ["mul wraps", BPF.MUL, 0x10000, 0x10000, 0],
    ["mul large", BPF.MUL, 0xffffffff, 0xffffffff, 1],
    ["mul high bits", BPF.MUL, 0x12345678, 0x9abcdef1, 0x366176f8],
    ["div", BPF.DIV, 7, 2, 3],
    ["div large", BPF.DIV, 0xffffffff, 3, 0x55555555],
    ["div exact near 2^32", BPF.DIV, 0xfffffffe, 0xffffffff, 0],
    ["or", BPF.OR, 0xf0f00000, 0x0f0f0001, 0xffff0001],
    ["and", BPF.AND, 0xff00ff00, 0x0ff00ff0, 0x0f000f00],
    ["xor", BPF.XOR, 0xffff0000, 0xff00ff00, 0x00ffff00],
    ["lsh", BPF.LSH, 3, 31, 0x80000000],
    ["lsh drops bits", BPF.LSH, 0xdefc0, 9, 0x1bdf8000],
    ["rsh", BPF.RSH, 0x80000000, 31, 1],
    ["rsh logical", BPF.RSH, 0xffffffff, 4, 0x0fffffff],
  ];

  for (const [name, op, a, operand, expected] of aluCases) {
    test(`ALU ${name}: K and X forms`, () => {
      const kForm = [stmt(BPF.LD | BPF.IMM, a), stmt(BPF.ALU | op | BPF.K, operand), stmt(RET_A, 0)];
      const xForm = [
        stmt(BPF.LD | BPF.IMM, a),
        stmt(BPF.LDX | BPF.IMM, operand),
        stmt(BPF.ALU | op | BPF.X, 0),
        stmt(RET_A, 0),
      ];
      assert.deepEqual(run(kForm), { value: expected, steps: 3 });
      assert.deepEqual(run(xForm), { value: expected, steps: 4 });
    });
  }

  test("neg", () => {
    const neg = (a: number) => run([stmt(BPF.LD | BPF.IMM, a), stmt(BPF.ALU | BPF.NEG, 0), stmt(RET_A, 0)]).value;
    assert.equal(neg(1), 0xffffffff);
    assert.equal(neg(0), 0);
    assert.equal(neg(0x80000000), 0x80000000);
    assert.equal(neg(0xffffffff), 1);
  });

  test("shifts by X use the count modulo 32", () => {
    const shift = (op: number, a: number, x: number) =>
      run([stmt(BPF.LD | BPF.IMM, a), stmt(BPF.LDX | BPF.IMM, x), stmt(BPF.ALU | op | BPF.X, 0), stmt(RET_A, 0)])
        .value;
    assert.equal(shift(BPF.LSH, 0x12345678, 32), 0x12345678);
    assert.equal(shift(BPF.LSH, 1, 33), 2);
    assert.equal(shift(BPF.RSH, 0x80000000, 63), 1);
    assert.equal(shift(BPF.RSH, 0x80000000, 0), 0x80000000);
  });

  test("runtime division by X = 0 returns 0 (KILL_THREAD) at once", () => {
    const program = [
      stmt(BPF.LD | BPF.IMM, 10),
      stmt(BPF.LDX | BPF.IMM, 0),
      stmt(BPF.ALU | BPF.DIV | BPF.X, 0),
      stmt(RET_K, ALLOW),
    ];
    assert.deepEqual(run(program), { value: 0, steps: 3 });
  });

  const jumpCases: [string, number, number, number, boolean][] = [
    // name, op, A, operand, taken
    ["jeq equal", BPF.JEQ, 5, 5, true],
    ["jeq different", BPF.JEQ, 5, 6, false],
    ["jgt greater", BPF.JGT, 6, 5, true],
    ["jgt equal", BPF.JGT, 5, 5, false],
    ["jgt unsigned", BPF.JGT, 0x80000000, 1, true],
    ["jge equal", BPF.JGE, 5, 5, true],
    ["jge less", BPF.JGE, 4, 5, false],
    ["jge unsigned", BPF.JGE, 0xffffffff, 0x7fffffff, true],
    ["jset common bit", BPF.JSET, 0x40000001, 0x40000000, true],
    ["jset no common bit", BPF.JSET, 0x3fffffff, 0x40000000, false],
  ];

  for (const [name, op, a, operand, taken] of jumpCases) {
    test(`jump ${name}: K and X forms`, () => {
      // jt skips 2 to "ret #1", jf skips 1 to "ret #2"; the fall-through "ret #3" is never reached.
      const kForm = [
        stmt(BPF.LD | BPF.IMM, a),
        jump(BPF.JMP | op | BPF.K, operand, 2, 1),
        stmt(RET_K, 3),
        stmt(RET_K, 2),
        stmt(RET_K, 1),
      ];
      const xForm = [
        stmt(BPF.LDX | BPF.IMM, operand),
        stmt(BPF.LD | BPF.IMM, a),
        jump(BPF.JMP | op | BPF.X, 0, 2, 1),
        stmt(RET_K, 3),
        stmt(RET_K, 2),
        stmt(RET_K, 1),
      ];
      assert.deepEqual(run(kForm), { value: taken ? 1 : 2, steps: 3 });
      assert.deepEqual(run(xForm), { value: taken ? 1 : 2, steps: 4 });
    });
  }

  test("ja jumps forward by k, beyond the 8-bit range", () => {
    const program = [jump(BPF.JMP | BPF.JA, 300, 0, 0), ...new Array(300).fill(stmt(RET_K, 1)), stmt(RET_K, 2)];
    assert.deepEqual(run(program), { value: 2, steps: 2 });
    assert.deepEqual(run([jump(BPF.JMP | BPF.JA, 0, 0, 0), stmt(RET_K, 7)]), { value: 7, steps: 2 });
  });

  test("scratch memory, tax and txa", () => {
    const program = [
      stmt(BPF.LD | BPF.IMM, 11),
      stmt(BPF.ST, 0),
      stmt(BPF.LDX | BPF.IMM, 22),
      stmt(BPF.STX, 15),
      stmt(BPF.LD | BPF.MEM, 15), // A = 22
      stmt(BPF.LDX | BPF.MEM, 0), // X = 11
      stmt(BPF.ALU | BPF.SUB | BPF.X, 0), // A = 11
      stmt(BPF.MISC | BPF.TAX, 0), // X = 11
      stmt(BPF.LD | BPF.IMM, 100),
      stmt(BPF.ALU | BPF.ADD | BPF.X, 0), // A = 111
      stmt(BPF.ST, 3),
      stmt(BPF.LDX | BPF.MEM, 3),
      stmt(BPF.LD | BPF.IMM, 0),
      stmt(BPF.MISC | BPF.TXA, 0), // A = 111
      stmt(RET_A, 0),
    ];
    assert.deepEqual(run(program), { value: 111, steps: 15 });
  });

  test("scratch memory does not leak between runs", () => {
    run([stmt(BPF.LD | BPF.IMM, 99), stmt(BPF.ST, 5), stmt(RET_K, 0)]);
    // Reads M[5] without writing it (invalid for the kernel, but must not see 99).
    assert.equal(run([stmt(BPF.LD | BPF.MEM, 5), stmt(RET_A, 0)]).value, 0);
  });

  test("ld #len and ldx #len give 64", () => {
    assert.equal(run([stmt(BPF.LD | BPF.W | BPF.LEN, 0), stmt(RET_A, 0)]).value, 64);
    const viaX = [stmt(BPF.LDX | BPF.W | BPF.LEN, 0), stmt(BPF.MISC | BPF.TXA, 0), stmt(RET_A, 0)];
    assert.deepEqual(run(viaX), { value: 64, steps: 3 });
  });

  test("ld #k and ret #k", () => {
    assert.deepEqual(run([stmt(BPF.LD | BPF.IMM, 0xdeadbeef), stmt(RET_A, 0)]), { value: 0xdeadbeef, steps: 2 });
    assert.deepEqual(run([stmt(RET_K, 0xffffffff)]), { value: 0xffffffff, steps: 1 });
  });

  /** Returns the word at each offset 0, 4, ..., 60 as the filter sees it. */
  function dataWords(data: SeccompData, endian: "little" | "big"): number[] {
    const result: number[] = [];
    for (let offset = 0; offset < 64; offset += 4) {
      result.push(run([stmt(LD_ABS, offset), stmt(RET_A, 0)], data, endian).value);
    }
    return result;
  }

  test("seccomp_data layout, little-endian: low half at the lower offset", () => {
    const data: SeccompData = {
      nr: -1,
      arch: X86_64,
      instructionPointer: 0x0000_7fff_1234_5678n,
      args: [0x1122334455667788n, 1n, 0xffffffffn, 0x100000000n, -1n, 0xaaaabbbbccccddddn],
    };
    assert.deepEqual(dataWords(data, "little"), [
      0xffffffff, X86_64,
      0x12345678, 0x00007fff,
      0x55667788, 0x11223344,
      1, 0,
      0xffffffff, 0,
      0, 1,
      0xffffffff, 0xffffffff,
      0xccccdddd, 0xaaaabbbb,
    ]);
  });

  test("seccomp_data layout, big-endian: high half at the lower offset", () => {
    const data: SeccompData = {
      nr: 20,
      arch: 0x80000016,
      instructionPointer: 0x0000_7fff_1234_5678n,
      args: [0x1122334455667788n, 1n, 0xffffffffn, 0x100000000n, -1n, 0xaaaabbbbccccddddn],
    };
    assert.deepEqual(dataWords(data, "big"), [
      20, 0x80000016,
      0x00007fff, 0x12345678,
      0x11223344, 0x55667788,
      0, 1,
      0, 0xffffffff,
      1, 0,
      0xffffffff, 0xffffffff,
      0xaaaabbbb, 0xccccdddd,
    ]);
  });

  test("missing arguments and instruction pointer read as 0", () => {
    const words = dataWords({ nr: 1, arch: 2, args: [5n] }, "little");
    assert.deepEqual(words, [1, 2, 0, 0, 5, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
  });

  test("an argument check reads the right half per byte order", () => {
    // allow iff args[1] == 0x1_00000002 (hi 1, lo 2), laid out for the given target.
    const check = (lowOffset: number, highOffset: number) => [
      stmt(LD_ABS, lowOffset),
      jump(BPF.JMP | BPF.JEQ | BPF.K, 2, 0, 3),
      stmt(LD_ABS, highOffset),
      jump(BPF.JMP | BPF.JEQ | BPF.K, 1, 0, 1),
      stmt(RET_K, ALLOW),
      stmt(RET_K, 0),
    ];
    const data = { nr: 0, arch: 0, args: [0n, 0x1_0000_0002n] };
    assert.deepEqual(run(check(24, 28), data, "little"), { value: ALLOW, steps: 5 });
    assert.deepEqual(run(check(28, 24), data, "big"), { value: ALLOW, steps: 5 });
    assert.deepEqual(run(check(24, 28), data, "big"), { value: 0, steps: 3 });
  });

  test("programs that cannot finish throw BpfError", () => {
    throwsBpf(() => run([stmt(BPF.LD | BPF.IMM, 1)]), "fell-off-end");
    throwsBpf(() => run([jump(BPF.JMP | BPF.JEQ | BPF.K, 0, 5, 5), stmt(RET_K, 0)]), "fell-off-end");
    throwsBpf(() => run([]), "fell-off-end");
    const mod = throwsBpf(() => run([stmt(BPF.LD | BPF.IMM, 1), stmt(BPF.ALU | BPF.MOD | BPF.K, 1)]), "invalid-opcode");
    assert.equal(mod.pc, 1);
    throwsBpf(() => run([stmt(BPF.LD | BPF.H | BPF.ABS, 0), stmt(RET_A, 0)]), "invalid-opcode");
    throwsBpf(() => run([stmt(LD_ABS, 64), stmt(RET_A, 0)]), "load-out-of-range");
    throwsBpf(() => run([stmt(BPF.ST, 16), stmt(RET_A, 0)]), "bad-memory-index");
  });
});

describe("validator", () => {
  test("accepts a valid program, and one of exactly 4096 instructions", () => {
    assert.deepEqual(validateProgram(GETPID), []);
    const max = [
      stmt(LD_ABS, 0),
      jump(BPF.JMP | BPF.JA, BPF_MAXINSNS - 3, 0, 0),
      ...new Array(BPF_MAXINSNS - 3).fill(jump(BPF.JMP | BPF.JEQ | BPF.K, 1, 0, 0)),
      stmt(RET_K, ALLOW),
    ];
    assert.equal(max.length, BPF_MAXINSNS);
    assert.deepEqual(validateProgram(max), []);
  });

  test("empty-program", () => {
    assert.deepEqual(issueCodes([]), ["empty-program"]);
  });

  test("too-long: 4097 instructions", () => {
    const program = new Array(BPF_MAXINSNS + 1).fill(stmt(RET_K, ALLOW));
    const issues = validateProgram(program);
    assert.deepEqual(issues.map((i) => i.code), ["too-long"]);
    assert.equal(issues[0].pc, BPF_MAXINSNS);
  });

  test("accepts exactly the opcodes listed in docs/kernel-seccomp.md, §3", () => {
    const listed = [
      0x20, 0x80, 0x81, 0x00, 0x01, 0x60, 0x61, 0x02, 0x03,
      0x04, 0x0c, 0x14, 0x1c, 0x24, 0x2c, 0x34, 0x3c, 0x44, 0x4c, 0x54, 0x5c, 0x64, 0x6c, 0x74, 0x7c,
      0xa4, 0xac, 0x84,
      0x05, 0x15, 0x1d, 0x25, 0x2d, 0x35, 0x3d, 0x45, 0x4d,
      0x06, 0x16, 0x07, 0x87,
    ];
    assert.deepEqual([...SECCOMP_OPCODES].sort((a, b) => a - b), [...listed].sort((a, b) => a - b));
    for (let code = 0; code <= 0xffff; code++) {
      // k = 1 keeps div/lsh/M[]/ld[] checks out of the way except for ld [k] (use 4) and ja (0).
      const k = code === 0x20 ? 4 : code === 0x05 ? 0 : 1;
      const memoryRead = code === 0x60 || code === 0x61;
      const prefix = memoryRead ? [stmt(BPF.ST, 1)] : [];
      const program = [...prefix, { code, jt: 0, jf: 0, k }, stmt(RET_K, 0)];
      const codes = issueCodes(program);
      if (SECCOMP_OPCODES.has(code)) assert.deepEqual(codes, [], `0x${code.toString(16)}`);
      else assert.deepEqual(codes, ["invalid-opcode"], `0x${code.toString(16)}`);
    }
  });

  test("invalid-opcode: classic BPF that seccomp refuses", () => {
    for (const code of [
      BPF.LD | BPF.H | BPF.ABS, // ldh
      BPF.LD | BPF.B | BPF.ABS, // ldb
      BPF.LD | BPF.W | BPF.IND, // ld [x + k]
      BPF.LDX | BPF.B | BPF.MSH, // ldxb 4*([k]&0xf)
      BPF.ALU | BPF.MOD | BPF.K,
      BPF.RET | BPF.X,
      0x8006, // ret with stray high bits
    ]) {
      const issues = validateProgram([{ code, jt: 0, jf: 0, k: 0 }, stmt(RET_K, 0)]);
      assert.deepEqual(issues.map((i) => [i.code, i.pc]), [["invalid-opcode", 0]], `0x${code.toString(16)}`);
    }
  });

  test("load-out-of-range and load-misaligned", () => {
    assert.deepEqual(issueCodes([stmt(LD_ABS, 60), stmt(RET_K, 0)]), []);
    assert.deepEqual(issueCodes([stmt(LD_ABS, 64), stmt(RET_K, 0)]), ["load-out-of-range"]);
    assert.deepEqual(issueCodes([stmt(LD_ABS, 0xfffff000), stmt(RET_K, 0)]), ["load-out-of-range"]);
    assert.deepEqual(issueCodes([stmt(LD_ABS, 2), stmt(RET_K, 0)]), ["load-misaligned"]);
    assert.deepEqual(issueCodes([stmt(LD_ABS, 17), stmt(RET_K, 0)]), ["load-misaligned"]);
  });

  test("division-by-zero: only the constant form", () => {
    assert.deepEqual(issueCodes([stmt(BPF.ALU | BPF.DIV | BPF.K, 0), stmt(RET_K, 0)]), ["division-by-zero"]);
    assert.deepEqual(issueCodes([stmt(BPF.ALU | BPF.DIV | BPF.K, 1), stmt(RET_K, 0)]), []);
    assert.deepEqual(issueCodes([stmt(BPF.ALU | BPF.DIV | BPF.X, 0), stmt(RET_K, 0)]), []);
  });

  test("shift-too-large: lsh/rsh #k with k >= 32 (bpf_check_classic)", () => {
    for (const op of [BPF.LSH, BPF.RSH]) {
      assert.deepEqual(issueCodes([stmt(BPF.ALU | op | BPF.K, 31), stmt(RET_K, 0)]), []);
      assert.deepEqual(issueCodes([stmt(BPF.ALU | op | BPF.K, 32), stmt(RET_K, 0)]), ["shift-too-large"]);
      assert.deepEqual(issueCodes([stmt(BPF.ALU | op | BPF.X, 32), stmt(RET_K, 0)]), []);
    }
  });

  test("bad-memory-index: M[16] in every memory instruction", () => {
    for (const code of [BPF.ST, BPF.STX, BPF.LD | BPF.MEM, BPF.LDX | BPF.MEM]) {
      assert.deepEqual(issueCodes([stmt(code, 16), stmt(RET_K, 0)]), ["bad-memory-index"], `0x${code.toString(16)}`);
    }
    assert.deepEqual(issueCodes([stmt(BPF.ST, 15), stmt(BPF.LD | BPF.MEM, 15), stmt(RET_K, 0)]), []);
  });

  test("uninitialized-memory: read before any write", () => {
    const issues = validateProgram([stmt(BPF.ST, 1), stmt(BPF.LDX | BPF.MEM, 2), stmt(RET_K, 0)]);
    assert.deepEqual(issues.map((i) => [i.code, i.pc]), [["uninitialized-memory", 1]]);
  });

  test("uninitialized-memory: written on one path only", () => {
    const oneBranch = [
      stmt(LD_ABS, 0),
      jump(BPF.JMP | BPF.JEQ | BPF.K, 1, 0, 1), // true → 2 (writes), false → 3 (skips the write)
      stmt(BPF.ST, 0),
      stmt(BPF.LD | BPF.MEM, 0),
      stmt(RET_A, 0),
    ];
    assert.deepEqual(validateProgram(oneBranch).map((i) => [i.code, i.pc]), [["uninitialized-memory", 3]]);
    const bothBranches = [
      stmt(LD_ABS, 0),
      jump(BPF.JMP | BPF.JEQ | BPF.K, 1, 0, 2), // true → 2, false → 4
      stmt(BPF.ST, 0),
      jump(BPF.JMP | BPF.JA, 1, 0, 0), // → 5
      stmt(BPF.ST, 0),
      stmt(BPF.LD | BPF.MEM, 0),
      stmt(RET_A, 0),
    ];
    assert.deepEqual(validateProgram(bothBranches), []);
    // A write before the branch covers both paths.
    const beforeBranch = [
      stmt(BPF.ST, 4),
      jump(BPF.JMP | BPF.JGT | BPF.K, 1, 1, 0),
      stmt(BPF.LD | BPF.MEM, 4),
      stmt(BPF.LDX | BPF.MEM, 4),
      stmt(RET_K, 0),
    ];
    assert.deepEqual(validateProgram(beforeBranch), []);
  });

  test("uninitialized-memory: the kernel's ret fall-through quirk is reproduced", () => {
    // Every real path to pc 5 passes the write at pc 1, but check_load_and_stores
    // carries the mask from before the ret at pc 4 into pc 5, and the path through
    // pc 0 → 4 did not write M[0]. The kernel refuses this program, so must we.
    const program = [
      jump(BPF.JMP | BPF.JEQ | BPF.K, 0, 0, 3), // → 1 or 4
      stmt(BPF.ST, 0),
      jump(BPF.JMP | BPF.JEQ | BPF.K, 0, 0, 2), // → 3 or 5
      stmt(RET_K, 1),
      stmt(RET_K, 2),
      stmt(BPF.LD | BPF.MEM, 0),
      stmt(RET_A, 0),
    ];
    assert.deepEqual(validateProgram(program).map((i) => [i.code, i.pc]), [["uninitialized-memory", 5]]);
    // Without the ret in the way the same flow is accepted.
    const withoutQuirk = [
      jump(BPF.JMP | BPF.JEQ | BPF.K, 0, 0, 3), // → 1 or 4
      stmt(BPF.ST, 0),
      jump(BPF.JMP | BPF.JEQ | BPF.K, 0, 0, 2), // → 3 or 5
      stmt(RET_K, 1),
      jump(BPF.JMP | BPF.JA, 2, 0, 0), // → 7
      stmt(BPF.LD | BPF.MEM, 0),
      stmt(RET_A, 0),
      stmt(RET_K, 2),
    ];
    assert.deepEqual(validateProgram(withoutQuirk), []);
  });

  test("jump-out-of-range: jt, jf, ja, and a jump as the last instruction", () => {
    const jt = validateProgram([jump(BPF.JMP | BPF.JEQ | BPF.K, 0, 1, 0), stmt(RET_K, 0)]);
    assert.deepEqual(jt.map((i) => [i.code, i.pc]), [["jump-out-of-range", 0]]);
    assert.deepEqual(issueCodes([jump(BPF.JMP | BPF.JSET | BPF.X, 0, 0, 2), stmt(RET_K, 0), stmt(RET_K, 0)]), [
      "jump-out-of-range",
    ]);
    assert.deepEqual(issueCodes([jump(BPF.JMP | BPF.JA, 1, 0, 0), stmt(RET_K, 0)]), ["jump-out-of-range"]);
    assert.deepEqual(issueCodes([jump(BPF.JMP | BPF.JA, 0xffffffff, 0, 0), stmt(RET_K, 0)]), ["jump-out-of-range"]);
    assert.deepEqual(issueCodes([stmt(RET_K, 0), jump(BPF.JMP | BPF.JA, 0, 0, 0)]), [
      "jump-out-of-range",
      "missing-ret",
    ]);
    // The largest in-range offsets are fine.
    const farthest = [jump(BPF.JMP | BPF.JGE | BPF.K, 0, 255, 255), ...new Array(256).fill(stmt(RET_K, 0))];
    assert.deepEqual(issueCodes(farthest), []);
  });

  test("missing-ret: the last instruction must be ret #k or ret a", () => {
    const issues = validateProgram([stmt(RET_K, 0), stmt(LD_ABS, 0)]);
    assert.deepEqual(issues.map((i) => [i.code, i.pc]), [["missing-ret", 1]]);
    assert.deepEqual(issueCodes([stmt(RET_A, 0)]), []);
  });

  test("bad-field: values that do not fit struct sock_filter", () => {
    const issues = validateProgram([{ code: RET_K, jt: 0, jf: 0, k: -5 }]);
    assert.deepEqual(issues.map((i) => i.code), ["bad-field"]);
  });

  test("reports every problem, each with its pc", () => {
    const issues = validateProgram([stmt(LD_ABS, 3), stmt(BPF.ALU | BPF.DIV | BPF.K, 0), stmt(LD_ABS, 0)]);
    assert.deepEqual(issues.map((i) => [i.code, i.pc]), [
      ["load-misaligned", 0],
      ["division-by-zero", 1],
      ["missing-ret", 2],
    ]);
    for (const issue of issues) assert.ok(issue.message.length > 10);
  });
});

describe("disassembler", () => {
  test("the getpid example with syscall and arch names", () => {
    assert.equal(
      disassemble(GETPID, { arch: "x86_64" }),
      [
        "0000: 0x20 0x00 0x00 0x00000004  ld [4]                    ; arch",
        "0001: 0x15 0x01 0x00 0xc000003e  jeq #0xc000003e, 3, 2     ; x86_64",
        "0002: 0x06 0x00 0x00 0x80000000  ret #0x80000000           ; kill_process",
        "0003: 0x20 0x00 0x00 0x00000000  ld [0]                    ; nr",
        "0004: 0x15 0x00 0x01 0x00000027  jeq #0x27, 5, 6           ; getpid",
        "0005: 0x06 0x00 0x00 0x00050001  ret #0x50001              ; errno(1)",
        "0006: 0x06 0x00 0x00 0x7fff0000  ret #0x7fff0000           ; allow",
      ].join("\n"),
    );
  });

  test("syscall names follow the architecture and need one", () => {
    const program = [stmt(LD_ABS, 0), jump(BPF.JMP | BPF.JEQ | BPF.K, 172, 0, 1), stmt(RET_K, ALLOW), stmt(RET_K, 0)];
    assert.match(disassemble(program, { arch: "aarch64" }).split("\n")[1], /jeq #0xac, 2, 3 +; getpid$/);
    assert.match(disassemble(program).split("\n")[1], /jeq #0xac, 2, 3$/);
  });

  test("names survive a dispatch tree but not a changed accumulator", () => {
    const program = [
      stmt(LD_ABS, 0),
      jump(BPF.JMP | BPF.JGE | BPF.K, 0x40000000, 3, 0), // → 5 or 2
      jump(BPF.JMP | BPF.JEQ | BPF.K, 59, 2, 0), // execve
      stmt(BPF.ALU | BPF.AND | BPF.K, 0xff),
      jump(BPF.JMP | BPF.JEQ | BPF.K, 1, 0, 0), // A is no longer nr
      stmt(RET_K, 0),
    ];
    const lines = disassemble(program, { arch: "x86_64" }).split("\n");
    assert.match(lines[1], /jge #0x40000000, 5, 2 +; x32 syscall bit$/);
    assert.match(lines[2], /jeq #0x3b, 5, 3 +; execve$/);
    assert.match(lines[3], /and #0xff$/);
    assert.match(lines[4], /jeq #0x1, 5, 5$/);
  });

  test("argument halves follow the target byte order", () => {
    const line = (k: number, arch?: "x86_64" | "s390x") => formatInstruction(stmt(LD_ABS, k), 3, { arch });
    assert.equal(line(16), "0003: 0x20 0x00 0x00 0x00000010  ld [16]                   ; args[0].lo");
    assert.match(line(20, "x86_64"), /; args\[0\]\.hi$/);
    assert.match(line(16, "s390x"), /; args\[0\]\.hi$/);
    assert.match(line(20, "s390x"), /; args\[0\]\.lo$/);
    assert.match(line(56, "x86_64"), /ld \[56\] +; args\[5\]\.lo$/);
    assert.match(line(8), /; instruction_pointer\.lo$/);
    assert.match(line(12, "s390x"), /; instruction_pointer\.lo$/);
  });

  test("mnemonics of every instruction class", () => {
    const text = (insn: Instruction) => formatInstruction(insn, 10).slice(33);
    assert.equal(text(stmt(BPF.LD | BPF.IMM, 255)), "ld #0xff");
    assert.equal(text(stmt(BPF.LDX | BPF.IMM, 1)), "ldx #0x1");
    assert.match(text(stmt(BPF.LD | BPF.W | BPF.LEN, 0)), /^ld #len +; 64/);
    assert.match(text(stmt(BPF.LDX | BPF.W | BPF.LEN, 0)), /^ldx #len +; 64/);
    assert.equal(text(stmt(BPF.LD | BPF.MEM, 3)), "ld M[3]");
    assert.equal(text(stmt(BPF.LDX | BPF.MEM, 4)), "ldx M[4]");
    assert.equal(text(stmt(BPF.ST, 5)), "st M[5]");
    assert.equal(text(stmt(BPF.STX, 6)), "stx M[6]");
    assert.equal(text(stmt(BPF.ALU | BPF.ADD | BPF.K, 16)), "add #0x10");
    assert.equal(text(stmt(BPF.ALU | BPF.XOR | BPF.X, 0)), "xor x");
    assert.equal(text(stmt(BPF.ALU | BPF.NEG, 0)), "neg");
    assert.equal(text(jump(BPF.JMP | BPF.JA, 5, 0, 0)), "ja 16");
    assert.equal(text(jump(BPF.JMP | BPF.JSET | BPF.X, 0, 1, 2)), "jset x, 12, 13");
    assert.equal(text(stmt(RET_A, 0)), "ret a");
    assert.match(text(stmt(RET_K, 0x12340000)), /^ret #0x12340000 +; unknown action/);
    assert.equal(text(stmt(BPF.MISC | BPF.TAX, 0)), "tax");
    assert.equal(text(stmt(BPF.MISC | BPF.TXA, 0)), "txa");
    assert.match(text(stmt(BPF.ALU | BPF.MOD | BPF.K, 3)), /^\.insn 0x0094 +; not a seccomp instruction/);
  });
});
