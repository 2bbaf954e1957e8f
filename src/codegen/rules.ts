/**
 * Argument checks as decision trees: the rules of one syscall (an OR of
 * ANDs of conditions) → BPF that loads each argument word as few times as
 * possible and finds values by search instead of one test after another.
 *
 * Every condition is first rewritten into "atoms":
 * - a *word atom* says a 32-bit word (an argument half, optionally ANDed with
 *   a mask) lies in a set of value ranges: `dword eq 5` is `lo ∈ {5}`,
 *   `dword ge 20` is `lo ∈ 20..max`, `masked_eq` is `(lo & mask) ∈ {value & mask}`,
 *   a `qword eq` is two word atoms, one per half. Several word atoms of one
 *   rule on the same word are intersected;
 * - a *condition atom* keeps a 64-bit ordered comparison (or `ne`) whole and
 *   is emitted by `emitCondition`.
 *
 * Then, recursively: pick the word most rules test; split its value line at
 * every range boundary the rules mention; for each piece, the rules that
 * accept it continue without that atom; one search (`search.ts`) sends the
 * loaded word to its piece. Rules that do not test the word ("others") are
 * tried after any piece's rules fail, and directly for values no rule on the
 * word accepts. Pieces whose remaining rules are identical share one block,
 * so a prefix shared by several rules is tested once. Rules with only
 * condition atoms left are tested one after another.
 *
 * Why it is safe: when the word lies in piece P, a rule whose atom on the
 * word rejects P cannot match, a rule whose atom accepts P matches exactly
 * when its remaining atoms hold, and a rule without an atom on the word is
 * unaffected; so "(some accepting rule's remaining atoms hold) or (some other
 * rule holds)" is exactly "some rule holds". A rule with no atoms left always
 * holds; a rule with an empty range set never does.
 *
 * @module
 */
import type { Label, ProgramBuilder } from "../bpf/builder.ts";
import { AND_K, JSET_K, LD_ABS } from "../bpf/insn.ts";
import type { Condition, Rule } from "../ir.ts";
import { argumentHalves, emitCondition } from "./conditions.ts";
import { emitPlannedSearch, normalizeSegments, planSearch, type PlannedSearch, searchLeaf, type Segment, withoutSegments } from "./search.ts";

const WORD_MAX = 0xffffffff;
const LOW_MASK = 0xffffffffn;

/** Inclusive value ranges, sorted and disjoint. @private */
type Ranges = readonly (readonly [number, number])[];

/** One test of a rule. */
export type Atom =
  | {
    readonly kind: "word";
    /** `seccomp_data` offset of the 32-bit word. */
    readonly offset: number;
    /** Mask applied after loading (`0xffffffff`: none). */
    readonly mask: number;
    /** Values of the (masked) word that pass. */
    readonly ranges: Ranges;
  }
  | { readonly kind: "condition"; readonly condition: Condition };

/** What a syscall's rules reduce to before any code is emitted. */
export type RuleSet =
  | { readonly kind: "always" }
  | { readonly kind: "never" }
  | { readonly kind: "atoms"; readonly rules: readonly (readonly Atom[])[] };

/** The complement of one value, within 0..max. @private */
function allBut(v: number): Ranges {
  const out: [number, number][] = [];
  if (v > 0) out.push([0, v - 1]);
  if (v < WORD_MAX) out.push([v + 1, WORD_MAX]);
  return out;
}

/** Intersection of two range sets. @private */
function intersect(a: Ranges, b: Ranges): Ranges {
  const out: [number, number][] = [];
  let i = 0;
  let j = 0;
  while (i < a.length && j < b.length) {
    const lo = Math.max(a[i][0], b[j][0]);
    const hi = Math.min(a[i][1], b[j][1]);
    if (lo <= hi) out.push([lo, hi]);
    if (a[i][1] < b[j][1]) i++;
    else j++;
  }
  return out;
}

/** Whether a range set accepts every value. @private */
function isEverything(r: Ranges): boolean {
  return r.length === 1 && r[0][0] === 0 && r[0][1] === WORD_MAX;
}

/** The ranges of a 32-bit comparison `word OP k` (unsigned). @private */
function wordRanges(op: Exclude<Condition["op"], "masked_eq">, k: number): Ranges {
  switch (op) {
    case "eq":
      return [[k, k]];
    case "ne":
      return allBut(k);
    case "lt":
      return k === 0 ? [] : [[0, k - 1]];
    case "le":
      return [[0, k]];
    case "gt":
      return k === WORD_MAX ? [] : [[k + 1, WORD_MAX]];
    case "ge":
      return [[k, WORD_MAX]];
  }
}

/** A masked-equality word atom, or nothing when the mask is 0 (always true). @private */
function maskedAtom(offset: number, mask: number, value: number): Atom[] {
  if (mask === 0) return [];
  return [{ kind: "word", offset, mask, ranges: [[(value & mask) >>> 0, (value & mask) >>> 0]] }];
}

/** The atoms of one condition for the target byte order. @private */
function conditionAtoms(cond: Condition, endian: "little" | "big"): Atom[] {
  const at = argumentHalves(cond.index, endian);
  const lo = Number(cond.value & LOW_MASK);
  const hi = Number((cond.value >> 32n) & LOW_MASK);
  if (cond.op === "masked_eq") {
    const mask = cond.mask ?? 0n;
    const maskLo = Number(mask & LOW_MASK);
    const maskHi = Number((mask >> 32n) & LOW_MASK);
    return cond.width === "qword"
      ? [...maskedAtom(at.hi, maskHi, hi), ...maskedAtom(at.lo, maskLo, lo)]
      : maskedAtom(at.lo, maskLo, lo);
  }
  if (cond.width === "dword") return [{ kind: "word", offset: at.lo, mask: WORD_MAX, ranges: wordRanges(cond.op, lo) }];
  if (cond.op === "eq") {
    return [
      { kind: "word", offset: at.hi, mask: WORD_MAX, ranges: [[hi, hi]] },
      { kind: "word", offset: at.lo, mask: WORD_MAX, ranges: [[lo, lo]] },
    ];
  }
  return [{ kind: "condition", condition: cond }];
}

/**
 * Identity of the word an atom tests: a number, so the maps keyed by it hash
 * no text (argument offsets are below 64 and masks below 2^32, so it is exact). @private
 */
function wordKey(offset: number, mask: number): number {
  return offset * 0x1_0000_0000 + mask;
}

/**
 * One rule's atoms, with word atoms on the same word intersected and
 * always-true ones dropped; undefined when the rule can never hold.
 * @private
 */
function ruleAtoms(rule: Rule, endian: "little" | "big"): Atom[] | undefined {
  const words = new Map<number, Atom & { kind: "word" }>();
  const conditions: Atom[] = [];
  for (const cond of rule.conditions) {
    for (const atom of conditionAtoms(cond, endian)) {
      if (atom.kind !== "word") {
        conditions.push(atom);
        continue;
      }
      const key = wordKey(atom.offset, atom.mask);
      const seen = words.get(key);
      words.set(key, seen ? { ...atom, ranges: intersect(seen.ranges, atom.ranges) } : atom);
    }
  }
  const out: Atom[] = [];
  for (const atom of words.values()) {
    if (atom.ranges.length === 0) return undefined;
    if (!isEverything(atom.ranges)) out.push(atom);
  }
  return [...out, ...conditions];
}

/**
 * A syscall's rules as atoms: `always` when there are no rules or some rule
 * holds for every argument, `never` when none can hold, otherwise the satisfiable rules.
 *
 * @example
 * ```ts
 * import { condition, rule } from "../ir.ts";
 * ruleSet([rule(condition(0, "dword", "ge", 0))], "little").kind; // "always"
 * ruleSet([rule(condition(0, "dword", "lt", 0))], "little").kind; // "never"
 * ```
 */
export function ruleSet(rules: readonly Rule[], endian: "little" | "big"): RuleSet {
  // No rules at all: the syscall is allowed unconditionally (see Filter in ir.ts).
  if (rules.length === 0) return { kind: "always" };
  const out: Atom[][] = [];
  for (const r of rules) {
    const atoms = ruleAtoms(r, endian);
    if (atoms === undefined) continue;
    if (atoms.length === 0) return { kind: "always" };
    out.push(atoms);
  }
  return out.length === 0 ? { kind: "never" } : { kind: "atoms", rules: out };
}

/**
 * Weights the value searches use: a value some rule accepts vs one none does, and an
 * instruction's size. In proportion 1 : 0.1 : 0.05, scaled to integers so that costs are exact
 * (as `DISPATCH_WEIGHTS` in ./mod.ts).
 */
export const RULE_SEARCH_WEIGHTS = { accepted: 20, rejected: 2, sizeCost: 1 } as const;

/** Shared state of one syscall's emission. @private */
interface Context {
  readonly b: ProgramBuilder;
  readonly endian: "little" | "big";
  readonly match: Label;
  readonly matchValue: number;
  readonly resolve: (target: Label) => Label;
  readonly checkpoint: () => void;
}

/** How {@link emitRuleTree} reaches shared returns (see `returns.ts`); by default, directly. */
export interface ReturnHooks {
  /** The label a jump emitted now should use for `target`. */
  readonly resolve: (target: Label) => Label;
  /** Called where control never falls through. */
  readonly checkpoint: () => void;
}

/** A block still to be emitted: its label, rules and failure target. @private */
interface Pending {
  readonly label: Label;
  readonly rules: readonly (readonly Atom[])[];
  readonly fail: Label;
}

/** A canonical text of a rule list, for sharing identical blocks. @private */
function rulesKey(rules: readonly (readonly Atom[])[], fail: Label): string {
  const atomKey = (a: Atom) =>
    a.kind === "word"
      ? `w${wordKey(a.offset, a.mask)}:${a.ranges.map((r) => `${r[0]}-${r[1]}`).join(",")}`
      : `c${a.condition.index}${a.condition.width}${a.condition.op}${a.condition.value}`;
  return `${fail.id}|${rules.map((r) => r.map(atomKey).join("&")).join("|")}`;
}

/**
 * Emits the decision tree for `rules` at the current position: every path
 * ends at `match` (or an inline `ret match`) or at `fail`.
 *
 * @example
 * ```ts
 * import { ProgramBuilder } from "../bpf/builder.ts";
 * import { condition, rule } from "../ir.ts";
 * const b = new ProgramBuilder();
 * const [match, fail] = [b.label("match"), b.label("fail")];
 * const set = ruleSet([rule(condition(1, "dword", "eq", 0x5421)), rule(condition(1, "dword", "eq", 0x5413))], "little");
 * if (set.kind === "atoms") emitRuleTree(b, set.rules, { endian: "little", match, matchValue: 0x7fff0000, fail });
 * ```
 */
export function emitRuleTree(
  b: ProgramBuilder,
  rules: readonly (readonly Atom[])[],
  where: { endian: "little" | "big"; match: Label; matchValue: number; fail: Label; returns?: ReturnHooks },
): void {
  const hooks = where.returns ?? { resolve: (t: Label) => t, checkpoint: () => {} };
  emitBlock({ b, endian: where.endian, match: where.match, matchValue: where.matchValue, ...hooks }, rules, where.fail);
}

/** Emits one block here, then the blocks it defers. @private */
function emitBlock(ctx: Context, rules: readonly (readonly Atom[])[], fail: Label): void {
  const deferred: Pending[] = [];
  const shared = new Map<string, Label>();
  /** Where control goes to try `sub`, failing to `subFail`: an existing label or a new deferred block. */
  const targetOf = (sub: readonly (readonly Atom[])[], subFail: Label): Label => {
    if (sub.some((r) => r.length === 0)) return ctx.match;
    if (sub.length === 0) return subFail;
    const key = rulesKey(sub, subFail);
    let label = shared.get(key);
    if (!label) {
      label = ctx.b.label("rules");
      shared.set(key, label);
      deferred.push({ label, rules: sub, fail: subFail });
    }
    return label;
  };

  const split = chooseSplit(rules);
  if (split) {
    const { word, withWord, others, cut } = split;
    // Deferred blocks are emitted in creation order: the others' block is created last,
    // after every piece that falls back to it.
    const othersLabel = others.length === 0 ? fail : ctx.b.label("others");
    const segments = cut.map((p): Segment => {
      const accepting = p.rules.map((k) => withWord[k].rest);
      const target = targetOf(accepting, othersLabel);
      return {
        lo: p.lo,
        hi: p.hi,
        target,
        weight: accepting.length > 0 ? RULE_SEARCH_WEIGHTS.accepted * accepting.length : RULE_SEARCH_WEIGHTS.rejected,
      };
    });
    emitWordTest(ctx, word.offset, word.mask, segments, true);
    for (const p of deferred) {
      ctx.checkpoint();
      ctx.b.place(p.label);
      emitBlock(ctx, p.rules, p.fail);
    }
    if (others.length > 0) {
      ctx.checkpoint();
      ctx.b.place(othersLabel);
      emitBlock(ctx, others, fail);
    }
    return;
  }

  // No word worth a shared search: test the first rule atom by atom, then the rest.
  const [first, ...rest] = rules;
  const restLabel = rest.length === 0 ? fail : ctx.b.label("next-rule");
  for (const atom of first) {
    if (atom.kind === "condition") {
      emitCondition(ctx.b, atom.condition, ctx.endian, ctx.resolve(restLabel));
      continue;
    }
    const pass = ctx.b.label("atom-holds");
    const segments: Segment[] = [];
    let next = 0;
    for (const [lo, hi] of atom.ranges) {
      if (lo > next) segments.push({ lo: next, hi: lo - 1, target: restLabel, weight: RULE_SEARCH_WEIGHTS.rejected });
      segments.push({ lo, hi, target: pass, weight: RULE_SEARCH_WEIGHTS.accepted });
      next = hi + 1;
    }
    if (next <= WORD_MAX) segments.push({ lo: next, hi: WORD_MAX, target: restLabel, weight: RULE_SEARCH_WEIGHTS.rejected });
    emitWordTest(ctx, atom.offset, atom.mask, segments, false);
    ctx.b.place(pass);
  }
  ctx.b.ret(ctx.matchValue);
  if (rest.length > 0) {
    ctx.checkpoint();
    ctx.b.place(restLabel);
    emitBlock(ctx, rest, fail);
  }
}

/**
 * Where a masked word's search sends 0 and where it sends every value the
 * mask lets through besides 0, when those are all `jset #mask` needs to
 * decide (it jumps when `word & mask` is not 0): always for a one-bit mask
 * (the masked word is 0 or the bit), and for a wider mask when every nonzero
 * value goes to the same place. @private
 */
function bitTestTargets(mask: number, segments: readonly Segment[]): { zero: Label; nonzero: Label } | undefined {
  if (mask === WORD_MAX) return undefined;
  const zero = segments.find((s) => s.lo === 0)?.target;
  const oneBit = (mask & (mask - 1)) === 0;
  const nonzeroTargets = new Set(
    segments.filter((s) => (oneBit ? s.lo <= mask && mask <= s.hi : s.hi >= 1)).map((s) => s.target),
  );
  if (zero === undefined || nonzeroTargets.size !== 1) return undefined;
  return { zero, nonzero: [...nonzeroTargets][0] };
}

/**
 * Loads a word and sends it down `segments` (values of the masked word):
 * one `jset` when that decides it ({@link bitTestTargets}; it leaves A
 * unchanged and needs no `and`), otherwise `and` (masked words) and a search.
 * `withCheckpoints`: the search may place pending returns between its
 * branches, as the shared search of several rules always could.
 * @private
 */
function emitWordTest(ctx: Context, offset: number, mask: number, segments: readonly Segment[], withCheckpoints: boolean): void {
  ctx.b.stmt(LD_ABS, offset);
  const bit = bitTestTargets(mask, segments);
  if (bit !== undefined) {
    ctx.b.jump(JSET_K, mask, ctx.resolve(bit.nonzero), ctx.resolve(bit.zero));
    return;
  }
  if (mask !== WORD_MAX) ctx.b.stmt(AND_K, mask);
  const options = { sizeCost: RULE_SEARCH_WEIGHTS.sizeCost, resolve: ctx.resolve };
  const searchOptions = withCheckpoints ? { ...options, checkpoint: ctx.checkpoint } : options;
  const planned = planSearch(segments, searchOptions);
  const flags = mask === WORD_MAX ? flagSetTest(segments, planned) : undefined;
  if (flags === undefined) {
    emitPlannedSearch(ctx.b, planned, searchOptions);
    return;
  }
  const leaf = searchLeaf(flags.others);
  const others = leaf === undefined ? ctx.b.label("flags-others") : ctx.resolve(leaf);
  ctx.b.jump(JSET_K, (~flags.bits) >>> 0, others, ctx.resolve(flags.target));
  if (leaf !== undefined) return;
  ctx.b.place(others);
  emitPlannedSearch(ctx.b, flags.others, searchOptions);
}

/** Most bits a flag set may have: its 2^N values are each looked up to check they share a target. */
const FLAG_SET_MAX_BITS = 6;

/** Number of 1 bits. @private */
function popcount(x: number): number {
  let n = 0;
  for (let v = x >>> 0; v !== 0; v &= v - 1) n++;
  return n;
}

/** The values a set of bits can make: every submask of `bits`, 0 included. @private */
function submasks(bits: number): number[] {
  const out: number[] = [];
  // The standard walk: (s − 1) & bits visits each submask once, down to 0.
  for (let s = bits >>> 0; ; s = ((s - 1) & bits) >>> 0) {
    out.push(s);
    if (s === 0) return out;
  }
}

/**
 * A flag-set test for a word that is not masked: when every value made of
 * some bits B (each submask of B, 0 included: flags such as futex's
 * FUTEX_WAIT, FUTEX_WAKE and their FUTEX_PRIVATE_FLAG forms, 0, 1, 128, 129)
 * goes to one target, a single `jset #~B` sends them all there (the word has
 * no bit outside B) and every other value on to a search over the rest, where
 * the flag values can no longer occur. Returned when that is strictly
 * cheaper than the plain search `planned` (the same cost model: weight ×
 * jumps, plus the size), undefined otherwise.
 *
 * Why it is safe: `jset #~B` jumps exactly when the word has a bit outside B,
 * so its other branch receives exactly the submasks of B, all of which go to
 * `target`; the search after it still sends every value to its own segment's
 * target (only values it can no longer receive changed target).
 * @private
 */
function flagSetTest(
  segments: readonly Segment[],
  planned: PlannedSearch,
): { bits: number; target: Label; others: PlannedSearch } | undefined {
  const segs = normalizeSegments(segments);
  const target = segs[0].target;
  // Flags are values some rule accepts (0 among them); and a set needs a second small segment of 0's target.
  if (segs[0].weight < RULE_SEARCH_WEIGHTS.accepted) return undefined;
  if (!segs.some((x, k) => k > 0 && x.target === target && x.hi - x.lo < 1 << FLAG_SET_MAX_BITS)) return undefined;
  const targetOfValue = (v: number): Label => {
    let lo = 0;
    let hi = segs.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (segs[mid].lo <= v) lo = mid;
      else hi = mid - 1;
    }
    return segs[lo].target;
  };
  // Candidate bits: the values of the small segments that share 0's target, heaviest segment first.
  const candidates = segs
    .filter((x) => x.target === target && x.hi - x.lo < 1 << FLAG_SET_MAX_BITS)
    .sort((x, y) => y.weight - x.weight || x.lo - y.lo)
    .flatMap((x) => Array.from({ length: x.hi - x.lo + 1 }, (_, k) => x.lo + k));
  let bits = 0;
  for (const value of candidates) {
    const wider = (bits | value) >>> 0;
    if (wider === bits || popcount(wider) > FLAG_SET_MAX_BITS) continue;
    if (submasks(wider).every((v) => targetOfValue(v) === target)) bits = wider;
  }
  // One flag bit is one value besides 0: a range test does as well.
  if (popcount(bits) < 2) return undefined;
  const inSet = (v: number) => (v & ~bits) === 0;
  const rest = withoutSegments(segs, (lo, hi) => {
    if (hi - lo >= 1 << FLAG_SET_MAX_BITS) return false;
    for (let v = lo; v <= hi; v++) if (!inSet(v)) return false;
    return true;
  });
  const others = planSearch(rest, { sizeCost: RULE_SEARCH_WEIGHTS.sizeCost });
  const total = segs.reduce((n, x) => n + x.weight, 0);
  const leaf = searchLeaf(others) !== undefined;
  const cost = total + (leaf ? 0 : others.cost);
  const size = 1 + (leaf ? 0 : others.size);
  const sizeCost = RULE_SEARCH_WEIGHTS.sizeCost;
  if (cost + sizeCost * size >= planned.cost + sizeCost * planned.size) return undefined;
  return { bits, target, others };
}

/**
 * How much a search on one word may copy rules: a rule whose ranges span
 * several pieces is continued from each of them, so overlapping ranges can
 * multiply code. Above this many rule copies per rule (plus a little slack),
 * the word is not searched and rules are tested one after another instead.
 */
const MAX_COPIES_PER_RULE = 2;

/** A word to search, its rules split by whether they test it, and its pieces. @private */
interface Split {
  readonly word: { readonly offset: number; readonly mask: number };
  readonly withWord: readonly { readonly ranges: Ranges; readonly rest: readonly Atom[] }[];
  readonly others: readonly (readonly Atom[])[];
  readonly cut: readonly { lo: number; hi: number; rules: number[] }[];
}

/**
 * The word tested by the most rules (ties: unmasked first, then lowest
 * offset) whose search does not copy rules too often; undefined when there
 * is none. @private
 */
function chooseSplit(rules: readonly (readonly Atom[])[]): Split | undefined {
  const counts = new Map<number, { offset: number; mask: number; count: number }>();
  for (const r of rules) {
    for (const a of r) {
      if (a.kind !== "word") continue;
      const key = wordKey(a.offset, a.mask);
      const entry = counts.get(key);
      if (entry) entry.count++;
      else counts.set(key, { offset: a.offset, mask: a.mask, count: 1 });
    }
  }
  const order = [...counts.values()].sort((x, y) =>
    y.count - x.count || Number(y.mask === WORD_MAX) - Number(x.mask === WORD_MAX) || x.offset - y.offset ||
    x.mask - y.mask
  );
  for (const word of order) {
    const withWord: { ranges: Ranges; rest: Atom[] }[] = [];
    const others: (readonly Atom[])[] = [];
    for (const r of rules) {
      const at = r.findIndex((a) => a.kind === "word" && a.offset === word.offset && a.mask === word.mask);
      if (at < 0) others.push(r);
      else withWord.push({ ranges: (r[at] as Atom & { kind: "word" }).ranges, rest: r.filter((_, i) => i !== at) });
    }
    const cut = pieces(withWord);
    let copies = 0;
    for (const p of cut) copies += p.rules.length;
    if (copies <= MAX_COPIES_PER_RULE * withWord.length + 4) return { word, withWord, others, cut };
  }
  return undefined;
}

/**
 * Cuts 0..max at every boundary of the given range sets: each piece lists
 * the indexes of the range sets that contain it (the same for every value of
 * the piece). Linear in the number of boundaries after sorting.
 * @private
 */
function pieces(entries: readonly { ranges: Ranges }[]): { lo: number; hi: number; rules: number[] }[] {
  // Events: at value v, entry k starts (+) or stops (−, at hi + 1).
  const events: { at: number; entry: number; start: boolean }[] = [];
  entries.forEach((e, k) => {
    for (const [lo, hi] of e.ranges) {
      events.push({ at: lo, entry: k, start: true });
      if (hi < WORD_MAX) events.push({ at: hi + 1, entry: k, start: false });
    }
  });
  events.sort((x, y) => x.at - y.at);
  const active = new Set<number>();
  const out: { lo: number; hi: number; rules: number[] }[] = [];
  let lo = 0;
  let e = 0;
  while (lo <= WORD_MAX) {
    while (e < events.length && events[e].at === lo) {
      if (events[e].start) active.add(events[e].entry);
      else active.delete(events[e].entry);
      e++;
    }
    const hi = e < events.length ? events[e].at - 1 : WORD_MAX;
    out.push({ lo, hi, rules: [...active].sort((x, y) => x - y) });
    lo = hi + 1;
  }
  return out;
}
