/**
 * The standalone executable, built once per test process with the shipping
 * script (`scripts/build.sh`), so tests exercise exactly what ships.
 *
 * @module
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { REPO_ROOT } from "./paths.ts";

const built = new Map<"x64" | "arm64", string>();
let dir: string | undefined;

/**
 * Path of `seccompiler-linux-<target>` (default: the host's, x64 or arm64),
 * built by `scripts/build.sh` into a temporary directory removed at exit, once
 * per target and test process (every test file shares it: a build takes tens of
 * seconds). Throws with the build's output when the build fails.
 *
 * @example
 * ```ts
 * const binary = standaloneExecutable();
 * const arm64 = standaloneExecutable("arm64");
 * ```
 */
export function standaloneExecutable(target: "x64" | "arm64" = process.arch === "arm64" ? "arm64" : "x64"): string {
  const done = built.get(target);
  if (done !== undefined) return done;
  if (dir === undefined) {
    const created = mkdtempSync(join(tmpdir(), "seccompiler-standalone-"));
    dir = created;
    process.on("exit", () => rmSync(created, { recursive: true, force: true }));
  }
  // cwd: bun build --compile leaves its temporary .*.bun-build file in the working directory if it is killed.
  const build = spawnSync("sh", [join(REPO_ROOT, "scripts", "build.sh"), target, dir], { cwd: dir, encoding: "utf8", timeout: 300_000 });
  if (build.status !== 0) throw new Error(`scripts/build.sh ${target} failed (status ${build.status}):\n${build.stdout}\n${build.stderr}`);
  const path = join(dir, `seccompiler-linux-${target}`);
  built.set(target, path);
  return path;
}
