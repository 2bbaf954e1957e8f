// deno-facing
/**
 * The launcher's raw-system-call file access (`src/launcher/syscall_files.ts`)
 * against `node:fs`, case by case: same bytes, same file types and sizes, same
 * error codes, on regular files, /proc, devices, FIFOs, sockets, directories,
 * symbolic links and missing paths (permission errors are not tried: the
 * suite runs as root); and `readInputFile` through
 * it refuses what it refuses through `node:fs`, with the same words.
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { chmodSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type FileAccess, LINUX_FILE_FLAGS, nodeFileAccess } from "../src/files.ts";
import { readInputFile } from "../src/input.ts";
import { hostArchInfo, openLibc } from "../src/install/mod.ts";
import { syscallFileAccess } from "../src/launcher/syscall_files.ts";

const work = mkdtempSync(join(tmpdir(), "seccompiler-files-"));
process.on("exit", () => rmSync(work, { recursive: true, force: true }));

const raw = syscallFileAccess(await openLibc(), hostArchInfo());
const node = nodeFileAccess();

const file = join(work, "data.bin");
const content = new Uint8Array(200_000).map((_, i) => (i * 7919) % 251);
writeFileSync(file, content);
const empty = join(work, "empty");
writeFileSync(empty, "");
const dir = join(work, "dir");
mkdirSync(dir);
for (const name of ["a", "b c", "ünï", ".hidden"]) writeFileSync(join(dir, name), name);
const fifo = join(work, "fifo");
spawnSync("mkfifo", [fifo]);
const link = join(work, "link");
symlinkSync(file, link);
const dangling = join(work, "dangling");
symlinkSync(join(work, "nowhere"), dangling);
const script = join(work, "script.sh");
writeFileSync(script, "#!/bin/sh\n");
const notExecutable = join(work, "plain.txt");
writeFileSync(notExecutable, "x");
chmodSync(notExecutable, 0o644);
const socketPath = join(work, "sock");
const server = createServer();
await new Promise<void>((done) => server.listen(socketPath, done));
process.on("exit", () => server.close());

/** What a call did: its value, or the error code it threw. */
function outcome<T>(call: () => T): { value: T } | { code: string } {
  try {
    return { value: call() };
  } catch (error) {
    return { code: String((error as { code?: string }).code) };
  }
}

/** A stat as plain data, for comparison. */
function kind(files: FileAccess, stat: (files: FileAccess) => ReturnType<FileAccess["statSync"]>) {
  return outcome(() => {
    const s = stat(files);
    return {
      size: s.isFile() ? s.size : -1,
      file: s.isFile(),
      directory: s.isDirectory(),
      fifo: s.isFIFO(),
      character: s.isCharacterDevice(),
      block: s.isBlockDevice(),
      socket: s.isSocket(),
    };
  });
}

const PATHS = [file, empty, dir, fifo, link, dangling, socketPath, "/dev/null", "/proc/self/status", join(work, "missing"), join(file, "below"), ""];

describe("syscallFileAccess agrees with node:fs", () => {
  for (const path of PATHS) {
    test(`statSync ${path || "(empty path)"}`, () => {
      assert.deepEqual(kind(raw, (f) => f.statSync(path)), kind(node, (f) => f.statSync(path)));
    });
  }

  test("fstatSync of open descriptors: file, directory, /dev/null, a FIFO opened non-blocking", () => {
    for (const path of [file, dir, "/dev/null", fifo]) {
      const flags = LINUX_FILE_FLAGS.O_RDONLY | LINUX_FILE_FLAGS.O_NONBLOCK;
      const a = raw.openSync(path, flags);
      const b = node.openSync(path, flags);
      try {
        assert.deepEqual(kind(raw, (f) => f.fstatSync(a)), kind(node, (f) => f.fstatSync(b)), path);
      } finally {
        raw.closeSync(a);
        node.closeSync(b);
      }
    }
    assert.deepEqual(outcome(() => raw.fstatSync(987654)), { code: "EBADF" });
  });

  test("readFileSync: a 200 kB file (several reads), an empty one, /proc files that report size 0", () => {
    assert.deepEqual(raw.readFileSync(file), content);
    assert.equal(raw.readFileSync(empty).length, 0);
    // The same process reads its own command line and auxiliary vector either way.
    assert.deepEqual(raw.readFileSync("/proc/self/cmdline"), new Uint8Array(node.readFileSync("/proc/self/cmdline")));
    assert.deepEqual(raw.readFileSync("/proc/self/auxv"), new Uint8Array(node.readFileSync("/proc/self/auxv")));
    for (const path of [dir, join(work, "missing"), join(file, "below")]) {
      assert.deepEqual(outcome(() => raw.readFileSync(path)), outcome(() => node.readFileSync(path)), path);
    }
  });

  test("readSync at the file offset and at a position; 0 at end of file", () => {
    const fd = raw.openSync(file, LINUX_FILE_FLAGS.O_RDONLY);
    try {
      const buffer = new Uint8Array(16);
      assert.equal(raw.readSync(fd, buffer, 4, 8, null), 8);
      assert.deepEqual(buffer.subarray(4, 12), content.subarray(0, 8));
      assert.equal(raw.readSync(fd, buffer, 0, 8, null), 8);
      assert.deepEqual(buffer.subarray(0, 8), content.subarray(8, 16));
      assert.equal(raw.readSync(fd, buffer, 0, 16, 199_990), 10);
      assert.deepEqual(buffer.subarray(0, 10), content.subarray(199_990));
      assert.equal(raw.readSync(fd, buffer, 0, 16, 200_000), 0);
      assert.equal(raw.readSync(fd, buffer, 0, 0, null), 0);
    } finally {
      raw.closeSync(fd);
    }
  });

  test("openSync: error codes match (missing, under a file, a directory for reading is allowed, NUL in the name)", () => {
    for (const path of [join(work, "missing"), join(file, "below"), dangling]) {
      assert.deepEqual(outcome(() => raw.openSync(path, 0)), outcome(() => node.openSync(path, 0)), path);
    }
    const fd = raw.openSync(dir, 0);
    raw.closeSync(fd);
    assert.deepEqual(outcome(() => raw.openSync(`${file}\0x`, 0)), { code: "ENOENT" });
  });

  test("descriptors are opened close-on-exec", () => {
    const fd = raw.openSync(file, 0);
    try {
      const flags = new TextDecoder().decode(raw.readFileSync(`/proc/self/fdinfo/${fd}`)).match(/^flags:\s+([0-7]+)/m)?.[1];
      assert.ok(flags !== undefined);
      assert.notEqual(Number.parseInt(flags, 8) & LINUX_FILE_FLAGS.O_CLOEXEC, 0);
    } finally {
      raw.closeSync(fd);
    }
  });

  test("readdirSync: the same names (without . and ..), and the same errors", () => {
    assert.deepEqual(raw.readdirSync(dir).sort(), node.readdirSync(dir).sort());
    assert.deepEqual(raw.readdirSync("/proc/self/fd").sort(), node.readdirSync("/proc/self/fd").sort());
    // A FIFO with no writer: an error at once (opened non-blocking), not a hang.
    for (const path of [file, join(work, "missing"), fifo]) {
      assert.deepEqual(outcome(() => raw.readdirSync(path)), outcome(() => node.readdirSync(path)), path);
    }
  });

  test("accessSync X_OK: an executable, a script without the x bit, a missing file", () => {
    for (const path of ["/bin/sh", notExecutable, script, join(work, "missing")]) {
      assert.deepEqual(
        outcome(() => (raw.accessSync(path, LINUX_FILE_FLAGS.X_OK), "allowed")),
        outcome(() => (node.accessSync(path, LINUX_FILE_FLAGS.X_OK), "allowed")),
        path,
      );
    }
  });
});

describe("readInputFile through syscallFileAccess", () => {
  const options = { what: "filter file", limit: 1000, limitOption: "--bytes-limit", regularOnly: true } as const;
  /** The bytes' length, or the refusal's message, through one file access. */
  const read = (path: string, files: FileAccess, extra: { regularOnly?: boolean }) => {
    try {
      return readInputFile(path, { ...options, ...extra, files }).length;
    } catch (error) {
      return `${(error as { code?: string }).code}: ${(error as Error).message}`;
    }
  };

  for (const [label, path, extra] of [
    ["a small regular file", script, {}],
    ["a file over the limit", file, {}],
    ["a directory", dir, {}],
    ["a FIFO with no writer (never blocks)", fifo, {}],
    ["a character device", "/dev/null", {}],
    ["a socket", socketPath, {}],
    ["a missing file", join(work, "missing"), {}],
    ["a /proc file", "/proc/self/status", {}],
    ["/dev/zero without regularOnly stops at the limit", "/dev/zero", { regularOnly: false }],
  ] as const) {
    test(`${label}: the same outcome and message as through node:fs`, () => {
      assert.deepEqual(read(path, raw, extra), read(path, node, extra));
    });
  }
});
