/**
 * Runs the aarch64 seccomp+execve stub (src/launcher/native.ts) on what
 * executes it, for test/qemu.test.ts: compiled for arm64 and started under
 * qemu-user, where seccomp() answers ENOSYS.
 *
 * argv[2] names the case:
 * - `seccomp-fails`: the real numbers; prints the stub's return (−ENOSYS).
 * - `execve-fails`: sched_yield (returns 0) in place of seccomp(), then an
 *   execve of a path that does not exist; prints the return (−ENOENT − 4096).
 * - `execve`: sched_yield in place of seccomp(), then execve of
 *   `/bin/sh -c 'echo $0 > MARKER' stub-ran`; does not return when it works.
 */
import { getArch } from "../../../src/arch/arch.ts";
import { openLibc } from "../../../src/install/mod.ts";
import { nativeInstallAndExec } from "../../../src/launcher/native.ts";

const [, , which, marker = "/nonexistent"] = process.argv;
const arch = getArch("aarch64");
const libc = await openLibc();
const numbers = which === "seccomp-fails"
  ? undefined
  : { seccomp: arch.syscalls.get("sched_yield")!, execve: arch.syscalls.get("execve")! };
const stub = nativeInstallAndExec(libc, arch, numbers);
if (stub === undefined) throw new Error("no aarch64 stub");

const cString = (text: string) => new TextEncoder().encode(`${text}\0`);
const strings = which === "execve-fails"
  ? [cString("/nonexistent/program")]
  : [cString("/bin/sh"), cString("-c"), cString(`echo "$0" > ${marker}`), cString("stub-ran")];
const argv = new BigUint64Array(strings.length + 1);
strings.forEach((s, i) => (argv[i] = libc.address(s)));
const envp = new BigUint64Array(1);
const result = stub(0n, libc.address(strings[0]), libc.address(argv), libc.address(envp));
// Reached only when the stub returned: keep the buffers alive until here.
console.log(JSON.stringify({ which, result: String(result), kept: strings.length + argv.length + envp.length > 0 }));
