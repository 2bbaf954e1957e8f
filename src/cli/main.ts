#!/usr/bin/env bun
/**
 * The `seccompiler` command line: `compile` (the default command), `exec`,
 * `schema`, `disasm` and `check`.
 *
 * Exit codes: 0 success, 1 bad input (policy, filter file, I/O), 2 usage
 * error. `exec` follows env(1) instead: 125 launcher error, 126 target not
 * executable, 127 target not found.
 *
 * @module
 */
import { EXIT, err, out, UsageError } from "./output.ts";
import { setJitScale, STARTUP_JIT_SCALE } from "../jit_policy.ts";
import { VERSION } from "../version.ts";

/** One sub-command: runs with the arguments after its name and returns the exit code. */
type Command = (args: string[]) => number | Promise<number>;

const COMMANDS: Record<string, { summary: string; load: () => Promise<Command> }> = {
  compile: {
    summary: "compile a JSON policy to a Firecracker filter file (the default command)",
    load: async () => (await import("./compile_command.ts")).compileCommand,
  },
  exec: {
    summary: "install one thread's filter on itself, then execve a program",
    load: async () => (await import("../launcher/exec.ts")).execMain,
  },
  convert: {
    summary: "rewrite a filter file in the other Firecracker layout (v1.14 ↔ v1.15+)",
    load: async () => (await import("./convert_command.ts")).convertCommand,
  },
  disasm: {
    summary: "print a filter file's programs as BPF assembly",
    load: async () => (await import("./inspect_command.ts")).disasmCommand,
  },
  check: {
    summary: "simulate one system call against a filter and print the verdict",
    load: async () => (await import("./inspect_command.ts")).checkCommand,
  },
  cache: {
    summary: "report which syscalls the kernel's action cache never filters",
    load: async () => (await import("./inspect_command.ts")).cacheCommand,
  },
  lint: {
    summary: "report mistakes in a policy (wrong-arch syscalls, dead or redundant rules, dangerous allows)",
    load: async () => (await import("./lint_command.ts")).lintCommand,
  },
  record: {
    summary: "run a program and write the per-thread policy its run needed",
    load: async () => (await import("./record_command.ts")).recordCommand,
  },
  schema: {
    summary: "print the JSON Schema of the policy format",
    load: async () => (await import("./schema_command.ts")).schemaCommand,
  },
};

const HELP = `seccompiler ${VERSION} — compile seccomp policies to BPF, and run programs under them

Usage:
  seccompiler [compile] --target-arch ARCH --input-file POLICY.json [--output-file FILE]
  seccompiler exec --thread NAME --filter-file FILE -- PROGRAM [ARGS...]
  seccompiler <command> --help

Commands:
${Object.entries(COMMANDS).map(([name, c]) => `  ${name.padEnd(9)}${c.summary}`).join("\n")}

Options:
  -h, --help     show this help
  -V, --version  print the version

Exit codes: 0 ok, 1 bad input (policy, filter file, I/O), 2 usage error
(exec: 125 launcher error, 126 not executable, 127 not found).
`;

/**
 * Runs the CLI with `args` (without the runtime and script) and returns the exit code.
 *
 * @example
 * ```ts
 * const code = await main(["--target-arch", "x86_64", "--input-file", "policies/example.json"]);
 * ```
 */
export async function main(args: string[]): Promise<number> {
  const [first, ...rest] = args;
  if (first === undefined) {
    err(`seccompiler: error: no command given\n\n${HELP}`);
    return EXIT.USAGE;
  }
  if (first === "-h" || first === "--help" || first === "help") {
    out(HELP);
    return EXIT.OK;
  }
  if (first === "-V" || first === "--version") {
    out(`seccompiler ${VERSION}`);
    return EXIT.OK;
  }
  let name = first;
  let commandArgs = rest;
  if (first.startsWith("-")) {
    // The legacy form `seccompiler --target-arch … --input-file …` is `compile`.
    name = "compile";
    commandArgs = args;
  }
  const entry = COMMANDS[name];
  if (!entry) {
    err(`seccompiler: error: unknown command "${name}"\n  hint: run 'seccompiler --help' for the list of commands`);
    return EXIT.USAGE;
  }
  try {
    const command = await entry.load();
    return await command(commandArgs);
  } catch (error) {
    if (error instanceof UsageError) {
      err(`seccompiler${error.command ? ` ${error.command}` : ""}: error: ${error.message}\n  hint: run 'seccompiler ${error.command ? `${error.command} ` : ""}--help' for usage`);
      return EXIT.USAGE;
    }
    // Never a stack trace for the user; the message is enough to act on, and a bug report can ask for more.
    err(`seccompiler: internal error: ${error instanceof Error ? error.message : String(error)}\n  hint: this is a bug in seccompiler; please report it with the command line you ran`);
    return EXIT.FAILURE;
  }
}

if (import.meta.main) {
  // The JIT stays off while the command starts; commands with heavy work turn it on (src/jit_policy.ts).
  setJitScale(STARTUP_JIT_SCALE);
  const code = await main(process.argv.slice(2));
  process.exit(code);
}
