/**
 * The command line around Firecracker's two filter-file layouts: `compile
 * --firecracker VERSION` / `--container`, `convert` both ways, layout
 * detection in the readers (`disasm`, `check`, `cache`, `exec`), the
 * ambiguous file, and Firecracker's thread-name checks.
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { BPF, stmt } from "../src/bpf/insn.ts";
import { readContainer, serializeBinary } from "../src/container.ts";
import { firecrackerFormat } from "../src/firecracker.ts";
import { CLI, REPO_ROOT } from "./support/paths.ts";

function run(args: string[], cwd = work) {
  const result = spawnSync(CLI, args, { encoding: "utf8", cwd });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

const work = mkdtempSync(join(tmpdir(), "seccompiler-fc-"));
process.on("exit", () => rmSync(work, { recursive: true, force: true }));
const EXAMPLE = join(REPO_ROOT, "policies", "example.json");
const compileArgs = (output: string, ...extra: string[]) => ["-t", "x86_64", "-i", EXAMPLE, "-o", join(work, output), ...extra];
const bytesOf = (name: string) => new Uint8Array(readFileSync(join(work, name)));

const FILTER = (name: string) => `"${name}": {"default_action": "trap", "filter_action": "allow", "filter": [{"syscall": "read"}]}`;

describe("compile --firecracker VERSION: which layout each release reads", () => {
  const table: [string, "bincode" | "bitcode"][] = [
    ["0.25", "bincode"],
    ["v0.25.2", "bincode"],
    ["1.2", "bincode"],
    ["1.3", "bincode"],
    ["1.10", "bincode"],
    ["1.14.1", "bincode"],
    ["v1.15", "bitcode"],
    ["1.15.0", "bitcode"],
    ["1.16", "bitcode"],
    ["v1.16.1", "bitcode"],
    ["2.0", "bitcode"],
  ];

  test("the mapping (library)", () => {
    for (const [version, layout] of table) assert.equal(firecrackerFormat(version), layout, version);
  });

  test("the CLI writes that layout and says so on stderr and in --format json", () => {
    for (const [version, layout] of table) {
      const name = `fc-${version}.out`;
      const r = run([...compileArgs(name, "--firecracker", version), "--format", "json"]);
      assert.equal(r.code, 0, r.stderr);
      const summary = JSON.parse(r.stdout);
      assert.equal(summary.container, layout, version);
      assert.equal(summary.firecracker, version);
      assert.equal(readContainer(bytesOf(name)).format, layout, version);
    }
    const text = run(compileArgs("line.out", "--firecracker", "1.16"));
    assert.match(text.stderr, /^seccompiler: wrote \S+line\.out \(Firecracker ≥ 1\.15 format; x86_64; instructions: /m);
    const old = run(compileArgs("line-old.out", "--firecracker", "1.14"));
    assert.match(old.stderr, /wrote \S+line-old\.out \(Firecracker ≤ 1\.14 format; x86_64;/);
  });

  test("versions before v0.25, and things that are not versions, are usage errors", () => {
    for (const version of ["0.24", "0.9.1", "1", "1.x", "latest", "", "1.14.1.1", "v"]) {
      const r = run(compileArgs("bad.out", "--firecracker", version));
      assert.equal(r.code, 2, `${version}: ${r.stderr}`);
      assert.match(r.stderr, /--firecracker/);
    }
    assert.match(run(compileArgs("bad.out", "--firecracker", "0.24")).stderr, /v0\.25/);
    assert.ok(!existsSync(join(work, "bad.out")));
  });
});

describe("compile --container", () => {
  test("default is bitcode (Firecracker ≥ 1.15); bincode and bitcode on request", () => {
    assert.equal(run(compileArgs("default.out")).code, 0);
    assert.equal(run(compileArgs("bitcode.out", "--container", "bitcode")).code, 0);
    assert.equal(run(compileArgs("bincode.out", "--container", "bincode")).code, 0);
    assert.deepEqual(bytesOf("default.out"), bytesOf("bitcode.out"));
    assert.equal(readContainer(bytesOf("default.out")).format, "bitcode");
    assert.equal(readContainer(bytesOf("bincode.out")).format, "bincode");
    assert.deepEqual(readContainer(bytesOf("bincode.out")).programs, readContainer(bytesOf("bitcode.out")).programs);
    assert.match(run(["compile", "--help"]).stdout, /--firecracker VERSION[\s\S]*--container bitcode\|bincode/);
  });

  test("usage errors: unknown layout, a layout that contradicts --firecracker, either with --split-output", () => {
    assert.equal(run(compileArgs("x.out", "--container", "json")).code, 2);
    const contradiction = run(compileArgs("x.out", "--container", "bincode", "--firecracker", "1.16"));
    assert.equal(contradiction.code, 2);
    assert.match(contradiction.stderr, /contradicts/);
    assert.equal(run(compileArgs("x.out", "--container", "bitcode", "--firecracker", "1.16")).code, 0);
    assert.equal(run(compileArgs("split/", "--split-output", "--container", "bincode")).code, 2);
  });
});

describe("convert", () => {
  test("bincode → bitcode and back gives exactly what compile writes in each layout", () => {
    assert.equal(run(compileArgs("c-bitcode.out", "--container", "bitcode")).code, 0);
    assert.equal(run(compileArgs("c-bincode.out", "--container", "bincode")).code, 0);
    const up = run(["convert", "-i", "c-bincode.out", "-o", "up.out"]);
    assert.equal(up.code, 0, up.stderr);
    assert.match(up.stderr, /converted c-bincode\.out \(Firecracker ≤ 1\.14 format\) to up\.out \(Firecracker ≥ 1\.15 format;/);
    assert.deepEqual(bytesOf("up.out"), bytesOf("c-bitcode.out"));
    const down = run(["convert", "-i", "c-bitcode.out", "-o", "down.out", "--format", "json"]);
    assert.equal(down.code, 0, down.stderr);
    assert.deepEqual(JSON.parse(down.stdout).container, "bincode");
    assert.deepEqual(JSON.parse(down.stdout).from, "bitcode");
    assert.deepEqual(bytesOf("down.out"), bytesOf("c-bincode.out"));
  });

  test("--to / --firecracker choose the output layout; the file may be converted in place", () => {
    writeFileSync(join(work, "inplace.out"), bytesOf("c-bincode.out"));
    assert.equal(run(["convert", "-i", "inplace.out", "-o", "inplace.out", "--firecracker", "1.16"]).code, 0);
    assert.deepEqual(bytesOf("inplace.out"), bytesOf("c-bitcode.out"));
    assert.equal(run(["convert", "-i", "inplace.out", "-o", "same.out", "--to", "bitcode"]).code, 0);
    assert.deepEqual(bytesOf("same.out"), bytesOf("c-bitcode.out"));
    assert.equal(run(["convert", "-i", "inplace.out", "-o", "x.out", "--to", "bitcode", "--firecracker", "1.14"]).code, 2);
  });

  test("invalid input: exit 1, an offset, nothing written", () => {
    writeFileSync(join(work, "garbage.bin"), Uint8Array.from({ length: 200 }, (_, i) => (i * 37) & 255));
    const r = run(["convert", "-i", "garbage.bin", "-o", "never.out"]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /garbage\.bin: .*at byte \d+/);
    assert.ok(!existsSync(join(work, "never.out")));
    writeFileSync(join(work, "big.bin"), new Uint8Array(100_001));
    const big = run(["convert", "-i", "big.bin", "-o", "never.out"]);
    assert.equal(big.code, 1);
    assert.match(big.stderr, /100000-byte limit/);
    assert.equal(run(["convert", "-i", "/dev/zero", "-o", "never.out"]).code, 1);
    assert.equal(run(["convert", "-i", "missing.bin", "-o", "never.out"]).code, 1);
    assert.equal(run(["convert", "-i", "garbage.bin"]).code, 2);
    assert.ok(!existsSync(join(work, "never.out")));
  });
});

describe("readers detect the layout", () => {
  test("disasm, check and cache read both layouts and report which", () => {
    for (const layout of ["bitcode", "bincode"]) {
      const file = `c-${layout}.out`;
      const disasm = run(["disasm", "-f", file, "-t", "x86_64", "--format", "json"]);
      assert.equal(disasm.code, 0, disasm.stderr);
      assert.equal(JSON.parse(disasm.stdout).container, layout);
      const check = run(["check", "-f", file, "-t", "x86_64", "--thread", "vmm", "-s", "read", "--format", "json"]);
      assert.equal(JSON.parse(check.stdout).container, layout);
      const cache = run(["cache", "-f", file, "-t", "x86_64", "--format", "json"]);
      assert.equal(JSON.parse(cache.stdout).container, layout);
      // An explicit layout is honoured, so naming the wrong one fails.
      const wrong = run(["disasm", "-f", file, "-t", "x86_64", "--container", layout === "bitcode" ? "bincode" : "bitcode"]);
      assert.equal(wrong.code, 1);
    }
    assert.equal(run(["disasm", "-p", EXAMPLE, "-t", "x86_64", "--container", "bitcode"]).code, 2);
  });

  test("exec --filter-file reads both layouts (--dry-run), and honours --container", () => {
    for (const layout of ["bitcode", "bincode"]) {
      const r = run(["exec", "--filter-file", `c-${layout}.out`, "--thread", "vmm", "--dry-run", "--", "/bin/true"]);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /thread: vmm/);
    }
    const wrong = run(["exec", "--filter-file", "c-bincode.out", "--container", "bitcode", "--thread", "vmm", "--dry-run", "--", "/bin/true"]);
    assert.equal(wrong.code, 125);
  });

  test("a file valid in both layouts is refused everywhere until --container names one", () => {
    const allow = stmt(BPF.RET | BPF.K, 0x7fff0000);
    // See test/bitcode.test.ts: valid bincode, and valid bitcode (one thread "" of 13 instructions).
    const bytes = serializeBinary({ "api-ambiguous": [allow], "vcpu-ambig": [allow], "vmm-ambiguo": [allow] }, { format: "bincode" });
    writeFileSync(join(work, "ambiguous.bin"), bytes);
    for (const args of [
      ["disasm", "-f", "ambiguous.bin", "-t", "x86_64"],
      ["check", "-f", "ambiguous.bin", "-t", "x86_64", "-s", "read"],
      ["cache", "-f", "ambiguous.bin", "-t", "x86_64"],
      ["convert", "-i", "ambiguous.bin", "-o", "ambiguous.out"],
    ]) {
      const r = run(args);
      assert.equal(r.code, 1, args.join(" "));
      assert.match(r.stderr, /valid filter file in both layouts.*--container/, args.join(" "));
    }
    const exec = run(["exec", "--filter-file", "ambiguous.bin", "--thread", "vmm-ambiguo", "--dry-run", "--", "/bin/true"]);
    assert.equal(exec.code, 125);
    assert.match(exec.stderr, /--container/);
    const named = run(["disasm", "-f", "ambiguous.bin", "-t", "x86_64", "--container", "bincode", "--format", "json"]);
    assert.equal(named.code, 0, named.stderr);
    assert.deepEqual(JSON.parse(named.stdout).threads.map((t: { thread: string }) => t.thread), ["api-ambiguous", "vcpu-ambig", "vmm-ambiguo"]);
    assert.equal(run(["exec", "--filter-file", "ambiguous.bin", "--container", "bincode", "--thread", "vmm-ambiguo", "--dry-run", "--", "/bin/true"]).code, 0);
    assert.equal(run(["convert", "-i", "ambiguous.bin", "--container", "bincode", "-o", "ambiguous.out"]).code, 0);
    assert.equal(readContainer(bytesOf("ambiguous.out")).format, "bitcode");
  });
});

describe("Firecracker's thread names", () => {
  test("names that differ only in case: a positioned error, nothing written, in both layouts", () => {
    writeFileSync(join(work, "case.json"), `// comment\n{\n  ${FILTER("vmm")},\n  ${FILTER("api")},\n  ${FILTER("VMM")}\n}\n`);
    for (const layout of ["bitcode", "bincode"]) {
      const r = run(["-t", "x86_64", "-i", "case.json", "-o", "case.out", "--container", layout]);
      assert.equal(r.code, 1, r.stderr);
      assert.match(r.stderr, /^case\.json:5:3: error: threads "vmm" and "VMM" differ only in case/m);
      assert.match(r.stderr, /at \$\.VMM/);
      assert.match(r.stderr, /nothing written/);
      assert.ok(!existsSync(join(work, "case.out")));
    }
    const json = run(["-t", "x86_64", "-i", "case.json", "-o", "case.out", "--format", "json"]);
    const diagnostic = JSON.parse(json.stdout).diagnostics.find((d: { code: string }) => d.code === "thread-name-case");
    assert.deepEqual([diagnostic.line, diagnostic.column, diagnostic.path], [5, 3, "$.VMM"]);
    // Raw .bpf files are not Firecracker's: no check there.
    mkdirSync(join(work, "split"));
    assert.equal(run(["-t", "x86_64", "-i", "case.json", "-o", "split/", "--split-output"]).code, 0);
  });

  test("missing vmm/api/vcpu and unknown threads: positioned warnings, only with --firecracker", () => {
    writeFileSync(join(work, "partial.json"), `{\n  ${FILTER("vmm")},\n  ${FILTER("main")}\n}\n`);
    const plain = run(["-t", "x86_64", "-i", "partial.json", "-o", "partial.out"]);
    assert.equal(plain.code, 0);
    assert.doesNotMatch(plain.stderr, /warning/);
    const checked = run(["-t", "x86_64", "-i", "partial.json", "-o", "partial.out", "--firecracker", "1.16"]);
    assert.equal(checked.code, 0, checked.stderr);
    assert.match(checked.stderr, /^partial\.json:1:1: warning: no "api" thread: Firecracker refuses to start/m);
    assert.match(checked.stderr, /^partial\.json:1:1: warning: no "vcpu" thread/m);
    assert.match(checked.stderr, /^partial\.json:3:3: warning: thread "main" is not one Firecracker knows/m);
    assert.doesNotMatch(checked.stderr, /no "vmm" thread/);
    // Firecracker lowercases before it looks: VMM/API/VCPU are fine.
    writeFileSync(join(work, "upper.json"), `{${FILTER("VMM")}, ${FILTER("Api")}, ${FILTER("VCPU")}}`);
    const upper = run(["-t", "x86_64", "-i", "upper.json", "-o", "upper.out", "--firecracker", "1.14", "--format", "json"]);
    assert.equal(upper.code, 0, upper.stderr);
    assert.deepEqual(JSON.parse(upper.stdout).diagnostics, []);
  });
});
