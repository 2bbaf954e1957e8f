/**
 * Human-readable listings of BPF programs, in the style of seccomp-tools and
 * libseccomp's `scmp_bpf_disasm`: one line per instruction with its raw
 * fields, a mnemonic with absolute jump targets, and a comment naming what is
 * loaded, compared or returned.
 *
 * ```text
 * 0000: 0x20 0x00 0x00 0x00000004  ld [4]                    ; arch
 * 0001: 0x15 0x00 0x01 0xc000003e  jeq #0xc000003e, 2, 3     ; x86_64
 * 0002: 0x06 0x00 0x00 0x80000000  ret #0x80000000           ; kill_process
 * ```
 *
 * @module
 */
import { actionFromValue, formatAction } from "../action.ts";
import { ARCH_NAMES, type ArchName, getArch, X32_SYSCALL_BIT } from "../arch/arch.ts";
import { BPF, type Instruction, instructionClass, instructionOp, type Program } from "./insn.ts";

/** What the accumulator is known to hold before an instruction, for annotations. */
export type AccumulatorContents = "nr" | "arch" | "other";

/** Options for {@link disassemble} and {@link formatInstruction}. */
export interface DisassembleOptions {
  /**
   * Target architecture: picks the byte order for argument halves (little-endian
   * when absent) and enables syscall names on comparisons with `nr`.
   */
  readonly arch?: ArchName;
}

/** Options for {@link formatInstruction}. */
export interface FormatInstructionOptions extends DisassembleOptions {
  /** What A holds before this instruction; {@link disassemble} works it out from the program. */
  readonly accumulator?: AccumulatorContents;
}

/** Width of the mnemonic column, so comments line up. @private */
const MNEMONIC_WIDTH = 26;

const ALU_NAMES: Readonly<Record<number, string>> = {
  [BPF.ADD]: "add", [BPF.SUB]: "sub", [BPF.MUL]: "mul", [BPF.DIV]: "div", [BPF.OR]: "or",
  [BPF.AND]: "and", [BPF.LSH]: "lsh", [BPF.RSH]: "rsh", [BPF.MOD]: "mod", [BPF.XOR]: "xor",
};

const JUMP_NAMES: Readonly<Record<number, string>> = {
  [BPF.JEQ]: "jeq", [BPF.JGT]: "jgt", [BPF.JGE]: "jge", [BPF.JSET]: "jset",
};

/**
 * The listing of `program`, one line per instruction, lines joined by `\n`
 * (no trailing newline).
 *
 * @example
 * ```ts
 * import { BPF, jump, stmt } from "./insn.ts";
 * disassemble([stmt(BPF.LD | BPF.W | BPF.ABS, 0), jump(BPF.JMP | BPF.JEQ | BPF.K, 39, 0, 1),
 *   stmt(BPF.RET | BPF.K, 0x50001), stmt(BPF.RET | BPF.K, 0x7fff0000)], { arch: "x86_64" });
 * // 0000: 0x20 0x00 0x00 0x00000000  ld [0]                    ; nr
 * // 0001: 0x15 0x00 0x01 0x00000027  jeq #0x27, 2, 3           ; getpid
 * // 0002: 0x06 0x00 0x00 0x00050001  ret #0x50001              ; errno(1)
 * // 0003: 0x06 0x00 0x00 0x7fff0000  ret #0x7fff0000           ; allow
 * ```
 */
export function disassemble(program: Program, options: DisassembleOptions = {}): string {
  const accumulators = trackAccumulator(program);
  return program
    .map((insn, pc) => formatInstruction(insn, pc, { ...options, accumulator: accumulators[pc] }))
    .join("\n");
}

/**
 * One listing line: index, raw fields, mnemonic, and a comment when there is
 * something to say.
 *
 * @example
 * ```ts
 * import { BPF, stmt } from "./insn.ts";
 * formatInstruction(stmt(BPF.LD | BPF.W | BPF.ABS, 16), 3, { arch: "s390x" });
 * // "0003: 0x20 0x00 0x00 0x00000010  ld [16]                   ; args[0].hi"
 * ```
 */
export function formatInstruction(
  insn: Instruction,
  pc: number,
  options: FormatInstructionOptions = {},
): string {
  const raw = `${pad(pc, 4, 10)}: 0x${pad(insn.code, 2)} 0x${pad(insn.jt, 2)} 0x${pad(insn.jf, 2)} 0x${pad(insn.k, 8)}`;
  const { mnemonic, comment } = describe(insn, pc, options);
  const text = comment ? `${mnemonic.padEnd(MNEMONIC_WIDTH)}; ${comment}` : mnemonic;
  return `${raw}  ${text}`;
}

/** Mnemonic and comment of one instruction. @private */
function describe(
  insn: Instruction,
  pc: number,
  options: FormatInstructionOptions,
): { mnemonic: string; comment?: string } {
  const { code, k } = insn;
  const cls = instructionClass(code);
  switch (code) {
    case BPF.LD | BPF.W | BPF.ABS:
      return { mnemonic: `ld [${k}]`, comment: dataFieldName(k, options.arch) };
    case BPF.LD | BPF.W | BPF.LEN:
      return { mnemonic: "ld #len", comment: "64 (sizeof seccomp_data)" };
    case BPF.LDX | BPF.W | BPF.LEN:
      return { mnemonic: "ldx #len", comment: "64 (sizeof seccomp_data)" };
    case BPF.LD | BPF.IMM:
      return { mnemonic: `ld #${hexK(k)}` };
    case BPF.LDX | BPF.IMM:
      return { mnemonic: `ldx #${hexK(k)}` };
    case BPF.LD | BPF.MEM:
      return { mnemonic: `ld M[${k}]` };
    case BPF.LDX | BPF.MEM:
      return { mnemonic: `ldx M[${k}]` };
    case BPF.ST:
      return { mnemonic: `st M[${k}]` };
    case BPF.STX:
      return { mnemonic: `stx M[${k}]` };
    case BPF.ALU | BPF.NEG:
      return { mnemonic: "neg" };
    case BPF.JMP | BPF.JA:
      return { mnemonic: `ja ${pc + 1 + k}` };
    case BPF.RET | BPF.K: {
      const action = actionFromValue(k);
      return { mnemonic: `ret #${hexK(k)}`, comment: action ? formatAction(action) : "unknown action (acts as kill)" };
    }
    case BPF.RET | BPF.A:
      return { mnemonic: "ret a" };
    case BPF.MISC | BPF.TAX:
      return { mnemonic: "tax" };
    case BPF.MISC | BPF.TXA:
      return { mnemonic: "txa" };
  }
  const op = instructionOp(code);
  const fromX = (code & BPF.X) !== 0;
  if (cls === BPF.ALU && (code & ~0xf8) === BPF.ALU && ALU_NAMES[op] && op !== BPF.MOD) {
    return { mnemonic: `${ALU_NAMES[op]} ${fromX ? "x" : `#${hexK(k)}`}` };
  }
  if (cls === BPF.JMP && (code & ~0xf8) === BPF.JMP && JUMP_NAMES[op]) {
    const operand = fromX ? "x" : `#${hexK(k)}`;
    const mnemonic = `${JUMP_NAMES[op]} ${operand}, ${pc + 1 + insn.jt}, ${pc + 1 + insn.jf}`;
    return { mnemonic, comment: fromX ? undefined : constantName(k, options) };
  }
  return { mnemonic: `.insn 0x${pad(code, 4)}`, comment: "not a seccomp instruction" };
}

/** Name of the `seccomp_data` word at offset `k`. @private */
function dataFieldName(k: number, arch: ArchName | undefined): string | undefined {
  if (k === 0) return "nr";
  if (k === 4) return "arch";
  if (k >= 64 || k % 4 !== 0) return "outside seccomp_data";
  const little = arch === undefined || getArch(arch).endian === "little";
  const lowerOffset = k % 8 === 0;
  const half = lowerOffset === little ? "lo" : "hi";
  if (k < 16) return `instruction_pointer.${half}`;
  return `args[${(k - 16) >>> 3}].${half}`;
}

/** What a comparison constant means, given what A holds. @private */
function constantName(k: number, options: FormatInstructionOptions): string | undefined {
  if (options.accumulator === "arch") return archNameOf(k);
  if (options.accumulator !== "nr" || options.arch === undefined) return undefined;
  const arch = getArch(options.arch);
  const name = arch.names.get(k);
  if (name !== undefined) return name;
  if (arch.hasX32 && k === X32_SYSCALL_BIT) return "x32 syscall bit";
  if (arch.hasX32 && (k & X32_SYSCALL_BIT) !== 0) {
    const x32 = arch.names.get(k & ~X32_SYSCALL_BIT);
    if (x32 !== undefined) return `x32 ${x32}`;
  }
  return undefined;
}

/** Architecture whose audit token is `token`. @private */
function archNameOf(token: number): string | undefined {
  return ARCH_NAMES.find((name) => getArch(name).auditArch === token);
}

/**
 * What A holds before each instruction: the meet over every jump and
 * fall-through reaching it ("other" when they disagree or nothing reaches it).
 * Jumps only go forward, so one pass in program order sees every predecessor
 * first.
 *
 * @private
 */
function trackAccumulator(program: Program): AccumulatorContents[] {
  const incoming: (AccumulatorContents | undefined)[] = new Array(program.length + 1).fill(undefined);
  const merge = (target: number, value: AccumulatorContents) => {
    if (target >= incoming.length) return;
    const seen = incoming[target];
    incoming[target] = seen === undefined || seen === value ? value : "other";
  };
  const before: AccumulatorContents[] = [];
  for (let pc = 0; pc < program.length; pc++) {
    const now = pc === 0 ? "other" : incoming[pc] ?? "other";
    before.push(now);
    const { code, k, jt, jf } = program[pc];
    const cls = instructionClass(code);
    if (cls === BPF.RET) continue;
    if (cls === BPF.JMP) {
      if (code === (BPF.JMP | BPF.JA)) merge(pc + 1 + k, now);
      else {
        merge(pc + 1 + jt, now);
        merge(pc + 1 + jf, now);
      }
      continue;
    }
    let after = now;
    if (code === (BPF.LD | BPF.W | BPF.ABS)) after = k === 0 ? "nr" : k === 4 ? "arch" : "other";
    else if (cls === BPF.LD || cls === BPF.ALU || code === (BPF.MISC | BPF.TXA)) after = "other";
    merge(pc + 1, after);
  }
  return before;
}

/** `0x` + lowercase hex of a u32 constant. @private */
function hexK(value: number): string {
  return `0x${(value >>> 0).toString(16)}`;
}

/** Zero-padded number in `radix` (16 by default). @private */
function pad(value: number, width: number, radix = 16): string {
  return (value >>> 0).toString(radix).padStart(width, "0");
}
