/**
 * Pins what the compiler produces for `policies/example.json`, the large ioctl fixture
 * `policies/vmm-ioctl.json` and every thread of Firecracker's policies: program length, and the
 * mean and worst instructions executed on the benchmark's workload (scripts/bench), overall and
 * for the calls that match an argument rule, and the mean over calls the action cache cannot skip.
 * It also checks that the kernel's action cache skips exactly the unconditionally allowed syscalls. No other test notices when code generation or the optimizer gets
 * worse while staying correct — dropping `optimizeProgram` from src/compile.ts passes every
 * semantic test — so a change of any figure here must be deliberate.
 *
 * To accept new figures (after checking they are better, or why they are not):
 *
 *     SECCOMPILER_UPDATE_EXPECTED=1 node_modules/.bin/bun test test/compiled-size.test.ts
 *
 * and commit test/compiled-size.expected.json. Update with the corpus present, or its entries are
 * kept as they were.
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { ArchName } from "../src/arch/arch.ts";
import { compilePolicy } from "../src/compile.ts";
import { getArch } from "../src/arch/arch.ts";
import { actionCacheReport } from "../src/bpf/cache.ts";
import { measureProgram } from "../scripts/bench/figures.ts";
import { buildWorkload } from "../scripts/bench/workload.ts";
import { CORPUS, HAVE_CORPUS, REPO_ROOT } from "./support/paths.ts";
import { skipUnless } from "./support/require.ts";

/** One thread's figures. */
interface Figures {
  /** Program length. */
  readonly instructions: number;
  /** Mean instructions executed per allowed call (scripts/bench/figures.ts), to 3 decimals. */
  readonly meanSteps: number;
  /** Most instructions executed on any call of the workload. */
  readonly worstSteps: number;
  /** Mean instructions executed per call matching an argument rule, to 3 decimals. */
  readonly ruleMeanSteps: number;
  /** Most instructions executed by a call matching an argument rule. */
  readonly ruleWorstSteps: number;
  /** Mean instructions executed per call the action cache cannot skip, to 3 decimals. */
  readonly uncachedMeanSteps: number;
}

/** "<policy> <arch>" → thread → figures. */
type Expected = Record<string, Record<string, Figures>>;

const EXPECTED_FILE = join(REPO_ROOT, "test", "compiled-size.expected.json");
const UPDATE = process.env.SECCOMPILER_UPDATE_EXPECTED === "1";

/** The same files and arches as test/corpus.test.ts. */
const CORPUS_FILES: [string, ArchName][] = [
  ["x86_64-unknown-linux-musl.json", "x86_64"],
  ["aarch64-unknown-linux-musl.json", "aarch64"],
  ["v1.10.1/x86_64-unknown-linux-musl.json", "x86_64"],
  ["v1.10.1/aarch64-unknown-linux-musl.json", "aarch64"],
  ["unimplemented.json", "x86_64"],
  ["unimplemented.json", "aarch64"],
];

/** Compiles `path` for `arch` and measures every thread. */
function measure(path: string, arch: ArchName): Record<string, Figures> {
  const { programs, filters } = compilePolicy(readFileSync(path, "utf8"), arch, { file: path });
  const out: Record<string, Figures> = {};
  for (const [thread, program] of programs) {
    const filter = filters.get(thread)!;
    const figures = measureProgram(filter, program, buildWorkload(filter));
    out[thread] = {
      instructions: figures.instructions,
      meanSteps: Math.round(figures.meanSteps * 1000) / 1000,
      worstSteps: figures.worstSteps,
      ruleMeanSteps: Math.round(figures.ruleMeanSteps * 1000) / 1000,
      ruleWorstSteps: figures.ruleWorstSteps,
      uncachedMeanSteps: Math.round(figures.uncachedMeanSteps * 1000) / 1000,
    };
  }
  return out;
}

const expected: Expected = JSON.parse(readFileSync(EXPECTED_FILE, "utf8"));
const measured: Expected = {};

/** Compares (or, when updating, records) one policy's figures. */
function check(key: string, path: string, arch: ArchName): void {
  measured[key] = measure(path, arch);
  if (UPDATE) return;
  assert.deepEqual(
    measured[key],
    expected[key],
    `figures of ${key} changed; if deliberate, rerun with SECCOMPILER_UPDATE_EXPECTED=1 (see this file's header)`,
  );
}

/** The large ioctl fixture (docs/bench.md): about 100 syscalls, ioctl with 150+ request values. */
const FIXTURE = join(REPO_ROOT, "policies", "vmm-ioctl.json");

describe("compiled size and instructions executed", () => {
  for (const arch of ["x86_64", "aarch64"] as const) {
    test(`policies/example.json for ${arch}`, () => check(`example.json ${arch}`, join(REPO_ROOT, "policies", "example.json"), arch));
    test(`policies/vmm-ioctl.json for ${arch}`, () => check(`vmm-ioctl.json ${arch}`, FIXTURE, arch));
  }
});

/**
 * The kernel's action cache (emulated by actionCacheReport) must skip exactly the syscalls the
 * policy allows whatever their arguments: one fewer and every call of it runs the filter, one
 * more and the filter is bypassed for arguments it should check.
 */
function checkCache(path: string, arch: ArchName): void {
  const { programs, filters } = compilePolicy(readFileSync(path, "utf8"), arch, { file: path });
  const info = getArch(arch);
  for (const [thread, program] of programs) {
    const filter = filters.get(thread)!;
    const allowKind = (a: { kind: string }) => a.kind === "allow";
    const expected = new Set<number>();
    for (const [nr] of info.names) {
      if (nr & 0x40000000) continue;
      const listed = filter.syscalls.find((s) => s.nr === nr);
      const allowed = listed ? (listed.rules.length === 0 ? allowKind(filter.matchAction) : false) : allowKind(filter.mismatchAction);
      if (allowed) expected.add(nr);
    }
    const cached = new Set(actionCacheReport(program, info).cached.map((name) => info.syscalls.get(name)!));
    assert.deepEqual([...cached].sort((a, b) => a - b), [...expected].sort((a, b) => a - b), `${thread}: cached numbers`);
    assert.ok(expected.size > 0, `${thread}: the test needs unconditional syscalls`);
  }
}

describe("action cache: exactly the unconditional allows", () => {
  for (const arch of ["x86_64", "aarch64"] as const) {
    test(`policies/vmm-ioctl.json for ${arch}`, () => checkCache(FIXTURE, arch));
    test(`policies/example.json for ${arch}`, () => checkCache(join(REPO_ROOT, "policies", "example.json"), arch));
  }
});

describe("action cache of the Firecracker corpus", { skip: skipUnless("corpus", !HAVE_CORPUS && `corpus absent (${CORPUS})`, "action cache of the Firecracker corpus") }, () => {
  for (const [file, arch] of CORPUS_FILES) {
    test(`${file} for ${arch}`, () => checkCache(join(CORPUS, file), arch));
  }
});

describe("compiled size of the Firecracker corpus", { skip: skipUnless("corpus", !HAVE_CORPUS && `corpus absent (${CORPUS})`, "compiled size of the Firecracker corpus") }, () => {
  for (const [file, arch] of CORPUS_FILES) {
    test(`${file} for ${arch}`, () => check(`firecracker/${file} ${arch}`, join(CORPUS, file), arch));
  }
});

if (UPDATE) {
  // Registered last, so it runs after every measurement above.
  describe("update", () => {
    test(`write ${EXPECTED_FILE}`, () => {
      const merged: Expected = { ...expected, ...measured };
      const sorted = Object.fromEntries(Object.keys(merged).sort().map((k) => [k, merged[k]]));
      writeFileSync(EXPECTED_FILE, JSON.stringify(sorted, null, 2) + "\n");
    });
  });
}
