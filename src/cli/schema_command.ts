/**
 * `seccompiler schema`: print (or write) the JSON Schema of the policy format.
 *
 * @module
 */
import { policyJsonSchema } from "../policy/schema.ts";
import { OutputError, writeOutput } from "../fs.ts";
import { describeSystemError } from "../input.ts";
import { err, EXIT, out } from "./output.ts";
import { parseCommandLine } from "./args.ts";

const HELP = `Usage: seccompiler schema [--output FILE]

Prints the JSON Schema (draft 2020-12) of the policy format on stdout, or
writes it atomically to FILE. policies/seccompiler.schema.json is this output.

Options:
  -o, --output FILE  write to FILE instead of stdout ("-": stdout)
  -h, --help         show this help
`;

/**
 * Runs `seccompiler schema`.
 *
 * @example
 * ```ts
 * schemaCommand([]); // prints the schema
 * ```
 */
export function schemaCommand(args: string[]): number {
  const { values } = parseCommandLine("schema", args, {
    output: { type: "string", short: "o" },
    help: { type: "boolean", short: "h" },
  });
  if (values.help) {
    out(HELP);
    return EXIT.OK;
  }
  const text = `${JSON.stringify(policyJsonSchema(), null, 2)}\n`;
  if (typeof values.output === "string" && values.output !== "-") {
    try {
      writeOutput(values.output, text);
    } catch (error) {
      const hint = error instanceof OutputError && error.hint ? `\n  hint: ${error.hint}` : "";
      const what = error instanceof OutputError ? error.message : `cannot write ${values.output}: ${describeSystemError(error)}`;
      err(`seccompiler: error: ${what}${hint}`);
      return EXIT.FAILURE;
    }
  } else {
    out(text.trimEnd());
  }
  return EXIT.OK;
}
