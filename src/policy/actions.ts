/**
 * Actions (`"allow"`, `{"errno": 1}`, ...) and operators (`"eq"`,
 * `{"masked_eq": 4}`) as written in a JSON policy.
 *
 * @module
 */
import type { Action } from "../action.ts";
import { checkActionData, checkOperator, unknownAction } from "../checks.ts";
import {
  isPayloadAction,
  isPayloadlessAction,
  MASKED_EQ,
  type Operator,
  SIMPLE_OPERATORS,
} from "../vocabulary.ts";
import { type Checker, describe, lineOf, members, type Path, readObject, report } from "./checker.ts";
import { readInteger } from "./numbers.ts";
import type { JsonNode } from "./parse.ts";
import { MASKED_EQ_SHAPE } from "./shape.ts";

/**
 * An action: `"allow"`, `{"errno": 1}`, ... or undefined after reporting
 * what is wrong with it.
 *
 * @example
 * ```ts
 * declare const checker: import("./checker.ts").Checker;
 * declare const node: import("./parse.ts").JsonNode;
 * readAction(checker, node, ["main", "default_action"]);
 * ```
 */
export function readAction(checker: Checker, node: JsonNode, path: Path): Action | undefined {
  if (node.type === "string") {
    const name = node.value as string;
    if (isPayloadlessAction(name)) return { kind: name };
    if (isPayloadAction(name)) {
      report(checker, {
        code: "missing-payload",
        message: `action "${name}" needs a value: write {"${name}": N}`,
        path,
        at: node,
        hint: name === "errno" ? 'for example {"errno": 1} makes the syscall fail with EPERM' : 'for example {"trace": 1}',
      });
      return undefined;
    }
    report(checker, { ...unknownAction(name), path, at: node });
    return undefined;
  }
  if (node.type !== "object") {
    report(checker, {
      code: "wrong-type",
      message: `an action must be a string such as "allow" or an object such as {"errno": 1}, not ${describe(node)}`,
      path,
      at: node,
    });
    return undefined;
  }
  const properties = members(node);
  const repeated = properties.find((member) => member.duplicate);
  if (repeated) {
    const name = repeated.key.value as string;
    report(checker, {
      code: "duplicate-key",
      message: `duplicate key "${name}" in action (first given on line ${lineOf(checker, repeated.duplicate!)})`,
      path: [...path, name],
      at: repeated.key,
      hint: "give each key once",
    });
    return undefined;
  }
  if (properties.length !== 1) {
    report(checker, {
      code: "bad-action-object",
      message: `an action object must have exactly one key, "errno" or "trace"; this one has ${properties.length}`,
      path,
      at: node,
    });
    return undefined;
  }
  const [{ key, value }] = properties;
  const name = key.value as string;
  if (isPayloadAction(name)) {
    const data = readInteger(checker, value, [...path, name], {
      label: name,
      check: (v) => checkActionData(name, v),
      negativeHint: name === "errno" ? "errno values are positive: EPERM is 1, ENOSYS is 38" : undefined,
    });
    return data === undefined ? undefined : { kind: name, data: Number(data) };
  }
  if (isPayloadlessAction(name)) {
    report(checker, {
      code: "unexpected-payload",
      message: `action "${name}" takes no value; write "${name}" instead of an object`,
      path,
      at: node,
    });
    return undefined;
  }
  report(checker, { ...unknownAction(name), path: [...path, name], at: key });
  return undefined;
}

/** An operator as read: the IR operator, and for `masked_eq` its mask and where the mask is. */
export interface ReadOperator {
  /** The operator. */
  readonly op: Operator;
  /** The mask of `masked_eq`. */
  readonly mask?: bigint;
  /** The mask's node, where mask diagnostics point. */
  readonly maskNode?: JsonNode;
}

/**
 * `op`: a simple operator, or `{"masked_eq": mask}`; undefined after
 * reporting what is wrong with it.
 *
 * @example
 * ```ts
 * declare const checker: import("./checker.ts").Checker;
 * declare const node: import("./parse.ts").JsonNode;
 * readOperator(checker, node, ["main", "filter", 0, "args", 0, "op"])?.op;
 * ```
 */
export function readOperator(checker: Checker, node: JsonNode, path: Path): ReadOperator | undefined {
  if (node.type === "string") {
    const name = node.value as string;
    if ((SIMPLE_OPERATORS as readonly string[]).includes(name)) return { op: name as Operator };
    if (name === MASKED_EQ) {
      report(checker, {
        code: "missing-mask",
        message: `"masked_eq" needs a mask: write {"masked_eq": MASK}`,
        path,
        at: node,
        hint: 'for example "op": {"masked_eq": 4}, "val": 0 tests that bit 2 is clear',
      });
      return undefined;
    }
    report(checker, { ...checkOperator(name)!, path, at: node });
    return undefined;
  }
  if (node.type !== "object") {
    report(checker, {
      code: "wrong-type",
      message: `an operator must be a string such as "eq" or {"masked_eq": MASK}, not ${describe(node)}`,
      path,
      at: node,
    });
    return undefined;
  }
  const known = readObject(checker, node, MASKED_EQ_SHAPE, path, "operator");
  const maskMember = known?.get(MASKED_EQ);
  if (!maskMember) return undefined;
  const mask = readInteger(checker, maskMember.value, [...path, MASKED_EQ], { label: "masked_eq mask" });
  return mask === undefined ? undefined : { op: MASKED_EQ, mask, maskNode: maskMember.value };
}
