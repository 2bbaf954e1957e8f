// deno-facing
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { ARCH_NAMES, getArch, suggestSyscall } from "../src/arch/arch.ts";

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
