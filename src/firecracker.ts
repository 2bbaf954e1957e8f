/**
 * What Firecracker does with a filter file beyond its bytes: which release
 * reads which layout, how it looks thread names up (lowercased, exactly
 * `vmm`, `api` and `vcpu`). Plain functions over thread names, so the
 * compiler, the linter and the library share one copy of these rules.
 *
 * @module
 */
import type { ContainerFormat } from "./container/common.ts";
import type { Diagnostic, SourcePosition } from "./diagnostics.ts";

/** The thread categories Firecracker loads filters for, in the order it lists them. */
export const FIRECRACKER_THREADS: readonly string[] = ["vmm", "api", "vcpu"];

/** Which Firecracker releases read which layout (for help texts and docs). */
export const FIRECRACKER_LAYOUTS: readonly { readonly versions: string; readonly format: ContainerFormat }[] = [
  { versions: "v0.25 – v1.2", format: "bincode" },
  { versions: "v1.3 – v1.14", format: "bincode" },
  { versions: "v1.15 and later", format: "bitcode" },
];

/**
 * A Firecracker version that cannot be mapped to a layout.
 *
 * @example
 * ```ts
 * try {
 *   firecrackerFormat("0.24");
 * } catch (e) {
 *   if (e instanceof FirecrackerVersionError) console.error(e.message);
 * }
 * ```
 */
export class FirecrackerVersionError extends Error {
  /** Stable code: `bad-version` (not a version) or `unsupported-version` (before v0.25). */
  readonly code: "bad-version" | "unsupported-version";
  constructor(code: "bad-version" | "unsupported-version", message: string) {
    super(message);
    this.name = "FirecrackerVersionError";
    this.code = code;
  }
}

/**
 * The filter-file layout a Firecracker release reads: `MAJOR.MINOR` or
 * `MAJOR.MINOR.PATCH`, optionally with a leading `v` (`1.10`, `v1.14.1`,
 * `1.16`). Throws {@link FirecrackerVersionError} for anything else and for
 * releases before v0.25, which have no filter files.
 *
 * @example
 * ```ts
 * firecrackerFormat("1.14.1"); // "bincode"
 * firecrackerFormat("v1.15"); // "bitcode"
 * ```
 */
export function firecrackerFormat(version: string): ContainerFormat {
  const match = /^v?(\d{1,6})\.(\d{1,6})(?:\.(\d{1,6}))?$/.exec(version.trim());
  if (!match) {
    throw new FirecrackerVersionError(
      "bad-version",
      `"${version}" is not a Firecracker version; give MAJOR.MINOR or MAJOR.MINOR.PATCH, e.g. 1.14 or 1.16.1`,
    );
  }
  const major = Number(match[1]);
  const minor = Number(match[2]);
  if (major === 0 && minor < 25) {
    throw new FirecrackerVersionError(
      "unsupported-version",
      `Firecracker ${version} predates filter files (--seccomp-filter arrived in v0.25)`,
    );
  }
  return major >= 2 || (major === 1 && minor >= 15) ? "bitcode" : "bincode";
}

/**
 * Thread names that differ only in case. Firecracker lowercases every name
 * after reading the file (Rust's full Unicode `to_lowercase`), and which of
 * the colliding programs it keeps changes from run to run. Returns one pair
 * `[first, other]` per name that collides with an earlier one.
 *
 * @example
 * ```ts
 * caseCollisions(["VMM", "api", "vmm"]); // [["VMM", "vmm"]]
 * ```
 */
export function caseCollisions(names: Iterable<string>): [string, string][] {
  const seen = new Map<string, string>();
  const pairs: [string, string][] = [];
  for (const name of names) {
    const lowered = name.toLowerCase();
    const first = seen.get(lowered);
    if (first === undefined) seen.set(lowered, name);
    else pairs.push([first, name]);
  }
  return pairs;
}

/** `.name` or `["odd name"]`, as in the compiler's JSON paths. @private */
function jsonPathKey(key: string): string {
  return /^[A-Za-z_][A-Za-z0-9_]*$/.test(key) ? `.${key}` : `[${JSON.stringify(key)}]`;
}

/**
 * Errors for thread names that differ only in case (see {@link caseCollisions}),
 * positioned at the later name when `positions` knows it. Names are taken in
 * the order given; pass them in document order.
 *
 * @example
 * ```ts
 * checkThreadNameCase(["VMM", "vmm"])[0].code; // "thread-name-case"
 * ```
 */
export function checkThreadNameCase(
  names: Iterable<string>,
  positions?: ReadonlyMap<string, SourcePosition>,
): Diagnostic[] {
  return caseCollisions(names).map(([first, other]) => {
    const position = positions?.get(other);
    return {
      code: "thread-name-case",
      message: `threads ${JSON.stringify(first)} and ${JSON.stringify(other)} differ only in case: Firecracker ` +
        `lowercases thread names when it loads a filter file and keeps one of the two programs at random`,
      path: `$${jsonPathKey(other)}`,
      hint: `rename one of them; Firecracker looks up ${FIRECRACKER_THREADS.join(", ")} in lowercase`,
      severity: "error",
      ...(position ? { position } : {}),
    };
  });
}

/**
 * Warnings for what keeps Firecracker from starting with these filters: a
 * missing `vmm`, `api` or `vcpu` thread (`MissingThreadCategory`) and any
 * other thread name (`ThreadCategories`), compared after lowercasing as
 * Firecracker does. Missing threads are positioned at `root` (the policy
 * document), extra ones at their name.
 *
 * @example
 * ```ts
 * checkFirecrackerThreads(["vmm", "api"]).map((d) => d.message); // ['no "vcpu" thread: …']
 * ```
 */
export function checkFirecrackerThreads(
  names: Iterable<string>,
  positions?: ReadonlyMap<string, SourcePosition>,
  root?: SourcePosition,
): Diagnostic[] {
  const all = [...names];
  const lowered = new Set(all.map((name) => name.toLowerCase()));
  const missing: Diagnostic[] = FIRECRACKER_THREADS.filter((thread) => !lowered.has(thread)).map((thread) => ({
    code: "missing-thread-category",
    message: `no "${thread}" thread: Firecracker refuses to start unless the filter file has ${
      FIRECRACKER_THREADS.map((t) => `"${t}"`).join(", ")
    }`,
    path: "$",
    hint: `add a thread named "${thread}" to the policy`,
    severity: "warning",
    ...(root ? { position: root } : {}),
  }));
  const extra: Diagnostic[] = all.filter((name) => !FIRECRACKER_THREADS.includes(name.toLowerCase())).map((name) => {
    const position = positions?.get(name);
    return {
      code: "unknown-thread-category",
      message: `thread ${JSON.stringify(name)} is not one Firecracker knows: it refuses to start with a filter file ` +
        `holding threads other than ${FIRECRACKER_THREADS.map((t) => `"${t}"`).join(", ")}`,
      path: `$${jsonPathKey(name)}`,
      hint: "remove it, or drop --firecracker if the file is not for Firecracker",
      severity: "warning",
      ...(position ? { position } : {}),
    };
  });
  return [...missing, ...extra];
}
