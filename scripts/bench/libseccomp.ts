/**
 * libseccomp's programs for the same filters, built by
 * `libseccomp_build.py` through Debian's Python binding.
 *
 * @module
 */
import { spawnSync } from "node:child_process";
import { endianness } from "node:os";
import { fileURLToPath } from "node:url";
import type { ArchName } from "../../src/arch/arch.ts";
import { decodeProgram } from "../../src/bpf/encode.ts";
import type { Program } from "../../src/bpf/insn.ts";
import type { Filter } from "../../src/ir.ts";

const HELPER = fileURLToPath(new URL("./libseccomp_build.py", import.meta.url));

/** libseccomp's programs for every filter, at the two optimisation levels. */
export interface LibseccompPrograms {
  /** libseccomp's version (`seccomp_version()`), e.g. `2.5.4`. */
  readonly version: string;
  /** `CTL_OPTIMIZE` 1, the default: one chain of syscall tests, ordered by libseccomp's priorities. */
  readonly linear: ReadonlyMap<string, Program>;
  /** `CTL_OPTIMIZE` 2: a binary tree over syscall numbers. */
  readonly tree: ReadonlyMap<string, Program>;
}

/**
 * A python3 that can `import seccomp`: Debian's `/usr/bin/python3` first,
 * because a pyenv `python3` on PATH shadows the system packages.
 *
 * @example
 * ```ts
 * const python = findPython(); // "/usr/bin/python3" or undefined
 * ```
 */
export function findPython(): string | undefined {
  for (const candidate of ["/usr/bin/python3", "python3"]) {
    const probe = spawnSync(candidate, ["-c", "import seccomp"], { encoding: "utf8" });
    if (probe.status === 0) return candidate;
  }
  return undefined;
}

/** The JSON form of an IR filter that the helper reads (u64 values as decimal strings). @private */
function filterRequest(name: string, filter: Filter): unknown {
  return {
    name,
    mismatchAction: filter.mismatchAction,
    matchAction: filter.matchAction,
    syscalls: filter.syscalls.map((s) => ({
      name: s.name,
      rules: s.rules.map((r) => ({
        conditions: r.conditions.map((c) => ({
          index: c.index,
          width: c.width,
          op: c.op,
          value: c.value.toString(),
          ...(c.mask === undefined ? {} : { mask: c.mask.toString() }),
        })),
      })),
    })),
  };
}

/**
 * Compiles every filter with libseccomp at optimisation levels 1 and 2.
 * Throws when the helper fails (its stderr is in the message).
 *
 * @example
 * ```ts
 * const { linear, tree } = buildLibseccompPrograms(findPython()!, "x86_64", filters);
 * ```
 */
export function buildLibseccompPrograms(
  python: string,
  arch: ArchName,
  filters: ReadonlyMap<string, Filter>,
): LibseccompPrograms {
  const request = { arch, optimize: [1, 2], filters: [...filters].map(([name, f]) => filterRequest(name, f)) };
  const run = spawnSync(python, [HELPER], { input: JSON.stringify(request), encoding: "utf8", maxBuffer: 1 << 26 });
  if (run.status !== 0) throw new Error(`libseccomp helper failed (${python} ${HELPER}):\n${run.stderr}`);
  const answer = JSON.parse(run.stdout) as { version: string; programs: Record<string, Record<string, string>> };
  // seccomp_export_bpf writes the host's byte order.
  const hostOrder = endianness() === "LE" ? "little" : "big";
  const decode = (base64: string): Program =>
    decodeProgram(Uint8Array.from(atob(base64), (c) => c.charCodeAt(0)), hostOrder);
  const linear = new Map<string, Program>();
  const tree = new Map<string, Program>();
  for (const [name, levels] of Object.entries(answer.programs)) {
    linear.set(name, decode(levels["1"]));
    tree.set(name, decode(levels["2"]));
  }
  return { version: answer.version, linear, tree };
}
