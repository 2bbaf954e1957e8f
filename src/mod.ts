/**
 * seccompiler as a library: compile seccomp policies (JSON or TypeScript)
 * to classic-BPF programs, read and write Firecracker filter files, run
 * programs in an interpreter, and install them on Bun or Deno.
 *
 * The pure parts (everything except `applyFilter*` / `actionAvailable`) run
 * on Bun, Deno and Node.
 *
 * @example
 * ```ts
 * import { compileFromJson, serializeBinary } from "seccompiler";
 * declare const policyText: string;
 * const programs = compileFromJson(policyText, "x86_64");
 * const bytes = serializeBinary(programs);
 * ```
 *
 * @example Writing a filter in TypeScript
 * ```ts
 * import { ALLOW, compileFilter, condition, errno, rule, seccompFilter } from "seccompiler";
 * const program = compileFilter(seccompFilter({
 *   arch: "x86_64",
 *   mismatchAction: errno(1),
 *   matchAction: ALLOW,
 *   rules: { read: [], write: [rule(condition(0, "dword", "eq", 1))] },
 * }));
 * ```
 *
 * @module
 */

export { compileFilter, compileFromJson, compilePolicy } from "./compile.ts";
export type { CompiledPolicy, CompileOptions } from "./compile.ts";
export {
  ALLOW, condition, errno, KILL_PROCESS, KILL_THREAD, LOG, rule, seccompFilter, TRAP, trace, USER_NOTIF, validateFilter,
} from "./ir.ts";
export type { ArgIndex, Condition, Filter, FilterSpec, Operator, Rule, SyscallRules, Width } from "./ir.ts";
export { actionFromValue, actionValue, formatAction, SECCOMP_RET } from "./action.ts";
export type { Action, ActionKind } from "./action.ts";
export { ARCH_NAMES, getArch, hostArch } from "./arch/arch.ts";
export type { ArchInfo, ArchName } from "./arch/arch.ts";
export { formatDiagnostic, PolicyError } from "./diagnostics.ts";
export type { Diagnostic, DiagnosticCode, SourcePosition } from "./diagnostics.ts";
export {
  CONTAINER_FORMATS, ContainerError, DEFAULT_BYTES_LIMIT, describeFormat, deserializeBinary, readContainer, serializeBinary,
} from "./container.ts";
export type { ContainerFormat, DeserializeOptions, ReadContainer, SerializeOptions } from "./container.ts";
export {
  caseCollisions, checkFirecrackerThreads, checkThreadNameCase, FIRECRACKER_LAYOUTS, FIRECRACKER_THREADS, firecrackerFormat,
  FirecrackerVersionError,
} from "./firecracker.ts";
export { decodeProgram, encodeProgram, readRawBpf } from "./bpf/encode.ts";
export { runFilter } from "./bpf/interpreter.ts";
export type { SeccompData } from "./bpf/interpreter.ts";
export { BpfError } from "./bpf/errors.ts";
export { validateProgram } from "./bpf/validate.ts";
export { disassemble, formatInstruction } from "./bpf/disasm.ts";
export { actionCacheReport, isConstantAllow } from "./bpf/cache.ts";
export type { Instruction, Program } from "./bpf/insn.ts";
export { parsePolicy } from "./policy/frontend.ts";
export { generateProgram, linearLayout, treeLayout } from "./codegen/mod.ts";
export type { Layout } from "./codegen/mod.ts";
export { optimizeProgram } from "./optimize/mod.ts";
export { policyJsonSchema } from "./policy/public_schema.ts";
export { actionAvailable, applyFilter, applyFilterAllThreads, errnoName, InstallError } from "./install/mod.ts";
export type { InstallErrorCode } from "./install/mod.ts";
