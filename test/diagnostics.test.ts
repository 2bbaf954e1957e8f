// deno-facing
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { type Diagnostic, formatDiagnostic } from "../src/diagnostics.ts";

function at(source: string, offset: number, length: number): Diagnostic {
  const before = source.slice(0, offset).split("\n");
  const [line, column] = [before.length, before[before.length - 1].length + 1];
  return { code: "io", message: "bad", path: "$.a", severity: "error", position: { file: "p.json", line, column, offset, length } };
}

describe("formatDiagnostic", () => {
  test("short lines are quoted whole with the caret under the value", () => {
    const source = '{\n  "a": 42\n}\n';
    const text = formatDiagnostic(at(source, source.indexOf("42"), 2), source);
    assert.equal(text, 'p.json:2:8: error: bad\n  at $.a\n  2 |   "a": 42\n    |        ^^');
  });

  test("tabs keep the caret aligned", () => {
    const source = '{\n\t"a":\t42\n}';
    const lines = formatDiagnostic(at(source, source.indexOf("42"), 2), source).split("\n");
    assert.equal(lines[3], "    | \t    \t^^");
  });

  test("a long line is quoted as a window around the column", () => {
    const source = `{${'"k": 1, '.repeat(500)}"a": 42}`;
    const offset = source.indexOf("42");
    const lines = formatDiagnostic(at(source, offset, 2), source).split("\n");
    const quoted = lines[2].slice("  1 | ".length);
    assert.ok(quoted.startsWith("…") && quoted.endsWith("…") === false, quoted);
    assert.ok(quoted.length < 140, `${quoted.length} characters quoted`);
    const caretLine = lines[3].slice("    | ".length);
    assert.equal(quoted.slice(caretLine.indexOf("^"), caretLine.indexOf("^") + 2), "42");
  });

  test("quoting many positions of one huge line stays small", () => {
    const source = '"x", '.repeat(200_000);
    let total = 0;
    for (let i = 0; i < 2000; i++) total += formatDiagnostic(at(source, i * 500, 3), source).length;
    assert.ok(total < 2000 * 400, `${total} characters`);
  });
});
