/**
 * "Did you mean" suggestions for keys, action names, operators and widths.
 * (Syscall names use `suggestSyscall` from `src/arch/arch.ts`.)
 *
 * @module
 */

/**
 * The candidate closest to `word`, or undefined when none is close enough to
 * be a plausible typo. A candidate that differs only in letter case always
 * wins, because wrong case is the most common slip (`"Allow"`).
 *
 * @example
 * ```ts
 * closestMatch("Allow", ["allow", "log"]); // "allow"
 * closestMatch("filters", ["filter", "filter_action"]); // "filter"
 * closestMatch("value", ["index", "val"]); // "val"
 * closestMatch("zzz", ["allow"]); // undefined
 * ```
 */
export function closestMatch(word: string, candidates: readonly string[]): string | undefined {
  const lower = word.toLowerCase();
  const sameCase = candidates.find((candidate) => candidate.toLowerCase() === lower);
  if (sameCase !== undefined) return sameCase;
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const candidate of candidates) {
    const distance = editDistance(lower, candidate.toLowerCase());
    if (distance < bestDistance) {
      best = candidate;
      bestDistance = distance;
    }
  }
  // A third of the word may be wrong; beyond that the suggestion misleads more than it helps.
  if (bestDistance <= Math.max(1, Math.floor(word.length / 3))) return best;
  // A longer or shorter spelling of the same word ("value" for "val") is still a plausible slip.
  return candidates.find((candidate) => {
    const c = candidate.toLowerCase();
    return Math.min(c.length, lower.length) >= 3 && (c.startsWith(lower) || lower.startsWith(c));
  });
}

/** Optimal-string-alignment distance: insertions, deletions, substitutions and adjacent swaps. @private */
function editDistance(a: string, b: string): number {
  let beforePrevious: number[] = [];
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      current[j] = Math.min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) {
        current[j] = Math.min(current[j], beforePrevious[j - 2] + 1);
      }
    }
    beforePrevious = previous;
    previous = current;
  }
  return previous[b.length];
}
