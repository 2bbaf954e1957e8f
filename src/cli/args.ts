/**
 * Command-line parsing shared by the sub-commands: the project's scanner
 * (`src/options.ts`, `parseArgs`'s strict mode without loading `node:util`)
 * with its errors turned into {@link UsageError}s.
 *
 * @module
 */
import { repeatedOption } from "../input.ts";
import { type OptionDeclarations, OptionScanError, type Scan, scanOptions } from "../options.ts";
import { UsageError } from "./output.ts";

/** Option declarations, as the scanner (and `parseArgs`) take them. */
export type OptionSpec = OptionDeclarations;

/**
 * Parses `args` strictly; unknown options, missing values and repeated
 * single-value options become usage errors.
 *
 * @example
 * ```ts
 * const { values } = parseCommandLine("schema", ["-o", "x.json"], { output: { type: "string", short: "o" } });
 * ```
 */
export function parseCommandLine<T extends OptionSpec>(command: string, args: string[], options: T, allowPositionals = false): Scan<T> {
  let parsed: Scan<T>;
  try {
    parsed = scanOptions(args, options, { allowPositionals });
  } catch (error) {
    if (!(error instanceof OptionScanError)) throw error;
    throw new UsageError(error.message, command);
  }
  const repeated = repeatedOption(parsed.tokens, options);
  if (repeated !== undefined) throw new UsageError(`${repeated} given more than once`, command);
  return parsed;
}
