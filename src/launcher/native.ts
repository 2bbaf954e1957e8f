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
 * Other architectures use the two FFI calls (see the README).
 *
 * @module
 */
import type { ArchInfo } from "../arch/arch.ts";
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
 * const stub = nativeInstallAndExec(await openLibc(), hostArchInfo()); // undefined off x86_64
 * ```
 */
export function nativeInstallAndExec(libc: Libc, arch: ArchInfo): InstallAndExec | undefined {
  if (arch.name !== "x86_64") return undefined;
  const code = x86_64Stub(arch.syscalls.get("seccomp")!, arch.syscalls.get("execve")!);
  const mmap = arch.syscalls.get("mmap")!;
  const address = libc.syscall(mmap, 0n, PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, 0xffff_ffff_ffff_ffffn, 0n);
  if (address === -1n) return undefined;
  libc.copyToAddress(address, code);
  if (libc.syscall(arch.syscalls.get("mprotect")!, address, PAGE, PROT_READ | PROT_EXEC, 0n, 0n, 0n) !== 0n) return undefined;
  return libc.nativeFunction4(address);
}
