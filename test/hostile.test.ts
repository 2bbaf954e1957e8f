/**
 * Hostile input, each with a fixed budget per CI run (SECCOMPILER_CASES=x10
 * or a number for a longer local run; SECCOMPILER_SEED to replay):
 *
 * - policy text: mutations of real policies (byte flips, truncation, deep
 *   nesting, huge numbers, long strings, odd Unicode, duplicated keys and
 *   lines) always compile or fail with a PolicyError whose every diagnostic
 *   has a source position; never another exception, never over 1 s;
 * - container files, in both layouts (bincode for Firecracker ≤ v1.14,
 *   bitcode for v1.15+): random bytes, mutations of valid files and length
 *   fields up to 2^64−1 give a map or a ContainerError with a code and an
 *   offset; no allocation larger than the bytes limit is ever requested;
 * - CLI arguments: random argument vectors end with exit 0, 1 or 2, and a
 *   message on standard error for 1 and 2; never a stack trace or an
 *   "internal error".
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { chmodSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import fc from "fast-check";
import { ARCH_NAMES, type ArchName } from "../src/arch/arch.ts";
import { BPF_MAXINSNS, type Program } from "../src/bpf/insn.ts";
import { validateProgram } from "../src/bpf/validate.ts";
import { compileFromJson } from "../src/compile.ts";
import { type ContainerFormat, ContainerError, deserializeBinary, serializeBinary } from "../src/container.ts";
import { decodeBitcode, encodeBitcode } from "../src/container/bitcode.ts";
import { formatDiagnostic, PolicyError } from "../src/diagnostics.ts";
import { filterArb, policyText, propertyTimeout, runSettings } from "./support/arbitraries.ts";
import { assertBothWaysAgree, tally } from "./support/both-paths.ts";
import { CLI, CORPUS, HAVE_CORPUS } from "./support/paths.ts";

const EXAMPLES = new URL("../policies/", import.meta.url);

/** Real policies to mutate: the Firecracker corpus (when present), the repository's examples, random ones. */
function seedPolicies(): { text: string; arch: ArchName }[] {
  const out: { text: string; arch: ArchName }[] = [];
  const visit = (dir: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) visit(path);
      else if (entry.name.endsWith(".json") && !entry.name.endsWith(".schema.json")) {
        out.push({ text: readFileSync(path, "utf8"), arch: entry.name.startsWith("aarch64") ? "aarch64" : "x86_64" });
      }
    }
  };
  if (HAVE_CORPUS) visit(CORPUS);
  visit(fileURLToPath(EXAMPLES));
  for (const filter of fc.sample(filterArb({ maxSyscalls: 20 }), { seed: 7, numRuns: 8 })) {
    out.push({ text: policyText(filter, "main"), arch: filter.arch });
  }
  return out;
}

const ODD_UNICODE = [
  "\uD800", "\uDFFF", "\uFEFF", "\u0000", "\u202E", "e\u0301", "\u{1D54A}", "\u2028", "\uFFFF", "\\ud800", "\\u0000",
  "\\uZZZZ", "\u00A0", "İ", "ǅ",
];
const HUGE_NUMBERS = [
  "18446744073709551616", "18446744073709551615", "99999999999999999999999999999999999999", "1" + "0".repeat(400),
  "-0", "-1", "1e3", "1.0", "0.5", "1E400", "0x10", "00", "4294967296", "9007199254740993", "-18446744073709551616",
];

/** A mutation of a policy text: applied to the text, it returns the hostile text. */
type Mutation = (text: string) => string;

const at = (text: string, fraction: number) => Math.floor(fraction * text.length);

const mutationArb: fc.Arbitrary<Mutation> = fc.oneof(
  // byte flips: one character replaced, structural characters favoured
  fc.tuple(fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }), fc.oneof(
    fc.constantFrom(..."{}[]\":,\\ \n0123456789-.eEtfn"),
    fc.string({ minLength: 1, maxLength: 1 }),
    fc.constantFrom(...ODD_UNICODE),
  )).map(([where, char]): Mutation => (t) => t.slice(0, at(t, where)) + char + t.slice(at(t, where) + 1)),
  // truncation
  fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }).map((where): Mutation => (t) => t.slice(0, at(t, where))),
  // deep nesting, inserted anywhere or as the whole document
  fc.tuple(fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }), fc.constantFrom(10, 1000, 100_000), fc.boolean(), fc.boolean())
    .map(([where, depth, arrays, closed]): Mutation => (t) => {
      const open = arrays ? "[".repeat(depth) : '{"a":'.repeat(depth);
      const nest = open + (closed ? "0" + (arrays ? "]" : "}").repeat(depth) : "");
      return where < 0.2 ? nest : t.slice(0, at(t, where)) + nest + t.slice(at(t, where));
    }),
  // a number replaced by a huge or malformed one
  fc.tuple(fc.nat(), fc.constantFrom(...HUGE_NUMBERS)).map(([n, big]): Mutation => (t) => {
    const numbers = [...t.matchAll(/-?\d+/g)];
    if (numbers.length === 0) return t + big;
    const m = numbers[n % numbers.length];
    return t.slice(0, m.index) + big + t.slice(m.index! + m[0].length);
  }),
  // a string replaced by a long or odd one
  fc.tuple(fc.nat(), fc.oneof(
    fc.constantFrom(1000, 100_000).map((n) => "a".repeat(n)),
    fc.constantFrom(...ODD_UNICODE),
    fc.string({ unit: "grapheme", maxLength: 20 }),
  )).map(([n, replacement]): Mutation => (t) => {
    const strings = [...t.matchAll(/"(?:[^"\\]|\\.)*"/g)];
    if (strings.length === 0) return t;
    const m = strings[n % strings.length];
    // Raw between quotes: a quote or backslash inside breaks the JSON too, which is also fair game.
    return t.slice(0, m.index) + `"${replacement}"` + t.slice(m.index! + m[0].length);
  }),
  // a duplicated key (a `"key": value` member repeated in its object) or line
  fc.nat().map((n): Mutation => (t) => {
    const members = [...t.matchAll(/"[A-Za-z_]+"\s*:\s*(?:"[^"]*"|-?\d+|\{[^{}]*\})\s*,?/g)];
    if (members.length === 0) return t;
    const m = members[n % members.length];
    const member = m[0].replace(/,?\s*$/, "");
    return t.slice(0, m.index) + member + ", " + t.slice(m.index!);
  }),
  fc.nat().map((n): Mutation => (t) => {
    const lines = t.split("\n");
    const i = n % lines.length;
    return [...lines.slice(0, i + 1), lines[i], ...lines.slice(i + 1)].join("\n");
  }),
);

/** Compiles `text`; fails the test on anything but programs or a fully positioned PolicyError. */
function checkPolicyText(text: string, arch: ArchName): "compiled" | "refused" {
  let programs: Map<string, Program>;
  try {
    programs = compileFromJson(text, arch, { file: "mutant.json" });
  } catch (error) {
    if (!(error instanceof PolicyError)) {
      throw new Error(`uncaught ${(error as Error)?.name}: ${(error as Error)?.message}`);
    }
    assert.ok(error.diagnostics.length > 0, "PolicyError without diagnostics");
    // The report must stay proportional to the input: quoting a whole (possibly one-line,
    // megabyte-long) source line under each of thousands of diagnostics is itself a denial of service.
    assert.ok(error.message.length <= 20 * text.length + 100_000,
      `a ${text.length}-character policy produced a ${error.message.length}-character error message (${error.diagnostics.length} diagnostics)`);
    for (const d of error.diagnostics) {
      assert.ok(d.message.length > 0 && d.code.length > 0, `empty diagnostic ${JSON.stringify(d)}`);
      const p = d.position;
      assert.ok(p, `diagnostic without a position: ${d.code}: ${d.message} at ${d.path}`);
      assert.ok(p.line >= 1 && p.column >= 1 && p.offset >= 0 && p.offset <= text.length && p.length >= 1,
        `bad position ${JSON.stringify(p)} for ${d.code} (text length ${text.length})`);
      formatDiagnostic(d, text);
    }
    return "refused";
  }
  for (const [thread, program] of programs) {
    assert.ok(program.length >= 1 && program.length <= BPF_MAXINSNS, `${thread}: ${program.length} instructions`);
    assert.deepEqual(validateProgram(program), [], thread);
  }
  return "compiled";
}

describe("hostile policy text", () => {
  test("mutated policies compile or fail with positioned errors, each within 1 s", { timeout: propertyTimeout(300_000) }, () => {
    const settings = runSettings("hostile-policy", 0x5ecc_0006, 600);
    const seeds = seedPolicies();
    const outcomes = { compiled: 0, refused: 0 };
    const fastBefore = tally.fast;
    let slowest = 0;
    fc.assert(
      fc.property(
        fc.nat({ max: seeds.length - 1 }),
        fc.array(mutationArb, { minLength: 1, maxLength: 3 }),
        fc.constantFrom(...ARCH_NAMES),
        (which, mutations, otherArch) => {
          const seed = seeds[which];
          const text = mutations.reduce((t, mutate) => mutate(t), seed.text);
          const arch = which % 4 === 0 ? otherArch : seed.arch;
          const start = performance.now();
          outcomes[checkPolicyText(text, arch)]++;
          const elapsed = performance.now() - start;
          slowest = Math.max(slowest, elapsed);
          if (elapsed > 1000) throw new Error(`took ${Math.round(elapsed)} ms (${text.length} chars)`);
          // Outside the timing: the same outcome with and without the fast path for valid policies.
          assertBothWaysAgree(text, arch, { file: "mutant.json" });
        },
      ),
      // No shrinking in CI: each retry of a slow input costs seconds. Replay the printed seed and
      // path locally to shrink.
      { ...settings, endOnFailure: true },
    );
    console.log(`[hostile-policy] ${JSON.stringify(outcomes)}, slowest ${Math.round(slowest)} ms; ${tally.fast - fastBefore} took the fast path`);
    if (settings.checkCoverage) assert.ok(tally.fast > fastBefore, "no mutant took the fast path, so the equivalence was never tested");
    if (settings.checkCoverage) assert.ok(outcomes.refused > settings.numRuns / 4, "mutations should mostly break the policy");
  });

  const filterOf = (rules: string) => `{"t":{"default_action":"trap","filter_action":"allow","filter":[${rules}]}}`;
  const specific: [string, string][] = [
    ["empty", ""], ["blank", " "], ["BOM then {}", "\uFEFF{}"], ["array", "[]"], ["null", "null"], ["open brace", "{"],
    ["close brace", "}"], ["dangling key", '{"a":'], ["trailing garbage", "{}garbage"], ["trailing NUL", '{"a":1}\u0000'],
    ["200,000 nested arrays", "[".repeat(200_000)],
    ["200,000 nested objects", '{"a":'.repeat(200_000)],
    ["20,000 nested arrays, closed", "[".repeat(20_000) + "]".repeat(20_000)],
    ["a 100,000-character syscall name", filterOf(`{"syscall":"${"x".repeat(100_000)}"}`)],
    ["10 unknown 10,000-character syscall names", filterOf(Array.from({ length: 10 }, (_, i) => `{"syscall":"${String(i).repeat(10_000)}"}`).join(","))],
    ["a 100,000-digit value", filterOf(`{"syscall":"read","args":[{"index":0,"type":"qword","op":"eq","val":${"9".repeat(100_000)}}]}`)],
    ["a lone surrogate as a thread name", '{"\uD800":{"default_action":"trap","filter_action":"allow","filter":[]}}'],
    ["a duplicated key", '{"t":{"default_action":"trap","default_action":"trap","filter_action":"allow","filter":[]}}'],
    ["a duplicated thread", '{"t":{"default_action":"trap","filter_action":"allow","filter":[]},"t":{"default_action":"trap","filter_action":"allow","filter":[]}}'],
    ["1,000 duplicated keys", `{"t":{${'"default_action":"trap",'.repeat(1_000)}"filter_action":"allow","filter":[]}}`],
  ];
  for (const [label, text] of specific) {
    test(`hostile document: ${label}`, () => {
      const start = performance.now();
      checkPolicyText(text, "x86_64");
      const elapsed = performance.now() - start;
      assert.ok(elapsed < 1000, `took ${Math.round(elapsed)} ms`);
      assertBothWaysAgree(text, "x86_64", { file: "mutant.json" });
    });
  }
});

// ---------------------------------------------------------------------------

/** Records the largest allocation requested through the global buffer constructors while `run` runs. */
function largestAllocation(run: () => void): number {
  const g = globalThis as Record<string, unknown>;
  const saved = { Uint8Array: g.Uint8Array, ArrayBuffer: g.ArrayBuffer, Array: g.Array };
  let largest = 0;
  const note = (size: unknown) => {
    if (typeof size === "number") largest = Math.max(largest, size);
  };
  const OriginalU8 = Uint8Array;
  const OriginalAB = ArrayBuffer;
  const OriginalArray = Array;
  g.Uint8Array = new Proxy(OriginalU8, { construct: (t, args, nt) => (note(args[0]), Reflect.construct(t, args, nt)) });
  g.ArrayBuffer = new Proxy(OriginalAB, { construct: (t, args, nt) => (note(args[0]), Reflect.construct(t, args, nt)) });
  g.Array = new Proxy(OriginalArray, {
    construct: (t, args, nt) => (args.length === 1 && note(args[0]), Reflect.construct(t, args, nt)),
    apply: (t, self, args) => (args.length === 1 && note(args[0]), Reflect.apply(t, self, args)),
  });
  try {
    run();
  } finally {
    Object.assign(g, saved);
  }
  return largest;
}

const u64 = (value: bigint) => {
  const b = new Uint8Array(8);
  new DataView(b.buffer).setBigUint64(0, value, true);
  return [...b];
};

/** Reads a container; anything but a map or a ContainerError with a code and an offset fails the test. */
function checkContainer(bytes: Uint8Array, bytesLimit: number, format?: ContainerFormat): "read" | "refused" {
  let outcome: "read" | "refused" = "refused";
  const largest = largestAllocation(() => {
    try {
      const filters = deserializeBinary(bytes, { bytesLimit, ...(format ? { format } : {}) });
      for (const [key, program] of filters) {
        assert.ok(program.length >= 1 && program.length <= BPF_MAXINSNS, key);
      }
      outcome = "read";
    } catch (error) {
      if (!(error instanceof ContainerError)) throw new Error(`uncaught ${(error as Error)?.name}: ${(error as Error)?.message}`);
      assert.ok(error.code.length > 0 && error.message.length > 0);
      assert.ok(
        Number.isSafeInteger(error.offset) && error.offset! >= 0 && error.offset! <= Math.max(bytes.length, bytesLimit),
        `${error.code} without a sound offset (${error.offset}): ${error.message}`,
      );
    }
  });
  assert.ok(largest <= Math.max(bytesLimit, bytes.length), `requested an allocation of ${largest} (limit ${bytesLimit})`);
  return outcome;
}

describe("hostile container files (bincode)", () => {
  const valid = serializeBinary({
    api: [{ code: 0x06, jt: 0, jf: 0, k: 0x7fff0000 }],
    vcpu: [{ code: 0x06, jt: 0, jf: 0, k: 0x00050001 }],
    vmm: [
      { code: 0x20, jt: 0, jf: 0, k: 4 }, { code: 0x15, jt: 1, jf: 0, k: 0xc000003e },
      { code: 0x06, jt: 0, jf: 0, k: 0x80000000 }, { code: 0x06, jt: 0, jf: 0, k: 0x7fff0000 },
    ],
  }, { format: "bincode" });

  test("the valid fixture reads back (so the mutations start from something real)", () => {
    assert.equal(valid.length, 114);
    assert.equal(checkContainer(valid, 100_000), "read");
  });

  test("length fields up to 2^64−1: a clear error, no allocation beyond the limit", () => {
    const huge = [1n << 64n, 1n << 63n, 1n << 53n, (1n << 32n) + 1n, 1n << 32n, 100_001n, 50_000_000n, 12_500n, 4097n]
      .map((v) => v - 1n);
    for (const length of huge) {
      const asMapLen = Uint8Array.from([...u64(length), ...valid.slice(8)]);
      const asKeyLen = Uint8Array.from([...valid.slice(0, 8), ...u64(length), ...valid.slice(16)]);
      const asInsnCount = Uint8Array.from([...valid.slice(0, 19), ...u64(length), ...valid.slice(27)]);
      for (const bytes of [asMapLen, asKeyLen, asInsnCount]) {
        assert.equal(checkContainer(bytes, 100_000), "refused", `length ${length}`);
      }
    }
    // Over the bytes limit: refused before decoding anything.
    assert.throws(() => deserializeBinary(new Uint8Array(100_001)), (e: unknown) => e instanceof ContainerError && e.code === "too-large");
    assert.throws(() => deserializeBinary(valid, { bytesLimit: 113 }), (e: unknown) => e instanceof ContainerError && e.code === "too-large");
  });

  test("random bytes and mutations of a valid container", { timeout: propertyTimeout(120_000) }, () => {
    const settings = runSettings("hostile-container", 0x5ecc_0007, 3_000);
    const outcomes = { read: 0, refused: 0 };
    const bytesArb = fc.oneof(
      fc.uint8Array({ maxLength: 300 }),
      fc.tuple(fc.nat({ max: valid.length - 1 }), fc.integer({ min: 0, max: 255 })).map(([i, b]) => {
        const copy = valid.slice();
        copy[i] = b;
        return copy;
      }),
      fc.nat({ max: valid.length }).map((n) => valid.slice(0, n)),
      fc.tuple(fc.nat({ max: valid.length }), fc.uint8Array({ minLength: 1, maxLength: 40 })).map(([i, extra]) =>
        Uint8Array.from([...valid.slice(0, i), ...extra, ...valid.slice(i)])
      ),
      fc.tuple(fc.constantFrom(0, 8, 19, 35, 43, 47, 63, 74), fc.bigInt(0n, (1n << 64n) - 1n)).map(([offset, length]) => {
        const copy = valid.slice();
        copy.set(u64(length), offset);
        return copy;
      }),
    );
    fc.assert(
      fc.property(bytesArb, fc.constantFrom(100_000, 114, 50, 20), (bytes, limit) => {
        outcomes[checkContainer(bytes, limit)]++;
      }),
      settings,
    );
    console.log(`[hostile-container] ${JSON.stringify(outcomes)}`);
    if (settings.checkCoverage) assert.ok(outcomes.read > 0 && outcomes.refused > settings.numRuns / 2, JSON.stringify(outcomes));
  });
});

/** `FF` + a one-value 64-bit column: how bitcode writes a length of 255 or more. */
const escapedLength = (value: bigint) => [0xff, 0x00, ...u64(value)];

describe("hostile container files (bitcode, Firecracker ≥ v1.15)", () => {
  const programs = {
    api: [{ code: 0x06, jt: 0, jf: 0, k: 0x7fff0000 }],
    vcpu: [{ code: 0x06, jt: 0, jf: 0, k: 0x00050001 }],
    vmm: [
      { code: 0x20, jt: 0, jf: 0, k: 4 }, { code: 0x15, jt: 1, jf: 0, k: 0xc000003e },
      { code: 0x06, jt: 0, jf: 0, k: 0x80000000 }, { code: 0x06, jt: 0, jf: 0, k: 0x7fff0000 },
    ],
  };
  const valid = serializeBinary(programs);
  // Small values: packed byte columns, offsets and 8/16/32-bit integer columns all appear.
  const packed = encodeBitcode([
    ...Array.from({ length: 7 }, (_, i) => ({ key: new TextEncoder().encode(`t${i}`), values: [BigInt(i), 6n] })),
    { key: new TextEncoder().encode("x".repeat(300)), values: [1000n, 1001n, 1002n, 1003n, 1004n, 1200n, 70000n] },
  ]);
  const seeds = [valid, packed];

  test("the valid fixtures read back (so the mutations start from something real)", () => {
    assert.equal(checkContainer(valid, 100_000), "read");
    assert.equal(decodeBitcode(packed).threads.size, 8);
  });

  test("declared lengths up to 2^64−1 in every column: refused with an offset, no allocation beyond the limit", () => {
    const huge = [1n << 64n, 1n << 63n, 1n << 51n, (1n << 51n) - 1n, 1n << 32n, 800_001n, 100_001n, 4097n, 256n].map((v) => v - 1n);
    for (const length of huge) {
      const asCount = Uint8Array.from([...escapedLength(length), ...valid.slice(1)]);
      const asKeyLength = Uint8Array.from([0x01, ...escapedLength(length), ...valid.slice(2)]);
      const asProgramLength = Uint8Array.from([0x01, 0x03, 0x76, 0x6d, 0x6d, ...escapedLength(length), ...valid.slice(6)]);
      for (const bytes of [asCount, asKeyLength, asProgramLength]) {
        for (const format of [undefined, "bitcode"] as const) {
          assert.equal(checkContainer(bytes, 100_000, format), "refused", `length ${length}`);
        }
      }
    }
  });

  test("the largest structurally valid file (400,000 empty names in 100,000 bytes) is read without a large allocation", () => {
    // n = 399,968 in a 32-bit column; names and program lengths all 0, one bit each.
    const n = 399_968;
    const column = [0x0a, ...new Uint8Array(Math.ceil(n / 8))];
    const bytes = Uint8Array.from([0xff, 0x02, ...u64(BigInt(n)).slice(0, 4), ...column, ...column]);
    assert.equal(bytes.length, 100_000);
    const largest = largestAllocation(() => {
      assert.deepEqual([...deserializeBinary(bytes, { allowEmpty: true })], [["", []]]);
    });
    assert.ok(largest <= 100_000, `requested an allocation of ${largest}`);
  });

  test("random bytes and mutations of valid files", { timeout: propertyTimeout(120_000) }, () => {
    const settings = runSettings("hostile-bitcode", 0x5ecc_0009, 3_000);
    const outcomes = { read: 0, refused: 0 };
    const seedArb = fc.constantFrom(...seeds);
    const bytesArb = fc.oneof(
      fc.uint8Array({ maxLength: 300 }),
      fc.tuple(seedArb, fc.nat(), fc.integer({ min: 0, max: 255 })).map(([seed, i, b]) => {
        const copy = seed.slice();
        copy[i % copy.length] = b;
        return copy;
      }),
      fc.tuple(seedArb, fc.nat()).map(([seed, n]) => seed.slice(0, n % (seed.length + 1))),
      fc.tuple(seedArb, fc.nat(), fc.uint8Array({ minLength: 1, maxLength: 40 })).map(([seed, i, extra]) => {
        const at = i % (seed.length + 1);
        return Uint8Array.from([...seed.slice(0, at), ...extra, ...seed.slice(at)]);
      }),
      fc.tuple(seedArb, fc.nat(), fc.bigInt(0n, (1n << 64n) - 1n)).map(([seed, i, length]) => {
        const at = i % seed.length;
        return Uint8Array.from([...seed.slice(0, at), ...escapedLength(length), ...seed.slice(at + 1)]);
      }),
    );
    fc.assert(
      fc.property(bytesArb, fc.constantFrom(100_000, 300, 50, 20), fc.constantFrom(undefined, "bitcode" as const), (bytes, limit, format) => {
        outcomes[checkContainer(bytes, limit, format)]++;
      }),
      settings,
    );
    console.log(`[hostile-bitcode] ${JSON.stringify(outcomes)}`);
    if (settings.checkCoverage) assert.ok(outcomes.read > 0 && outcomes.refused > settings.numRuns / 2, JSON.stringify(outcomes));
  });
});

// ---------------------------------------------------------------------------

describe("hostile command lines", () => {
  test("random argument vectors end with exit 0, 1 or 2 and a message, never a crash", { timeout: propertyTimeout(300_000) }, () => {
    const settings = runSettings("hostile-cli", 0x5ecc_0008, 80);
    const dir = mkdtempSync(join(tmpdir(), "seccompiler-hostile-"));
    try {
      writeFileSync(join(dir, "p.json"), readFileSync(new URL("example.json", EXAMPLES), "utf8"));
      writeFileSync(join(dir, "bad.json"), '{"vmm": {"default_action": "trap"');
      writeFileSync(join(dir, "garbage.bin"), Uint8Array.from({ length: 200 }, (_, i) => (i * 37) & 255));
      const compiled = spawnSync(CLI, ["--target-arch", "x86_64", "--input-file", "p.json", "--output-file", "good.bpf"], { cwd: dir });
      assert.equal(compiled.status, 0, String(compiled.stderr));
      // Tokens, never a path outside the scratch directory, never `exec` (it would run programs).
      const words = [
        "compile", "disasm", "check", "cache", "schema", "help", "--help", "-h", "--version", "-V",
        "--target-arch", "-t", "--input-file", "-i", "--output-file", "-o", "--basic", "-b", "--split-output", "--format",
        "--filter-file", "-f", "--bpf-file", "--policy", "-p", "--thread", "--bytes-limit", "--syscall", "-s", "--arg", "-a",
        "--audit-arch", "--output", "--", "-", "--=", "--target-arch=x86_64", "-tx86_64", "--no-such-flag",
        ...ARCH_NAMES, "X86_64", "arm", "", " ", "p.json", "bad.json", "garbage.bin", "good.bpf", "missing.json", "out.bpf",
        "vmm", "api", "vcpu", "read", "write", "getpid", "0", "-1", "18446744073709551616", "0x10", "json", "text",
        "\u00e9", "\uFEFF", "a\nb",
      ];
      const tokenArb = fc.oneof(
        { weight: 8, arbitrary: fc.constantFrom(...words) },
        { weight: 1, arbitrary: fc.string({ maxLength: 12 }).map((s) => s.replace(/[/\\\0]/g, "_")).filter((s) => s !== "exec") },
      );
      const fileArb = fc.constantFrom("p.json", "bad.json", "garbage.bin", "good.bpf", "missing.json", "");
      const argvArb = fc.oneof(
        fc.array(tokenArb, { maxLength: 8 }),
        // Nearly right command lines, so the commands get past option parsing.
        fc.tuple(fc.constantFrom(...ARCH_NAMES, "x86"), fileArb, fc.array(tokenArb, { maxLength: 3 }))
          .map(([arch, file, rest]) => ["--target-arch", arch, "--input-file", file, "--output-file", "out.bpf", ...rest]),
        fc.tuple(fc.constantFrom("disasm", "check", "cache"), fileArb, fc.array(tokenArb, { maxLength: 4 }))
          .map(([command, file, rest]) => [command, "--filter-file", file, ...rest]),
        fc.tuple(fc.constantFrom("compile", "disasm", "check", "cache", "schema", "--target-arch"), fc.array(tokenArb, { maxLength: 7 }))
          .map(([first, rest]) => [first, ...rest]),
      );
      const codes: Record<number, number> = {};
      fc.assert(
        fc.property(argvArb, (argv) => {
          const run = spawnSync(CLI, argv, { cwd: dir, encoding: "utf8", timeout: 30_000 });
          const shown = JSON.stringify(argv);
          const stderr = run.stderr ?? "";
          if (run.status === null) throw new Error(`${shown}: killed by ${run.signal}`);
          if (![0, 1, 2].includes(run.status)) throw new Error(`${shown}: exit ${run.status}\n${stderr}`);
          if (run.status !== 0 && stderr.trim() === "") throw new Error(`${shown}: exit ${run.status} without a message`);
          if (/internal error|^\s+at \S+ \(|Uncaught|panic\(|TypeError|RangeError|ReferenceError/m.test(stderr + run.stdout)) {
            throw new Error(`${shown}: crash text in the output:\n${stderr}`);
          }
          codes[run.status] = (codes[run.status] ?? 0) + 1;
        }),
        settings,
      );
      console.log(`[hostile-cli] exit codes ${JSON.stringify(codes)}`);
      if (settings.checkCoverage) assert.ok((codes[0] ?? 0) > 0 && (codes[1] ?? 0) > 0 && (codes[2] ?? 0) > 0, JSON.stringify(codes));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
  test("random exec command lines: env(1) exit codes, no crash, and the target never runs after a refusal", { timeout: propertyTimeout(300_000) }, () => {
    const settings = runSettings("hostile-exec", 0x5ecc_0009, 60);
    const dir = mkdtempSync(join(tmpdir(), "seccompiler-hostile-exec-"));
    try {
      const marker = join(dir, "ran");
      // The target proves it ran by creating the marker, then exits 42.
      writeFileSync(join(dir, "target.sh"), `#!/bin/sh\n: > ${JSON.stringify(marker)}\nexit 42\n`);
      chmodSync(join(dir, "target.sh"), 0o755);
      writeFileSync(join(dir, "noexec.sh"), "#!/bin/sh\nexit 0\n");
      writeFileSync(join(dir, "open.json"), JSON.stringify({
        main: { default_action: "allow", filter_action: { errno: 1 }, filter: [{ syscall: "mkdir" }] },
      }));
      writeFileSync(join(dir, "bad.json"), '{"main": {"default_action": "trap"');
      writeFileSync(join(dir, "garbage.bin"), Uint8Array.from({ length: 64 }, (_, i) => (i * 53) & 255));
      const compiled = spawnSync(CLI, ["-t", "x86_64", "-i", "open.json", "-o", "open.bpf"], { cwd: dir });
      assert.equal(compiled.status, 0, String(compiled.stderr));
      const launcherWords = [
        "--filter-file", "--policy", "--thread", "--bytes-limit", "--no-exec-guard", "--dry-run", "--help", "-h", "--bogus",
        "open.bpf", "open.json", "bad.json", "garbage.bin", "missing.bin", "main", "vmm", "", "10", "0", "-5", "1e3", "100000",
      ];
      const targets = ["./target.sh", "./noexec.sh", "no-such-program", dir, "./target.sh"];
      const argvArb = fc.tuple(
        fc.array(fc.constantFrom(...launcherWords), { maxLength: 6 }),
        fc.boolean(),
        fc.constantFrom(...targets),
        fc.array(fc.constantFrom("a", "--", "-x", ""), { maxLength: 2 }),
      ).map(([launcher, separator, target, targetArgs]) => ["exec", ...launcher, ...(separator ? ["--"] : []), target, ...targetArgs]);
      // Nearly right command lines, so runs get past option parsing to loading, resolving and installing.
      const nearlyRightArb = fc.tuple(
        fc.constantFrom(["--filter-file", "open.bpf"], ["--policy", "open.json"], ["--filter-file", "garbage.bin"], ["--policy", "bad.json"]),
        fc.array(fc.constantFrom("--thread", "main", "--no-exec-guard", "--bytes-limit", "10", "--dry-run"), { maxLength: 2 }),
        fc.constantFrom(...targets),
      ).map(([source, extra, target]) => ["exec", ...source, ...extra, "--", target]);
      const mixedArb = fc.oneof({ weight: 1, arbitrary: argvArb }, { weight: 2, arbitrary: nearlyRightArb });
      const codes: Record<number, number> = {};
      fc.assert(
        fc.property(mixedArb, (argv) => {
          rmSync(marker, { force: true });
          const run = spawnSync(CLI, argv, { cwd: dir, encoding: "utf8", timeout: 30_000 });
          const shown = JSON.stringify(argv);
          const stderr = run.stderr ?? "";
          if (run.status === null) throw new Error(`${shown}: killed by ${run.signal}`);
          const ran = existsSync(marker);
          if (ran && run.status !== 42) throw new Error(`${shown}: the target ran but the exit status is ${run.status}`);
          if (!ran && ![0, 125, 126, 127].includes(run.status)) throw new Error(`${shown}: exit ${run.status}\n${stderr}`);
          if ([125, 126, 127].includes(run.status) && !/^seccompiler:/m.test(stderr)) throw new Error(`${shown}: exit ${run.status} without a seccompiler: message`);
          if (/internal error|^\s+at \S+ \(|Uncaught|TypeError|RangeError|ReferenceError/m.test(stderr + run.stdout)) {
            throw new Error(`${shown}: crash text in the output:\n${stderr}`);
          }
          codes[run.status] = (codes[run.status] ?? 0) + 1;
        }),
        settings,
      );
      console.log(`[hostile-exec] exit codes ${JSON.stringify(codes)}`);
      if (settings.checkCoverage) assert.ok((codes[125] ?? 0) > 0 && (codes[42] ?? 0) > 0, JSON.stringify(codes));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

