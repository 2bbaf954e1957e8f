/**
 * Errors as values: every problem seccompiler reports has a stable code, a
 * message, and (for policy text) a position with a JSON path.
 *
 * @module
 */

/** Where in a policy document a problem is. */
export interface SourcePosition {
  /** File name as given by the user (`<stdin>` for standard input). */
  readonly file: string;
  /** 1-based line. */
  readonly line: number;
  /** 1-based column, counted in UTF-16 code units like editors do. */
  readonly column: number;
  /** 0-based offset of the first character. */
  readonly offset: number;
  /** Length of the offending span (at least 1 for the caret). */
  readonly length: number;
}

/**
 * Every code a {@link Diagnostic} can carry. These are public and stable
 * (`--format json` prints them; scripts match on them): a code is never
 * renamed or reused for another problem, only added. One problem has one
 * code, whichever front end (JSON policy or `seccompFilter`) finds it.
 */
export type DiagnosticCode =
  // JSON syntax (policy/parse.ts)
  | "empty-input"
  | "json-syntax"
  | "trailing-content"
  | "nesting-too-deep"
  // document structure
  | "top-level-not-object"
  | "wrong-type"
  | "unknown-key"
  | "missing-key"
  | "duplicate-key"
  | "duplicate-filter"
  | "alias-conflict"
  | "comment-type"
  // numbers
  | "negative-number"
  | "negative-zero"
  | "fractional-number"
  | "exponent-number"
  | "number-too-large"
  // actions
  | "unknown-action"
  | "missing-payload"
  | "unexpected-payload"
  | "bad-action-object"
  | "errno-range"
  | "trace-range"
  | "equal-actions"
  // conditions
  | "index-range"
  | "unknown-type"
  | "unknown-operator"
  | "missing-mask"
  | "unexpected-mask"
  | "dword-range"
  | "value-outside-mask"
  // rules and syscalls
  | "unknown-arch"
  | "unknown-syscall"
  | "syscall-number"
  | "syscall-order"
  | "duplicate-syscall"
  | "empty-args"
  | "duplicate-unconditional"
  | "conflicting-rules"
  // Firecracker thread names (src/firecracker.ts)
  | "thread-name-case"
  | "missing-thread-category"
  | "unknown-thread-category"
  // policies that compile but are probably wrong (seccompiler lint)
  | "never-matches"
  | "always-matches"
  | "always-true-condition"
  | "redundant-rule"
  | "duplicate-rule"
  | "missing-exit-syscall"
  | "dangerous-syscall"
  // whole program and I/O
  | "program-too-long"
  | "io"
  // compile: a filter file over Firecracker's 100,000-byte limit (a warning)
  | "container-size";

/** One problem found in a policy or in a filter built through the API. */
export interface Diagnostic {
  /** Stable machine-readable code (see {@link DiagnosticCode}), e.g. `unknown-key`, `unknown-syscall`. */
  readonly code: DiagnosticCode;
  /** One-line description without position. */
  readonly message: string;
  /** JSON path of the offending value, e.g. `$.vmm.filter[3].args[0].val`. */
  readonly path: string;
  /** What to do about it, when there is something useful to say. */
  readonly hint?: string;
  /** Source position; absent for problems in filters built through the API. */
  readonly position?: SourcePosition;
  /** Warnings do not stop compilation. */
  readonly severity: "error" | "warning";
}

/**
 * Thrown by the library entry points when a policy or filter is invalid; it
 * carries every problem found, not just the first.
 *
 * @example
 * ```ts
 * import { compileFromJson } from "./compile.ts";
 * try { compileFromJson("{", "x86_64"); } catch (e) { if (e instanceof PolicyError) console.log(e.diagnostics.length); }
 * ```
 */
export class PolicyError extends Error {
  /** Stable code of this error class. */
  readonly code = "policy-invalid";
  /** Every problem found. */
  readonly diagnostics: readonly Diagnostic[];
  constructor(diagnostics: readonly Diagnostic[], source?: string) {
    const bounded = diagnostics.map(boundDiagnostic);
    super(bounded.map((d) => formatDiagnostic(d, source)).join("\n"));
    this.name = "PolicyError";
    this.diagnostics = bounded;
  }
}

/**
 * Renders a diagnostic the way compilers do:
 *
 * ```text
 * p.json:4:20: error: unknown syscall "opne" for x86_64; did you mean "open"?
 *   at $.vmm.filter[2].syscall
 *    4 |       { "syscall": "opne" },
 *      |                    ^^^^^^
 *   hint: ...
 * ```
 *
 * @example
 * ```ts
 * formatDiagnostic({ code: "io", message: "bad", path: "$", severity: "error" }); // "error: bad\n  at $"
 * ```
 */
export function formatDiagnostic(unbounded: Diagnostic, source?: string): string {
  const diagnostic = boundDiagnostic(unbounded);
  const { position } = diagnostic;
  const where = position ? `${position.file}:${position.line}:${position.column}: ` : "";
  const lines = [`${where}${diagnostic.severity}: ${diagnostic.message}`, `  at ${diagnostic.path}`];
  if (position && source !== undefined) {
    const excerpt = excerptAt(source, position);
    if (excerpt !== undefined) {
      const gutter = String(position.line);
      const pad = " ".repeat(gutter.length);
      // Tabs keep their width in the caret line so the caret stays under the value.
      const indent = excerpt.text.slice(0, excerpt.caretStart).replace(/[^\t]/g, " ");
      const caretLength = Math.max(1, Math.min(position.length, excerpt.text.length - excerpt.caretStart));
      lines.push(`  ${gutter} | ${excerpt.text}`, `  ${pad} | ${indent}${"^".repeat(caretLength)}`);
    }
  }
  if (diagnostic.hint) lines.push(`  hint: ${diagnostic.hint}`);
  return lines.join("\n");
}

/** Longest user-supplied name quoted whole in a message ({@link quoteName}). */
export const QUOTED_NAME_MAX = 64;

/**
 * Quotes a user-supplied name for a message, cutting it when it is longer
 * than `max` characters so that a hostile input cannot make a message huge.
 *
 * @example
 * ```ts
 * quoteName("vmm"); // "\"vmm\""
 * quoteName("a".repeat(1000)); // "\"aaaa…\" (1000 characters)"
 * ```
 */
export function quoteName(name: string, max = QUOTED_NAME_MAX): string {
  if (name.length <= max) return JSON.stringify(name);
  return `${JSON.stringify(name.slice(0, max)).slice(0, -1)}…" (${name.length} characters)`;
}

/**
 * The diagnostic with every quoted string in its message and hint, and every
 * long key in its path, cut to {@link QUOTED_NAME_MAX} characters: a 50 MB
 * syscall name is reported by its first characters and its length, never
 * copied into the message, the path and a "did you mean" three times over.
 *
 * @example
 * ```ts
 * boundDiagnostic({ code: "unknown-syscall", message: `unknown syscall "${"a".repeat(1000)}"`, path: "$", severity: "error" }).message.length; // < 100
 * ```
 */
export function boundDiagnostic(diagnostic: Diagnostic): Diagnostic {
  const { message, path, hint } = diagnostic;
  const long = message.length > 4 * QUOTED_NAME_MAX || path.length > 4 * QUOTED_NAME_MAX || (hint?.length ?? 0) > 4 * QUOTED_NAME_MAX;
  if (!long) return diagnostic;
  return {
    ...diagnostic,
    message: shortenQuoted(message),
    path: path.replace(/[^.[\]"]{65,}/g, (key) => `${key.slice(0, QUOTED_NAME_MAX)}…(${key.length} characters)`),
    ...(hint === undefined ? {} : { hint: shortenQuoted(hint) }),
  };
}

/**
 * Cuts each JSON-quoted string of `text` longer than {@link QUOTED_NAME_MAX},
 * and the text itself past 4096 characters. A plain scan, not a regular
 * expression: engines give up on an alternation repeated millions of times.
 * @private
 */
function shortenQuoted(text: string): string {
  let out = "";
  let i = 0;
  while (i < text.length && out.length <= 4096) {
    const open = text.indexOf('"', i);
    if (open < 0) {
      out += text.slice(i);
      break;
    }
    let close = open + 1;
    while (close < text.length && text[close] !== '"') close += text[close] === "\\" ? 2 : 1;
    out += text.slice(i, open);
    const inner = text.slice(open + 1, Math.min(close, text.length));
    if (inner.length <= QUOTED_NAME_MAX) {
      out += `"${inner}"`;
    } else {
      // Drop a half-cut escape sequence at the end.
      const head = inner.slice(0, QUOTED_NAME_MAX).replace(/\\(u[0-9a-fA-F]{0,3})?$/, "");
      out += `"${head}…" (${inner.length} characters)`;
    }
    i = close + 1;
  }
  return out.length > 4096 ? `${out.slice(0, 4096)}…` : out;
}

/** Lines up to this long are quoted whole. */
const EXCERPT_WHOLE_LINE = 160;
/** Characters of context shown on each side of the caret in longer lines. */
const EXCERPT_CONTEXT = 60;

/**
 * The part of the position's line worth quoting: the whole line when it is
 * at most {@link EXCERPT_WHOLE_LINE} characters, otherwise a window around
 * the column marked with "…". Only that much is scanned, so quoting many
 * positions of one huge line stays linear.
 * @private
 */
function excerptAt(source: string, position: SourcePosition): { text: string; caretStart: number } | undefined {
  const { offset, column } = position;
  if (offset < 0 || offset > source.length || column < 1) return undefined;
  const lineStart = offset - (column - 1);
  const lineEnd = (limit: number) => {
    let end = offset;
    while (end < limit && source.charCodeAt(end) !== 10) end++;
    return end;
  };
  const shortEnd = lineEnd(Math.min(source.length, lineStart + EXCERPT_WHOLE_LINE + 1));
  const whole = shortEnd - lineStart <= EXCERPT_WHOLE_LINE && (shortEnd === source.length || source.charCodeAt(shortEnd) === 10);
  const from = whole ? lineStart : Math.max(lineStart, offset - EXCERPT_CONTEXT);
  // A huge value (a 50 MB name) is shown by its start only: the caret line stops with the excerpt.
  const to = whole ? shortEnd : lineEnd(Math.min(source.length, offset + Math.min(Math.max(position.length, 1), EXCERPT_CONTEXT) + EXCERPT_CONTEXT));
  const cutEnd = to < source.length && source.charCodeAt(to) !== 10;
  let text = source.slice(from, to).replace(/\r$/, "");
  let caretStart = offset - from;
  if (from > lineStart) {
    text = `…${text}`;
    caretStart += 1;
  }
  if (cutEnd) text = `${text}…`;
  return { text, caretStart };
}

/**
 * A diagnostic as plain JSON, the shape every `--format json` output uses
 * (`compile`, `lint`): severity, code, message, JSON path, then hint and
 * `file`/`line`/`column` when known.
 *
 * @example
 * ```ts
 * const json = diagnosticToJson({ severity: "error", code: "unknown-syscall", message: "unknown syscall", path: "$.vmm" });
 * ```
 */
export function diagnosticToJson(d: Diagnostic): Record<string, unknown> {
  return {
    severity: d.severity,
    code: d.code,
    message: d.message,
    path: d.path,
    ...(d.hint ? { hint: d.hint } : {}),
    ...(d.position ? { file: d.position.file, line: d.position.line, column: d.position.column } : {}),
  };
}
