// deno-facing
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ARCH_NAMES, getArch, suggestSyscall, syscallNumber } from "../src/arch/arch.ts";
import { REPO_ROOT } from "./support/paths.ts";

describe("syscall tables", () => {
  test("known numbers", () => {
    assert.equal(getArch("x86_64").syscalls.get("close"), 3);
    assert.equal(getArch("aarch64").syscalls.get("close"), 57);
    assert.equal(getArch("x86_64").syscalls.get("seccomp"), 317);
    assert.equal(getArch("aarch64").syscalls.get("seccomp"), 277);
    assert.equal(getArch("riscv64").syscalls.get("seccomp"), 277);
    assert.equal(getArch("loongarch64").syscalls.get("execve"), 221);
    assert.equal(getArch("ppc64le").syscalls.get("seccomp"), 358);
    assert.equal(getArch("s390x").syscalls.get("seccomp"), 348);
    assert.equal(getArch("s390x").syscalls.get("exit_group"), 248);
  });
  test("syscallNumber answers from the table's text before the maps exist, the same as the maps after", () => {
    // In a fresh process, so that no earlier test has split a table yet.
    const dir = mkdtempSync(join(tmpdir(), "seccompiler-arch-"));
    try {
      const script = join(dir, "lazy.ts");
      writeFileSync(script, [
        `import { ARCH_NAMES, getArch, syscallNumber } from ${JSON.stringify(join(REPO_ROOT, "src", "arch", "arch.ts"))};`,
        `import { SYSCALL_TABLES } from ${JSON.stringify(join(REPO_ROOT, "src", "arch", "syscalls.generated.ts"))};`,
        `const odd = ["", "nosuch", "read 0", "write,", ",read", "read,write"];`,
        `const out = {};`,
        `for (const arch of ARCH_NAMES) {`,
        `  const names = [...SYSCALL_TABLES[arch].split(",").map((e) => e.slice(0, e.indexOf(" "))), ...odd];`,
        `  const info = getArch(arch);`,
        `  const before = names.map((n) => syscallNumber(info, n));`,
        `  const maps = names.map((n) => info.syscalls.get(n));`,
        `  const after = names.map((n) => syscallNumber(info, n));`,
        `  out[arch] = { names: names.length, before: JSON.stringify(before) === JSON.stringify(maps), after: JSON.stringify(after) === JSON.stringify(maps), unknown: before.slice(-odd.length) };`,
        `}`,
        `console.log(JSON.stringify(out));`,
      ].join("\n"));
      const command = "Deno" in globalThis ? [process.execPath, "run", "-A", script] : [process.execPath, script];
      const run = spawnSync(command[0], command.slice(1), { encoding: "utf8" });
      assert.equal(run.status, 0, run.stderr);
      const result = JSON.parse(run.stdout);
      for (const arch of ARCH_NAMES) {
        assert.ok(result[arch].names > 300, arch);
        assert.deepEqual(result[arch], { ...result[arch], before: true, after: true, unknown: [null, null, null, null, null, null] }, arch);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    assert.equal(syscallNumber(getArch("aarch64"), "execve"), 221);
  });
  test("asm-generic arches lack legacy calls", () => {
    for (const arch of ["aarch64", "riscv64", "loongarch64"] as const) {
      assert.equal(getArch(arch).syscalls.has("open"), false, arch);
      assert.equal(getArch(arch).syscalls.has("openat"), true, arch);
    }
  });
  test("audit tokens and byte order", () => {
    assert.equal(getArch("x86_64").auditArch, 0xc000003e);
    assert.equal(getArch("aarch64").auditArch, 0xc00000b7);
    assert.equal(getArch("riscv64").auditArch, 0xc00000f3);
    assert.equal(getArch("loongarch64").auditArch, 0xc0000102);
    assert.equal(getArch("ppc64le").auditArch, 0xc0000015);
    assert.equal(getArch("s390x").auditArch, 0x80000016);
    for (const name of ARCH_NAMES) assert.equal(getArch(name).endian, name === "s390x" ? "big" : "little");
    assert.equal(getArch("x86_64").hasX32, true);
    assert.equal(getArch("aarch64").hasX32, false);
  });
  test("did-you-mean", () => {
    assert.equal(suggestSyscall(getArch("x86_64"), "opne"), "open");
    assert.equal(suggestSyscall(getArch("aarch64"), "opneat"), "openat");
    assert.equal(suggestSyscall(getArch("x86_64"), "zzzzzzzzzzzzzz"), undefined);
  });
});
