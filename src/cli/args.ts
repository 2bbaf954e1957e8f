/**
 * Command-line parsing shared by the sub-commands: `node:util` `parseArgs`
 * (identical on Bun and Deno) with its errors turned into {@link UsageError}s.
 *
 * @module
 */
import { parseArgs, type ParseArgsConfig } from "node:util";
import { UsageError } from "./output.ts";

/** Option declarations, as `parseArgs` takes them. */
export type OptionSpec = NonNullable<ParseArgsConfig["options"]>;

/** The tokens `parseArgs` returns with `tokens: true` (only what we read of them). */
type Token = { kind: string; name?: string; rawName?: string };

/**
 * The first single-value option given twice, as typed (`-o`, `--output-file`),
 * or undefined. `parseArgs` silently keeps the last one; for an option that
 * names a file or a limit that hides a mistake, so every command refuses it.
 *
 * @example
 * ```ts
 * import { parseArgs } from "node:util";
 * const options = { thread: { type: "string" } } as const;
 * const { tokens } = parseArgs({ args: ["--thread", "a", "--thread", "b"], options, tokens: true });
 * repeatedOption(tokens, options); // "--thread"
 * ```
 */
export function repeatedOption(tokens: readonly Token[], options: OptionSpec): string | undefined {
  const seen = new Set<string>();
  for (const token of tokens) {
    if (token.kind !== "option" || token.name === undefined) continue;
    const spec = options[token.name];
    if (spec === undefined || spec.type !== "string" || spec.multiple) continue;
    if (seen.has(token.name)) return token.rawName ?? `--${token.name}`;
    seen.add(token.name);
  }
  return undefined;
}

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
