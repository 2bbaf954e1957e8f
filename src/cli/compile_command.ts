/**
 * `seccompiler compile` (also the command when none is given): JSON policy →
 * Firecracker container, or raw `<thread>.bpf` files with `--split-output`.
 *
 * @module
 */
import { dirname, join } from "node:path";
import { ARCH_ALIASES, ARCH_NAMES, type ArchName, getArch } from "../arch/arch.ts";
import { encodeProgram } from "../bpf/encode.ts";
import { type CompiledPolicy, compileValidPolicy } from "../compile_valid.ts";
import { CONTAINER_FORMATS, type ContainerFormat, DEFAULT_BYTES_LIMIT, describeFormat, serializeBinary } from "../container.ts";
import { type Diagnostic, diagnosticToJson, formatDiagnostic, PolicyError, type SourcePosition } from "../diagnostics.ts";
import {
  caseCollisions,
  checkFirecrackerThreads,
  checkThreadNameCase,
  FIRECRACKER_LAYOUTS,
  firecrackerFormat,
  FirecrackerVersionError,
} from "../firecracker.ts";
import { OutputError, writeOutput, writeOutputs } from "../fs.ts";
import {
  DEFAULT_MAX_INPUT_BYTES,
  describeSystemError,
  formatInputError,
  InputError,
  MAX_BYTE_LIMIT,
  parseArchOption,
  quoteName,
  parseByteCount,
  readPolicyFile,
} from "../input.ts";
import { jitScaleForInput, setJitScale } from "../jit_policy.ts";
import { parseCommandLine } from "./args.ts";
import { err, EXIT, out, UsageError, writeAll } from "./output.ts";

const HELP = `Usage: seccompiler [compile] --target-arch ARCH --input-file POLICY.json [options]

Compiles a JSON seccomp policy (Firecracker / rust-vmm format, comments allowed)
into one BPF program per thread, written as a Firecracker filter file in the
layout of the current Firecracker (v1.15 and later), or of the release you name.

Options:
  -t, --target-arch ARCH   ${ARCH_NAMES.join(", ")} (case-insensitive; also ${Object.keys(ARCH_ALIASES).join(", ")})
  -i, --input-file FILE    the policy (UTF-8); "-" reads standard input
      --max-input-bytes N  largest policy accepted (default ${DEFAULT_MAX_INPUT_BYTES}, 16 MiB)
  -o, --output-file FILE   where to write (default: seccomp_binary_filter.out);
                           "-" writes to standard output. A regular file there is
                           replaced atomically (keeping its mode); a device or FIFO
                           is written into; a symbolic link is refused unless it
                           leads to a device or FIFO (e.g. /dev/stdout)
      --split-output       write raw <thread>.bpf files into the output file's
                           directory instead of one container file (all or none)
      --firecracker VERSION
                           write the filter file layout that Firecracker release
                           reads (MAJOR.MINOR[.PATCH], e.g. 1.14.1), and warn when
                           the policy lacks a thread Firecracker needs (vmm, api,
                           vcpu) or has one it refuses:
${FIRECRACKER_LAYOUTS.map((l) => `                             ${l.versions.padEnd(16)} ${l.format}`).join("\n")}
      --container bitcode|bincode
                           name the layout directly (default: bitcode, what
                           Firecracker v1.15 and later read)
  -b, --basic              deprecated: drop every argument check (the filter then
                           allows more than the policy says)
      --format text|json   json: print a machine-readable summary on stdout
  -h, --help               show this help

Examples:
  seccompiler --target-arch x86_64 --input-file policies/example.json --output-file example.out
  seccompiler compile -t aarch64 -i policy.json --split-output -o out/

Thread names that differ only in case are an error: Firecracker lowercases
names and would keep one of the two programs at random.

Exit codes: 0 ok, 1 policy or I/O error (every problem is reported), 2 usage error.
`;

/**
 * Validated options of one compile run. Checked by plain code, not a schema
 * library: a library's module load is a measurable part of a compile's start
 * (docs/bench.md). @private
 */
interface CompileRun {
  readonly input: string;
  readonly output: string;
  readonly basic: boolean;
  readonly split: boolean;
  readonly format: "text" | "json";
  readonly container: ContainerFormat;
  readonly firecracker?: string;
  readonly arch: ArchName;
  readonly maxInputBytes: number;
}

/** Turns raw argv into validated options, or throws a UsageError. @private */
function readOptions(args: string[]): CompileRun | "help" {
  const { values, positionals } = parseCommandLine("compile", args, {
    "target-arch": { type: "string", short: "t" },
    "input-file": { type: "string", short: "i" },
    "output-file": { type: "string", short: "o" },
    "split-output": { type: "boolean" },
    "max-input-bytes": { type: "string" },
    basic: { type: "boolean", short: "b" },
    format: { type: "string" },
    container: { type: "string" },
    firecracker: { type: "string" },
    help: { type: "boolean", short: "h" },
  }, true);
  if (values.help) return "help";
  if (positionals.length > 0) throw new UsageError(`unexpected argument "${positionals[0]}"`, "compile");
  const rawArch = values["target-arch"];
  if (typeof rawArch !== "string") throw new UsageError("missing --target-arch", "compile");
  if (typeof values["input-file"] !== "string") throw new UsageError("missing --input-file", "compile");
  const container = containerChoice(values.container, values.firecracker);
  if (values["split-output"] && (values.container !== undefined || values.firecracker !== undefined)) {
    throw new UsageError("--container and --firecracker choose a filter file layout; --split-output writes raw .bpf files", "compile");
  }
  let arch: ArchName;
  let maxInputBytes: number;
  try {
    arch = parseArchOption(rawArch);
    maxInputBytes = parseByteCount(values["max-input-bytes"], "--max-input-bytes", DEFAULT_MAX_INPUT_BYTES);
  } catch (error) {
    if (error instanceof InputError) throw new UsageError(error.message, "compile");
    throw error;
  }
  const input = values["input-file"];
  const output = values["output-file"] ?? "seccomp_binary_filter.out";
  const format = values.format ?? "text";
  const split = values["split-output"] ?? false;
  if (input === "") throw new UsageError("--input-file must not be empty", "compile");
  if (output === "") throw new UsageError("--output-file must not be empty", "compile");
  if (format !== "text" && format !== "json") throw new UsageError('--format must be "text" or "json"', "compile");
  if (output === "-" && split) {
    throw new UsageError("--split-output writes several files; it cannot write them to standard output (-o -)", "compile");
  }
  if (output === "-" && format === "json") {
    throw new UsageError("-o - and --format json would both write to standard output; choose one", "compile");
  }
  return {
    input,
    output,
    basic: values.basic ?? false,
    split,
    format,
    container,
    ...(values.firecracker !== undefined ? { firecracker: values.firecracker } : {}),
    arch,
    maxInputBytes,
  };
}

/**
 * The layout to write, from `--container` and `--firecracker` (they must agree
 * when both are given); bitcode, the current Firecracker's, by default.
 *
 * @private
 */
function containerChoice(container: string | undefined, firecracker: string | undefined): ContainerFormat {
  let fromVersion: ContainerFormat | undefined;
  if (firecracker !== undefined) {
    try {
      fromVersion = firecrackerFormat(firecracker);
    } catch (error) {
      if (error instanceof FirecrackerVersionError) throw new UsageError(`--firecracker: ${error.message}`, "compile");
      throw error;
    }
  }
  if (container !== undefined && !(CONTAINER_FORMATS as readonly string[]).includes(container)) {
    throw new UsageError(`--container must be "bitcode" or "bincode", not "${container}"`, "compile");
  }
  if (container !== undefined && fromVersion !== undefined && container !== fromVersion) {
    throw new UsageError(`--container ${container} contradicts --firecracker ${firecracker}, which reads ${fromVersion}`, "compile");
  }
  return (container as ContainerFormat | undefined) ?? fromVersion ?? "bitcode";
}

/** Where a warning about the whole document points: its first token (after comments). @private */
async function documentStart(text: string, file: string): Promise<SourcePosition> {
  const offset = /^(?:\s|\/\/[^\n]*|\/\*[\s\S]*?\*\/)*/.exec(text)![0].length;
  const { createLocator } = await import("../policy/parse.ts");
  return createLocator(text, file)(offset, 1);
}

/** A thread name that cannot be a file name, already phrased for the user. @private */
class FileNameError extends Error {}

/** Raw-file names must stay inside the output directory. @private */
function safeFileName(thread: string): boolean {
  return thread !== "" && thread !== "." && thread !== ".." && !/[/\0]/.test(thread);
}

/**
 * Runs `seccompiler compile` and returns the exit code.
 *
 * @example
 * ```ts
 * await compileCommand(["--target-arch", "x86_64", "--input-file", "policies/example.json", "--output-file", "/tmp/x.out"]);
 * ```
 */
export async function compileCommand(args: string[]): Promise<number> {
  const options = readOptions(args);
  if (options === "help") {
    out(HELP);
    return EXIT.OK;
  }
  const json = options.format === "json";
  const report = (ok: boolean, diagnostics: readonly Diagnostic[], extra: Record<string, unknown> = {}) => {
    if (json) out(JSON.stringify({ ok, arch: options.arch, ...extra, diagnostics: diagnostics.map(diagnosticToJson) }, null, 2));
  };
  if (options.basic) {
    err("seccompiler: warning: --basic is deprecated: it drops every argument check, so the filter allows more than the policy says");
  }
  let source: { text: string; file: string };
  try {
    source = readPolicyFile(options.input, { limit: options.maxInputBytes, allowStdin: true });
  } catch (error) {
    if (!(error instanceof InputError)) throw error;
    const message = formatInputError(error);
    err(message);
    report(false, [{ code: "io", message, path: "$", severity: "error" }]);
    return EXIT.FAILURE;
  }
  setJitScale(jitScaleForInput(source.text.length));
  let compiled: CompiledPolicy;
  try {
    // The positioned front end (and jsonc-parser) is loaded only when the fast path declines.
    compiled = compileValidPolicy(source.text, options.arch, options.basic) ??
      (await import("../compile.ts")).compilePolicy(source.text, options.arch, { file: source.file, basic: options.basic, fastPath: false });
  } catch (error) {
    if (!(error instanceof PolicyError)) throw error;
    for (const diagnostic of error.diagnostics) err(formatDiagnostic(diagnostic, source.text));
    const count = error.diagnostics.length;
    err(`seccompiler: ${count} error${count === 1 ? "" : "s"}; nothing written`);
    report(false, error.diagnostics);
    return EXIT.FAILURE;
  }
  // Firecracker's view of the thread names, for a filter file (raw .bpf files are not Firecracker's).
  // Positions come from the positioned front end, run again only when there may be something to report.
  const findings = !options.split && (options.firecracker !== undefined || caseCollisions(compiled.programs.keys()).length > 0);
  const known: ReadonlyMap<string, SourcePosition> = findings
    ? (await import("../policy/frontend.ts")).parsePolicy(source.text, options.arch, { file: source.file, basic: options.basic })
      .threadPositions
    : new Map();
  const names = [...known].sort(([, a], [, b]) => a.offset - b.offset).map(([name]) => name);
  for (const name of compiled.programs.keys()) if (!known.has(name)) names.push(name);
  const caseErrors = options.split ? [] : checkThreadNameCase(names, known);
  const warnings = [
    ...compiled.warnings,
    ...(options.firecracker !== undefined && !options.split
      ? checkFirecrackerThreads(names, known, await documentStart(source.text, source.file))
      : []),
  ];
  for (const warning of warnings) err(formatDiagnostic(warning, source.text));
  if (caseErrors.length > 0) {
    for (const diagnostic of caseErrors) err(formatDiagnostic(diagnostic, source.text));
    err(`seccompiler: ${caseErrors.length} error${caseErrors.length === 1 ? "" : "s"}; nothing written`);
    report(false, [...warnings, ...caseErrors]);
    return EXIT.FAILURE;
  }

  const written: string[] = [];
  const notes: Diagnostic[] = [];
  try {
    if (options.split) {
      const unsafe = [...compiled.programs.keys()].filter((thread) => !safeFileName(thread));
      if (unsafe.length > 0) {
        throw new FileNameError(`seccompiler: error: cannot use thread name ${quoteName(unsafe[0])} as a file name with --split-output`);
      }
      const directory = options.output.endsWith("/") ? options.output : dirname(options.output);
      const endian = getArch(options.arch).endian;
      const files = [...compiled.programs].map(([thread, program]) => ({ path: join(directory, `${thread}.bpf`), data: encodeProgram(program, endian) }));
      writeOutputs(files);
      written.push(...files.map((file) => file.path));
    } else {
      // Over Firecracker's limit is a warning, not a refusal: the file is still a valid filter file.
      const bytes = serializeBinary(compiled.programs, { format: options.container, bytesLimit: MAX_BYTE_LIMIT });
      if (bytes.length > DEFAULT_BYTES_LIMIT) {
        const message = `the filter file is ${bytes.length} bytes; Firecracker refuses filter files over ${DEFAULT_BYTES_LIMIT} bytes`;
        err(`seccompiler: warning: ${message}\n  hint: fewer threads or shorter policies; other readers may take it (disasm/check/exec: --bytes-limit)`);
        notes.push({ code: "container-size", message, path: "$", severity: "warning" });
      }
      if (options.output === "-") {
        if (!writeAll(1, bytes)) throw Object.assign(new Error("standard output refused the bytes"), { code: "EPIPE" });
        written.push("-");
      } else {
        writeOutput(options.output, bytes);
        written.push(options.output);
      }
    }
  } catch (error) {
    const message = error instanceof FileNameError
      ? error.message
      : error instanceof OutputError
      ? `seccompiler: error: ${error.message}${error.hint ? `\n  hint: ${error.hint}` : ""}`
      : `seccompiler: error: cannot write ${options.output === "-" ? "standard output" : options.output}: ${describeSystemError(error)}`;
    err(message);
    report(false, [...warnings, ...notes, { code: "io", message, path: "$", severity: "error" }]);
    return EXIT.FAILURE;
  }
  const threads = [...compiled.programs].map(([name, program]) => ({ name, instructions: program.length }));
  const layout = options.split ? {} : {
    container: options.container,
    ...(options.firecracker !== undefined ? { firecracker: options.firecracker } : {}),
  };
  if (json) {
    report(true, [...warnings, ...notes], { files: written, ...layout, threads });
  } else {
    const summary = threads.map((t) => `${t.name} ${t.instructions}`).join(", ") || "no filters";
    const format = options.split ? "" : `${describeFormat(options.container)}; `;
    err(`seccompiler: wrote ${written.join(", ").replace(/^-$/, "standard output")} (${format}${options.arch}; instructions: ${summary})`);
  }
  return EXIT.OK;
}

