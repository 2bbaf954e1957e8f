/**
 * Code generation: one IR {@link Filter} → one classic-BPF program.
 *
 * Program shape (the default, cost-shaped dispatch):
 * 1. `ld [4]`; a foreign arch token → `ret KILL_PROCESS`;
 * 2. `ld [0]`; one search over the syscall number (`search.ts`) sends every
 *    number to its treatment: `ret match` for a syscall allowed whatever its
 *    arguments, the syscall's argument checks, `ret mismatch` for every
 *    unlisted number, and on x86_64 `ret KILL_PROCESS` for every number from
 *    `0x40000000` up (x32, and nr −1 read as unsigned) — the x32 guard is
 *    one more boundary of the same search instead of a separate test.
 *    Adjacent numbers with the same treatment form one range. Syscalls with
 *    argument checks are never skipped by the kernel's action cache, so they
 *    weigh most and sit on the shortest paths; unconditional allows (cached
 *    by the kernel after the first call) weigh least;
 * 3. per syscall with rules, a decision tree over its argument words
 *    (`rules.ts`);
 * 4. the shared returns.
 *
 * With an explicit {@link Layout} (`linearLayout`, `treeLayout`) the older
 * shape is produced instead: a separate `jge 0x40000000` x32 guard, then the
 * layout's dispatch. The bodies are the same decision trees either way.
 *
 * Arguments are only loaded after the number is decided, and every exit is
 * a literal `ret #k`, which keeps unconditional allows in the kernel's action
 * cache. The 4096-instruction limit is not enforced here: the caller checks
 * it after optimizing, with the thread's name.
 *
 * @module
 */
import { actionValue } from "../action.ts";
import { type ArchInfo, getArch, X32_SYSCALL_BIT } from "../arch/arch.ts";
import { type Label, ProgramBuilder } from "../bpf/builder.ts";
import { JEQ_K, JGE_K, LD_ABS, type Program, SECCOMP_DATA } from "../bpf/insn.ts";
import { type Filter, KILL_PROCESS } from "../ir.ts";
import { canonicalRules } from "./canonical.ts";
import type { DispatchEntry, Layout } from "./layout.ts";
import { type Atom, emitRuleTree, ruleSet } from "./rules.ts";
import { returnPool } from "./returns.ts";
import { emitSearch, type Segment } from "./search.ts";

export type { DispatchEntry, DispatchPlan, Layout } from "./layout.ts";
export { linearLayout } from "./linear.ts";
export { TREE_LEAF_SIZE, treeLayout } from "./tree.ts";
export { argumentHalves, emitCondition } from "./conditions.ts";

/** Options of {@link generateProgram}. */
export interface GenerateOptions {
  /**
   * A dispatch layout ({@link linearLayout}, {@link treeLayout}) instead of the
   * default cost-shaped search; mostly for comparisons and tests.
   */
  readonly layout?: Layout;
}

/**
 * Dispatch weights: how much one number of each kind counts in the search's
 * cost (expected instructions per call). A syscall with argument checks is
 * filtered on every call; an unlisted number is a call the policy refuses
 * (rare in a working process, and fatal under `trap`/`kill`); an
 * unconditional allow is answered by the kernel's action cache after its
 * first call (Linux 5.11+); the x32 range is never used by a native process.
 * `perRule` 10 rather than 8 (2026-12-03, a sweep of checked 0–40, perRule
 * 6–16, unlisted 0.03–0.3 over both Firecracker policies and the ioctl
 * fixture): it moves aarch64 api's rule-matching mean from 0.605× to 0.593×
 * libseccomp's tree and keeps every other target of `npm run bench`.
 *
 * The figures are the ones above scaled by 100 (checked 20, perRule 10, unlisted 0.1, allowed 0.02,
 * x32 0.01, sizeCost 0.05) so that every weight, every sum of weights and every cost is an integer:
 * the search then compares exact numbers, and a sub-range's cost is the same however it was
 * summed, which lets the planner reuse it (src/codegen/search.ts).
 */
export const DISPATCH_WEIGHTS = { checked: 2000, perRule: 1000, unlisted: 10, allowed: 2, x32: 1, sizeCost: 5 } as const;

/**
 * The dispatch is planned exactly up to this many segments (a typical VMM thread has 60–120; above, weight-balanced splits come first):
 * it decides every call's first steps, so it gets more planning time than an argument search.
 */
export const DISPATCH_EXACT_LIMIT = 48;

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
  const arch = getArch(filter.arch);
  const matchValue = actionValue(filter.matchAction);
  const mismatchValue = actionValue(filter.mismatchAction);
  const b = new ProgramBuilder();
  const returns = returnPool(b);
  const match = returns.label(matchValue);
  const mismatch = returns.label(mismatchValue);
  const kill = returns.label(actionValue(KILL_PROCESS));

  b.stmt(LD_ABS, SECCOMP_DATA.ARCH);
  b.jump(JEQ_K, arch.auditArch, "next", returns.resolve(kill));
  b.stmt(LD_ABS, SECCOMP_DATA.NR);

  // Each syscall's treatment: a return, or a body with its decision tree.
  const bodies: { label: Label; rules: readonly (readonly Atom[])[] }[] = [];
  const entries: (DispatchEntry & { weight: number })[] = [];
  for (const syscall of filter.syscalls) {
    const set = ruleSet(canonicalRules(syscall).rules, arch.endian);
    if (set.kind === "never" && !options.layout) continue; // same as unlisted
    let target: Label;
    let weight: number;
    if (set.kind === "always") {
      target = match;
      weight = DISPATCH_WEIGHTS.allowed;
    } else if (set.kind === "never") {
      target = mismatch;
      weight = DISPATCH_WEIGHTS.unlisted;
    } else {
      target = b.label(`rules-${syscall.name}`);
      bodies.push({ label: target, rules: set.rules });
      weight = DISPATCH_WEIGHTS.checked + DISPATCH_WEIGHTS.perRule * set.rules.length;
    }
    entries.push({ nr: syscall.nr, target, weight });
  }

  // The one sort of the dispatch: layouts and the search rely on ascending numbers, and a
  // Filter built by hand may be unvalidated.
  entries.sort((x, y) => x.nr - y.nr);

  if (options.layout) {
    // x32 numbers carry the x86_64 token, so only this guard keeps them out of the allowlist.
    if (arch.hasX32) b.jump(JGE_K, X32_SYSCALL_BIT, returns.resolve(kill), "next");
    const dispatchEnd = b.label("dispatch-end");
    const resolved = entries.map((e) => ({ ...e, target: returns.resolve(e.target) }));
    options.layout(b, { syscalls: resolved, mismatch: dispatchEnd });
    b.place(dispatchEnd);
    b.ja(returns.resolve(mismatch));
  } else {
    const segments = dispatchSegments(arch, entries, mismatch, kill);
    emitSearch(b, segments, {
      sizeCost: DISPATCH_WEIGHTS.sizeCost,
      exactLimit: DISPATCH_EXACT_LIMIT,
      resolve: returns.resolve,
      checkpoint: returns.checkpoint,
    });
  }

  for (const body of bodies) {
    returns.checkpoint();
    b.place(body.label);
    emitRuleTree(b, body.rules, { endian: arch.endian, match, matchValue, fail: mismatch, returns });
  }
  returns.placeAll();
  return b.build();
}

/** {@link knownNumbers} per arch: the tables never change, and every thread's dispatch needs them. @private */
const knownCache = new WeakMap<ArchInfo, readonly number[]>();

/** The arch's native syscall numbers, ascending. @private */
function knownNumbers(arch: ArchInfo): readonly number[] {
  let known = knownCache.get(arch);
  if (known === undefined) {
    known = [...arch.names.keys()].filter((nr) => nr >= 0 && nr < X32_SYSCALL_BIT).sort((x, y) => x - y);
    knownCache.set(arch, known);
  }
  return known;
}

/**
 * The dispatch's segments over the whole 32-bit number line: each listed
 * number, the gaps between them (mismatch, weighted by how many of the
 * arch's syscalls they hold), and on x86_64 the x32 range (kill).
 * @private
 */
function dispatchSegments(
  arch: ArchInfo,
  entries: readonly (DispatchEntry & { weight: number })[],
  mismatch: Label,
  kill: Label,
): Segment[] {
  const known = knownNumbers(arch);
  let k = 0;
  /** Arch syscalls in lo..hi; calls come in ascending order, so one pass over `known`. */
  const knownIn = (lo: number, hi: number) => {
    while (k < known.length && known[k] < lo) k++;
    let n = 0;
    while (k < known.length && known[k] <= hi) {
      n++;
      k++;
    }
    return n;
  };
  const top = arch.hasX32 ? X32_SYSCALL_BIT - 1 : 0xffffffff;
  const gap = (lo: number, hi: number): Segment => ({
    lo,
    hi,
    target: mismatch,
    // A gap with no known syscall still weighs a tenth of one (0.1 × unlisted, an integer).
    weight: Math.max(DISPATCH_WEIGHTS.unlisted * knownIn(lo, hi), DISPATCH_WEIGHTS.unlisted / 10),
  });
  const out: Segment[] = [];
  let next = 0;
  for (const e of entries) {
    if (e.nr > next) out.push(gap(next, e.nr - 1));
    knownIn(e.nr, e.nr);
    out.push({ lo: e.nr, hi: e.nr, target: e.target, weight: e.weight });
    next = e.nr + 1;
  }
  if (next <= top) out.push(gap(next, top));
  if (arch.hasX32) out.push({ lo: X32_SYSCALL_BIT, hi: 0xffffffff, target: kill, weight: DISPATCH_WEIGHTS.x32 });
  return out;
}
