/**
 * `seccompiler lint POLICY`: every compile error plus warnings about
 * policies that compile but are probably wrong, each at `file:line:col`.
 *
 * @module
 */
import { ARCH_NAMES, type ArchName } from "../arch/arch.ts";
import { diagnosticToJson, formatDiagnostic } from "../diagnostics.ts";
import { DEFAULT_MAX_INPUT_BYTES, formatInputError, InputError, parseArchOption, parseByteCount, readPolicyFile } from "../input.ts";
import { lintPolicy } from "../lint/mod.ts";
import { setJitScale, WORK_JIT_SCALE } from "../jit_policy.ts";
import { parseCommandLine } from "./args.ts";
import { err, EXIT, out, UsageError } from "./output.ts";

const HELP = `Usage: seccompiler lint POLICY.json [--target-arch ARCH] [--firecracker]
                       [--format text|json] [--deny-warnings]

Checks a JSON policy and reports each finding as file:line:col with a stable code:
every error 'compile' would report (unknown-syscall suggests the replacement,
e.g. open → openat on aarch64), and warnings for rules that compile but are
probably wrong:
  never-matches, always-matches, always-true-condition   conditions that decide nothing
  redundant-rule, duplicate-rule                         rules covered by another rule
  missing-exit-syscall   an allowlist without exit, exit_group or rt_sigreturn
  dangerous-syscall      an allowlist allowing execve, ptrace, bpf, init_module, ...
  thread-name-case       (error) two filter names equal except for letter case
  missing-thread-category, unknown-thread-category
                         with --firecracker: no vmm, api or vcpu filter, or another one

Options:
  -t, --target-arch ARCH  ${ARCH_NAMES.join(", ")} (default: this machine's)
      --firecracker       the policy is for Firecracker: warn when vmm, api or vcpu is
                          missing or another thread is present
      --format text|json  json: print {"ok", "errors", "warnings", "findings": [...]} on stdout
      --deny-warnings     exit 1 on warnings too
      --max-input-bytes N largest policy read, in bytes (default ${DEFAULT_MAX_INPUT_BYTES})
  -h, --help              show this help

Exit codes: 0 no errors (warnings allowed unless --deny-warnings), 1 errors
(or warnings with --deny-warnings) or unreadable file, 2 usage error.
`;

/** Validated options. @private */
interface LintRun {
  readonly input: string;
  readonly arch: ArchName;
  readonly json: boolean;
  readonly denyWarnings: boolean;
  readonly firecracker: boolean;
  readonly maxInputBytes: number;
}

/** argv → options, or a UsageError. @private */
function readOptions(args: string[]): LintRun | "help" {
  const { values, positionals } = parseCommandLine("lint", args, {
    "target-arch": { type: "string", short: "t" },
    format: { type: "string" },
    "deny-warnings": { type: "boolean" },
    firecracker: { type: "boolean" },
    "max-input-bytes": { type: "string" },
    help: { type: "boolean", short: "h" },
  }, true);
  if (values.help) return "help";
  if (positionals.length === 0) throw new UsageError("no policy given", "lint");
  if (positionals.length > 1) throw new UsageError(`unexpected argument "${positionals[1]}"`, "lint");
  const format = values.format ?? "text";
  if (format !== "text" && format !== "json") throw new UsageError('--format must be "text" or "json"', "lint");
  let arch: ArchName;
  let maxInputBytes: number;
  try {
    arch = parseArchOption(values["target-arch"]);
    maxInputBytes = parseByteCount(values["max-input-bytes"], "--max-input-bytes", DEFAULT_MAX_INPUT_BYTES);
  } catch (error) {
    if (error instanceof InputError) throw new UsageError(error.message, "lint");
    throw error;
  }
  return {
    maxInputBytes,
    input: positionals[0],
    arch,
    json: format === "json",
    denyWarnings: values["deny-warnings"] ?? false,
    firecracker: values.firecracker ?? false,
  };
}


/**
 * Runs `seccompiler lint` and returns the exit code.
 *
 * @example
 * ```ts
 * const code = lintCommand(["policies/example.json", "--target-arch", "x86_64"]);
 * ```
 */
export function lintCommand(args: string[]): number {
  // The analyses are heavy even for a small policy: measured faster with the JIT (src/jit_policy.ts).
  setJitScale(WORK_JIT_SCALE);
  const options = readOptions(args);
  if (options === "help") {
    out(HELP);
    return EXIT.OK;
  }
  let source: { text: string; file: string };
  try {
    source = readPolicyFile(options.input, { limit: options.maxInputBytes, allowStdin: true });
  } catch (error) {
    if (!(error instanceof InputError)) throw error;
    const message = formatInputError(error);
    if (options.json) {
      out(JSON.stringify({ ok: false, errors: 1, warnings: 0, findings: [{ severity: "error", code: "io", message, path: "$" }] }, null, 2));
    }
    err(message);
    return EXIT.FAILURE;
  }
  const findings = lintPolicy(source.text, { arch: options.arch, file: source.file, firecracker: options.firecracker });
  const errors = findings.filter((f) => f.severity === "error").length;
  const warnings = findings.length - errors;
  const failed = errors > 0 || (options.denyWarnings && warnings > 0);
  if (options.json) {
    out(JSON.stringify({ ok: !failed, arch: options.arch, errors, warnings, findings: findings.map(diagnosticToJson) }, null, 2));
  } else {
    for (const finding of findings) out(`${formatDiagnostic(finding, source.text).replace(/^([^\n]*)/, `$1 [${finding.code}]`)}`);
    const summary = findings.length === 0
      ? `${source.file}: no findings (${options.arch})`
      : `${source.file}: ${errors} error${errors === 1 ? "" : "s"}, ${warnings} warning${warnings === 1 ? "" : "s"} (${options.arch})`;
    err(summary);
  }
  return failed ? EXIT.FAILURE : EXIT.OK;
}
