/**
 * The repository documents itself: every Markdown file that code, scripts,
 * tests or docs refer to exists in the repository, and every JSDoc code block
 * is type-checked (`deno check --doc-only` in `npm test`) except the one that
 * Deno cannot read.
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { REPO_ROOT } from "./support/paths.ts";

/** Where references are looked for (files, or folders searched recursively). */
const SCANNED = ["src", "scripts", "test", "docs", ".ci", "README.md", "policies/README.md"];

/** Every file under `path` (relative to the repository), or `path` itself. */
function filesUnder(path: string): string[] {
  const full = join(REPO_ROOT, path);
  if (!existsSync(full)) return [];
  if (!statSync(full).isDirectory()) return [path];
  return readdirSync(full).flatMap((name) => filesUnder(join(path, name)));
}

/**
 * The Markdown files `text` (the content of `file`) refers to that do not
 * exist. A reference resolves against the referring file's folder or the
 * repository root, so code says `docs/x.md` and a page in docs/ may say `x.md`.
 * Addresses (`https://…/x.md`) are someone else's and are not checked.
 */
function missingReferences(file: string, text: string): string[] {
  const missing: string[] = [];
  for (const match of text.matchAll(/[\w./:-]*?([\w.-]+\/)*[\w-]+\.md\b/g)) {
    const token = match[0];
    if (token.includes("://")) continue;
    const path = token.replace(/^\.\//, "");
    const candidates = [join(dirname(file), path), path];
    if (!candidates.some((candidate) => existsSync(join(REPO_ROOT, candidate)))) {
      const line = text.slice(0, match.index).split("\n").length;
      missing.push(`${file}:${line}: ${token}`);
    }
  }
  return missing;
}

const FILES = SCANNED.flatMap(filesUnder).filter((file) => !file.endsWith(".generated.ts"));
/** Scanned files, minus this one: its names of pages are test data. */
const REFERRING = FILES.filter((file) => file !== "test/docs.test.ts");

describe("documentation", () => {
  test("the reference check finds a missing document (guards the test itself)", () => {
    const name = ["docs", "no-such-page.md"].join("/");
    assert.deepEqual(missingReferences("src/x.ts", `// see ${name}, §2`), [`src/x.ts:1: ${name}`]);
    // A bare name must be a file beside the referring one: in code that means writing the docs/ path.
    assert.deepEqual(missingReferences("src/x.ts", "// see runtimes.md"), ["src/x.ts:1: runtimes.md"]);
    assert.deepEqual(missingReferences("docs/x.md", "[runtimes](runtimes.md)"), []);
    assert.deepEqual(missingReferences("src/x.ts", "https://example.org/README.md"), []);
  });

  test("every Markdown file referred to from src, scripts, test, docs and the README exists", () => {
    assert.ok(REFERRING.includes("src/mod.ts") && REFERRING.includes("README.md"), "the scan sees the repository");
    const missing = REFERRING.flatMap((file) => missingReferences(file, readFileSync(join(REPO_ROOT, file), "utf8")));
    assert.deepEqual(missing, []);
  });

  test("the docs the code relies on are present", () => {
    for (const page of ["policy-format.md", "kernel-seccomp.md", "runtimes.md"]) {
      const text = readFileSync(join(REPO_ROOT, "docs", page), "utf8");
      assert.match(text, /^# /, `docs/${page} has a title`);
    }
  });

  test("every exported function and class has a JSDoc @example (type-checked by deno check --doc-only)", () => {
    const undocumented: string[] = [];
    for (const file of FILES.filter((f) => f.startsWith("src/") && f.endsWith(".ts"))) {
      const text = readFileSync(join(REPO_ROOT, file), "utf8");
      for (const match of text.matchAll(/^export (?:async )?(?:function|class) (\w+)/gm)) {
        // The JSDoc block that ends right before the declaration, if any.
        const before = text.slice(0, match.index).trimEnd();
        const doc = before.endsWith("*/") ? before.slice(before.lastIndexOf("/**")) : "";
        if (!doc.includes("@example")) undocumented.push(`${file}: ${match[1]}`);
      }
    }
    assert.deepEqual(undocumented, []);
  });

  test("only the Bun macro import skips the JSDoc type check", () => {
    const skipping = FILES.filter((file) => file.startsWith("src/") && file.endsWith(".ts"))
      .filter((file) => /```ts\s+ignore/.test(readFileSync(join(REPO_ROOT, file), "utf8")))
      .map((file) => relative(".", file));
    assert.deepEqual(skipping, ["src/macro.ts"]);
  });
});
