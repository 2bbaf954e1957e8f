/**
 * The shared input module, tried the way an attacker or a careless operator
 * would, on the real CLI: every command accepts the same architecture names,
 * refuses the same non-files with the same words (never a hang, never an
 * "internal error", never a misleading "changed while it was being read"),
 * reads nothing past its limit, pins files by SHA-256 and refuses repeated
 * single-value options.
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { closeSync, existsSync, ftruncateSync, mkdtempSync, openSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CLI } from "./support/paths.ts";
import { ARCH_ALIASES, parseArchName } from "../src/arch/arch.ts";
import { decodeUtf8, InputError, quoteName, readInputFile, selectOneThread, selectThreads } from "../src/input.ts";

const work = mkdtempSync(join(tmpdir(), "seccompiler-input-"));
process.on("exit", () => rmSync(work, { recursive: true, force: true }));

/** Runs the CLI with a hard timeout, so that a hang is a failure and not a stuck suite. */
function run(args: string[], options: { input?: string | Uint8Array; timeout?: number } = {}) {
  const result = spawnSync(CLI, args, { encoding: "utf8", input: options.input, cwd: work, timeout: options.timeout ?? 60_000 });
  if (result.error) throw new Error(`seccompiler ${args.join(" ")}: ${result.error.message}`);
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

/** What no refusal may ever print. */
const NEVER = /internal error|this is a bug|changed while it was being read|^\s+at \S+ \(|TypeError|RangeError|Out of memory/m;

const POLICY = `{
  "vmm": {"default_action": "allow", "filter_action": {"errno": 1}, "filter": [{"syscall": "reboot"}]},
  "api": {"default_action": "allow", "filter_action": {"errno": 1}, "filter": [{"syscall": "kexec_load"}]}
}
`;
const policy = join(work, "policy.json");
writeFileSync(policy, POLICY);
const filterFile = join(work, "filter.out");
{
  const r = run(["compile", "-t", "x86_64", "-i", policy, "-o", filterFile]);
  assert.equal(r.code, 0, r.stderr);
}
const filterSha = createHash("sha256").update(readFileSync(filterFile)).digest("hex");

const fifo = join(work, "fifo");
assert.equal(spawnSync("mkfifo", [fifo]).status, 0, "mkfifo");
const directory = mkdtempSync(join(work, "dir-"));
const linkToZero = join(work, "link-to-zero");
symlinkSync("/dev/zero", linkToZero);

describe("architecture names: one table for every command", () => {
  test("parseArchName: canonical names and aliases in any case, nothing else", () => {
    assert.equal(parseArchName("x86_64"), "x86_64");
    assert.equal(parseArchName("AMD64"), "x86_64");
    assert.equal(parseArchName("x64"), "x86_64");
    assert.equal(parseArchName("Arm64"), "aarch64");
    assert.equal(parseArchName("loong64"), "loongarch64");
    for (const bad of ["", "i386", "arm", "toString", "__proto__", "constructor", "x86-64"]) {
      assert.equal(parseArchName(bad), undefined, bad);
    }
  });

  const inspect: Record<string, string[]> = {
    disasm: [],
    check: ["--syscall", "reboot"],
    cache: [],
  };
  for (const [alias, arch] of Object.entries(ARCH_ALIASES)) {
    test(`-t ${alias.toUpperCase()} means ${arch} for compile, lint, disasm, check and cache`, () => {
      const out = join(work, `alias-${alias}.out`);
      const compiled = run(["compile", "-t", alias.toUpperCase(), "-i", policy, "-o", out]);
      assert.equal(compiled.code, 0, compiled.stderr);
      assert.match(compiled.stderr, new RegExp(`[(;] ?${arch};`));
      const linted = run(["lint", policy, "-t", alias.toUpperCase(), "--format", "json"]);
      assert.equal(JSON.parse(linted.stdout).arch, arch, linted.stderr);
      for (const [command, extra] of Object.entries(inspect)) {
        for (const source of [["--filter-file", out], ["--policy", policy]]) {
          const r = run([command, "-t", alias.toUpperCase(), ...source, "--thread", "vmm", "--format", "json", ...extra]);
          assert.equal(r.code, 0, `${command} ${source[0]}: ${r.stderr}`);
          assert.equal(JSON.parse(r.stdout).arch, arch, command);
        }
      }
    });
  }

  test("an unknown architecture is a usage error (exit 2) for every command, naming the choices", () => {
    for (const args of [
      ["compile", "-t", "sparc", "-i", policy, "-o", join(work, "never.out")],
      ["disasm", "-t", "sparc", "--filter-file", filterFile],
      ["check", "-t", "sparc", "--policy", policy, "--syscall", "read"],
      ["cache", "-t", "sparc", "--policy", policy],
      ["lint", policy, "-t", "sparc"],
    ]) {
      const r = run(args);
      assert.equal(r.code, 2, `${args[0]}: ${r.stderr}`);
      assert.match(r.stderr, /unknown architecture "sparc".*x86_64.*amd64/);
    }
    assert.equal(existsSync(join(work, "never.out")), false);
  });
});

describe("filter files must be regular files", () => {
  const cases: [string, string, RegExp][] = [
    ["a FIFO with no writer (must not hang)", fifo, /is a FIFO \(named pipe\), not a regular file/],
    ["a directory", directory, /is a directory/],
    ["/dev/zero", "/dev/zero", /is a character device, not a regular file/],
    ["a symlink to /dev/zero", linkToZero, /is a character device, not a regular file/],
    ["/proc/self/status", "/proc/self/status", /is not an ordinary file: it reports a size of 0 bytes but has content \(a \/proc or \/sys file\?\)/],
    ["a missing file", join(work, "missing"), /no such file or directory \(ENOENT\)/],
  ];
  for (const [label, path, expected] of cases) {
    test(`${label}: a clear refusal from disasm, check, cache (exit 1) and exec (exit 125, target never started)`, () => {
      for (const args of [
        ["disasm", "--filter-file", path],
        ["check", "--filter-file", path, "--syscall", "read"],
        ["cache", "--filter-file", path],
        ["disasm", "--bpf-file", path],
      ]) {
        const r = run(args, { timeout: 20_000 });
        assert.equal(r.code, 1, `${args.join(" ")}: ${r.stderr}`);
        assert.match(r.stderr, expected, args.join(" "));
        assert.doesNotMatch(r.stderr + r.stdout, NEVER);
      }
      const marker = join(work, `started-${label.replace(/\W+/g, "-")}`);
      const r = run(["exec", "--filter-file", path, "--", "/bin/touch", marker], { timeout: 20_000 });
      assert.equal(r.code, 125, r.stderr);
      assert.match(r.stderr, expected);
      assert.doesNotMatch(r.stderr, NEVER);
      assert.equal(existsSync(marker), false, "the target must never start");
    });
  }

  test("a 10 GiB sparse file with the largest --bytes-limit is refused before reading", () => {
    const huge = join(work, "huge.out");
    const fd = openSync(huge, "w");
    ftruncateSync(fd, 10 * 1024 ** 3);
    closeSync(fd);
    const r = run(["disasm", "--filter-file", huge, "--bytes-limit", String(1024 ** 3)]);
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /is 10737418240 bytes, over the 1073741824-byte limit/);
    assert.doesNotMatch(r.stderr, NEVER);
    const launched = run(["exec", "--filter-file", huge, "--bytes-limit", String(1024 ** 3), "--", "/bin/true"]);
    assert.equal(launched.code, 125, launched.stderr);
    assert.match(launched.stderr, /over the 1073741824-byte limit/);
    rmSync(huge);
  });

  test("--bytes-limit above 1 GiB, zero, negative or not a number is a usage error", () => {
    for (const limit of ["1073741825", "99999999999999999999", "0", "-1", "1e6", "0x10", ""]) {
      const r = run(["disasm", "--filter-file", filterFile, "--bytes-limit", limit]);
      assert.equal(r.code, 2, `${limit}: ${r.stderr}`);
      const marker = join(work, "limit-started");
      const launched = run(["exec", "--filter-file", filterFile, "--bytes-limit", limit, "--thread", "vmm", "--", "/bin/touch", marker]);
      assert.equal(launched.code, 125, `${limit}: ${launched.stderr}`);
      assert.equal(existsSync(marker), false);
    }
  });

  test("readInputFile stops reading one byte past the limit", () => {
    assert.throws(
      () => readInputFile("/dev/zero", { what: "policy", limit: 1000, limitOption: "--max-input-bytes" }),
      (error) => error instanceof InputError && error.code === "too-large" && /is over the 1000-byte limit/.test(error.message),
    );
    const bytes = readInputFile(filterFile, { what: "filter file", limit: 100_000, limitOption: "--bytes-limit", regularOnly: true });
    assert.deepEqual(bytes, new Uint8Array(readFileSync(filterFile)));
  });
});

describe("policies: size cap before parsing, strict UTF-8", () => {
  test("a policy over 16 MiB is refused before parsing; --max-input-bytes raises the cap", () => {
    const big = join(work, "big.json");
    writeFileSync(big, `${" ".repeat(16 * 1024 * 1024)}${POLICY}`);
    for (const args of [
      ["compile", "-t", "x86_64", "-i", big, "-o", join(work, "big.out")],
      ["check", "--policy", big, "--syscall", "read", "--thread", "vmm"],
      ["lint", big, "-t", "x86_64"],
    ]) {
      const r = run(args);
      assert.equal(r.code, 1, r.stderr);
      assert.match(r.stderr, /policy .*big\.json is \d+ bytes, over the 16777216-byte limit/);
      assert.match(r.stderr, /raise --max-input-bytes/);
    }
    const marker = join(work, "big-started");
    const launched = run(["exec", "--policy", big, "--thread", "vmm", "--", "/bin/touch", marker]);
    assert.equal(launched.code, 125, launched.stderr);
    assert.match(launched.stderr, /over the 16777216-byte limit/);
    assert.equal(existsSync(marker), false);
    const raised = run(["compile", "-t", "x86_64", "-i", big, "-o", join(work, "big.out"), "--max-input-bytes", "20000000"]);
    assert.equal(raised.code, 0, raised.stderr);
    rmSync(big);
  });

  test("/dev/zero as a policy (and on stdin) stops at the cap", () => {
    const r = run(["compile", "-t", "x86_64", "-i", "/dev/zero", "-o", join(work, "zero.out"), "--max-input-bytes", "100000"]);
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /policy \/dev\/zero is over the 100000-byte limit/);
    const stdin = spawnSync("sh", ["-c", `"${CLI}" compile -t x86_64 -i - -o zero.out --max-input-bytes 100000 < /dev/zero`], { cwd: work, encoding: "utf8", timeout: 60_000 });
    assert.equal(stdin.status, 1, stdin.stderr);
    assert.match(stdin.stderr, /policy <stdin> is over the 100000-byte limit/);
    assert.equal(existsSync(join(work, "zero.out")), false);
  });

  test("a policy FIFO with no writer ends at once (empty input), it does not hang", () => {
    const r = run(["compile", "-t", "x86_64", "-i", fifo, "-o", join(work, "fifo.out")], { timeout: 20_000 });
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /the policy is empty/);
  });

  test("a policy that is a directory is refused clearly", () => {
    const r = run(["compile", "-t", "x86_64", "-i", directory, "-o", join(work, "dir.out")]);
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /policy .* is a directory/);
    assert.doesNotMatch(r.stderr, NEVER);
  });

  test("a byte order mark is accepted and positions still count from the first character after it", () => {
    const bom = join(work, "bom.json");
    writeFileSync(bom, Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from('{"main": {"default_action": "allow", "filter_action": "allow", "filter": []}}')]));
    const r = run(["compile", "-t", "x86_64", "-i", bom, "-o", join(work, "bom.out")]);
    assert.equal(r.code, 1);
    // Column 55 of the text an editor shows (the mark is not a character of it).
    assert.match(r.stderr, /bom\.json:1:55: error: "filter_action" and "default_action" are both allow/);
  });

  test("invalid UTF-8 is an error at its line and column for compile, check and exec, never U+FFFD", () => {
    const bad = join(work, "bad.json");
    writeFileSync(bad, Buffer.concat([Buffer.from('{"main":\n  {"a'), Buffer.from([0xc0, 0x80]), Buffer.from('": 1}}')]));
    for (const args of [["compile", "-t", "x86_64", "-i", bad, "-o", join(work, "bad.out")], ["check", "--policy", bad, "--syscall", "read"]]) {
      const r = run(args);
      assert.equal(r.code, 1, r.stderr);
      assert.match(r.stderr, /bad\.json:2:6: error: not valid UTF-8 \(byte 14 is 0xc0\)/);
    }
    const launched = run(["exec", "--policy", bad, "--", "/bin/true"]);
    assert.equal(launched.code, 125);
    assert.match(launched.stderr, /bad\.json:2:6: error: not valid UTF-8/);
  });

  test("decodeUtf8: overlongs, surrogates and truncated sequences are refused at their first byte", () => {
    const at = (bytes: number[]) => {
      try {
        decodeUtf8(new Uint8Array(bytes), "f");
        return "decoded";
      } catch (error) {
        assert.ok(error instanceof InputError && error.code === "invalid-utf8");
        return /byte (\d+)/.exec(error.message)![1];
      }
    };
    assert.equal(at([0x61, 0xc0, 0xaf]), "1"); // overlong "/"
    assert.equal(at([0x61, 0x62, 0xed, 0xa0, 0x80]), "2"); // UTF-16 surrogate
    assert.equal(at([0x61, 0xf4, 0x90, 0x80, 0x80]), "1"); // past U+10FFFF
    assert.equal(at([0x61, 0xe2, 0x82]), "1"); // truncated
    assert.equal(at([0xe2, 0x82, 0xac, 0xff]), "3");
    assert.equal(decodeUtf8(new Uint8Array([0xef, 0xbb, 0xbf, 0xe2, 0x82, 0xac]), "f"), "€");
  });
});

describe("names quoted in diagnostics are shortened", () => {
  test("a 5 MB syscall name or thread name costs a few hundred bytes of stderr, not 15 MB (text, json, lint, check)", () => {
    const name = "a".repeat(5_000_000);
    const bigSyscall = join(work, "big-syscall.json");
    writeFileSync(bigSyscall, JSON.stringify({ main: { default_action: "allow", filter_action: { errno: 1 }, filter: [{ syscall: name }] } }));
    const bigThread = join(work, "big-thread.json");
    writeFileSync(bigThread, JSON.stringify({ [name]: { default_action: "allow", filter_action: "allow", filter: [] } }));
    for (const [file, expected] of [[bigSyscall, /unknown syscall "a{64}…" \(5000000 characters\)/], [bigThread, /at \$\.a{64}…\(5000000 characters\)/]] as const) {
      for (const args of [["compile", "-t", "x86_64", "-i", file, "-o", join(work, "never.out")], ["lint", file, "-t", "x86_64"], ["check", "--policy", file, "--syscall", "read"]]) {
        const r = run(args);
        assert.equal(r.code, 1, args.join(" "));
        assert.ok(r.stderr.length + r.stdout.length < 4000, `${args[0]}: ${r.stderr.length} bytes of stderr`);
        assert.match(r.stderr + r.stdout, expected, args[0]);
      }
      const json = run(["compile", "-t", "x86_64", "-i", file, "-o", join(work, "never.out"), "--format", "json"]);
      assert.ok(json.stdout.length < 4000, `${json.stdout.length} bytes of JSON`);
      assert.equal(JSON.parse(json.stdout).ok, false);
    }
    assert.equal(existsSync(join(work, "never.out")), false);
  });
});

describe("--sha256 pins a file's exact bytes", () => {
  test("the right digest (any case) is accepted by disasm, check and cache", () => {
    for (const args of [["disasm"], ["check", "--syscall", "read"], ["cache"]]) {
      const r = run([...args, "--filter-file", filterFile, "--sha256", filterSha.toUpperCase()]);
      assert.equal(r.code, 0, r.stderr);
    }
  });

  test("a wrong digest is refused (exit 1); a malformed one is a usage error (exit 2)", () => {
    const wrong = filterSha.replace(/^./, (c) => (c === "0" ? "1" : "0"));
    const r = run(["disasm", "--filter-file", filterFile, "--sha256", wrong]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, new RegExp(`has SHA-256 ${filterSha}, not the ${wrong}`));
    for (const bad of ["abc", `${filterSha}0`, "z".repeat(64), ""]) {
      assert.equal(run(["disasm", "--filter-file", filterFile, "--sha256", bad]).code, 2, bad);
    }
    const policySha = createHash("sha256").update(POLICY).digest("hex");
    assert.equal(run(["check", "--policy", policy, "--sha256", policySha, "--syscall", "read"]).code, 0);
    assert.equal(run(["check", "--policy", policy, "--sha256", wrong, "--syscall", "read"]).code, 1);
  });

  test("convert: a wrong digest is refused and nothing is written; the right one converts", () => {
    const converted = join(work, "converted.out");
    const wrong = run(["convert", "-i", filterFile, "-o", converted, "--sha256", "0".repeat(64)]);
    assert.equal(wrong.code, 1, wrong.stderr);
    assert.match(wrong.stderr, /SHA-256/);
    assert.equal(existsSync(converted), false);
    assert.equal(run(["convert", "-i", filterFile, "-o", converted, "--sha256", "nothex"]).code, 2);
    const right = run(["convert", "-i", filterFile, "-o", converted, "--sha256", filterSha]);
    assert.equal(right.code, 0, right.stderr);
    assert.ok(existsSync(converted));
  });

  test("exec: a wrong or malformed digest is exit 125 and the target never starts; the right one runs it", () => {
    const wrong = "0".repeat(64);
    for (const sha of [wrong, "nothex"]) {
      for (const source of [["--filter-file", filterFile], ["--policy", policy]]) {
        const marker = join(work, "sha-started");
        const r = run(["exec", ...source, "--sha256", sha, "--thread", "vmm", "--", "/bin/touch", marker]);
        assert.equal(r.code, 125, r.stderr);
        assert.match(r.stderr, /SHA-256/);
        assert.equal(existsSync(marker), false, "the target must never start");
      }
    }
    const marker = join(work, "sha-ok");
    const r = run(["exec", "--filter-file", filterFile, "--sha256", filterSha, "--thread", "vmm", "--", "/bin/touch", marker]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(existsSync(marker), true);
  });
});

describe("repeated single-value options are usage errors", () => {
  test("compile, disasm, check, cache: exit 2 naming the option; nothing written", () => {
    const out = join(work, "repeated.out");
    for (const args of [
      ["compile", "-t", "x86_64", "-i", policy, "-o", out, "--output-file", join(work, "other.out")],
      ["compile", "-t", "x86_64", "-t", "aarch64", "-i", policy, "-o", out],
      ["compile", "-t", "x86_64", "-i", policy, "-i", policy, "-o", out],
      ["disasm", "--filter-file", filterFile, "-f", filterFile],
      ["check", "--policy", policy, "--syscall", "read", "-s", "write"],
      ["cache", "--policy", policy, "--thread", "vmm", "--thread", "api"],
      ["disasm", "--filter-file", filterFile, "--sha256", filterSha, "--sha256", filterSha],
    ]) {
      const r = run(args);
      assert.equal(r.code, 2, `${args.join(" ")}: ${r.stderr}`);
      assert.match(r.stderr, /given more than once/);
    }
    assert.equal(existsSync(out), false);
    // A multi-value option may repeat.
    assert.equal(run(["check", "--policy", policy, "--syscall", "read", "--arg", "0=1", "--arg", "1=2"]).code, 0);
  });

  test("exec: a repeated --filter-file or --thread is exit 125 and the target never starts", () => {
    for (const extra of [["--filter-file", filterFile, "--filter-file", filterFile, "--thread", "vmm"], ["--filter-file", filterFile, "--thread", "vmm", "--thread", "api"]]) {
      const marker = join(work, "repeat-started");
      const r = run(["exec", ...extra, "--", "/bin/touch", marker]);
      assert.equal(r.code, 125, r.stderr);
      assert.match(r.stderr, /given more than once/);
      assert.equal(existsSync(marker), false);
    }
  });
});

describe("thread selection: one rule, one message", () => {
  test("an unknown thread is named, with the threads there are, by disasm, check and exec", () => {
    for (const [args, code] of [
      [["disasm", "--filter-file", filterFile, "--thread", "vcpu"], 1],
      [["check", "--policy", policy, "--thread", "vcpu", "--syscall", "read"], 1],
      [["exec", "--filter-file", filterFile, "--thread", "vcpu", "--", "/bin/true"], 125],
    ] as const) {
      const r = run([...args]);
      assert.equal(r.code, code, r.stderr);
      assert.match(r.stderr, /no filter for thread "vcpu" in .*\n {2}hint: threads: ("vmm", "api"|"api", "vmm")/);
    }
  });

  test("selectThreads and selectOneThread", () => {
    const programs = new Map([["vmm", 1], ["api", 2]]);
    assert.deepEqual([...selectThreads(programs, undefined, "f")], [["vmm", 1], ["api", 2]]);
    assert.deepEqual([...selectThreads(programs, "api", "f")], [["api", 2]]);
    assert.deepEqual(selectOneThread(new Map([["main", 3]]), undefined, "f"), ["main", 3]);
    assert.throws(() => selectOneThread(programs, undefined, "f"), /f holds 2 threads; choose one with --thread/);
    assert.throws(() => selectOneThread(new Map(), undefined, "f"), /f holds no filters/);
    assert.throws(() => selectThreads(programs, "x".repeat(1_000_000), "f"), (error) => error instanceof Error && error.message.length < 200);
  });

  test("quoteName shortens long names", () => {
    assert.equal(quoteName("vmm"), '"vmm"');
    assert.equal(quoteName("a".repeat(100), 4), '"aaaa…" (100 characters)');
  });
});
