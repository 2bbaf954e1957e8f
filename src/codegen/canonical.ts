/**
 * Canonical rule order: the same policy gives the same bytes whatever order
 * its rules and conditions were written in.
 *
 * Why this is safe: rules of a syscall are ORed and the conditions of a rule
 * are ANDed; both operations are commutative and idempotent, and evaluating a
 * condition has no side effect. So sorting either list, and dropping exact
 * duplicates, cannot change which calls match.
 *
 * @module
 */
import type { Condition, Operator, Rule, SyscallRules } from "../ir.ts";

const OPERATOR_ORDER: readonly Operator[] = ["eq", "ne", "lt", "le", "gt", "ge", "masked_eq"];

/** Total order on conditions: index, width, operator, value, mask. @private */
function compareConditions(a: Condition, b: Condition): number {
  if (a.index !== b.index) return a.index - b.index;
  if (a.width !== b.width) return a.width < b.width ? -1 : 1;
  if (a.op !== b.op) return OPERATOR_ORDER.indexOf(a.op) - OPERATOR_ORDER.indexOf(b.op);
  if (a.value !== b.value) return a.value < b.value ? -1 : 1;
  const maskA = a.mask ?? -1n;
  const maskB = b.mask ?? -1n;
  return maskA === maskB ? 0 : maskA < maskB ? -1 : 1;
}

/** Lexicographic order on sorted condition lists; a prefix sorts first. @private */
function compareRules(a: Rule, b: Rule): number {
  const shared = Math.min(a.conditions.length, b.conditions.length);
  for (let i = 0; i < shared; i++) {
    const order = compareConditions(a.conditions[i], b.conditions[i]);
    if (order !== 0) return order;
  }
  return a.conditions.length - b.conditions.length;
}

/** Sorted copy without adjacent duplicates. @private */
function sortedUnique<T>(items: readonly T[], compare: (a: T, b: T) => number): T[] {
  // Most rules have one condition and many syscalls one rule: nothing to sort or drop.
  if (items.length < 2) return items.slice();
  const sorted = [...items].sort(compare);
  return sorted.filter((item, i) => i === 0 || compare(sorted[i - 1], item) !== 0);
}

/**
 * The rules of one syscall in canonical order: conditions sorted within each
 * rule, rules sorted, exact duplicates removed.
 *
 * @example
 * ```ts
 * import { condition, rule } from "../ir.ts";
 * canonicalRules({ name: "write", nr: 1, rules: [rule(condition(1, "dword", "eq", 2)), rule(condition(0, "dword", "eq", 1))] })
 *   .rules.map((r) => r.conditions[0].index); // [0, 1]
 * ```
 */
export function canonicalRules(syscall: SyscallRules): SyscallRules {
  const rules = syscall.rules.map((r) => ({ conditions: sortedUnique(r.conditions, compareConditions) }));
  return { ...syscall, rules: sortedUnique(rules, compareRules) };
}
