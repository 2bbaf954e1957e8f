/**
 * `seccompiler convert`: rewrites a Firecracker filter file in the other
 * layout (bincode for v0.25–v1.14, bitcode for v1.15+), so that operators who
 * upgrade or downgrade Firecracker keep their compiled filters. The programs
 * are carried over unchanged; the output is written like `compile`'s (a
 * regular file is replaced atomically, never left half-written).
 *
 * @module
 */
import {
  CONTAINER_FORMATS,
  ContainerError,
  type ContainerFormat,
  DEFAULT_BYTES_LIMIT,
  describeFormat,
  readContainer,
  serializeBinary,
} from "../container.ts";
import { FIRECRACKER_LAYOUTS, firecrackerFormat, FirecrackerVersionError } from "../firecracker.ts";
import { OutputError, writeOutput } from "../fs.ts";
import { describeSystemError, formatInputError, InputError, parseByteCount, parseSha256, readInputFile } from "../input.ts";
import { parseCommandLine } from "./args.ts";
import { err, EXIT, out, UsageError } from "./output.ts";

const HELP = `Usage: seccompiler convert --input-file FILE --output-file FILE [options]

Rewrites a Firecracker filter file in the other layout, programs unchanged:
${FIRECRACKER_LAYOUTS.map((l) => `  ${l.versions.padEnd(16)} ${l.format}`).join("\n")}
The input's layout is detected (bytes valid in both are refused: name it with
--container). The output is written atomically, never partially.

Options:
  -i, --input-file FILE      the filter file to read
  -o, --output-file FILE     where to write (may be the input file)
      --to bitcode|bincode   the layout to write (default: the other one)
      --firecracker VERSION  write the layout this Firecracker release reads
      --container bitcode|bincode  the input's layout, when detection cannot tell
      --bytes-limit N        largest input accepted (default ${DEFAULT_BYTES_LIMIT}, Firecracker's limit)
      --sha256 HEX           refuse the input unless its SHA-256 is HEX
      --format text|json     json: print a machine-readable summary on stdout
  -h, --help                 show this help

Examples:
  seccompiler convert -i filters-v1.14.bin -o filters-v1.16.bin --firecracker 1.16
  seccompiler convert -i filters.bin -o filters.bin --to bitcode

Exit codes: 0 ok, 1 unreadable or invalid input, or I/O error (nothing written), 2 usage error.
`;

/** Checks a layout name given on the command line. @private */
function layoutOption(name: string, value: string | undefined): ContainerFormat | undefined {
  if (value === undefined) return undefined;
  if (!(CONTAINER_FORMATS as readonly string[]).includes(value)) {
    throw new UsageError(`${name} must be "bitcode" or "bincode", not "${value}"`, "convert");
  }
  return value as ContainerFormat;
}

/**
 * Runs `seccompiler convert` and returns the exit code.
 *
 * @example
 * ```ts
 * convertCommand(["--input-file", "old.bin", "--output-file", "new.bin", "--firecracker", "1.16"]);
 * ```
 */
export function convertCommand(args: string[]): number {
  const { values, positionals } = parseCommandLine("convert", args, {
    "input-file": { type: "string", short: "i" },
    "output-file": { type: "string", short: "o" },
    to: { type: "string" },
    firecracker: { type: "string" },
    container: { type: "string" },
    "bytes-limit": { type: "string" },
    sha256: { type: "string" },
    format: { type: "string" },
    help: { type: "boolean", short: "h" },
  }, true);
  if (values.help) {
    out(HELP);
    return EXIT.OK;
  }
  if (positionals.length > 0) throw new UsageError(`unexpected argument "${positionals[0]}"`, "convert");
  const input = values["input-file"];
  const output = values["output-file"];
  if (!input) throw new UsageError("missing --input-file", "convert");
  if (!output) throw new UsageError("missing --output-file", "convert");
  const format = values.format ?? "text";
  if (format !== "text" && format !== "json") throw new UsageError('--format must be "text" or "json"', "convert");
  const from = layoutOption("--container", values.container);
  let to = layoutOption("--to", values.to);
  if (values.firecracker !== undefined) {
    let target: ContainerFormat;
    try {
      target = firecrackerFormat(values.firecracker);
    } catch (error) {
      if (error instanceof FirecrackerVersionError) throw new UsageError(`--firecracker: ${error.message}`, "convert");
      throw error;
    }
    if (to !== undefined && to !== target) {
      throw new UsageError(`--to ${to} contradicts --firecracker ${values.firecracker}, which reads ${target}`, "convert");
    }
    to = target;
  }
  let bytesLimit: number;
  let sha256: string | undefined;
  try {
    bytesLimit = parseByteCount(values["bytes-limit"], "--bytes-limit", DEFAULT_BYTES_LIMIT);
    sha256 = parseSha256(values.sha256);
  } catch (error) {
    if (error instanceof InputError) throw new UsageError(error.message, "convert");
    throw error;
  }

  const json = format === "json";
  const fail = (message: string, formatted = `seccompiler: error: ${message}`): number => {
    err(formatted);
    if (json) out(JSON.stringify({ ok: false, input, output, error: message }, null, 2));
    return EXIT.FAILURE;
  };
  let read;
  try {
    const bytes = readInputFile(input, { what: "filter file", limit: bytesLimit, limitOption: "--bytes-limit", regularOnly: true, sha256 });
    read = readContainer(bytes, { bytesLimit, ...(from ? { format: from } : {}) });
  } catch (error) {
    if (error instanceof ContainerError) {
      const at = error.offset === undefined ? "" : ` (at byte ${error.offset})`;
      return fail(`${input}: ${error.message}${at}`);
    }
    if (error instanceof InputError) return fail(error.message, formatInputError(error));
    throw error;
  }
  const target = to ?? (read.format === "bitcode" ? "bincode" : "bitcode");
  let bytes: Uint8Array;
  try {
    bytes = serializeBinary(read.programs, { format: target });
  } catch (error) {
    if (error instanceof ContainerError) return fail(`cannot write ${input} as ${target}: ${error.message}`);
    throw error;
  }
  try {
    writeOutput(output, bytes);
  } catch (error) {
    if (error instanceof OutputError) return fail(error.message);
    return fail(`cannot write ${output}: ${describeSystemError(error)}`);
  }
  const threads = [...read.programs].map(([name, program]) => ({ name, instructions: program.length }));
  if (json) {
    out(JSON.stringify({ ok: true, input, output, from: read.format, container: target, bytes: bytes.length, threads }, null, 2));
  } else {
    const summary = threads.map((t) => `${t.name} ${t.instructions}`).join(", ") || "no filters";
    err(`seccompiler: converted ${input} (${describeFormat(read.format)}) to ${output} (${describeFormat(target)}; ` +
      `${bytes.length} bytes; instructions: ${summary})`);
  }
  return EXIT.OK;
}
