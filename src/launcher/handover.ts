/**
 * What the target inherits from the launcher, made to match what it would
 * have inherited had it been started directly:
 *
 * - argv and the environment, byte for byte as the kernel handed them to the
 *   launcher (`/proc/self/cmdline`, `/proc/self/environ`), not as the runtime
 *   decoded them (UTF-8 replacement, merged duplicates, dropped entries);
 * - signals the runtime itself set to "ignore" (Bun: SIGPIPE and SIGXFSZ;
 *   Deno: SIGPIPE) back to their default action;
 * - the soft `RLIMIT_NOFILE`, which both runtimes raise to the hard limit,
 *   back to its value at start, when that value is known (see below);
 *   the standalone executable knows it, and the start-up disposition of the
 *   runtime's ignored signals, from its entry prelude (`prelude.ts`);
 * - inherited descriptors: fds 0–2, the `--preserve-fds N` descriptors from 3
 *   on, and the systemd socket-activation descriptors (`LISTEN_FDS` when
 *   `LISTEN_PID` is the launcher's pid) stay open; every other descriptor is
 *   closed on `execve` (as runc does), whatever the runtime marked it.
 *
 * The sh wrapper `scripts/seccompiler` runs Bun with a scrubbed environment
 * (no `BUN_*`/`NODE_*`), which sh also rebuilds (order, duplicates, `PWD`).
 * It therefore hands the caller's original environment, ignored-signal set and
 * soft open-files limit over in one variable, {@link HANDOVER_VARIABLE}, read
 * from its own `/proc/$$/environ`, `/proc/$$/status` and `ulimit -Sn` before
 * anything changed them.
 *
 * @module
 */
import { type FileAccess, nodeFileAccess, readTextFile } from "../files.ts";
import { type ArchInfo, syscallNumber } from "../arch/arch.ts";
import type { Libc } from "../install/mod.ts";
import { readStartState, RUNTIME_IGNORED_SIGNALS } from "./prelude.ts";

/** The variable through which `scripts/seccompiler` hands the caller's state over. */
export const HANDOVER_VARIABLE = "SECCOMPILER_HANDOVER";

/** The caller's state as the wrapper recorded it. */
export interface WrapperHandover {
  /** The caller's environment block, entries as raw bytes. */
  readonly environ: Uint8Array[];
  /** Soft `RLIMIT_NOFILE` at start (`RLIM_INFINITY` for "unlimited"). */
  readonly nofileSoft: bigint;
  /** `SigIgn` at start: bit n−1 set when signal n was ignored. */
  readonly ignored: bigint;
}

/** The target's inheritance, decided before anything is installed. */
export interface Handover {
  /** argv entries as raw bytes. */
  readonly argv: Uint8Array[];
  /** Environment entries as raw bytes, in the order received. */
  readonly envp: Uint8Array[];
  /** Signals to set back to SIG_DFL before `execve`. */
  readonly resetSignals: number[];
  /** The soft `RLIMIT_NOFILE` to restore, when known. */
  readonly nofileSoft?: bigint;
  /** Descriptors ≥ 3 to keep open across `execve`. */
  readonly keepFds: number[];
  /** Descriptors ≥ 3 to mark close-on-exec. */
  readonly closeFds: number[];
  /** Who recorded the start state (limit, signals), for `--dry-run`; absent when nobody did. */
  readonly recordedBy?: "wrapper" | "entry prelude";
  /** Where the environment came from, for `--dry-run`. */
  readonly source: "wrapper" | "/proc/self/environ";
}

/**
 * Thrown when the hand-over cannot be made faithful; the launcher refuses (exit 125).
 *
 * @example
 * ```ts
 * throw new HandoverError("descriptor 4 is not open", "pass exactly the descriptors the program should inherit");
 * ```
 */
export class HandoverError extends Error {
  constructor(message: string, readonly hint?: string) {
    super(message);
    this.name = "HandoverError";
  }
}

/** `RLIM_INFINITY` on Linux. */
export const RLIM_INFINITY = 0xffff_ffff_ffff_ffffn;

/** Splits a NUL-separated kernel block into its entries (the last NUL ends the last entry). @private */
function splitBlock(block: Uint8Array): Uint8Array[] {
  const entries: Uint8Array[] = [];
  let start = 0;
  // indexOf runs natively: this is start-up time of every launch.
  for (let end = block.indexOf(0); end !== -1; end = block.indexOf(0, start)) {
    entries.push(block.slice(start, end));
    start = end + 1;
  }
  if (start < block.length) entries.push(block.slice(start));
  return entries;
}

/**
 * The environment the kernel gave this process, entry by entry, byte for
 * byte (`/proc/self/environ`): not the runtime's `process.env`, which drops
 * duplicates and entries without `=`, and in the standalone executable holds
 * the entry prelude's runtime option too (`RUNTIME_ENVIRONMENT` in
 * `prelude.ts`).
 *
 * @example
 * ```ts
 * startEnvironment().length; // as many entries as the process was started with
 * ```
 */
export function startEnvironment(files: FileAccess = nodeFileAccess()): Uint8Array[] {
  return splitBlock(files.readFileSync("/proc/self/environ"));
}

const lossy = new TextDecoder("utf-8");

/**
 * The value of the first `name=` entry, as glibc's `getenv` finds it.
 *
 * @example
 * ```ts
 * const bytes = (text: string) => new TextEncoder().encode(text);
 * getEntry([bytes("PATH=/bin"), bytes("PATH=/usr/bin")], "PATH"); // "/bin"
 * ```
 */
export function getEntry(environ: readonly Uint8Array[], name: string): string | undefined {
  const prefix = new TextEncoder().encode(`${name}=`);
  search: for (const entry of environ) {
    if (entry.length < prefix.length) continue;
    for (let i = 0; i < prefix.length; i++) if (entry[i] !== prefix[i]) continue search;
    return lossy.decode(entry.subarray(prefix.length));
  }
  return undefined;
}

/** `od -tx8` prints 8-byte words in the host's byte order; this engine runs on that host. @private */
const HOST_LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/**
 * Decodes the output of `od -Ad -v -tx8 -w1048576 FILE`: lines of a decimal
 * offset followed by 16-digit hex words (one line for anything under 1 MiB),
 * then a line holding the total length. The last word is padded with zero
 * bytes, which the length cuts off. `undefined` when the text is not exactly
 * that. @private
 */
function fromOdWords(text: string): Uint8Array | undefined {
  const lines = text.split("\n");
  const last = lines.pop()!;
  if (!/^[0-9]{1,10}$/.test(last)) return undefined;
  const length = Number(last);
  const words: string[] = [];
  for (const line of lines) {
    const tokens = line.split(" ");
    // The offset of the line's first byte, then its words.
    if (Number(tokens[0]) !== words.length * 8 || !/^[0-9]+$/.test(tokens[0])) return undefined;
    for (let i = 1; i < tokens.length; i++) words.push(tokens[i]);
  }
  if (words.length !== Math.ceil(length / 8)) return undefined;
  const out = new Uint8Array(words.length * 8);
  // Digit values from character codes (checked below): no substring or parseInt per byte.
  const digit = (code: number) => (code <= 0x39 ? code - 0x30 : code - 0x57);
  for (const [w, word] of words.entries()) {
    if (word.length !== 16 || !/^[0-9a-f]{16}$/.test(word)) return undefined;
    for (let i = 0; i < 8; i++) {
      // The word's most significant byte is printed first.
      const value = (digit(word.charCodeAt(2 * i)) << 4) | digit(word.charCodeAt(2 * i + 1));
      out[w * 8 + (HOST_LITTLE_ENDIAN ? 7 - i : i)] = value;
    }
  }
  if (out.subarray(length).some((byte) => byte !== 0)) return undefined;
  return out.subarray(0, length);
}

/**
 * Parses the wrapper's record:
 * `2:<soft nofile or "unlimited">:<SigIgn hex>:<od -Ad -v -tx8 -w1048576 of /proc/PID/environ>`
 * (the SigIgn field may keep the tab `/proc` prints before it). Returns
 * `undefined` when the variable is absent; throws {@link HandoverError} when
 * it is malformed (the launcher must not guess).
 *
 * Why `od` words: `od` is the one process the wrapper must start to copy the
 * NUL-separated block (sh cannot hold a NUL); 8-byte words need about 2.1
 * characters per byte, so about 61,000 bytes of environment fit in the
 * 128 KiB Linux allows one environment string, with no `tr` after it.
 *
 * @example
 * ```ts
 * parseWrapperHandover("2:1024:0000000000000000:0000000 0000000000313d41\n0000004"); // environ [A=1], nofile 1024n (on a little-endian host)
 * ```
 */
export function parseWrapperHandover(value: string | undefined): WrapperHandover | undefined {
  if (value === undefined) return undefined;
  const match = /^2:([0-9]+|unlimited):[\t ]*([0-9a-f]{16}):([0-9a-f \n]*)$/.exec(value);
  const block = match ? fromOdWords(match[3]) : undefined;
  if (!match || !block) {
    throw new HandoverError(
      `${HANDOVER_VARIABLE} is malformed`,
      `it is set by scripts/seccompiler for the launcher; unset it when starting the launcher directly`,
    );
  }
  return {
    environ: splitBlock(block),
    nofileSoft: match[1] === "unlimited" ? RLIM_INFINITY : BigInt(match[1]),
    ignored: BigInt(`0x${match[2]}`),
  };
}

/** The process's current ignored-signal set, from `/proc/self/status`. @private */
function currentlyIgnored(files: FileAccess): bigint {
  const line = readTextFile(files, "/proc/self/status").split("\n").find((l) => l.startsWith("SigIgn:"));
  if (line === undefined) throw new HandoverError("cannot read SigIgn from /proc/self/status");
  return BigInt(`0x${line.slice("SigIgn:".length).trim()}`);
}

/**
 * Decides the target's argv, environment, signals, limit and descriptors.
 * `command` is the program and its arguments as the option parser saw them:
 * their raw bytes are the same number of entries at the end of
 * `/proc/self/cmdline`, which is checked entry by entry.
 *
 * @example
 * ```ts
 * const handover = planHandover(["/bin/true"], 0);
 * handover.argv; // [bytes of "/bin/true"]
 * ```
 */
export function planHandover(command: readonly string[], preserveFds: number, files: FileAccess = nodeFileAccess()): Handover {
  const cmdline = splitBlock(files.readFileSync("/proc/self/cmdline"));
  const argv = cmdline.slice(cmdline.length - command.length);
  if (argv.length !== command.length || argv.some((bytes, i) => lossy.decode(bytes) !== command[i])) {
    throw new HandoverError(
      "the command's bytes in /proc/self/cmdline do not match the command line the launcher parsed",
      "the runtime or a preload rewrote the process's arguments; start the launcher without them",
    );
  }
  const ownEnviron = startEnvironment(files);
  const wrapper = parseWrapperHandover(getEntry(ownEnviron, HANDOVER_VARIABLE));
  const envp = wrapper ? wrapper.environ : ownEnviron;

  // Who recorded the start state: the wrapper (everything), or the standalone executable's entry
  // prelude (the limit, and the runtime's own signals); a signal the runtime does not touch that is
  // ignored now was ignored at start.
  const prelude = wrapper ? undefined : readStartState(files);
  const ignoredNow = currentlyIgnored(files);
  const setByRuntime = RUNTIME_IGNORED_SIGNALS.reduce((mask, signal) => mask | (1n << BigInt(signal - 1)), 0n);
  const ignoredAtStart = wrapper ? wrapper.ignored : (ignoredNow & ~setByRuntime) | (prelude?.ignored ?? 0n);
  const nofileSoft = wrapper?.nofileSoft ?? prelude?.nofileSoft;
  const recordedBy = wrapper ? "wrapper" as const : prelude ? "entry prelude" as const : undefined;

  // Signals ignored now but not at start go back to their default action.
  const resetSignals: number[] = [];
  for (let signal = 1; signal <= 64; signal++) {
    const bit = 1n << BigInt(signal - 1);
    if ((ignoredNow & bit) !== 0n && (ignoredAtStart & bit) === 0n) resetSignals.push(signal);
  }

  const keep = new Set<number>();
  for (let fd = 3; fd < 3 + preserveFds; fd++) keep.add(fd);
  const listenFds = getEntry(envp, "LISTEN_FDS");
  const listenPid = getEntry(envp, "LISTEN_PID");
  if (listenFds !== undefined && /^[0-9]{1,6}$/.test(listenFds) && listenPid === String(process.pid)) {
    for (let fd = 3; fd < 3 + Number(listenFds); fd++) keep.add(fd);
  }
  const open = files.readdirSync("/proc/self/fd").map(Number).filter((fd) => Number.isInteger(fd) && fd >= 3);
  for (const fd of keep) {
    if (!open.includes(fd)) {
      throw new HandoverError(
        `descriptor ${fd} is to be passed to the program (--preserve-fds or LISTEN_FDS) but is not open`,
        "pass exactly the descriptors the program should inherit, numbered from 3",
      );
    }
  }
  return {
    argv,
    envp,
    resetSignals,
    ...(nofileSoft === undefined ? {} : { nofileSoft }),
    ...(recordedBy === undefined ? {} : { recordedBy }),
    keepFds: [...keep].sort((a, b) => a - b),
    closeFds: open.filter((fd) => !keep.has(fd)),
    source: wrapper ? "wrapper" : "/proc/self/environ",
  };
}

const F_SETFD = 2n;
const FD_CLOEXEC = 1n;
const RLIMIT_NOFILE = 7n;

/**
 * Applies a {@link Handover} to this process, just before the filter goes on:
 * descriptors kept and closed on exec, signals reset to SIG_DFL, the soft
 * open-files limit restored. Raw system calls only; nothing is allocated
 * after the first change. Throws {@link HandoverError} when a change the
 * target depends on fails (nothing is installed then: exit 125).
 *
 * @example
 * ```ts
 * import { hostArchInfo, openLibc } from "../install/mod.ts";
 * applyHandover(await openLibc(), hostArchInfo(), planHandover(["/bin/true"], 0));
 * ```
 */
export function applyHandover(libc: Libc, arch: ArchInfo, handover: Handover): void {
  const nr = (name: string) => syscallNumber(arch, name)!;
  const fcntl = nr("fcntl");
  // Zeroed kernel sigaction: handler SIG_DFL (0), no flags, empty mask, whatever the layout.
  const defaultAction = new Uint8Array(64);
  const rlimit = new BigUint64Array(2);
  const defaultAddress = libc.address(defaultAction);
  const rlimitAddress = libc.address(rlimit);
  for (const fd of handover.keepFds) {
    if (libc.syscall(fcntl, BigInt(fd), F_SETFD, 0n, 0n, 0n, 0n) !== 0n) {
      throw new HandoverError(`cannot keep descriptor ${fd} open across execve (errno ${libc.errno()})`);
    }
  }
  // A descriptor that closed meanwhile (EBADF) is just as closed on exec.
  for (const fd of handover.closeFds) libc.syscall(fcntl, BigInt(fd), F_SETFD, FD_CLOEXEC, 0n, 0n, 0n);
  for (const signal of handover.resetSignals) {
    if (libc.syscall(nr("rt_sigaction"), BigInt(signal), defaultAddress, 0n, 8n, 0n, 0n) !== 0n) {
      throw new HandoverError(`cannot reset signal ${signal} to its default action (errno ${libc.errno()})`);
    }
  }
  if (handover.nofileSoft !== undefined) {
    const prlimit = nr("prlimit64");
    if (libc.syscall(prlimit, 0n, RLIMIT_NOFILE, 0n, rlimitAddress, 0n, 0n) !== 0n) {
      throw new HandoverError(`cannot read RLIMIT_NOFILE (errno ${libc.errno()})`);
    }
    const hard = rlimit[1];
    rlimit[0] = handover.nofileSoft < hard ? handover.nofileSoft : hard;
    if (libc.syscall(prlimit, 0n, RLIMIT_NOFILE, rlimitAddress, 0n, 0n, 0n) !== 0n) {
      throw new HandoverError(`cannot restore the soft RLIMIT_NOFILE to ${handover.nofileSoft} (errno ${libc.errno()})`);
    }
  }
}
