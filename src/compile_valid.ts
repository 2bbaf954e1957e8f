/**
 * The compiler's fast path on its own: a policy that is valid compiles
 * without the positioned front end (jsonc-parser and the diagnostics tree
 * walk), which only a policy with a problem needs.
 *
 * It is a module of its own so that a command can compile a valid policy
 * without loading the positioned front end at all (jsonc-parser's module
 * set-up alone is 3–6 ms of a standalone executable's start, docs/bench.md),
 * and load it only when this path declines. {@link compilePolicy} in
 * `compile.ts` is this path, then that front end.
 *
 * @module
 */
import { type ArchName, getArch } from "./arch/arch.ts";
import { BPF_MAXINSNS, type Program } from "./bpf/insn.ts";
import { generateProgram } from "./codegen/mod.ts";
import type { Diagnostic } from "./diagnostics.ts";
import type { Filter } from "./ir.ts";
import { optimizeProgram } from "./optimize/mod.ts";
import { parseValidPolicy } from "./policy/fast.ts";

/** What {@link compilePolicy} returns. */
export interface CompiledPolicy {
  /** Thread name → program, in sorted thread order. */
  readonly programs: Map<string, Program>;
  /** The IR each program was generated from. */
  readonly filters: Map<string, Filter>;
  /** Non-fatal findings (portability hazards, merged duplicates). */
  readonly warnings: readonly Diagnostic[];
}

/**
 * Compiles `text` when it is a valid policy whose every program fits the
 * kernel's limit and that has nothing to warn about; otherwise returns
 * `undefined`, and the positioned front end (`compilePolicy`) must answer,
 * with every diagnostic in place. When it answers, it answers exactly as
 * `compilePolicy` would (test/fastpath.test.ts).
 *
 * `select`, when given, names the threads to generate programs for, from
 * the whole validated policy (every thread is still parsed and validated);
 * `exec --policy` generates only the thread it installs. It may throw (an
 * unknown thread), and its error propagates.
 *
 * @example
 * ```ts
 * const compiled = compileValidPolicy('{"main": {"default_action": "trap", "filter_action": "allow", "filter": [{"syscall": "read"}]}}', "x86_64");
 * compiled?.programs.get("main")?.length;
 * ```
 */
export function compileValidPolicy(
  text: string,
  arch: ArchName,
  basic = false,
  select?: (filters: ReadonlyMap<string, Filter>) => readonly string[],
): CompiledPolicy | undefined {
  const all = parseValidPolicy(text, getArch(arch), basic);
  if (all === undefined) return undefined;
  const filters = select === undefined ? all : new Map(select(all).map((thread) => [thread, all.get(thread)!] as const));
  const programs = new Map<string, Program>();
  for (const [thread, filter] of filters) programs.set(thread, optimizeProgram(generateProgram(filter)));
  // A thread over the kernel's limit is reported by the positioned path, with its position.
  if (![...programs.values()].every((program) => program.length <= BPF_MAXINSNS)) return undefined;
  return { programs, filters, warnings: [] };
}
