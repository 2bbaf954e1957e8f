/**
 * "Did you mean" suggestions: for policy keys, action names, operators,
 * widths, and (through `suggestSyscall` in `src/arch/arch.ts`) syscall names.
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
export function closestMatch(word: string, candidates: Iterable<string>): string | undefined {
  // Nobody mistypes a 100-character identifier; comparing one against every candidate
  // would only make hostile input slow (the distance is quadratic in the length).
  if (word.length > MAX_SUGGESTED_LENGTH) return undefined;
  const list = [...candidates];
  const lower = word.toLowerCase();
  const sameCase = list.find((candidate) => candidate.toLowerCase() === lower);
  if (sameCase !== undefined) return sameCase;
  const threshold = Math.max(1, Math.floor(word.length / 3));
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const candidate of list) {
    // The distance is at least the difference in length: skip hopeless candidates cheaply.
    if (Math.abs(candidate.length - word.length) > threshold) continue;
    const distance = editDistance(lower, candidate.toLowerCase());
    if (distance < bestDistance) {
      best = candidate;
      bestDistance = distance;
    }
  }
  // A third of the word may be wrong; beyond that the suggestion misleads more than it helps.
  if (bestDistance <= threshold) return best;
  // A longer or shorter spelling of the same word ("value" for "val") is still a plausible slip.
  return list.find((candidate) => {
    const c = candidate.toLowerCase();
    return Math.min(c.length, lower.length) >= 3 && (c.startsWith(lower) || lower.startsWith(c));
  });
}

/** Longest word a suggestion is looked for. */
export const MAX_SUGGESTED_LENGTH = 64;

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
