/**
 * The JSON policy front end: parse (positions kept), validate, lower to IR,
 * and the JSON Schema of the format.
 *
 * @example
 * ```ts
 * import { parsePolicy } from "./mod.ts";
 * const { filters, diagnostics } = parsePolicy(text, "x86_64", { file: "policy.json" });
 * ```
 *
 * @module
 */
export { type ParsedPolicy, parsePolicy, type ParsePolicyOptions } from "./frontend.ts";
export {
  type ActionDocument,
  type ConditionDocument,
  type FilterDocument,
  type OperatorDocument,
  type PolicyDocument,
  policyJsonSchema,
  policySchemaText,
  type RuleDocument,
} from "./schema.ts";
export {
  createLocator,
  type IntegerResult,
  jsonPath,
  type ParsedJson,
  parseJson,
  readUnsignedInteger,
} from "./parse.ts";
