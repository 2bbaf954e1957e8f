/**
 * The npm package as a user gets it: lib/ built (scripts/build-package.sh),
 * `npm pack`ed, and the tarball installed with `npm install` into a fresh
 * project outside the repository. Done once per test process and shared by
 * every test file that needs it (building and installing take most of a minute).
 *
 * `npm install` prefers the local npm cache (filled by `npm ci`), so it needs
 * the registry only for packages the cache lacks.
 *
 * @module
 */
import { spawnSync, type SpawnSyncReturns } from "node:child_process";
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { REPO_ROOT } from "./paths.ts";

/** A packed and installed copy of the package. */
export interface InstalledPackage {
  /** The tarball `npm pack` wrote. */
  readonly tarball: string;
  /** Paths inside the tarball (without the leading `package/`), sorted. */
  readonly files: readonly string[];
  /** The project the tarball is installed into (has package.json and node_modules/). */
  readonly project: string;
  /** `node_modules/.bin/seccompiler` of that project. */
  readonly bin: string;
  /** The Bun the installed package depends on. */
  readonly bun: string;
}

/** The environment without npm's lifecycle variables (set when the suite runs under `npm test`). */
export function cleanEnv(extra: Record<string, string> = {}): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (value !== undefined && !/^npm_/i.test(key) && key !== "INIT_CWD") env[key] = value;
  }
  return { ...env, NO_COLOR: "1", ...extra };
}

/** Throws with the command's output unless it exited 0. */
function check(what: string, run: SpawnSyncReturns<string>): SpawnSyncReturns<string> {
  if (run.status !== 0) {
    throw new Error(`${what} failed (status ${run.status}, signal ${run.signal}):\n${run.stdout}\n${run.stderr}\n${run.error ?? ""}`);
  }
  return run;
}

let installed: InstalledPackage | undefined;
let failure: Error | undefined;
let root: string | undefined;

/**
 * Per-test option for tests that may be the first to call {@link installedPackage}: building,
 * packing and installing take a minute on an idle machine and several on a loaded one.
 */
export const PACKAGE_TEST = { timeout: 600_000 } as const;

/**
 * Builds, packs and installs the package on first use; later calls return the same copy.
 *
 * @example
 * ```ts
 * const { project, bin } = installedPackage();
 * ```
 */
export function installedPackage(): InstalledPackage {
  if (installed) return installed;
  // A failed attempt is not retried by every later test: they fail at once with the same error.
  if (failure) throw failure;
  try {
    installed = install();
    return installed;
  } catch (error) {
    failure = error instanceof Error ? error : new Error(String(error));
    throw failure;
  }
}

/** @private */
function install(): InstalledPackage {
  root = mkdtempSync(join(tmpdir(), "seccompiler-package-"));
  process.on("exit", () => root && rmSync(root, { recursive: true, force: true }));
  const env = cleanEnv();
  check("build:package", spawnSync("sh", [join(REPO_ROOT, "scripts", "build-package.sh")], { cwd: REPO_ROOT, env, encoding: "utf8" }));
  const packs = join(root, "packs");
  mkdirSync(packs);
  // lib/ was just built; --ignore-scripts keeps prepack from building it a second time.
  check("npm pack", spawnSync("npm", ["pack", "--ignore-scripts", "--pack-destination", packs], { cwd: REPO_ROOT, env, encoding: "utf8" }));
  const [name] = readdirSync(packs);
  if (name === undefined) throw new Error("npm pack wrote no tarball");
  const tarball = join(packs, name);
  const list = check("tar", spawnSync("tar", ["-tzf", tarball], { encoding: "utf8" }));
  const files = list.stdout.split("\n").filter((line) => line !== "").map((line) => line.replace(/^package\//, "")).sort();

  const project = join(root, "app");
  mkdirSync(project);
  writeFileSync(join(project, "package.json"), JSON.stringify({ name: "app", private: true, type: "module" }, null, 2));
  check("npm install", spawnSync("npm", ["install", "--prefer-offline", "--no-audit", "--no-fund", tarball], { cwd: project, env, encoding: "utf8" }));
  return {
    tarball,
    files,
    project,
    bin: join(project, "node_modules", ".bin", "seccompiler"),
    bun: join(project, "node_modules", ".bin", "bun"),
  };
}
