/**
 * `seccomp()` and `execve()` in one native call, so that no runtime code runs
 * between them.
 *
 * With two FFI calls, the runtime runs its own code between the return from
 * `seccomp()` and the call to `execve()`: Deno's FFI path may take a lock
 * (`futex` when another thread holds it) or ask for its thread id (`gettid`),
 * and a strict allowlist kills the launcher for it. Measured on Deno 2.9.6
 * under the 19-call allowlist: 2 of 40 sequential launches died of SIGSYS,
 * with audit records naming `futex` on the main thread. (Bun showed none.)
 *
 * So on x86_64 the launcher maps a page holding 16 machine instructions that
 * make both system calls back to back and return only if one fails:
 *
 * ```text
 * mov r8, rsi; mov r9, rdx; mov r10, rcx   ; keep path, argv, envp
 * mov rdx, rdi                             ; arg 3: the sock_fprog
 * mov eax, SYS_seccomp; mov edi, SECCOMP_SET_MODE_FILTER; xor esi, esi
 * syscall
 * test rax, rax; jne out                   ; not installed: return -errno
 * mov rdi, r8; mov rsi, r9; mov rdx, r10
 * mov eax, SYS_execve
 * syscall                                  ; returns only on failure: -errno
 * sub rax, 4096                            ; so the caller knows the filter is on
 * out: ret
 * ```
 *
 * On aarch64 the same in 16 instructions (AAPCS64: arguments in x0–x3,
 * result in x0; x8 carries the system call number; x9–x11 are scratch):
 *
 * ```text
 * mov x9, x1; mov x10, x2; mov x11, x3     ; keep path, argv, envp
 * mov x2, x0                               ; arg 3: the sock_fprog
 * mov x0, #SECCOMP_SET_MODE_FILTER; mov x1, #0; mov x8, #SYS_seccomp
 * svc #0
 * cbnz x0, out                             ; not installed: return -errno
 * mov x0, x9; mov x1, x10; mov x2, x11
 * mov x8, #SYS_execve
 * svc #0                                   ; returns only on failure: -errno
 * sub x0, x0, #4096                        ; so the caller knows the filter is on
 * out: ret
 * ```
 *
 * Other architectures use the two FFI calls (see the README).
 *
 * @module
 */
import { type ArchInfo, syscallNumber } from "../arch/arch.ts";
import type { Libc } from "../install/mod.ts";

/**
 * Calls the stub: `(fprog, path, argv, envp)`. It does not return on success;
 * it returns −errno (−4095..−1) when `seccomp()` failed (nothing installed),
 * and −errno − 4096 when `execve()` failed (the filter is on).
 */
export type InstallAndExec = (fprog: bigint, path: bigint, argv: bigint, envp: bigint) => bigint;

/** The x86_64 stub, with the system call numbers filled in. @private */
function x86_64Stub(seccomp: number, execve: number): Uint8Array {
  const imm32 = (n: number) => [n & 0xff, (n >> 8) & 0xff, (n >> 16) & 0xff, (n >> 24) & 0xff];
  return new Uint8Array([
    0x49, 0x89, 0xf0, // mov r8, rsi
    0x49, 0x89, 0xd1, // mov r9, rdx
    0x49, 0x89, 0xca, // mov r10, rcx
    0x48, 0x89, 0xfa, // mov rdx, rdi
    0xb8, ...imm32(seccomp), // mov eax, SYS_seccomp
    0xbf, 0x01, 0x00, 0x00, 0x00, // mov edi, SECCOMP_SET_MODE_FILTER
    0x31, 0xf6, // xor esi, esi (flags 0)
    0x0f, 0x05, // syscall
    0x48, 0x85, 0xc0, // test rax, rax
    0x75, 0x16, // jne out (+22)
    0x4c, 0x89, 0xc7, // mov rdi, r8
    0x4c, 0x89, 0xce, // mov rsi, r9
    0x4c, 0x89, 0xd2, // mov rdx, r10
    0xb8, ...imm32(execve), // mov eax, SYS_execve
    0x0f, 0x05, // syscall
    0x48, 0x2d, 0x00, 0x10, 0x00, 0x00, // sub rax, 4096: tells an execve failure from a seccomp one
    0xc3, // out: ret
  ]);
}

/**
 * The aarch64 stub, with the system call numbers filled in, as little-endian
 * instruction words. Exported for the test that runs it under qemu-user.
 *
 * @example
 * ```ts
 * aarch64Stub(277, 221).length; // 64 bytes: 16 instructions
 * ```
 */
export function aarch64Stub(seccomp: number, execve: number): Uint8Array {
  const movz = (register: number, value: number) => {
    if (!Number.isInteger(value) || value < 0 || value > 0xffff) throw new RangeError(`movz immediate ${value}`);
    return 0xd2800000 | (value << 5) | register; // MOVZ Xd, #imm16
  };
  const mov = (to: number, from: number) => 0xaa0003e0 | (from << 16) | to; // ORR Xd, XZR, Xm
  const words = [
    mov(9, 1),
    mov(10, 2),
    mov(11, 3),
    mov(2, 0),
    movz(0, 1), // SECCOMP_SET_MODE_FILTER
    movz(1, 0), // flags 0
    movz(8, seccomp),
    0xd4000001, // svc #0
    0xb5000000 | (7 << 5) | 0, // cbnz x0, out (7 instructions ahead)
    mov(0, 9),
    mov(1, 10),
    mov(2, 11),
    movz(8, execve),
    0xd4000001, // svc #0
    0xd1400400, // sub x0, x0, #1, lsl #12 (4096)
    0xd65f03c0, // out: ret
  ];
  const bytes = new Uint8Array(words.length * 4);
  const view = new DataView(bytes.buffer);
  words.forEach((word, i) => view.setUint32(i * 4, word >>> 0, true));
  return bytes;
}

const PROT_READ = 0x1n;
const PROT_WRITE = 0x2n;
const PROT_EXEC = 0x4n;
const MAP_PRIVATE = 0x02n;
const MAP_ANONYMOUS = 0x20n;
const PAGE = 4096n;

/**
 * Maps the stub (read+execute) and returns it as a callable, or `undefined`
 * on architectures without one. Everything, the FFI trampoline included, is
 * set up here, before anything is installed.
 *
 * @example
 * ```ts
 * import { hostArchInfo, openLibc } from "../install/mod.ts";
 * const stub = nativeInstallAndExec(await openLibc(), hostArchInfo()); // undefined off x86_64 and aarch64
 * ```
 *
 * `numbers` replaces the two system call numbers; only the test that runs the
 * stub under qemu-user (which has no `seccomp()`) uses it, with a call that
 * returns 0 in place of `seccomp()`, so that the `execve` half runs too.
 */
export function nativeInstallAndExec(libc: Libc, arch: ArchInfo, numbers?: { seccomp: number; execve: number }): InstallAndExec | undefined {
  const seccomp = numbers?.seccomp ?? syscallNumber(arch, "seccomp")!;
  const execve = numbers?.execve ?? syscallNumber(arch, "execve")!;
  const code = arch.name === "x86_64"
    ? x86_64Stub(seccomp, execve)
    : arch.name === "aarch64"
    ? aarch64Stub(seccomp, execve)
    : undefined;
  if (code === undefined) return undefined;
  const mmap = syscallNumber(arch, "mmap")!;
  const address = libc.syscall(mmap, 0n, PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, 0xffff_ffff_ffff_ffffn, 0n);
  if (address === -1n) return undefined;
  libc.copyToAddress(address, code);
  if (libc.syscall(syscallNumber(arch, "mprotect")!, address, PAGE, PROT_READ | PROT_EXEC, 0n, 0n, 0n) !== 0n) return undefined;
  return libc.nativeFunction4(address);
}
