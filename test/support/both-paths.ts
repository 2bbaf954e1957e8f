/**
 * Runs the JSON front end both ways — the fast path for valid policies
 * (`src/policy/fast.ts`) and the positioned front end — and fails the test
 * when they disagree. The front-end and hostile-input suites call these
 * instead of the library, so every input they try is also an equivalence
 * check; `tally` shows how many inputs actually took the fast path.
 *
 * @module
 */
import assert from "node:assert/strict";
import { type ArchName, getArch } from "../../src/arch/arch.ts";
import { type CompiledPolicy, type CompileOptions, compilePolicy } from "../../src/compile.ts";
import { PolicyError } from "../../src/diagnostics.ts";
import { type ParsedPolicy, parsePolicy, type ParsePolicyOptions } from "../../src/policy/frontend.ts";
import { parseValidPolicy } from "../../src/policy/fast.ts";

/** How many inputs the fast path answered, and how many it declined. */
export const tally = { fast: 0, declined: 0 };

/**
 * `parsePolicy`, checked against the fast path: when the fast path answers,
 * the positioned front end must have found nothing (no error, no warning)
 * and built the same filters.
 */
export function parsePolicyBothWays(text: string, arch: ArchName, options: ParsePolicyOptions = {}): ParsedPolicy {
  const positioned = parsePolicy(text, arch, options);
  const fast = parseValidPolicy(text, getArch(arch), options.basic ?? false);
  if (fast === undefined) {
    tally.declined++;
  } else {
    tally.fast++;
    assert.deepEqual(positioned.diagnostics, [], "the fast path accepted a policy the positioned front end reports on");
    assert.deepEqual(fast, positioned.filters, "the fast path built different filters");
  }
  return positioned;
}

/** The outcome of one compile: programs and warnings, or the error's diagnostics and message. */
type Outcome =
  | { readonly compiled: CompiledPolicy }
  | { readonly refused: { readonly diagnostics: unknown; readonly message: string } }
  | { readonly threw: string };

/** @private */
function outcome(run: () => CompiledPolicy): { outcome: Outcome; error?: unknown } {
  try {
    return { outcome: { compiled: run() } };
  } catch (error) {
    if (error instanceof PolicyError) {
      return { outcome: { refused: { diagnostics: error.diagnostics, message: error.message } }, error };
    }
    return { outcome: { threw: String(error) }, error };
  }
}

/**
 * Compiles with the fast path (the default) and without it and fails when
 * the outcomes differ: programs, filters and warnings, or diagnostics and
 * message. Counts the input in {@link tally}.
 */
export function assertBothWaysAgree(text: string, arch: ArchName, options: CompileOptions = {}): void {
  const fast = outcome(() => compilePolicy(text, arch, options));
  const positioned = outcome(() => compilePolicy(text, arch, { ...options, fastPath: false }));
  assert.deepEqual(fast.outcome, positioned.outcome, "compiling with and without the fast path differs");
  if (parseValidPolicy(text, getArch(arch), options.basic ?? false) === undefined) tally.declined++;
  else tally.fast++;
}

/**
 * `compilePolicy`, after {@link assertBothWaysAgree}: returns what the
 * default path returns, or throws what it throws.
 */
export function compileBothWays(text: string, arch: ArchName, options: CompileOptions = {}): CompiledPolicy {
  assertBothWaysAgree(text, arch, options);
  return compilePolicy(text, arch, options);
}
