/**
 * The shape of a JSON policy document, defined once with TypeBox.
 *
 * The words and limits (action names, payload limits, operators, widths,
 * argument indexes, 2^64 − 1) come from `../vocabulary.ts`; this module
 * adds the document's shape: which keys each object takes, which are
 * required, and the key/alias pairs. From these definitions come
 * - the TypeScript types of a document ({@link PolicyDocument} and friends);
 * - the published JSON Schema ({@link policyJsonSchema}, committed as
 *   `policies/seccompiler.schema.json` for editors and other tools);
 * - the object shapes in `shape.ts` that the front end enforces are the
 *   same as these ({@link objectShape} reads them back for the test).
 *
 * What a schema cannot say precisely (64-bit ranges checked on exact
 * integers, per-architecture syscall names, rules that span several fields)
 * is checked in code, by `../checks.ts`.
 *
 * @module
 */
import Type from "typebox";
import {
  MASKED_EQ,
  MAX_ARG_INDEX,
  MAX_ERRNO,
  MAX_TRACE_DATA,
  PAYLOADLESS_ACTIONS,
  SIMPLE_OPERATORS,
  U64_MAX,
  WIDTHS,
} from "../vocabulary.ts";
import { FILTER_KEY_ALIASES, type ObjectShape } from "./shape.ts";

/**
 * A 64-bit unsigned integer. The bound is a bigint so that it stays exact;
 * {@link policyJsonSchema} writes it as the literal 18446744073709551615.
 * @private
 */
function u64(description: string) {
  return Type.Integer({ minimum: 0, maximum: U64_MAX, description });
}

/** Names of the actions that carry no payload. */
export const PayloadlessActionSchema = Type.Enum(
  [...PAYLOADLESS_ACTIONS],
  {
    description: "An action without payload. user_notif needs kernel ≥ 5.0 and a listener (rust-vmm main only).",
  },
);

/** `{"errno": N}`: the syscall fails with errno N (0 makes it return 0 without running). */
export const ErrnoActionSchema = Type.Object({
  errno: Type.Integer({ minimum: 0, maximum: MAX_ERRNO, description: `errno value; the kernel caps errno at ${MAX_ERRNO}.` }),
}, { additionalProperties: false });

/** `{"trace": N}`: hand the syscall to a ptrace tracer with message N. */
export const TraceActionSchema = Type.Object({
  trace: Type.Integer({ minimum: 0, maximum: MAX_TRACE_DATA, description: "Message passed to the tracer (16 bits)." }),
}, { additionalProperties: false });

/** Any action: a payload-less name, or an errno/trace object. */
export const ActionSchema = Type.Union([PayloadlessActionSchema, ErrnoActionSchema, TraceActionSchema], {
  title: "Action",
  description:
    `What the filter returns: ${PAYLOADLESS_ACTIONS.map((name) => `"${name}"`).join(", ")}, {"errno": N} or {"trace": N}.`,
});

/** Comparison operators without operand. */
export const SimpleOperatorSchema = Type.Enum([...SIMPLE_OPERATORS], {
  description: "Unsigned comparison of the argument with val.",
});

/** `{"masked_eq": M}`: `(arg & M) == (val & M)`. */
export const MaskedEqOperatorSchema = Type.Object({
  [MASKED_EQ]: u64("Mask applied to both the argument and val."),
}, { additionalProperties: false });

/** A condition's `op`. */
export const OperatorSchema = Type.Union([SimpleOperatorSchema, MaskedEqOperatorSchema], {
  description: 'One of "eq", "ne", "lt", "le", "gt", "ge", or {"masked_eq": MASK}.',
});

/** Comment fields accept a string; null is treated like an absent comment (serde `Option`). */
const CommentSchema = Type.Union([Type.String(), Type.Null()], { description: "Free text, ignored." });

/** One argument comparison. */
export const ConditionSchema = Type.Object({
  index: Type.Integer({ minimum: 0, maximum: MAX_ARG_INDEX, description: `Syscall argument number, 0 to ${MAX_ARG_INDEX}.` }),
  type: Type.Enum([...WIDTHS], {
    description: "dword compares only the low 32 bits of the argument; qword compares all 64.",
  }),
  op: OperatorSchema,
  val: u64("Value compared against; a dword value must be below 2^32 (write -100 as 4294967196)."),
  comment: Type.Optional(CommentSchema),
}, { title: "Condition", additionalProperties: false });

/** One rule: a syscall, optionally restricted by ANDed conditions. */
export const RuleSchema = Type.Object({
  syscall: Type.String({ description: "Kernel syscall name for the target architecture, e.g. newfstatat." }),
  args: Type.Optional(Type.Union([Type.Array(ConditionSchema, { minItems: 1 }), Type.Null()], {
    description: "Conditions that must all hold. Absent or null: the syscall matches for any arguments. Never [].",
  })),
  comment: Type.Optional(CommentSchema),
}, { title: "Rule", additionalProperties: false });

/** One filter: one BPF program for one thread. */
export const FilterSchema = Type.Object({
  default_action: Type.Optional(ActionSchema),
  mismatch_action: Type.Optional(ActionSchema),
  filter_action: Type.Optional(ActionSchema),
  match_action: Type.Optional(ActionSchema),
  filter: Type.Array(RuleSchema, { description: "Rules, ORed. May be empty." }),
}, {
  title: "Filter",
  description: "default_action (alias mismatch_action) is returned when no rule matches; " +
    "filter_action (alias match_action) when one does. Give exactly one key of each pair.",
  additionalProperties: false,
  allOf: FILTER_KEY_ALIASES.map((pair) => ({ oneOf: pair.map((key) => ({ required: [key] })) })),
});

/** The whole document: filter (thread) name → filter. */
export const PolicySchema = Type.Object({}, {
  additionalProperties: FilterSchema,
  description: "Filter name (a thread category such as vmm, api, vcpu) → filter. {} is a valid, empty policy.",
});

/** A policy document as written. */
export type PolicyDocument = Record<string, FilterDocument>;
/** A filter object as written. */
export type FilterDocument = Type.Static<typeof FilterSchema>;
/** A rule object as written. */
export type RuleDocument = Type.Static<typeof RuleSchema>;
/** A condition object as written (numbers above 2^53 are not exact in this type; the front end uses bigint). */
export type ConditionDocument = Type.Static<typeof ConditionSchema>;
/** An action as written. */
export type ActionDocument = Type.Static<typeof ActionSchema>;
/** An operator as written. */
export type OperatorDocument = Type.Static<typeof OperatorSchema>;

// ---------------------------------------------------------------------------
// Reading the definitions back (a test compares them with shape.ts)

/**
 * The keys of an object schema, in the form of `shape.ts`.
 *
 * @example
 * ```ts
 * objectShape(RuleSchema).keys; // ["syscall", "args", "comment"]
 * objectShape(FilterSchema).exactlyOne; // [["default_action", "mismatch_action"], ["filter_action", "match_action"]]
 * ```
 */
export function objectShape(
  schema: { properties: Record<string, unknown>; required?: readonly string[] },
): ObjectShape {
  const allOf = (schema as { allOf?: { oneOf?: { required: string[] }[] }[] }).allOf ?? [];
  return {
    keys: Object.keys(schema.properties),
    required: schema.required ?? [],
    exactlyOne: allOf.flatMap((part) => (part.oneOf ? [part.oneOf.flatMap((choice) => choice.required)] : [])),
  };
}

// ---------------------------------------------------------------------------
// The published JSON Schema

/** Where the schema says it lives; a URN because the project has no canonical web address. */
export const POLICY_SCHEMA_ID = "urn:seccompiler:policy-schema:1";

/**
 * The JSON Schema (draft 2020-12) of the policy format, ready for
 * `JSON.stringify`. The 64-bit bounds are emitted as exact integer
 * literals (through `JSON.rawJSON`, available in Bun and Deno), because a
 * JS number cannot hold 18446744073709551615.
 *
 * @example
 * ```ts
 * const schema = policyJsonSchema();
 * JSON.stringify(schema, null, 2).includes("18446744073709551615"); // true
 * ```
 */
export function policyJsonSchema(): Record<string, unknown> {
  return {
    $schema: "https://json-schema.org/draft/2020-12/schema",
    $id: POLICY_SCHEMA_ID,
    title: "seccompiler policy",
    description: "A seccomp policy for seccompiler, Firecracker's seccompiler-bin and rust-vmm's seccompiler crate. " +
      "Maps filter names (thread categories such as vmm, api, vcpu) to filters; {} is a valid, empty policy. " +
      "Both key dialects are accepted: default_action/filter_action (Firecracker) and mismatch_action/match_action (rust-vmm).",
    type: "object",
    additionalProperties: toJsonValue((PolicySchema as { additionalProperties?: unknown }).additionalProperties),
    $defs: Object.fromEntries(Object.entries(DEFINITIONS).map(([name, schema]) => [name, toJsonValue(schema, true)])),
  };
}

/**
 * {@link policyJsonSchema} as the text of `policies/seccompiler.schema.json`:
 * two-space indentation and a trailing newline.
 *
 * @example
 * ```ts
 * policySchemaText().endsWith("}\n"); // true
 * ```
 */
export function policySchemaText(): string {
  return `${JSON.stringify(policyJsonSchema(), null, 2)}\n`;
}

/** `JSON.rawJSON` where the runtime has it (Bun, Deno, Node ≥ 21). @private */
const rawJson = (JSON as unknown as { rawJSON?: (text: string) => unknown }).rawJSON;

/**
 * Schemas published once under `$defs` (keyed by their title) and referenced
 * by title everywhere else. Titles, not object identity, because TypeBox
 * copies a schema when wrapping it (`Type.Optional`).
 * @private
 */
const DEFINITIONS: Record<string, object> = {
  Filter: FilterSchema,
  Rule: RuleSchema,
  Condition: ConditionSchema,
  Action: ActionSchema,
};
const DEFINED_TITLES = new Set<unknown>(Object.keys(DEFINITIONS));

/**
 * A plain JSON copy: enumerable keys only (drops TypeBox's `~kind` markers),
 * bigints as exact raw literals, and the {@link DEFINITIONS} replaced by a
 * `$ref` except where they are defined.
 * @private
 */
function toJsonValue(value: unknown, definition = false): unknown {
  if (typeof value === "bigint") {
    // Without rawJSON the nearest double is the best JSON.stringify can do.
    return rawJson ? rawJson(value.toString()) : Number(value);
  }
  if (Array.isArray(value)) return value.map((item) => toJsonValue(item));
  if (value !== null && typeof value === "object") {
    const title = (value as { title?: unknown }).title;
    if (!definition && DEFINED_TITLES.has(title)) return { $ref: `#/$defs/${String(title)}` };
    return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, toJsonValue(item)]));
  }
  return value;
}
