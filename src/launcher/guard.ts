/**
 * The launcher-only `execve` guard.
 *
 * VMM policies deny `execve`, yet the launcher must `execve` its target after
 * installing the target's filter. The guard, put in front of the policy's
 * program, allows exactly one `execve`: the one whose three arguments (path,
 * argv and envp pointers, all 64 bits of each) equal the addresses of the
 * launcher's own buffers. Every other system call, including any other
 * `execve`, falls through into the policy's program unchanged and gets the
 * policy's verdict.
 *
 * The addresses belong to the launcher's address space, which `execve`
 * replaces. The launcher puts the three buffers in pages mapped at
 * independently random addresses (see `image.ts`), so a target can only pass
 * the guard by guessing all three at once; a wrong guess gets the policy's
 * answer, the same as any other forbidden `execve`. The odds are in the
 * README's "The execve guard" section.
 *
 * @module
 */
import { actionValue } from "../action.ts";
import { type ArchInfo, syscallNumber } from "../arch/arch.ts";
import { ProgramBuilder } from "../bpf/builder.ts";
import { BPF, JEQ_K, LD_ABS, type Program, SECCOMP_DATA } from "../bpf/insn.ts";
import { argumentHalves } from "../codegen/conditions.ts";

/** The three `execve` pointers the guard lets through. */
export interface GuardAddresses {
  /** `args[0]`: the NUL-terminated path. */
  readonly path: bigint;
  /** `args[1]`: the `argv` pointer table. */
  readonly argv: bigint;
  /** `args[2]`: the `envp` pointer table. */
  readonly envp: bigint;
}

/**
 * Number of instructions {@link withExecGuard} adds: arch (2), nr (2), six
 * halves folded into one difference (3 for the first, 4 for each other, one
 * `tax` saved at the end), the final test and `ret`.
 */
export const GUARD_LENGTH = 2 + 2 + (3 + 5 * 4 - 1) + 1 + 1;

const XOR_K = BPF.ALU | BPF.XOR | BPF.K;
const OR_X = BPF.ALU | BPF.OR | BPF.X;
const TAX = BPF.MISC | BPF.TAX;

const LOW_MASK = 0xffffffffn;

/**
 * `program` with the guard in front: on `arch`, an `execve` whose `args[0]`,
 * `args[1]` and `args[2]` are exactly `addresses` returns ALLOW; everything
 * else runs `program`. Before the `execve` test the guard uses only `ld [4]`,
 * `ld [0]` and `jeq #k`, so every other syscall keeps its action-cache
 * behaviour.
 *
 * The six 32-bit halves are not compared one by one: each is XORed with its
 * expected value and the differences are ORed together, so every `execve`
 * runs the same instructions whatever it passes, and the filter's running
 * time does not tell a guess that got one half right from one that got none.
 *
 * ```text
 * ld [4]; jeq #token            ; foreign arch → policy
 * ld [0]; jeq #execve           ; not execve → policy
 * ld [args[0].lo]; xor #k; tax  ; X = difference
 * ld [args[i].h]; xor #k; or x; tax  ; X |= difference, for the other five halves
 * jeq #0                        ; all six equal → allow, else → policy
 * ret ALLOW
 * policy: …the policy's program, unchanged
 * ```
 *
 * @example
 * ```ts
 * import { getArch } from "../arch/arch.ts";
 * import { RET_K, stmt } from "../bpf/insn.ts";
 * const guarded = withExecGuard([stmt(RET_K, 0x80000000)], getArch("x86_64"), {
 *   path: 0x5a5a_0000_1000n, argv: 0x1234_5678_9000n, envp: 0x0fed_cba9_8000n,
 * });
 * guarded.length; // 1 + GUARD_LENGTH
 * ```
 */
export function withExecGuard(program: Program, arch: ArchInfo, addresses: GuardAddresses): Program {
  const execve = syscallNumber(arch, "execve");
  if (execve === undefined) throw new Error(`no execve on ${arch.name}`);
  const b = new ProgramBuilder();
  const policy = b.label("policy");
  b.stmt(LD_ABS, SECCOMP_DATA.ARCH);
  b.jump(JEQ_K, arch.auditArch, "next", policy);
  b.stmt(LD_ABS, SECCOMP_DATA.NR);
  b.jump(JEQ_K, execve, "next", policy);
  const pointers = [addresses.path, addresses.argv, addresses.envp] as const;
  const halves = pointers.flatMap((pointer, index) => {
    // Which half sits at the lower offset depends on the target's byte order.
    const at = argumentHalves(index as 0 | 1 | 2, arch.endian);
    return [
      { offset: at.lo, value: Number(pointer & LOW_MASK) },
      { offset: at.hi, value: Number((pointer >> 32n) & LOW_MASK) },
    ];
  });
  halves.forEach(({ offset, value }, i) => {
    b.stmt(LD_ABS, offset);
    b.stmt(XOR_K, value);
    if (i > 0) b.stmt(OR_X, 0);
    if (i < halves.length - 1) b.stmt(TAX, 0);
  });
  b.jump(JEQ_K, 0, "next", policy);
  b.ret(actionValue({ kind: "allow" }));
  b.place(policy);
  b.append(program);
  return b.build();
}
