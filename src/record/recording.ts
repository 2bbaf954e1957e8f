/**
 * What `seccompiler record` keeps from a run: per thread group, each distinct
 * (syscall, recorded argument values) with how often it was seen. Plus the
 * two small languages of its options, `--threads` and `--args`.
 *
 * Memory is bounded: each syscall keeps at most `maxValues` distinct argument
 * tuples; past that it is recorded without conditions (and said so).
 *
 * @module
 */
import type { ArchInfo } from "../arch/arch.ts";
import type { ArgIndex, Width } from "../ir.ts";

/** One `--args` entry: record argument `index` of `syscall`. */
export interface ArgSpec {
  readonly syscall: string;
  readonly index: ArgIndex;
  /** `dword` (default: the low 32 bits, what ioctl, fcntl and socket take) or `qword`. */
  readonly width: Width;
}

/** One `--threads` entry: threads whose name matches `pattern` go to filter `group`. */
export interface ThreadRule {
  readonly pattern: string;
  readonly group: string;
  readonly regex: RegExp;
}

/** The group of threads no `--threads` pattern matches, and of every thread without `--threads`. */
export const DEFAULT_GROUP = "main";

/**
 * A bad `--threads` or `--args` value; the CLI turns it into a usage error.
 *
 * @example
 * ```ts
 * import { getArch } from "../arch/arch.ts";
 * try { parseArgSpecs("ioctl", getArch("x86_64")); } catch (e) { if (e instanceof SpecError) console.log(e.message); }
 * ```
 */
export class SpecError extends Error {
  /** Stable code. */
  readonly code = "record-spec";
}

/**
 * Parses `--args`, e.g. `ioctl:1,fcntl:1,socket:0` (`name:index[:qword]`).
 *
 * @example
 * ```ts
 * import { getArch } from "../arch/arch.ts";
 * parseArgSpecs("ioctl:1", getArch("x86_64")); // [{ syscall: "ioctl", index: 1, width: "dword" }]
 * ```
 */
export function parseArgSpecs(text: string, arch: ArchInfo): ArgSpec[] {
  const specs: ArgSpec[] = [];
  for (const item of text.split(",").map((s) => s.trim()).filter((s) => s !== "")) {
    const match = /^([a-z0-9_]+):([0-5])(?::(dword|qword))?$/.exec(item);
    if (!match) throw new SpecError(`--args: "${item}" is not SYSCALL:INDEX (index 0..5, optionally :qword), e.g. ioctl:1`);
    const [, syscall, index, width] = match;
    if (!arch.syscalls.has(syscall)) throw new SpecError(`--args: unknown syscall "${syscall}" for ${arch.name}`);
    if (specs.some((s) => s.syscall === syscall && s.index === Number(index))) {
      throw new SpecError(`--args: "${syscall}:${index}" is given twice`);
    }
    specs.push({ syscall, index: Number(index) as ArgIndex, width: (width ?? "dword") as Width });
  }
  return specs;
}

/**
 * Parses `--threads`, e.g. `fc_api=api,fc_vcpu*=vcpu,*=vmm`: the first pattern
 * matching a thread's name (`*` any run of characters, `?` one) picks its
 * filter. Threads no pattern matches go to {@link DEFAULT_GROUP}.
 *
 * @example
 * ```ts
 * groupOf(parseThreadRules("fc_vcpu*=vcpu,*=vmm"), "fc_vcpu 0"); // "vcpu"
 * ```
 */
export function parseThreadRules(text: string): ThreadRule[] {
  const rules: ThreadRule[] = [];
  for (const item of text.split(",").filter((s) => s.trim() !== "")) {
    const at = item.lastIndexOf("=");
    const pattern = item.slice(0, at);
    const group = item.slice(at + 1).trim();
    if (at <= 0 || !/^[A-Za-z0-9_.-]+$/.test(group)) {
      throw new SpecError(`--threads: "${item}" is not PATTERN=NAME (NAME: letters, digits, _ . -), e.g. fc_vcpu*=vcpu`);
    }
    const source = pattern.replace(/[.+^${}()|[\]\\]/g, "\\$&").replace(/\*/g, ".*").replace(/\?/g, ".");
    rules.push({ pattern, group, regex: new RegExp(`^${source}$`, "s") });
  }
  return rules;
}

/**
 * The filter a thread named `name` belongs to.
 *
 * @example
 * ```ts
 * groupOf([], "anything"); // "main"
 * ```
 */
export function groupOf(rules: readonly ThreadRule[], name: string): string {
  return rules.find((rule) => rule.regex.test(name))?.group ?? DEFAULT_GROUP;
}

/** One recorded rule: a syscall, the values of its `--args` arguments (none for others), and a count. */
export interface RecordedRule {
  readonly syscall: string;
  /** One value per {@link ArgSpec} of this syscall, in `--args` order; undefined: unconditional. */
  readonly values?: readonly bigint[];
  count: number;
}

/** One thread group's calls, keyed by syscall then by argument tuple. */
export interface GroupRecording {
  readonly syscalls: Map<string, { rules: Map<string, RecordedRule>; overflowed: boolean }>;
  /** Thread names seen in this group. */
  readonly threads: Set<string>;
}

/** Everything recorded in one run. */
export interface Recording {
  readonly groups: Map<string, GroupRecording>;
  /** Calls seen (notifications recorded). */
  calls: number;
}

/** Settings that shape a recording. */
export interface RecordConfig {
  readonly arch: ArchInfo;
  readonly argSpecs: readonly ArgSpec[];
  readonly threadRules: readonly ThreadRule[];
  /** Most distinct argument tuples kept per syscall before it is recorded unconditionally. */
  readonly maxValues: number;
}

/**
 * An empty recording.
 *
 * @example
 * ```ts
 * const recording = newRecording();
 * ```
 */
export function newRecording(): Recording {
  return { groups: new Map(), calls: 0 };
}

/**
 * Adds one call by thread `threadName`: syscall `nr` with `args`. Calls whose
 * number has no name on the architecture are ignored (the filter let only
 * native calls through, so this does not happen with a known table).
 *
 * @example
 * ```ts
 * import { getArch } from "../arch/arch.ts";
 * const arch = getArch("x86_64");
 * const config: RecordConfig = { arch, argSpecs: parseArgSpecs("ioctl:1", arch), threadRules: [], maxValues: 256 };
 * const recording = newRecording();
 * addCall(recording, config, "fc_vcpu 0", 16, [3n, 0xae80n, 0n, 0n, 0n, 0n]);
 * ```
 */
export function addCall(recording: Recording, config: RecordConfig, threadName: string, nr: number, args: readonly bigint[]): void {
  const syscall = config.arch.names.get(nr);
  if (syscall === undefined) return;
  recording.calls++;
  const name = groupOf(config.threadRules, threadName);
  let group = recording.groups.get(name);
  if (!group) {
    group = { syscalls: new Map(), threads: new Set() };
    recording.groups.set(name, group);
  }
  group.threads.add(threadName);
  let entry = group.syscalls.get(syscall);
  if (!entry) {
    entry = { rules: new Map(), overflowed: false };
    group.syscalls.set(syscall, entry);
  }
  const specs = config.argSpecs.filter((spec) => spec.syscall === syscall);
  const values = specs.length === 0 || entry.overflowed
    ? undefined
    : specs.map((spec) => spec.width === "dword" ? args[spec.index] & 0xffffffffn : args[spec.index]);
  const key = values === undefined ? "" : values.join(",");
  const rule = entry.rules.get(key);
  if (rule) {
    rule.count++;
    return;
  }
  if (values !== undefined && entry.rules.size >= config.maxValues) {
    // Too many distinct values: fold everything into one unconditional rule.
    const count = [...entry.rules.values()].reduce((sum, r) => sum + r.count, 1);
    entry.rules.clear();
    entry.overflowed = true;
    entry.rules.set("", { syscall, count });
    return;
  }
  entry.rules.set(key, values === undefined ? { syscall, count: 1 } : { syscall, values, count: 1 });
}
