/**
 * Code generation: one IR {@link Filter} → one classic-BPF program.
 *
 * Program shape:
 * 1. `ld [4]`; a foreign arch token → `ret KILL_PROCESS`;
 * 2. `ld [0]`; on x86_64 an x32 number (`>= 0x40000000`) → `ret KILL_PROCESS`;
 * 3. the dispatch on the number, emitted by a {@link Layout} (default {@link treeLayout},
 *    a binary search; {@link linearLayout} is the plain `jeq` chain);
 * 4. the shared returns (mismatch first, so the dispatch can fall into it);
 * 5. per syscall with rules: each rule's conditions then `ret match`, a
 *    failing condition skipping to the next rule, and finally `ret mismatch`.
 *    Rules and conditions are emitted in canonical order (`canonical.ts`), so
 *    the bytes do not depend on the order they were written in.
 *
 * Arguments are only loaded after the number is decided, and every exit is
 * a literal `ret #k`, which keeps unconditional allows in the kernel's action
 * cache. The 4096-instruction limit is not enforced here: the caller reports
 * it with the thread's name.
 *
 * @module
 */
import { actionValue } from "../action.ts";
import { getArch, X32_SYSCALL_BIT } from "../arch/arch.ts";
import { type Label, ProgramBuilder } from "../bpf/builder.ts";
import { JEQ_K, JGE_K, LD_ABS, type Program, SECCOMP_DATA } from "../bpf/insn.ts";
import { type Filter, KILL_PROCESS, type SyscallRules } from "../ir.ts";
import { canonicalRules } from "./canonical.ts";
import { emitCondition } from "./conditions.ts";
import type { DispatchEntry, Layout } from "./layout.ts";
import { treeLayout } from "./tree.ts";

export type { DispatchEntry, DispatchPlan, Layout } from "./layout.ts";
export { linearLayout } from "./linear.ts";
export { TREE_LEAF_SIZE, treeLayout } from "./tree.ts";
export { argumentHalves, emitCondition } from "./conditions.ts";

/** Options of {@link generateProgram}. */
export interface GenerateOptions {
  /** How the syscall number is dispatched (default {@link treeLayout}). */
  readonly layout?: Layout;
}

/**
 * Generates the BPF program for `filter`. The filter is assumed valid (see
 * `validateFilter`); the output is deterministic and may exceed 4096
 * instructions.
 *
 * @example
 * ```ts
 * import { ALLOW, condition, errno, rule, seccompFilter } from "../ir.ts";
 * const filter = seccompFilter({
 *   arch: "x86_64",
 *   mismatchAction: errno(1),
 *   matchAction: ALLOW,
 *   rules: { read: [], write: [rule(condition(0, "dword", "eq", 1))] },
 * });
 * const program = generateProgram(filter);
 * ```
 */
export function generateProgram(filter: Filter, options: GenerateOptions = {}): Program {
  const layout = options.layout ?? treeLayout;
  const arch = getArch(filter.arch);
  const matchValue = actionValue(filter.matchAction);
  const mismatchValue = actionValue(filter.mismatchAction);
  const b = new ProgramBuilder();
  const returns = new SharedReturns(b);
  const mismatch = returns.label(mismatchValue);
  const kill = returns.label(actionValue(KILL_PROCESS));

  b.stmt(LD_ABS, SECCOMP_DATA.ARCH);
  b.jump(JEQ_K, arch.auditArch, "next", kill);
  b.stmt(LD_ABS, SECCOMP_DATA.NR);
  // x32 numbers carry the x86_64 token, so only this guard keeps them out of the allowlist.
  if (arch.hasX32) b.jump(JGE_K, X32_SYSCALL_BIT, kill, "next");

  const bodies: { syscall: SyscallRules; label: Label }[] = [];
  const entries: DispatchEntry[] = filter.syscalls.map((syscall) => {
    if (syscall.rules.length === 0) {
      return { nr: syscall.nr, target: returns.label(matchValue) };
    }
    const label = b.label(`rules-${syscall.name}`);
    bodies.push({ syscall: canonicalRules(syscall), label });
    return { nr: syscall.nr, target: label };
  });
  // The one sort of the dispatch: layouts rely on ascending numbers, and a Filter built by hand may be unvalidated.
  entries.sort((x, y) => x.nr - y.nr);
  layout(b, { syscalls: entries, mismatch });
  returns.placeAll();

  for (const { syscall, label } of bodies) {
    b.place(label);
    emitRules(b, syscall, arch.endian, matchValue, mismatchValue);
  }
  return b.build();
}

/**
 * Rules OR, conditions AND: each rule falls through its conditions to
 * `ret match`; a failing condition skips to the next rule, the last one to
 * `ret mismatch`.
 * @private
 */
function emitRules(
  b: ProgramBuilder,
  syscall: SyscallRules,
  endian: "little" | "big",
  matchValue: number,
  mismatchValue: number,
): void {
  const noRuleMatched = b.label(`mismatch-${syscall.name}`);
  for (const [r, rule] of syscall.rules.entries()) {
    const last = r === syscall.rules.length - 1;
    const fail = last ? noRuleMatched : b.label(`rule-${syscall.name}-${r + 1}`);
    for (const cond of rule.conditions) emitCondition(b, cond, endian, fail);
    b.ret(matchValue);
    if (!last) b.place(fail);
  }
  b.place(noRuleMatched);
  b.ret(mismatchValue);
}

/**
 * One `ret #value` per distinct value, placed together right after the
 * dispatch; the first value asked for (the mismatch) comes first so the
 * dispatch can fall into it.
 * @private
 */
class SharedReturns {
  #builder: ProgramBuilder;
  #labels = new Map<number, Label>();
  constructor(builder: ProgramBuilder) {
    this.#builder = builder;
  }
  label(value: number): Label {
    let label = this.#labels.get(value);
    if (!label) {
      label = this.#builder.label(`ret-${value.toString(16)}`);
      this.#labels.set(value, label);
    }
    return label;
  }
  placeAll(): void {
    for (const [value, label] of this.#labels) {
      this.#builder.place(label);
      this.#builder.ret(value);
    }
  }
}
