/**
 * The JSON policy front end: policy text → validated IR, with every problem
 * in the document reported at once, each with a code, a JSON path and a
 * source position.
 *
 * The structure (keys, actions, operators, widths, integer ranges) is read
 * from the schema in `schema.ts`; the checks a schema cannot express are
 * here: exact 64-bit ranges, dword ranges, syscall names for the target
 * architecture, equal actions, and rules that conflict across a filter.
 *
 * We are stricter than the reference implementations where they are silent
 * (docs/policy-format.md, §8): duplicate keys, `{"allow": null}`, payloads the
 * kernel would truncate, dword values that would be truncated, and a
 * syscall that is listed both with and without conditions are all errors.
 *
 * @module
 */
import { type Action, formatAction, sameAction } from "../action.ts";
import { ARCH_NAMES, type ArchInfo, type ArchName, getArch, suggestSyscall } from "../arch/arch.ts";
import type { Diagnostic, SourcePosition } from "../diagnostics.ts";
import {
  type ArgIndex,
  type Condition,
  type Filter,
  type Operator,
  type SyscallRules,
  type Width,
  WIDTH_MAX,
} from "../ir.ts";
import { createLocator, type JsonNode, jsonPath, type Locator, parseJson, readUnsignedInteger } from "./parse.ts";
import { closestMatch } from "../suggest.ts";
import {
  ConditionSchema,
  enumValues,
  ErrnoActionSchema,
  FilterSchema,
  integerRange,
  MaskedEqOperatorSchema,
  type ObjectShape,
  objectShape,
  PayloadlessActionSchema,
  RuleSchema,
  SimpleOperatorSchema,
  TraceActionSchema,
} from "./schema.ts";

/** Options of {@link parsePolicy}. */
export interface ParsePolicyOptions {
  /** File name shown in positions (default `<policy>`). */
  readonly file?: string;
  /**
   * The deprecated `--basic` mode: drop every `args`, so each listed syscall
   * is allowed unconditionally. Conditions are still validated.
   */
  readonly basic?: boolean;
}

/** What {@link parsePolicy} returns. */
export interface ParsedPolicy {
  /** Thread name → filter, sorted by name; only threads without errors. */
  readonly filters: Map<string, Filter>;
  /** Every error and warning, in document order. */
  readonly diagnostics: Diagnostic[];
  /** Thread name → position of its name in the document (for later diagnostics). */
  readonly threadPositions: Map<string, SourcePosition>;
}

// ---------------------------------------------------------------------------
// Facts read from the schema

const FILTER_SHAPE = objectShape(FilterSchema);
const RULE_SHAPE = objectShape(RuleSchema);
const CONDITION_SHAPE = objectShape(ConditionSchema);
const MASKED_EQ_SHAPE = objectShape(MaskedEqOperatorSchema);
const MASKED_EQ = MASKED_EQ_SHAPE.keys[0] as "masked_eq";

const PAYLOADLESS_ACTIONS = enumValues(PayloadlessActionSchema);
/** `errno` / `trace` → their payload range. */
const PAYLOAD_ACTIONS = new Map(
  [ErrnoActionSchema, TraceActionSchema].map((variant) => {
    const [name, payload] = Object.entries(variant.properties)[0];
    return [name as "errno" | "trace", integerRange(payload)] as const;
  }),
);
const ACTION_NAMES = [...PAYLOADLESS_ACTIONS, ...PAYLOAD_ACTIONS.keys()];

const SIMPLE_OPERATORS = enumValues(SimpleOperatorSchema);
const WIDTHS = enumValues(ConditionSchema.properties.type);
const INDEX_RANGE = integerRange(ConditionSchema.properties.index);
const VALUE_RANGE = integerRange(ConditionSchema.properties.val);

// ---------------------------------------------------------------------------
// Entry point

/**
 * Parses and validates a JSON policy for `arch` and lowers it to IR.
 *
 * Every problem in the document is collected in one run; a filter is
 * returned only for threads without errors. Warnings (merged duplicate
 * unconditional rules, masked_eq portability) do not withhold a filter.
 *
 * @example
 * ```ts
 * const { filters, diagnostics } = parsePolicy(
 *   '{"main": {"default_action": "trap", "filter_action": "allow", "filter": [{"syscall": "read"}]}}',
 *   "x86_64",
 * );
 * filters.get("main")?.syscalls[0].nr; // 0
 * diagnostics.length; // 0
 * ```
 */
export function parsePolicy(text: string, arch: ArchName, options: ParsePolicyOptions = {}): ParsedPolicy {
  const file = options.file ?? "<policy>";
  const filters = new Map<string, Filter>();
  const threadPositions = new Map<string, SourcePosition>();
  const parsed = parseJson(text, file);
  if (!parsed.root) return { filters, diagnostics: [...parsed.diagnostics], threadPositions };

  const checker: Checker = {
    text,
    arch: getArch(arch),
    locate: createLocator(text, file),
    basic: options.basic ?? false,
    diagnostics: [],
  };
  const root = parsed.root;
  if (root.type !== "object") {
    report(
      checker,
      "error",
      "top-level-not-object",
      `a policy must be a JSON object mapping filter names to filters, not ${describe(root)}`,
      [],
      root,
      'write {"name": {"default_action": ..., "filter_action": ..., "filter": [...]}}; {} is an empty policy',
    );
    return { filters, diagnostics: checker.diagnostics, threadPositions };
  }

  const found: [string, Filter][] = [];
  const duplicated = new Set<string>();
  for (const { key, value, duplicate } of members(root)) {
    const name = key.value as string;
    if (duplicate) {
      duplicated.add(name);
      report(
        checker,
        "error",
        "duplicate-filter",
        `duplicate filter "${name}" (first defined on line ${lineOf(checker, duplicate)})`,
        [name],
        key,
        "filter names must be unique; merge the two filters or rename one",
      );
    } else {
      threadPositions.set(name, checker.locate(key.offset, key.length));
    }
    // A repeated filter is still checked, so that one run shows all its problems.
    const filter = readFilter(checker, value, [name]);
    if (filter && !duplicate) found.push([name, filter]);
  }
  for (const [name, filter] of found.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    if (!duplicated.has(name)) filters.set(name, filter);
  }
  checker.diagnostics.sort((a, b) => (a.position?.offset ?? 0) - (b.position?.offset ?? 0));
  return { filters, diagnostics: checker.diagnostics, threadPositions };
}

// ---------------------------------------------------------------------------
// Reporting

/** Per-document state. @private */
interface Checker {
  readonly text: string;
  readonly arch: ArchInfo;
  readonly locate: Locator;
  readonly basic: boolean;
  readonly diagnostics: Diagnostic[];
}

/** A path as segments; rendered with {@link jsonPath}. @private */
type Path = readonly (string | number)[];

/** Records one diagnostic pointing at `node` (or at a span). @private */
function report(
  checker: Checker,
  severity: Diagnostic["severity"],
  code: string,
  message: string,
  path: Path,
  at: JsonNode | { offset: number; length: number },
  hint?: string,
): void {
  checker.diagnostics.push({
    code,
    message,
    path: jsonPath(path),
    position: checker.locate(at.offset, at.length),
    severity,
    ...(hint ? { hint } : {}),
  });
}

/** Errors recorded so far; compared before/after a subtree to know whether it was valid. @private */
function errorCount(checker: Checker): number {
  return checker.diagnostics.reduce((count, d) => count + (d.severity === "error" ? 1 : 0), 0);
}

/** @private */
function lineOf(checker: Checker, node: JsonNode): number {
  return checker.locate(node.offset, node.length).line;
}

/** "an object", "a string", ... for messages. @private */
function describe(node: JsonNode): string {
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

/** @private */
function quoteList(words: readonly string[]): string {
  return words.map((word) => JSON.stringify(word)).join(", ");
}

/** `; did you mean "x"?` or nothing. @private */
function didYouMean(suggestion: string | undefined): string {
  return suggestion === undefined ? "" : `; did you mean "${suggestion}"?`;
}

// ---------------------------------------------------------------------------
// Objects

/** One property of an object node. @private */
interface Member {
  readonly key: JsonNode;
  readonly value: JsonNode;
  /** For a repeated key: the first occurrence's key node. */
  readonly duplicate?: JsonNode;
}

/** The properties of an object node in source order, duplicates marked. @private */
function members(node: JsonNode): Member[] {
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
 * @private
 */
function readObject(
  checker: Checker,
  node: JsonNode,
  shape: ObjectShape,
  path: Path,
  what: string,
): Map<string, Member> | undefined {
  if (node.type !== "object") {
    report(checker, "error", "wrong-type", `${what} must be an object, not ${describe(node)}`, path, node);
    return undefined;
  }
  const known = new Map<string, Member>();
  for (const member of members(node)) {
    const name = member.key.value as string;
    if (member.duplicate) {
      report(
        checker,
        "error",
        "duplicate-key",
        `duplicate key "${name}" in ${what} (first given on line ${lineOf(checker, member.duplicate)})`,
        [...path, name],
        member.key,
        "give each key once",
      );
    } else if (!shape.keys.includes(name)) {
      report(
        checker,
        "error",
        "unknown-key",
        `unknown key "${name}" in ${what}${didYouMean(closestMatch(name, shape.keys))}`,
        [...path, name],
        member.key,
        `allowed keys: ${quoteList(shape.keys)}`,
      );
    } else {
      known.set(name, member);
    }
  }
  const brace = { offset: node.offset, length: 1 };
  for (const key of shape.required) {
    if (!known.has(key)) report(checker, "error", "missing-key", `missing key "${key}" in ${what}`, path, brace);
  }
  for (const group of shape.exactlyOne) {
    const given = group.filter((key) => known.has(key)).map((key) => known.get(key)!);
    if (given.length === 0) {
      const [key, ...aliases] = group;
      report(
        checker,
        "error",
        "missing-key",
        `missing key "${key}" (or its alias ${quoteList(aliases)}) in ${what}`,
        path,
        brace,
      );
    }
    given.sort((a, b) => a.key.offset - b.key.offset);
    for (const extra of given.slice(1)) {
      const first = given[0].key;
      report(
        checker,
        "error",
        "alias-conflict",
        `"${extra.key.value}" and "${first.value}" are aliases, and "${first.value}" is already given on line ${
          lineOf(checker, first)
        }`,
        [...path, extra.key.value as string],
        extra.key,
        "give only one of them",
      );
    }
  }
  return known;
}

/** `"comment"`: a string or null, never read. @private */
function checkComment(checker: Checker, member: Member | undefined, path: Path): void {
  if (!member || member.value.type === "string" || member.value.type === "null") return;
  report(checker, "error", "comment-type", `"comment" must be a string, not ${describe(member.value)}`, [
    ...path,
    "comment",
  ], member.value);
}

/** A string from a closed set (widths). @private */
function readEnum(
  checker: Checker,
  node: JsonNode,
  path: Path,
  label: string,
  allowed: readonly string[],
  code: string,
): string | undefined {
  if (node.type !== "string") {
    report(
      checker,
      "error",
      "wrong-type",
      `${label} must be one of ${quoteList(allowed)}, not ${describe(node)}`,
      path,
      node,
    );
    return undefined;
  }
  const value = node.value as string;
  if (allowed.includes(value)) return value;
  report(
    checker,
    "error",
    code,
    `unknown ${label} "${value}"${didYouMean(closestMatch(value, allowed))}`,
    path,
    node,
    `${label} is one of ${quoteList(allowed)} (lowercase)`,
  );
  return undefined;
}

// ---------------------------------------------------------------------------
// Numbers

/**
 * A JSON integer in `range`, exactly. `label` names the field in messages;
 * `outOfRange` explains a value above a field maximum below 2^64 − 1 (values
 * of 2^64 and more are refused while reading).
 * @private
 */
function readInteger(
  checker: Checker,
  node: JsonNode,
  path: Path,
  label: string,
  range: { min: bigint; max: bigint },
  outOfRange?: (value: bigint) => { code: string; message: string; hint?: string },
  negativeHint?: string,
): bigint | undefined {
  if (node.type !== "number") {
    const quoted = node.type === "string" ? numericString(node.value as string) : undefined;
    report(
      checker,
      "error",
      "wrong-type",
      `${label} must be an integer, not ${describe(node)}`,
      path,
      node,
      quoted === undefined ? undefined : `write the number without quotes, in decimal: ${quoted}`,
    );
    return undefined;
  }
  const token = tokenText(checker, node);
  const result = readUnsignedInteger(token);
  if (!result.ok) {
    const rewrite = result.equivalent === undefined ? undefined : `write ${result.equivalent}`;
    switch (result.problem) {
      case "negative":
        report(
          checker,
          "error",
          "negative-number",
          `${label} must not be negative (got ${token})`,
          path,
          node,
          negativeHint,
        );
        break;
      case "negative-zero":
        report(checker, "error", "negative-zero", `${label} is written -0; write 0`, path, node);
        break;
      case "exponent":
        report(
          checker,
          "error",
          "exponent-number",
          `${label} must be a plain decimal integer, not ${token} (exponent notation)`,
          path,
          node,
          rewrite,
        );
        break;
      case "fraction":
        report(checker, "error", "fractional-number", `${label} must be an integer, not ${token}`, path, node, rewrite);
        break;
      case "too-large":
        report(
          checker,
          "error",
          "number-too-large",
          `${label} ${token} does not fit 64 bits (the largest value is ${VALUE_RANGE.max})`,
          path,
          node,
        );
        break;
    }
    return undefined;
  }
  if (result.value < range.min || result.value > range.max) {
    const { code, message, hint } = outOfRange?.(result.value) ??
      { code: "number-range", message: `${label} ${result.value} is out of range ${range.min}..${range.max}` };
    report(checker, "error", code, message, path, node, hint);
    return undefined;
  }
  return result.value;
}

/** The source text of a node: numbers are re-read from it, never from the rounded double. @private */
function tokenText(checker: Checker, node: JsonNode): string {
  return checker.text.slice(node.offset, node.offset + node.length);
}

/** The decimal value of a quoted number such as "16" or "0x10", if it is one. @private */
function numericString(text: string): string | undefined {
  const trimmed = text.trim();
  if (/^(0|[1-9][0-9]*)$/.test(trimmed)) return trimmed;
  if (/^0[xX][0-9a-fA-F]+$/.test(trimmed)) return BigInt(trimmed).toString();
  return undefined;
}

// ---------------------------------------------------------------------------
// Actions

/** An action: `"allow"`, `{"errno": 1}`, ... @private */
function readAction(checker: Checker, node: JsonNode, path: Path): Action | undefined {
  if (node.type === "string") {
    const name = node.value as string;
    if (PAYLOADLESS_ACTIONS.includes(name)) return { kind: name } as Action;
    if (PAYLOAD_ACTIONS.has(name as "errno")) {
      report(
        checker,
        "error",
        "missing-payload",
        `action "${name}" needs a value: write {"${name}": N}`,
        path,
        node,
        name === "errno" ? 'for example {"errno": 1} makes the syscall fail with EPERM' : 'for example {"trace": 1}',
      );
      return undefined;
    }
    reportUnknownAction(checker, name, path, node);
    return undefined;
  }
  if (node.type !== "object") {
    report(
      checker,
      "error",
      "wrong-type",
      `an action must be a string such as "allow" or an object such as {"errno": 1}, not ${describe(node)}`,
      path,
      node,
    );
    return undefined;
  }
  const properties = members(node);
  const repeated = properties.find((member) => member.duplicate);
  if (repeated) {
    const name = repeated.key.value as string;
    report(
      checker,
      "error",
      "duplicate-key",
      `duplicate key "${name}" in action (first given on line ${lineOf(checker, repeated.duplicate!)})`,
      [...path, name],
      repeated.key,
      "give each key once",
    );
    return undefined;
  }
  if (properties.length !== 1) {
    report(
      checker,
      "error",
      "bad-action-object",
      `an action object must have exactly one key, "errno" or "trace"; this one has ${properties.length}`,
      path,
      node,
    );
    return undefined;
  }
  const [{ key, value }] = properties;
  const name = key.value as string;
  const range = PAYLOAD_ACTIONS.get(name as "errno");
  if (range) {
    const data = readInteger(
      checker,
      value,
      [...path, name],
      name,
      range,
      (v) =>
        name === "errno"
          ? {
            code: "errno-range",
            message: `errno ${v} is above ${range.max}, the largest errno the kernel returns`,
            hint: `the kernel caps errno values at MAX_ERRNO (${range.max})`,
          }
          : { code: "trace-range", message: `trace data ${v} does not fit 16 bits (0..${range.max})` },
      name === "errno" ? "errno values are positive: EPERM is 1, ENOSYS is 38" : undefined,
    );
    return data === undefined ? undefined : { kind: name as "errno" | "trace", data: Number(data) };
  }
  if (PAYLOADLESS_ACTIONS.includes(name)) {
    report(
      checker,
      "error",
      "unexpected-payload",
      `action "${name}" takes no value; write "${name}" instead of an object`,
      path,
      node,
    );
    return undefined;
  }
  reportUnknownAction(checker, name, [...path, name], key);
  return undefined;
}

/** @private */
function reportUnknownAction(checker: Checker, name: string, path: Path, node: JsonNode): void {
  const suggestion = closestMatch(name, ACTION_NAMES);
  report(
    checker,
    "error",
    "unknown-action",
    `unknown action "${name}"${didYouMean(suggestion)}`,
    path,
    node,
    `actions are ${quoteList(PAYLOADLESS_ACTIONS)}, {"errno": N} and {"trace": N} (lowercase)`,
  );
}

// ---------------------------------------------------------------------------
// Conditions

/** `op`: a simple operator, or `{"masked_eq": mask}`. @private */
function readOperator(
  checker: Checker,
  node: JsonNode,
  path: Path,
): { op: Operator; mask?: bigint; maskNode?: JsonNode } | undefined {
  const all = [...SIMPLE_OPERATORS, MASKED_EQ];
  if (node.type === "string") {
    const name = node.value as string;
    if (SIMPLE_OPERATORS.includes(name)) return { op: name as Operator };
    if (name === MASKED_EQ) {
      report(
        checker,
        "error",
        "missing-mask",
        `"masked_eq" needs a mask: write {"masked_eq": MASK}`,
        path,
        node,
        'for example "op": {"masked_eq": 4}, "val": 0 tests that bit 2 is clear',
      );
      return undefined;
    }
    report(
      checker,
      "error",
      "unknown-operator",
      `unknown operator "${name}"${didYouMean(closestMatch(name, all))}`,
      path,
      node,
      `operators are ${quoteList(SIMPLE_OPERATORS)} and {"masked_eq": MASK}`,
    );
    return undefined;
  }
  if (node.type !== "object") {
    report(
      checker,
      "error",
      "wrong-type",
      `an operator must be a string such as "eq" or {"masked_eq": MASK}, not ${describe(node)}`,
      path,
      node,
    );
    return undefined;
  }
  const known = readObject(checker, node, MASKED_EQ_SHAPE, path, "operator");
  const maskMember = known?.get(MASKED_EQ);
  if (!maskMember) return undefined;
  const mask = readInteger(checker, maskMember.value, [...path, MASKED_EQ], "masked_eq mask", VALUE_RANGE);
  return mask === undefined ? undefined : { op: "masked_eq", mask, maskNode: maskMember.value };
}

/** One condition object → IR condition. @private */
function readCondition(checker: Checker, node: JsonNode, path: Path): Condition | undefined {
  const before = errorCount(checker);
  const known = readObject(checker, node, CONDITION_SHAPE, path, "condition");
  if (!known) return undefined;
  const field = (key: string) => known.get(key)?.value;
  const indexNode = field("index");
  const index = indexNode === undefined
    ? undefined
    : readInteger(checker, indexNode, [...path, "index"], "argument index", INDEX_RANGE, (v) => ({
      code: "index-range",
      message: `argument index ${v} is out of range ${INDEX_RANGE.min}..${INDEX_RANGE.max}`,
      hint: "a syscall has at most six arguments, numbered 0 to 5",
    }));
  const typeNode = field("type");
  const width = typeNode === undefined
    ? undefined
    : readEnum(checker, typeNode, [...path, "type"], "type", WIDTHS, "unknown-type") as Width | undefined;
  const opNode = field("op");
  const operator = opNode === undefined ? undefined : readOperator(checker, opNode, [...path, "op"]);
  const valNode = field("val");
  const value = valNode === undefined ? undefined : readInteger(
    checker,
    valNode,
    [...path, "val"],
    "val",
    VALUE_RANGE,
    undefined,
    'for a negative C int compared as "dword", write its 32-bit two\'s complement, e.g. 4294967196 for -100',
  );
  checkComment(checker, known.get("comment"), path);
  // The width checks need only type, op and val: report them even when the index is wrong.
  if (width === undefined || operator === undefined || value === undefined) return undefined;

  // The reference compilers silently keep only the low 32 bits of a dword value or mask.
  const limit = WIDTH_MAX[width];
  const tooWide = (what: string, v: bigint, at: JsonNode, atPath: Path) =>
    report(
      checker,
      "error",
      "dword-range",
      `${what} ${v} does not fit a dword (0..${limit})`,
      atPath,
      at,
      "use qword, or write the 32-bit two's complement, e.g. 4294967196 for -100",
    );
  if (value > limit) tooWide("val", value, valNode!, [...path, "val"]);
  if (operator.mask !== undefined && operator.mask > limit) {
    tooWide("masked_eq mask", operator.mask, operator.maskNode!, [...path, "op", MASKED_EQ]);
  }
  if (index === undefined || errorCount(checker) > before) return undefined;

  if (operator.mask !== undefined && (value & ~operator.mask) !== 0n) {
    report(
      checker,
      "warning",
      "value-outside-mask",
      `masked_eq val ${value} has bits outside the mask ${operator.mask} (0x${operator.mask.toString(16)}); ` +
        "rust-vmm masks the value and can match, Firecracker ≥ 1.11 (libseccomp) never matches",
      [...path, "val"],
      valNode!,
      `write the value already masked: ${value & operator.mask}`,
    );
  }
  const condition: Condition = { index: Number(index) as ArgIndex, width, op: operator.op, value };
  return operator.mask === undefined ? condition : { ...condition, mask: operator.mask };
}

// ---------------------------------------------------------------------------
// Rules and filters

/** A valid rule, before grouping by syscall. @private */
interface RuleEntry {
  readonly name: string;
  readonly nr: number;
  /** The `syscall` value node, where rule-level diagnostics point. */
  readonly at: JsonNode;
  readonly path: Path;
  /** As written: undefined for an unconditional rule. */
  readonly conditions?: readonly Condition[];
}

/** One rule object. @private */
function readRule(checker: Checker, node: JsonNode, path: Path): RuleEntry | undefined {
  const before = errorCount(checker);
  const known = readObject(checker, node, RULE_SHAPE, path, "rule");
  if (!known) return undefined;
  const syscall = known.get("syscall")?.value;
  let nr: number | undefined;
  if (syscall && syscall.type !== "string") {
    report(
      checker,
      "error",
      "wrong-type",
      `"syscall" must be a string, not ${describe(syscall)}`,
      [...path, "syscall"],
      syscall,
    );
  } else if (syscall) {
    nr = lookupSyscall(checker, syscall, [...path, "syscall"]);
  }
  const args = known.get("args")?.value;
  let conditions: Condition[] | undefined;
  if (args && args.type === "array") {
    if ((args.children ?? []).length === 0) {
      report(
        checker,
        "error",
        "empty-args",
        '"args" is empty; a rule needs at least one condition',
        [...path, "args"],
        args,
        'for a rule that matches any arguments, leave "args" out (or set it to null)',
      );
    }
    conditions = [];
    for (const [i, child] of (args.children ?? []).entries()) {
      const condition = readCondition(checker, child, [...path, "args", i]);
      if (condition) conditions.push(condition);
    }
  } else if (args && args.type !== "null") {
    report(checker, "error", "wrong-type", `"args" must be an array of conditions or null, not ${describe(args)}`, [
      ...path,
      "args",
    ], args);
  }
  checkComment(checker, known.get("comment"), path);
  if (errorCount(checker) > before || !syscall || nr === undefined) return undefined;
  const entry = { name: syscall.value as string, nr, at: syscall, path };
  return conditions === undefined ? entry : { ...entry, conditions };
}

/** The syscall number on the target, or an error with a suggestion. @private */
function lookupSyscall(checker: Checker, node: JsonNode, path: Path): number | undefined {
  const name = node.value as string;
  const nr = checker.arch.syscalls.get(name);
  if (nr !== undefined) return nr;
  const elsewhere = ARCH_NAMES.filter((other) => other !== checker.arch.name && getArch(other).syscalls.has(name));
  report(
    checker,
    "error",
    "unknown-syscall",
    `unknown syscall "${name}" for ${checker.arch.name}${didYouMean(suggestSyscall(checker.arch, name))}`,
    path,
    node,
    elsewhere.length > 0
      ? `"${name}" exists on ${
        elsewhere.join(", ")
      } but not on ${checker.arch.name}; names differ between architectures`
      : undefined,
  );
  return undefined;
}

/** One filter object → IR, or undefined when it has errors. @private */
function readFilter(checker: Checker, node: JsonNode, path: Path): Filter | undefined {
  const before = errorCount(checker);
  const what = `filter "${path[0]}"`;
  const known = readObject(checker, node, FILTER_SHAPE, path, what);
  if (!known) return undefined;

  // Dialects may be mixed per key (default_action with match_action), as
  // rust-vmm's per-field serde aliases allow; readObject refuses a key
  // together with its own alias.
  const [mismatchKeys, matchKeys] = FILTER_SHAPE.exactlyOne;
  const action = (keys: readonly string[]) => {
    const member = keys.map((key) => known.get(key)).find((m) => m !== undefined);
    if (!member) return undefined;
    const name = member.key.value as string;
    return { name, node: member.value, action: readAction(checker, member.value, [...path, name]) };
  };
  const mismatch = action(mismatchKeys);
  const match = action(matchKeys);
  if (mismatch?.action && match?.action && sameAction(mismatch.action, match.action)) {
    report(
      checker,
      "error",
      "equal-actions",
      `"${match.name}" and "${mismatch.name}" are both ${formatAction(mismatch.action)}`,
      [...path, match.name],
      match.node,
      "a filter whose two actions are equal does nothing; change one of them",
    );
  }

  const rulesNode = known.get("filter")?.value;
  const entries: RuleEntry[] = [];
  if (rulesNode && rulesNode.type !== "array") {
    report(checker, "error", "wrong-type", `"filter" must be an array of rules, not ${describe(rulesNode)}`, [
      ...path,
      "filter",
    ], rulesNode);
  } else if (rulesNode) {
    for (const [i, child] of (rulesNode.children ?? []).entries()) {
      const entry = readRule(checker, child, [...path, "filter", i]);
      if (entry) entries.push(entry);
    }
  }
  const syscalls = groupRules(checker, entries);
  if (errorCount(checker) > before || !mismatch?.action || !match?.action) return undefined;
  return { arch: checker.arch.name, mismatchAction: mismatch.action, matchAction: match.action, syscalls };
}

/**
 * Groups rules by syscall number (aliases of one syscall share a number),
 * keeps JSON order within a syscall, sorts syscalls by number, and checks
 * how unconditional and conditional rules combine.
 * @private
 */
function groupRules(checker: Checker, entries: readonly RuleEntry[]): SyscallRules[] {
  const groups = new Map<number, RuleEntry[]>();
  for (const entry of entries) {
    const group = groups.get(entry.nr);
    if (group) group.push(entry);
    else groups.set(entry.nr, [entry]);
  }
  const syscalls: SyscallRules[] = [];
  for (const [nr, group] of groups) {
    const unconditional = group.filter((entry) => entry.conditions === undefined);
    const conditional = group.filter((entry) => entry.conditions !== undefined);
    for (const extra of unconditional.slice(1)) {
      report(
        checker,
        "warning",
        "duplicate-unconditional",
        `syscall "${extra.name}" is already allowed unconditionally on line ${lineOf(checker, unconditional[0].at)}; ` +
          "the rules are merged",
        [...extra.path, "syscall"],
        extra.at,
        "remove the repeated rule",
      );
    }
    if (!checker.basic && unconditional.length > 0 && conditional.length > 0) {
      const [plain] = unconditional;
      report(
        checker,
        "error",
        "conflicting-rules",
        `syscall "${plain.name}" has an unconditional rule and a conditional rule (line ${
          lineOf(checker, conditional[0].at)
        }); ` +
          "rust-vmm's seccompiler silently drops the unconditional rule, so the syscall would match only when a condition holds",
        [...plain.path, "syscall"],
        plain.at,
        "remove one of them: the unconditional rule to keep the argument checks, or the conditional rules to allow every call",
      );
    }
    const rules = checker.basic || unconditional.length > 0
      ? []
      : conditional.map((entry) => ({ conditions: entry.conditions! }));
    syscalls.push({ name: group[0].name, nr, rules });
  }
  return syscalls.sort((a, b) => a.nr - b.nr);
}
