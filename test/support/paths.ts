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
/** Firecracker's policies, shipped beside the repository (may be absent on other machines). */
export const CORPUS = join(REPO_ROOT, "..", "shared", "corpus", "firecracker");
/** Whether the corpus is present. */
export const HAVE_CORPUS = existsSync(CORPUS);
