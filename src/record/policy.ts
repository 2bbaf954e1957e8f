/**
 * A recording → policy text (JSONC: one rule per line with a `// seen N
 * times` comment), and merging a recording into an existing policy without
 * touching what is already there.
 *
 * @module
 */
import { type JsonNode, parseJson, readUnsignedInteger } from "../policy/parse.ts";
import type { ArgSpec, GroupRecording, RecordedRule, Recording } from "./recording.ts";

/** The rules of one group in output order: by syscall name, then by recorded values. @private */
function orderedRules(group: GroupRecording): RecordedRule[] {
  const names = [...group.syscalls.keys()].sort();
  return names.flatMap((name) =>
    [...group.syscalls.get(name)!.rules.values()].sort((a, b) => compareValues(a.values ?? [], b.values ?? []))
  );
}

/** @private */
function compareValues(a: readonly bigint[], b: readonly bigint[]): number {
  for (let i = 0; i < Math.min(a.length, b.length); i++) if (a[i] !== b[i]) return a[i] < b[i] ? -1 : 1;
  return a.length - b.length;
}

/** One rule as compact JSON. @private */
function ruleJson(rule: RecordedRule, specs: readonly ArgSpec[]): string {
  if (rule.values === undefined) return `{ "syscall": ${JSON.stringify(rule.syscall)} }`;
  const own = specs.filter((spec) => spec.syscall === rule.syscall);
  const conditions = own.map((spec, i) =>
    `{ "index": ${spec.index}, "type": "${spec.width}", "op": "eq", "val": ${rule.values![i]} }`
  );
  return `{ "syscall": ${JSON.stringify(rule.syscall)}, "args": [${conditions.join(", ")}] }`;
}

/** `// seen 3 times` (with the values in hex when there are some). @private */
function comment(rule: RecordedRule): string {
  const hex = rule.values?.length ? ` (${rule.values.map((v) => `0x${v.toString(16)}`).join(", ")})` : "";
  return `// seen ${rule.count} time${rule.count === 1 ? "" : "s"}${hex}`;
}

/** Rule lines at `indent`, commas on all but the last unless `trailingComma`. @private */
function ruleLines(rules: readonly RecordedRule[], specs: readonly ArgSpec[], indent: string, trailingComma = false): string[] {
  return rules.map((rule, i) =>
    `${indent}${ruleJson(rule, specs)}${i < rules.length - 1 || trailingComma ? "," : ""} ${comment(rule)}`
  );
}

/** One filter object's text, its first line unindented. @private */
function filterText(name: string, group: GroupRecording, specs: readonly ArgSpec[], indent: string): string {
  const rules = orderedRules(group);
  const threads = [...group.threads].sort().map((t) => JSON.stringify(t)).join(", ");
  return [
    `${indent}// threads: ${threads}`,
    `${indent}${JSON.stringify(name)}: {`,
    `${indent}  "default_action": "kill_process",`,
    `${indent}  "filter_action": "allow",`,
    `${indent}  "filter": [`,
    ...ruleLines(rules, specs, `${indent}    `),
    `${indent}  ]`,
    `${indent}}`,
  ].join("\n");
}

/**
 * The recording as a policy: one filter per thread group (sorted by name),
 * mismatch action `kill_process`, one rule per syscall and per distinct
 * recorded argument tuple, each with a `// seen N times` comment.
 *
 * @example
 * ```ts
 * import { newRecording } from "./recording.ts";
 * const text = renderPolicy(newRecording(), [], "/bin/ls -l /");
 * ```
 */
export function renderPolicy(recording: Recording, specs: readonly ArgSpec[], command: string): string {
  const names = [...recording.groups.keys()].sort();
  const filters = names.map((name) => filterText(name, recording.groups.get(name)!, specs, "  "));
  return [
    `// Recorded by 'seccompiler record' from: ${command.replace(/[\r\n]/g, " ")}`,
    "// Review before use: only the code paths this run took are allowed.",
    "{",
    filters.join(",\n"),
    "}",
    "",
  ].join("\n");
}

/**
 * A bad existing policy for --merge.
 *
 * @example
 * ```ts
 * import { newRecording } from "./recording.ts";
 * try { mergePolicy("[]", newRecording(), []); } catch (e) { if (e instanceof MergeError) console.log(e.message); }
 * ```
 */
export class MergeError extends Error {
  /** Stable code. */
  readonly code = "merge";
}

/** What {@link mergePolicy} did. */
export interface MergeResult {
  /** The merged text (identical to the input when nothing was added). */
  readonly text: string;
  /** Rules added, per filter. */
  readonly added: Map<string, number>;
  /** Filters added. */
  readonly newFilters: string[];
  /** Recorded calls the existing policy restricts by arguments that were recorded without them (not added). */
  readonly skipped: string[];
}

/** Key/value pairs of an object node. @private */
function properties(node: JsonNode): [JsonNode, JsonNode][] {
  return (node.children ?? []).flatMap((p) => (p.children?.length === 2 ? [[p.children[0], p.children[1]] as [JsonNode, JsonNode]] : []));
}

/** The canonical key of an existing rule node, as {@link ruleKey} computes it for recorded ones; undefined if unreadable. @private */
function existingRuleKey(text: string, node: JsonNode): { syscall: string; key?: string } | undefined {
  if (node.type !== "object") return undefined;
  const fields = new Map(properties(node).map(([k, v]) => [k.value as string, v]));
  const syscall = fields.get("syscall");
  if (syscall?.type !== "string") return undefined;
  const args = fields.get("args");
  if (args === undefined || args.type === "null") return { syscall: syscall.value };
  const parts: string[] = [];
  for (const condition of args.children ?? []) {
    const c = new Map(properties(condition).map(([k, v]) => [k.value as string, v]));
    const number = (n: JsonNode | undefined) => {
      if (n?.type !== "number") return undefined;
      const r = readUnsignedInteger(text.slice(n.offset, n.offset + n.length));
      return r.ok ? r.value : undefined;
    };
    const index = number(c.get("index"));
    const val = number(c.get("val"));
    const op = c.get("op")?.value;
    const width = c.get("type")?.value;
    if (index === undefined || val === undefined || typeof op !== "string") return { syscall: syscall.value, key: "?" };
    parts.push(`${index}:${width}:${op}:${val}`);
  }
  return { syscall: syscall.value, key: parts.sort().join("&") };
}

/** The key of a recorded rule in the form of {@link existingRuleKey}. @private */
function ruleKey(rule: RecordedRule, specs: readonly ArgSpec[]): string | undefined {
  if (rule.values === undefined) return undefined;
  const own = specs.filter((spec) => spec.syscall === rule.syscall);
  return own.map((spec, i) => `${spec.index}:${spec.width}:eq:${rule.values![i]}`).sort().join("&");
}

/** Indentation of the line `offset` is on. @private */
function indentAt(text: string, offset: number): string {
  const start = text.lastIndexOf("\n", offset - 1) + 1;
  return /^[ \t]*/.exec(text.slice(start))![0];
}

/** One text insertion. @private */
interface Edit {
  readonly offset: number;
  readonly text: string;
}

/**
 * Adds to `existing` only what the recording has and it lacks: rules
 * appended at the end of a filter's list, filters appended at the end of the
 * document, each with its comment. Nothing already there is changed, so
 * merging the same recording twice changes nothing the second time.
 *
 * A syscall that the existing filter allows without conditions covers every
 * recorded rule of it. A syscall the recording has without argument values
 * but the filter restricts by arguments is not added (that would make the
 * policy contradict itself); it is listed in `skipped`.
 *
 * @example
 * ```ts
 * import { newRecording } from "./recording.ts";
 * declare const existingText: string;
 * const { text, added } = mergePolicy(existingText, newRecording(), []);
 * ```
 */
export function mergePolicy(existing: string, recording: Recording, specs: readonly ArgSpec[], file = "<policy>"): MergeResult {
  const parsed = parseJson(existing, file);
  const root = parsed.root;
  if (!root || root.type !== "object") {
    const first = parsed.diagnostics[0];
    throw new MergeError(
      first
        ? `${file}:${first.position?.line}:${first.position?.column}: ${first.message}`
        : `${file} is not a policy (a JSON object of filters)`,
    );
  }
  const edits: Edit[] = [];
  const added = new Map<string, number>();
  const skipped: string[] = [];
  const newFilters: string[] = [];
  const filters = new Map(properties(root).map(([k, v]) => [k.value as string, v]));
  for (const [name, group] of [...recording.groups].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    const filter = filters.get(name);
    if (filter === undefined) {
      newFilters.push(name);
      continue;
    }
    const list = filter.type === "object" ? properties(filter).find(([k]) => k.value === "filter")?.[1] : undefined;
    if (list?.type !== "array") throw new MergeError(`${file}: filter "${name}" has no "filter" list to add rules to`);
    const unconditional = new Set<string>();
    const conditional = new Map<string, Set<string>>();
    for (const node of list.children ?? []) {
      const rule = existingRuleKey(existing, node);
      if (!rule) continue;
      if (rule.key === undefined) unconditional.add(rule.syscall);
      else conditional.set(rule.syscall, (conditional.get(rule.syscall) ?? new Set()).add(rule.key));
    }
    const missing = orderedRules(group).filter((rule) => {
      if (unconditional.has(rule.syscall)) return false;
      const key = ruleKey(rule, specs);
      if (key === undefined) {
        if (conditional.has(rule.syscall)) {
          skipped.push(`${name}: ${rule.syscall}`);
          return false;
        }
        return true;
      }
      return !conditional.get(rule.syscall)?.has(key);
    });
    if (missing.length === 0) continue;
    added.set(name, missing.length);
    edits.push(...appendToArray(existing, list, ruleLines(missing, specs, "")));
  }
  if (newFilters.length > 0) {
    const pairs = properties(root);
    const indent = pairs.length > 0 ? indentAt(existing, pairs[0][0].offset) : "  ";
    const texts = newFilters.map((name) => filterText(name, recording.groups.get(name)!, specs, indent));
    const close = root.offset + root.length - 1;
    if (pairs.length === 0) {
      edits.push({ offset: close, text: `\n${texts.join(",\n")}\n` });
    } else {
      const last = pairs[pairs.length - 1][1];
      edits.push(...afterElement(existing, last.offset + last.length, `\n${texts.join(",\n")}`));
    }
  }
  edits.sort((a, b) => b.offset - a.offset);
  let text = existing;
  for (const edit of edits) text = text.slice(0, edit.offset) + edit.text + text.slice(edit.offset);
  return { text, added, newFilters, skipped };
}

/** The edits that append `lines` (unindented) to an array node. @private */
function appendToArray(text: string, list: JsonNode, lines: string[]): Edit[] {
  const items = list.children ?? [];
  if (items.length === 0) {
    const outer = indentAt(text, list.offset);
    const body = lines.map((line) => `${outer}  ${line}`);
    return [{ offset: list.offset + 1, text: `\n${body.join("\n")}\n${outer}` }];
  }
  const last = items[items.length - 1];
  const indent = indentAt(text, last.offset);
  return afterElement(text, last.offset + last.length, `\n${lines.map((line) => `${indent}${line}`).join("\n")}`);
}

/**
 * The edits that add `addition` after an element ending at `end`: a comma
 * right after the element, and the addition after whatever comment follows
 * it on the same line (or right after the comma when more code follows).
 * @private
 */
function afterElement(text: string, end: number, addition: string): Edit[] {
  const newline = text.indexOf("\n", end);
  const lineEnd = newline === -1 ? text.length : newline;
  const rest = text.slice(end, lineEnd);
  if (!/^[ \t]*(\/\*.*?\*\/[ \t]*)*(\/\/.*)?\r?$/.test(rest)) return [{ offset: end, text: `,${addition}` }];
  const at = lineEnd - (rest.endsWith("\r") ? 1 : 0);
  return at === end ? [{ offset: end, text: `,${addition}` }] : [{ offset: end, text: "," }, { offset: at, text: addition }];
}
