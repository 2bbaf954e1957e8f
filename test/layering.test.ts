/**
 * The module layering the code relies on, checked over the import graph of
 * `src/` (static and dynamic imports): no cycle between folders, and outside
 * `src/install/` only that folder's public module is imported.
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { REPO_ROOT } from "./support/paths.ts";

const SRC = join(REPO_ROOT, "src");

/** Every .ts file under `dir`, as paths relative to the repository. */
function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sources(path);
    return entry.name.endsWith(".ts") ? [relative(REPO_ROOT, path)] : [];
  });
}

/** The relative modules `file`, whose text is `text`, imports (`import … from`, `export … from`, `import(…)`). */
function importsOf(file: string, text = readFileSync(join(REPO_ROOT, file), "utf8")): string[] {
  const specifiers = [
    ...text.matchAll(/^\s*(?:import|export)\b[^;]*?\bfrom\s*["'](\.[^"']+)["']/gms),
    ...text.matchAll(/\bimport\(\s*["'](\.[^"']+)["']\s*\)/g),
  ].map((match) => match[1]);
  return specifiers.map((specifier) => relative(REPO_ROOT, resolve(REPO_ROOT, dirname(file), specifier)));
}

/** A file's node in the folder graph: its folder under `src/`, or the file itself when it sits in `src/`. */
function node(file: string): string {
  const parts = file.split("/");
  return parts.length > 2 ? parts.slice(0, 2).join("/") : file;
}

const FILES = sources(SRC);
const EDGES = FILES.flatMap((file) => importsOf(file).map((target) => ({ file, target })));

describe("layering", () => {
  test("the import scan sees the graph (guards the test itself)", () => {
    const sample = [
      'import { a } from "../bpf/insn.ts";',
      "import type {\n  B,\n} from './x.ts';",
      'export { c } from "./errors.ts";',
      'const m = await import("../launcher/exec.ts");',
      'import { parseArgs } from "node:util";',
    ].join("\n");
    assert.deepEqual(importsOf("src/cli/x.ts", sample), [
      "src/bpf/insn.ts",
      "src/cli/x.ts",
      "src/cli/errors.ts",
      "src/launcher/exec.ts",
    ]);
    assert.ok(FILES.length > 30, `${FILES.length} files`);
    assert.ok(EDGES.length > FILES.length, `${EDGES.length} imports`);
    for (const { file, target } of EDGES) {
      assert.ok(FILES.includes(target) || target.endsWith(".json"), `${file} imports ${target}, which is not a source file`);
    }
  });

  test("no cycle between folders of src/", () => {
    const graph = new Map<string, Set<string>>();
    for (const { file, target } of EDGES) {
      const [from, to] = [node(file), node(target)];
      if (from === to) continue;
      if (!graph.has(from)) graph.set(from, new Set());
      graph.get(from)!.add(to);
    }
    // Depth-first search; a back edge is a cycle, reported with its path.
    const state = new Map<string, "open" | "done">();
    const stack: string[] = [];
    const visit = (n: string): void => {
      state.set(n, "open");
      stack.push(n);
      for (const next of graph.get(n) ?? []) {
        if (state.get(next) === "open") {
          assert.fail(`folder cycle: ${[...stack.slice(stack.indexOf(next)), next].join(" → ")}`);
        }
        if (state.get(next) === undefined) visit(next);
      }
      stack.pop();
      state.set(n, "done");
    };
    for (const n of graph.keys()) if (state.get(n) === undefined) visit(n);
  });

  test("outside src/install only its public module is imported", () => {
    const reaching = EDGES.filter(({ file, target }) =>
      !file.startsWith("src/install/") && target.startsWith("src/install/") && target !== "src/install/mod.ts"
    );
    assert.deepEqual(reaching.map(({ file, target }) => `${file} → ${target}`), []);
  });

  test("Node built-ins other than node:fs and node:path are imported only where used (dynamically)", () => {
    // The standalone executable is one bundle: a static import of a built-in is hoisted to its top
    // and loaded by every command, exec included (node:util alone costs about 5 ms of a start).
    const allowed = new Set(["node:fs", "node:path"]);
    const hoisted = FILES.flatMap((file) => {
      const text = readFileSync(join(REPO_ROOT, file), "utf8");
      return [...text.matchAll(/^\s*import\s+(?!type\b)[^;]*?\bfrom\s*["'](node:[^"']+)["']/gms)]
        .map((match) => match[1])
        .filter((name) => !allowed.has(name))
        .map((name) => `${file}: ${name}`);
    });
    assert.deepEqual(hoisted, []);
  });

  test("the launcher's start-up path loads no Node built-in: no static import of one from main.ts or exec.ts onward", () => {
    // node:fs alone costs about 4 ms of a compiled launch on Bun (docs/bench.md); the launcher reads files
    // through src/launcher/syscall_files.ts and writes output through a node:fs loaded at the first write.
    const staticImports = (file: string) => {
      const text = readFileSync(join(REPO_ROOT, file), "utf8");
      const found = [...text.matchAll(/^\s*(?:import|export)\s+(?!type\b)[^;]*?\bfrom\s*["']([^"']+)["']/gms)].map((m) => m[1]);
      return {
        builtins: found.filter((s) => s.startsWith("node:")),
        modules: found.filter((s) => s.startsWith(".")).map((s) => relative(REPO_ROOT, resolve(REPO_ROOT, dirname(file), s))),
      };
    };
    const loaded: string[] = [];
    const seen = new Set<string>();
    const visit = (file: string) => {
      if (seen.has(file)) return;
      seen.add(file);
      const { builtins, modules } = staticImports(file);
      loaded.push(...builtins.map((name) => `${file}: ${name}`));
      modules.forEach(visit);
    };
    visit("src/cli/main.ts");
    visit("src/launcher/exec.ts");
    assert.ok(seen.has("src/input.ts") && seen.has("src/launcher/handover.ts"), [...seen].join(", "));
    assert.deepEqual(loaded, []);
  });
});
