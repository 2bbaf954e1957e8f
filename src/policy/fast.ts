/**
 * The fast path for valid policies: `JSON.parse`, one scan of the text for
 * what `JSON.parse` hides, and validation over plain objects.
 *
 * It answers only when the policy is valid and draws no warning; for
 * anything else (a comment, a syntax error, a duplicate key, a number that
 * is not a plain integer, any error or warning) it returns `undefined` and
 * the caller runs the positioned front end (`frontend.ts`), which produces
 * the diagnostics. So diagnostics are exactly the positioned front end's,
 * and a filter returned here is the one it would return (the test
 * `test/fastpath.test.ts` checks both on the front-end and hostile-input
 * suites).
 *
 * What `JSON.parse` hides, and how the scan recovers it:
 * - duplicate keys (it keeps the last): the scan counts keys in the text,
 *   the validation counts keys in the objects; they differ when a key repeats;
 * - the spelling of numbers (`1.0`, `1e3` and `-0` parse to integers the
 *   positioned front end refuses): a `-`, a fraction or an exponent in a
 *   number that is the value of a key declines the fast path (numbers are
 *   valid nowhere else);
 * - integers above 2^53 (rounded to the nearest double): the scan keeps
 *   every token of 16 or more digits as an exact bigint, keyed by its
 *   double; a double that two different tokens round to declines.
 *
 * @module
 */
import { type Action, sameAction } from "../action.ts";
import type { ArchInfo } from "../arch/arch.ts";
import type { Condition, Filter, SyscallRules } from "../ir.ts";
import {
  isPayloadAction,
  isPayloadlessAction,
  MASKED_EQ,
  MAX_ARG_INDEX,
  PAYLOAD_ACTIONS,
  SIMPLE_OPERATORS,
  U64_MAX,
  type Width,
  WIDTH_MAX,
} from "../vocabulary.ts";
import { CONDITION_SHAPE, FILTER_SHAPE, RULE_SHAPE } from "./shape.ts";

/** What the scan found in the text. @private */
interface Scan {
  /** Object keys in the text (strings followed by `:`). */
  readonly keys: number;
  /** Double → the exact value of the token(s) of 16+ digits that parse to it; null when two differ. */
  readonly big: Map<number, bigint | null>;
}

/** Per-document state. @private */
interface Walk {
  readonly arch: ArchInfo;
  readonly basic: boolean;
  readonly big: Map<number, bigint | null>;
  /** Keys seen in objects, compared with {@link Scan.keys}. */
  keys: number;
}

/** Thrown (and caught in {@link parseValidPolicy}) to decline. @private */
const DECLINE = Symbol("decline");

/** @private */
function decline(): never {
  throw DECLINE;
}

/**
 * The filters of a valid, warning-free policy (thread name → filter, sorted
 * by name), or `undefined` when the policy has a comment, an error or a
 * warning, or is written in a way only the positioned front end handles.
 *
 * @example
 * ```ts
 * import { getArch } from "../arch/arch.ts";
 * parseValidPolicy('{"main": {"default_action": "trap", "filter_action": "allow", "filter": []}}', getArch("x86_64"), false)?.size; // 1
 * parseValidPolicy('{"main": {"default_action": "trap"}}', getArch("x86_64"), false); // undefined
 * ```
 */
export function parseValidPolicy(text: string, arch: ArchInfo, basic: boolean): Map<string, Filter> | undefined {
  let root: unknown;
  try {
    root = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (!isPlainObject(root)) return undefined;
  const scan = scanText(text);
  if (scan === undefined) return undefined;
  const walk: Walk = { arch, basic, big: scan.big, keys: 0 };
  try {
    const names = Object.keys(root);
    walk.keys += names.length;
    const filters = new Map<string, Filter>();
    for (const name of names.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))) {
      filters.set(name, readFilter(walk, root[name]));
    }
    return walk.keys === scan.keys ? filters : undefined;
  } catch (error) {
    if (error === DECLINE) return undefined;
    throw error;
  }
}

/**
 * Counts keys and reads the number that follows a key, if one does;
 * undefined when such a number is negative or written with a fraction or an
 * exponent. The text is known to be valid JSON (`JSON.parse` accepted it),
 * so every key is a string followed by `:`, and the scan jumps from string
 * to string. Numbers elsewhere (in arrays) need no look: the validation
 * accepts numbers only as the values of keys. @private
 */
function scanText(text: string): Scan | undefined {
  const big = new Map<number, bigint | null>();
  let keys = 0;
  let quote = text.indexOf('"');
  while (quote >= 0) {
    // The closing quote: the next one not escaped by an odd number of backslashes.
    let end = quote + 1;
    for (;;) {
      end = text.indexOf('"', end);
      if (end < 0) return undefined; // cannot happen after JSON.parse
      let backslashes = 0;
      while (text.charCodeAt(end - 1 - backslashes) === 0x5c) backslashes++;
      if (backslashes % 2 === 0) break;
      end++;
    }
    let i = end + 1;
    let c = text.charCodeAt(i);
    while (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) c = text.charCodeAt(++i);
    if (c === 0x3a) {
      keys++;
      c = text.charCodeAt(++i);
      while (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) c = text.charCodeAt(++i);
      if (c === 0x2d) return undefined; // a negative number
      if (c >= 0x30 && c <= 0x39) {
        const start = i;
        do c = text.charCodeAt(++i); while (c >= 0x30 && c <= 0x39);
        if (c === 0x2e || c === 0x65 || c === 0x45) return undefined; // a fraction or an exponent
        if (i - start >= 16) addBig(big, text.slice(start, i));
      }
    }
    quote = text.indexOf('"', i);
  }
  return { keys, big };
}

/** @private */
function addBig(big: Map<number, bigint | null>, token: string): void {
  const exact = BigInt(token);
  const key = Number(token);
  const known = big.get(key);
  if (known === undefined) big.set(key, exact);
  else if (known !== null && known !== exact) big.set(key, null);
}

/** @private */
function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** The keys of an object node, checked against the allowed ones; counted for the duplicate check. @private */
function keysOf(walk: Walk, value: unknown, allowed: readonly string[]): Record<string, unknown> {
  if (!isPlainObject(value)) decline();
  const keys = Object.keys(value);
  walk.keys += keys.length;
  for (const key of keys) if (!allowed.includes(key)) decline();
  return value;
}

/** An exact unsigned integer up to `max`. @private */
function integer(walk: Walk, value: unknown, max: bigint): bigint {
  if (typeof value !== "number") decline();
  let exact: bigint;
  if (Number.isSafeInteger(value)) {
    if (value < 0) decline();
    exact = BigInt(value);
  } else {
    const recovered = walk.big.get(value);
    if (recovered === undefined || recovered === null) decline();
    exact = recovered;
  }
  if (exact > max) decline();
  return exact;
}

/** `"comment"`: a string or null. @private */
function comment(value: unknown): void {
  if (value !== undefined && value !== null && typeof value !== "string") decline();
}

const PAYLOAD_KEYS = Object.keys(PAYLOAD_ACTIONS);
const [[DEFAULT_ACTION, MISMATCH_ACTION], [FILTER_ACTION, MATCH_ACTION]] = FILTER_SHAPE.exactlyOne;

/** @private */
function readAction(walk: Walk, value: unknown): Action {
  if (typeof value === "string") {
    if (!isPayloadlessAction(value)) decline();
    return { kind: value };
  }
  const object = keysOf(walk, value, PAYLOAD_KEYS);
  const keys = Object.keys(object);
  if (keys.length !== 1) decline();
  const kind = keys[0];
  if (!isPayloadAction(kind)) decline();
  return { kind, data: Number(integer(walk, object[kind], BigInt(PAYLOAD_ACTIONS[kind]))) };
}

/** One of a key and its alias, exactly. @private */
function either(object: Record<string, unknown>, key: string, alias: string): unknown {
  const a = object[key];
  const b = object[alias];
  if ((a === undefined) === (b === undefined)) decline();
  return a === undefined ? b : a;
}

/** @private */
function readFilter(walk: Walk, value: unknown): Filter {
  const object = keysOf(walk, value, FILTER_SHAPE.keys);
  const mismatchAction = readAction(walk, either(object, DEFAULT_ACTION, MISMATCH_ACTION));
  const matchAction = readAction(walk, either(object, FILTER_ACTION, MATCH_ACTION));
  if (sameAction(mismatchAction, matchAction)) decline();
  const rules = object.filter;
  if (!Array.isArray(rules)) decline();
  // Syscall number → its rules; undefined conditions: unconditional.
  const groups = new Map<number, { name: string; unconditional: number; conditional: Condition[][] }>();
  for (const rule of rules) {
    const fields = keysOf(walk, rule, RULE_SHAPE.keys);
    const name = fields.syscall;
    if (typeof name !== "string") decline();
    const nr = walk.arch.syscalls.get(name);
    if (nr === undefined) decline();
    comment(fields.comment);
    let conditions: Condition[] | undefined;
    const args = fields.args;
    if (args !== undefined && args !== null) {
      if (!Array.isArray(args) || args.length === 0) decline();
      conditions = args.map((arg) => readCondition(walk, arg));
    }
    let group = groups.get(nr);
    if (!group) groups.set(nr, group = { name, unconditional: 0, conditional: [] });
    if (conditions === undefined) group.unconditional++;
    else group.conditional.push(conditions);
  }
  const syscalls: SyscallRules[] = [];
  for (const [nr, group] of groups) {
    // A repeated unconditional rule is a warning, a mix is an error: both are the positioned front end's to report.
    if (group.unconditional > 1) decline();
    if (!walk.basic && group.unconditional > 0 && group.conditional.length > 0) decline();
    const rules = walk.basic || group.unconditional > 0 ? [] : group.conditional.map((conditions) => ({ conditions }));
    syscalls.push({ name: group.name, nr, rules });
  }
  syscalls.sort((a, b) => a.nr - b.nr);
  return { arch: walk.arch.name, mismatchAction, matchAction, syscalls };
}

/** @private */
function readCondition(walk: Walk, value: unknown): Condition {
  const fields = keysOf(walk, value, CONDITION_SHAPE.keys);
  const { type, op } = fields;
  if (type !== "dword" && type !== "qword") decline();
  const width: Width = type;
  const limit = WIDTH_MAX[width];
  const index = Number(integer(walk, fields.index, BigInt(MAX_ARG_INDEX))) as Condition["index"];
  const val = integer(walk, fields.val, U64_MAX);
  if (val > limit) decline();
  comment(fields.comment);
  if (typeof op === "string") {
    if (!(SIMPLE_OPERATORS as readonly string[]).includes(op)) decline();
    return { index, width, op: op as Condition["op"], value: val };
  }
  const operator = keysOf(walk, op, [MASKED_EQ]);
  const mask = integer(walk, operator[MASKED_EQ], U64_MAX);
  if (mask > limit || (val & ~mask) !== 0n) decline();
  return { index, width, op: MASKED_EQ, value: val, mask };
}
