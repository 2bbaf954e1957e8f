/**
 * JSON text → syntax tree with source positions, plus exact integers.
 *
 * `JSON.parse` loses what the policy front end needs: positions for
 * diagnostics, duplicate keys (it keeps the last silently) and integers
 * above 2^53 (it rounds them). jsonc-parser's `parseTree` keeps offsets and
 * every property; number tokens are re-read from the source text as bigint.
 * Comments (`//`, `/* *\/`) are accepted, trailing commas are not.
 *
 * @module
 */
import { createScanner, getLocation, type Node, type ParseError, parseTree, printParseErrorCode } from "jsonc-parser";
import type { Diagnostic, DiagnosticCode, SourcePosition } from "../diagnostics.ts";
import { U64_MAX } from "../vocabulary.ts";

/** A node of the syntax tree (jsonc-parser's `Node`: type, offset, length, children, value). */
export type JsonNode = Node;

/** Result of {@link parseJson}: a tree when the text is syntactically valid, otherwise one diagnostic. */
export interface ParsedJson {
  /** The root value; undefined when {@link ParsedJson.diagnostics} is not empty. */
  readonly root?: JsonNode;
  /** Syntax errors (at most one: see {@link parseJson}). */
  readonly diagnostics: readonly Diagnostic[];
}

/** Maps offsets of one text to {@link SourcePosition}s. */
export type Locator = (offset: number, length: number) => SourcePosition;

/**
 * A position finder for `text`: 1-based line and column (UTF-16 units, like
 * editors), with a line index built once so that many lookups stay cheap.
 *
 * @example
 * ```ts
 * createLocator("{\n  \"a\": 1 }", "p.json")(9, 1); // { file: "p.json", line: 2, column: 8, offset: 9, length: 1 }
 * ```
 */
export function createLocator(text: string, file: string): Locator {
  const lineStarts = [0];
  for (let i = 0; i < text.length; i++) if (text.charCodeAt(i) === 10) lineStarts.push(i + 1);
  return (offset, length) => {
    let low = 0;
    let high = lineStarts.length - 1;
    while (low < high) {
      const mid = (low + high + 1) >> 1;
      if (lineStarts[mid] <= offset) low = mid;
      else high = mid - 1;
    }
    return { file, line: low + 1, column: offset - lineStarts[low] + 1, offset, length: Math.max(1, length) };
  };
}

/**
 * Parses JSON (with comments) into a tree. On a syntax error it returns one
 * diagnostic for the first error and no tree: jsonc-parser recovers and
 * keeps going, but its follow-up errors mostly restate the first one
 * (`{'a': 1}` yields three), which would bury the real problem.
 *
 * Codes: `empty-input`, `trailing-content`, `json-syntax`.
 *
 * @example
 * ```ts
 * parseJson('{"a": 1 "b": 2}', "p.json").diagnostics[0].message; // "expected a comma or '}'"
 * ```
 */
export function parseJson(text: string, file: string): ParsedJson {
  // jsonc-parser recurses once per nesting level; refuse absurd depth before it overflows the stack.
  const tooDeep = findExcessiveNesting(text);
  if (tooDeep !== undefined) {
    return {
      diagnostics: [{
        code: "nesting-too-deep",
        message: `values are nested more than ${MAX_NESTING} levels deep`,
        path: "$",
        hint: "a policy nests at most 7 levels (policy, filter, rule list, rule, args, condition, operator)",
        position: createLocator(text, file)(tooDeep, 1),
        severity: "error",
      }],
    };
  }
  const errors: ParseError[] = [];
  const root = parseTree(text, errors, { allowTrailingComma: false, disallowComments: false });
  if (errors.length === 0 && root) return { root, diagnostics: [] };
  const locate = createLocator(text, file);
  return { diagnostics: [describeSyntaxError(text, root, errors[0], locate)] };
}

/** Deepest nesting of objects and arrays accepted; real policies use 7. */
export const MAX_NESTING = 64;

/** Offset of the first `{`/`[` deeper than {@link MAX_NESTING}, found iteratively. @private */
function findExcessiveNesting(text: string): number | undefined {
  const scanner = createScanner(text, true);
  let depth = 0;
  for (;;) {
    scanner.scan();
    const length = scanner.getTokenLength();
    if (length === 0) return undefined;
    const first = text.charCodeAt(scanner.getTokenOffset());
    if (length === 1 && (first === 0x7b || first === 0x5b)) {
      depth++;
      if (depth > MAX_NESTING) return scanner.getTokenOffset();
    } else if (length === 1 && (first === 0x7d || first === 0x5d)) {
      depth--;
    }
  }
}

/** A token as the scanner saw it (classified by its text: jsonc-parser's SyntaxKind is a const enum). @private */
interface Token {
  readonly offset: number;
  readonly length: number;
  readonly text: string;
}

/** Tokens around `offset` worth knowing to explain an error there. @private */
interface ErrorContext {
  /** Innermost `{` or `[` still open before the error. */
  readonly container?: "{" | "[";
  /** Last non-trivia token before the error. */
  readonly previous?: Token;
  /** The token at the error offset. */
  readonly current?: Token;
}

/** Scans up to `offset`, tracking nesting. @private */
function errorContext(text: string, offset: number): ErrorContext {
  const scanner = createScanner(text, false);
  const stack: ("{" | "[")[] = [];
  let previous: Token | undefined;
  for (;;) {
    scanner.scan();
    const start = scanner.getTokenOffset();
    const token: Token = {
      offset: start,
      length: scanner.getTokenLength(),
      text: text.slice(start, start + scanner.getTokenLength()),
    };
    if (token.length === 0) return { container: stack.at(-1), previous }; // end of input
    if (token.offset >= offset) return { container: stack.at(-1), previous, current: token };
    if (token.text === "{" || token.text === "[") stack.push(token.text);
    else if (token.text === "}" || token.text === "]") stack.pop();
    const trivia = token.text.trim() === "" || token.text.startsWith("//") || token.text.startsWith("/*");
    if (!trivia) previous = token;
  }
}

/** Readable text for jsonc-parser's error names. @private */
const SYNTAX_MESSAGES: Record<string, string> = {
  InvalidSymbol: "unexpected character",
  InvalidNumberFormat: "invalid number",
  PropertyNameExpected: "expected a property name in double quotes",
  ValueExpected: "expected a value",
  ColonExpected: "expected ':' after the property name",
  CommaExpected: "expected a comma",
  CloseBraceExpected: "unexpected end of input; expected '}'",
  CloseBracketExpected: "unexpected end of input; expected ']'",
  EndOfFileExpected: "unexpected content after the JSON value",
  InvalidCommentToken: "invalid comment",
  UnexpectedEndOfComment: "unterminated /* comment",
  UnexpectedEndOfString: "unterminated string (a string cannot span lines)",
  UnexpectedEndOfNumber: "incomplete number",
  InvalidUnicode: "invalid \\u escape in string",
  InvalidEscapeCharacter: "invalid escape sequence in string",
  InvalidCharacter: "control character in string; write it as an escape such as \\n or \\t",
};

/** Turns jsonc-parser's first error into one readable diagnostic. @private */
function describeSyntaxError(
  text: string,
  root: JsonNode | undefined,
  error: ParseError | undefined,
  locate: Locator,
): Diagnostic {
  const make = (code: DiagnosticCode, message: string, offset: number, length: number, hint?: string): Diagnostic => ({
    code,
    message,
    path: jsonPath(safeLocationPath(text, offset)),
    position: locate(offset, length),
    severity: "error",
    ...(hint ? { hint } : {}),
  });
  const context = errorContext(text, error?.offset ?? text.length);
  if (!root && !context.previous && !context.current) {
    return make(
      "empty-input",
      "the policy is empty; expected a JSON object",
      text.length,
      0,
      "an empty policy is written {}",
    );
  }
  if (!error) return make("json-syntax", "invalid JSON", 0, 0);
  const name = printParseErrorCode(error.error);
  const { previous, current } = context;
  const unclosed = name === "CloseBraceExpected" || name === "CloseBracketExpected";
  if (root && !unclosed && current && error.offset >= root.offset + root.length) {
    return make(
      "trailing-content",
      SYNTAX_MESSAGES.EndOfFileExpected,
      error.offset,
      current?.length ?? error.length,
      "a policy is exactly one JSON object; remove what follows it",
    );
  }
  const closer = current?.text === "}" || current?.text === "]";
  if ((name === "PropertyNameExpected" || name === "ValueExpected") && closer && previous?.text === ",") {
    return make("json-syntax", "trailing comma is not allowed", previous.offset, 1, "remove the comma");
  }
  const afterZero = previous !== undefined && /^-?0$/.test(previous.text) &&
    previous.offset + previous.length === error.offset;
  if (afterZero && /^[0-9]/.test(current?.text ?? "")) {
    return make(
      "json-syntax",
      "a number must not have leading zeros",
      previous.offset,
      previous.length + (current?.length ?? 0),
    );
  }
  if (afterZero && /^[xX][0-9a-fA-F]+$/.test(current?.text ?? "")) {
    const decimal = BigInt(`0${current!.text}`).toString();
    return make(
      "json-syntax",
      "hexadecimal numbers are not allowed",
      previous.offset,
      previous.length + current!.length,
      `write it in decimal: ${decimal}`,
    );
  }
  if (name === "CommaExpected") {
    const close = context.container === "[" ? "]" : "}";
    return make("json-syntax", `expected a comma or '${close}'`, error.offset, error.length);
  }
  if (name === "InvalidSymbol" && current) {
    if (current.text.startsWith("'")) {
      return make("json-syntax", "strings must use double quotes", current.offset, current.length);
    }
    return make(
      "json-syntax",
      `unexpected ${JSON.stringify(current.text)}; expected a value`,
      current.offset,
      current.length,
      "values are strings in double quotes, decimal numbers, objects, arrays, true, false or null",
    );
  }
  return make("json-syntax", SYNTAX_MESSAGES[name] ?? name, error.offset, error.length);
}

/** `getLocation` can throw on some broken inputs; a path is only a nicety there. @private */
function safeLocationPath(text: string, offset: number): readonly (string | number)[] {
  try {
    const path = getLocation(text, offset).path;
    // At a property-name position the path ends in "", which names nothing.
    return path.at(-1) === "" ? path.slice(0, -1) : path;
  } catch {
    return [];
  }
}

/**
 * A JSON path in the `$.a.b[0]` notation; keys that are not identifiers are
 * quoted: `$["my thread"].filter[0]`.
 *
 * @example
 * ```ts
 * jsonPath(["vmm", "filter", 3, "args", 0, "val"]); // "$.vmm.filter[3].args[0].val"
 * jsonPath(["my thread"]); // '$["my thread"]'
 * ```
 */
export function jsonPath(segments: readonly (string | number)[]): string {
  let path = "$";
  for (const segment of segments) {
    if (typeof segment === "number") path += `[${segment}]`;
    else if (/^[A-Za-z_][A-Za-z0-9_]*$/.test(segment)) path += `.${segment}`;
    else path += `[${JSON.stringify(segment)}]`;
  }
  return path;
}

/** Why a number token is not a plain unsigned integer. */
export type IntegerProblem = "negative" | "negative-zero" | "fraction" | "exponent" | "too-large";

/** Result of {@link readUnsignedInteger}. */
export type IntegerResult =
  | { readonly ok: true; readonly value: bigint }
  | {
    readonly ok: false;
    readonly problem: IntegerProblem;
    /** The same number written as a plain integer, when it is one (`1.0` → 1n, `1e3` → 1000n). */
    readonly equivalent?: bigint;
  };

/**
 * Reads a JSON number token as an exact unsigned 64-bit integer. Only plain
 * decimal digits are accepted, as serde does for `u64`: `-0`, `1.0`, `1e3`,
 * negatives and values ≥ 2^64 are refused with the reason.
 *
 * @example
 * ```ts
 * readUnsignedInteger("18446744073709551615"); // { ok: true, value: 18446744073709551615n }
 * readUnsignedInteger("1e3"); // { ok: false, problem: "exponent", equivalent: 1000n }
 * ```
 */
export function readUnsignedInteger(token: string): IntegerResult {
  const match = /^(-?)(0|[1-9][0-9]*)(?:\.([0-9]+))?(?:[eE]([+-]?[0-9]+))?$/.exec(token);
  if (!match) return { ok: false, problem: "fraction" };
  const [, sign, whole, fraction = "", exponent] = match;
  if (sign === "" && fraction === "" && exponent === undefined) {
    const value = BigInt(whole);
    return value > U64_MAX ? { ok: false, problem: "too-large" } : { ok: true, value };
  }
  const equivalent = exactInteger(sign, whole, fraction, exponent);
  const withEquivalent = (problem: IntegerProblem): IntegerResult =>
    equivalent === undefined ? { ok: false, problem } : { ok: false, problem, equivalent };
  if (sign === "-") {
    return equivalent === 0n
      ? { ok: false, problem: "negative-zero", equivalent: 0n }
      : { ok: false, problem: "negative" };
  }
  if (exponent !== undefined) return withEquivalent("exponent");
  return withEquivalent("fraction");
}

/** The integer a decimal literal denotes, if it is a non-negative integer of sane size. @private */
function exactInteger(sign: string, whole: string, fraction: string, exponent: string | undefined): bigint | undefined {
  const shift = Number(exponent ?? 0);
  if (!Number.isSafeInteger(shift) || Math.abs(shift) > 40) return undefined;
  let digits = (whole + fraction).replace(/^0+(?=.)/, "");
  let scale = shift - fraction.length;
  while (scale < 0 && digits.endsWith("0") && digits.length > 1) {
    digits = digits.slice(0, -1);
    scale++;
  }
  if (/^0+$/.test(digits)) return 0n;
  if (scale < 0 || sign === "-") return undefined;
  return BigInt(digits) * 10n ** BigInt(scale);
}
