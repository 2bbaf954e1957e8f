/**
 * The JSON policy front end: policy text → validated IR, with every problem
 * in the document reported at once, each with a code, a JSON path and a
 * source position.
 *
 * The stages, one module each: `parse.ts` (text → tree with positions),
 * `checker.ts` (reporting, object shapes from `schema.ts`), `numbers.ts`
 * (exact integers), `actions.ts` (actions, operators), `rules.ts` (filters,
 * rules, conditions → IR). The checks that the IR validator shares live in
 * `../checks.ts`, the words and limits in `../vocabulary.ts`.
 *
 * We are stricter than the reference implementations where they are silent
 * (docs/policy-format.md, §8): duplicate keys, `{"allow": null}`, payloads the
 * kernel would truncate, dword values that would be truncated, and a
 * syscall that is listed both with and without conditions are all errors.
 *
 * @module
 */
import { getArch, type ArchName } from "../arch/arch.ts";
import type { Diagnostic, SourcePosition } from "../diagnostics.ts";
import type { Filter } from "../ir.ts";
import { type Checker, describe, lineOf, members, report } from "./checker.ts";
import { readFilter } from "./rules.ts";
import { createLocator, parseJson } from "./parse.ts";

/** Options of {@link parsePolicy}. */
export interface ParsePolicyOptions {
  /** File name shown in positions (default `<policy>`). */
  readonly file?: string;
  /**
   * The deprecated `--basic` mode: drop every `args`, so each listed syscall
   * is allowed unconditionally. Conditions are still validated.
   */
  readonly basic?: boolean;
}

/** What {@link parsePolicy} returns. */
export interface ParsedPolicy {
  /** Thread name → filter, sorted by name; only threads without errors. */
  readonly filters: Map<string, Filter>;
  /** Every error and warning, in document order. */
  readonly diagnostics: Diagnostic[];
  /** Thread name → position of its name in the document (for later diagnostics). */
  readonly threadPositions: Map<string, SourcePosition>;
}

// ---------------------------------------------------------------------------
// Entry point

/**
 * Parses and validates a JSON policy for `arch` and lowers it to IR.
 *
 * Every problem in the document is collected in one run; a filter is
 * returned only for threads without errors. Warnings (merged duplicate
 * unconditional rules, masked_eq portability) do not withhold a filter.
 *
 * @example
 * ```ts
 * const { filters, diagnostics } = parsePolicy(
 *   '{"main": {"default_action": "trap", "filter_action": "allow", "filter": [{"syscall": "read"}]}}',
 *   "x86_64",
 * );
 * filters.get("main")?.syscalls[0].nr; // 0
 * diagnostics.length; // 0
 * ```
 */
export function parsePolicy(text: string, arch: ArchName, options: ParsePolicyOptions = {}): ParsedPolicy {
  const file = options.file ?? "<policy>";
  const filters = new Map<string, Filter>();
  const threadPositions = new Map<string, SourcePosition>();
  const parsed = parseJson(text, file);
  if (!parsed.root) return { filters, diagnostics: [...parsed.diagnostics], threadPositions };

  const checker: Checker = {
    text,
    arch: getArch(arch),
    locate: createLocator(text, file),
    basic: options.basic ?? false,
    diagnostics: [],
  };
  const root = parsed.root;
  if (root.type !== "object") {
    report(checker, {
      code: "top-level-not-object",
      message: `a policy must be a JSON object mapping filter names to filters, not ${describe(root)}`,
      path: [],
      at: root,
      hint: 'write {"name": {"default_action": ..., "filter_action": ..., "filter": [...]}}; {} is an empty policy',
    });
    return { filters, diagnostics: checker.diagnostics, threadPositions };
  }

  const found: [string, Filter][] = [];
  const duplicated = new Set<string>();
  for (const { key, value, duplicate } of members(root)) {
    const name = key.value as string;
    if (duplicate) {
      duplicated.add(name);
      report(checker, {
        code: "duplicate-filter",
        message: `duplicate filter "${name}" (first defined on line ${lineOf(checker, duplicate)})`,
        path: [name],
        at: key,
        hint: "filter names must be unique; merge the two filters or rename one",
      });
    } else {
      threadPositions.set(name, checker.locate(key.offset, key.length));
    }
    // A repeated filter is still checked, so that one run shows all its problems.
    const filter = readFilter(checker, value, [name]);
    if (filter && !duplicate) found.push([name, filter]);
  }
  for (const [name, filter] of found.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    if (!duplicated.has(name)) filters.set(name, filter);
  }
  checker.diagnostics.sort((a, b) => (a.position?.offset ?? 0) - (b.position?.offset ?? 0));
  return { filters, diagnostics: checker.diagnostics, threadPositions };
}
