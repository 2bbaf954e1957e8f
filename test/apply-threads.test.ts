/**
 * applyFilter filters the calling thread only; the runtime's I/O threads that
 * already exist keep running unfiltered, so an asynchronous read escapes a
 * filter that denies `openat`. applyFilterAllThreads (TSYNC) filters them too.
 * Shown on the real kernel, in child processes, on Bun and on Deno.
 */
import { after, describe, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CHILDREN, RUNTIMES, runChild, childJson } from "./support/children/spawn.ts";

const dir = mkdtempSync(join(tmpdir(), "seccompiler-apply-threads-"));
after(() => rmSync(dir, { recursive: true, force: true }));
const data = join(dir, "data.txt");
writeFileSync(data, "hello\n");
const CHILD = join(CHILDREN, "apply-threads.ts");

describe("applyFilter vs applyFilterAllThreads: which threads are filtered", () => {
  for (const runtime of RUNTIMES) {
    test(`${runtime}: applyFilter denies the main thread's openat, but the runtime's I/O threads still open files`, { timeout: 120_000 }, () => {
      const report = childJson(runChild(runtime, CHILD, ["calling", data]));
      assert.ok(report.threadsBefore > 1, "the runtime had threads of its own");
      assert.equal(report.sync, "EPERM");
      assert.equal(report.promises, "ok", "fs.promises.readFile ran on an unfiltered thread");
      assert.equal(report.native, "ok", runtime === "bun" ? "Bun.file().text()" : "Deno.readTextFile");
    });
    test(`${runtime}: applyFilterAllThreads denies it on every thread`, { timeout: 120_000 }, () => {
      const report = childJson(runChild(runtime, CHILD, ["all", data]));
      assert.deepEqual([report.sync, report.promises, report.native], ["EPERM", "EPERM", "EPERM"]);
    });
  }
});
