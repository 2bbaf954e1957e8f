/**
 * Return instructions close to the jumps that use them. A conditional jump
 * reaches at most 255 instructions ahead, so one shared `ret` at the end of a
 * long program would cost every far branch a `ja` trampoline. Instead, code
 * asks for a return by value and gets a stable *canonical* label; when it
 * emits a jump it resolves that label to the copy currently being collected,
 * and at points where control never falls through (between the subtrees of a
 * search, between blocks) an *island* places one `ret` for every value used
 * since the last island, once enough code has gone by.
 *
 * Why it is safe: every copy of `ret #k` returns `k`; a jump is only ever
 * resolved to a copy placed after it (the island after the jump, or the
 * final block), and islands are only placed where the previous instruction
 * cannot fall into them.
 *
 * @module
 */
import type { Label, ProgramBuilder } from "../bpf/builder.ts";

/** Instructions of code between two islands (well inside the 255 a branch can reach). */
export const ISLAND_SPACING = 160;

/** Shared returns of one program; see the module comment. */
export interface ReturnPool {
  /** The canonical label of `ret #value` (the same label for the same value). */
  label(value: number): Label;
  /** The label a jump emitted now should use for `target` (non-returns pass through unchanged). */
  resolve(target: Label): Label;
  /** Marks a point control never falls through: places an island if enough code went by since the last. */
  checkpoint(): void;
  /** Places the returns still pending; call once, after the last instruction. */
  placeAll(): void;
}

/**
 * A pool of returns for `builder`.
 *
 * @example
 * ```ts
 * import { ProgramBuilder } from "../bpf/builder.ts";
 * import { JEQ_K } from "../bpf/insn.ts";
 * const b = new ProgramBuilder();
 * const returns = returnPool(b);
 * const allow = returns.label(0x7fff0000);
 * b.jump(JEQ_K, 1, returns.resolve(allow), returns.resolve(returns.label(0)));
 * returns.placeAll();
 * b.build().length; // 3
 * ```
 */
export function returnPool(builder: ProgramBuilder): ReturnPool {
  /** value → its canonical label; canonical label id → value. */
  const canonical = new Map<number, Label>();
  const valueOf = new Map<number, number>();
  /** value → the label of the copy being collected, and whether any jump used it. */
  const pending = new Map<number, { label: Label; used: boolean }>();
  let lastIsland = 0;

  const place = (all: boolean) => {
    for (const [value, entry] of pending) {
      if (!entry.used && !all) continue;
      builder.place(entry.label);
      builder.ret(value);
      pending.set(value, { label: builder.label(`ret-${value.toString(16)}`), used: false });
    }
    lastIsland = builder.length;
  };

  return {
    label(value: number): Label {
      let label = canonical.get(value);
      if (!label) {
        label = builder.label(`ret-${value.toString(16)}`);
        canonical.set(value, label);
        valueOf.set(label.id, value);
        pending.set(value, { label: builder.label(`ret-${value.toString(16)}`), used: false });
      }
      return label;
    },
    resolve(target: Label): Label {
      const value = valueOf.get(target.id);
      if (value === undefined || canonical.get(value) !== target) return target;
      const entry = pending.get(value)!;
      entry.used = true;
      return entry.label;
    },
    checkpoint(): void {
      if (builder.length - lastIsland >= ISLAND_SPACING) place(false);
    },
    placeAll(): void {
      // Only used returns: an unused one would be dead code.
      for (const [value, entry] of pending) {
        if (!entry.used) continue;
        builder.place(entry.label);
        builder.ret(value);
      }
    },
  };
}
