/**
 * Filters, rules and conditions as written in a JSON policy → IR, with the
 * checks that span several fields: dword ranges, masked values, equal
 * actions, and how the rules of one syscall combine.
 *
 * @module
 */
import {
  checkArgIndex,
  checkEqualActions,
  checkFitsWidth,
  checkRuleNotEmpty,
  checkValueInMask,
  checkWidth,
  lookupSyscall,
  quoteList,
} from "../checks.ts";
import type { ArgIndex, Condition, Filter, SyscallRules } from "../ir.ts";
import { MASKED_EQ, type Width, WIDTHS } from "../vocabulary.ts";
import { readAction, readOperator } from "./actions.ts";
import {
  type Checker,
  checkComment,
  describe,
  errorCount,
  lineOf,
  type Path,
  readObject,
  report,
} from "./checker.ts";
import { readInteger } from "./numbers.ts";
import type { JsonNode } from "./parse.ts";
import { CONDITION_SHAPE, FILTER_SHAPE, RULE_SHAPE } from "./shape.ts";

/** `type`: a width. @private */
function readWidth(checker: Checker, node: JsonNode, path: Path): Width | undefined {
  if (node.type !== "string") {
    report(checker, {
      code: "wrong-type",
      message: `type must be one of ${quoteList(WIDTHS)}, not ${describe(node)}`,
      path,
      at: node,
    });
    return undefined;
  }
  const problem = checkWidth(node.value as string);
  if (problem) {
    report(checker, { ...problem, path, at: node });
    return undefined;
  }
  return node.value as Width;
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
    : readInteger(checker, indexNode, [...path, "index"], { label: "argument index", check: checkArgIndex });
  const typeNode = field("type");
  const width = typeNode === undefined ? undefined : readWidth(checker, typeNode, [...path, "type"]);
  const opNode = field("op");
  const operator = opNode === undefined ? undefined : readOperator(checker, opNode, [...path, "op"]);
  const valNode = field("val");
  const value = valNode === undefined ? undefined : readInteger(checker, valNode, [...path, "val"], {
    label: "val",
    negativeHint: 'for a negative C int compared as "dword", write its 32-bit two\'s complement, e.g. 4294967196 for -100',
  });
  checkComment(checker, known.get("comment"), path);
  // The width checks need only type, op and val: report them even when the index is wrong.
  if (width === undefined || operator === undefined || value === undefined) return undefined;

  const tooWide = checkFitsWidth(width, "val", value);
  if (tooWide) report(checker, { ...tooWide, path: [...path, "val"], at: valNode! });
  const maskTooWide = operator.mask === undefined ? undefined : checkFitsWidth(width, "masked_eq mask", operator.mask);
  if (maskTooWide) report(checker, { ...maskTooWide, path: [...path, "op", MASKED_EQ], at: operator.maskNode! });
  if (index === undefined || errorCount(checker) > before) return undefined;

  const outsideMask = operator.mask === undefined ? undefined : checkValueInMask(value, operator.mask);
  if (outsideMask) report(checker, { ...outsideMask, path: [...path, "val"], at: valNode! });
  const condition: Condition = { index: Number(index) as ArgIndex, width, op: operator.op, value };
  return operator.mask === undefined ? condition : { ...condition, mask: operator.mask };
}

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
    report(checker, {
      code: "wrong-type",
      message: `"syscall" must be a string, not ${describe(syscall)}`,
      path: [...path, "syscall"],
      at: syscall,
    });
  } else if (syscall) {
    const found = lookupSyscall(checker.arch, syscall.value as string);
    if (found.ok) nr = found.nr;
    else report(checker, { ...found.problem, path: [...path, "syscall"], at: syscall });
  }
  const args = known.get("args")?.value;
  let conditions: Condition[] | undefined;
  if (args && args.type === "array") {
    const empty = checkRuleNotEmpty(
      (args.children ?? []).length,
      '"args"',
      'for a rule that matches any arguments, leave "args" out (or set it to null)',
    );
    if (empty) report(checker, { ...empty, path: [...path, "args"], at: args });
    conditions = [];
    for (const [i, child] of (args.children ?? []).entries()) {
      const condition = readCondition(checker, child, [...path, "args", i]);
      if (condition) conditions.push(condition);
    }
  } else if (args && args.type !== "null") {
    report(checker, {
      code: "wrong-type",
      message: `"args" must be an array of conditions or null, not ${describe(args)}`,
      path: [...path, "args"],
      at: args,
    });
  }
  checkComment(checker, known.get("comment"), path);
  if (errorCount(checker) > before || !syscall || nr === undefined) return undefined;
  const entry = { name: syscall.value as string, nr, at: syscall, path };
  return conditions === undefined ? entry : { ...entry, conditions };
}

/**
 * One filter object → IR, or undefined (after reporting) when it has errors.
 * `path[0]` is the filter's name.
 *
 * @example
 * ```ts
 * declare const checker: import("./checker.ts").Checker;
 * declare const node: import("./parse.ts").JsonNode;
 * readFilter(checker, node, ["main"])?.syscalls.length;
 * ```
 */
export function readFilter(checker: Checker, node: JsonNode, path: Path): Filter | undefined {
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
  if (mismatch?.action && match?.action) {
    const equal = checkEqualActions(match.action, mismatch.action, `"${match.name}"`, `"${mismatch.name}"`);
    if (equal) report(checker, { ...equal, path: [...path, match.name], at: match.node });
  }

  const rulesNode = known.get("filter")?.value;
  const entries: RuleEntry[] = [];
  if (rulesNode && rulesNode.type !== "array") {
    report(checker, {
      code: "wrong-type",
      message: `"filter" must be an array of rules, not ${describe(rulesNode)}`,
      path: [...path, "filter"],
      at: rulesNode,
    });
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
      report(checker, {
        severity: "warning",
        code: "duplicate-unconditional",
        message: `syscall "${extra.name}" is already allowed unconditionally on line ${
          lineOf(checker, unconditional[0].at)
        }; the rules are merged`,
        path: [...extra.path, "syscall"],
        at: extra.at,
        hint: "remove the repeated rule",
      });
    }
    if (!checker.basic && unconditional.length > 0 && conditional.length > 0) {
      const [plain] = unconditional;
      report(checker, {
        code: "conflicting-rules",
        message: `syscall "${plain.name}" has an unconditional rule and a conditional rule (line ${
          lineOf(checker, conditional[0].at)
        }); ` +
          "rust-vmm's seccompiler silently drops the unconditional rule, so the syscall would match only when a condition holds",
        path: [...plain.path, "syscall"],
        at: plain.at,
        hint: "remove one of them: the unconditional rule to keep the argument checks, or the conditional rules to allow every call",
      });
    }
    const rules = checker.basic || unconditional.length > 0
      ? []
      : conditional.map((entry) => ({ conditions: entry.conditions! }));
    syscalls.push({ name: group[0].name, nr, rules });
  }
  return syscalls.sort((a, b) => a.nr - b.nr);
}
