/**
 * Command-line parsing shared by the sub-commands: `node:util` `parseArgs`
 * (identical on Bun and Deno) with its errors turned into {@link UsageError}s.
 *
 * @module
 */
import type { ParseArgsConfig } from "node:util";
import { repeatedOption } from "../input.ts";
import { UsageError } from "./output.ts";

// node:util is loaded when a command that parses with it is: a static import of a Node built-in is
// hoisted to the top of the one-file standalone executable, and this one costs about 5 ms of every
// start, exec's included (docs/bench.md, start-up). exec has its own scanner (launcher/options.ts).
const { parseArgs } = await import("node:util");

/** Option declarations, as `parseArgs` takes them. */
export type OptionSpec = NonNullable<ParseArgsConfig["options"]>;

/**
 * Parses `args` strictly; unknown options, missing values and repeated
 * single-value options become usage errors.
 *
 * @example
 * ```ts
 * const { values } = parseCommandLine("schema", ["-o", "x.json"], { output: { type: "string", short: "o" } });
 * ```
 */
export function parseCommandLine<T extends OptionSpec>(command: string, args: string[], options: T, allowPositionals = false) {
  let parsed;
  try {
    parsed = parseArgs({ args, options, strict: true, allowPositionals, tokens: true });
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    // parseArgs messages mention "node" and "--help"-less phrasing; keep the first sentence.
    throw new UsageError(message.split(". To specify")[0].replace(/\s+$/, ""), command);
  }
  const repeated = repeatedOption(parsed.tokens, options);
  if (repeated !== undefined) throw new UsageError(`${repeated} given more than once`, command);
  return parsed;
}
