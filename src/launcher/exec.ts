/**
 * `seccompiler exec`: install one thread's filter on the launcher itself, then
 * `execve` the target, which inherits the filter from its first instruction.
 *
 * Everything that can fail is done first: load or compile the filter, pick
 * the thread, resolve the command, build every buffer, put the `execve` guard
 * in front, validate, ask the kernel about every action, and flush output.
 * Then, with nothing in between: `no_new_privs` → `seccomp()` on the calling
 * thread (no TSYNC: `execve` kills the other threads anyway) → `execve`.
 *
 * Fail closed: when anything fails before `execve`, the target never starts.
 * Exit codes follow env(1): 125 launcher error (usage errors included),
 * 126 target not executable, 127 target not found. On success the launcher
 * prints nothing; the target's output and exit status are its own.
 *
 * @module
 */
import { actionFromValue, formatAction, SECCOMP_RET_ACTION_FULL, SECCOMP_RET } from "../action.ts";
import { type ArchInfo, syscallNumber } from "../arch/arch.ts";
import type { Program } from "../bpf/insn.ts";
import { runFilter } from "../bpf/interpreter.ts";
import { CONTAINER_FORMATS, ContainerError, type ContainerFormat, DEFAULT_BYTES_LIMIT, deserializeBinary } from "../container.ts";
import { PolicyError } from "../diagnostics.ts";
import {
  checkActionsAvailable,
  checkProgram,
  hostArchInfo,
  InstallError,
  installPrepared,
  isPermissionError,
  type Libc,
  openLibc,
  prepareFilter,
  setNoNewPrivs,
} from "../install/mod.ts";
import { GUARD_LENGTH, withExecGuard } from "./guard.ts";
import { RUNTIME_ENVIRONMENT } from "./prelude.ts";
import { buildExecImage, type ExecImage, ImageError } from "./image.ts";
import { resolveCommand } from "./resolve.ts";
import { syscallFileAccess } from "./syscall_files.ts";
import type { FileAccess } from "../files.ts";
import { type OptionDeclaration, OptionScanError, scanOptions } from "../options.ts";
import { type InstallAndExec, nativeInstallAndExec } from "./native.ts";
import { applyHandover, getEntry, type Handover, HandoverError, planHandover, RLIM_INFINITY } from "./handover.ts";
import { writeAll } from "../output.ts";
import { jitScaleForInput, setJitScale } from "../jit_policy.ts";
import {
  DEFAULT_MAX_INPUT_BYTES,
  formatInputError,
  InputError,
  parseByteCount,
  parseSha256,
  readInputFile,
  readPolicyFile,
  repeatedOption,
  selectOneThread,
} from "../input.ts";

const encoder = new TextEncoder();

/** Exit codes of `seccompiler exec`, as env(1) uses them. */
export const EXEC_EXIT = {
  /** `--help` or `--dry-run`. */
  OK: 0,
  /** The launcher failed (usage, filter, kernel); the target was not started. */
  LAUNCHER_ERROR: 125,
  /** The target exists but cannot be executed. */
  NOT_EXECUTABLE: 126,
  /** The target was not found. */
  NOT_FOUND: 127,
} as const;

/** Usage text of `seccompiler exec --help`. */
export const EXEC_USAGE = `Usage: seccompiler exec (--filter-file FILE [--bytes-limit N] [--container L] | --policy FILE [--max-input-bytes N])
                        [--sha256 HEX] [--thread NAME] [--preserve-fds N] [--no-exec-guard] [--dry-run]
                        -- PROGRAM [ARGS...]

Installs one thread's seccomp filter on the launcher, then execve's PROGRAM
(searched in PATH like execvp), which runs under the filter from its first
instruction. On success nothing is printed and PROGRAM's exit status is returned.

Options:
  --filter-file FILE  a Firecracker filter file (from 'seccompiler compile'), either
                      layout: Firecracker v1.15+ (bitcode) or v0.25–v1.14 (bincode)
  --container L       the filter file's layout, bitcode or bincode, when it cannot be detected
  --bytes-limit N     largest filter file accepted, in bytes (default ${DEFAULT_BYTES_LIMIT})
  --policy FILE       a JSON policy, compiled now for this machine's architecture
  --max-input-bytes N largest policy accepted (default ${DEFAULT_MAX_INPUT_BYTES}, 16 MiB)
  --sha256 HEX        refuse the file (and never start PROGRAM) unless its SHA-256 is HEX
  --thread NAME       which filter to install (optional when there is only one)
  --preserve-fds N    keep descriptors 3 .. 3+N-1 open for PROGRAM (as runc does);
                      LISTEN_FDS descriptors (systemd) are kept too, every
                      other descriptor above 2 is closed
  --no-exec-guard     do not add the launcher-only execve guard; the policy must
                      then allow the launcher's execve itself (checked before install)
  --dry-run           print what would be installed and run, then exit 0
  -h, --help          show this help

By default a guard in front of the filter allows exactly the launcher's own
execve (matched by its path, argv and envp pointers, which point into pages
mapped at random addresses) and nothing else; see the README's "exec" section.

Exit codes (like env(1)): 125 launcher error (usage included; PROGRAM not started),
126 PROGRAM not executable, 127 PROGRAM not found; otherwise PROGRAM's own status.
`;

/** A failure before `execve`, with the exit code it maps to. @private */
class LaunchError extends Error {
  constructor(
    message: string,
    readonly exitCode: number = EXEC_EXIT.LAUNCHER_ERROR,
    readonly hint?: string,
  ) {
    super(message);
    this.name = "LaunchError";
  }
}

/** Parsed and checked command line. @private */
interface ExecOptions {
  readonly source: { readonly kind: "filter-file" | "policy"; readonly file: string };
  readonly bytesLimit: number;
  readonly container?: ContainerFormat;
  readonly maxInputBytes: number;
  readonly sha256?: string;
  readonly thread?: string;
  readonly guard: boolean;
  readonly dryRun: boolean;
  readonly preserveFds: number;
  readonly command: readonly string[];
}

/**
 * The checks on option values that the scanner cannot express, in order; the
 * first that fails is reported. Plain code rather than a schema library: the
 * exec path loads only what it uses (issue 11). @private
 */
function optionProblem(o: Partial<Record<keyof typeof EXEC_OPTIONS, string | boolean>>): string | undefined {
  if (o["filter-file"] === "") return "--filter-file needs a file name";
  if (o.policy === "") return "--policy needs a file name";
  if (o.thread === "") return "--thread needs a name";
  const fds = o["preserve-fds"];
  if (fds !== undefined && !/^[0-9]{1,6}$/.test(String(fds))) return "--preserve-fds must be a whole number of descriptors";
  if (o["filter-file"] !== undefined && o.policy !== undefined) return "give --filter-file or --policy, not both";
  if (o["bytes-limit"] !== undefined && o["filter-file"] === undefined) return "--bytes-limit applies only to --filter-file";
  if (o["max-input-bytes"] !== undefined && o.policy === undefined) return "--max-input-bytes applies only to --policy";
  if (o.container !== undefined && o["filter-file"] === undefined) return "--container applies only to --filter-file";
  if (o.container !== undefined && !(CONTAINER_FORMATS as readonly unknown[]).includes(o.container)) {
    return '--container must be "bitcode" or "bincode"';
  }
  return undefined;
}

/** The launcher's own options (everything before `--`). @private */
const EXEC_OPTIONS = {
  "filter-file": { type: "string" },
  "bytes-limit": { type: "string" },
  container: { type: "string" },
  policy: { type: "string" },
  "max-input-bytes": { type: "string" },
  sha256: { type: "string" },
  thread: { type: "string" },
  "no-exec-guard": { type: "boolean" },
  "dry-run": { type: "boolean" },
  "preserve-fds": { type: "string" },
  help: { type: "boolean", short: "h" },
} as const satisfies Record<string, OptionDeclaration>;

/**
 * Parses the launcher's arguments; everything after the first `--` is the
 * command. Returns `"help"` for `--help`. @private
 */
function parseOptions(args: string[]): ExecOptions | "help" {
  let parsed;
  try {
    parsed = scanOptions(args, EXEC_OPTIONS, { allowPositionals: true });
  } catch (error) {
    if (!(error instanceof OptionScanError)) throw error;
    const message = error.message;
    // Without "--", the target's own options (e.g. `sh -c`) are read as the launcher's.
    const hint = args.includes("--")
      ? "run 'seccompiler exec --help' for usage"
      : "put the program and its arguments after '--': seccompiler exec --filter-file FILE -- PROGRAM [ARGS...]";
    throw new LaunchError(message, EXEC_EXIT.LAUNCHER_ERROR, hint);
  }
  if (parsed.values.help) return "help";
  const repeated = repeatedOption(parsed.tokens, EXEC_OPTIONS);
  if (repeated !== undefined) {
    throw new LaunchError(`${repeated} given more than once`, EXEC_EXIT.LAUNCHER_ERROR, "run 'seccompiler exec --help' for usage");
  }
  const terminator = parsed.tokens.find((token) => token.kind === "option-terminator");
  const stray = parsed.tokens.find((token) => token.kind === "positional" && (!terminator || token.index < terminator.index));
  const values = parsed.values;
  const problem = optionProblem(values);
  if (problem !== undefined) {
    throw new LaunchError(problem, EXEC_EXIT.LAUNCHER_ERROR, "run 'seccompiler exec --help' for usage");
  }
  if (stray && stray.kind === "positional") {
    throw new LaunchError(
      `unexpected argument "${stray.value}" before "--"`,
      EXEC_EXIT.LAUNCHER_ERROR,
      "put the program and its arguments after '--': seccompiler exec --filter-file FILE -- PROGRAM [ARGS...]",
    );
  }
  const command = terminator ? args.slice(terminator.index + 1) : [];
  if (command.length === 0) {
    throw new LaunchError("no program given", EXEC_EXIT.LAUNCHER_ERROR, "put the program after '--', e.g. '-- /bin/true'");
  }
  const filterFile = values["filter-file"];
  const policy = values.policy;
  if (filterFile === undefined && policy === undefined) {
    throw new LaunchError("no filter given", EXEC_EXIT.LAUNCHER_ERROR, "give --filter-file FILE or --policy FILE");
  }
  return {
    source: filterFile !== undefined ? { kind: "filter-file", file: filterFile } : { kind: "policy", file: policy! },
    bytesLimit: parseByteCount(values["bytes-limit"], "--bytes-limit", DEFAULT_BYTES_LIMIT),
    maxInputBytes: parseByteCount(values["max-input-bytes"], "--max-input-bytes", DEFAULT_MAX_INPUT_BYTES),
    sha256: parseSha256(values.sha256),
    ...(values.container ? { container: values.container as ContainerFormat } : {}),
    thread: values.thread,
    guard: !values["no-exec-guard"],
    dryRun: values["dry-run"] ?? false,
    preserveFds: values["preserve-fds"] === undefined ? 0 : Number(values["preserve-fds"]),
    command,
  };
}

/** Thread name → program, from the filter file or the compiled policy. @private */
async function loadPrograms(options: ExecOptions, arch: ArchInfo, files: FileAccess): Promise<Map<string, Program>> {
  const { kind, file } = options.source;
  if (kind === "filter-file") {
    const bytes = readInputFile(file, {
      what: "filter file",
      limit: options.bytesLimit,
      limitOption: "--bytes-limit",
      regularOnly: true,
      sha256: options.sha256,
      files,
    });
    try {
      return deserializeBinary(bytes, {
        bytesLimit: options.bytesLimit,
        ...(options.container ? { format: options.container } : {}),
      });
    } catch (error) {
      if (error instanceof ContainerError) {
        const at = error.offset === undefined ? "" : ` (at byte ${error.offset})`;
        throw new LaunchError(`filter file ${file} is not a valid filter container: ${error.message}${at}`);
      }
      throw error;
    }
  }
  const { text } = readPolicyFile(file, { limit: options.maxInputBytes, sha256: options.sha256, files });
  setJitScale(jitScaleForInput(text.length));
  // The compiler is loaded only for --policy (a filter file needs none of it), and its positioned
  // front end only when the fast path declines (a policy with a problem). The whole policy is
  // validated, but only the thread to install gets a program: the others' would be thrown away.
  const { compileValidPolicy } = await import("../compile_valid.ts");
  const compiled = compileValidPolicy(text, arch.name, false, (filters) => [selectOneThread(filters, options.thread, file)[0]]);
  if (compiled !== undefined) return compiled.programs;
  const { compileFromJson } = await import("../compile.ts");
  try {
    // The fast path already declined: straight to the positioned front end, for the diagnostics.
    return compileFromJson(text, arch.name, { file, fastPath: false });
  } catch (error) {
    if (error instanceof PolicyError) {
      throw new LaunchError(`policy ${file} does not compile for ${arch.name}:\n${error.message}`);
    }
    throw error;
  }
}

/** Everything decided before install. @private */
interface LaunchPlan {
  readonly handover: Handover;
  /** The one-call seccomp+execve stub, where the architecture has one. */
  readonly stub?: InstallAndExec;
  readonly thread: string;
  readonly arch: ArchInfo;
  readonly policyLength: number;
  readonly program: Program;
  readonly guard: boolean;
  readonly commandPath: string;
  readonly argv: readonly string[];
  readonly image: ExecImage;
  readonly execveVerdict: number;
}

/** What the filter answers for the launcher's own `execve`. @private */
function execveVerdict(program: Program, arch: ArchInfo, image: ExecImage): number {
  const execve = syscallNumber(arch, "execve")!;
  return runFilter(program, {
    nr: execve,
    arch: arch.auditArch,
    args: [image.pathAddress, image.argvAddress, image.envpAddress, 0n, 0n, 0n],
  }, arch.endian).value;
}

/** Whether a return value lets the system call run. @private */
function letsThrough(value: number): boolean {
  const bits = (value & SECCOMP_RET_ACTION_FULL) >>> 0;
  return bits === SECCOMP_RET.ALLOW || bits === SECCOMP_RET.LOG;
}

/** A return value for messages: `errno(1)`, `kill_process`, or hex for unknown actions. @private */
function describeValue(value: number): string {
  const action = actionFromValue(value);
  return action ? formatAction(action) : `0x${(value >>> 0).toString(16).padStart(8, "0")}`;
}

/** Builds and checks everything; no kernel state changes. @private */
async function plan(options: ExecOptions, libc: Libc, arch: ArchInfo): Promise<LaunchPlan> {
  // Raw system calls on the libc binding, not node:fs: its load alone would be a tenth of the launch (src/files.ts).
  const files = syscallFileAccess(libc, arch);
  const [thread, policyProgram] = selectOneThread(await loadPrograms(options, arch, files), options.thread, options.source.file);
  const [command, ...rest] = options.command;
  let handover: Handover;
  try {
    handover = planHandover(options.command, options.preserveFds, files);
  } catch (error) {
    if (error instanceof HandoverError) throw new LaunchError(error.message, EXEC_EXIT.LAUNCHER_ERROR, error.hint);
    throw error;
  }
  // PATH as execvp would see it: the first PATH entry of the environment the program gets.
  const resolution = resolveCommand(command, getEntry(handover.envp, "PATH"), files);
  if (!resolution.ok) {
    throw new LaunchError(
      resolution.message,
      resolution.reason === "not-found" ? EXEC_EXIT.NOT_FOUND : EXEC_EXIT.NOT_EXECUTABLE,
      resolution.hint,
    );
  }
  const argv = [command, ...rest];
  let image: ExecImage;
  try {
    image = buildExecImage(libc, arch, { path: encoder.encode(resolution.path), argv: handover.argv, envp: handover.envp }, files);
  } catch (error) {
    if (error instanceof ImageError) throw new LaunchError(error.message);
    throw error;
  }
  const program = options.guard
    ? withExecGuard(policyProgram, arch, { path: image.pathAddress, argv: image.argvAddress, envp: image.envpAddress })
    : policyProgram;
  if (options.guard && program.length > 4096) {
    throw new LaunchError(
      `thread "${thread}" has ${policyProgram.length} instructions; with the ${GUARD_LENGTH}-instruction exec guard that is over the kernel's 4096`,
      EXEC_EXIT.LAUNCHER_ERROR,
      "shorten the policy, or allow execve in the policy and use --no-exec-guard",
    );
  }
  checkProgram(program);
  const verdict = execveVerdict(program, arch, image);
  if (!letsThrough(verdict)) {
    throw new LaunchError(
      `thread "${thread}" answers ${describeValue(verdict)} to the launcher's execve of ${resolution.path}, so the program could never start`,
      EXEC_EXIT.LAUNCHER_ERROR,
      options.guard
        ? "this is a bug in the exec guard; please report it"
        : "allow execve in the policy, or drop --no-exec-guard to let the launcher's own execve through",
    );
  }
  checkActionsAvailable(libc, program);
  return {
    thread,
    arch,
    policyLength: policyProgram.length,
    program,
    guard: options.guard,
    commandPath: resolution.path,
    argv,
    handover,
    stub: nativeInstallAndExec(libc, arch),
    image,
    execveVerdict: verdict,
  };
}

/** Signal names for the report. @private */
function signalName(signal: number): string {
  return ({ 13: "SIGPIPE", 25: "SIGXFSZ" } as Record<number, string>)[signal] ?? `signal ${signal}`;
}

/**
 * The runtime option the entry prelude or the wrapper gave Bun, when it
 * reached the runtime and not the program. Bun only: Deno has no such option,
 * and a Deno launcher started with `--allow-ffi` alone may not read
 * `process.env`.
 *
 * The wrapper removes the caller's `BUN_*` variables, so Bun has only its
 * entry. The prelude puts its entry first, before the caller's, and the
 * engine takes the first one it finds (`process.env` shows the last): with
 * the caller's own setting there too, the prelude's still wins. @private
 */
function preludeOption(handover: Handover): string | undefined {
  if (handover.recordedBy === undefined || !("Bun" in globalThis)) return undefined;
  const [name, value] = RUNTIME_ENVIRONMENT.split("=");
  const callers = getEntry(handover.envp, name);
  const setBy = `set by the ${handover.recordedBy} for the runtime alone`;
  if (callers === undefined) return process.env[name] === value ? `${RUNTIME_ENVIRONMENT} (${setBy}; not in PROGRAM's environment)` : undefined;
  if (handover.recordedBy === "wrapper") {
    if (process.env[name] !== value) return undefined;
    return `${RUNTIME_ENVIRONMENT} (${setBy}, in place of the caller's ${name}=${callers}; PROGRAM gets the caller's)`;
  }
  return `${RUNTIME_ENVIRONMENT} (${setBy}, ahead of the caller's ${name}=${callers}, which the engine therefore ignores; PROGRAM gets the caller's)`;
}

/** The `--dry-run` report. @private */
function describePlan(plan: LaunchPlan, libc: Libc): string {
  const { pathAddress, argvAddress, envpAddress } = plan.image;
  const hex = [pathAddress, argvAddress, envpAddress].map((a) => `0x${a.toString(16)}`);
  const lines = [
    `thread: ${plan.thread}`,
    `arch: ${plan.arch.name}`,
    `instructions: ${plan.program.length}` +
    (plan.guard ? ` (policy ${plan.policyLength} + exec guard ${GUARD_LENGTH})` : ""),
    plan.guard
      ? `exec guard: on (allows only execve(${hex.join(", ")}): path, argv, envp at random addresses)`
      : `exec guard: off (the policy answers ${describeValue(plan.execveVerdict)} to the launcher's execve)`,
    `command: ${plan.commandPath}`,
    `argv: ${JSON.stringify(plan.argv)}`,
    `environment: ${plan.handover.envp.length} entries, as received (${plan.handover.source})`,
    `descriptors kept: ${["0-2", ...plan.handover.keepFds].join(", ")}; others closed on execve`,
    `signals reset to default: ${plan.handover.resetSignals.map(signalName).join(", ") || "none"}`,
    `soft RLIMIT_NOFILE: ${
      plan.handover.nofileSoft === undefined
        ? "as the runtime left it (the value at start is unknown: no wrapper or entry prelude recorded it)"
        : `restored to ${plan.handover.nofileSoft === RLIM_INFINITY ? "unlimited" : plan.handover.nofileSoft}`
    }`,
    `start state recorded by: ${plan.handover.recordedBy ?? "nobody (the runtime's own ignored signals are reset to default)"}`,
    `runtime option: ${preludeOption(plan.handover) ?? "none"}`,
    `runtime: ${libc.runtime} (${libc.path})`,
    "install: no_new_privs, seccomp(SECCOMP_SET_MODE_FILTER) on the calling thread, then execve",
  ];
  return `${lines.join("\n")}\n`;
}


/** Prints a launcher error on stderr. @private */
function report(message: string, hint?: string): void {
  writeAll(2, `seccompiler: error: ${message}\n${hint ? `  hint: ${hint}\n` : ""}`);
}

/**
 * The point of no return: `no_new_privs`, `seccomp()` on this thread, and
 * `execve`, with nothing in between. Returns only when installing failed
 * (nothing installed: exit 125). When `execve` itself fails the filter is
 * already on, so the error is written with one raw `write` and the process
 * ends with one `exit_group`: the runtime's exit path would make system calls
 * the filter may kill.
 * @private
 */
function installAndExec(libc: Libc, plan: LaunchPlan, prepared: ReturnType<typeof prepareFilter>): never {
  try {
    applyHandover(libc, plan.arch, plan.handover);
  } catch (error) {
    if (error instanceof HandoverError) throw new LaunchError(error.message, EXEC_EXIT.LAUNCHER_ERROR, error.hint);
    throw error;
  }
  const { pathAddress, argvAddress, envpAddress } = plan.image;
  // Everything the failure path writes is encoded now: after the install, only raw calls remain.
  const failure = (errno: number) =>
    `seccompiler: error: execve ${plan.commandPath} failed with errno ${errno} after the filter was installed\n`;
  setNoNewPrivs(libc);
  let errno: number;
  const direct = plan.stub ? plan.stub(prepared.fprogAddress, pathAddress, argvAddress, envpAddress) : undefined;
  if (direct !== undefined && direct < -4096n) {
    // seccomp() and execve() ran in one native call, with no runtime code between them; execve failed.
    errno = Number(-(direct + 4096n));
  } else if (direct !== undefined && direct !== -38n) {
    // seccomp() refused the filter: nothing is installed. The installer repeats the call and names the reason.
    installPrepared(libc, prepared, { allThreads: false });
    throw new LaunchError(`seccomp() failed with errno ${-direct}`);
  } else {
    // No stub for this architecture, or seccomp() missing (ENOSYS: the prctl fallback): two FFI calls.
    installPrepared(libc, prepared, { allThreads: false });
    libc.syscall(syscallNumber(plan.arch, "execve")!, pathAddress, argvAddress, envpAddress, 0n, 0n, 0n);
    errno = libc.errno();
  }
  const code = errno === 2 || errno === 20 ? EXEC_EXIT.NOT_FOUND : EXEC_EXIT.NOT_EXECUTABLE;
  libc.write(2, encoder.encode(failure(errno)));
  libc.exit(code);
}

/** @private */
async function run(args: string[]): Promise<number> {
  const options = parseOptions(args);
  if (options === "help") {
    writeAll(1, EXEC_USAGE);
    return EXEC_EXIT.OK;
  }
  const arch = hostArchInfo();
  const libc = await openLibc();
  const launch = await plan(options, libc, arch);
  const prepared = prepareFilter(libc, launch.program);
  if (options.dryRun) {
    writeAll(1, describePlan(launch, libc));
    return EXEC_EXIT.OK;
  }
  installAndExec(libc, launch, prepared);
}

/**
 * Runs `seccompiler exec` with `args` (everything after the word `exec`).
 * Never throws: every failure becomes a `seccompiler:` message on stderr and
 * an exit code (125, 126 or 127). On success it does not return: the process
 * becomes the target.
 *
 * @example
 * ```ts
 * const code = await execMain(["--policy", "p.json", "--thread", "main", "--", "/bin/true"]);
 * ```
 */
export async function execMain(args: string[]): Promise<number> {
  try {
    return await run(args);
  } catch (error) {
    if (error instanceof LaunchError) {
      report(error.message, error.hint);
      return error.exitCode;
    }
    if (error instanceof InputError) {
      // Usage or input: either way the target was not started (125).
      writeAll(2, `${formatInputError(error)}\n`);
      return EXEC_EXIT.LAUNCHER_ERROR;
    }
    if (error instanceof InstallError) {
      report(error.message, error.hint);
      return EXEC_EXIT.LAUNCHER_ERROR;
    }
    if (isPermissionError(error)) {
      report(
        `Deno permission missing: ${(error as Error).message}`,
        "run the launcher with deno run --allow-ffi (the one permission it needs: it reads its input and /proc/self through the FFI too)",
      );
      return EXEC_EXIT.LAUNCHER_ERROR;
    }
    report(`internal error: ${error instanceof Error ? error.message : String(error)}`, "this is a bug in seccompiler; please report it");
    return EXEC_EXIT.LAUNCHER_ERROR;
  }
}

if (import.meta.main) {
  const code = await execMain(process.argv.slice(2));
  process.exit(code);
}
