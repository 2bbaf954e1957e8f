/**
 * {@link policyJsonSchema} for the library's entry point, re-exported through
 * a module whose declarations do not mention TypeBox. Exported straight from
 * `schema.ts`, it would make an application that type-checks with
 * `skipLibCheck: false` check all of TypeBox's declarations (some 350 files)
 * as well.
 *
 * @module
 */
import { policyJsonSchema as fromTypeBox } from "./schema.ts";

/**
 * The JSON Schema (draft 2020-12) of the policy format, ready for
 * `JSON.stringify` (64-bit bounds as exact integer literals).
 *
 * @example
 * ```ts
 * const schema = policyJsonSchema();
 * JSON.stringify(schema, null, 2).includes("18446744073709551615"); // true
 * ```
 */
export const policyJsonSchema: () => Record<string, unknown> = fromTypeBox;
