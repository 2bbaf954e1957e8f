/**
 * Integers in a JSON policy, read exactly from the source text (never from
 * the rounded double), with one code per way a number can be wrong.
 *
 * @module
 */
import type { Problem } from "../checks.ts";
import { U64_MAX } from "../vocabulary.ts";
import { type Checker, describe, type Path, report } from "./checker.ts";
import { type JsonNode, readUnsignedInteger } from "./parse.ts";

/** What {@link readInteger} needs to know about the field it reads. */
export interface IntegerField {
  /** Names the field in messages (`val`, `argument index`, `errno`). */
  readonly label: string;
  /** Checks the exact value further (a field maximum below 2^64 − 1). */
  readonly check?: (value: bigint) => Problem | undefined;
  /** Said when the value is negative. */
  readonly negativeHint?: string;
}

/**
 * A JSON integer in 0..2^64 − 1, exactly, or undefined after reporting why
 * not (wrong type, negative, `-0`, fraction, exponent, too large, or what
 * `field.check` says).
 *
 * @example
 * ```ts
 * declare const checker: import("./checker.ts").Checker;
 * declare const node: import("./parse.ts").JsonNode;
 * readInteger(checker, node, ["main", "filter", 0, "args", 0, "val"], { label: "val" });
 * ```
 */
export function readInteger(checker: Checker, node: JsonNode, path: Path, field: IntegerField): bigint | undefined {
  const { label } = field;
  if (node.type !== "number") {
    const quoted = node.type === "string" ? numericString(node.value as string) : undefined;
    report(checker, {
      code: "wrong-type",
      message: `${label} must be an integer, not ${describe(node)}`,
      path,
      at: node,
      hint: quoted === undefined ? undefined : `write the number without quotes, in decimal: ${quoted}`,
    });
    return undefined;
  }
  const token = checker.text.slice(node.offset, node.offset + node.length);
  const result = readUnsignedInteger(token);
  if (!result.ok) {
    const rewrite = result.equivalent === undefined ? undefined : `write ${result.equivalent}`;
    const at = { path, at: node };
    switch (result.problem) {
      case "negative":
        report(checker, {
          ...at,
          code: "negative-number",
          message: `${label} must not be negative (got ${token})`,
          hint: field.negativeHint,
        });
        break;
      case "negative-zero":
        report(checker, { ...at, code: "negative-zero", message: `${label} is written -0; write 0` });
        break;
      case "exponent":
        report(checker, {
          ...at,
          code: "exponent-number",
          message: `${label} must be a plain decimal integer, not ${token} (exponent notation)`,
          hint: rewrite,
        });
        break;
      case "fraction":
        report(checker, { ...at, code: "fractional-number", message: `${label} must be an integer, not ${token}`, hint: rewrite });
        break;
      case "too-large":
        report(checker, {
          ...at,
          code: "number-too-large",
          message: `${label} ${token} does not fit 64 bits (the largest value is ${U64_MAX})`,
        });
        break;
    }
    return undefined;
  }
  const problem = field.check?.(result.value);
  if (problem) {
    report(checker, { ...problem, path, at: node });
    return undefined;
  }
  return result.value;
}

/** The decimal value of a quoted number such as "16" or "0x10", if it is one. @private */
function numericString(text: string): string | undefined {
  const trimmed = text.trim();
  if (/^(0|[1-9][0-9]*)$/.test(trimmed)) return trimmed;
  if (/^0[xX][0-9a-fA-F]+$/.test(trimmed)) return BigInt(trimmed).toString();
  return undefined;
}
