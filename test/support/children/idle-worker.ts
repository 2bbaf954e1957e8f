/**
 * A worker that only answers a ping, so that its thread exists while the
 * parent inspects /proc/self/task.
 *
 * @module
 */
const scope = globalThis as unknown as { onmessage: (() => void) | null; postMessage(message: unknown): void };
scope.onmessage = () => scope.postMessage("pong");
