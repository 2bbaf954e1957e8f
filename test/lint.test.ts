import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { lintPolicy } from "../src/lint/mod.ts";
import { implies, neverHolds } from "../src/lint/conditions.ts";
import type { ArchName } from "../src/arch/arch.ts";
import type { Condition } from "../src/ir.ts";
import { CLI, REPO_ROOT } from "./support/paths.ts";

/** A filter's JSON text with `rules` (one rule per line, starting on line 5). */
function policy(rules: string[], actions = `"default_action": "kill_process", "filter_action": "allow"`, name = "main"): string {
  return `{
  "${name}": {
    ${actions},
    "filter": [
${rules.map((rule) => `      ${rule}`).join(",\n")}
    ]
  }
}
`;
}

const EXITS = [`{"syscall": "exit"}`, `{"syscall": "exit_group"}`, `{"syscall": "rt_sigreturn"}`];
const cond = (index: number, op: string, val: number | string, type = "dword") =>
  `{"index": ${index}, "type": "${type}", "op": ${op.startsWith("{") ? op : `"${op}"`}, "val": ${val}}`;
const rule = (syscall: string, ...conditions: string[]) =>
  conditions.length === 0 ? `{"syscall": "${syscall}"}` : `{"syscall": "${syscall}", "args": [${conditions.join(", ")}]}`;

/** Policy text → the findings expected, as "code@line:col" in position order. */
const TABLE: { name: string; text: string; arch?: ArchName; firecracker?: boolean; expect: string[] }[] = [
  { name: "a clean allowlist", text: policy([...EXITS, rule("read")]), expect: [] },
  {
    name: "open does not exist on aarch64: openat is suggested",
    text: policy([...EXITS, rule("open")]),
    arch: "aarch64",
    expect: ["unknown-syscall@8:19"],
  },
  {
    name: "a made-up syscall",
    text: policy([...EXITS, rule("opne")]),
    expect: ["unknown-syscall@8:19"],
  },
  {
    name: "contradicting conditions never match",
    text: policy([...EXITS, rule("ioctl", cond(1, "eq", 1), cond(1, "eq", 2))]),
    expect: ["never-matches@8:19"],
  },
  {
    name: "an empty range never matches",
    text: policy([...EXITS, rule("ioctl", cond(1, "gt", 10), cond(1, "lt", 11))]),
    expect: ["never-matches@8:19"],
  },
  {
    name: "masked_eq that disagrees with eq never matches",
    text: policy([...EXITS, rule("mmap", cond(2, `{"masked_eq": 4}`, 4), cond(2, "eq", 3))]),
    expect: ["never-matches@8:19"],
  },
  {
    name: "a condition that holds for any value makes the rule match always",
    text: policy([...EXITS, rule("fcntl", cond(1, "ge", 0))]),
    expect: ["always-matches@8:19"],
  },
  {
    name: "le the qword maximum and a zero mask also always hold",
    text: policy([...EXITS, rule("fcntl", cond(1, "le", "18446744073709551615", "qword"), cond(2, `{"masked_eq": 0}`, 0))]),
    expect: ["always-matches@8:19"],
  },
  {
    name: "one always-true condition next to a real one",
    text: policy([...EXITS, rule("mmap", cond(2, "eq", 3), cond(3, "le", 4294967295))]),
    expect: ["always-true-condition@8:89"],
  },
  {
    name: "a conditional rule next to an unconditional one (compile refuses this)",
    text: policy([...EXITS, rule("ioctl"), rule("ioctl", cond(1, "eq", 21505))]),
    expect: ["conflicting-rules@8:19", "redundant-rule@9:19"],
  },
  {
    name: "a narrower rule after a broader one",
    text: policy([...EXITS, rule("ioctl", cond(1, "lt", 100)), rule("ioctl", cond(1, "eq", 7), cond(0, "eq", 1))]),
    expect: ["redundant-rule@9:19"],
  },
  {
    name: "a narrower rule before a broader one",
    text: policy([...EXITS, rule("ioctl", cond(1, "eq", 7)), rule("ioctl", cond(1, "le", 7))]),
    expect: ["redundant-rule@8:19"],
  },
  {
    name: "rules that overlap without one covering the other are fine",
    text: policy([...EXITS, rule("ioctl", cond(1, "lt", 100)), rule("ioctl", cond(1, "gt", 50))]),
    expect: [],
  },
  {
    name: "a repeated conditional rule, conditions in another order",
    text: policy([...EXITS, rule("ioctl", cond(0, "eq", 1), cond(1, "eq", 2)), rule("ioctl", cond(1, "eq", 2), cond(0, "eq", 1))]),
    expect: ["duplicate-rule@9:19"],
  },
  {
    name: "a repeated unconditional rule (the front end's warning)",
    text: policy([...EXITS, rule("read"), rule("read")]),
    expect: ["duplicate-unconditional@9:19"],
  },
  {
    name: "an allowlist without exit_group and rt_sigreturn",
    text: policy([rule("exit"), rule("read")]),
    expect: ["missing-exit-syscall@2:3"],
  },
  {
    name: "a denylist needs no exit syscalls and may name dangerous ones",
    text: policy([rule("ptrace"), rule("bpf")], `"default_action": "allow", "filter_action": {"errno": 1}`),
    expect: [],
  },
  {
    name: "dangerous allows",
    text: policy([...EXITS, rule("execve"), rule("ptrace"), rule("process_vm_writev"), rule("bpf", cond(0, "eq", 0))]),
    expect: ["dangerous-syscall@8:19", "dangerous-syscall@9:19", "dangerous-syscall@10:19", "dangerous-syscall@11:19"],
  },
  {
    name: "thread names that differ only in case",
    text: `{\n  "vmm": {"default_action": "allow", "filter_action": "log", "filter": []},\n  "VMM": {"default_action": "allow", "filter_action": "log", "filter": []}\n}\n`,
    expect: ["thread-name-case@3:3"],
  },
  {
    name: "--firecracker: api and vcpu missing, and a thread Firecracker does not know",
    text: `{\n  "vmm": {"default_action": "allow", "filter_action": "log", "filter": []},\n  "io": {"default_action": "allow", "filter_action": "log", "filter": []}\n}\n`,
    firecracker: true,
    expect: ["missing-thread-category@1:1", "missing-thread-category@1:1", "unknown-thread-category@3:3"],
  },
  {
    name: "a syntax error is the only finding",
    text: `{"main": {"filter": [}`,
    expect: ["json-syntax@1:22"],
  },
];

describe("lint: policies → findings", () => {
  for (const row of TABLE) {
    test(row.name, () => {
      const findings = lintPolicy(row.text, { arch: row.arch ?? "x86_64", file: "p.json", firecracker: row.firecracker });
      const got = findings.map((f) => `${f.code}@${f.position?.line}:${f.position?.column}`);
      assert.deepEqual(got, row.expect, JSON.stringify(findings, null, 2));
      for (const f of findings) assert.equal(f.position?.file, "p.json");
    });
  }

  test("the replacement is named in the message", () => {
    const [finding] = lintPolicy(policy([...EXITS, rule("open")]), { arch: "aarch64" });
    assert.match(finding.message, /"open" for aarch64, which has "openat" instead/);
    const [riscv] = lintPolicy(policy([...EXITS, rule("stat")]), { arch: "riscv64" });
    assert.match(riscv.message, /which has "newfstatat" instead/);
  });

  test("severities: unknown syscalls and collisions are errors, the rest warnings", () => {
    const findings = lintPolicy(policy([rule("open"), rule("ptrace")]), { arch: "aarch64" });
    assert.deepEqual(findings.map((f) => [f.code, f.severity]), [
      ["missing-exit-syscall", "warning"],
      ["unknown-syscall", "error"],
      ["dangerous-syscall", "warning"],
    ]);
  });
});

describe("lint: condition reasoning is sound", () => {
  const c = (index: number, op: Condition["op"], value: bigint, extra: Partial<Condition> = {}): Condition =>
    ({ index, width: "dword", op, value, ...extra }) as Condition;

  test("never is claimed only when no value satisfies the conditions (checked by brute force on 4-bit values)", () => {
    // Conditions over values 0..15 in a dword: brute force the real answer for every pair.
    const ops: Condition["op"][] = ["eq", "ne", "lt", "le", "gt", "ge"];
    const all: Condition[] = [];
    for (const op of ops) for (let v = 0n; v < 6n; v++) all.push(c(0, op, v));
    for (let m = 0n; m < 4n; m++) for (let v = 0n; v < 4n; v++) all.push(c(0, "masked_eq", v, { mask: m }));
    const holds = (k: Condition, x: bigint) => {
      switch (k.op) {
        case "eq": return x === k.value;
        case "ne": return x !== k.value;
        case "lt": return x < k.value;
        case "le": return x <= k.value;
        case "gt": return x > k.value;
        case "ge": return x >= k.value;
        default: return (x & k.mask!) === (k.value & k.mask!);
      }
    };
    // Values up to 2^32 - 1 matter for lt/gt; 0..7 and the maximum cover these small constants.
    const values = [0n, 1n, 2n, 3n, 4n, 5n, 6n, 7n, 0xffffffffn];
    for (const a of all) {
      for (const b of all) {
        const satisfiable = values.some((x) => holds(a, x) && holds(b, x));
        if (neverHolds([a, b])) assert.ok(!satisfiable, `${JSON.stringify([a, b], (_, v) => typeof v === "bigint" ? `${v}` : v)}`);
        if (!satisfiable && a.op !== "masked_eq" && b.op !== "masked_eq") assert.ok(neverHolds([a, b]), "interval conflicts are all found");
        if (implies([a], b)) {
          assert.ok(values.every((x) => !holds(a, x) || holds(b, x)), "implies only when true");
        }
      }
    }
  });

  test("different arguments never conflict; a dword and a qword on one argument conflict on the low half", () => {
    assert.equal(neverHolds([c(0, "eq", 1n), c(1, "eq", 2n)]), false);
    assert.equal(neverHolds([c(0, "eq", 1n), { index: 0, width: "qword", op: "eq", value: 0x100000002n }]), true);
    assert.equal(neverHolds([c(0, "eq", 2n), { index: 0, width: "qword", op: "eq", value: 0x100000002n }]), false);
  });
});

describe("seccompiler lint (command line)", () => {
  const work = mkdtempSync(join(tmpdir(), "seccompiler-lint-"));
  process.on("exit", () => rmSync(work, { recursive: true, force: true }));
  const run = (args: string[]) => {
    const r = spawnSync(CLI, ["lint", ...args], { encoding: "utf8", cwd: REPO_ROOT });
    return { code: r.status, stdout: r.stdout, stderr: r.stderr };
  };
  const write = (name: string, text: string) => {
    const file = join(work, name);
    writeFileSync(file, text);
    return file;
  };

  test("warnings exit 0, or 1 with --deny-warnings; findings are file:line:col with the code", () => {
    const file = write("warn.json", policy([rule("exit"), rule("read")]));
    const r = run([file, "--target-arch", "x86_64"]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, new RegExp(`^${file.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}:2:3: warning: .* \\[missing-exit-syscall\\]$`, "m"));
    assert.match(r.stderr, /0 errors, 1 warning \(x86_64\)/);
    assert.equal(run([file, "--target-arch", "x86_64", "--deny-warnings"]).code, 1);
  });

  test("errors exit 1; --format json lists findings with positions", () => {
    const file = write("error.json", policy([...EXITS, rule("open")]));
    const r = run([file, "-t", "arm64", "--format", "json"]);
    assert.equal(r.code, 1);
    const report = JSON.parse(r.stdout);
    assert.equal(report.ok, false);
    assert.equal(report.arch, "aarch64");
    assert.equal(report.errors, 1);
    assert.deepEqual(
      report.findings.map((f: { code: string; line: number; column: number; file: string }) => [f.code, f.line, f.column, f.file]),
      [["unknown-syscall", 8, 19, file]],
    );
  });

  test("a clean policy exits 0 and prints nothing on stdout", () => {
    const file = write("clean.json", policy([...EXITS, rule("read")]));
    const r = run([file, "--target-arch", "x86_64", "--deny-warnings"]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, "");
    assert.match(r.stderr, /no findings/);
  });

  test("usage errors exit 2; a missing file exits 1 without a stack trace", () => {
    assert.equal(run([]).code, 2);
    assert.equal(run(["a.json", "b.json"]).code, 2);
    assert.equal(run(["a.json", "--target-arch", "vax"]).code, 2);
    assert.equal(run(["a.json", "--format", "xml"]).code, 2);
    const missing = run([join(work, "nope.json"), "--target-arch", "x86_64"]);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /cannot read policy .*nope\.json: no such file or directory \(ENOENT\)/);
    assert.doesNotMatch(missing.stderr, /at .*\.ts:\d+/);
    assert.match(run(["--help"]).stdout, /Usage: seccompiler lint/);
  });
});
