// deno-facing
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { BPF, BPF_MAXINSNS, jump, type Program, stmt } from "../src/bpf/insn.ts";
import { ContainerError, type DeserializeOptions, deserializeBinary, serializeBinary } from "../src/container.ts";
import { writeFileAtomic } from "../src/fs.ts";

function bytes(dump: string): Uint8Array {
  return Uint8Array.from(dump.trim().split(/\s+/), (part) => parseInt(part, 16));
}

function toHex(data: Uint8Array): string {
  return [...data].map((b) => b.toString(16).padStart(2, "0")).join(" ");
}

/** Little-endian u64 as 8 bytes. */
function u64(value: bigint): number[] {
  const out = new Uint8Array(8);
  new DataView(out.buffer).setBigUint64(0, value, true);
  return [...out];
}

/** Builds a container by hand so tests can break any field. */
function container(mapLen: bigint, ...entries: number[][]): Uint8Array {
  return Uint8Array.from([...u64(mapLen), ...entries.flat()]);
}

function entry(key: string | number[], count: bigint, program: Program = [], keyLen?: bigint): number[] {
  const keyBytes = typeof key === "string" ? [...new TextEncoder().encode(key)] : key;
  const insns = program.flatMap((insn) => {
    const out = new Uint8Array(8);
    const view = new DataView(out.buffer);
    view.setUint16(0, insn.code, true);
    view.setUint8(2, insn.jt);
    view.setUint8(3, insn.jf);
    view.setUint32(4, insn.k, true);
    return [...out];
  });
  return [...u64(keyLen ?? BigInt(keyBytes.length)), ...keyBytes, ...u64(count), ...insns];
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
  assert.ok(caught.message.length > 15, caught.message);
  return caught;
}

const RET_K = BPF.RET | BPF.K;
const LD_ABS = BPF.LD | BPF.W | BPF.ABS;
const ALLOW = stmt(RET_K, 0x7fff0000);

const VMM: Program = [
  stmt(LD_ABS, 4),
  jump(BPF.JMP | BPF.JEQ | BPF.K, 0xc000003e, 1, 0),
  stmt(RET_K, 0x80000000),
  ALLOW,
];

const WORKED_EXAMPLE = bytes(`
  03 00 00 00 00 00 00 00 03 00 00 00 00 00 00 00
  61 70 69 01 00 00 00 00 00 00 00 06 00 00 00 00
  00 ff 7f 04 00 00 00 00 00 00 00 76 63 70 75 01
  00 00 00 00 00 00 00 06 00 00 00 01 00 05 00 03
  00 00 00 00 00 00 00 76 6d 6d 04 00 00 00 00 00
  00 00 20 00 00 00 04 00 00 00 15 00 01 00 3e 00
  00 c0 06 00 00 00 00 00 00 80 06 00 00 00 00 00
  ff 7f`);
const API_ONLY = bytes(
  "01 00 00 00 00 00 00 00 03 00 00 00 00 00 00 00 61 70 69 01 00 00 00 00 00 00 00 06 00 00 00 00 00 ff 7f",
);
const T1_LOAD = bytes(
  "01 00 00 00 00 00 00 00 02 00 00 00 00 00 00 00 74 31 01 00 00 00 00 00 00 00 20 00 00 00 00 00 00 00",
);

/** These tests are about the bincode layout (Firecracker v0.25–v1.14); bitcode.test.ts covers the other. */
function writeBincode(filters: Parameters<typeof serializeBinary>[0]): Uint8Array {
  return serializeBinary(filters, { format: "bincode" });
}

function readBincode(input: Uint8Array, options: DeserializeOptions = {}) {
  return deserializeBinary(input, { format: "bincode", ...options });
}

describe("bincode writer", () => {
  test("the 114-byte worked example, byte for byte", () => {
    const filters = { vmm: VMM, api: [ALLOW], vcpu: [stmt(RET_K, 0x00050001)] };
    const out = writeBincode(filters);
    assert.equal(out.length, 114);
    assert.equal(toHex(out), toHex(WORKED_EXAMPLE));
    assert.deepEqual(Object.fromEntries(readBincode(out)), filters);
  });

  test("Firecracker's two small fixtures, byte for byte", () => {
    assert.equal(toHex(writeBincode({ api: [ALLOW] })), toHex(API_ONLY));
    assert.equal(toHex(writeBincode(new Map([["t1", [stmt(LD_ABS, 0)]]]))), toHex(T1_LOAD));
  });

  test("output does not depend on insertion order", () => {
    const programs: [string, Program][] = [["vmm", VMM], ["api", [ALLOW]], ["vcpu", [stmt(RET_K, 0)]], ["", [ALLOW]]];
    const forward = writeBincode(new Map(programs));
    const backward = writeBincode(new Map([...programs].reverse()));
    assert.equal(toHex(forward), toHex(backward));
    assert.deepEqual([...readBincode(forward).keys()], ["", "api", "vcpu", "vmm"]);
  });

  test("keys sort by UTF-8 bytes, not UTF-16 code units", () => {
    const astral = "\u{1F600}"; // F0 9F 98 80; UTF-16 D83D DE00
    const privateUse = "\uE000"; // EE 80 80
    const bmpHigh = "\uFFFD"; // EF BF BD
    // JavaScript's own order puts the astral key first; bincode's BTreeMap puts it last.
    assert.ok(astral < privateUse);
    for (const order of [[astral, privateUse, bmpHigh, "z"], [bmpHigh, "z", privateUse, astral]]) {
      const out = writeBincode(new Map(order.map((key) => [key, [ALLOW]])));
      assert.deepEqual([...readBincode(out).keys()], ["z", privateUse, bmpHigh, astral]);
    }
    // A shorter key sorts before any key it prefixes.
    const prefixed = writeBincode({ ab: [ALLOW], a: [ALLOW], b: [ALLOW] });
    assert.deepEqual([...readBincode(prefixed).keys()], ["a", "ab", "b"]);
  });

  test("round trip of large programs", () => {
    const big: Program = [...new Array(BPF_MAXINSNS - 1).fill(stmt(LD_ABS, 0)), ALLOW];
    const filters = new Map([["vmm", big], ["api", VMM], ["vcpu", [ALLOW]]]);
    const out = writeBincode(filters);
    assert.equal(out.length, 8 + (16 + 3 + 8 * 4096) + (16 + 3 + 8 * 4) + (16 + 4 + 8));
    assert.deepEqual(readBincode(out), filters);
  });

  test("refuses empty programs, over-long programs, bad keys and bad fields", () => {
    assert.equal(rejects(() => writeBincode({ api: [ALLOW], vmm: [] }), "empty-program").key, "vmm");
    rejects(() => writeBincode({ vmm: new Array(BPF_MAXINSNS + 1).fill(ALLOW) }), "program-too-long");
    // A lone surrogate would be written as U+FFFD and collide with a real "\uFFFD" key.
    rejects(() => writeBincode(new Map([["\uD800", [ALLOW]], ["\uFFFD", [ALLOW]]])), "invalid-key");
    rejects(() => writeBincode({ vmm: [{ code: 6, jt: 0, jf: 0, k: 2 ** 32 }] }), "bad-field");
  });
});

describe("bincode reader", () => {
  test("reads entries in any order (Firecracker ≤ v1.2 wrote hash-map order)", () => {
    const unsorted = container(2n, entry("vmm", 1n, [ALLOW]), entry("api", 1n, [ALLOW]));
    assert.deepEqual([...readBincode(unsorted).keys()], ["vmm", "api"]);
  });

  test("the 34-byte fixture is not a valid seccomp program: needs validate:false", () => {
    const invalid = rejects(() => readBincode(T1_LOAD), "invalid-program");
    assert.match(invalid.message, /"t1".*instruction 0/);
    assert.equal(invalid.key, "t1");
    assert.equal(invalid.offset, 26);
    assert.deepEqual(readBincode(T1_LOAD, { validate: false }), new Map([["t1", [stmt(LD_ABS, 0)]]]));
  });

  test("bytes limit: 34-byte fixture fails with limit 20 and reads with limit 50", () => {
    rejects(() => readBincode(T1_LOAD, { bytesLimit: 20, validate: false }), "too-large");
    assert.equal(readBincode(T1_LOAD, { bytesLimit: 50, validate: false }).size, 1);
    assert.equal(readBincode(T1_LOAD, { bytesLimit: 34, validate: false }).size, 1);
    rejects(() => readBincode(T1_LOAD, { bytesLimit: 33, validate: false }), "too-large");
  });

  test("the default limit is 100,000 bytes, checked before decoding", () => {
    // Garbage that would fail decoding anyway: the size check must come first.
    rejects(() => readBincode(new Uint8Array(100_001).fill(0xff)), "too-large");
    // Three full 4096-instruction programs plus headers fit, as in Firecracker.
    const full: Program = [...new Array(BPF_MAXINSNS - 1).fill(stmt(LD_ABS, 0)), ALLOW];
    const out = writeBincode({ vmm: full, api: full, vcpu: full });
    assert.ok(out.length <= 100_000);
    assert.equal(readBincode(out).size, 3);
  });

  test("truncated: shorter than 8 bytes, or EOF inside a field", () => {
    for (const size of [0, 1, 7]) {
      assert.equal(rejects(() => readBincode(new Uint8Array(size)), "truncated").offset, 0);
    }
    // EOF inside the second entry's key length: 25-byte first entry, then 7 of 8 bytes.
    const keyLenCut = container(2n, entry("a", 1n, [ALLOW]), [0, 0, 0, 0, 0, 0, 0]);
    assert.equal(keyLenCut.length, 8 + 32);
    assert.equal(rejects(() => readBincode(keyLenCut), "truncated").offset, 33);
    // EOF inside an instruction count: name "abcd", then 4 of 8 bytes.
    const countCut = Uint8Array.from([...u64(1n), ...u64(4n), 0x61, 0x62, 0x63, 0x64, 1, 0, 0, 0]);
    assert.equal(rejects(() => readBincode(countCut), "truncated").offset, 20);
  });

  test("Firecracker's 'Invalid BPF!' file is refused", () => {
    rejects(() => readBincode(new TextEncoder().encode("Invalid BPF!")), "bad-map-length");
  });

  test("bad-map-length: more entries than could fit, up to 2^64-1", () => {
    for (const mapLen of [2n, 2n ** 32n, 2n ** 53n + 1n, 2n ** 64n - 1n]) {
      const input = container(mapLen, entry("api", 1n, [ALLOW]));
      assert.equal(rejects(() => readBincode(input), "bad-map-length").offset, 0);
    }
  });

  test("bad-key-length: a name longer than what remains, up to 2^64-1", () => {
    for (const keyLen of [20n, 2n ** 32n, 2n ** 64n - 1n]) {
      const input = container(1n, entry("api", 1n, [ALLOW], keyLen));
      assert.equal(rejects(() => readBincode(input), "bad-key-length").offset, 8);
    }
    // A name that takes exactly what remains is fine; then the count is missing.
    const nameToEnd = container(1n, [...u64(11n), ...new TextEncoder().encode("abcdefghijk")]);
    assert.equal(rejects(() => readBincode(nameToEnd), "truncated").offset, 27);
  });

  test("invalid-utf8 keys", () => {
    for (const key of [[0xff], [0xc0, 0x80], [0xed, 0xa0, 0x80], [0x61, 0xe2, 0x82]]) {
      const input = container(1n, entry(key, 1n, [ALLOW]));
      assert.equal(rejects(() => readBincode(input), "invalid-utf8").offset, 16);
    }
  });

  test("empty-program, unless allowEmpty", () => {
    const input = container(2n, entry("api", 0n), entry("vmm", 1n, [ALLOW]));
    const error = rejects(() => readBincode(input), "empty-program");
    assert.equal(error.key, "api");
    assert.equal(error.offset, 19);
    const filters = readBincode(input, { allowEmpty: true });
    assert.deepEqual(filters.get("api"), []);
    assert.deepEqual(filters.get("vmm"), [ALLOW]);
  });

  test("program-too-long: more than 4096 instructions, up to 2^64-1", () => {
    for (const count of [4097n, 2n ** 64n - 1n]) {
      rejects(() => readBincode(container(1n, entry("vmm", count, [ALLOW]))), "program-too-long");
    }
  });

  test("bad-program-length: more instructions than bytes", () => {
    const input = container(1n, entry("vmm", 3n, [ALLOW, ALLOW]));
    const error = rejects(() => readBincode(input), "bad-program-length");
    assert.equal(error.offset, 19);
  });

  test("duplicate-key", () => {
    const input = container(2n, entry("api", 1n, [ALLOW]), entry("api", 1n, [stmt(RET_K, 0)]));
    const error = rejects(() => readBincode(input), "duplicate-key");
    assert.equal(error.offset, 8 + 35 - 8 + 8);
  });

  test("trailing-bytes", () => {
    const input = Uint8Array.from([...API_ONLY, 0]);
    assert.equal(rejects(() => readBincode(input), "trailing-bytes").offset, 35);
  });

  test("invalid-program names the thread and the instruction", () => {
    const bad = [stmt(LD_ABS, 0), stmt(LD_ABS, 65), ALLOW];
    const input = container(2n, entry("api", 1n, [ALLOW]), entry("vmm", 3n, bad));
    const error = rejects(() => readBincode(input), "invalid-program");
    assert.match(error.message, /"vmm".*instruction 1.*ld \[65\]/);
    assert.equal(error.offset, 8 + 27 + 8 + 3 + 8 + 8);
    assert.deepEqual(readBincode(input, { validate: false }).get("vmm"), bad);
  });

  test("random corruption only ever raises ContainerError", () => {
    let seed = 7;
    const random = () => (seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0) / 2 ** 32;
    const codes = new Set<string>();
    for (let round = 0; round < 3000; round++) {
      const input = WORKED_EXAMPLE.slice(0, 1 + Math.floor(random() * WORKED_EXAMPLE.length));
      const flips = Math.floor(random() * 4);
      for (let i = 0; i < flips; i++) input[Math.floor(random() * input.length)] = Math.floor(random() * 256);
      try {
        readBincode(input);
      } catch (error) {
        assert.ok(error instanceof ContainerError, String(error));
        codes.add(error.code);
      }
    }
    assert.ok(codes.size >= 4, [...codes].join(","));
  });
});

describe("writeFileAtomic", () => {
  const root = mkdtempSync(join(tmpdir(), "seccompiler-fs-"));
  const cleanup = () => rmSync(root, { recursive: true, force: true });

  test("creates a file, then replaces it completely", () => {
    const target = join(root, "replace", "out.bpf");
    mkdirSync(join(root, "replace"));
    writeFileAtomic(target, WORKED_EXAMPLE);
    assert.deepEqual(new Uint8Array(readFileSync(target)), WORKED_EXAMPLE);
    writeFileAtomic(target, "short");
    assert.equal(readFileSync(target, "utf8"), "short");
    assert.deepEqual(readdirSync(join(root, "replace")), ["out.bpf"]);
  });

  test("applies the mode exactly, regardless of umask", () => {
    const target = join(root, "mode.bpf");
    writeFileAtomic(target, API_ONLY, 0o640);
    assert.equal(statSync(target).mode & 0o777, 0o640);
    writeFileAtomic(target, API_ONLY, 0o604);
    assert.equal(statSync(target).mode & 0o777, 0o604);
  });

  test("a missing directory fails and leaves nothing", () => {
    const missing = join(root, "missing");
    assert.throws(() => writeFileAtomic(join(missing, "out.bpf"), API_ONLY), (error: Error) => {
      return (error as Error & { code?: string }).code === "ENOENT";
    });
    assert.equal(existsSync(missing), false);
  });

  test("a failed rename removes the temporary file and keeps the old target", () => {
    const dir = join(root, "rename");
    mkdirSync(dir);
    // Renaming a file over a non-empty directory fails (EISDIR / ENOTEMPTY).
    const target = join(dir, "taken");
    mkdirSync(target);
    writeFileSync(join(target, "keep"), "old");
    assert.throws(() => writeFileAtomic(target, API_ONLY));
    assert.deepEqual(readdirSync(dir), ["taken"]);
    assert.equal(readFileSync(join(target, "keep"), "utf8"), "old");
  });

  test("cleanup", () => {
    cleanup();
    assert.equal(existsSync(root), false);
  });
});
