/**
 * A program builder with labels, in the style of gVisor's `pkg/bpf`.
 *
 * Code generators emit instructions and jumps to named labels; {@link ProgramBuilder.build}
 * resolves the labels into the forward offsets classic BPF uses. A
 * conditional jump can only skip 255 instructions, so a branch that reaches
 * further is rewritten to land on an adjacent `ja` (a long-jump trampoline)
 * that carries the 32-bit distance.
 *
 * @module
 */
import { type Instruction, isConditionalJump, isJump, isUnconditionalJump, JA, jump, type Program, RET_K, stmt } from "./insn.ts";

/** A jump target created by {@link ProgramBuilder.label} and placed with {@link ProgramBuilder.place}. */
export interface Label {
  /** Unique within its builder. */
  readonly id: number;
  /** Shown in error messages. */
  readonly name: string;
}

/** Where a conditional branch goes: a label, or `"next"` to fall through to the next emitted item. */
export type JumpTarget = Label | "next";

/** Stable codes of {@link BuilderError}. */
export type BuilderErrorCode =
  | "unplaced-label"
  | "label-placed-twice"
  | "label-past-end"
  | "backward-jump"
  | "foreign-label"
  | "not-a-conditional-jump"
  | "not-a-statement";

/**
 * A program that cannot be assembled: a jump to a label that was never
 * placed, that lies behind the jump, or a misuse of the builder.
 *
 * @example
 * ```ts
 * const b = new ProgramBuilder();
 * b.ja(b.label("nowhere"));
 * try { b.build(); } catch (e) { if (e instanceof BuilderError) console.log(e.code); } // "unplaced-label"
 * ```
 */
export class BuilderError extends Error {
  /** Stable machine-readable code. */
  readonly code: BuilderErrorCode;
  constructor(code: BuilderErrorCode, message: string) {
    super(message);
    this.name = "BuilderError";
    this.code = code;
  }
}

/** One emitted item before jump resolution. @private */
type Item =
  | { readonly kind: "stmt"; readonly insn: Instruction }
  | { readonly kind: "jump"; readonly code: number; readonly k: number; readonly whenTrue: JumpTarget; readonly whenFalse: JumpTarget }
  | { readonly kind: "ja"; readonly target: Label };

/** Largest offset a conditional jump's `jt`/`jf` can hold. */
export const MAX_CONDITIONAL_OFFSET = 255;

/**
 * Collects instructions and label references, then assembles them.
 *
 * @example
 * ```ts
 * import { JEQ_K, LD_ABS, RET_K } from "./insn.ts";
 * const b = new ProgramBuilder();
 * const deny = b.label("deny");
 * b.stmt(LD_ABS, 0);
 * b.jump(JEQ_K, 39, "next", deny); // getpid?
 * b.stmt(RET_K, 0x7fff0000);
 * b.place(deny);
 * b.stmt(RET_K, 0x00050001);
 * b.build(); // 4 instructions; the jeq has jt = 0, jf = 1
 * ```
 */
export class ProgramBuilder {
  #items: Item[] = [];
  /** Label id → index of the item it precedes (may equal the item count: end of program). */
  #placed = new Map<number, number>();
  #labels: Label[] = [];

  /** Number of items emitted so far (trampolines not counted). */
  get length(): number {
    return this.#items.length;
  }

  /**
   * Creates a new, unplaced label.
   *
   * @example
   * ```ts
   * const b = new ProgramBuilder();
   * const out = b.label("out");
   * ```
   */
  label(name = "L"): Label {
    const label: Label = { id: this.#labels.length, name: `${name}#${this.#labels.length}` };
    this.#labels.push(label);
    return label;
  }

  /**
   * Places `label` before the next emitted instruction. Several labels may
   * share a place; each label is placed once.
   *
   * @example
   * ```ts
   * const b = new ProgramBuilder();
   * const here = b.label();
   * b.place(here);
   * ```
   */
  place(label: Label): void {
    this.#own(label);
    if (this.#placed.has(label.id)) {
      throw new BuilderError("label-placed-twice", `label ${label.name} is placed twice`);
    }
    this.#placed.set(label.id, this.#items.length);
  }

  /**
   * Emits a non-jump instruction (load, ALU, return, misc).
   *
   * @example
   * ```ts
   * import { LD_ABS } from "./insn.ts";
   * new ProgramBuilder().stmt(LD_ABS, 4); // ld [4]
   * ```
   */
  stmt(code: number, k: number): void {
    if (isJump(code)) {
      throw new BuilderError("not-a-statement", `opcode 0x${code.toString(16)} is a jump; use jump() or ja()`);
    }
    this.#items.push({ kind: "stmt", insn: stmt(code, k) });
  }

  /**
   * Emits `ret #value`.
   *
   * @example
   * ```ts
   * new ProgramBuilder().ret(0x7fff0000);
   * ```
   */
  ret(value: number): void {
    this.stmt(RET_K, value);
  }

  /**
   * Emits a conditional jump (`jeq`, `jgt`, `jge`, `jset`; K or X source)
   * whose branches go to labels or fall through.
   *
   * @example
   * ```ts
   * import { JGE_K } from "./insn.ts";
   * const b = new ProgramBuilder();
   * const kill = b.label("kill");
   * b.jump(JGE_K, 0x40000000, kill, "next");
   * ```
   */
  jump(code: number, k: number, whenTrue: JumpTarget, whenFalse: JumpTarget): void {
    if (!isConditionalJump(code)) {
      throw new BuilderError("not-a-conditional-jump", `opcode 0x${code.toString(16)} is not a conditional jump`);
    }
    if (whenTrue !== "next") this.#own(whenTrue);
    if (whenFalse !== "next") this.#own(whenFalse);
    this.#items.push({ kind: "jump", code, k: k >>> 0, whenTrue, whenFalse });
  }

  /**
   * Emits an already assembled program verbatim, as one block. Its jumps keep
   * their offsets, so each must land inside the block; the builder never puts
   * a trampoline inside it. Labels placed right before the block let earlier
   * jumps enter it at its first instruction (the exec guard's "continue with
   * the policy").
   *
   * @example
   * ```ts
   * import { JEQ_K, LD_ABS, RET_K, stmt } from "./insn.ts";
   * const b = new ProgramBuilder();
   * const policy = b.label("policy");
   * b.stmt(LD_ABS, 0);
   * b.jump(JEQ_K, 59, "next", policy);
   * b.ret(0x7fff0000);
   * b.place(policy);
   * b.append([stmt(RET_K, 0x80000000)]);
   * ```
   */
  append(program: Program): void {
    program.forEach((insn, i) => {
      const reach = isUnconditionalJump(insn.code)
        ? [insn.k]
        : isConditionalJump(insn.code)
        ? [insn.jt, insn.jf]
        : [];
      for (const offset of reach) {
        if (i + 1 + offset >= program.length) {
          throw new BuilderError("label-past-end", `appended instruction ${i} jumps past the end of its block`);
        }
      }
    });
    for (const insn of program) this.#items.push({ kind: "stmt", insn: { ...insn } });
  }

  /**
   * Emits an unconditional `ja` to `target`.
   *
   * @example
   * ```ts
   * const b = new ProgramBuilder();
   * const end = b.label("end");
   * b.ja(end);
   * ```
   */
  ja(target: Label): void {
    this.#own(target);
    this.#items.push({ kind: "ja", target });
  }

  /**
   * Resolves every jump and returns the program. Branches longer than 255
   * get a trampoline; since a trampoline only ever lengthens distances, the
   * set of far branches grows monotonically and the iteration converges.
   *
   * @example
   * ```ts
   * const b = new ProgramBuilder();
   * b.ret(0x7fff0000);
   * b.build(); // [{ code: 0x06, jt: 0, jf: 0, k: 0x7fff0000 }]
   * ```
   */
  build(): Instruction[] {
    const items = this.#items;
    const labelItem = (label: Label, from: number): number => {
      const at = this.#placed.get(label.id);
      if (at === undefined) throw new BuilderError("unplaced-label", `label ${label.name} is used but never placed`);
      if (at <= from) {
        throw new BuilderError("backward-jump", `jump at item ${from} to label ${label.name} at item ${at} is not forward`);
      }
      if (at >= items.length) {
        throw new BuilderError("label-past-end", `label ${label.name} is placed after the last instruction`);
      }
      return at;
    };
    // Item index of each branch target ("next" = the following item), checked once up front.
    const targets = items.map((item, i) => {
      if (item.kind === "ja") return { t: labelItem(item.target, i), f: -1 };
      if (item.kind === "stmt") return { t: -1, f: -1 };
      const resolve = (target: JumpTarget) => (target === "next" ? labelCheckedNext(i, items.length) : labelItem(target, i));
      return { t: resolve(item.whenTrue), f: resolve(item.whenFalse) };
    });

    const farTrue = new Array<boolean>(items.length).fill(false);
    const farFalse = new Array<boolean>(items.length).fill(false);
    let start: number[];
    for (;;) {
      start = itemStarts(items, farTrue, farFalse);
      let changed = false;
      for (const [i, item] of items.entries()) {
        if (item.kind !== "jump") continue;
        if (!farTrue[i] && start[targets[i].t] - (start[i] + 1) > MAX_CONDITIONAL_OFFSET) {
          farTrue[i] = changed = true;
        }
        if (!farFalse[i] && start[targets[i].f] - (start[i] + 1) > MAX_CONDITIONAL_OFFSET) {
          farFalse[i] = changed = true;
        }
      }
      if (!changed) break;
    }

    const out: Instruction[] = [];
    for (const [i, item] of items.entries()) {
      const pc = start[i];
      if (item.kind === "stmt") {
        out.push(item.insn);
      } else if (item.kind === "ja") {
        out.push(stmt(JA, start[targets[i].t] - (pc + 1)));
      } else {
        // Layout: jcond, [ja → true target], [ja → false target].
        const trueTramp = farTrue[i] ? pc + 1 : -1;
        const falseTramp = farFalse[i] ? pc + 1 + (farTrue[i] ? 1 : 0) : -1;
        const jt = (farTrue[i] ? trueTramp : start[targets[i].t]) - (pc + 1);
        const jf = (farFalse[i] ? falseTramp : start[targets[i].f]) - (pc + 1);
        out.push(jump(item.code, item.k, jt, jf));
        if (farTrue[i]) out.push(stmt(JA, start[targets[i].t] - (trueTramp + 1)));
        if (farFalse[i]) out.push(stmt(JA, start[targets[i].f] - (falseTramp + 1)));
      }
    }
    return out;
  }

  /** Rejects labels made by another builder. @private */
  #own(label: Label): void {
    if (this.#labels[label.id] !== label) {
      throw new BuilderError("foreign-label", `label ${label.name} belongs to another builder`);
    }
  }
}

/** The item after `i`, which must exist for a fall-through branch. @private */
function labelCheckedNext(i: number, count: number): number {
  if (i + 1 >= count) throw new BuilderError("label-past-end", `jump at item ${i} falls through past the last instruction`);
  return i + 1;
}

/** Program counter of each item (plus one past the end) given the current trampolines. @private */
function itemStarts(items: readonly Item[], farTrue: readonly boolean[], farFalse: readonly boolean[]): number[] {
  const start = new Array<number>(items.length + 1);
  let pc = 0;
  for (let i = 0; i < items.length; i++) {
    start[i] = pc;
    pc += 1 + (farTrue[i] ? 1 : 0) + (farFalse[i] ? 1 : 0);
  }
  start[items.length] = pc;
  return start;
}
