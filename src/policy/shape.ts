/**
 * Which keys each object of a JSON policy takes: allowed, required, and the
 * key/alias pairs of which exactly one must be given. Plain data, so the
 * front end (positioned and fast) needs no schema library at run time; the
 * TypeBox schema in `schema.ts` describes the same objects, and a test
 * (`test/policy.test.ts`) checks that both agree.
 *
 * @module
 */
import { MASKED_EQ } from "../vocabulary.ts";

/** The keys of one kind of object. */
export interface ObjectShape {
  /** Every key the object accepts, in schema order. */
  readonly keys: readonly string[];
  /** Keys that must be present. */
  readonly required: readonly string[];
  /** Groups of keys of which exactly one must be present (key and alias). */
  readonly exactlyOne: readonly (readonly string[])[];
}

/**
 * Key pairs of the filter object: the Firecracker spelling first, the
 * rust-vmm spelling second. Exactly one key of each pair must be given.
 * The two dialects may be mixed inside one filter object (per field, as
 * rust-vmm's serde aliases allow); only a key together with its own alias
 * is refused.
 */
export const FILTER_KEY_ALIASES: readonly (readonly [firecracker: string, rustVmm: string])[] = [
  ["default_action", "mismatch_action"],
  ["filter_action", "match_action"],
];

/** A filter: `default_action`/`mismatch_action`, `filter_action`/`match_action`, `filter`. */
export const FILTER_SHAPE: ObjectShape = {
  keys: [...FILTER_KEY_ALIASES.flat(), "filter"],
  required: ["filter"],
  exactlyOne: FILTER_KEY_ALIASES,
};

/** A rule: `syscall`, optional `args` and `comment`. */
export const RULE_SHAPE: ObjectShape = { keys: ["syscall", "args", "comment"], required: ["syscall"], exactlyOne: [] };

/** A condition: `index`, `type`, `op`, `val`, optional `comment`. */
export const CONDITION_SHAPE: ObjectShape = {
  keys: ["index", "type", "op", "val", "comment"],
  required: ["index", "type", "op", "val"],
  exactlyOne: [],
};

/** The operator object `{"masked_eq": MASK}`. */
export const MASKED_EQ_SHAPE: ObjectShape = { keys: [MASKED_EQ], required: [MASKED_EQ], exactlyOne: [] };
