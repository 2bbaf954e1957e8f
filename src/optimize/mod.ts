/**
 * The optimizer: lossless passes over a finished program, each a pure
 * function `(program) → { program, changed }`, run in turn until none
 * changes anything (gVisor pkg/bpf style). Every pass documents why it cannot
 * change any verdict; the differential, kernel and libseccomp suites check
 * optimized programs against the policy.
 *
 * @module
 */
import type { Program } from "../bpf/insn.ts";
import { removeRedundantLoads } from "./redundant_loads.ts";
import type { PassResult } from "./rewrite.ts";

export type { PassResult } from "./rewrite.ts";
export { removeRedundantLoads } from "./redundant_loads.ts";

/** One optimizer pass. */
export type Pass = (program: Program) => PassResult;

/** The passes {@link optimizeProgram} runs, in order. */
export const DEFAULT_PASSES: readonly Pass[] = [removeRedundantLoads];

/**
 * Runs `passes` until a whole round changes nothing. Each pass only removes
 * instructions, so this terminates.
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
