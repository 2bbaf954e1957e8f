import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CLI, CORPUS, DENO, HAVE_CORPUS, REPO_ROOT } from "./support/paths.ts";
import { deserializeBinary } from "../src/container.ts";
import { readRawBpf } from "../src/bpf/encode.ts";
import { runFilter } from "../src/bpf/interpreter.ts";
import { getArch } from "../src/arch/arch.ts";
import { VERSION } from "../src/version.ts";

function run(args: string[], options: { input?: string; cwd?: string } = {}) {
  const result = spawnSync(CLI, args, { encoding: "utf8", input: options.input, cwd: options.cwd ?? REPO_ROOT });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

const work = mkdtempSync(join(tmpdir(), "seccompiler-cli-"));
process.on("exit", () => rmSync(work, { recursive: true, force: true }));

const SMALL = `{
  "main": {
    "default_action": {"errno": 1},
    "filter_action": "allow",
    "filter": [
      {"syscall": "read"},
      {"syscall": "write", "args": [{"index": 0, "type": "dword", "op": "eq", "val": 1}]}
    ]
  }
}
`;

describe("seccompiler compile", () => {
  test("option values it cannot use are usage errors (exit 2), each with its own message, nothing written", () => {
    const out = join(work, "never-written.out");
    const cases: [string[], RegExp][] = [
      [["-t", "x86_64", "-i", "", "-o", out], /--input-file must not be empty/],
      [["-t", "x86_64", "-i", "policies/example.json", "-o", ""], /--output-file must not be empty/],
      [["-t", "x86_64", "-i", "policies/example.json", "-o", out, "--format", "yaml"], /--format must be "text" or "json"/],
      [["-t", "x86_64", "-i", "policies/example.json", "-o", "-", "--split-output"], /cannot write them to standard output/],
      [["-t", "x86_64", "-i", "policies/example.json", "-o", "-", "--format", "json"], /would both write to standard output; choose one/],
    ];
    for (const [args, message] of cases) {
      const r = run(args);
      assert.equal(r.code, 2, `${args.join(" ")}: ${r.stderr}`);
      assert.match(r.stderr, message);
      assert.match(r.stderr, /hint: run 'seccompiler compile --help'/);
      assert.equal(r.stdout, "");
    }
    assert.equal(existsSync(out), false);
  });

  test("the legacy invocation writes a container the reader accepts", () => {
    const output = join(work, "legacy.out");
    const r = run(["--target-arch", "x86_64", "--input-file", "policies/example.json", "--output-file", output]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, "");
    const programs = deserializeBinary(readFileSync(output));
    assert.ok(programs.size >= 2);
  });

  test("works from another directory, reads stdin, arch is case-insensitive, short flags", () => {
    const r = run(["-t", "X86_64", "-i", "-", "-o", "from-stdin.out"], { input: SMALL, cwd: work });
    assert.equal(r.code, 0, r.stderr);
    const program = deserializeBinary(readFileSync(join(work, "from-stdin.out"))).get("main")!;
    const x86 = getArch("x86_64");
    const verdict = (nr: number, a0: bigint) => runFilter(program, { nr, arch: x86.auditArch, args: [a0] }).value;
    assert.equal(verdict(0, 5n), 0x7fff0000);
    assert.equal(verdict(1, 1n), 0x7fff0000);
    assert.equal(verdict(1, 2n), 0x00050001);
    assert.equal(verdict(39, 0n), 0x00050001);
  });

  test("the CLI on Deno writes the same bytes as on Bun", () => {
    const viaBun = join(work, "bun.out");
    const viaDeno = join(work, "deno.out");
    assert.equal(run(["-t", "x86_64", "-i", "policies/example.json", "-o", viaBun]).code, 0);
    const deno = spawnSync(DENO, ["run", "-A", join(REPO_ROOT, "src", "cli", "main.ts"), "-t", "x86_64", "-i", "policies/example.json", "-o", viaDeno], {
      encoding: "utf8",
      cwd: REPO_ROOT,
    });
    assert.equal(deno.status, 0, deno.stderr);
    assert.deepEqual(readFileSync(viaDeno), readFileSync(viaBun));
  });

  test("default output file name", () => {
    const r = run(["--target-arch", "aarch64", "--input-file", "-"], { input: SMALL, cwd: work });
    assert.equal(r.code, 0, r.stderr);
    assert.ok(existsSync(join(work, "seccomp_binary_filter.out")));
  });

  test("--split-output writes raw per-thread files in the target byte order", () => {
    const dir = mkdtempSync(join(work, "split-"));
    const policy = join(dir, "p.json");
    writeFileSync(policy, SMALL.replace('"main"', '"vmm"').replace("\n}\n", `,\n "api": {"default_action": "trap", "filter_action": "allow", "filter": [{"syscall": "read"}]}\n}\n`));
    const r = run(["-t", "s390x", "-i", policy, "-o", join(dir, "out.bin"), "--split-output"]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(existsSync(join(dir, "out.bin")), false);
    const s390x = getArch("s390x");
    const vmm = readRawBpf(readFileSync(join(dir, "vmm.bpf")), "big");
    assert.equal(runFilter(vmm, { nr: s390x.syscalls.get("write")!, arch: s390x.auditArch, args: [1n] }, "big").value, 0x7fff0000);
    assert.ok(existsSync(join(dir, "api.bpf")));
  });

  test("--format json prints a summary on stdout", () => {
    const r = run(["-t", "x86_64", "-i", "-", "-o", join(work, "j.out"), "--format", "json"], { input: SMALL });
    assert.equal(r.code, 0, r.stderr);
    const summary = JSON.parse(r.stdout);
    assert.equal(summary.ok, true);
    assert.deepEqual(summary.threads.map((t: { name: string }) => t.name), ["main"]);
    assert.ok(summary.threads[0].instructions > 5);
  });

  test("--basic warns that it is deprecated and drops argument checks", () => {
    const output = join(work, "basic.out");
    const r = run(["-t", "x86_64", "-i", "-", "-o", output, "--basic"], { input: SMALL });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /--basic is deprecated/);
    const program = deserializeBinary(readFileSync(output)).get("main")!;
    assert.equal(runFilter(program, { nr: 1, arch: 0xc000003e, args: [2n] }).value, 0x7fff0000);
  });

  test("a bad policy: positioned errors, exit 1, the old output untouched", () => {
    const output = join(work, "keep.out");
    writeFileSync(output, "previous");
    const bad = SMALL.replace('"read"', '"opne"').replace('"val": 1', '"val": 4294967296');
    const r = run(["-t", "x86_64", "-i", "-", "-o", output], { input: bad });
    assert.equal(r.code, 1);
    assert.match(r.stderr, /<stdin>:6:19: error: unknown syscall "opne" for x86_64; did you mean "open"\?/);
    assert.match(r.stderr, /<stdin>:7:\d+: error: .*dword/);
    assert.match(r.stderr, /2 errors; nothing written/);
    assert.doesNotMatch(r.stderr, / {4}at .*\.ts:\d+/); // no stack trace
    assert.equal(readFileSync(output, "utf8"), "previous");
  });

  test("--format json reports diagnostics with positions", () => {
    const r = run(["-t", "x86_64", "-i", "-", "-o", join(work, "never.out"), "--format", "json"], { input: SMALL.replace('"read"', '"opne"') });
    assert.equal(r.code, 1);
    const summary = JSON.parse(r.stdout);
    assert.equal(summary.ok, false);
    assert.equal(summary.diagnostics[0].code, "unknown-syscall");
    assert.equal(summary.diagnostics[0].line, 6);
    assert.equal(existsSync(join(work, "never.out")), false);
  });

  test("a missing input file is exit 1 with a message, not a stack trace", () => {
    const r = run(["-t", "x86_64", "-i", join(work, "nope.json"), "-o", join(work, "x.out")]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /cannot read .*nope\.json: no such file or directory/);
  });

  test("usage errors exit 2", () => {
    for (const args of [
      ["-t", "x86", "-i", "p.json"],
      ["-i", "p.json"],
      ["-t", "x86_64"],
      ["-t", "x86_64", "-i", "p.json", "--bogus"],
      ["-t", "x86_64", "-i", "p.json", "--format", "xml"],
      ["frobnicate"],
      [],
    ]) {
      const r = run(args);
      assert.equal(r.code, 2, `${args.join(" ")}: ${r.stderr}`);
      assert.match(r.stderr, /error:/);
    }
    assert.match(run(["-t", "x86", "-i", "p.json"]).stderr, /unknown architecture "x86".*x86_64, aarch64/);
  });

  test("--help for every command, --version", () => {
    for (const command of ["compile", "exec", "disasm", "check", "cache", "schema"]) {
      const r = run([command, "--help"]);
      assert.equal(r.code, 0, `${command}: ${r.stderr}`);
      assert.match(r.stdout, /Usage: /, command);
    }
    assert.match(run(["--help"]).stdout, /Commands:/);
    assert.equal(run(["--version"]).stdout.trim(), `seccompiler ${VERSION}`);
    const pkg = JSON.parse(readFileSync(join(REPO_ROOT, "package.json"), "utf8"));
    assert.equal(VERSION, pkg.version);
  });

  test("schema command prints the committed schema", () => {
    const r = run(["schema"]);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(JSON.parse(r.stdout), JSON.parse(readFileSync(join(REPO_ROOT, "policies", "seccompiler.schema.json"), "utf8")));
  });

  test("the whole corpus compiles through the CLI", { skip: !HAVE_CORPUS && "corpus absent" }, () => {
    for (const [file, arch] of [["x86_64-unknown-linux-musl.json", "x86_64"], ["aarch64-unknown-linux-musl.json", "aarch64"]]) {
      const output = join(work, `${arch}.out`);
      const r = run(["--target-arch", arch, "--input-file", join(CORPUS, file), "--output-file", output]);
      assert.equal(r.code, 0, r.stderr);
      assert.deepEqual([...deserializeBinary(readFileSync(output)).keys()], ["api", "vcpu", "vmm"]);
    }
  });
});

describe("inspection commands", () => {
  test("disasm names syscalls and actions", () => {
    const r = run(["disasm", "--policy", join(REPO_ROOT, "policies", "example.json"), "-t", "x86_64", "--thread", "vmm"]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /# thread "vmm"/);
    assert.match(r.stdout, /ret/);
    assert.match(r.stdout, /read/);
  });

  test("check simulates a call", () => {
    const policy = join(work, "check.json");
    writeFileSync(policy, SMALL);
    const allowed = run(["check", "--policy", policy, "-t", "x86_64", "--syscall", "write", "--arg", "0=1", "--format", "json"]);
    assert.equal(allowed.code, 0, allowed.stderr);
    assert.equal(JSON.parse(allowed.stdout).results[0].action, "allow");
    const denied = run(["check", "--policy", policy, "-t", "x86_64", "--syscall", "write", "--arg", "0=0x100000001"]);
    assert.equal(denied.code, 0, denied.stderr);
    assert.match(denied.stdout, /allow/); // dword compares only the low 32 bits: 0x100000001 → 1
    const other = run(["check", "--policy", policy, "-t", "x86_64", "--syscall", "getpid"]);
    assert.match(other.stdout, /errno\(1\)/);
    const cachedRead = run(["check", "--policy", policy, "-t", "x86_64", "--syscall", "read"]);
    assert.match(cachedRead.stdout, /action cache/);
    assert.equal(run(["check", "--policy", policy, "-t", "x86_64", "--syscall", "nosuch"]).code, 1);
    assert.equal(run(["check", "--policy", policy, "-t", "x86_64", "--syscall", "read", "--arg", "9=1"]).code, 2);
  });

  test("cache lists the syscalls the kernel never filters", () => {
    const policy = join(work, "cache.json");
    writeFileSync(policy, SMALL);
    const r = run(["cache", "--policy", policy, "-t", "x86_64", "--format", "json"]);
    assert.equal(r.code, 0, r.stderr);
    const [report] = JSON.parse(r.stdout).threads;
    assert.deepEqual(report.cached, ["read"]);
    assert.ok(report.filtered.includes("write"));
  });

  test("a corrupt filter file is exit 1 with a clear message", () => {
    const file = join(work, "corrupt.out");
    writeFileSync(file, "Invalid BPF!");
    const r = run(["disasm", "--filter-file", file]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /seccompiler: error: /);
  });
});

describe("JIT policy of the command line (src/jit_policy.ts)", () => {
  test("a policy turns the JIT on from JIT_INPUT_BYTES, and stays interpreted below", async () => {
    const { JIT_INPUT_BYTES, jitScaleForInput, STARTUP_JIT_SCALE, WORK_JIT_SCALE } = await import("../src/jit_policy.ts");
    assert.ok(WORK_JIT_SCALE < STARTUP_JIT_SCALE);
    assert.equal(jitScaleForInput(0), STARTUP_JIT_SCALE);
    assert.equal(jitScaleForInput(JIT_INPUT_BYTES - 1), STARTUP_JIT_SCALE);
    assert.equal(jitScaleForInput(JIT_INPUT_BYTES), WORK_JIT_SCALE);
  });

  test("with the JIT on (past the line) or off, the CLI writes the bytes the library compiles", { skip: !HAVE_CORPUS && "corpus absent" }, async () => {
    const { JIT_INPUT_BYTES } = await import("../src/jit_policy.ts");
    const { scalePolicy } = await import("../scripts/bench/compile_scaling.ts");
    const { compilePolicy } = await import("../src/compile.ts");
    const { serializeBinary } = await import("../src/container.ts");
    const base = readFileSync(join(CORPUS, "x86_64-unknown-linux-musl.json"), "utf8");
    for (const text of [base, scalePolicy(base, 16).text]) {
      const input = join(work, `jit-${text.length}.json`);
      const output = join(work, `jit-${text.length}.out`);
      writeFileSync(input, text);
      const r = run(["--target-arch", "x86_64", "--input-file", input, "--output-file", output]);
      assert.equal(r.code, 0, r.stderr);
      assert.ok(readFileSync(output).equals(serializeBinary(compilePolicy(text, "x86_64").programs)), `${text.length} characters`);
    }
    assert.ok(scalePolicy(base, 16).text.length >= JIT_INPUT_BYTES && base.length < JIT_INPUT_BYTES);
  });

  test("Firecracker's policies are below the line (measured fastest interpreted)", { skip: !HAVE_CORPUS && "corpus absent" }, async () => {
    const { JIT_INPUT_BYTES } = await import("../src/jit_policy.ts");
    for (const name of ["x86_64-unknown-linux-musl.json", "aarch64-unknown-linux-musl.json"]) {
      const bytes = readFileSync(join(CORPUS, name)).length;
      assert.ok(bytes < JIT_INPUT_BYTES, `${name}: ${bytes} bytes`);
    }
  });
});
