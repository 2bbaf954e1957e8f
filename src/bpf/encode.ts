/**
 * Bytes of a BPF program: `struct sock_filter` arrays in a chosen byte order.
 *
 * The kernel copies the instruction array in the target's native byte order,
 * so a raw `.bpf` file for s390x has `code` and `k` byte-swapped relative to
 * one for x86_64. The Firecracker container always uses little-endian (it
 * encodes field values); it calls {@link encodeProgram} with `"little"`.
 *
 * @module
 */
import { BPF_MAXINSNS, type Instruction, type Program } from "./insn.ts";
import { BpfError } from "./errors.ts";
import { fieldProblem, validateProgram } from "./validate.ts";

/** Size of one `struct sock_filter`. */
export const INSN_SIZE = 8;

/** Byte order of `code` and `k` in an encoded program. */
export type Endian = "little" | "big";

/**
 * Encodes `program` as consecutive 8-byte `struct sock_filter`s: `code` u16,
 * `jt` u8, `jf` u8, `k` u32, with `code` and `k` in `endian` byte order.
 * Throws {@link BpfError} `bad-field` when a field does not fit its width.
 *
 * @example
 * ```ts
 * import { BPF, stmt } from "./insn.ts";
 * encodeProgram([stmt(BPF.RET | BPF.K, 0x7fff0000)]); // 06 00 00 00 00 00 ff 7f
 * ```
 */
export function encodeProgram(program: Program, endian: Endian = "little"): Uint8Array {
  const bytes = new Uint8Array(program.length * INSN_SIZE);
  const view = new DataView(bytes.buffer);
  const little = endian === "little";
  for (let pc = 0; pc < program.length; pc++) {
    const insn = program[pc];
    const problem = fieldProblem(insn);
    if (problem) throw new BpfError("bad-field", `instruction ${pc} cannot be encoded: ${problem}`, { pc });
    const offset = pc * INSN_SIZE;
    view.setUint16(offset, insn.code, little);
    view.setUint8(offset + 2, insn.jt);
    view.setUint8(offset + 3, insn.jf);
    view.setUint32(offset + 4, insn.k, little);
  }
  return bytes;
}

/**
 * Decodes consecutive 8-byte `struct sock_filter`s. Any bytes are accepted as
 * instructions (no validation); throws {@link BpfError} `bad-length` when the
 * size is not a multiple of 8.
 *
 * @example
 * ```ts
 * decodeProgram(Uint8Array.of(6, 0, 0, 0, 0, 0, 0xff, 0x7f)); // [{ code: 6, jt: 0, jf: 0, k: 0x7fff0000 }]
 * ```
 */
export function decodeProgram(bytes: Uint8Array, endian: Endian = "little"): Instruction[] {
  if (bytes.length % INSN_SIZE !== 0) {
    throw new BpfError(
      "bad-length",
      `BPF program size ${bytes.length} is not a multiple of ${INSN_SIZE} (the size of one struct sock_filter)`,
    );
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const little = endian === "little";
  const program: Instruction[] = new Array(bytes.length / INSN_SIZE);
  for (let pc = 0; pc < program.length; pc++) {
    const offset = pc * INSN_SIZE;
    program[pc] = {
      code: view.getUint16(offset, little),
      jt: view.getUint8(offset + 2),
      jf: view.getUint8(offset + 3),
      k: view.getUint32(offset + 4, little),
    };
  }
  return program;
}

/**
 * Reads a raw `.bpf` file (libseccomp `seccomp_export_bpf`, Firecracker
 * `--split-output`, bubblewrap `--seccomp`): instructions only, no header.
 * Rejects, each with its own {@link BpfError} code:
 * * `empty`: size 0;
 * * `bad-length`: size not a multiple of 8;
 * * `too-long`: more than 4096 instructions;
 * * `invalid-program`: a program the kernel would refuse (`issues` lists why).
 *
 * @example
 * ```ts
 * const program = readRawBpf(Deno.readFileSync("vmm.bpf"), "little");
 * ```
 */
export function readRawBpf(bytes: Uint8Array, endian: Endian = "little"): Instruction[] {
  if (bytes.length === 0) throw new BpfError("empty", "BPF file is empty; a filter needs at least one instruction");
  const program = decodeProgram(bytes, endian);
  if (program.length > BPF_MAXINSNS) {
    throw new BpfError(
      "too-long",
      `BPF file holds ${program.length} instructions; the kernel accepts at most ${BPF_MAXINSNS}`,
    );
  }
  const issues = validateProgram(program);
  if (issues.length > 0) {
    const first = issues[0];
    const more = issues.length > 1 ? ` (and ${issues.length - 1} more problem${issues.length > 2 ? "s" : ""})` : "";
    const where = `instruction ${first.pc}: ${first.message}${more}`;
    const message = `BPF file is not a valid seccomp filter (read as ${endian}-endian): ${where}`;
    throw new BpfError("invalid-program", message, { pc: first.pc, issues });
  }
  return program;
}
