/**
 * Inspection commands: `disasm` (print programs as BPF assembly), `check`
 * (simulate one syscall) and `cache` (which syscalls the kernel's action
 * cache skips). They read a Firecracker filter file, a raw `.bpf` file, or
 * compile a policy on the fly.
 *
 * @module
 */
import * as v from "valibot";
import { actionFromValue, formatAction } from "../action.ts";
import { ARCH_ALIASES, ARCH_NAMES, type ArchInfo, getArch } from "../arch/arch.ts";
import { actionCacheReport, isConstantAllow } from "../bpf/cache.ts";
import { disassemble } from "../bpf/disasm.ts";
import { readRawBpf } from "../bpf/encode.ts";
import { BpfError } from "../bpf/errors.ts";
import type { Program } from "../bpf/insn.ts";
import { runFilter } from "../bpf/interpreter.ts";
import { compilePolicy } from "../compile.ts";
import { CONTAINER_FORMATS, ContainerError, type ContainerFormat, DEFAULT_BYTES_LIMIT, readContainer } from "../container.ts";
import { formatDiagnostic, PolicyError } from "../diagnostics.ts";
import {
  DEFAULT_MAX_INPUT_BYTES,
  formatInputError,
  InputError,
  parseArchOption,
  parseByteCount,
  parseSha256,
  quoteName,
  readInputFile,
  readPolicyFile,
  selectThreads,
} from "../input.ts";
import { type OptionSpec, parseCommandLine } from "./args.ts";
import { err, EXIT, out, UsageError } from "./output.ts";

const SOURCE_OPTIONS = {
  "filter-file": { type: "string", short: "f" },
  "bpf-file": { type: "string" },
  policy: { type: "string", short: "p" },
  "target-arch": { type: "string", short: "t" },
  thread: { type: "string" },
  "bytes-limit": { type: "string" },
  "max-input-bytes": { type: "string" },
  sha256: { type: "string" },
  container: { type: "string" },
  format: { type: "string" },
  help: { type: "boolean", short: "h" },
} as const satisfies OptionSpec;

const SOURCE_HELP = `Filter source (exactly one):
  -f, --filter-file FILE   a Firecracker filter file (compile output)
      --bpf-file FILE      a raw .bpf program (--split-output, libseccomp export)
  -p, --policy FILE        a JSON policy, compiled on the fly
Other options:
  -t, --target-arch ARCH   arch of the filter (default: this machine's); ${ARCH_NAMES.join(", ")}
                           (case-insensitive; also ${Object.keys(ARCH_ALIASES).join(", ")})
      --thread NAME        which thread's program (default: all, or the only one)
      --sha256 HEX         refuse the file unless its SHA-256 is HEX
      --bytes-limit N      largest filter or .bpf file accepted (default ${DEFAULT_BYTES_LIMIT})
      --max-input-bytes N  largest policy accepted (default ${DEFAULT_MAX_INPUT_BYTES}, 16 MiB)
      --container bitcode|bincode  the filter file's layout (Firecracker v1.15+ or
                           v0.25–v1.14), when detection cannot tell
      --format text|json   json: machine-readable output on stdout
  -h, --help               show this help`;

/** Raw values shared by the inspection commands. @private */
type SourceValues = { [K in keyof typeof SOURCE_OPTIONS]?: (typeof SOURCE_OPTIONS)[K]["type"] extends "string" ? string : boolean };

/** Programs to inspect, with the arch they are for. @private */
interface LoadedPrograms {
  readonly arch: ArchInfo;
  readonly programs: Map<string, Program>;
  readonly format: "text" | "json";
  /** The filter file's layout (for --filter-file). */
  readonly container?: ContainerFormat;
}

/** Option values that name no file, checked before anything is read. @private */
function sourceOptions(command: string, values: SourceValues) {
  const sources = (["filter-file", "bpf-file", "policy"] as const).filter((key) => values[key] !== undefined);
  if (sources.length !== 1) {
    throw new UsageError("give exactly one of --filter-file, --bpf-file or --policy", command);
  }
  const format = v.safeParse(v.picklist(["text", "json"]), values.format ?? "text");
  if (!format.success) throw new UsageError('--format must be "text" or "json"', command);
  const container = values.container as ContainerFormat | undefined;
  if (container !== undefined && !CONTAINER_FORMATS.includes(container)) {
    throw new UsageError(`--container must be "bitcode" or "bincode", not "${container}"`, command);
  }
  if (container !== undefined && sources[0] !== "filter-file") {
    throw new UsageError("--container applies only to --filter-file", command);
  }
  try {
    return {
      source: sources[0],
      path: values[sources[0]] as string,
      format: format.output,
      arch: getArch(parseArchOption(values["target-arch"])),
      bytesLimit: parseByteCount(values["bytes-limit"], "--bytes-limit", DEFAULT_BYTES_LIMIT),
      maxInputBytes: parseByteCount(values["max-input-bytes"], "--max-input-bytes", DEFAULT_MAX_INPUT_BYTES),
      sha256: parseSha256(values.sha256),
      container,
    };
  } catch (error) {
    if (error instanceof InputError) throw new UsageError(error.message, command);
    throw error;
  }
}

/** Reads the filter source the options name. @private */
function loadPrograms(command: string, values: SourceValues): LoadedPrograms {
  const { source, path, format, arch, bytesLimit, maxInputBytes, sha256, container: named } = sourceOptions(command, values);
  let programs: Map<string, Program>;
  let container: ContainerFormat | undefined;
  if (source === "policy") {
    const { text, file } = readPolicyFile(path, { limit: maxInputBytes, sha256 });
    try {
      programs = compilePolicy(text, arch.name, { file }).programs;
    } catch (error) {
      if (error instanceof PolicyError) throw new FormattedError(error.diagnostics.map((d) => formatDiagnostic(d, text)).join("\n"));
      throw error;
    }
  } else {
    const what = source === "filter-file" ? "filter file" : ".bpf file";
    const bytes = readInputFile(path, { what, limit: bytesLimit, limitOption: "--bytes-limit", regularOnly: true, sha256 });
    if (source === "filter-file") {
      ({ programs, format: container } = readContainer(bytes, { bytesLimit, ...(named ? { format: named } : {}) }));
    } else {
      programs = new Map([[values.thread ?? "program", readRawBpf(bytes, arch.endian)]]);
    }
  }
  if (source !== "bpf-file") programs = selectThreads(programs, values.thread, path);
  return { arch, programs, format, ...(container ? { container } : {}) };
}

/** `{ container }` for JSON output when the source was a filter file. @private */
function containerField(loaded: LoadedPrograms): { container?: ContainerFormat } {
  return loaded.container ? { container: loaded.container } : {};
}

/** A message already formatted for the user: policy diagnostics, an unknown syscall (exit 1). @private */
class FormattedError extends Error {}

/** Maps the errors of loading and inspecting to exit codes. @private */
function guarded(run: () => number): number {
  try {
    return run();
  } catch (error) {
    if (error instanceof InputError) {
      err(formatInputError(error));
      return EXIT.FAILURE;
    }
    if (error instanceof FormattedError) {
      err(error.message);
      return EXIT.FAILURE;
    }
    if (error instanceof ContainerError || error instanceof BpfError) {
      const at = error instanceof ContainerError && error.offset !== undefined ? ` (at byte ${error.offset})` : "";
      err(`seccompiler: error: ${(error as Error).message}${at}`);
      return EXIT.FAILURE;
    }
    throw error;
  }
}

/**
 * `seccompiler disasm`: prints programs as BPF assembly.
 *
 * @example
 * ```ts
 * disasmCommand(["--filter-file", "seccomp_binary_filter.out", "--thread", "vmm", "-t", "x86_64"]);
 * ```
 */
export function disasmCommand(args: string[]): number {
  const { values } = parseCommandLine("disasm", args, SOURCE_OPTIONS);
  if (values.help) {
    out(`Usage: seccompiler disasm (--filter-file FILE | --bpf-file FILE | --policy FILE) [options]\n\nPrints each program as BPF assembly, with syscall names and actions.\n\n${SOURCE_HELP}\n`);
    return EXIT.OK;
  }
  return guarded(() => {
    const loaded = loadPrograms("disasm", values as SourceValues);
    if (loaded.format === "json") {
      const threads = [...loaded.programs].map(([thread, program]) => ({
        thread,
        instructions: program.map((insn, pc) => ({ pc, ...insn })),
        listing: disassemble(program, { arch: loaded.arch.name }).split("\n"),
      }));
      out(JSON.stringify({ arch: loaded.arch.name, ...containerField(loaded), threads }, null, 2));
      return EXIT.OK;
    }
    const parts = [...loaded.programs].map(([thread, program]) =>
      `# thread ${JSON.stringify(thread)}: ${program.length} instructions (${loaded.arch.name})\n${disassemble(program, { arch: loaded.arch.name })}`
    );
    out(parts.join("\n\n"));
    return EXIT.OK;
  });
}

const CHECK_OPTIONS = {
  ...SOURCE_OPTIONS,
  syscall: { type: "string", short: "s" },
  arg: { type: "string", multiple: true, short: "a" },
  "audit-arch": { type: "string" },
} as const satisfies OptionSpec;

/** Parses a u64 written in decimal, hex (0x) or as a negative 64-bit int. @private */
function parseU64(text: string, what: string): bigint {
  const trimmed = text.trim();
  if (!/^-?(0x[0-9a-fA-F]+|\d+)$/.test(trimmed)) throw new UsageError(`${what}: "${text}" is not an integer`, "check");
  const value = BigInt(trimmed);
  const min = -(1n << 63n);
  const max = (1n << 64n) - 1n;
  if (value < min || value > max) throw new UsageError(`${what}: ${text} does not fit in 64 bits`, "check");
  return BigInt.asUintN(64, value);
}

/**
 * `seccompiler check`: simulates one system call and prints the verdict.
 *
 * @example
 * ```ts
 * checkCommand(["--policy", "policies/example.json", "--thread", "vmm", "--syscall", "ioctl", "--arg", "1=0x5421"]);
 * ```
 */
export function checkCommand(args: string[]): number {
  const { values } = parseCommandLine("check", args, CHECK_OPTIONS);
  if (values.help) {
    out(`Usage: seccompiler check (--filter-file FILE | --bpf-file FILE | --policy FILE) --syscall NAME|NR [--arg I=VALUE]... [options]

Runs one simulated system call through the filter (the same interpreter the
tests compare with the kernel) and prints the action, the number of
instructions executed and whether the kernel's action cache would skip the
filter for this syscall.

  -s, --syscall NAME|NR    the system call, by name for the arch or by number
  -a, --arg I=VALUE        argument I (0..5); decimal, 0x hex, or negative (two's complement)
      --audit-arch TOKEN   simulate a call from another arch (e.g. 0x40000003 for i386)
${SOURCE_HELP}
`);
    return EXIT.OK;
  }
  if (values.syscall === undefined) throw new UsageError("missing --syscall", "check");
  const argValues: bigint[] = [0n, 0n, 0n, 0n, 0n, 0n];
  for (const spec of values.arg ?? []) {
    const match = /^([0-5])=(.+)$/.exec(spec);
    if (!match) throw new UsageError(`--arg must look like I=VALUE with I in 0..5, not "${spec}"`, "check");
    argValues[Number(match[1])] = parseU64(match[2], `--arg ${match[1]}`);
  }
  return guarded(() => {
    const loaded = loadPrograms("check", values as SourceValues);
    const syscall = values.syscall as string;
    const nr = /^-?\d+$/.test(syscall) ? Number(syscall) : loaded.arch.syscalls.get(syscall);
    if (nr === undefined || !Number.isSafeInteger(nr)) {
      throw new FormattedError(`seccompiler: error: unknown syscall ${quoteName(syscall)} for ${loaded.arch.name}`);
    }
    const auditArch = values["audit-arch"] === undefined ? loaded.arch.auditArch : Number(parseU64(values["audit-arch"], "--audit-arch") & 0xffffffffn);
    const results = [...loaded.programs].map(([thread, program]) => {
      const { value, steps } = runFilter(program, { nr: nr | 0, arch: auditArch, args: argValues }, loaded.arch.endian);
      const action = actionFromValue(value);
      return {
        thread,
        syscall: loaded.arch.names.get(nr) ?? String(nr),
        nr,
        args: argValues.map(String),
        action: action ? formatAction(action) : `unknown(0x${value.toString(16)})`,
        value,
        steps,
        cached: auditArch === loaded.arch.auditArch && nr >= 0 && isConstantAllow(program, nr, auditArch),
      };
    });
    if (loaded.format === "json") {
      out(JSON.stringify({ arch: loaded.arch.name, ...containerField(loaded), results }, null, 2));
    } else {
      for (const r of results) {
        out(`${r.thread}: ${r.syscall}(${argValues.map((a) => `0x${a.toString(16)}`).join(", ")}) → ${r.action} ` +
          `(${r.steps} instructions${r.cached ? "; skipped by the kernel's action cache" : ""})`);
      }
    }
    return EXIT.OK;
  });
}

/**
 * `seccompiler cache`: lists which syscalls the kernel's action cache skips.
 *
 * @example
 * ```ts
 * cacheCommand(["--policy", "policies/example.json", "-t", "x86_64"]);
 * ```
 */
export function cacheCommand(args: string[]): number {
  const { values } = parseCommandLine("cache", args, SOURCE_OPTIONS);
  if (values.help) {
    out(`Usage: seccompiler cache (--filter-file FILE | --bpf-file FILE | --policy FILE) [options]

Reports, per thread, which syscalls the kernel's action cache (Linux 5.11+)
marks "always allow" — those never run the filter — and how many run it.

${SOURCE_HELP}
`);
    return EXIT.OK;
  }
  return guarded(() => {
    const loaded = loadPrograms("cache", values as SourceValues);
    const reports = [...loaded.programs].map(([thread, program]) => ({ thread, ...actionCacheReport(program, loaded.arch) }));
    if (loaded.format === "json") {
      out(JSON.stringify({ arch: loaded.arch.name, ...containerField(loaded), threads: reports }, null, 2));
    } else {
      for (const r of reports) {
        out(`${r.thread}: ${r.cached.length} syscalls cached (never filtered), ${r.filtered.length} filtered`);
        if (r.cached.length > 0) out(`  cached: ${r.cached.join(" ")}`);
      }
    }
    return EXIT.OK;
  });
}
