/**
 * The optimizer: lossless passes over a finished program, each a pure
 * function `(program) → { program, changed }`, run in turn until a whole
 * round changes nothing (gVisor pkg/bpf style). Every pass documents why it
 * cannot change any verdict; the differential, kernel and libseccomp suites
 * check optimized programs against the policy.
 *
 * @module
 */
import type { Program } from "../bpf/insn.ts";
import { removeRedundantLoads } from "./redundant_loads.ts";
import { inlineReturns } from "./ret_jumps.ts";
import type { PassResult } from "./rewrite.ts";
import { foldSameTargets } from "./same_targets.ts";
import { shareTails } from "./share_tails.ts";
import { threadJumps } from "./thread_jumps.ts";
import { removeUnreachable } from "./unreachable.ts";

export type { PassResult } from "./rewrite.ts";
export { removeRedundantLoads } from "./redundant_loads.ts";
export { inlineReturns } from "./ret_jumps.ts";
export { foldSameTargets } from "./same_targets.ts";
export { shareTails } from "./share_tails.ts";
export { threadJumps } from "./thread_jumps.ts";
export { removeUnreachable } from "./unreachable.ts";

/** One optimizer pass. */
export type Pass = (program: Program) => PassResult;

/** The passes {@link optimizeProgram} runs, in order. */
export const DEFAULT_PASSES: readonly Pass[] = [
  threadJumps,
  inlineReturns,
  foldSameTargets,
  shareTails,
  removeUnreachable,
  removeRedundantLoads,
];

/**
 * Runs `passes` until a whole round changes nothing. No pass makes the
 * program longer or moves a jump target backward, and each change either
 * shortens the program or moves some target forward, so this terminates.
 *
 * @example
 * ```ts
 * import { generateProgram } from "../codegen/mod.ts";
 * import type { Filter } from "../ir.ts";
 * declare const filter: Filter;
 * const program = optimizeProgram(generateProgram(filter));
 * ```
 */
export function optimizeProgram(program: Program, passes: readonly Pass[] = DEFAULT_PASSES): Program {
  let current = program;
  for (let changed = true; changed;) {
    changed = false;
    for (const pass of passes) {
      const result = pass(current);
      if (result.changed) {
        current = result.program;
        changed = true;
      }
    }
  }
  return current;
}
