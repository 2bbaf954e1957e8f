/**
 * The launcher's command-line scanner: the strict subset of `node:util`
 * `parseArgs` that `seccompiler exec` uses, in plain code.
 *
 * Why not `parseArgs`: loading `node:util` costs about 5 ms of a standalone
 * executable's start (measured in docs/bench.md), and the launcher sits in
 * front of every VM start. The accepted syntax and the messages are
 * `parseArgs`'s (strict mode, positionals allowed): `--name value`,
 * `--name=value`, boolean `--name`, the short `-h`, and `--` ending the
 * options; an unknown option, a value missing or starting with `-`, and a
 * value given to a boolean are errors. It returns the same token shapes, so
 * {@link repeatedOption} in `input.ts` applies unchanged.
 *
 * @module
 */

/** One declared option: a string that takes a value, or a boolean flag; `short` is its one-letter alias. */
export interface OptionDeclaration {
  /** `string` options take a value, `boolean` ones never do. */
  readonly type: "string" | "boolean";
  /** One-letter alias (`h` for `-h`). */
  readonly short?: string;
}

/** What the scanner saw at one position of the arguments, as `parseArgs` reports it with `tokens: true`. */
export type ScanToken =
  | { readonly kind: "option"; readonly name: string; readonly rawName: string; readonly index: number; readonly value?: string }
  | { readonly kind: "positional"; readonly index: number; readonly value: string }
  | { readonly kind: "option-terminator"; readonly index: number };

/** Option name → its value's type: `true` for a boolean given, the text for a string option. */
export type ScanValues<T extends Readonly<Record<string, OptionDeclaration>>> = {
  -readonly [K in keyof T]?: T[K]["type"] extends "boolean" ? boolean : string;
};

/** The scan: the last value of each option given, and every token in order. */
export interface Scan<T extends Readonly<Record<string, OptionDeclaration>>> {
  /** The options given (the last value of each). */
  readonly values: ScanValues<T>;
  /** Every option, positional and the `--` terminator, in order. */
  readonly tokens: ScanToken[];
}

/**
 * A command line the declarations do not accept; the message is the one `parseArgs` gives.
 *
 * @example
 * ```ts
 * try {
 *   scanOptions(["--nope"], { help: { type: "boolean", short: "h" } });
 * } catch (error) {
 *   if (error instanceof OptionScanError) console.error(error.message); // Unknown option '--nope'
 * }
 * ```
 */
export class OptionScanError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "OptionScanError";
  }
}

/** A value that looks like an option: `parseArgs` refuses it as a separate value (`--thread -x`). @private */
function optionLike(value: string): boolean {
  return value.length > 1 && value[0] === "-";
}

/**
 * Scans `args` against `options`. Everything after the first `--` is
 * positional. Throws {@link OptionScanError} on an unknown option, a missing
 * or ambiguous value, or a value given to a boolean.
 *
 * @example
 * ```ts
 * const { values, tokens } = scanOptions(["--thread", "vmm", "--", "/bin/true"], {
 *   thread: { type: "string" },
 *   help: { type: "boolean", short: "h" },
 * });
 * values.thread; // "vmm"
 * tokens[2]; // { kind: "positional", index: 3, value: "/bin/true" }
 * ```
 */
export function scanOptions<T extends Readonly<Record<string, OptionDeclaration>>>(args: readonly string[], options: T): Scan<T> {
  const values: Record<string, string | boolean> = {};
  const tokens: ScanToken[] = [];
  const shorts = new Map(Object.entries(options).flatMap(([name, o]) => (o.short ? [[o.short, name] as const] : [])));
  let index = 0;
  while (index < args.length) {
    const arg = args[index];
    if (arg === "--") {
      tokens.push({ kind: "option-terminator", index });
      for (let rest = index + 1; rest < args.length; rest++) tokens.push({ kind: "positional", index: rest, value: args[rest] });
      break;
    }
    if (!arg.startsWith("-") || arg === "-") {
      tokens.push({ kind: "positional", index, value: arg });
      index++;
      continue;
    }
    let name: string | undefined;
    let rawName: string;
    let inline: string | undefined;
    if (arg.startsWith("--")) {
      const equals = arg.indexOf("=");
      rawName = equals === -1 ? arg : arg.slice(0, equals);
      inline = equals === -1 ? undefined : arg.slice(equals + 1);
      name = Object.hasOwn(options, rawName.slice(2)) ? rawName.slice(2) : undefined;
    } else {
      // A short option stands alone here: the launcher declares only the boolean -h.
      rawName = arg.slice(0, 2);
      name = shorts.get(arg[1]);
      if (name !== undefined && arg.length > 2) {
        rawName = `-${arg[2]}`;
        name = undefined;
      }
    }
    if (name === undefined) {
      throw new OptionScanError(`Unknown option '${rawName}'`);
    }
    const declaration = options[name];
    // parseArgs names an option with its alias in messages: '-h, --help'.
    const shown = declaration.short ? `-${declaration.short}, --${name}` : `--${name}`;
    if (declaration.type === "boolean") {
      if (inline !== undefined) throw new OptionScanError(`Option '${shown}' does not take an argument`);
      values[name] = true;
      tokens.push({ kind: "option", name, rawName, index });
      index++;
      continue;
    }
    let value = inline;
    if (value === undefined) {
      const next = args[index + 1];
      if (next === undefined) throw new OptionScanError(`Option '${shown} <value>' argument missing`);
      if (optionLike(next)) {
        const example = rawName.startsWith("--") ? `--${name}=-XYZ` : `${rawName}-XYZ`;
        throw new OptionScanError(
          `Option '${shown}' argument is ambiguous.\nDid you forget to specify the option argument for '${shown}'?\n` +
            `To specify an option argument starting with a dash use '${example}'.`,
        );
      }
      value = next;
    }
    values[name] = value;
    tokens.push({ kind: "option", name, rawName, index, value });
    index += inline === undefined ? 2 : 1;
  }
  return { values: values as ScanValues<T>, tokens };
}
