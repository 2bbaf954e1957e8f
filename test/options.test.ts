// deno-facing
/**
 * The launcher's option scanner (src/launcher/options.ts) against `node:util`
 * `parseArgs`, whose strict subset it reimplements: on every command line
 * below both accept with the same values and tokens, or both refuse with the
 * same message (parseArgs's first sentence, as the launcher prints it).
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { parseArgs } from "node:util";
import { OptionScanError, scanOptions } from "../src/launcher/options.ts";

const OPTIONS = {
  "filter-file": { type: "string" },
  thread: { type: "string" },
  "dry-run": { type: "boolean" },
  help: { type: "boolean", short: "h" },
} as const;

const LINES: string[][] = [
  [],
  ["--", "/bin/true"],
  ["--thread", "vmm", "--", "/bin/true", "--thread", "x"],
  ["--thread=vmm", "--dry-run", "--", "a"],
  ["--thread=", "--", "a"],
  ["--thread=a=b"],
  ["--thread", "a", "--thread", "b"],
  ["-h"],
  ["--help", "--", "-h"],
  ["stray", "--thread", "a", "--", "b"],
  ["-", "--", "b"],
  ["--", "--", "x"],
  ["--thread"],
  ["--thread", "-x"],
  ["--thread", "--dry-run"],
  ["--thread", "-"],
  ["--dry-run=yes"],
  ["--help=1"],
  ["--nope"],
  ["--nope=1"],
  ["--Thread", "a"],
  ["-c"],
  ["-x", "--", "a"],
  ["--filter-file", "f", "-c", "sh"],
];

/** parseArgs's answer in the scanner's terms. */
function reference(args: string[]) {
  try {
    const { values, tokens } = parseArgs({ args, options: OPTIONS, strict: true, allowPositionals: true, tokens: true });
    // parseArgs marks a value given after "=" with inlineValue; the scanner leaves that out.
    // JSON drops the `value: undefined` parseArgs gives a boolean's token.
    return JSON.parse(JSON.stringify({ values, tokens: tokens.map(({ inlineValue: _, ...token }: Record<string, unknown>) => token) }));
  } catch (error) {
    return { error: (error as Error).message.split(". To specify")[0] };
  }
}

function scanned(args: string[]) {
  try {
    const { values, tokens } = scanOptions(args, OPTIONS);
    return JSON.parse(JSON.stringify({ values, tokens }));
  } catch (error) {
    assert.ok(error instanceof OptionScanError, String(error));
    return { error: error.message };
  }
}

describe("launcher option scanner == parseArgs (strict, positionals allowed)", () => {
  for (const args of LINES) {
    test(JSON.stringify(args), () => {
      assert.deepEqual(scanned(args), reference(args));
    });
  }

  test("a short option in a group or with = is unknown, named by its letter", () => {
    // parseArgs spells these differently on Bun ('x') and Deno ('-x'); the scanner always says '-x'.
    assert.deepEqual(scanned(["-hx"]), { error: "Unknown option '-x'" });
    assert.deepEqual(scanned(["-h=1"]), { error: "Unknown option '-='" });
  });
});
