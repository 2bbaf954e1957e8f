/**
 * Paths the tests need, derived from this file's location (never absolute).
 *
 * @module
 */
import { existsSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

/** The repository root. */
export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..");
/** The project's own Bun. */
export const BUN = join(REPO_ROOT, "node_modules", ".bin", "bun");
/** The project's own Deno. */
export const DENO = join(REPO_ROOT, "node_modules", ".bin", "deno");
/** The CLI wrapper script. */
export const CLI = join(REPO_ROOT, "scripts", "seccompiler");
/**
 * Firecracker's policies (not vendored: they are Firecracker's). Looked up in
 * `SECCOMPILER_CORPUS`, then beside the repository (`../shared/corpus/firecracker`);
 * tests that need them are skipped, visibly, when neither exists.
 */
export const CORPUS = process.env.SECCOMPILER_CORPUS || join(REPO_ROOT, "..", "shared", "corpus", "firecracker");
/** Whether the corpus is present. */
export const HAVE_CORPUS = existsSync(CORPUS);
/**
 * Filter files written by bitcode 0.6.9 itself (Firecracker ≥ v1.15's format) with their decoded
 * contents and decoder verdicts. Not vendored (generated outside this project): looked up in
 * `SECCOMPILER_BITCODE_VECTORS`, then beside the repository; tests skip visibly without them (and
 * fail under `SECCOMPILER_REQUIRE=corpus`).
 */
export const BITCODE_VECTORS = process.env.SECCOMPILER_BITCODE_VECTORS ||
  join(REPO_ROOT, "..", "shared", "data", "firecracker-bitcode");
/** Whether the bitcode vectors are present. */
export const HAVE_BITCODE_VECTORS = existsSync(join(BITCODE_VECTORS, "manifest.json"));
