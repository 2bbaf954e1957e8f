/**
 * Faithful hand-over, on the real kernel: a probe started through `exec`
 * inherits what it inherits when started directly — argv and environment
 * bytes (non-UTF-8, duplicates, entries without '='), ignored signals, the
 * signal mask, umask, resource limits, working directory and the descriptors
 * named by --preserve-fds — through the wrapper, the standalone executable and
 * the Deno launcher run with exactly the README's permissions.
 */
import { after, describe, test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CHILDREN } from "./support/children/spawn.ts";
import { CLI, DENO, REPO_ROOT } from "./support/paths.ts";
import { standaloneExecutable } from "./support/standalone.ts";
import { parseWrapperHandover } from "../src/launcher/handover.ts";

const work = mkdtempSync(join(tmpdir(), "seccompiler-handover-test-"));
after(() => rmSync(work, { recursive: true, force: true }));
const PROBE = join(CHILDREN, "probe.sh");
const STARTER = join(CHILDREN, "starter.py");
/** The real interpreter (a pyenv shim would be a bash script in between). */
const PYTHON = spawnSync("python3", ["-c", "import os, sys; print(os.path.realpath(sys.executable))"], { encoding: "utf8" })
  .stdout.trim();
/** The Deno launcher exactly as the README gives it. */
const DENO_LAUNCHER = [DENO, "run", "--allow-ffi", join(REPO_ROOT, "src", "launcher", "exec.ts")];
/** The same CLI on Deno through the wrapper, which records the caller's state as the Bun one does. */
const DENO_WRAPPER = join(REPO_ROOT, "scripts", "seccompiler-deno");

const policy = join(work, "policy.json");
writeFileSync(policy, JSON.stringify({ main: { default_action: "allow", filter_action: { errno: 1 }, filter: [{ syscall: "mkdir" }] } }));

const hex = (text: string | Uint8Array) => Buffer.from(text).toString("hex");
const env = [
  "DUP=1", "DUP=2", "NOEQUALS", "=emptyname", Buffer.from([0x42, 0x41, 0x44, 0x3d, 0xff, 0xfe]), // BAD=\xff\xfe
  `PATH=${process.env.PATH}`, "BUN_CONFIG_NO_CLEAR_TERMINAL_ON_RELOAD=1", "ZZZ=last",
].map(hex);
/** A supervisor's state: SIGHUP ignored, SIGUSR1 blocked, soft NOFILE 1024, umask 027, fds 3–5 open. */
const caller = {
  ignore: [1],
  default: [13, 25], // Python ignores these itself; a shell-started program has them at default
  block: [10],
  nofile: 1024,
  umask: 0o027,
  fds: { 3: "/dev/null", 4: join(work, "four"), 5: join(work, "five") },
  env,
  argv_hex: [hex(Buffer.from([0x78, 0xff, 0x79])), "", hex("--"), hex("last arg")],
};

// deno-lint-ignore no-explicit-any
type Report = any;

/** Runs the probe through `launcher` (empty: directly) under `config`. */
function probe(launcher: string[], config: object = caller): Report {
  const command = launcher.length === 0
    ? ["/bin/sh", PROBE]
    : [...launcher, "--policy", policy, "--preserve-fds", "2", "--", "/bin/sh", PROBE];
  const run = spawnSync(PYTHON, [STARTER, JSON.stringify(config), ...command], { encoding: "utf8", cwd: work, timeout: 60_000 });
  assert.equal(run.status, 0, `status ${run.status}, signal ${run.signal}: ${run.stderr}`);
  const report = JSON.parse(run.stdout);
  delete report.fds.end;
  return report;
}

const launchers: [string, () => string[], "exact" | "runtime-limit"][] = [
  ["wrapper", () => [CLI, "exec"], "exact"],
  ["standalone executable (entry prelude)", () => [standaloneExecutable(), "exec"], "exact"],
  ["Deno launcher (README permissions)", () => DENO_LAUNCHER, "runtime-limit"],
  ["Deno wrapper (scripts/seccompiler-deno)", () => [DENO_WRAPPER, "exec"], "exact"],
];

const softNofile = (report: Report) => report.limits.find((l: string) => l.startsWith("Max open files")).split(" ")[3];
const hardNofile = (report: Report) => report.limits.find((l: string) => l.startsWith("Max open files")).split(" ")[4];

describe("exec hands the program over as a direct start would", () => {
  const direct = probe([]);

  test("control: the direct start sees the caller's state", () => {
    assert.equal(direct.status.SigIgn, "0000000000000001");
    assert.equal(direct.status.SigBlk, "0000000000000200");
    assert.equal(direct.status.Umask, "0027");
    assert.equal(softNofile(direct), "1024");
    assert.deepEqual(Object.keys(direct.fds), ["0", "1", "2", "3", "4", "5"]);
    assert.equal(direct.environ, `${env.join("00")}00`);
  });

  for (const [name, launcher, limit] of launchers) {
    test(`${name}: argv, environment, signals, mask, umask, cwd, limits and --preserve-fds descriptors`, { timeout: 300_000 }, () => {
      const got = probe(launcher());
      assert.equal(got.status.Seccomp, "2", "the probe ran under the filter");
      assert.equal(got.status.NoNewPrivs, "1");
      assert.equal(got.argv, direct.argv, "argv bytes");
      assert.equal(got.environ, direct.environ, "environment bytes, order, duplicates");
      assert.equal(got.cwd, direct.cwd);
      assert.equal(got.status.Umask, direct.status.Umask);
      assert.equal(got.status.SigBlk, direct.status.SigBlk, "signal mask");
      assert.equal(got.status.SigIgn, direct.status.SigIgn, "ignored signals: SIGHUP kept, the runtime's SIGPIPE/SIGXFSZ reset");
      // --preserve-fds 2: fds 3 and 4 pass, 5 is closed like every other descriptor above 2.
      assert.deepEqual(Object.keys(got.fds), ["0", "1", "2", "3", "4"]);
      assert.equal(got.fds["3"], direct.fds["3"]);
      assert.equal(got.fds["4"], direct.fds["4"]);
      const others = (r: Report) => r.limits.filter((l: string) => !l.startsWith("Max open files"));
      assert.deepEqual(others(got), others(direct), "every other resource limit");
      assert.equal(hardNofile(got), hardNofile(direct));
      if (limit === "exact") {
        assert.equal(softNofile(got), "1024", "soft RLIMIT_NOFILE restored");
      } else {
        // Documented (deno run without the wrapper): the runtime raised it before any of our code ran.
        assert.equal(softNofile(got), hardNofile(direct), "soft RLIMIT_NOFILE left at the hard limit (README)");
      }
    });
  }

  test("wrappers and the standalone executable: a caller that ignores SIGPIPE and SIGXFSZ keeps them ignored", { timeout: 120_000 }, () => {
    const config = { ...caller, default: [], ignore: [1, 13, 25] };
    const want = probe([], config);
    assert.equal(want.status.SigIgn, "0000000001001001");
    assert.equal(probe([CLI, "exec"], config).status.SigIgn, want.status.SigIgn);
    assert.equal(probe([DENO_WRAPPER, "exec"], config).status.SigIgn, want.status.SigIgn, "Deno wrapper");
    assert.equal(probe([standaloneExecutable(), "exec"], config).status.SigIgn, want.status.SigIgn, "standalone (entry prelude)");
  });

  test("LISTEN_FDS with this process's LISTEN_PID keeps the socket-activation descriptors", { timeout: 120_000 }, () => {
    // The starter execs the launcher in place, so the launcher's pid is the starter's: python can name it.
    const script = [
      "import os, sys, json",
      "env = json.loads(sys.argv[1]); pid = os.getpid()",
      "env['env'] += [('LISTEN_PID=%d' % pid).encode().hex(), b'LISTEN_FDS=3'.hex()]",
      "os.execv(sys.executable, [sys.executable, sys.argv[2], json.dumps(env)] + sys.argv[3:])",
    ].join("\n");
    const run = spawnSync(PYTHON, ["-c", script, JSON.stringify(caller), STARTER, CLI, "exec", "--policy", policy, "--", "/bin/sh", PROBE], {
      encoding: "utf8",
      cwd: work,
      timeout: 60_000,
    });
    assert.equal(run.status, 0, run.stderr);
    assert.deepEqual(Object.keys(JSON.parse(run.stdout).fds), ["0", "1", "2", "3", "4", "5", "end"]);
  });

  test("--preserve-fds naming a descriptor that is not open: refused, nothing started", () => {
    const marker = join(work, "preserve-marker");
    const run = spawnSync(CLI, ["exec", "--policy", policy, "--preserve-fds", "9", "--", "sh", "-c", `touch ${marker}`], {
      encoding: "utf8",
      cwd: work,
    });
    assert.equal(run.status, 125);
    assert.match(run.stderr, /descriptor \d+ is to be passed to the program \(--preserve-fds or LISTEN_FDS\) but is not open/);
    assert.equal(spawnSync("test", ["-e", marker]).status, 1, "the target must not have run");
  });

  test("wrapper: an empty environment and one of 60,000 bytes arrive byte for byte; one over the wrapper's limit is refused", { timeout: 120_000 }, () => {
    const envOf = (environment: Record<string, string>) =>
      spawnSync(CLI, ["exec", "--policy", policy, "--", "/usr/bin/env", "-0"], { cwd: work, env: environment, timeout: 60_000 });
    const empty = envOf({});
    assert.equal(empty.status, 0, String(empty.stderr));
    assert.equal(empty.stdout.length, 0);
    // 60,022 bytes: the last 8-byte word holds 6 of them, and its zero padding must be cut off.
    const big = { PATH: "/usr/bin:/bin", BIG: "x".repeat(59_990), Z: "12345" };
    const expected = Object.entries(big).map(([k, v]) => `${k}=${v}\0`).join("");
    const large = envOf(big);
    assert.equal(large.status, 0, String(large.stderr));
    assert.equal(large.stdout.toString("latin1"), expected);
    const marker = join(work, "huge-env-marker");
    const huge = spawnSync(CLI, ["exec", "--policy", policy, "--", "/bin/sh", "-c", `touch ${marker}`], {
      cwd: work,
      env: { PATH: "/usr/bin:/bin", HUGE: "y".repeat(62_000) },
      encoding: "utf8",
    });
    assert.equal(huge.status, 125);
    assert.match(huge.stderr, /the environment is over 61000 bytes/);
    assert.equal(spawnSync("test", ["-e", marker]).status, 1, "the target must not have run");
  });

  test("parseWrapperHandover: the od words in the host's byte order; anything else is refused, never guessed", () => {
    const little = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
    const word = (bytes: number[]) => Buffer.from(little ? [...bytes].reverse() : bytes).toString("hex");
    const od = (bytes: number[]) => {
      const padded = [...bytes, ...new Array((8 - (bytes.length % 8)) % 8).fill(0)];
      const words = [];
      for (let i = 0; i < padded.length; i += 8) words.push(word(padded.slice(i, i + 8)));
      return `${words.length ? `0000000 ${words.join(" ")}\n` : ""}${String(bytes.length).padStart(7, "0")}`;
    };
    const block = [...Buffer.from("A=1\0NOEQUALS\0=x\0")];
    const parsed = parseWrapperHandover(`2:1024:\t0000000000001001:${od(block)}`)!;
    assert.deepEqual(parsed.environ.map((e) => Buffer.from(e).toString()), ["A=1", "NOEQUALS", "=x"]);
    assert.equal(parsed.nofileSoft, 1024n);
    assert.equal(parsed.ignored, 0x1001n);
    assert.deepEqual(parseWrapperHandover(`2:unlimited:0000000000000000:${od([])}`)!.environ, []);
    assert.equal(parseWrapperHandover(undefined), undefined);
    const good = od(block);
    for (
      const bad of [
        `1:1024:0000000000000000:${good}`, // the old layout
        `2:1024:0000000000000000:${good.replace(/\n.*$/, "\n0000099")}`, // a length the words do not hold
        `2:1024:0000000000000000:${good.replace(/\n.*$/, "\n0000014")}`, // a non-zero byte past the length
        `2:1024:0000000000000000:${good.replace("0000000 ", "0000008 ")}`, // a wrong offset
        `2:1024:0000000000000000:${good.replace(/ ([0-9a-f]{16})/, " $1 ")}`, // an empty word
        `2:1024:0000000000000000:${good.replace(/[0-9a-f]$/, "")}`, // the length line cut short
        `2:1024:0000000000000000:${good.replace(/ [0-9a-f]{16}\n/, "\n")}`, // a word missing
        `2:1024:000000000000000:${good}`, // SigIgn too short
        `2:-1:0000000000000000:${good}`,
      ]
    ) {
      assert.throws(() => parseWrapperHandover(bad), /SECCOMPILER_HANDOVER is malformed/, bad);
    }
  });
});
