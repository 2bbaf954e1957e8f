/**
 * The launcher-only `execve` guard.
 *
 * VMM policies deny `execve`, yet the launcher must `execve` its target after
 * installing the target's filter. The guard, put in front of the policy's
 * program, allows exactly one `execve`: the one whose pathname pointer
 * (`args[0]`) equals the address of the launcher's own path buffer. Every
 * other system call, including any other `execve`, falls through into the
 * policy's program unchanged and gets the policy's verdict.
 *
 * Caveat: the address belongs to the launcher's address space, which `execve`
 * replaces. A target that passes a pathname at the same numeric address (by
 * chance, or by mapping memory there with `MAP_FIXED`) is allowed too. The
 * guard stops ordinary re-exec; it is not a hard boundary.
 *
 * @module
 */
import { actionValue } from "../action.ts";
import type { ArchInfo } from "../arch/arch.ts";
import { JEQ_K, LD_ABS, type Program, RET_K, SECCOMP_DATA, stmt, jump } from "../bpf/insn.ts";

/** Number of instructions {@link withExecGuard} adds. */
export const GUARD_LENGTH = 9;

/**
 * `program` with the guard in front: on `arch`, an `execve` whose `args[0]`
 * is exactly `pathAddress` returns ALLOW; everything else runs `program`.
 * The guard's own checks use only `ld [4]`, `ld [0]` and `jeq #k` before the
 * `execve` test, so every other syscall keeps its action-cache behaviour.
 *
 * ```text
 * 0 ld [4]                 ; arch
 * 1 jeq #token, 0, 7       ; foreign arch → policy
 * 2 ld [0]                 ; nr
 * 3 jeq #execve, 0, 5      ; not execve → policy
 * 4 ld [args[0].lo]
 * 5 jeq #lo32(addr), 0, 3  ; → policy
 * 6 ld [args[0].hi]
 * 7 jeq #hi32(addr), 0, 1  ; → policy
 * 8 ret ALLOW
 * 9 …the policy's program, unchanged
 * ```
 *
 * @example
 * ```ts
 * import { getArch } from "../arch/arch.ts";
 * import type { Program } from "../bpf/insn.ts";
 * import { openLibc } from "../install/mod.ts";
 * declare const program: Program;
 * const libc = await openLibc();
 * const pathBuffer = new TextEncoder().encode("/usr/bin/true\0");
 * const guarded = withExecGuard(program, getArch("x86_64"), libc.address(pathBuffer));
 * ```
 */
export function withExecGuard(program: Program, arch: ArchInfo, pathAddress: bigint): Program {
  const execve = arch.syscalls.get("execve");
  if (execve === undefined) throw new Error(`no execve on ${arch.name}`);
  // Which half of the u64 sits at the lower offset depends on the target's byte order.
  const lowOffset = SECCOMP_DATA.ARGS + (arch.endian === "little" ? 0 : 4);
  const highOffset = SECCOMP_DATA.ARGS + (arch.endian === "little" ? 4 : 0);
  const low = Number(pathAddress & 0xffffffffn);
  const high = Number((pathAddress >> 32n) & 0xffffffffn);
  const guard = [
    stmt(LD_ABS, SECCOMP_DATA.ARCH),
    jump(JEQ_K, arch.auditArch, 0, 7),
    stmt(LD_ABS, SECCOMP_DATA.NR),
    jump(JEQ_K, execve, 0, 5),
    stmt(LD_ABS, lowOffset),
    jump(JEQ_K, low, 0, 3),
    stmt(LD_ABS, highOffset),
    jump(JEQ_K, high, 0, 1),
    stmt(RET_K, actionValue({ kind: "allow" })),
  ];
  return [...guard, ...program];
}
