// deno-facing
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import Schema from "typebox/schema";
import type { ArchName } from "../src/arch/arch.ts";
import { type Diagnostic, formatDiagnostic } from "../src/diagnostics.ts";
import { parsePolicyBothWays as parsePolicy, tally } from "./support/both-paths.ts";
import { jsonPath, parseJson, readUnsignedInteger } from "../src/policy/parse.ts";
import {
  ConditionSchema, FilterSchema, MaskedEqOperatorSchema, objectShape, policyJsonSchema, policySchemaText, RuleSchema,
} from "../src/policy/schema.ts";
import { CONDITION_SHAPE, FILTER_SHAPE, MASKED_EQ_SHAPE, RULE_SHAPE } from "../src/policy/shape.ts";
import { closestMatch } from "../src/suggest.ts";

/** The fast path's counts before this file's tests (another test file may have run first in this process). */
const tallyAtStart = { ...tally };
const repo = (path: string) => fileURLToPath(new URL(`../${path}`, import.meta.url));
const CORPUS = process.env.SECCOMPILER_CORPUS || repo("../shared/corpus/firecracker");

/** A one-filter policy ("t") whose rules start on line 5, column 7. */
function policy(rules: string, actions = '"default_action": "trap", "filter_action": "allow"'): string {
  return `{\n  "t": {\n    ${actions},\n    "filter": [\n      ${rules}\n    ]\n  }\n}\n`;
}

/** One rule with one condition on line 5. */
function cond(condition: string, syscall = "read"): string {
  return policy(`{ "syscall": "${syscall}", "args": [ ${condition} ] }`);
}

const ACTIONS = (d: string, f: string) => `"default_action": ${d}, "filter_action": ${f}`;

interface BadCase {
  readonly name: string;
  readonly text: string;
  readonly code: string;
  readonly message: string;
  /** `line:column` of the diagnostic. */
  readonly at: string;
  /** The source text the diagnostic points at (checks offset and length together). */
  readonly token: string;
  readonly arch?: ArchName;
  /** How many diagnostics the document yields in total (default 1). */
  readonly count?: number;
}

// deno-fmt-ignore: one row per line keeps the table readable
const BAD: readonly BadCase[] = [
  // --- syntax
  { name: "empty input", text: "", code: "empty-input", message: "the policy is empty; expected a JSON object", at: "1:1", token: "" },
  { name: "only a comment", text: "// nothing\n", code: "empty-input", message: "the policy is empty; expected a JSON object", at: "2:1", token: "" },
  { name: "trailing content", text: "{}\n{}", code: "trailing-content", message: "unexpected content after the JSON value", at: "2:1", token: "{" },
  { name: "missing comma", text: '{\n  "a": {} "b": {}\n}', code: "json-syntax", message: "expected a comma or '}'", at: "2:11", token: '"b"' },
  { name: "missing comma in array", text: policy('{ "syscall": "read" } { "syscall": "write" }'), code: "json-syntax", message: "expected a comma or ']'", at: "5:29", token: "{" },
  { name: "trailing comma", text: '{\n  "a": {},\n}', code: "json-syntax", message: "trailing comma is not allowed", at: "2:10", token: "," },
  { name: "unclosed object", text: '{\n  "a": {}', code: "json-syntax", message: "unexpected end of input; expected '}'", at: "2:10", token: "" },
  { name: "single quotes", text: "{'a': {}}", code: "json-syntax", message: "strings must use double quotes", at: "1:2", token: "'a'" },
  { name: "leading zero", text: cond('{ "index": 01, "type": "dword", "op": "eq", "val": 1 }'), code: "json-syntax", message: "a number must not have leading zeros", at: "5:49", token: "01" },
  { name: "hex number", text: cond('{ "index": 0, "type": "dword", "op": "eq", "val": 0x10 }'), code: "json-syntax", message: "hexadecimal numbers are not allowed", at: "5:88", token: "0x10" },
  // --- document shape
  { name: "top level is an array", text: "[]", code: "top-level-not-object", message: "a policy must be a JSON object mapping filter names to filters, not an array", at: "1:1", token: "[]" },
  { name: "top level is a string", text: '"x"', code: "top-level-not-object", message: "a policy must be a JSON object mapping filter names to filters, not a string", at: "1:1", token: '"x"' },
  { name: "filter is not an object", text: '{ "t": [] }', code: "wrong-type", message: 'filter "t" must be an object, not an array', at: "1:8", token: "[]" },
  { name: "filter list is not an array", text: policy("").replace('"filter": [\n      \n    ]', '"filter": {}'), code: "wrong-type", message: '"filter" must be an array of rules, not an object', at: "4:15", token: "{}" },
  { name: "rule is not an object", text: policy('"read"'), code: "wrong-type", message: "rule must be an object, not a string", at: "5:7", token: '"read"' },
  { name: "unknown key with suggestion", text: policy('{ "syscall": "read" }').replace('"filter":', '"filters":'), code: "unknown-key", message: 'unknown key "filters" in filter "t"; did you mean "filter"?', at: "4:5", token: '"filters"', count: 2 },
  { name: "comment on a filter", text: policy("", `${ACTIONS('"trap"', '"allow"')}, "comment": "x"`), code: "unknown-key", message: 'unknown key "comment" in filter "t"', at: "3:57", token: '"comment"' },
  { name: "unknown key in a rule", text: policy('{ "syscall": "read", "arg": null }'), code: "unknown-key", message: 'unknown key "arg" in rule; did you mean "args"?', at: "5:28", token: '"arg"' },
  { name: "unknown key in a condition", text: cond('{ "index": 0, "type": "dword", "op": "eq", "value": 1 }'), code: "unknown-key", message: 'unknown key "value" in condition; did you mean "val"?', at: "5:81", token: '"value"', count: 2 },
  { name: "key and its alias", text: policy("", `${ACTIONS('"trap"', '"allow"')}, "mismatch_action": "log"`), code: "alias-conflict", message: '"mismatch_action" and "default_action" are aliases, and "default_action" is already given on line 3', at: "3:57", token: '"mismatch_action"' },
  { name: "match_action with filter_action", text: policy("", `"mismatch_action": "trap", "match_action": "allow", "filter_action": "log"`), code: "alias-conflict", message: '"filter_action" and "match_action" are aliases, and "match_action" is already given on line 3', at: "3:57", token: '"filter_action"' },
  { name: "duplicate key in a rule", text: policy('{ "syscall": "read", "syscall": "write" }'), code: "duplicate-key", message: 'duplicate key "syscall" in rule (first given on line 5)', at: "5:28", token: '"syscall"' },
  { name: "duplicate key in a condition", text: cond('{ "index": 0, "index": 1, "type": "dword", "op": "eq", "val": 1 }'), code: "duplicate-key", message: 'duplicate key "index" in condition (first given on line 5)', at: "5:52", token: '"index"' },
  { name: "duplicate filter name", text: '{\n  "t": { "default_action": "trap", "filter_action": "allow", "filter": [] },\n  "t": { "default_action": "trap", "filter_action": "allow", "filter": [] }\n}', code: "duplicate-filter", message: 'duplicate filter "t" (first defined on line 2)', at: "3:3", token: '"t"' },
  { name: "missing action", text: policy("", '"default_action": "trap"'), code: "missing-key", message: 'missing key "filter_action" (or its alias "match_action") in filter "t"', at: "2:8", token: "{" },
  { name: "missing filter list", text: '{ "t": { "default_action": "trap", "filter_action": "allow" } }', code: "missing-key", message: 'missing key "filter" in filter "t"', at: "1:8", token: "{" },
  { name: "missing syscall", text: policy('{ "comment": "x" }'), code: "missing-key", message: 'missing key "syscall" in rule', at: "5:7", token: "{" },
  { name: "missing val", text: cond('{ "index": 0, "type": "dword", "op": "eq" }'), code: "missing-key", message: 'missing key "val" in condition', at: "5:38", token: "{" },
  { name: "non-string comment on a rule", text: policy('{ "syscall": "read", "comment": 5 }'), code: "comment-type", message: '"comment" must be a string, not a number', at: "5:39", token: "5" },
  { name: "non-string comment on a condition", text: cond('{ "index": 0, "type": "dword", "op": "eq", "val": 1, "comment": true }'), code: "comment-type", message: '"comment" must be a string, not a boolean', at: "5:102", token: "true" },
  // --- actions
  { name: "equal actions", text: policy("", ACTIONS('"allow"', '"allow"')), code: "equal-actions", message: '"filter_action" and "default_action" are both allow', at: "3:49", token: '"allow"' },
  { name: "equal actions with payload", text: policy("", ACTIONS('{"errno": 1}', '{"errno": 1}')), code: "equal-actions", message: '"filter_action" and "default_action" are both errno(1)', at: "3:54", token: '{"errno": 1}' },
  { name: "errno above the kernel cap", text: policy("", ACTIONS('{"errno": 4096}', '"allow"')), code: "errno-range", message: "errno 4096 is above 4095, the largest errno the kernel returns", at: "3:33", token: "4096" },
  { name: "trace above 16 bits", text: policy("", ACTIONS('"trap"', '{"trace": 65536}')), code: "trace-range", message: "trace data 65536 does not fit 16 bits (0..65535)", at: "3:58", token: "65536" },
  { name: "negative errno", text: policy("", ACTIONS('{"errno": -1}', '"allow"')), code: "negative-number", message: "errno must not be negative (got -1)", at: "3:33", token: "-1" },
  { name: "allow with null payload", text: policy("", ACTIONS('{"allow": null}', '"trap"')), code: "unexpected-payload", message: 'action "allow" takes no value; write "allow" instead of an object', at: "3:23", token: '{"allow": null}' },
  { name: "log with a number payload", text: policy("", ACTIONS('"trap"', '{"log": 1}')), code: "unexpected-payload", message: 'action "log" takes no value; write "log" instead of an object', at: "3:48", token: '{"log": 1}' },
  { name: "bare errno", text: policy("", ACTIONS('"errno"', '"allow"')), code: "missing-payload", message: 'action "errno" needs a value: write {"errno": N}', at: "3:23", token: '"errno"' },
  { name: "bare trace", text: policy("", ACTIONS('"trap"', '"trace"')), code: "missing-payload", message: 'action "trace" needs a value: write {"trace": N}', at: "3:48", token: '"trace"' },
  { name: "wrong-case action", text: policy("", ACTIONS('"Allow"', '"trap"')), code: "unknown-action", message: 'unknown action "Allow"; did you mean "allow"?', at: "3:23", token: '"Allow"' },
  { name: "misspelled action", text: policy("", ACTIONS('"trap"', '"logs"')), code: "unknown-action", message: 'unknown action "logs"; did you mean "log"?', at: "3:48", token: '"logs"' },
  { name: "unknown payload action", text: policy("", ACTIONS('{"Errno": 1}', '"allow"')), code: "unknown-action", message: 'unknown action "Errno"; did you mean "errno"?', at: "3:24", token: '"Errno"' },
  { name: "two payloads", text: policy("", ACTIONS('{"errno": 1, "trace": 1}', '"allow"')), code: "bad-action-object", message: 'an action object must have exactly one key, "errno" or "trace"; this one has 2', at: "3:23", token: '{"errno": 1, "trace": 1}' },
  { name: "duplicate key in an action", text: policy("", ACTIONS('{"errno": 1, "errno": 2}', '"allow"')), code: "duplicate-key", message: 'duplicate key "errno" in action (first given on line 3)', at: "3:36", token: '"errno"' },
  { name: "numeric action", text: policy("", ACTIONS("0", '"allow"')), code: "wrong-type", message: 'an action must be a string such as "allow" or an object such as {"errno": 1}, not a number', at: "3:23", token: "0" },
  // --- rules and conditions
  { name: "unknown syscall", text: policy('{ "syscall": "opne" }'), code: "unknown-syscall", message: 'unknown syscall "opne" for x86_64; did you mean "open"?', at: "5:20", token: '"opne"' },
  { name: "syscall of another arch", text: policy('{ "syscall": "open" }'), arch: "aarch64", code: "unknown-syscall", message: 'unknown syscall "open" for aarch64; did you mean "openat"?', at: "5:20", token: '"open"' },
  { name: "numeric syscall", text: policy('{ "syscall": 0 }'), code: "wrong-type", message: '"syscall" must be a string, not a number', at: "5:20", token: "0" },
  { name: "empty args", text: policy('{ "syscall": "read", "args": [] }'), code: "empty-args", message: '"args" is empty; a rule needs at least one condition', at: "5:36", token: "[]" },
  { name: "args not an array", text: policy('{ "syscall": "read", "args": {} }'), code: "wrong-type", message: '"args" must be an array of conditions or null, not an object', at: "5:36", token: "{}" },
  {
    name: "unconditional and conditional rules",
    text: policy('{ "syscall": "ioctl" },\n      { "syscall": "ioctl", "args": [ { "index": 1, "type": "dword", "op": "eq", "val": 21537 } ] }'),
    code: "conflicting-rules",
    message: 'syscall "ioctl" has an unconditional rule and a conditional rule (line 6); rust-vmm\'s seccompiler silently drops the unconditional rule, so the syscall would match only when a condition holds',
    at: "5:20",
    token: '"ioctl"',
  },
  { name: "index above 5", text: cond('{ "index": 6, "type": "dword", "op": "eq", "val": 1 }'), code: "index-range", message: "argument index 6 is out of range 0..5", at: "5:49", token: "6" },
  { name: "index as a string", text: cond('{ "index": "1", "type": "dword", "op": "eq", "val": 1 }'), code: "wrong-type", message: "argument index must be an integer, not a string", at: "5:49", token: '"1"' },
  { name: "wrong-case type", text: cond('{ "index": 0, "type": "DWORD", "op": "eq", "val": 1 }'), code: "unknown-type", message: 'unknown type "DWORD"; did you mean "dword"?', at: "5:60", token: '"DWORD"' },
  { name: "unknown operator", text: cond('{ "index": 0, "type": "dword", "op": "eg", "val": 1 }'), code: "unknown-operator", message: 'unknown operator "eg"; did you mean "eq"?', at: "5:75", token: '"eg"' },
  { name: "masked_eq without a mask", text: cond('{ "index": 0, "type": "dword", "op": "masked_eq", "val": 1 }'), code: "missing-mask", message: '"masked_eq" needs a mask: write {"masked_eq": MASK}', at: "5:75", token: '"masked_eq"' },
  { name: "dword value above 2^32-1", text: cond('{ "index": 0, "type": "dword", "op": "eq", "val": 4294967296 }'), code: "dword-range", message: "val 4294967296 does not fit a dword (0..4294967295)", at: "5:88", token: "4294967296" },
  { name: "dword mask above 2^32-1", text: cond('{ "index": 0, "type": "dword", "op": {"masked_eq": 4294967296}, "val": 0 }'), code: "dword-range", message: "masked_eq mask 4294967296 does not fit a dword (0..4294967295)", at: "5:89", token: "4294967296" },
  { name: "negative val", text: cond('{ "index": 0, "type": "dword", "op": "eq", "val": -1846 }'), code: "negative-number", message: "val must not be negative (got -1846)", at: "5:88", token: "-1846" },
  { name: "fractional val", text: cond('{ "index": 0, "type": "dword", "op": "eq", "val": 1846.4 }'), code: "fractional-number", message: "val must be an integer, not 1846.4", at: "5:88", token: "1846.4" },
  { name: "integral fraction", text: cond('{ "index": 0, "type": "dword", "op": "eq", "val": 1.0 }'), code: "fractional-number", message: "val must be an integer, not 1.0", at: "5:88", token: "1.0" },
  { name: "exponent val", text: cond('{ "index": 0, "type": "dword", "op": "eq", "val": 1e3 }'), code: "exponent-number", message: "val must be a plain decimal integer, not 1e3 (exponent notation)", at: "5:88", token: "1e3" },
  { name: "negative zero", text: cond('{ "index": 0, "type": "dword", "op": "eq", "val": -0 }'), code: "negative-zero", message: "val is written -0; write 0", at: "5:88", token: "-0" },
  { name: "val of 2^64", text: cond('{ "index": 0, "type": "qword", "op": "eq", "val": 18446744073709551616 }'), code: "number-too-large", message: "val 18446744073709551616 does not fit 64 bits (the largest value is 18446744073709551615)", at: "5:88", token: "18446744073709551616" },
  { name: "mask of 2^64", text: cond('{ "index": 0, "type": "qword", "op": {"masked_eq": 18446744073709551616}, "val": 0 }'), code: "number-too-large", message: "masked_eq mask 18446744073709551616 does not fit 64 bits (the largest value is 18446744073709551615)", at: "5:89", token: "18446744073709551616" },
  { name: "val as a string", text: cond('{ "index": 0, "type": "dword", "op": "eq", "val": "0x10" }'), code: "wrong-type", message: "val must be an integer, not a string", at: "5:88", token: '"0x10"' },
];

/** `line:column` of a diagnostic. */
const where = (d: Diagnostic) => `${d.position?.line}:${d.position?.column}`;
/** The source text a diagnostic points at. */
const pointed = (text: string, d: Diagnostic) =>
  d.position && d.position.offset < text.length
    ? text.slice(d.position.offset, d.position.offset + d.position.length)
    : "";

describe("parsePolicy refuses bad policies with a precise diagnostic", () => {
  for (const row of BAD) {
    test(row.name, () => {
      const { filters, diagnostics } = parsePolicy(row.text, row.arch ?? "x86_64", { file: "bad.json" });
      const found = diagnostics.find((d) => d.code === row.code);
      assert.ok(
        found,
        `no ${row.code} among: ${diagnostics.map((d) => `${d.code}: ${d.message}`).join(" | ") || "(none)"}`,
      );
      assert.equal(found.message, row.message);
      assert.equal(found.severity, "error");
      assert.equal(where(found), row.at);
      assert.equal(pointed(row.text, found), row.token);
      assert.equal(found.position?.file, "bad.json");
      assert.equal(diagnostics.length, row.count ?? 1, diagnostics.map((d) => d.message).join(" | "));
      assert.equal(filters.has("t"), false, "a filter with errors must not be returned");
    });
  }
});

describe("paths, hints and rendering", () => {
  test("the JSON path names the offending value", () => {
    const { diagnostics } = parsePolicy(
      cond('{ "index": 0, "type": "dword", "op": "eq", "val": 4294967296 }'),
      "x86_64",
    );
    assert.equal(diagnostics[0].path, "$.t.filter[0].args[0].val");
    assert.equal(diagnostics[0].hint, "use qword, or write the 32-bit two's complement, e.g. 4294967196 for -100");
  });

  test("names that are not identifiers are quoted in paths", () => {
    const text =
      '{ "my thread": { "default_action": "trap", "filter_action": "allow", "filter": [ { "syscall": "opne" } ] } }';
    const { diagnostics } = parsePolicy(text, "x86_64");
    assert.equal(diagnostics[0].path, '$["my thread"].filter[0].syscall');
    assert.equal(jsonPath(["vmm", "filter", 3, "args", 0, "val"]), "$.vmm.filter[3].args[0].val");
    assert.equal(jsonPath(["", "a-b"]), '$[""]["a-b"]');
  });

  test("unknown keys list the allowed keys", () => {
    const { diagnostics } = parsePolicy(policy('{ "syscall": "read", "arg": null }'), "x86_64");
    assert.equal(diagnostics[0].hint, 'allowed keys: "syscall", "args", "comment"');
  });

  test("a syscall of another architecture says where it exists", () => {
    const { diagnostics } = parsePolicy(policy('{ "syscall": "open" }'), "aarch64");
    assert.match(diagnostics[0].hint ?? "", /"open" exists on x86_64/);
  });

  test("conflicting rules suggest removing one of them", () => {
    const text = policy(
      '{ "syscall": "ioctl" },\n      { "syscall": "ioctl", "args": [ { "index": 1, "type": "dword", "op": "eq", "val": 1 } ] }',
    );
    const [d] = parsePolicy(text, "x86_64").diagnostics;
    assert.match(d.hint ?? "", /^remove one of them/);
  });

  test("formatDiagnostic shows file:line:col, the path, the source line and a caret", () => {
    const text = policy('{ "syscall": "opne" }');
    const [d] = parsePolicy(text, "x86_64", { file: "p.json" }).diagnostics;
    assert.equal(
      formatDiagnostic(d, text),
      [
        'p.json:5:20: error: unknown syscall "opne" for x86_64; did you mean "open"?',
        "  at $.t.filter[0].syscall",
        '  5 |       { "syscall": "opne" },'.replace(",", ""),
        "    |                    ^^^^^^",
      ].join("\n"),
    );
  });

  test("syntax errors are rendered with a caret too", () => {
    const text = '{\n  "a": {} "b": {}\n}';
    const [d] = parsePolicy(text, "x86_64", { file: "s.json" }).diagnostics;
    assert.equal(
      formatDiagnostic(d, text),
      [
        "s.json:2:11: error: expected a comma or '}'",
        "  at $.b",
        '  2 |   "a": {} "b": {}',
        "    |           ^^^",
      ].join("\n"),
    );
  });

  test("the default file name is <policy>", () => {
    const [d] = parsePolicy("[]", "x86_64").diagnostics;
    assert.equal(d.position?.file, "<policy>");
  });
});

describe("all problems are reported in one run", () => {
  const text = [
    "{",
    '  "a": { "default_action": "trap", "filter_action": "allow", "filter": [ { "syscall": "opne" } ] },',
    '  "b": { "default_action": "Allow", "filter_action": "trap", "filter": [',
    '    { "syscall": "read", "args": [ { "index": 7, "type": "dword", "op": "eq", "val": -1 } ] } ] },',
    '  "c": { "default_action": "trap", "filter_action": "allow", "filter": [ { "syscall": "read" } ] },',
    '  "d": { "default_action": "trap", "filters": [] }',
    "}",
  ].join("\n");
  const { filters, diagnostics } = parsePolicy(text, "x86_64");

  test("every error, in document order", () => {
    assert.deepEqual(diagnostics.map((d) => [d.code, where(d), pointed(text, d)]), [
      ["unknown-syscall", "2:87", '"opne"'],
      ["unknown-action", "3:28", '"Allow"'],
      ["index-range", "4:47", "7"],
      ["negative-number", "4:86", "-1"],
      ["missing-key", "6:8", "{"],
      ["missing-key", "6:8", "{"],
      ["unknown-key", "6:36", '"filters"'],
    ]);
    assert.deepEqual(diagnostics.map((d) => d.message).slice(4), [
      'missing key "filter" in filter "d"',
      'missing key "filter_action" (or its alias "match_action") in filter "d"',
      'unknown key "filters" in filter "d"; did you mean "filter"?',
    ]);
  });

  test("a wrong index does not hide a wrong value in the same condition", () => {
    const text = '{"t": {"default_action": "trap", "filter_action": "allow", "filter": [' +
      '{"syscall": "ioctl", "args": [{"index": 7, "type": "dword", "op": "eq", "val": 4294967296}]}]}}';
    const codes = parsePolicy(text, "x86_64").diagnostics.map((d) => d.code);
    assert.deepEqual(codes, ["index-range", "dword-range"]);
  });

  test("threads without errors still get their filter", () => {
    assert.deepEqual([...filters.keys()], ["c"]);
  });
});

describe("lowering to IR", () => {
  test("Firecracker dialect: actions, sorted syscalls, rules in JSON order", () => {
    const text = policy(
      [
        '{ "syscall": "write", "args": [ { "index": 0, "type": "dword", "op": "eq", "val": 2 } ] },',
        '{ "syscall": "read" },',
        '{ "syscall": "write", "args": [ { "index": 0, "type": "dword", "op": "eq", "val": 1 },',
        '                                { "index": 2, "type": "qword", "op": "le", "val": 4096 } ] },',
        '{ "syscall": "mmap", "args": [ { "index": 2, "type": "dword", "op": { "masked_eq": 4 }, "val": 0 } ] },',
        '{ "syscall": "close", "args": null }',
      ].join("\n      "),
      ACTIONS('{"errno": 1}', '"allow"'),
    );
    const { filters, diagnostics } = parsePolicy(text, "x86_64");
    assert.deepEqual(diagnostics, []);
    assert.deepEqual(filters.get("t"), {
      arch: "x86_64",
      mismatchAction: { kind: "errno", data: 1 },
      matchAction: { kind: "allow" },
      syscalls: [
        { name: "read", nr: 0, rules: [] },
        {
          name: "write",
          nr: 1,
          rules: [
            { conditions: [{ index: 0, width: "dword", op: "eq", value: 2n }] },
            {
              conditions: [{ index: 0, width: "dword", op: "eq", value: 1n }, {
                index: 2,
                width: "qword",
                op: "le",
                value: 4096n,
              }],
            },
          ],
        },
        { name: "close", nr: 3, rules: [] },
        {
          name: "mmap",
          nr: 9,
          rules: [{ conditions: [{ index: 2, width: "dword", op: "masked_eq", value: 0n, mask: 4n }] }],
        },
      ],
    });
  });

  test("rust-vmm dialect and every action", () => {
    const actions = ["allow", "kill_thread", "kill_process", "log", "trap", "user_notif"];
    for (const name of actions) {
      const other = name === "allow" ? '{"trace": 65535}' : '{"errno": 0}';
      const text = policy('{ "syscall": "read" }', `"mismatch_action": ${other}, "match_action": "${name}"`);
      const { filters, diagnostics } = parsePolicy(text, "x86_64");
      assert.deepEqual(diagnostics, [], name);
      assert.deepEqual(filters.get("t")?.matchAction, { kind: name });
      assert.deepEqual(
        filters.get("t")?.mismatchAction,
        name === "allow" ? { kind: "trace", data: 65535 } : { kind: "errno", data: 0 },
      );
    }
  });

  test("the dialects may be mixed per key in one filter", () => {
    const text = policy('{ "syscall": "read" }', '"default_action": {"errno": 4095}, "match_action": "allow"');
    const { filters, diagnostics } = parsePolicy(text, "x86_64");
    assert.deepEqual(diagnostics, []);
    assert.deepEqual(filters.get("t")?.mismatchAction, { kind: "errno", data: 4095 });
  });

  test("different errno payloads are different actions", () => {
    const { diagnostics } = parsePolicy(policy("", ACTIONS('{"errno": 1}', '{"errno": 2}')), "x86_64");
    assert.deepEqual(diagnostics, []);
  });

  test("64-bit values are exact", () => {
    const text = cond(
      '{ "index": 5, "type": "qword", "op": {"masked_eq": 18446744073709551615}, "val": 18446744073709551615 }',
    );
    const condition = parsePolicy(text, "x86_64").filters.get("t")?.syscalls[0].rules[0].conditions[0];
    assert.deepEqual(condition, {
      index: 5,
      width: "qword",
      op: "masked_eq",
      value: 18446744073709551615n,
      mask: 18446744073709551615n,
    });
    const big = parsePolicy(cond('{ "index": 0, "type": "qword", "op": "eq", "val": 9007199254740993 }'), "x86_64");
    assert.equal(big.filters.get("t")?.syscalls[0].rules[0].conditions[0].value, 9007199254740993n);
  });

  test("{} is a valid policy with no filters", () => {
    assert.deepEqual(parsePolicy("{}", "x86_64"), { filters: new Map(), diagnostics: [], threadPositions: new Map() });
  });

  test("filters are in sorted order by name; thread positions point at the names", () => {
    const filter = '{ "default_action": "trap", "filter_action": "allow", "filter": [] }';
    const { filters, threadPositions } = parsePolicy(
      `{\n"vmm": ${filter},\n"api": ${filter},\n"vcpu": ${filter}\n}`,
      "x86_64",
    );
    assert.deepEqual([...filters.keys()], ["api", "vcpu", "vmm"]);
    assert.deepEqual(threadPositions.get("vcpu"), {
      file: "<policy>",
      line: 4,
      column: 1,
      offset: threadPositions.get("vcpu")!.offset,
      length: 6,
    });
  });

  test("comments are accepted", () => {
    const text =
      `// a policy\n{ /* threads */ "t": { "default_action": "trap", // when nothing matches\n "filter_action": "allow", "filter": [ { "syscall": "read" } ] } }\n// end`;
    const { filters, diagnostics } = parsePolicy(text, "x86_64");
    assert.deepEqual(diagnostics, []);
    assert.equal(filters.get("t")?.syscalls[0].name, "read");
  });

  test("comments on rules and conditions may be strings or null", () => {
    const text = policy(
      '{ "syscall": "read", "comment": null, "args": [ { "index": 0, "type": "dword", "op": "eq", "val": 1, "comment": null } ] }',
    );
    assert.deepEqual(parsePolicy(text, "x86_64").diagnostics, []);
  });

  test("the same index twice in a rule is an AND (a range)", () => {
    const text = cond(
      '{ "index": 2, "type": "dword", "op": "ge", "val": 20 }, { "index": 2, "type": "dword", "op": "lt", "val": 40 }',
    );
    assert.equal(parsePolicy(text, "x86_64").filters.get("t")?.syscalls[0].rules[0].conditions.length, 2);
  });
});

describe("warnings", () => {
  test("two unconditional rules for one syscall: warning, merged", () => {
    const text = policy('{ "syscall": "read" },\n      { "syscall": "read" }');
    const { filters, diagnostics } = parsePolicy(text, "x86_64");
    assert.deepEqual(diagnostics.map((d) => [d.severity, d.code, d.message, where(d)]), [
      [
        "warning",
        "duplicate-unconditional",
        'syscall "read" is already allowed unconditionally on line 5; the rules are merged',
        "6:20",
      ],
    ]);
    assert.deepEqual(filters.get("t")?.syscalls, [{ name: "read", nr: 0, rules: [] }]);
  });

  test("masked_eq value with bits outside the mask: warning", () => {
    const text = cond('{ "index": 2, "type": "dword", "op": {"masked_eq": 4}, "val": 5 }');
    const { filters, diagnostics } = parsePolicy(text, "x86_64");
    assert.equal(diagnostics.length, 1);
    assert.equal(diagnostics[0].severity, "warning");
    assert.equal(diagnostics[0].code, "value-outside-mask");
    assert.equal(
      diagnostics[0].message,
      "masked_eq val 5 has bits outside the mask 4 (0x4); rust-vmm masks the value and can match, Firecracker ≥ 1.11 (libseccomp) never matches",
    );
    assert.equal(diagnostics[0].hint, "write the value already masked: 4");
    assert.equal(where(diagnostics[0]), "5:100");
    assert.ok(filters.has("t"), "warnings do not withhold the filter");
  });
});

describe("basic mode (--basic)", () => {
  const text = policy([
    '{ "syscall": "ioctl" },',
    '{ "syscall": "ioctl", "args": [ { "index": 1, "type": "dword", "op": "eq", "val": 21537 } ] },',
    '{ "syscall": "write", "args": [ { "index": 0, "type": "dword", "op": "eq", "val": 1 } ] }',
  ].join("\n      "));

  test("drops every condition, so conflicting rules do not conflict", () => {
    const { filters, diagnostics } = parsePolicy(text, "x86_64", { basic: true });
    assert.deepEqual(diagnostics, []);
    assert.deepEqual(filters.get("t")?.syscalls, [{ name: "write", nr: 1, rules: [] }, {
      name: "ioctl",
      nr: 16,
      rules: [],
    }]);
  });

  test("the same policy is refused without it", () => {
    assert.deepEqual(parsePolicy(text, "x86_64").diagnostics.map((d) => d.code), ["conflicting-rules"]);
  });

  test("conditions are still validated", () => {
    const { diagnostics } = parsePolicy(cond('{ "index": 9, "type": "dword", "op": "eq", "val": 1 }'), "x86_64", {
      basic: true,
    });
    assert.deepEqual(diagnostics.map((d) => d.code), ["index-range"]);
  });
});

describe("real policies", () => {
  const present = existsSync(CORPUS);
  const archOf = (file: string): ArchName[] =>
    file.startsWith("x86_64") ? ["x86_64"] : file.startsWith("aarch64") ? ["aarch64"] : ["x86_64", "aarch64"];
  const files = present
    ? [...readdirSync(CORPUS).map((f) => f), ...readdirSync(`${CORPUS}/v1.10.1`).map((f) => `v1.10.1/${f}`)].filter((
      f,
    ) => f.endsWith(".json"))
    : [];

  test("the Firecracker corpus is available", { skip: present ? false : `corpus not found at ${CORPUS}` }, () => {
    assert.ok(files.length >= 6, files.join(", "));
  });

  for (const file of files) {
    for (const arch of archOf(file.replace(/^v1\.10\.1\//, ""))) {
      test(`${file} for ${arch} parses without errors`, () => {
        const { filters, diagnostics } = parsePolicy(readFileSync(`${CORPUS}/${file}`, "utf8"), arch, { file });
        assert.deepEqual(diagnostics.filter((d) => d.severity === "error").map((d) => formatDiagnostic(d)), []);
        assert.deepEqual([...filters.keys()], ["api", "vcpu", "vmm"]);
        if (!file.includes("unimplemented")) assert.ok(filters.get("vmm")!.syscalls.length > 20);
      });
    }
  }

  test("policies/example.json parses without diagnostics", () => {
    const { filters, diagnostics } = parsePolicy(readFileSync(repo("policies/example.json"), "utf8"), "x86_64");
    assert.deepEqual(diagnostics, []);
    assert.deepEqual([...filters.keys()], ["api", "vcpu", "vmm"]);
    assert.equal(filters.get("vcpu")!.syscalls.find((s) => s.name === "ioctl")!.rules.length, 3);
  });

  test("policies/example.json is plain JSON", () => {
    assert.doesNotThrow(() => JSON.parse(readFileSync(repo("policies/example.json"), "utf8")));
  });
});

describe("the JSON Schema", () => {
  test("describes the objects the front end enforces (src/policy/shape.ts)", () => {
    assert.deepEqual(objectShape(FilterSchema), FILTER_SHAPE);
    assert.deepEqual(objectShape(RuleSchema), RULE_SHAPE);
    assert.deepEqual(objectShape(ConditionSchema), CONDITION_SHAPE);
    assert.deepEqual(objectShape(MaskedEqOperatorSchema), MASKED_EQ_SHAPE);
  });

  test("policies/seccompiler.schema.json is up to date (run: bun scripts/gen-schema.ts)", () => {
    assert.equal(readFileSync(repo("policies/seccompiler.schema.json"), "utf8"), policySchemaText());
  });

  test("is draft 2020-12, closed, and keeps 2^64-1 exact", () => {
    const schema = policyJsonSchema();
    assert.equal(schema.$schema, "https://json-schema.org/draft/2020-12/schema");
    assert.equal(typeof schema.$id, "string");
    assert.equal(typeof schema.title, "string");
    const text = policySchemaText();
    assert.ok(text.includes('"maximum": 18446744073709551615'));
    assert.ok(!text.includes("18446744073709552000"));
    assert.ok(text.endsWith("}\n") && text.startsWith('{\n  "$schema"'));
    // Every object schema with properties is closed.
    const open: string[] = [];
    const visit = (node: unknown, path: string) => {
      if (Array.isArray(node)) node.forEach((item, i) => visit(item, `${path}[${i}]`));
      else if (node !== null && typeof node === "object") {
        const record = node as Record<string, unknown>;
        if ("properties" in record && record.additionalProperties !== false) open.push(path);
        for (const [key, value] of Object.entries(record)) visit(value, `${path}.${key}`);
      }
    };
    visit(JSON.parse(text), "$");
    assert.deepEqual(open, []);
  });

  test("names every action, operator and both dialects", () => {
    const text = policySchemaText();
    for (
      const word of [
        "allow",
        "kill_thread",
        "kill_process",
        "log",
        "trap",
        "user_notif",
        "errno",
        "trace",
        "eq",
        "ne",
        "lt",
        "le",
        "gt",
        "ge",
        "masked_eq",
        "default_action",
        "mismatch_action",
        "filter_action",
        "match_action",
        "dword",
        "qword",
      ]
    ) {
      assert.ok(text.includes(`"${word}"`), word);
    }
  });

  // The published schema and the front end describe the same structure.
  const validator = Schema.Compile(JSON.parse(policySchemaText()));
  const filter = (body: string) => `{ "t": { ${body} } }`;
  const AGREE: readonly [string, string, boolean][] = [
    ["minimal", filter('"default_action": "trap", "filter_action": "allow", "filter": []'), true],
    [
      "rust-vmm dialect",
      filter('"mismatch_action": {"errno": 1}, "match_action": "allow", "filter": [{"syscall": "read", "args": null}]'),
      true,
    ],
    [
      "masked_eq",
      filter(
        '"default_action": "trap", "filter_action": "allow", "filter": [{"syscall": "read", "args": [{"index": 5, "type": "qword", "op": {"masked_eq": 4}, "val": 0, "comment": "c"}]}]',
      ),
      true,
    ],
    [
      "key and alias",
      filter('"default_action": "trap", "mismatch_action": "trap", "filter_action": "allow", "filter": []'),
      false,
    ],
    ["missing action", filter('"default_action": "trap", "filter": []'), false],
    [
      "filter comment",
      filter('"default_action": "trap", "filter_action": "allow", "filter": [], "comment": "x"'),
      false,
    ],
    ["errno 4096", filter('"default_action": {"errno": 4096}, "filter_action": "allow", "filter": []'), false],
    ["trace 65536", filter('"default_action": {"trace": 65536}, "filter_action": "allow", "filter": []'), false],
    ["allow null", filter('"default_action": {"allow": null}, "filter_action": "trap", "filter": []'), false],
    ["wrong case", filter('"default_action": "Trap", "filter_action": "allow", "filter": []'), false],
    ["bare errno", filter('"default_action": "errno", "filter_action": "allow", "filter": []'), false],
    [
      "empty args",
      filter('"default_action": "trap", "filter_action": "allow", "filter": [{"syscall": "read", "args": []}]'),
      false,
    ],
    [
      "index 6",
      filter(
        '"default_action": "trap", "filter_action": "allow", "filter": [{"syscall": "read", "args": [{"index": 6, "type": "dword", "op": "eq", "val": 1}]}]',
      ),
      false,
    ],
    [
      "bare masked_eq",
      filter(
        '"default_action": "trap", "filter_action": "allow", "filter": [{"syscall": "read", "args": [{"index": 0, "type": "dword", "op": "masked_eq", "val": 1}]}]',
      ),
      false,
    ],
    [
      "negative val",
      filter(
        '"default_action": "trap", "filter_action": "allow", "filter": [{"syscall": "read", "args": [{"index": 0, "type": "dword", "op": "eq", "val": -1}]}]',
      ),
      false,
    ],
    [
      "numeric comment",
      filter('"default_action": "trap", "filter_action": "allow", "filter": [{"syscall": "read", "comment": 5}]'),
      false,
    ],
    ["top-level array", "[]", false],
  ];
  for (const [name, text, valid] of AGREE) {
    test(`schema and front end agree: ${name} is ${valid ? "valid" : "invalid"}`, () => {
      assert.equal(validator.Check(JSON.parse(text)), valid, "schema");
      const errors = parsePolicy(text, "x86_64").diagnostics.filter((d) => d.severity === "error");
      assert.equal(errors.length === 0, valid, errors.map((d) => d.message).join(" | "));
    });
  }
});

describe("parse helpers", () => {
  test("readUnsignedInteger keeps the source text exact", () => {
    assert.deepEqual(readUnsignedInteger("0"), { ok: true, value: 0n });
    assert.deepEqual(readUnsignedInteger("18446744073709551615"), { ok: true, value: 18446744073709551615n });
    assert.deepEqual(readUnsignedInteger("18446744073709551616"), { ok: false, problem: "too-large" });
    assert.deepEqual(readUnsignedInteger("-0"), { ok: false, problem: "negative-zero", equivalent: 0n });
    assert.deepEqual(readUnsignedInteger("-5"), { ok: false, problem: "negative" });
    assert.deepEqual(readUnsignedInteger("1.0"), { ok: false, problem: "fraction", equivalent: 1n });
    assert.deepEqual(readUnsignedInteger("1.5"), { ok: false, problem: "fraction" });
    assert.deepEqual(readUnsignedInteger("1e3"), { ok: false, problem: "exponent", equivalent: 1000n });
    assert.deepEqual(readUnsignedInteger("25E-1"), { ok: false, problem: "exponent" });
  });

  test("parseJson keeps duplicate keys and positions", () => {
    const { root, diagnostics } = parseJson('{"a": 1, "a": 2}', "x");
    assert.deepEqual(diagnostics, []);
    assert.deepEqual(root?.children?.map((p) => [p.children![0].value, p.children![1].offset]), [["a", 6], ["a", 14]]);
  });

  test("closestMatch prefers a case-only difference and refuses far words", () => {
    assert.equal(closestMatch("KILL_PROCESS", ["kill_thread", "kill_process"]), "kill_process");
    assert.equal(closestMatch("filters", ["default_action", "filter", "filter_action"]), "filter");
    assert.equal(closestMatch("banana", ["allow", "trap"]), undefined);
  });
});

describe("the fast path for valid policies", () => {
  // Runs last: every parsePolicy call above also ran the fast path and compared (test/support/both-paths.ts).
  test("answered for the valid inputs of this file and agreed with the positioned front end", () => {
    const fast = tally.fast - tallyAtStart.fast;
    const declined = tally.declined - tallyAtStart.declined;
    assert.ok(fast >= 10, `fast path answered ${fast} inputs, declined ${declined}`);
    assert.ok(declined >= 50, `fast path declined only ${declined} inputs`);
  });
});
