/**
 * Cost-shaped search over one 32-bit word in A: the number line is cut into
 * segments, each with a target and a weight, and the emitted code sends every
 * value to its segment's target with `jge` splits and `jeq` chains. The
 * syscall dispatch and the argument-value checks both use it.
 *
 * The shape minimises `Σ weight × depth + λ × size` (depth: instructions
 * executed to reach the target, size: instructions emitted). Small regions
 * are solved exactly by dynamic programming over contiguous segment ranges;
 * larger ones are split where the weight on both sides is most even first,
 * which keeps planning time O(n log n) plus a bounded DP per piece.
 *
 * Why it is safe: every instruction compares A with a constant; a `jge k`
 * sends exactly the values ≥ k right, and the planner only splits at segment
 * boundaries, so each side still covers exactly its segments; a `jeq p`
 * chain only tests single-value segments and sends everything else to the
 * one target all remaining segments share. Every value of 0..2^32−1 lies in
 * exactly one segment (checked on entry), so nothing falls through.
 *
 * @module
 */
import type { Label, ProgramBuilder } from "../bpf/builder.ts";
import { JEQ_K, JGE_K } from "../bpf/insn.ts";

/** One run of values `lo..hi` (inclusive, unsigned 32-bit) that all go to `target`. */
export interface Segment {
  /** First value. */
  readonly lo: number;
  /** Last value (inclusive). */
  readonly hi: number;
  /** Where these values go. */
  readonly target: Label;
  /** How much a value of this segment matters (expected calls); 0 = never mind. */
  readonly weight: number;
}

/** Tuning of {@link emitSearch}. */
export interface SearchOptions {
  /** Cost of one emitted instruction, in the same unit as the weights (default 0). */
  readonly sizeCost?: number;
  /** Regions up to this many segments are planned exactly (default {@link EXACT_LIMIT}); above, weight-balanced splits first. */
  readonly exactLimit?: number;
  /** Maps a segment's target to the label a jump emitted now should use (default: itself). */
  readonly resolve?: (target: Label) => Label;
  /** Called where control never falls through (after each left subtree), e.g. to place returns. */
  readonly checkpoint?: () => void;
}

/** Regions up to this many segments are planned exactly, by default. */
export const EXACT_LIMIT = 24;
/** Longest `jeq` chain considered for a leaf. */
const CHAIN_LIMIT = 8;
/** Most segments a chain can cover: neighbours differ in target, so at least every other one is tested. */
const CHAIN_SPAN = 2 * CHAIN_LIMIT + 1;
const WORD_MAX = 0xffffffff;

/** A planned decision tree. @private */
type Plan =
  | { readonly kind: "leaf"; readonly target: Label }
  | { readonly kind: "split"; readonly at: number; readonly left: Plan; readonly right: Plan }
  | {
    readonly kind: "chain";
    readonly tests: readonly { readonly value: number; readonly target: Label }[];
    readonly otherwise: Label;
  };

/** Cost and size of a plan. @private */
interface Scored {
  readonly plan: Plan;
  readonly cost: number;
  readonly size: number;
}

/**
 * Merges adjacent segments with the same target, and checks the segments
 * cover 0..2^32−1 exactly, in order. Throws on a gap or overlap (a bug in the
 * caller, never the user's input).
 *
 * @example
 * ```ts
 * import { ProgramBuilder } from "../bpf/builder.ts";
 * const b = new ProgramBuilder();
 * const t = b.label();
 * normalizeSegments([{ lo: 0, hi: 9, target: t, weight: 1 }, { lo: 10, hi: 0xffffffff, target: t, weight: 2 }]).length; // 1
 * ```
 */
export function normalizeSegments(segments: readonly Segment[]): Segment[] {
  const out: Segment[] = [];
  let next = 0;
  for (const s of segments) {
    if (s.lo !== next || s.hi < s.lo || s.hi > WORD_MAX) {
      throw new RangeError(`search segments must cover 0..0xffffffff in order (segment ${s.lo}..${s.hi}, expected start ${next})`);
    }
    next = s.hi + 1;
    const last = out[out.length - 1];
    if (last && last.target === s.target) {
      out[out.length - 1] = { lo: last.lo, hi: s.hi, target: s.target, weight: last.weight + s.weight };
    } else {
      out.push(s);
    }
  }
  if (next !== WORD_MAX + 1) throw new RangeError(`search segments end at ${next - 1}, not 0xffffffff`);
  return out;
}

/**
 * Emits the search at the builder's current position. A holds the word; every
 * value jumps to its segment's target (no path falls through past the search).
 * Returns how many instructions the plan emits.
 *
 * @example
 * ```ts
 * import { ProgramBuilder } from "../bpf/builder.ts";
 * const b = new ProgramBuilder();
 * const [yes, no] = [b.label("yes"), b.label("no")];
 * emitSearch(b, [
 *   { lo: 0, hi: 4, target: no, weight: 0 },
 *   { lo: 5, hi: 5, target: yes, weight: 1 },
 *   { lo: 6, hi: 0xffffffff, target: no, weight: 0 },
 * ]); // jeq #5, yes, no
 * ```
 */
export function emitSearch(b: ProgramBuilder, segments: readonly Segment[], options: SearchOptions = {}): number {
  return emitPlannedSearch(b, planSearch(segments, options), options);
}

/**
 * A search planned by {@link planSearch} and not yet emitted, with what it
 * will cost: callers compare it with another way of deciding the same word.
 */
export interface PlannedSearch {
  /** Σ weight × jumps executed to reach the target, the jump to a single-leaf search included. */
  readonly cost: number;
  /** Instructions it emits. */
  readonly size: number;
}

/** What a {@link PlannedSearch} holds besides its figures. @private */
interface Planned extends PlannedSearch {
  /** Values tested with `jeq` before the search proper, heaviest first. */
  readonly peeled: readonly Segment[];
  /** The search proper. */
  readonly plan: Plan;
}

/**
 * Plans the search {@link emitSearch} would emit for `segments`, without
 * emitting anything.
 *
 * @example
 * ```ts
 * import { ProgramBuilder } from "../bpf/builder.ts";
 * const b = new ProgramBuilder();
 * const [yes, no] = [b.label("yes"), b.label("no")];
 * const planned = planSearch([
 *   { lo: 0, hi: 4, target: no, weight: 0 },
 *   { lo: 5, hi: 5, target: yes, weight: 1 },
 *   { lo: 6, hi: 0xffffffff, target: no, weight: 0 },
 * ]);
 * planned.size; // 1: jeq #5
 * ```
 */
export function planSearch(segments: readonly Segment[], options: SearchOptions = {}): PlannedSearch {
  return plannedSearch(segments, options);
}

/** {@link planSearch}, typed with what only this module reads. @private */
function plannedSearch(segments: readonly Segment[], options: SearchOptions): Planned {
  const sizeCost = options.sizeCost ?? 0;
  const exact = options.exactLimit ?? EXACT_LIMIT;
  const segs = normalizeSegments(segments);
  // Peeling: test the heaviest single values first with `jeq`, then search the
  // rest, where a peeled value can no longer occur and joins a neighbour.
  let best = { peeled: [] as Segment[], scored: planRegion(segs, 0, segs.length - 1, sizeCost, exact), score: 0 };
  best.score = best.scored.cost + sizeCost * best.scored.size;
  const total = segs.reduce((n, x) => n + x.weight, 0);
  // Only a value heavy enough to matter is worth a test in front of everything else.
  const heavy = segs.length > PEEL_LIMIT
    ? []
    : segs.filter((x) => x.lo === x.hi && x.weight * PEEL_SHARE >= total).sort((x, y) => y.weight - x.weight)
      .slice(0, MAX_PEELS);
  for (let k = 1; k <= heavy.length; k++) {
    const peeled = heavy.slice(0, k);
    const values = new Set(peeled.map((x) => x.lo));
    const rest = withoutSegments(segs, (lo, hi) => lo === hi && values.has(lo));
    // Planned the way the unpeeled search was: when that one was too large to plan exactly, the
    // rest starts with a weight-balanced split too, even if peeling brought it under the limit.
    // Otherwise each peel turned two half-size exact plans into one full-size one (8× the work;
    // most of the dispatch's planning time), and no program of the corpus or the fixtures changed.
    const restExact = segs.length > exact ? Math.min(exact, rest.length - 1) : exact;
    const scored = planRegion(rest, 0, rest.length - 1, sizeCost, restExact);
    let cost = scored.cost;
    let peeledWeight = 0;
    peeled.forEach((x, m) => {
      cost += x.weight * (m + 1);
      peeledWeight += x.weight;
    });
    cost += (total - peeledWeight) * k;
    const score = cost + sizeCost * (scored.size + k);
    if (score < best.score) best = { peeled, scored: { ...scored, cost, size: scored.size + k }, score };
  }
  // A search that is a single leaf still needs one jump to get there.
  const leaf = best.peeled.length === 0 && best.scored.plan.kind === "leaf";
  return {
    peeled: best.peeled,
    plan: best.scored.plan,
    cost: best.scored.cost + (leaf ? total : 0),
    size: best.scored.size + (leaf ? 1 : 0),
  };
}

/**
 * Emits a search {@link planSearch} planned, at the builder's current
 * position (see {@link emitSearch}); returns how many instructions it emitted.
 *
 * @example
 * ```ts
 * import { ProgramBuilder } from "../bpf/builder.ts";
 * const b = new ProgramBuilder();
 * const [yes, no] = [b.label("yes"), b.label("no")];
 * const segments = [{ lo: 0, hi: 6, target: no, weight: 0 }, { lo: 7, hi: 0xffffffff, target: yes, weight: 1 }];
 * emitPlannedSearch(b, planSearch(segments)); // jge #7, yes, no
 * ```
 */
export function emitPlannedSearch(b: ProgramBuilder, search: PlannedSearch, options: SearchOptions = {}): number {
  const planned = search as Planned;
  const emit: Emitter = { b, resolve: options.resolve ?? ((t) => t), checkpoint: options.checkpoint ?? (() => {}) };
  for (const x of planned.peeled) b.jump(JEQ_K, x.lo, emit.resolve(x.target), "next");
  const entry = emitPlan(emit, planned.plan);
  if (entry.kind === "leaf") b.ja(emit.resolve(entry.target));
  return planned.size;
}

/**
 * The single target every segment of a planned search leads to, when the
 * search is nothing but that jump (so a caller can jump there itself).
 *
 * @example
 * ```ts
 * import { ProgramBuilder } from "../bpf/builder.ts";
 * const b = new ProgramBuilder();
 * const t = b.label("t");
 * searchLeaf(planSearch([{ lo: 0, hi: 0xffffffff, target: t, weight: 1 }])) === t; // true
 * ```
 */
export function searchLeaf(search: PlannedSearch): Label | undefined {
  const planned = search as Planned;
  return planned.peeled.length === 0 && planned.plan.kind === "leaf" ? planned.plan.target : undefined;
}

/**
 * `segs` where the values `gone(lo, hi)` says cannot occur no longer matter:
 * each such segment takes its left neighbour's target (or the right one's,
 * first in line) with no weight, so it merges away.
 *
 * @example
 * ```ts
 * import { ProgramBuilder } from "../bpf/builder.ts";
 * const b = new ProgramBuilder();
 * const [yes, no] = [b.label("yes"), b.label("no")];
 * withoutSegments([
 *   { lo: 0, hi: 4, target: no, weight: 0 },
 *   { lo: 5, hi: 5, target: yes, weight: 1 },
 *   { lo: 6, hi: 0xffffffff, target: no, weight: 0 },
 * ], (lo, hi) => lo === 5 && hi === 5).length; // 1
 * ```
 */
export function withoutSegments(segs: readonly Segment[], gone: (lo: number, hi: number) => boolean): Segment[] {
  const normal = normalizeSegments(segs);
  const out: Segment[] = [];
  for (let k = 0; k < normal.length; k++) {
    const x = normal[k];
    if (gone(x.lo, x.hi)) {
      const neighbour = out.length > 0 ? out[out.length - 1].target : normal[k + 1]?.target;
      out.push({ lo: x.lo, hi: x.hi, target: neighbour ?? x.target, weight: 0 });
    } else {
      out.push(x);
    }
  }
  return normalizeSegments(out);
}

/** Most values {@link emitSearch} considers testing before the search proper. */
const MAX_PEELS = 3;
/** A value is considered for peeling when it carries at least 1/PEEL_SHARE of the total weight. */
const PEEL_SHARE = 10;
/** Searches over more segments than this are not considered for peeling (planning time). */
const PEEL_LIMIT = 400;

/** Where and how a plan is emitted. @private */
interface Emitter {
  readonly b: ProgramBuilder;
  readonly resolve: (target: Label) => Label;
  readonly checkpoint: () => void;
}

/** Emits `plan` (not a bare leaf) here; returns the plan for the caller's bookkeeping. @private */
function emitPlan(emit: Emitter, plan: Plan): Plan {
  const { b, resolve } = emit;
  if (plan.kind === "leaf") return plan;
  if (plan.kind === "chain") {
    plan.tests.forEach((t, i) => {
      const last = i === plan.tests.length - 1;
      b.jump(JEQ_K, t.value, resolve(t.target), last ? resolve(plan.otherwise) : "next");
    });
    return plan;
  }
  const right = plan.right.kind === "leaf" ? resolve(plan.right.target) : b.label(`ge-${plan.at}`);
  const left = plan.left.kind === "leaf" ? resolve(plan.left.target) : b.label(`lt-${plan.at}`);
  b.jump(JGE_K, plan.at, right, left);
  if (plan.left.kind !== "leaf") {
    b.place(left);
    emitPlan(emit, plan.left);
    // Every path of the left subtree has jumped away: nothing falls through from here.
    if (plan.right.kind !== "leaf") emit.checkpoint();
  }
  if (plan.right.kind !== "leaf") {
    b.place(right);
    emitPlan(emit, plan.right);
  }
  return plan;
}

/** Plans segments `i..j`: exactly when small, by weight-balanced splits when large. @private */
function planRegion(segs: readonly Segment[], i: number, j: number, sizeCost: number, exact: number): Scored {
  if (j - i + 1 <= exact) return planExact(segs, i, j, sizeCost);
  let total = 0;
  for (let k = i; k <= j; k++) total += segs[k].weight;
  // The boundary m (first segment of the right side) that best halves the weight.
  let best = i + 1;
  let bestGap = Infinity;
  let leftWeight = 0;
  for (let m = i + 1; m <= j; m++) {
    leftWeight += segs[m - 1].weight;
    const gap = Math.abs(total - 2 * leftWeight);
    if (gap < bestGap) {
      bestGap = gap;
      best = m;
    }
  }
  const left = planRegion(segs, i, best - 1, sizeCost, exact);
  const right = planRegion(segs, best, j, sizeCost, exact);
  return {
    plan: { kind: "split", at: segs[best].lo, left: left.plan, right: right.plan },
    cost: total + left.cost + right.cost,
    size: 1 + left.size + right.size,
  };
}

/**
 * Scratch of {@link planExact}, grown on demand and reused: planning runs for
 * every search, so it allocates nothing per call in its O(n³) loops. Entries
 * are indexed [a * n + c] for the sub-range a..c (relative to the region's
 * start, a ≤ c); only the entries a call writes are read back. @private
 */
const scratch = {
  capacity: 0,
  /**
   * Score (cost + sizeCost × size) of the best plan of each sub-range: a split's left parts
   * a..m−1 for one a lie side by side.
   */
  scoreByStart: new Float64Array(0),
  /** The same scores transposed, [c · n + a]: a split's right parts m..c for one c lie side by side. */
  scoreByEnd: new Float64Array(0),
  /** The best plan's shape: −1 leaf, −2 chain, m > 0 split before m. */
  choice: new Int32Array(0),
  /** Cost of the sub-range's `jeq` chain (when its size is not 0). */
  chainCost: new Float64Array(0),
  /** Tests of the sub-range's `jeq` chain; 0 when no chain fits. */
  chainSize: new Int32Array(0),
  /** Weight before each segment of the region, summed from its start. */
  prefix: new Float64Array(0),
  /** Each segment's target, as a small number (equal numbers: same label). */
  targetId: new Int32Array(0),
  /** Per target: weight of its segments in the chain being extended. */
  targetWeight: new Float64Array(0),
  /** Per target: its first segment in the chain being extended (−1: none yet). */
  firstSeen: new Int32Array(0),
};

/**
 * Regions up to this many segments keep their scratch for the next plan (the
 * dispatch plans up to 48, about 75 kB; 64 would be 130 kB); larger ones, planned only when a caller
 * raises `exactLimit`, give it back so that the module holds no O(n²) memory.
 */
const KEPT_SCRATCH = 64;

/**
 * The scratch is never made smaller than this: one allocation serves the dispatch's regions
 * (up to 48 segments) and every argument search, instead of a new set of arrays each time a
 * larger region comes along (measurable in a short-lived `compile`, where it is cold code).
 */
const SCRATCH_START = 48;

/** Makes {@link scratch} hold a region of `n` segments (`n` 0: gives the memory back). @private */
function reserveScratch(n: number): void {
  if (n <= scratch.capacity && n !== 0) return;
  const capacity = n === 0 ? 0 : Math.max(n, SCRATCH_START);
  scratch.capacity = capacity;
  scratch.scoreByStart = new Float64Array(capacity * capacity);
  scratch.scoreByEnd = new Float64Array(capacity * capacity);
  scratch.choice = new Int32Array(capacity * capacity);
  scratch.chainCost = new Float64Array(capacity * capacity);
  scratch.chainSize = new Int32Array(capacity * capacity);
  scratch.prefix = new Float64Array(capacity + 1);
  scratch.targetId = new Int32Array(capacity);
  scratch.targetWeight = new Float64Array(capacity);
  scratch.firstSeen = new Int32Array(capacity);
}

/**
 * Exact DP over every contiguous sub-range of `i..j`, in flat scratch arrays;
 * the chosen plan is rebuilt at the end. Chains are costed first, per start
 * index (see {@link fillChainCosts}); then every sub-range takes the cheapest
 * of its chain and its splits, in that order, a later candidate only when
 * strictly cheaper.
 *
 * Only scores are kept per sub-range: a split's score is its range's weight
 * plus one instruction's size cost plus its two parts' scores, so the inner
 * loop adds two numbers and compares. With integer weights (the dispatch's
 * and the argument searches') every score is exact, so the order in which
 * they are summed cannot change a comparison. Costs and sizes are summed
 * again over the chosen plan only, when it is rebuilt. @private
 */
function planExact(segs: readonly Segment[], i: number, j: number, sizeCost: number): Scored {
  const n = j - i + 1;
  reserveScratch(n);
  const { prefix, scoreByStart, scoreByEnd, choice, chainCost, chainSize } = scratch;
  prefix[0] = 0;
  for (let k = 0; k < n; k++) prefix[k + 1] = prefix[k] + segs[i + k].weight;
  fillChainCosts(segs, i, n);
  for (let a = 0; a < n; a++) {
    const at = a * n + a;
    scoreByStart[at] = 0;
    scoreByEnd[at] = 0;
    choice[at] = -1;
  }
  for (let len = 2; len <= n; len++) {
    for (let a = 0; a + len - 1 < n; a++) {
      const c = a + len - 1;
      const at = a * n + c;
      // The cheapest split: left a..m−1 (side by side in scoreByStart), right m..c (in scoreByEnd).
      let splitScore = Infinity;
      let splitAt = 0;
      const rightEnd = c * n;
      for (let m = a + 1, left = at - c + a, right = rightEnd + a + 1; m <= c; m++, left++, right++) {
        const score = scoreByStart[left] + scoreByEnd[right];
        if (score < splitScore) {
          splitScore = score;
          splitAt = m;
        }
      }
      let bestScore = prefix[c + 1] - prefix[a] + sizeCost + splitScore;
      let bestChoice = splitAt;
      // The chain is the first candidate: a split replaces it only when strictly cheaper.
      if (len <= CHAIN_SPAN && chainSize[at] !== 0) {
        const chainScore = chainCost[at] + sizeCost * chainSize[at];
        if (chainScore <= bestScore) {
          bestScore = chainScore;
          bestChoice = -2;
        }
      }
      scoreByStart[at] = bestScore;
      scoreByEnd[c * n + a] = bestScore;
      choice[at] = bestChoice;
    }
  }
  const rebuild = (a: number, c: number): Scored => {
    const pick = choice[a * n + c];
    if (pick === -1) return { plan: { kind: "leaf", target: segs[i + a].target }, cost: 0, size: 0 };
    if (pick === -2) return { plan: chainPlan(segs, i + a, i + c), cost: chainCost[a * n + c], size: chainSize[a * n + c] };
    const left = rebuild(a, pick - 1);
    const right = rebuild(pick, c);
    return {
      plan: { kind: "split", at: segs[i + pick].lo, left: left.plan, right: right.plan },
      cost: prefix[c + 1] - prefix[a] + left.cost + right.cost,
      size: 1 + left.size + right.size,
    };
  };
  const scored = rebuild(0, n - 1);
  if (scratch.capacity > KEPT_SCRATCH) reserveScratch(0);
  return scored;
}

/** Scratch for {@link fillChainCosts}: each target's number (cleared on entry; it may hold the last search's labels). @private */
const targetIds = new Map<Label, number>();

/** Scratch for {@link fillChainCosts}: the tested weights, sorted (heaviest first). @private */
const chainWeights = new Float64Array(CHAIN_LIMIT);

/**
 * Fills `scratch.chainCost`/`chainSize` for every sub-range of the region
 * `i..i+n−1` (relative indices) that a `jeq` chain of at most
 * {@link CHAIN_LIMIT} tests can plan (heavier values tested first; size 0
 * elsewhere), with the figures {@link chainBackground} and {@link chainPlan}
 * define, computed in the same order of floating-point operations.
 *
 * For each start a the range grows one segment at a time, carrying each
 * target's weight and the multi-value segments' common target, so finding
 * the untested target is O(1), and a range adds at most one tested weight
 * (O(CHAIN_LIMIT) insertion) unless that target changes (a rescan of the
 * range). A chain needs at least every other segment tested, so ranges stop
 * at {@link CHAIN_SPAN} segments: O(n) ranges, each at most
 * O(CHAIN_SPAN · CHAIN_LIMIT). @private
 */
function fillChainCosts(segs: readonly Segment[], i: number, n: number): void {
  const { prefix, chainCost, chainSize, targetId, targetWeight, firstSeen } = scratch;
  // Dense target numbers, in order of first appearance.
  const ids = targetIds;
  ids.clear();
  for (let k = 0; k < n; k++) {
    const target = segs[i + k].target;
    let id = ids.get(target);
    if (id === undefined) {
      id = ids.size;
      ids.set(target, id);
    }
    targetId[k] = id;
  }
  for (let a = 0; a < n; a++) {
    // Only the targets of the segments the loop below reaches need clearing, and only the
    // ranges a chain can span need a size (planExact reads no longer ones).
    const reach = Math.min(n, a + CHAIN_SPAN + 1);
    for (let k = a; k < reach; k++) {
      targetWeight[targetId[k]] = 0;
      firstSeen[targetId[k]] = -1;
    }
    // No chain unless found below (the loop may stop early).
    chainSize.fill(0, a * n + a, a * n + Math.min(n, a + CHAIN_SPAN));
    // The target every multi-value segment so far shares (−1: none yet).
    let multiTarget = -1;
    // The heaviest target so far (first to appear on a tie), kept up to date while no
    // weight is negative or NaN; after such a weight it is found by a scan instead.
    let heaviest = -1;
    let heaviestWeight = 0;
    let tracked = true;
    // The tested segments for background `testedFor`, in segment order: their count (above
    // CHAIN_LIMIT: too many), their weight summed in order, and chainWeights sorted.
    let testedFor = -1;
    let count = 0;
    let testedWeight = 0;
    for (let c = a; c < n; c++) {
      const at = a * n + c;
      const s = segs[i + c];
      const id = targetId[c];
      // Accumulated in segment order, as chainBackground sums each target's weight.
      targetWeight[id] += s.weight;
      if (firstSeen[id] === -1) firstSeen[id] = c;
      if (!(s.weight >= 0)) tracked = false;
      else if (heaviest === -1 || id === heaviest) {
        heaviest = id;
        heaviestWeight = targetWeight[id];
      } else if (
        targetWeight[id] > heaviestWeight ||
        (targetWeight[id] === heaviestWeight && firstSeen[id] < firstSeen[heaviest])
      ) {
        // Only this target's weight grew, so only it can overtake.
        heaviest = id;
        heaviestWeight = targetWeight[id];
      }
      if (c - a + 1 > CHAIN_SPAN) break;
      if (s.lo !== s.hi) {
        // Two multi-value segments with different targets: no chain here or in any longer range.
        if (multiTarget !== -1 && multiTarget !== id) break;
        multiTarget = id;
      }
      let background = multiTarget;
      if (background === -1) {
        // Only single values: the target whose values weigh most, the first to appear on a tie.
        if (tracked) {
          background = heaviest;
        } else {
          let most = -1;
          for (let k = a; k <= c; k++) {
            const w = targetWeight[targetId[k]];
            if (w > most) {
              most = w;
              background = targetId[k];
            }
          }
        }
        if (background === -1) {
          // No weight compared above −1 (NaN): chainBackground finds no target either.
          testedFor = -1;
          continue;
        }
      }
      if (background === testedFor) {
        // Same background as for a..c−1: segment c is the only one that may join the tests.
        if (id !== background) {
          count = addTested(count, s.weight);
          if (count <= CHAIN_LIMIT) testedWeight += s.weight;
        }
      } else {
        testedFor = background;
        count = 0;
        testedWeight = 0;
        for (let k = a; k <= c && count <= CHAIN_LIMIT; k++) {
          if (targetId[k] === background) continue;
          count = addTested(count, segs[i + k].weight);
          if (count <= CHAIN_LIMIT) testedWeight += segs[i + k].weight;
        }
      }
      if (count === 0 || count > CHAIN_LIMIT) continue;
      const total = prefix[c + 1] - prefix[a];
      let chain = (total - testedWeight) * count;
      for (let m = 0; m < count; m++) chain += chainWeights[m] * (m + 1);
      chainCost[at] = chain;
      chainSize[at] = count;
    }
  }
}

/**
 * Adds weight `w` to the `count` tested weights kept sorted in
 * {@link chainWeights}; returns the new count, CHAIN_LIMIT + 1 (too many)
 * when they are full. @private
 */
function addTested(count: number, w: number): number {
  if (count >= CHAIN_LIMIT) return CHAIN_LIMIT + 1;
  // Insertion into the sorted scratch.
  let p = count;
  while (p > 0 && chainWeights[p - 1] < w) {
    chainWeights[p] = chainWeights[p - 1];
    p--;
  }
  chainWeights[p] = w;
  return count + 1;
}

/**
 * The target a `jeq` chain over segments `a..c` leaves untested: the one
 * every multi-value segment shares, or with only single values the target
 * whose values weigh most; null when multi-value segments disagree.
 * @private
 */
function chainBackground(segs: readonly Segment[], a: number, c: number): Label | null {
  let background: Label | null = null;
  for (let k = a; k <= c; k++) {
    const s = segs[k];
    if (s.lo === s.hi) continue;
    if (background !== null && background !== s.target) return null;
    background = s.target;
  }
  if (background !== null) return background;
  let heaviest = -1;
  for (let k = a; k <= c; k++) {
    let w = 0;
    for (let m = a; m <= c; m++) if (segs[m].target === segs[k].target) w += segs[m].weight;
    if (w > heaviest) {
      heaviest = w;
      background = segs[k].target;
    }
  }
  return background;
}

/** The chain plan itself, for a region {@link chainCost} accepted. @private */
function chainPlan(segs: readonly Segment[], a: number, c: number): Plan {
  const background = chainBackground(segs, a, c)!;
  const tested: Segment[] = [];
  for (let k = a; k <= c; k++) if (segs[k].target !== background) tested.push(segs[k]);
  // Stable: equal weights keep ascending value order, so output is deterministic.
  tested.sort((x, y) => y.weight - x.weight);
  return { kind: "chain", tests: tested.map((s) => ({ value: s.lo, target: s.target })), otherwise: background };
}
