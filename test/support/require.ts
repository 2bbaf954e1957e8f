/**
 * Suites that depend on something outside the repository (Firecracker's corpus, libseccomp's Python
 * binding, a kernel with seccomp, qemu-user for the arm64 executable) skip where it is missing, so a developer's machine can run the
 * rest. CI must not silently lose them, so it names them in `SECCOMPILER_REQUIRE`
 * (comma-separated, e.g. `corpus,libseccomp,kernel`): a required suite that would skip fails instead.
 *
 * Bun does not list the tests of a skipped `describe` at all, so a skipped suite also registers one
 * skipped stand-in test whose name carries the reason; `scripts/test.sh` lists every `(skip)` line.
 *
 * @module
 */
import { test } from "node:test";

/** What a suite may depend on. */
export type Requirement = "corpus" | "libseccomp" | "kernel" | "qemu";

/** The requirements CI demands, from `SECCOMPILER_REQUIRE`. */
export function requiredSuites(env: string | undefined = process.env.SECCOMPILER_REQUIRE): Set<string> {
  return new Set((env ?? "").split(",").map((s) => s.trim()).filter((s) => s !== ""));
}

/**
 * The `skip` option for a suite or test that needs `requirement`: `false` when it is available
 * (`reason` is falsy), else `reason`. When it is unavailable and required, a failing test is
 * registered in its place; otherwise, when `title` is given (suite-level skips, which Bun does not
 * list) and the runner is Bun, a skipped stand-in named `title (skipped: reason)` is registered so
 * the skip stays visible.
 *
 * @example
 * ```ts
 * import { describe } from "node:test";
 * import { HAVE_CORPUS } from "./paths.ts";
 * describe("corpus", { skip: skipUnless("corpus", !HAVE_CORPUS && "corpus absent", "corpus") }, () => {});
 * ```
 */
export function skipUnless(requirement: Requirement, reason: string | false | undefined, title?: string): string | false {
  if (!reason) return false;
  if (requiredSuites().has(requirement)) {
    const name = `${title ?? requirement}: required by SECCOMPILER_REQUIRE but unavailable (${reason})`;
    test(name, () => {
      throw new Error(`${requirement} is required (SECCOMPILER_REQUIRE=${process.env.SECCOMPILER_REQUIRE}) but ${reason}`);
    });
  } else if (title !== undefined && "Bun" in globalThis) {
    // Deno lists a skipped suite itself ("... ignored"); only Bun needs the stand-in.
    test(`${title} (skipped: ${reason})`, { skip: reason }, () => {});
  }
  return reason;
}
