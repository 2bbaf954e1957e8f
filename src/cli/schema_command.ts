/**
 * `seccompiler schema`: print (or write) the JSON Schema of the policy format.
 *
 * @module
 */
import { policyJsonSchema } from "../policy/schema.ts";
import { writeFileAtomic } from "../fs.ts";
import { EXIT, out } from "./output.ts";
import { parseCommandLine } from "./args.ts";

const HELP = `Usage: seccompiler schema [--output FILE]

Prints the JSON Schema (draft 2020-12) of the policy format on stdout, or
writes it atomically to FILE. policies/seccompiler.schema.json is this output.

Options:
  -o, --output FILE  write to FILE instead of stdout
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
  if (typeof values.output === "string") writeFileAtomic(values.output, text);
  else out(text.trimEnd());
  return EXIT.OK;
}
