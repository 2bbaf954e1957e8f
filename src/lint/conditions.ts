/**
 * What a rule's conditions can be proven to do: never hold together, always
 * hold, or be implied by another rule's conditions.
 *
 * Every answer is sound in one direction: "never", "always" and "implies"
 * are returned only when proven; anything the analysis cannot decide exactly
 * counts as "maybe", so lint never claims a rule is dead when it is not.
 *
 * Exact reasoning covers the interval operators (`eq`, `ne`, `lt`, `le`,
 * `gt`, `ge`) on one argument and one width: the set of values that satisfy
 * them is a union of intervals whose ends are 0, the width's maximum, or a
 * compared value ±1, so testing those candidates decides satisfiability.
 * `masked_eq` and mixed widths on one argument are decided only through
 * pairwise conflicts (two fixed bit patterns that disagree).
 *
 * @module
 */
import { type Condition, WIDTH_MAX } from "../ir.ts";

/** Whether `value` satisfies `condition` (compared at the condition's width). @private */
function holds(condition: Condition, value: bigint): boolean {
  const x = value & WIDTH_MAX[condition.width];
  const v = condition.value;
  switch (condition.op) {
    case "eq":
      return x === v;
    case "ne":
      return x !== v;
    case "lt":
      return x < v;
    case "le":
      return x <= v;
    case "gt":
      return x > v;
    case "ge":
      return x >= v;
    case "masked_eq":
      return (x & condition.mask!) === (v & condition.mask!);
  }
}

/**
 * Whether `condition` holds for every argument value (`ge 0`, `le` the
 * width's maximum, `masked_eq` with mask 0).
 *
 * @example
 * ```ts
 * alwaysHolds({ index: 0, width: "dword", op: "ge", value: 0n }); // true
 * ```
 */
export function alwaysHolds(condition: Condition): boolean {
  const max = WIDTH_MAX[condition.width];
  switch (condition.op) {
    case "ge":
      return condition.value === 0n;
    case "le":
      return condition.value === max;
    case "masked_eq":
      return condition.mask === 0n;
    default:
      return false;
  }
}

/** The negation of an interval condition; undefined for `masked_eq`. @private */
function negate(condition: Condition): Condition | undefined {
  const opposite = { eq: "ne", ne: "eq", lt: "ge", ge: "lt", le: "gt", gt: "le" } as const;
  if (condition.op === "masked_eq") return undefined;
  return { index: condition.index, width: condition.width, op: opposite[condition.op], value: condition.value };
}

/** Exact satisfiability of interval conditions on one argument at one width. @private */
function intervalSatisfiable(conditions: readonly Condition[], max: bigint): boolean {
  const candidates = new Set<bigint>([0n, max]);
  for (const c of conditions) {
    for (const v of [c.value - 1n, c.value, c.value + 1n]) if (v >= 0n && v <= max) candidates.add(v);
  }
  for (const x of candidates) if (conditions.every((c) => holds(c, x))) return true;
  return false;
}

/** The bits a condition fixes exactly (`eq` or `masked_eq`), as a mask over 64 bits and their values. @private */
function fixedBits(condition: Condition): { mask: bigint; bits: bigint } | undefined {
  const width = WIDTH_MAX[condition.width];
  if (condition.op === "eq") return { mask: width, bits: condition.value };
  if (condition.op === "masked_eq") return { mask: condition.mask! & width, bits: condition.value & condition.mask! & width };
  return undefined;
}

/**
 * Whether the conjunction of `conditions` can never hold. `true` is a proof;
 * `false` means satisfiable or undecided.
 *
 * @example
 * ```ts
 * neverHolds([
 *   { index: 1, width: "dword", op: "eq", value: 1n },
 *   { index: 1, width: "dword", op: "eq", value: 2n },
 * ]); // true
 * ```
 */
export function neverHolds(conditions: readonly Condition[]): boolean {
  const byIndex = new Map<number, Condition[]>();
  for (const c of conditions) {
    const list = byIndex.get(c.index);
    if (list) list.push(c);
    else byIndex.set(c.index, [c]);
  }
  for (const list of byIndex.values()) {
    for (const width of ["dword", "qword"] as const) {
      const interval = list.filter((c) => c.width === width && c.op !== "masked_eq");
      if (interval.length > 0 && !intervalSatisfiable(interval, WIDTH_MAX[width])) return true;
    }
    // Two conditions that fix the same bits to different values.
    const fixed = list.map(fixedBits).filter((f) => f !== undefined);
    for (let i = 0; i < fixed.length; i++) {
      for (let j = i + 1; j < fixed.length; j++) {
        const common = fixed[i].mask & fixed[j].mask;
        if ((fixed[i].bits & common) !== (fixed[j].bits & common)) return true;
      }
    }
  }
  return false;
}

/**
 * Whether every argument tuple satisfying `premises` satisfies `conclusion`.
 * `true` is a proof; `false` means no or undecided.
 *
 * @example
 * ```ts
 * implies([{ index: 0, width: "dword", op: "eq", value: 3n }], { index: 0, width: "dword", op: "lt", value: 10n }); // true
 * ```
 */
export function implies(premises: readonly Condition[], conclusion: Condition): boolean {
  if (alwaysHolds(conclusion)) return true;
  if (premises.some((p) => sameCondition(p, conclusion))) return true;
  const negated = negate(conclusion);
  if (negated !== undefined) {
    const relevant = premises.filter((p) => p.index === conclusion.index && p.width === conclusion.width && p.op !== "masked_eq");
    return relevant.length > 0 && !intervalSatisfiable([...relevant, negated], WIDTH_MAX[conclusion.width]);
  }
  // masked_eq: some premise fixes at least the conclusion's bits, to the same values.
  const wanted = fixedBits(conclusion)!;
  return premises.some((p) => {
    if (p.index !== conclusion.index) return false;
    const f = fixedBits(p);
    return f !== undefined && (f.mask & wanted.mask) === wanted.mask && (f.bits & wanted.mask) === wanted.bits;
  });
}

/**
 * Whether rule `a` (its conditions) implies rule `b`: every call matching `a`
 * also matches `b`, so `a` adds nothing when both are in one syscall's list.
 *
 * @example
 * ```ts
 * import type { Condition } from "../ir.ts";
 * const seven: Condition = { index: 1, width: "dword", op: "eq", value: 7n };
 * const small: Condition = { index: 1, width: "dword", op: "lt", value: 10n };
 * ruleImplies([seven], [small]); // true: the second rule is broader
 * ```
 */
export function ruleImplies(a: readonly Condition[], b: readonly Condition[]): boolean {
  return b.every((conclusion) => implies(a, conclusion));
}

/**
 * Structural equality of two conditions.
 *
 * @example
 * ```ts
 * import type { Condition } from "../ir.ts";
 * const c: Condition = { index: 0, width: "qword", op: "ne", value: 0n };
 * sameCondition(c, { ...c }); // true
 * ```
 */
export function sameCondition(a: Condition, b: Condition): boolean {
  return a.index === b.index && a.width === b.width && a.op === b.op && a.value === b.value && a.mask === b.mask;
}

/**
 * A canonical key for a rule's conditions (order-insensitive), to find
 * duplicates.
 *
 * @example
 * ```ts
 * import type { Condition } from "../ir.ts";
 * const a: Condition = { index: 0, width: "dword", op: "eq", value: 1n };
 * const b: Condition = { index: 1, width: "dword", op: "eq", value: 2n };
 * ruleKey([a, b]) === ruleKey([b, a]); // true
 * ```
 */
export function ruleKey(conditions: readonly Condition[]): string {
  return conditions
    .map((c) => `${c.index}:${c.width}:${c.op}:${c.value}:${c.mask ?? ""}`)
    .sort()
    .join("&");
}
