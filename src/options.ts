/**
 * The command-line scanner every command uses: the strict mode of
 * `node:util` `parseArgs`, in plain code.
 *
 * Why not `parseArgs` itself: loading `node:util` costs about 5 ms of a
 * standalone executable's start (docs/bench.md), and the launcher sits in
 * front of every VM start. The accepted syntax and the messages are
 * `parseArgs`'s (`strict: true`, `tokens: true`): `--name value`,
 * `--name=value`, boolean `--name`, short `-o value`, `-ovalue` and groups of
 * short booleans (`-vh`, where a string option may come last: `-vo FILE`),
 * repeatable options (`multiple`), and `--` ending the options. An unknown
 * option, a missing value, a value that looks like an option, a value given
 * to a boolean, and a positional argument where none is allowed are errors,
 * in the order they appear. `test/options.test.ts` holds it to `parseArgs`
 * case by case.
 *
 * @module
 */

/** One declared option: a string that takes a value, or a boolean flag; `short` is its one-letter alias. */
export interface OptionDeclaration {
  /** `string` options take a value, `boolean` ones never do. */
  readonly type: "string" | "boolean";
  /** One-letter alias (`h` for `-h`). */
  readonly short?: string;
  /** Whether the option may be given more than once; its value is then the list of values. */
  readonly multiple?: boolean;
}

/** Declarations by option name. */
export type OptionDeclarations = Readonly<Record<string, OptionDeclaration>>;

/** What the scanner saw at one position of the arguments, as `parseArgs` reports it with `tokens: true`. */
export type ScanToken =
  | { readonly kind: "option"; readonly name: string; readonly rawName: string; readonly index: number; readonly value?: string }
  | { readonly kind: "positional"; readonly index: number; readonly value: string }
  | { readonly kind: "option-terminator"; readonly index: number };

/** Option name → its value's type: `true` for a boolean given, the text for a string, a list when `multiple`. */
export type ScanValues<T extends OptionDeclarations> = {
  -readonly [K in keyof T]?: T[K]["type"] extends "boolean" ? (T[K]["multiple"] extends true ? boolean[] : boolean)
    : T[K]["multiple"] extends true ? string[]
    : string;
};

/** The scan: the options given, the positional arguments, and every token in order. */
export interface Scan<T extends OptionDeclarations> {
  /** The options given (the last value of each, or all of them for `multiple`). */
  readonly values: ScanValues<T>;
  /** Arguments that are not options, in order (those after `--` included). */
  readonly positionals: string[];
  /** Every option, positional and the `--` terminator, in order. */
  readonly tokens: ScanToken[];
}

/**
 * A command line the declarations do not accept; the message is the one
 * `parseArgs` gives (its first sentence).
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

/** A value that looks like an option (`-x`, `--`): `parseArgs` refuses it unless written `--name=-x`. @private */
function optionLike(value: string): boolean {
  return value.length > 1 && value[0] === "-";
}

/**
 * Scans `args` against `options`. Everything after the first `--` is
 * positional. Throws {@link OptionScanError} at the first problem.
 *
 * @example
 * ```ts
 * const { values, positionals } = scanOptions(["-o", "out.bpf", "--thread", "vmm", "--", "/bin/true"], {
 *   output: { type: "string", short: "o" },
 *   thread: { type: "string" },
 * }, { allowPositionals: true });
 * values.output; // "out.bpf"
 * positionals; // ["/bin/true"]
 * ```
 */
export function scanOptions<T extends OptionDeclarations>(
  args: readonly string[],
  options: T,
  { allowPositionals = false }: { readonly allowPositionals?: boolean } = {},
): Scan<T> {
  const values: Record<string, string | boolean | (string | boolean)[]> = {};
  const positionals: string[] = [];
  const tokens: ScanToken[] = [];
  const shorts = new Map(Object.entries(options).flatMap(([name, o]) => (o.short ? [[o.short, name] as const] : [])));
  const shown = (name: string) => (options[name].short ? `-${options[name].short}, --${name}` : `--${name}`);

  const positional = (index: number, value: string) => {
    if (!allowPositionals) throw new OptionScanError(`Unexpected argument '${value}'. This command does not take positional arguments`);
    tokens.push({ kind: "positional", index, value });
    positionals.push(value);
  };
  const store = (name: string, value: string | boolean) => {
    if (options[name].multiple) ((values[name] ??= []) as (string | boolean)[]).push(value);
    else values[name] = value;
  };
  /** One option occurrence; `inline` is a value given in the same argument, `next` the following argument. */
  const option = (name: string, rawName: string, index: number, inline: string | undefined, next: string | undefined): number => {
    if (options[name].type === "boolean") {
      if (inline !== undefined) throw new OptionScanError(`Option '${shown(name)}' does not take an argument`);
      tokens.push({ kind: "option", name, rawName, index });
      store(name, true);
      return 0;
    }
    const value = inline ?? next;
    if (value === undefined) throw new OptionScanError(`Option '${shown(name)} <value>' argument missing`);
    if (inline === undefined && optionLike(value)) {
      const example = rawName.startsWith("--") ? `'${rawName}=-XYZ'` : `'--${name}=-XYZ' or '${rawName}-XYZ'`;
      throw new OptionScanError(
        `Option '${rawName}' argument is ambiguous.\nDid you forget to specify the option argument for '${rawName}'?\n` +
          `To specify an option argument starting with a dash use ${example}.`,
      );
    }
    tokens.push({ kind: "option", name, rawName, index, value });
    store(name, value);
    return inline === undefined ? 1 : 0;
  };

  for (let index = 0; index < args.length; index++) {
    const arg = args[index];
    if (arg === "--") {
      tokens.push({ kind: "option-terminator", index });
      for (let rest = index + 1; rest < args.length; rest++) positional(rest, args[rest]);
      break;
    }
    if (!arg.startsWith("-") || arg === "-") {
      positional(index, arg);
      continue;
    }
    if (arg.startsWith("--")) {
      // As parseArgs: "=" splits off a value only after a name of at least one character (`--=x` is a name).
      const equals = arg.indexOf("=", 3);
      const rawName = equals === -1 ? arg : arg.slice(0, equals);
      const name = rawName.slice(2);
      if (!Object.hasOwn(options, name)) throw new OptionScanError(`Unknown option '${rawName}'`);
      index += option(name, rawName, index, equals === -1 ? undefined : arg.slice(equals + 1), args[index + 1]);
      continue;
    }
    // Short options: -o VALUE, -oVALUE, or a group of booleans (-vh) whose last member may take a value.
    for (let at = 1; at < arg.length; at++) {
      const letter = arg[at];
      const name = shorts.get(letter);
      if (name === undefined) throw new OptionScanError(`Unknown option '-${letter}'`);
      const last = at === arg.length - 1;
      if (options[name].type === "string") {
        index += option(name, `-${letter}`, index, last ? undefined : arg.slice(at + 1), args[index + 1]);
        break;
      }
      option(name, `-${letter}`, index, undefined, undefined);
    }
  }
  return { values: values as ScanValues<T>, positionals, tokens };
}
