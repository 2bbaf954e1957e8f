/**
 * Checks on a policy's thread (filter) names that matter to Firecracker,
 * written over plain names and positions so that any command can share them.
 *
 * @module
 */
import type { Diagnostic, SourcePosition } from "../diagnostics.ts";

/** The thread categories Firecracker looks up in its filter file; it refuses to start without one of them. */
export const FIRECRACKER_THREADS: readonly string[] = ["vmm", "api", "vcpu"];

/** One filter name as written in the policy. */
export interface ThreadName {
  /** The name (the policy's top-level key). */
  readonly name: string;
  /** JSON path of the key (`$.vmm`). */
  readonly path: string;
  /** Where the key is written. */
  readonly position?: SourcePosition;
}

/**
 * Findings about thread names:
 * - `thread-name-collision` (error): two names equal except for letter case.
 *   A filter file maps names to programs through a case-sensitive lookup,
 *   but consumers and file systems that fold case (split `.bpf` files on a
 *   case-insensitive volume) keep only one of them.
 * - `missing-firecracker-thread` (warning, only with `firecracker`): one of
 *   `vmm`, `api`, `vcpu` is absent; it points at the policy's first name.
 *
 * @example
 * ```ts
 * threadNameFindings([{ name: "vmm", path: "$.vmm" }, { name: "VMM", path: "$.VMM" }], { firecracker: false });
 * // [{ code: "thread-name-collision", ... }]
 * ```
 */
export function threadNameFindings(names: readonly ThreadName[], options: { firecracker: boolean }): Diagnostic[] {
  const findings: Diagnostic[] = [];
  const seen = new Map<string, ThreadName>();
  for (const thread of names) {
    const folded = thread.name.toLowerCase();
    const first = seen.get(folded);
    if (first === undefined) {
      seen.set(folded, thread);
      continue;
    }
    if (first.name === thread.name) continue; // an exact duplicate is the parser's duplicate-filter error
    findings.push({
      code: "thread-name-collision",
      message: `thread name "${thread.name}" differs from "${first.name}"${where(first.position)} only in letter case`,
      path: thread.path,
      severity: "error",
      hint: "which of the two programs a consumer keeps can change from run to run; rename one",
      ...(thread.position ? { position: thread.position } : {}),
    });
  }
  if (options.firecracker) {
    const missing = FIRECRACKER_THREADS.filter((name) => !names.some((thread) => thread.name === name));
    if (missing.length > 0) {
      const anchor = names[0];
      findings.push({
        code: "missing-firecracker-thread",
        message: `no filter for Firecracker's ${missing.map((name) => `"${name}"`).join(", ")} thread${missing.length === 1 ? "" : "s"}`,
        path: anchor?.path ?? "$",
        severity: "warning",
        hint: "Firecracker refuses to start when its filter file lacks the vmm, api or vcpu filter",
        ...(anchor?.position ? { position: anchor.position } : {}),
      });
    }
  }
  return findings;
}

/** " (line N)" or nothing. @private */
function where(position: SourcePosition | undefined): string {
  return position ? ` (line ${position.line})` : "";
}
