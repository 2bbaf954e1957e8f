/**
 * An exec target for test/exec.test.ts: started by `seccompiler exec`, it
 * starts a worker thread, then prints the seccomp status of every thread it
 * has (the main thread and the threads it created) as JSON. It uses no FFI:
 * everything it reports comes from /proc.
 *
 * @module
 */
import { report, seccompStatus, threadStatuses } from "./common.ts";

const worker = new Worker(new URL("./idle-worker.ts", import.meta.url).href, { type: "module" });
await new Promise<void>((resolve) => {
  worker.onmessage = () => resolve();
  worker.postMessage("ping");
});
report({ main: seccompStatus(), threads: threadStatuses() });
(globalThis as { process?: { exit(code: number): never } }).process!.exit(0);
