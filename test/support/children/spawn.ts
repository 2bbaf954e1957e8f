/**
 * Spawning the kernel-test children on Bun or Deno and reading their JSON.
 *
 * @module
 */
import { spawnSync, type SpawnSyncReturns } from "node:child_process";
import { join } from "node:path";
import { BUN, DENO, REPO_ROOT } from "../paths.ts";

/** The runtimes the children run on. */
export const RUNTIMES = ["bun", "deno"] as const;

/** One of {@link RUNTIMES}. */
export type Runtime = (typeof RUNTIMES)[number];

/** Directory of the child scripts. */
export const CHILDREN = join(REPO_ROOT, "test", "support", "children");

/**
 * The argv that runs `script` on `runtime` (Deno gets `-A`: FFI, /proc and workers).
 *
 * @example
 * ```ts
 * runtimeCommand("deno", "x.ts"); // [DENO, "run", "-A", "--no-check", "x.ts"]
 * ```
 */
export function runtimeCommand(runtime: Runtime, script: string): string[] {
  return runtime === "bun" ? [BUN, script] : [DENO, "run", "-A", "--no-check", "--quiet", script];
}

/**
 * Runs `script` with `args` on `runtime`, synchronously.
 *
 * @example
 * ```ts
 * const result = runChild("bun", join(CHILDREN, "install-child.ts"), ["apply"]);
 * ```
 */
export function runChild(
  runtime: Runtime,
  script: string,
  args: readonly string[] = [],
  options: { input?: string; env?: Record<string, string>; cwd?: string } = {},
): SpawnSyncReturns<string> {
  const [command, ...rest] = runtimeCommand(runtime, script);
  return spawnSync(command, [...rest, ...args], {
    encoding: "utf8",
    input: options.input,
    cwd: options.cwd ?? REPO_ROOT,
    env: { ...process.env, NO_COLOR: "1", ...options.env },
    timeout: 60_000,
  });
}

/**
 * The JSON a child printed; fails with the child's stderr when it printed none.
 *
 * @example
 * ```ts
 * const { result } = childJson(runChild("bun", script, ["apply"]));
 * ```
 */
// deno-lint-ignore no-explicit-any
export function childJson(run: SpawnSyncReturns<string>): any {
  const line = run.stdout.trim().split("\n").at(-1) ?? "";
  try {
    return JSON.parse(line);
  } catch {
    throw new Error(`child printed no JSON (status ${run.status}, signal ${run.signal}):\n${run.stdout}\n${run.stderr}`);
  }
}
