/**
 * `seccompiler lint`'s analysis: every error the compiler reports, plus
 * checks for policies that compile but are probably wrong.
 *
 * Codes (stable; severity in brackets):
 * - every code of the policy front end (`unknown-syscall`, `conflicting-rules`,
 *   `duplicate-unconditional`, ...), with a replacement suggested for legacy
 *   syscalls missing on the target (`open` → `openat` on aarch64);
 * - `never-matches` [warning]: a rule whose conditions contradict each other;
 * - `always-matches` [warning]: a rule whose conditions hold for every call;
 * - `always-true-condition` [warning]: one condition of a rule that holds for every call;
 * - `redundant-rule` [warning]: a rule covered by an unconditional or broader rule of the same syscall;
 * - `duplicate-rule` [warning]: a conditional rule repeated;
 * - `missing-exit-syscall` [warning]: an allowlist without `exit`, `exit_group` or `rt_sigreturn`;
 * - `dangerous-syscall` [warning]: an allowlist that allows `execve`, `ptrace`, `bpf`, ...;
 * - from `src/firecracker.ts`, shared with `compile`: `thread-name-case` [error] (names equal
 *   but for case), and with `firecracker`: `missing-thread-category`, `unknown-thread-category` [warning].
 *
 * @module
 */
import type { Action } from "../action.ts";
import { type ArchInfo, type ArchName, getArch } from "../arch/arch.ts";
import type { Diagnostic, DiagnosticCode, SourcePosition } from "../diagnostics.ts";
import type { ArgIndex, Condition, Width } from "../ir.ts";
import { parsePolicy } from "../policy/frontend.ts";
import { createLocator, type JsonNode, jsonPath, type Locator, parseJson, readUnsignedInteger } from "../policy/parse.ts";
import { alwaysHolds, neverHolds, ruleImplies, ruleKey } from "./conditions.ts";
import { DANGEROUS_SYSCALLS, EXIT_SYSCALLS, REPLACEMENTS } from "./tables.ts";
import { checkFirecrackerThreads, checkThreadNameCase } from "../firecracker.ts";

/** Options of {@link lintPolicy}. */
export interface LintOptions {
  /** The architecture the policy is meant for. */
  readonly arch: ArchName;
  /** File name shown in positions (default `<policy>`). */
  readonly file?: string;
  /** Also warn when Firecracker's `vmm`, `api` or `vcpu` filter is missing, or another is present. */
  readonly firecracker?: boolean;
}

/**
 * Lints a policy: every finding, errors and warnings, sorted by position.
 *
 * @example
 * ```ts
 * const findings = lintPolicy('{"main": {"default_action": "kill_process", "filter_action": "allow", "filter": [{"syscall": "open"}]}}', { arch: "aarch64" });
 * findings.map((f) => f.code); // ["missing-exit-syscall", "unknown-syscall"]
 * ```
 */
export function lintPolicy(text: string, options: LintOptions): Diagnostic[] {
  const file = options.file ?? "<policy>";
  const arch = getArch(options.arch);
  const parsed = parsePolicy(text, options.arch, { file });
  const findings = parsed.diagnostics.map((d) => withReplacement(d, text, arch));
  const tree = parseJson(text, file);
  if (tree.root === undefined || tree.root.type !== "object") return findings;
  const locate = createLocator(text, file);
  const context: Context = { text, arch, locate, findings };
  const positions = new Map<string, SourcePosition>();
  for (const [key, value] of properties(tree.root)) {
    const name = key.value as string;
    if (positions.has(name)) continue; // the front end reports duplicate-filter
    positions.set(name, locate(key.offset, key.length));
    lintFilter(context, name, key, value);
  }
  findings.push(...checkThreadNameCase(positions.keys(), positions));
  if (options.firecracker) findings.push(...checkFirecrackerThreads(positions.keys(), positions, locate(tree.root.offset, 1)));
  return findings.sort((a, b) => (a.position?.offset ?? 0) - (b.position?.offset ?? 0));
}

/** Per-document state. @private */
interface Context {
  readonly text: string;
  readonly arch: ArchInfo;
  readonly locate: Locator;
  readonly findings: Diagnostic[];
}

/** A rule that could be read: syscall known on the target, conditions well-formed. @private */
interface ReadRule {
  readonly name: string;
  readonly nr: number;
  readonly syscall: JsonNode;
  readonly path: (string | number)[];
  /** Undefined for an unconditional rule. */
  readonly conditions?: Condition[];
  /** The condition nodes, parallel to `conditions`. */
  readonly conditionNodes?: JsonNode[];
}

/** Key/value pairs of an object node. @private */
function properties(node: JsonNode): [JsonNode, JsonNode][] {
  const pairs: [JsonNode, JsonNode][] = [];
  for (const property of node.children ?? []) {
    const [key, value] = property.children ?? [];
    if (key && value) pairs.push([key, value]);
  }
  return pairs;
}

/** The first value of `key` in an object node. @private */
function property(node: JsonNode, ...keys: string[]): JsonNode | undefined {
  for (const [key, value] of properties(node)) if (keys.includes(key.value as string)) return value;
  return undefined;
}

/** Adds one finding. @private */
function report(
  context: Context,
  severity: Diagnostic["severity"],
  code: DiagnosticCode,
  message: string,
  path: (string | number)[],
  at: JsonNode,
  hint?: string,
): void {
  context.findings.push({
    code,
    message,
    path: jsonPath(path),
    position: context.locate(at.offset, at.length),
    severity,
    ...(hint ? { hint } : {}),
  });
}

/** The unknown-syscall error with the target's replacement for a legacy syscall. @private */
function withReplacement(diagnostic: Diagnostic, text: string, arch: ArchInfo): Diagnostic {
  if (diagnostic.code !== "unknown-syscall" || diagnostic.position === undefined) return diagnostic;
  const { offset, length } = diagnostic.position;
  let name: string;
  try {
    name = JSON.parse(text.slice(offset, offset + length));
  } catch {
    return diagnostic;
  }
  const replacement = REPLACEMENTS.get(name)?.find((candidate) => arch.syscalls.has(candidate));
  if (replacement === undefined) return diagnostic;
  return {
    ...diagnostic,
    message: `unknown syscall "${name}" for ${arch.name}, which has "${replacement}" instead`,
    hint: `"${name}" exists only on older architectures; on ${arch.name} the C library calls "${replacement}" for it`,
  };
}

/** An action as far as lint needs it; undefined when malformed (the front end reports it). @private */
function readAction(node: JsonNode | undefined): Action | undefined {
  if (node === undefined) return undefined;
  if (node.type === "string") return { kind: node.value } as Action;
  const [pair] = node.type === "object" ? properties(node) : [];
  if (pair && (pair[0].value === "errno" || pair[0].value === "trace") && pair[1].type === "number") {
    return { kind: pair[0].value, data: Number(pair[1].value) };
  }
  return undefined;
}

/** Whether an action lets the system call run. @private */
function letsThrough(action: Action): boolean {
  return action.kind === "allow" || action.kind === "log";
}

/** A well-formed condition, or undefined. @private */
function readCondition(context: Context, node: JsonNode): Condition | undefined {
  if (node.type !== "object") return undefined;
  const index = integer(context, property(node, "index"));
  const width = property(node, "type")?.value;
  const op = property(node, "op");
  const value = integer(context, property(node, "val"));
  if (index === undefined || index > 5n || value === undefined || (width !== "dword" && width !== "qword")) return undefined;
  const base = { index: Number(index) as ArgIndex, width: width as Width, value };
  if (op?.type === "string" && ["eq", "ne", "lt", "le", "gt", "ge"].includes(op.value)) {
    return { ...base, op: op.value as Condition["op"] };
  }
  const mask = op?.type === "object" ? integer(context, property(op, "masked_eq")) : undefined;
  return mask === undefined ? undefined : { ...base, op: "masked_eq", mask };
}

/** An exact unsigned integer from a number node. @private */
function integer(context: Context, node: JsonNode | undefined): bigint | undefined {
  if (node?.type !== "number") return undefined;
  const result = readUnsignedInteger(context.text.slice(node.offset, node.offset + node.length));
  return result.ok ? result.value : undefined;
}

/** Reads one rule leniently; undefined when the front end has something to say about it. @private */
function readRule(context: Context, node: JsonNode, path: (string | number)[]): ReadRule | undefined {
  if (node.type !== "object") return undefined;
  const syscall = property(node, "syscall");
  if (syscall?.type !== "string") return undefined;
  const nr = context.arch.syscalls.get(syscall.value);
  if (nr === undefined) return undefined;
  const args = property(node, "args");
  const rule = { name: syscall.value as string, nr, syscall, path };
  if (args === undefined || args.type === "null") return rule;
  if (args.type !== "array" || (args.children ?? []).length === 0) return undefined;
  const conditionNodes = args.children!;
  const conditions = conditionNodes.map((child) => readCondition(context, child));
  if (conditions.some((c) => c === undefined)) return undefined;
  return { ...rule, conditions: conditions as Condition[], conditionNodes };
}

/** All checks of one filter. @private */
function lintFilter(context: Context, name: string, key: JsonNode, node: JsonNode): void {
  if (node.type !== "object") return;
  const mismatch = readAction(property(node, "default_action", "mismatch_action"));
  const match = readAction(property(node, "filter_action", "match_action"));
  const list = property(node, "filter");
  const rules: ReadRule[] = [];
  for (const [i, child] of (list?.type === "array" ? list.children ?? [] : []).entries()) {
    const rule = readRule(context, child, [name, "filter", i]);
    if (rule) rules.push(rule);
  }
  const live = rules.filter((rule) => checkConditions(context, rule));
  checkRedundancy(context, live);
  if (match && mismatch && letsThrough(match) && !letsThrough(mismatch)) {
    checkExitSyscalls(context, name, key, rules);
    checkDangerous(context, rules);
  }
}

/** `never-matches`, `always-matches`, `always-true-condition`; returns false for a rule that never matches. @private */
function checkConditions(context: Context, rule: ReadRule): boolean {
  const { conditions, conditionNodes } = rule;
  if (conditions === undefined) return true;
  const line = (node: JsonNode) => context.locate(node.offset, node.length).line;
  if (neverHolds(conditions)) {
    report(
      context,
      "warning",
      "never-matches",
      `the rule for "${rule.name}" can never match: its conditions contradict each other`,
      [...rule.path, "syscall"],
      rule.syscall,
      "an argument cannot satisfy all of them at once (conditions in one rule are ANDed); to allow either value, write two rules",
    );
    return false;
  }
  const always = conditions.map(alwaysHolds);
  if (always.every(Boolean)) {
    report(
      context,
      "warning",
      "always-matches",
      `the rule for "${rule.name}" matches every call: ${conditions.length === 1 ? "its condition holds" : "each of its conditions holds"} for any argument`,
      [...rule.path, "syscall"],
      rule.syscall,
      "drop \"args\" to say so plainly, or fix the comparison",
    );
    return true;
  }
  always.forEach((isAlways, i) => {
    if (!isAlways) return;
    report(
      context,
      "warning",
      "always-true-condition",
      `this condition of the "${rule.name}" rule (line ${line(rule.syscall)}) holds for any argument and checks nothing`,
      [...rule.path, "args", i],
      conditionNodes![i],
      "remove it, or fix the comparison (ge 0, le the maximum and a zero mask are always true)",
    );
  });
  return true;
}

/** `redundant-rule` and `duplicate-rule` among the rules of each syscall. @private */
function checkRedundancy(context: Context, rules: readonly ReadRule[]): void {
  const line = (rule: ReadRule) => context.locate(rule.syscall.offset, rule.syscall.length).line;
  const groups = new Map<number, ReadRule[]>();
  for (const rule of rules) groups.set(rule.nr, [...(groups.get(rule.nr) ?? []), rule]);
  for (const group of groups.values()) {
    const unconditional = group.find((rule) => rule.conditions === undefined);
    const conditional = group.filter((rule) => rule.conditions !== undefined);
    if (unconditional) {
      for (const rule of conditional) {
        report(
          context,
          "warning",
          "redundant-rule",
          `the rule for "${rule.name}" is redundant: the unconditional rule on line ${line(unconditional)} already allows every call`,
          [...rule.path, "syscall"],
          rule.syscall,
          "keep either the unconditional rule or the conditional ones",
        );
      }
      continue;
    }
    const reported = new Set<ReadRule>();
    for (let j = 0; j < conditional.length; j++) {
      for (let i = 0; i < j; i++) {
        const [a, b] = [conditional[i], conditional[j]];
        if (reported.has(a) || reported.has(b)) continue;
        if (ruleKey(a.conditions!) === ruleKey(b.conditions!)) {
          report(
            context,
            "warning",
            "duplicate-rule",
            `the rule for "${b.name}" repeats the rule on line ${line(a)}`,
            [...b.path, "syscall"],
            b.syscall,
            "remove the repeated rule",
          );
          reported.add(b);
        } else if (ruleImplies(b.conditions!, a.conditions!) || ruleImplies(a.conditions!, b.conditions!)) {
          // The narrower rule is the redundant one.
          const [narrow, broad] = ruleImplies(b.conditions!, a.conditions!) ? [b, a] : [a, b];
          report(
            context,
            "warning",
            "redundant-rule",
            `the rule for "${narrow.name}" is redundant: every call it matches is matched by the broader rule on line ${line(broad)}`,
            [...narrow.path, "syscall"],
            narrow.syscall,
            "remove it, or narrow the broader rule",
          );
          reported.add(narrow);
        }
      }
    }
  }
}

/** `missing-exit-syscall` for an allowlist. @private */
function checkExitSyscalls(context: Context, name: string, key: JsonNode, rules: readonly ReadRule[]): void {
  const present = new Set(rules.map((rule) => rule.nr));
  const missing = EXIT_SYSCALLS.filter((syscall) => {
    const nr = context.arch.syscalls.get(syscall);
    return nr !== undefined && !present.has(nr);
  });
  if (missing.length === 0) return;
  report(
    context,
    "warning",
    "missing-exit-syscall",
    `filter "${name}" is an allowlist without ${missing.map((s) => `"${s}"`).join(", ")}`,
    [name],
    key,
    "every thread needs exit, every process exit_group, and any signal handler rt_sigreturn; without them the program is killed when it ends or handles a signal",
  );
}

/** `dangerous-syscall` for each allowed dangerous syscall. @private */
function checkDangerous(context: Context, rules: readonly ReadRule[]): void {
  const warned = new Set<number>();
  for (const rule of rules) {
    const why = DANGEROUS_SYSCALLS.get(rule.name);
    if (why === undefined || warned.has(rule.nr)) continue;
    warned.add(rule.nr);
    report(
      context,
      "warning",
      "dangerous-syscall",
      `"${rule.name}" is allowed${rule.conditions ? " (with conditions)" : ""}: it ${why}`,
      [...rule.path, "syscall"],
      rule.syscall,
      "allow it only if the program really needs it, and narrow it with argument conditions where possible",
    );
  }
}
