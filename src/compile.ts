/**
 * The compiler's glue: front end → IR → code generation → optimizer → size check.
 *
 * @module
 */
import * as v from "valibot";
import { ARCH_NAMES, type ArchName } from "./arch/arch.ts";
import { BPF_MAXINSNS, type Program } from "./bpf/insn.ts";
import { generateProgram } from "./codegen/mod.ts";
import { optimizeProgram } from "./optimize/mod.ts";
import { type Diagnostic, PolicyError } from "./diagnostics.ts";
import { type Filter, validateFilter } from "./ir.ts";
import { type CompiledPolicy, compileValidPolicy } from "./compile_valid.ts";
import { parsePolicy } from "./policy/frontend.ts";

export type { CompiledPolicy };

/** Options of {@link compilePolicy} and {@link compileFromJson}. */
export interface CompileOptions {
  /** File name used in diagnostics (default `<policy>`). */
  readonly file?: string;
  /** Drop every argument condition (the deprecated `--basic` mode). */
  readonly basic?: boolean;
  /**
   * Try the fast path for valid policies first (default true). `false`
   * always runs the positioned front end; the results are identical either
   * way (programs, filters, warnings and diagnostics), only slower.
   */
  readonly fastPath?: boolean;
}

const ArchSchema = v.picklist(ARCH_NAMES, `arch must be one of ${ARCH_NAMES.join(", ")}`);
const OptionsSchema = v.optional(
  v.strictObject({
    file: v.optional(v.string("options.file must be a string")),
    basic: v.optional(v.boolean("options.basic must be a boolean")),
    fastPath: v.optional(v.boolean("options.fastPath must be a boolean")),
  }, "options has an unknown key"),
);

/** Throws a TypeError naming the first invalid argument. @private */
function checkArguments(text: unknown, arch: unknown, options: unknown): void {
  const problems = [
    v.safeParse(v.string("policy text must be a string"), text),
    v.safeParse(ArchSchema, arch),
    v.safeParse(OptionsSchema, options),
  ].flatMap((result) => (result.success ? [] : result.issues.map((issue) => issue.message)));
  if (problems.length > 0) throw new TypeError(problems.join("; "));
}

/**
 * Compiles one IR filter to a BPF program. Throws a {@link PolicyError} when
 * the filter is invalid or the program exceeds the kernel's 4096 instructions.
 *
 * @example
 * ```ts
 * import { ALLOW, errno, seccompFilter } from "./ir.ts";
 * const program = compileFilter(seccompFilter({ arch: "x86_64", mismatchAction: errno(1), matchAction: ALLOW, rules: { read: [] } }));
 * ```
 */
export function compileFilter(filter: Filter, thread = "filter"): Program {
  const problems = validateFilter(filter).filter((d) => d.severity === "error");
  if (problems.length > 0) throw new PolicyError(problems);
  const program = optimizeProgram(generateProgram(filter));
  const tooLong = checkLength(thread, program);
  if (tooLong) throw new PolicyError([tooLong]);
  return program;
}

/** The diagnostic for a program over the kernel limit, if it is. @private */
function checkLength(thread: string, program: Program, position?: Diagnostic["position"]): Diagnostic | undefined {
  if (program.length <= BPF_MAXINSNS) return undefined;
  return {
    code: "program-too-long",
    message: `filter "${thread}" compiles to ${program.length} instructions; the kernel accepts at most ${BPF_MAXINSNS}`,
    path: `$${jsonPathKey(thread)}`,
    hint: "split the thread's rules, or drop argument checks that are not needed",
    severity: "error",
    ...(position ? { position } : {}),
  };
}

/** `.name` or `["odd name"]`. @private */
function jsonPathKey(key: string): string {
  return /^[A-Za-z_][A-Za-z0-9_]*$/.test(key) ? `.${key}` : `[${JSON.stringify(key)}]`;
}

/**
 * Compiles a JSON policy for one architecture, returning programs and warnings.
 * Throws a {@link PolicyError} carrying every error in the document.
 *
 * @example
 * ```ts
 * const { programs, warnings } = compilePolicy('{"main": {"default_action": "trap", "filter_action": "allow", "filter": [{"syscall": "read"}]}}', "x86_64");
 * ```
 */
export function compilePolicy(text: string, arch: ArchName, options: CompileOptions = {}): CompiledPolicy {
  checkArguments(text, arch, options);
  if (options.fastPath !== false) {
    const compiled = compileValidPolicy(text, arch, options.basic ?? false);
    if (compiled !== undefined) return compiled;
  }
  const parsed = parsePolicy(text, arch, { file: options.file ?? "<policy>", basic: options.basic ?? false });
  const errors = parsed.diagnostics.filter((d) => d.severity === "error");
  if (errors.length > 0) throw new PolicyError(errors, text);
  const programs = new Map<string, Program>();
  const tooLong: Diagnostic[] = [];
  for (const [thread, filter] of parsed.filters) {
    const program = optimizeProgram(generateProgram(filter));
    const problem = checkLength(thread, program, parsed.threadPositions?.get(thread));
    if (problem) tooLong.push(problem);
    programs.set(thread, program);
  }
  if (tooLong.length > 0) throw new PolicyError(tooLong, text);
  return { programs, filters: parsed.filters, warnings: parsed.diagnostics.filter((d) => d.severity === "warning") };
}

/**
 * Compiles a JSON policy: thread name → BPF program (sorted by thread name).
 *
 * @example
 * ```ts
 * import { readFileSync } from "node:fs";
 * const programs = compileFromJson(readFileSync("policies/example.json", "utf8"), "x86_64");
 * programs.get("vmm")?.length;
 * ```
 */
export function compileFromJson(text: string, arch: ArchName, options: CompileOptions = {}): Map<string, Program> {
  return compilePolicy(text, arch, options).programs;
}
