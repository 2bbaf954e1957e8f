/**
 * The JSON front end's per-document state and its structural checks: how a
 * problem is recorded with its JSON path and source position, and how an
 * object node is checked against its schema shape (types, duplicate,
 * unknown, missing and aliased keys).
 *
 * @module
 */
import type { ArchInfo } from "../arch/arch.ts";
import { didYouMean, quoteList } from "../checks.ts";
import { boundDiagnostic, type Diagnostic, type DiagnosticCode } from "../diagnostics.ts";
import { closestMatch } from "../suggest.ts";
import { type JsonNode, jsonPath, type Locator } from "./parse.ts";
import type { ObjectShape } from "./shape.ts";

/** Per-document state. */
export interface Checker {
  /** The policy text (numbers are re-read from it). */
  readonly text: string;
  /** The target architecture. */
  readonly arch: ArchInfo;
  /** Offsets → positions in `text`. */
  readonly locate: Locator;
  /** The deprecated `--basic` mode: every `args` dropped. */
  readonly basic: boolean;
  /** Everything reported so far. */
  readonly diagnostics: Diagnostic[];
}

/** A path as segments; rendered with {@link jsonPath}. */
export type Path = readonly (string | number)[];

/** One problem, where it is: the argument of {@link report}. */
export interface Report {
  /** Stable code. */
  readonly code: DiagnosticCode;
  /** One-line description. */
  readonly message: string;
  /** JSON path of the offending value. */
  readonly path: Path;
  /** The node (or span) the caret points at. */
  readonly at: JsonNode | { readonly offset: number; readonly length: number };
  /** What to do about it. */
  readonly hint?: string;
  /** Default `error`. */
  readonly severity?: Diagnostic["severity"];
}

/**
 * Records one diagnostic. A problem from `../checks.ts` is reported by
 * spreading it: `report(checker, { ...problem, path, at: node })`.
 *
 * @example
 * ```ts
 * import { getArch } from "../arch/arch.ts";
 * import { createLocator } from "./parse.ts";
 * const checker: Checker = { text: "{}", arch: getArch("x86_64"), locate: createLocator("{}", "p.json"), basic: false, diagnostics: [] };
 * report(checker, { code: "missing-key", message: 'missing key "filter"', path: ["main"], at: { offset: 0, length: 1 } });
 * ```
 */
export function report(checker: Checker, problem: Report): void {
  const { code, message, path, at, hint, severity = "error" } = problem;
  // Bounded here, where every front-end diagnostic is made: a hostile name is quoted by its start only.
  checker.diagnostics.push(boundDiagnostic({
    code,
    message,
    path: jsonPath(path),
    position: checker.locate(at.offset, at.length),
    severity,
    ...(hint ? { hint } : {}),
  }));
}

/**
 * Errors recorded so far; compared before/after a subtree to know whether it was valid.
 *
 * @example
 * ```ts
 * declare const checker: Checker;
 * const before = errorCount(checker);
 * ```
 */
export function errorCount(checker: Checker): number {
  return checker.diagnostics.reduce((count, d) => count + (d.severity === "error" ? 1 : 0), 0);
}

/**
 * The 1-based line of a node, for messages that refer to an earlier one.
 *
 * @example
 * ```ts
 * declare const checker: Checker;
 * declare const node: import("./parse.ts").JsonNode;
 * lineOf(checker, node);
 * ```
 */
export function lineOf(checker: Checker, node: JsonNode): number {
  return checker.locate(node.offset, node.length).line;
}

/**
 * "an object", "a string", ... for messages.
 *
 * @example
 * ```ts
 * declare const node: import("./parse.ts").JsonNode;
 * describe(node); // e.g. "a number"
 * ```
 */
export function describe(node: JsonNode): string {
  switch (node.type) {
    case "object":
      return "an object";
    case "array":
      return "an array";
    case "string":
      return "a string";
    case "number":
      return "a number";
    case "boolean":
      return "a boolean";
    default:
      return "null";
  }
}

/** One property of an object node. */
export interface Member {
  /** The key's string node. */
  readonly key: JsonNode;
  /** The value node. */
  readonly value: JsonNode;
  /** For a repeated key: the first occurrence's key node. */
  readonly duplicate?: JsonNode;
}

/**
 * The properties of an object node in source order, duplicates marked.
 *
 * @example
 * ```ts
 * import { parseJson } from "./parse.ts";
 * members(parseJson('{"a": 1, "a": 2}', "p.json").root!)[1].duplicate !== undefined; // true
 * ```
 */
export function members(node: JsonNode): Member[] {
  const first = new Map<string, JsonNode>();
  const out: Member[] = [];
  for (const property of node.children ?? []) {
    const [key, value] = property.children ?? [];
    if (!key || !value) continue; // only after a syntax error, which stops before this stage
    const name = key.value as string;
    const earlier = first.get(name);
    if (earlier) out.push({ key, value, duplicate: earlier });
    else {
      first.set(name, key);
      out.push({ key, value });
    }
  }
  return out;
}

/**
 * Checks an object against its schema shape: type, duplicate keys, unknown
 * keys, required keys, key/alias pairs. Returns the first occurrence of
 * each known key, or undefined when the node is not an object.
 *
 * @example
 * ```ts
 * import { RULE_SHAPE } from "./shape.ts";
 * declare const checker: Checker;
 * declare const node: import("./parse.ts").JsonNode;
 * readObject(checker, node, RULE_SHAPE, ["main", "filter", 0], "rule")?.get("syscall");
 * ```
 */
export function readObject(
  checker: Checker,
  node: JsonNode,
  shape: ObjectShape,
  path: Path,
  what: string,
): Map<string, Member> | undefined {
  if (node.type !== "object") {
    report(checker, { code: "wrong-type", message: `${what} must be an object, not ${describe(node)}`, path, at: node });
    return undefined;
  }
  const known = new Map<string, Member>();
  for (const member of members(node)) {
    const name = member.key.value as string;
    if (member.duplicate) {
      report(checker, {
        code: "duplicate-key",
        message: `duplicate key "${name}" in ${what} (first given on line ${lineOf(checker, member.duplicate)})`,
        path: [...path, name],
        at: member.key,
        hint: "give each key once",
      });
    } else if (!shape.keys.includes(name)) {
      report(checker, {
        code: "unknown-key",
        message: `unknown key "${name}" in ${what}${didYouMean(closestMatch(name, shape.keys))}`,
        path: [...path, name],
        at: member.key,
        hint: `allowed keys: ${quoteList(shape.keys)}`,
      });
    } else {
      known.set(name, member);
    }
  }
  const brace = { offset: node.offset, length: 1 };
  for (const key of shape.required) {
    if (!known.has(key)) report(checker, { code: "missing-key", message: `missing key "${key}" in ${what}`, path, at: brace });
  }
  for (const group of shape.exactlyOne) {
    const given = group.filter((key) => known.has(key)).map((key) => known.get(key)!);
    if (given.length === 0) {
      const [key, ...aliases] = group;
      report(checker, {
        code: "missing-key",
        message: `missing key "${key}" (or its alias ${quoteList(aliases)}) in ${what}`,
        path,
        at: brace,
      });
    }
    given.sort((a, b) => a.key.offset - b.key.offset);
    for (const extra of given.slice(1)) {
      const first = given[0].key;
      report(checker, {
        code: "alias-conflict",
        message: `"${extra.key.value}" and "${first.value}" are aliases, and "${first.value}" is already given on line ${
          lineOf(checker, first)
        }`,
        path: [...path, extra.key.value as string],
        at: extra.key,
        hint: "give only one of them",
      });
    }
  }
  return known;
}

/**
 * `"comment"`: a string or null, never read.
 *
 * @example
 * ```ts
 * declare const checker: Checker;
 * checkComment(checker, undefined, ["main"]); // nothing to check
 * ```
 */
export function checkComment(checker: Checker, member: Member | undefined, path: Path): void {
  if (!member || member.value.type === "string" || member.value.type === "null") return;
  report(checker, {
    code: "comment-type",
    message: `"comment" must be a string, not ${describe(member.value)}`,
    path: [...path, "comment"],
    at: member.value,
  });
}
