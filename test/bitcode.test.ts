// deno-facing
/**
 * Firecracker ≥ v1.15's filter file (bitcode 0.6.9, serde mode): byte-exact
 * writing and Firecracker-exact reading, checked against files bitcode itself
 * wrote (`../shared/data/firecracker-bitcode/`); layout detection, the
 * ambiguous case, key order, duplicates, size limits; and a compile → write →
 * read round trip in both layouts on every architecture.
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import fc from "fast-check";
import { ARCH_NAMES } from "../src/arch/arch.ts";
import { BPF, type Program, stmt } from "../src/bpf/insn.ts";
import { compilePolicy } from "../src/compile.ts";
import {
  type ContainerFormat,
  ContainerError,
  deserializeBinary,
  readContainer,
  serializeBinary,
} from "../src/container.ts";
import { decodeBincode } from "../src/container/bincode.ts";
import { bitcodeValues, decodeBitcode, encodeBitcode } from "../src/container/bitcode.ts";
import { keyBytes, sortedByKey } from "../src/container/common.ts";
import { filterArb, policyText, propertyTimeout, runSettings } from "./support/arbitraries.ts";
import { BITCODE_VECTORS, HAVE_BITCODE_VECTORS } from "./support/paths.ts";
import { skipUnless } from "./support/require.ts";

const ALLOW = stmt(BPF.RET | BPF.K, 0x7fff0000);
const KILL = stmt(BPF.RET | BPF.K, 0x80000000);

function hex(data: Uint8Array): string {
  return [...data].map((b) => b.toString(16).padStart(2, "0")).join("");
}

function fromHex(text: string): Uint8Array {
  return Uint8Array.from(text.replace(/\s+/g, "").match(/../g) ?? [], (pair) => parseInt(pair, 16));
}

function rejects(fn: () => unknown, code: string): ContainerError {
  let caught: unknown;
  try {
    fn();
  } catch (error) {
    caught = error;
  }
  assert.ok(caught instanceof ContainerError, `expected ContainerError ${code}, got ${String(caught)}`);
  assert.equal(caught.code, code, caught.message);
  return caught;
}

/** Writes a thread → u64 map as Firecracker's compiler does (sorted by key bytes). */
function writeMap(map: Record<string, readonly bigint[]>): Uint8Array {
  const entries = sortedByKey(Object.entries(map).map(([key, values]) => ({ key, bytes: keyBytes(key), values })));
  return encodeBitcode(entries.map((entry) => ({ key: entry.bytes, values: entry.values })));
}

/** Decodes to thread → decimal strings, the vectors' JSON shape. */
function readMap(bytes: Uint8Array): Record<string, string[]> {
  const file = decodeBitcode(bytes);
  return Object.fromEntries([...file.threads.keys()].map((key) => [key, bitcodeValues(file, key).map(String)]));
}

// ---------------------------------------------------------------------------
// Vectors written by bitcode 0.6.9

interface VectorEntry {
  readonly name: string;
  readonly json: string;
  readonly bin: string;
  readonly size: number;
  readonly firecracker_accepts: boolean;
}

interface DecodeEntry {
  readonly name: string;
  readonly bin: string;
  readonly accepted: boolean;
  readonly result: Record<string, string[]> | null;
  readonly error?: string;
}

interface Manifest {
  readonly positive: readonly VectorEntry[];
  readonly random: readonly VectorEntry[];
  readonly decode: readonly DecodeEntry[];
}

const manifest: Manifest | undefined = HAVE_BITCODE_VECTORS
  ? JSON.parse(readFileSync(join(BITCODE_VECTORS, "manifest.json"), "utf8"))
  : undefined;
const vectorFile = (path: string) => new Uint8Array(readFileSync(join(BITCODE_VECTORS, path)));
const vectorJson = (path: string): Record<string, string[]> => JSON.parse(readFileSync(join(BITCODE_VECTORS, path), "utf8"));

/** bitcode's debug-build error strings → this reader's codes. */
const ERROR_CODES: Record<string, string> = {
  "EOF": "truncated",
  "Expected EOF": "trailing-bytes",
  "invalid packing": "invalid-packing",
  "invalid utf8": "invalid-utf8",
  "length overflow": "length-overflow",
  "huge length": "huge-length",
};

describe(
  "bitcode vectors (../shared/data/firecracker-bitcode)",
  { skip: skipUnless("corpus", !HAVE_BITCODE_VECTORS && `no vectors at ${BITCODE_VECTORS}`, "bitcode vectors") },
  () => {
    for (const set of ["positive", "random"] as const) {
      test(`${set}: every file is written byte for byte and read back exactly`, () => {
        const entries = manifest![set];
        assert.ok(entries.length >= (set === "positive" ? 94 : 200), `only ${entries.length} ${set} vectors`);
        for (const entry of entries) {
          const map = vectorJson(entry.json);
          const bin = vectorFile(entry.bin);
          assert.equal(bin.length, entry.size, entry.name);
          const written = writeMap(Object.fromEntries(Object.entries(map).map(([k, v]) => [k, v.map(BigInt)])));
          assert.equal(hex(written), hex(bin), `${entry.name}: writer output differs`);
          assert.deepEqual(readMap(bin), map, `${entry.name}: reader output differs`);
        }
      });
    }

    test("decode: all 31 verdicts, the 8 odd-but-accepted encodings included", () => {
      const cases = manifest!.decode;
      assert.equal(cases.length, 31);
      assert.equal(cases.filter((c) => c.accepted).length, 8);
      for (const c of cases) {
        const bin = vectorFile(c.bin);
        if (c.accepted) {
          assert.deepEqual(readMap(bin), c.result, c.name);
          // The filter layer accepts them too (they are not kernel programs, hence validate: false).
          const { format } = readContainer(bin, { format: "bitcode", validate: false, allowEmpty: true });
          assert.equal(format, "bitcode");
        } else {
          const error = rejects(() => decodeBitcode(bin), ERROR_CODES[c.error!]);
          assert.ok(error.offset !== undefined && error.offset >= 0 && error.offset <= bin.length, `${c.name}: offset ${error.offset}`);
          assert.match(error.message, /\S/);
        }
      }
    });

    test("the Firecracker corpus programs: serializeBinary writes Firecracker's exact bytes; deserializeBinary detects and reads them", () => {
      const corpus = manifest!.positive.filter((e) => e.name.startsWith("firecracker-"));
      assert.ok(corpus.length >= 4);
      for (const entry of corpus) {
        const map = vectorJson(entry.json);
        const programs = new Map(Object.entries(map).map(([key, values]) => [key, values.map((v) => {
          const value = BigInt(v);
          return {
            code: Number(value & 0xffffn),
            jt: Number((value >> 16n) & 0xffn),
            jf: Number((value >> 24n) & 0xffn),
            k: Number(value >> 32n),
          };
        })]));
        const bin = vectorFile(entry.bin);
        if (entry.name.includes("uppercase")) {
          // Same programs under API/VCPU/VMM: fine, nothing collides.
          assert.deepEqual([...programs.keys()].sort(), ["API", "VCPU", "VMM"]);
        }
        assert.equal(hex(serializeBinary(programs)), hex(bin), entry.name);
        const read = readContainer(bin);
        assert.equal(read.format, "bitcode");
        assert.deepEqual(read.programs, new Map([...programs].sort()), entry.name);
      }
    });

    test("size: a 100,000-byte vector is read, the 100,001-byte one refused before parsing", () => {
      const exact = manifest!.positive.find((e) => e.name === "size-100000")!;
      const over = manifest!.positive.find((e) => e.name === "size-100001")!;
      assert.equal(exact.firecracker_accepts, true);
      assert.equal(over.firecracker_accepts, false);
      const read = readContainer(vectorFile(exact.bin), { validate: false });
      assert.equal(read.format, "bitcode");
      assert.equal(read.programs.size, 1);
      assert.equal(rejects(() => deserializeBinary(vectorFile(over.bin)), "too-large").offset, 100_000);
    });
  },
);

// ---------------------------------------------------------------------------
// Writer and reader, without the vectors

describe("bitcode writer", () => {
  test("worked examples of the format", () => {
    assert.equal(hex(writeMap({})), "00");
    assert.equal(hex(writeMap({ vmm: [] })), "0103766d6d00");
    assert.equal(hex(writeMap({ vmm: [0x7fff000000000006n] })), "0103766d6d01000600000000 00ff7f".replace(/ /g, ""));
    assert.equal(hex(writeMap({ vmm: [5n] })), "0103766d6d010605");
    assert.equal(hex(writeMap({ a: [1n, 2n, 3n], bb: [] })), "0201026162620300060639");
    assert.equal(hex(writeMap({ p: [240n, 255n, 241n, 250n, 249n, 248n] })), "010170060601f0f0a189");
    assert.equal(hex(serializeBinary({ vmm: [ALLOW] })), "0103766d6d01000600000000 00ff7f".replace(/ /g, ""));
  });

  test("thread names sort by UTF-8 bytes (U+FF61 before U+1F600, unlike JavaScript's sort)", () => {
    const names = ["\u{1f600}", "\uff61", "z", "\ufeffvmm", "vmm", "", "v"];
    const bytes = serializeBinary(new Map(names.map((name) => [name, [ALLOW]])));
    assert.deepEqual([...decodeBitcode(bytes).threads.keys()], ["", "v", "vmm", "z", "\ufeffvmm", "\uff61", "\u{1f600}"]);
    assert.ok("\uff61" > "\u{1f600}", "JavaScript orders by UTF-16 code units");
  });

  test("a leading U+FEFF is part of the name, written and read back", () => {
    const bytes = serializeBinary({ "\ufeffvmm": [ALLOW], vmm: [KILL] });
    const read = deserializeBinary(bytes);
    assert.deepEqual(read.get("\ufeffvmm"), [ALLOW]);
    assert.deepEqual(read.get("vmm"), [KILL]);
  });

  test("refuses names that differ only in case, in both layouts", () => {
    for (const format of ["bitcode", "bincode"] as const) {
      const error = rejects(() => serializeBinary({ VMM: [ALLOW], vmm: [KILL], api: [ALLOW] }, { format }), "case-collision");
      assert.match(error.message, /"VMM" and "vmm"/);
      rejects(() => serializeBinary({ "Ünï": [ALLOW], "ünï": [ALLOW] }, { format }), "case-collision");
    }
  });

  test("refuses files over the size limit (Firecracker's compiler refuses them too)", () => {
    const big = { [`x`.repeat(99_990)]: [ALLOW] };
    const bytes = serializeBinary(big, { bytesLimit: Infinity });
    assert.ok(bytes.length > 100_000);
    rejects(() => serializeBinary(big), "too-large");
    rejects(() => serializeBinary({ vmm: [ALLOW] }, { bytesLimit: 10 }), "too-large");
  });

  test("the same checks as the bincode writer", () => {
    rejects(() => serializeBinary({ api: [ALLOW], vmm: [] }), "empty-program");
    rejects(() => serializeBinary({ vmm: new Array(4097).fill(ALLOW) }), "program-too-long");
    rejects(() => serializeBinary(new Map([["\uD800", [ALLOW]]])), "invalid-key");
    rejects(() => serializeBinary({ vmm: [{ code: 6, jt: 0, jf: 0, k: 2 ** 32 }] }), "bad-field");
    rejects(() => serializeBinary({ vmm: [ALLOW] }, { format: "json" as ContainerFormat }), "unknown-format");
  });
});

describe("bitcode reader", () => {
  test("a name given twice keeps its last program, as Firecracker's HashMap does", () => {
    const bytes = fromHex("020303766d6d766d6d0101060102");
    assert.deepEqual(readMap(bytes), { vmm: ["2"] });
    const twice = encodeBitcode([
      { key: keyBytes("vmm"), values: [0x7fff000000000006n] },
      { key: keyBytes("vmm"), values: [0x8000000000000006n] },
    ]);
    assert.deepEqual(deserializeBinary(twice), new Map([["vmm", [KILL]]]));
  });

  test("entries in any order (the reader is a HashMap)", () => {
    const unsorted = encodeBitcode([
      { key: keyBytes("vmm"), values: [0x7fff000000000006n] },
      { key: keyBytes("api"), values: [0x8000000000000006n] },
    ]);
    assert.deepEqual(deserializeBinary(unsorted), new Map([["vmm", [ALLOW]], ["api", [KILL]]]));
  });

  test("project rules on top of the format: empty, over-long and invalid programs, with offsets", () => {
    const empty = writeMap({ api: [0x7fff000000000006n], vmm: [] });
    const error = rejects(() => deserializeBinary(empty), "empty-program");
    assert.equal(error.key, "vmm");
    assert.equal(deserializeBinary(empty, { allowEmpty: true }).get("vmm")?.length, 0);
    const long = writeMap({ vmm: new Array(4097).fill(0x7fff000000000006n) });
    assert.equal(rejects(() => deserializeBinary(long), "program-too-long").key, "vmm");
    // ld [65] is out of range of seccomp_data: the kernel refuses it. Offset = the second u64.
    const invalid = writeMap({ vmm: [0x0000000400000020n, 0x0000004100000020n, 0x7fff000000000006n] });
    const bad = rejects(() => deserializeBinary(invalid), "invalid-program");
    assert.equal(bad.offset, invalid.length - 2 * 8);
    assert.equal(deserializeBinary(invalid, { validate: false }).get("vmm")?.length, 3);
  });

  test("packed instruction columns decode to the same instructions as raw ones", () => {
    // Small programs with narrow u64s take the 8/16/32-bit and offset paths.
    const programs: Record<string, Program> = {
      a: [{ code: 6, jt: 0, jf: 0, k: 0 }],
      b: [{ code: 6, jt: 0, jf: 0, k: 0 }, { code: 0x20, jt: 0, jf: 0, k: 0 }],
      c: [{ code: 0x15, jt: 3, jf: 4, k: 0 }, { code: 0x15, jt: 1, jf: 200, k: 1 }],
    };
    const bytes = serializeBinary(programs);
    assert.notEqual(bytes[bytes.length - 6 * 8 - 1], 0, "column should not be raw 64-bit");
    assert.deepEqual(Object.fromEntries(deserializeBinary(bytes, { validate: false })), programs);
  });

  test("exactly 100,000 bytes are read; 100,001 are refused before parsing", () => {
    const name = (n: number) => "x".repeat(n);
    // name length ≥ 65,536: 1 (n) + 1 (FF) + 5 (U64S, 32-bit) + name + 1 (count) + 9 (one raw u64).
    const exact = serializeBinary({ [name(100_000 - 17)]: [ALLOW] });
    assert.equal(exact.length, 100_000);
    assert.equal(deserializeBinary(exact).size, 1);
    const over = serializeBinary({ [name(100_000 - 16)]: [ALLOW] }, { bytesLimit: Infinity });
    assert.equal(over.length, 100_001);
    assert.equal(rejects(() => deserializeBinary(over), "too-large").offset, 100_000);
    // Garbage of 100,001 bytes: the size, not the content, is what is reported.
    rejects(() => deserializeBinary(new Uint8Array(100_001).fill(0xff)), "too-large");
    assert.equal(deserializeBinary(over, { bytesLimit: 100_001 }).size, 1);
  });
});

// ---------------------------------------------------------------------------
// Detection

/**
 * A valid bincode file (three one-instruction programs) whose bytes are also a
 * valid bitcode file: bincode's `map_len = 3` reads in bitcode as n = 3, three
 * empty names (raw lengths 0 0 0), program lengths 0 0 13 (the third is the
 * low byte of the first bincode key length), then a raw 64-bit column of 13
 * values that swallows the rest. Fitting both needs 56 + 13 + k2 + k3 + 24 =
 * 10 + 8·13 bytes, so the other two names take 21 bytes, and the 13-byte name
 * must sort first.
 */
function ambiguousFile(): Uint8Array {
  return serializeBinary({ "api-ambiguous": [ALLOW], "vcpu-ambig": [ALLOW], "vmm-ambiguo": [KILL] }, { format: "bincode" });
}

describe("layout detection", () => {
  test("each layout's output is detected as that layout", () => {
    const programs = { api: [ALLOW], vcpu: [KILL], vmm: [stmt(BPF.LD | BPF.W | BPF.ABS, 4), ALLOW] };
    for (const format of ["bitcode", "bincode"] as const) {
      const read = readContainer(serializeBinary(programs, { format }));
      assert.equal(read.format, format);
      assert.deepEqual(Object.fromEntries(read.programs), programs);
    }
    assert.equal(readContainer(fromHex("00")).format, "bitcode", "the empty bitcode map");
    assert.equal(readContainer(new Uint8Array(8)).format, "bincode", "the empty bincode map");
  });

  test("the default is the current Firecracker's layout (bitcode)", () => {
    assert.equal(hex(serializeBinary({ vmm: [ALLOW] })), hex(serializeBinary({ vmm: [ALLOW] }, { format: "bitcode" })));
  });

  test("bytes valid in both layouts are refused unless the layout is named", () => {
    const bytes = ambiguousFile();
    assert.equal(bytes.length, 10 + 8 * 13);
    // Structurally valid in both, whatever the validation options.
    assert.equal(decodeBincode(bytes).size, 3);
    assert.deepEqual([...decodeBitcode(bytes).threads.keys()], [""]);
    for (const options of [{}, { validate: false, allowEmpty: true }]) {
      const error = rejects(() => deserializeBinary(bytes, options), "ambiguous-format");
      assert.match(error.message, /--container/);
    }
    const bincode = readContainer(bytes, { format: "bincode" });
    assert.deepEqual([...bincode.programs.keys()], ["api-ambiguous", "vcpu-ambig", "vmm-ambiguo"]);
    const bitcode = readContainer(bytes, { format: "bitcode", validate: false, allowEmpty: true });
    assert.equal(bitcode.programs.get("")?.length, 13);
  });

  test("a file valid in neither layout: the error of the layout that read further, naming both", () => {
    const bitcodeCut = serializeBinary({ vmm: [ALLOW, KILL, ALLOW, KILL, ALLOW, KILL] }).slice(0, -1);
    const error = rejects(() => deserializeBinary(bitcodeCut), "truncated");
    assert.match(error.message, /as bitcode.*as bincode/);
    assert.ok(error.offset! > 0);
    const bincodeCut = serializeBinary({ vmm: [ALLOW] }, { format: "bincode" }).slice(0, -1);
    const other = rejects(() => deserializeBinary(bincodeCut), "bad-program-length");
    assert.match(other.message, /as bincode.*as bitcode/);
  });

  test("an explicit layout is honoured (and refuses the other one)", () => {
    const bitcode = serializeBinary({ vmm: [ALLOW] });
    rejects(() => deserializeBinary(bitcode, { format: "bincode" }), "bad-map-length");
    const bincode = serializeBinary({ vmm: [ALLOW] }, { format: "bincode" });
    rejects(() => deserializeBinary(bincode, { format: "bitcode" }), "trailing-bytes");
  });
});

// ---------------------------------------------------------------------------
// Round trip

describe("round trip: compile → write (both layouts) → read", () => {
  for (const arch of ARCH_NAMES) {
    test(`${arch}: random policies, random thread names`, { timeout: propertyTimeout(120_000) }, () => {
      const settings = runSettings(`bitcode-round-trip-${arch}`, 0xb17c_0de0 + ARCH_NAMES.indexOf(arch), 12);
      const namesArb = fc.uniqueArray(fc.string({ unit: "grapheme", maxLength: 12 }), {
        minLength: 1,
        maxLength: 4,
        selector: (name) => name.toLowerCase(),
      });
      fc.assert(
        fc.property(fc.array(filterArb({ arches: [arch], maxSyscalls: 40 }), { minLength: 4, maxLength: 4 }), namesArb, (filters, names) => {
          const text = `{${names.map((name, i) => policyText(filters[i], name).slice(1, -1)).join(",")}}`;
          const { programs } = compilePolicy(text, arch);
          for (const format of ["bitcode", "bincode"] as const) {
            const bytes = serializeBinary(programs, { format });
            const read = readContainer(bytes, format === "bitcode" ? {} : { format });
            if (format === "bitcode") assert.equal(read.format, "bitcode");
            assert.deepEqual(read.programs, programs);
          }
        }),
        settings,
      );
    });
  }
});
