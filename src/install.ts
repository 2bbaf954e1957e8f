/**
 * The `seccompiler/install` entry point, for applications that only load a
 * filter file compiled ahead of time and install it: the container and raw
 * `.bpf` readers and the installer, and nothing of the compiler (no policy
 * parser, no syscall-name tables for other architectures, no code generator).
 *
 * @example
 * ```ts
 * import { readFileSync } from "node:fs";
 * import { applyFilter, deserializeBinary } from "seccompiler/install";
 *
 * const filters = deserializeBinary(readFileSync("app.bpf"));
 * const main = filters.get("main");
 * if (main === undefined) throw new Error("app.bpf has no filter for thread main");
 * await applyFilter(main);
 * ```
 *
 * @module
 */

export { ContainerError, DEFAULT_BYTES_LIMIT, deserializeBinary } from "./container.ts";
export { decodeProgram, readRawBpf } from "./bpf/encode.ts";
export { BpfError } from "./bpf/errors.ts";
export type { Instruction, Program } from "./bpf/insn.ts";
export { actionAvailable, applyFilter, applyFilterAllThreads, errnoName, InstallError } from "./install/mod.ts";
export type { InstallErrorCode } from "./install/mod.ts";
