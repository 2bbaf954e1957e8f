/**
 * `seccompiler record`: run a program under a notifying filter and write the
 * per-thread policy its run needed.
 *
 * @module
 */
import { writeOutput } from "../fs.ts";
import { setJitScale, WORK_JIT_SCALE } from "../jit_policy.ts";
import { DEFAULT_MAX_INPUT_BYTES, formatInputError, InputError, readPolicyFile } from "../input.ts";
import { hostArchInfo, InstallError } from "../install/mod.ts";
import { recordChildMain } from "../record/child.ts";
import { MergeError, mergePolicy, renderPolicy } from "../record/policy.ts";
import {
  addCall,
  type ArgSpec,
  newRecording,
  parseArgSpecs,
  parseThreadRules,
  type RecordConfig,
  SpecError,
} from "../record/recording.ts";
import { exitCode, RecordError, supervise } from "../record/supervise.ts";
import { parseCommandLine } from "./args.ts";
import { err, out, UsageError } from "./output.ts";

const HELP = `Usage: seccompiler record [--output FILE] [--threads 'PATTERN=NAME,...']
                         [--args SYSCALL:INDEX,...] [--merge EXISTING.json]
                         [--max-values N] -- PROGRAM [ARGS...]

Runs PROGRAM (and every thread and child it starts) with each system call
stopped by a seccomp user notification, notes the call, the calling thread's
name and the --args arguments, and lets it continue. When PROGRAM and all its
descendants have ended, writes a policy (JSON with comments): one filter per
thread group, one rule per syscall and per distinct recorded argument value,
each with a "// seen N times" comment, default_action kill_process.

Options:
  -o, --output FILE     where to write the policy (default: standard output, or
                        the --merge file itself)
      --threads SPEC    thread-name patterns to filter names, first match wins, e.g.
                        'fc_api=api,fc_vcpu*=vcpu,*=vmm' (* any run, ? one character);
                        unmatched threads (and all, without --threads) go to "main"
      --args SPEC       arguments to record as conditions, e.g. ioctl:1,fcntl:1,socket:0;
                        compared as dword (low 32 bits), or SYSCALL:INDEX:qword
      --merge FILE      add only what is new to this policy, keeping its comments and
                        order; recording the same run again changes nothing
      --max-values N    distinct argument values kept per syscall before it is
                        recorded without conditions (default 256)
  -h, --help            show this help

Needs Linux 5.6+ (user notifications with CONTINUE, pidfd_getfd) and ptrace
access to the child. Only the code paths this run takes are recorded: review
the result (seccompiler lint) and exercise every path before relying on it.

Exit status: PROGRAM's own (128+N when killed by signal N); 125 when recording
failed (PROGRAM may not have run), 126/127 when PROGRAM cannot be executed/found,
2 for usage errors.
`;

/** The recorder's own failure (like exec's). @private */
const RECORD_FAILED = 125;

/** Parsed command line. @private */
interface RecordRun {
  readonly output?: string;
  readonly merge?: string;
  readonly config: RecordConfig;
  readonly command: string[];
}

/** argv → options; throws UsageError. @private */
function readOptions(args: string[]): RecordRun | "help" {
  const separator = args.indexOf("--");
  const own = separator === -1 ? args : args.slice(0, separator);
  const { values, positionals } = parseCommandLine("record", own, {
    output: { type: "string", short: "o" },
    threads: { type: "string" },
    args: { type: "string" },
    merge: { type: "string" },
    "max-values": { type: "string" },
    help: { type: "boolean", short: "h" },
  }, true);
  if (values.help) return "help";
  if (positionals.length > 0) {
    throw new UsageError(`unexpected argument "${positionals[0]}"; put the program after '--'`, "record");
  }
  const command = separator === -1 ? [] : args.slice(separator + 1);
  if (command.length === 0) throw new UsageError("no program given; put it after '--', e.g. -- /bin/ls -l /", "record");
  const maxValues = values["max-values"] === undefined ? 256 : Number(values["max-values"]);
  if (!Number.isSafeInteger(maxValues) || maxValues < 1 || maxValues > 65536) {
    throw new UsageError("--max-values must be an integer from 1 to 65536", "record");
  }
  const arch = hostArchInfo();
  let argSpecs: ArgSpec[];
  let threadRules;
  try {
    argSpecs = parseArgSpecs(values.args ?? "", arch);
    threadRules = parseThreadRules(values.threads ?? "");
  } catch (error) {
    if (error instanceof SpecError) throw new UsageError(error.message, "record");
    throw error;
  }
  return { output: values.output, merge: values.merge, config: { arch, argSpecs, threadRules, maxValues }, command };
}

/** The command line as one shell-like string, for the policy's header. @private */
function describeCommand(command: readonly string[]): string {
  return command.map((word) => (/^[\w@%+=:,./-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`)).join(" ");
}

/**
 * Runs `seccompiler record` and returns the exit code (the target's, when it ran).
 *
 * @example
 * ```ts
 * const code = await recordCommand(["-o", "ls.json", "--", "/bin/ls", "-l", "/"]);
 * ```
 */
export async function recordCommand(args: string[]): Promise<number> {
  // A supervisor that may run as long as the recorded program: worth compiling (src/jit_policy.ts).
  setJitScale(WORK_JIT_SCALE);
  if (args[0] === "--recording-helper") return recordChildMain(args.slice(2));
  const options = readOptions(args);
  if (options === "help") {
    out(HELP);
    return 0;
  }
  // Read the policy to merge into first: a bad file should stop us before the program runs.
  let existing: string | undefined;
  if (options.merge !== undefined) {
    try {
      existing = readPolicyFile(options.merge, { limit: DEFAULT_MAX_INPUT_BYTES }).text;
    } catch (error) {
      if (!(error instanceof InputError)) throw error;
      err(formatInputError(error));
      return RECORD_FAILED;
    }
  }
  const recording = newRecording();
  let result;
  try {
    result = await supervise(options.command, (call) => addCall(recording, options.config, call.thread, call.nr, call.args));
  } catch (error) {
    if (error instanceof RecordError || error instanceof InstallError) {
      err(`seccompiler record: error: ${error.message}${error.hint ? `\n  hint: ${error.hint}` : ""}`);
      return RECORD_FAILED;
    }
    throw error;
  }
  const code = exitCode(result.status);
  if (!result.started) {
    // The helper failed before the program ran and has said why; nothing was recorded.
    return code === 0 ? RECORD_FAILED : code;
  }
  const how = "exited" in result.status
    ? `exited with status ${result.status.exited}`
    : `was killed by signal ${result.status.signal}${result.status.core ? " (core dumped)" : ""}`;
  const command = describeCommand(options.command);
  let text: string;
  let summary: string;
  if (existing !== undefined) {
    try {
      const merged = mergePolicy(existing, recording, options.config.argSpecs, options.merge);
      text = merged.text;
      const rules = [...merged.added].map(([name, n]) => `${n} rule${n === 1 ? "" : "s"} to "${name}"`);
      const filters = merged.newFilters.map((name) => `filter "${name}"`);
      const changes = [...rules, ...filters];
      summary = changes.length === 0 ? "nothing new" : `added ${changes.join(", ")}`;
      for (const skipped of merged.skipped) {
        err(`seccompiler record: warning: ${skipped} is restricted by arguments in ${options.merge} but was recorded without --args for it; not added`);
      }
    } catch (error) {
      if (!(error instanceof MergeError)) throw error;
      err(`seccompiler record: error: cannot merge: ${error.message}`);
      return RECORD_FAILED;
    }
  } else {
    text = renderPolicy(recording, options.config.argSpecs, command);
    const groups = [...recording.groups].map(([name, group]) => `${name} ${group.syscalls.size}`).join(", ");
    summary = `${recording.calls} calls; syscalls per filter: ${groups || "none"}`;
  }
  const destination = options.output ?? options.merge;
  let wrote = "";
  if (destination === undefined) {
    out(text);
  } else if (text !== existing || options.output !== undefined) {
    // An unchanged --merge file is left alone entirely (not even rewritten).
    try {
      writeOutput(destination, text);
      wrote = `; wrote ${destination}`;
    } catch (error) {
      err(`seccompiler record: error: cannot write ${destination}: ${(error as Error).message}`);
      return RECORD_FAILED;
    }
  }
  err(`seccompiler record: ${options.command[0]} ${how}; ${summary}${wrote}`);
  return code;
}
