/**
 * Output files, tried as an operator running as root would: devices and
 * FIFOs at the output path are written into and never replaced, symbolic
 * links are never replaced or written through to a regular file, `-o -` is
 * standard output, modes follow the rules whatever the umask, and
 * `--split-output` writes all files or none, under real failures (a file-size
 * limit, a directory in the way) and an injected one (a failing rename).
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import {
  chmodSync,
  chownSync,
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  renameSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CLI } from "./support/paths.ts";
import { deserializeBinary } from "../src/container.ts";
import { writeOutputs } from "../src/fs.ts";

const work = mkdtempSync(join(tmpdir(), "seccompiler-output-"));
process.on("exit", () => rmSync(work, { recursive: true, force: true }));
const IS_ROOT = process.getuid?.() === 0;

function run(args: string[], options: { shell?: string; timeout?: number } = {}) {
  const result = options.shell === undefined
    ? spawnSync(CLI, args, { cwd: work, timeout: options.timeout ?? 60_000 })
    : spawnSync("sh", ["-c", `${options.shell}; exec "$0" "$@"`, CLI, ...args], { cwd: work, timeout: options.timeout ?? 60_000 });
  if (result.error) throw new Error(`seccompiler ${args.join(" ")}: ${result.error.message}`);
  return { code: result.status, signal: result.signal, stdout: result.stdout, stderr: result.stderr.toString() };
}

/** Two threads: `small` (a few instructions) and `large` (well over 512 bytes as raw BPF). */
const syscalls = ["read", "write", "openat", "close", "fstat", "lseek", "mmap", "mprotect", "munmap", "brk", "ioctl", "pread64", "pwrite64",
  "readv", "writev", "access", "pipe", "select", "sched_yield", "mremap", "msync", "mincore", "madvise", "dup", "dup2", "pause", "nanosleep",
  "getitimer", "alarm", "setitimer", "getpid", "sendfile", "socket", "connect", "accept", "sendto", "recvfrom", "sendmsg", "recvmsg"];
const POLICY = JSON.stringify({
  small: { default_action: "allow", filter_action: { errno: 1 }, filter: [{ syscall: "reboot" }] },
  large: {
    default_action: { errno: 1 },
    filter_action: "allow",
    filter: syscalls.map((syscall, i) => ({ syscall, args: [{ index: 0, type: "dword", op: "eq", val: i + 100 }] })),
  },
});
const policy = join(work, "policy.json");
writeFileSync(policy, POLICY);
const reference = join(work, "reference.out");
assert.equal(run(["compile", "-t", "x86_64", "-i", policy, "-o", reference]).code, 0);
const REFERENCE = readFileSync(reference);

const compile = (output: string, extra: string[] = [], shell?: string) =>
  run(["compile", "-t", "x86_64", "-i", policy, "-o", output, ...extra], { shell });

describe("what is at the output path", () => {
  test("/dev/null stays a character device (as root this used to replace it for the whole system)", () => {
    const before = statSync("/dev/null");
    assert.ok(before.isCharacterDevice(), "/dev/null was already replaced before this test (by another process)");
    const r = compile("/dev/null");
    assert.equal(r.code, 0, r.stderr);
    const after = lstatSync("/dev/null");
    assert.ok(after.isCharacterDevice());
    assert.equal(after.rdev, before.rdev);
    assert.equal(after.ino, before.ino);
  });

  test("a FIFO is written into, not replaced: its reader gets the filter", async () => {
    const fifo = join(work, "out.fifo");
    assert.equal(spawnSync("mkfifo", [fifo]).status, 0);
    const reader = spawn("cat", [fifo]);
    const chunks: Buffer[] = [];
    reader.stdout.on("data", (chunk) => chunks.push(chunk));
    const done = new Promise((resolve) => reader.on("close", resolve));
    const r = compile(fifo);
    await done;
    assert.equal(r.code, 0, r.stderr);
    assert.ok(lstatSync(fifo).isFIFO());
    assert.deepEqual(Buffer.concat(chunks), REFERENCE);
  });

  test("a symlink to /dev/stdout's kind (a character device) is written through and stays a link", () => {
    const link = join(work, "null-link");
    symlinkSync("/dev/null", link);
    const r = compile(link);
    assert.equal(r.code, 0, r.stderr);
    assert.ok(lstatSync(link).isSymbolicLink());
    assert.equal(readlinkSync(link), "/dev/null");
  });

  test("a symlink to a regular file is refused: neither the link nor its target changes", () => {
    const target = join(work, "victim");
    writeFileSync(target, "precious");
    const link = join(work, "planted-link");
    symlinkSync(target, link);
    const r = compile(link);
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /planted-link is a symbolic link to a regular file; refusing to replace the link or to write through it/);
    assert.ok(lstatSync(link).isSymbolicLink());
    assert.equal(readFileSync(target, "utf8"), "precious");
  });

  test("a dangling symlink is refused and nothing is created", () => {
    const link = join(work, "dangling");
    symlinkSync(join(work, "nowhere"), link);
    const r = compile(link);
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /dangling is a symbolic link that leads nowhere/);
    assert.equal(existsSync(join(work, "nowhere")), false);
  });

  test("a directory is refused with a clear message", () => {
    const dir = mkdtempSync(join(work, "dir-"));
    const r = compile(dir);
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /is a directory/);
    assert.doesNotMatch(r.stderr, /internal error|this is a bug/);
    assert.deepEqual(readdirSync(dir), []);
  });

  test("-o - writes the filter to standard output and creates no file named -", () => {
    const r = compile("-");
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(r.stdout, REFERENCE);
    assert.equal(existsSync(join(work, "-")), false);
    assert.match(r.stderr, /wrote standard output/);
  });

  test("-o - with --split-output or --format json is a usage error", () => {
    assert.equal(compile("-", ["--split-output"]).code, 2);
    assert.equal(compile("-", ["--format", "json"]).code, 2);
    assert.equal(existsSync(join(work, "-")), false);
  });
});

describe("modes", () => {
  test("a new file is 0644 minus the umask, never group- or world-writable (umask 000 and 077)", () => {
    for (const [umask, mode] of [["000", 0o644], ["022", 0o644], ["077", 0o600], ["027", 0o640]] as const) {
      const output = join(work, `umask-${umask}.out`);
      const r = compile(output, [], `umask ${umask}`);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(statSync(output).mode & 0o7777, mode, `umask ${umask}`);
      const dir = mkdtempSync(join(work, `split-umask-${umask}-`));
      assert.equal(compile(join(dir, "x"), ["--split-output"], `umask ${umask}`).code, 0);
      for (const name of readdirSync(dir)) assert.equal(statSync(join(dir, name)).mode & 0o7777, mode, `${name}, umask ${umask}`);
    }
    const schema = join(work, "schema.json");
    assert.equal(run(["schema", "-o", schema], { shell: "umask 000" }).code, 0);
    assert.equal(statSync(schema).mode & 0o7777, 0o644);
  });

  test("a replaced regular file keeps its mode, even under umask 000", () => {
    for (const mode of [0o600, 0o640, 0o664, 0o444]) {
      const output = join(work, `kept-${mode.toString(8)}.out`);
      writeFileSync(output, "old");
      chmodSync(output, mode);
      const r = compile(output, [], "umask 000");
      assert.equal(r.code, 0, r.stderr);
      assert.equal(statSync(output).mode & 0o7777, mode);
      assert.deepEqual(readFileSync(output), REFERENCE);
    }
  });

  test("as root, a replaced file keeps its owner and group", { skip: !IS_ROOT && "needs root to give a file to another owner" }, () => {
    const output = join(work, "owned.out");
    writeFileSync(output, "old");
    chownSync(output, 1234, 5678);
    assert.equal(compile(output).code, 0);
    const stat = statSync(output);
    assert.deepEqual([stat.uid, stat.gid], [1234, 5678]);
    assert.deepEqual(readFileSync(output), REFERENCE);
  });
});

describe("--split-output writes all files or none", () => {
  /** A directory holding the previous run's files, with recognisable content. */
  const previous = () => {
    const dir = mkdtempSync(join(work, "split-"));
    writeFileSync(join(dir, "small.bpf"), "old small");
    writeFileSync(join(dir, "large.bpf"), "old large");
    return dir;
  };
  const unchanged = (dir: string) => {
    assert.deepEqual(readdirSync(dir).sort(), ["large.bpf", "small.bpf"], "no temporary or backup is left behind");
    assert.equal(readFileSync(join(dir, "small.bpf"), "utf8"), "old small");
    assert.equal(readFileSync(join(dir, "large.bpf"), "utf8"), "old large");
  };

  test("a file-size limit that the large thread exceeds (EFBIG) leaves every old file as it was", () => {
    const dir = previous();
    // 1 block of 512 bytes: the small thread's file fits, the large one's does not.
    const r = compile(join(dir, "x"), ["--split-output"], "ulimit -f 1");
    assert.equal(r.signal, null, "the runtime must not die of SIGXFSZ");
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /file too large \(EFBIG\)/);
    unchanged(dir);
    // Without the limit the same command succeeds, so the limit was the only cause.
    assert.equal(compile(join(dir, "x"), ["--split-output"]).code, 0);
    assert.ok(statSync(join(dir, "large.bpf")).size > 512);
  });

  test("a directory in the way of one file: refused before anything is written", () => {
    const dir = mkdtempSync(join(work, "split-dir-"));
    mkdirSync(join(dir, "large.bpf"));
    const r = compile(join(dir, "x"), ["--split-output"]);
    assert.equal(r.code, 1, r.stderr);
    assert.deepEqual(readdirSync(dir), ["large.bpf"]);
  });

  test("a rename that fails half-way puts back what was renamed (injected failure)", () => {
    const dir = previous();
    const files = [
      { path: join(dir, "small.bpf"), data: "new small" },
      { path: join(dir, "fresh.bpf"), data: "new fresh" },
      { path: join(dir, "large.bpf"), data: "new large" },
    ];
    let renames = 0;
    assert.throws(
      () =>
        writeOutputs(files, {
          rename: (from, to) => {
            if (++renames === 3) throw Object.assign(new Error("injected"), { code: "EIO" });
            renameSync(from, to);
          },
        }),
      /injected/,
    );
    assert.equal(renames, 3);
    unchanged(dir);
    writeOutputs(files);
    assert.equal(readFileSync(join(dir, "fresh.bpf"), "utf8"), "new fresh");
    assert.equal(readFileSync(join(dir, "large.bpf"), "utf8"), "new large");
    assert.deepEqual(readdirSync(dir).sort(), ["fresh.bpf", "large.bpf", "small.bpf"]);
  });
});

test("compile warns when the filter file is over Firecracker's 100,000-byte limit", () => {
  const threads: Record<string, unknown> = {};
  for (let i = 0; i < 1500; i++) threads[`thread_${i}`] = { default_action: "allow", filter_action: { errno: 1 }, filter: [{ syscall: "reboot" }] };
  const many = join(work, "many.json");
  writeFileSync(many, JSON.stringify(threads));
  const output = join(work, "many.out");
  const r = run(["compile", "-t", "x86_64", "-i", many, "-o", output]);
  assert.equal(r.code, 0, r.stderr);
  const size = statSync(output).size;
  assert.ok(size > 100_000, String(size));
  assert.match(r.stderr, new RegExp(`warning: the filter file is ${size} bytes; Firecracker refuses filter files over 100000 bytes`));
  assert.equal(deserializeBinary(readFileSync(output), { bytesLimit: size }).size, 1500);
  const small = run(["compile", "-t", "x86_64", "-i", policy, "-o", join(work, "small.out")]);
  assert.doesNotMatch(small.stderr, /warning/);
});
