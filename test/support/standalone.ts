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

let built: string | undefined;

/**
 * Path of `seccompiler-linux-x64` (or `-arm64` on an arm64 host), built by
 * `scripts/build.sh` into a temporary directory removed at exit. Throws with
 * the build's output when the build fails.
 *
 * @example
 * ```ts
 * const binary = standaloneExecutable();
 * ```
 */
export function standaloneExecutable(): string {
  if (built !== undefined) return built;
  const dir = mkdtempSync(join(tmpdir(), "seccompiler-standalone-"));
  process.on("exit", () => rmSync(dir, { recursive: true, force: true }));
  const target = process.arch === "arm64" ? "arm64" : "x64";
  const build = spawnSync("sh", [join(REPO_ROOT, "scripts", "build.sh"), target, dir], { encoding: "utf8", timeout: 300_000 });
  if (build.status !== 0) throw new Error(`scripts/build.sh ${target} failed (status ${build.status}):\n${build.stdout}\n${build.stderr}`);
  built = join(dir, `seccompiler-linux-${target}`);
  return built;
}
