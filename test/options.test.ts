// deno-facing
/**
 * The command-line scanner (src/options.ts) against `node:util` `parseArgs`,
 * whose strict mode it reimplements: on every command line below both accept
 * with the same values, positionals and tokens, or both refuse with the same
 * message (parseArgs's first sentence, as the commands print it).
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { parseArgs } from "node:util";
import { type OptionDeclarations, OptionScanError, scanOptions } from "../src/options.ts";

/** The launcher's kind of declarations: long options, one short boolean. */
const EXEC_LIKE = {
  "filter-file": { type: "string" },
  thread: { type: "string" },
  "dry-run": { type: "boolean" },
  help: { type: "boolean", short: "h" },
} as const;

/** The other commands' kind: short string options, short booleans, a repeatable option. */
const COMMAND_LIKE = {
  output: { type: "string", short: "o" },
  "target-arch": { type: "string", short: "t" },
  verbose: { type: "boolean", short: "v" },
  help: { type: "boolean", short: "h" },
  arg: { type: "string", short: "a", multiple: true },
  flag: { type: "boolean", multiple: true },
} as const;

const CASES: [OptionDeclarations, boolean, string[]][] = [
  [EXEC_LIKE, true, []],
  [EXEC_LIKE, true, ["--", "/bin/true"]],
  [EXEC_LIKE, true, ["--thread", "vmm", "--", "/bin/true", "--thread", "x"]],
  [EXEC_LIKE, true, ["--thread=vmm", "--dry-run", "--", "a"]],
  [EXEC_LIKE, true, ["--thread=", "--", "a"]],
  [EXEC_LIKE, true, ["--thread=a=b"]],
  [EXEC_LIKE, true, ["--thread", "a", "--thread", "b"]],
  [EXEC_LIKE, true, ["-h"]],
  [EXEC_LIKE, true, ["--help", "--", "-h"]],
  [EXEC_LIKE, true, ["stray", "--thread", "a", "--", "b"]],
  [EXEC_LIKE, true, ["-", "--", "b"]],
  [EXEC_LIKE, true, ["--", "--", "x"]],
  [EXEC_LIKE, true, ["--thread"]],
  [EXEC_LIKE, true, ["--thread", "-x"]],
  [EXEC_LIKE, true, ["--thread", "--dry-run"]],
  [EXEC_LIKE, true, ["--thread", "-"]],
  [EXEC_LIKE, true, ["--thread", "--"]],
  [EXEC_LIKE, true, ["--dry-run=yes"]],
  [EXEC_LIKE, true, ["--help=1"]],
  [EXEC_LIKE, true, ["--nope"]],
  [EXEC_LIKE, true, ["--nope=1"]],
  [EXEC_LIKE, true, ["--=x"]],
  [EXEC_LIKE, true, ["---thread", "x"]],
  [EXEC_LIKE, true, ["--constructor"]],
  [EXEC_LIKE, true, ["--__proto__=1"]],
  [EXEC_LIKE, true, ["--Thread", "a"]],
  [EXEC_LIKE, true, ["-c"]],
  [EXEC_LIKE, true, ["-x", "--", "a"]],
  [EXEC_LIKE, true, ["--filter-file", "f", "-c", "sh"]],
  [COMMAND_LIKE, false, []],
  [COMMAND_LIKE, false, ["-o", "out.bpf", "-t", "x86_64"]],
  [COMMAND_LIKE, false, ["-oout.bpf"]],
  [COMMAND_LIKE, false, ["-o", "-"]],
  [COMMAND_LIKE, false, ["-o"]],
  [COMMAND_LIKE, false, ["-o", "-x"]],
  [COMMAND_LIKE, false, ["-o", "--verbose"]],
  [COMMAND_LIKE, false, ["--output", "-x"]],
  [COMMAND_LIKE, false, ["--output"]],
  [COMMAND_LIKE, false, ["-vh"]],
  [COMMAND_LIKE, false, ["-vo", "f"]],
  [COMMAND_LIKE, false, ["-vofile"]],
  [COMMAND_LIKE, false, ["-vo"]],
  [COMMAND_LIKE, false, ["-a", "1", "-a", "2", "--arg=3"]],
  [COMMAND_LIKE, false, ["--flag", "--flag"]],
  [COMMAND_LIKE, false, ["--verbose=1"]],
  [COMMAND_LIKE, false, ["-o", "a", "-o", "b"]],
  [COMMAND_LIKE, false, ["x"]],
  [COMMAND_LIKE, false, ["--", "x"]],
  [COMMAND_LIKE, false, ["-h", "x"]],
  [COMMAND_LIKE, false, ["--"]],
  [COMMAND_LIKE, true, ["in.json", "-o", "x", "more"]],
  [COMMAND_LIKE, true, ["-", "--", "-o"]],
];

/** parseArgs's answer in the scanner's terms. */
function reference(options: OptionDeclarations, allowPositionals: boolean, args: string[]) {
  try {
    // deno-lint-ignore no-explicit-any
    const { values, positionals, tokens } = parseArgs({ args, options: options as any, strict: true, allowPositionals, tokens: true });
    // parseArgs marks a value given after "=" with inlineValue, which the scanner leaves out; JSON drops the
    // `value: undefined` it gives a boolean's token.
    return JSON.parse(JSON.stringify({
      values,
      positionals,
      tokens: tokens.map(({ inlineValue: _, ...token }: Record<string, unknown>) => token),
    }));
  } catch (error) {
    return { error: (error as Error).message.split(". To specify a positional")[0] };
  }
}

function scanned(options: OptionDeclarations, allowPositionals: boolean, args: string[]) {
  try {
    return JSON.parse(JSON.stringify(scanOptions(args, options, { allowPositionals })));
  } catch (error) {
    assert.ok(error instanceof OptionScanError, String(error));
    return { error: error.message };
  }
}

describe("option scanner == parseArgs (strict)", () => {
  for (const [options, allowPositionals, args] of CASES) {
    const name = `${options === EXEC_LIKE ? "launcher" : "command"}${allowPositionals ? "" : ", no positionals"}: ${JSON.stringify(args)}`;
    test(name, () => {
      assert.deepEqual(scanned(options, allowPositionals, args), reference(options, allowPositionals, args));
    });
  }

  test("an unknown short option in a group or with = is named with its dash", () => {
    // parseArgs spells these differently on Bun ('x') and Deno ('-x'); the scanner always says '-x'.
    assert.deepEqual(scanned(EXEC_LIKE, true, ["-hx"]), { error: "Unknown option '-x'" });
    assert.deepEqual(scanned(EXEC_LIKE, true, ["-h=1"]), { error: "Unknown option '-='" });
    assert.deepEqual(scanned(COMMAND_LIKE, false, ["-vx"]), { error: "Unknown option '-x'" });
  });
});
