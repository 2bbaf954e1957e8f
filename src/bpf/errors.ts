/**
 * The BPF toolkit's error and issue types, in a module of their own so the
 * encoder, the interpreter and the file readers can throw {@link BpfError}
 * without importing the validator.
 *
 * @module
 */

/** One broken load-time rule. */
export interface BpfIssue {
  /**
   * Stable code: `empty-program`, `too-long`, `bad-field`, `invalid-opcode`,
   * `load-out-of-range`, `load-misaligned`, `division-by-zero`, `shift-too-large`,
   * `bad-memory-index`, `uninitialized-memory`, `jump-out-of-range`, `missing-ret`.
   */
  readonly code: string;
  /** One-line description. */
  readonly message: string;
  /** Index of the offending instruction (for length problems: 0, or the first instruction past the limit). */
  readonly pc: number;
}

/**
 * A typed error from the BPF toolkit (encoder, interpreter, raw file reader).
 *
 * @example
 * ```ts
 * import { decodeProgram } from "./encode.ts";
 * try {
 *   decodeProgram(new Uint8Array(3));
 * } catch (e) {
 *   if (e instanceof BpfError) console.log(e.code); // "bad-length"
 * }
 * ```
 */
export class BpfError extends Error {
  /** Stable machine-readable code, e.g. `bad-length`, `invalid-opcode`. */
  readonly code: string;
  /** Index of the instruction involved, when there is one. */
  readonly pc?: number;
  /** Every validation problem, when the error reports a failed `validateProgram` (./validate.ts). */
  readonly issues?: readonly BpfIssue[];
  constructor(code: string, message: string, options?: { pc?: number; issues?: readonly BpfIssue[] }) {
    super(message);
    this.name = "BpfError";
    this.code = code;
    if (options?.pc !== undefined) this.pc = options.pc;
    if (options?.issues !== undefined) this.issues = options.issues;
  }
}
