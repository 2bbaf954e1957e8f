/**
 * Child process of the kernel-agreement tests (Bun only, x86_64 Linux).
 *
 * Reads one JSON request on stdin:
 *   { "program": "<base64 of the little-endian sock_filter array>",
 *     "calls": [{ "nr": 39, "args": ["0", "18446744073709551615", ...] }, ...] }
 * installs the program on this thread (no_new_privs, then seccomp(2) without
 * flags) with its own minimal bun:ffi bindings — deliberately not through
 * src/install, so the test does not trust the code it could be checking —
 * then makes every call through libc `syscall()` and prints one JSON line:
 *   { "installed": true, "results": [{ "ret": "-1", "errno": 4001 }, ...] }
 *
 * Before the first call it prints `{"installed":true}` on its own line, so a
 * parent that expects the child to be killed can tell "killed by the filter"
 * from "failed before installing".
 *
 * Every value is prepared before the filter goes in; after it, the child only
 * makes the calls, reads errno and writes its report synchronously.
 */
import { dlopen, ptr, read } from "bun:ffi";
import { readFileSync, writeSync } from "node:fs";

const SYS_SECCOMP = 317;
const PR_SET_NO_NEW_PRIVS = 38;
const SECCOMP_SET_MODE_FILTER = 1;

const libc = dlopen("libc.so.6", {
  prctl: { args: ["i32", "u64", "u64", "u64", "u64"], returns: "i32" },
  syscall: { args: ["i64", "u64", "u64", "u64", "u64", "u64", "u64"], returns: "i64" },
  __errno_location: { args: [], returns: "ptr" },
});
const errnoLocation = libc.symbols.__errno_location()!;

const request = JSON.parse(readFileSync(0, "utf8")) as { program: string; calls: { nr: number; args: string[] }[] };
const filter = Uint8Array.from(atob(request.program), (c) => c.charCodeAt(0));
const fprog = new Uint8Array(16);
const view = new DataView(fprog.buffer);
view.setUint16(0, filter.length / 8, true);
view.setBigUint64(8, BigInt(ptr(filter)), true);

const count = request.calls.length;
const nrs = new Float64Array(count);
const args = new BigUint64Array(count * 6);
request.calls.forEach((call, i) => {
  nrs[i] = call.nr;
  for (let a = 0; a < 6; a++) args[i * 6 + a] = BigInt(call.args[a] ?? "0");
});
const rets = new BigInt64Array(count);
const errnos = new Int32Array(count);

function fail(message: string, code: number): never {
  writeSync(2, `${message}\n`);
  process.exit(code);
}

if (libc.symbols.prctl(PR_SET_NO_NEW_PRIVS, 1n, 0n, 0n, 0n) !== 0) fail(`prctl(NO_NEW_PRIVS) errno ${read.i32(errnoLocation, 0)}`, 3);
const installed = BigInt(libc.symbols.syscall(SYS_SECCOMP, BigInt(SECCOMP_SET_MODE_FILTER), 0n, BigInt(ptr(fprog)), 0n, 0n, 0n));
if (installed !== 0n) fail(`seccomp(SET_MODE_FILTER) errno ${read.i32(errnoLocation, 0)}`, 4);
writeSync(1, `{"installed":true}\n`);

for (let i = 0; i < count; i++) {
  const base = i * 6;
  const ret = BigInt(libc.symbols.syscall(nrs[i], args[base], args[base + 1], args[base + 2], args[base + 3], args[base + 4], args[base + 5]));
  errnos[i] = ret === -1n ? read.i32(errnoLocation, 0) : 0;
  rets[i] = ret;
}

const results = Array.from({ length: count }, (_, i) => ({ ret: rets[i].toString(), errno: errnos[i] }));
writeSync(1, `${JSON.stringify({ installed: true, results })}\n`);
