/**
 * A worker thread for the installer tests. On a message it reports its
 * thread id and seccomp status; with `{ install: true }` it first installs its
 * own filter (getppid → EPERM), which makes it a thread TSYNC cannot
 * synchronise.
 *
 * @module
 */
import { applyFilter, openLibc } from "../../../src/install/mod.ts";
import { compileFilter } from "../../../src/compile.ts";
import { ALLOW, errno, seccompFilter } from "../../../src/ir.ts";
import { hostArch } from "../../../src/arch/arch.ts";
import { rawSyscall, seccompStatus } from "./common.ts";

const scope = globalThis as unknown as {
  onmessage: ((event: MessageEvent) => void) | null;
  postMessage(message: unknown): void;
};

scope.onmessage = async (event: MessageEvent) => {
  const libc = await openLibc();
  if ((event.data as { install?: boolean }).install) {
    const filter = seccompFilter({ arch: hostArch()!, mismatchAction: ALLOW, matchAction: errno(1), rules: { getppid: [] } });
    await applyFilter(compileFilter(filter));
  }
  scope.postMessage({ tid: rawSyscall(libc, "gettid"), status: seccompStatus(), getppid: rawSyscall(libc, "getppid") });
};
