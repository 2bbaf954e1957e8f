/**
 * How eagerly Bun's JIT compiles the command line's own code. A command runs
 * once and exits, so JIT compilation only pays for itself when the work is
 * large: the CLI starts with the JIT off in practice and turns it on (scale
 * {@link WORK_JIT_SCALE}) where a command knows its work is heavy. Library
 * users' processes are never touched: only the CLI's commands call this.
 *
 * Why off at start (docs/bench.md, "JIT policy"): with any scale that lets the
 * JIT run, compiling Firecracker's x86_64 policy starts two `JITWorker`
 * threads and the allocator's scavenger; they compete with the one thread
 * doing the work on a 2-CPU machine, and `exit_group` waits for them. With the
 * JIT held off, that whole-process `compile` took about 3–5 ms less (a tenth),
 * `exec --filter-file` about 1 ms less. The crossover is near 4× that policy
 * (65 kB, 404 rules): at 16× (241 kB) the JIT saved 12 %, at 48× (711 kB,
 * 3,968 rules) 40 %, and `lint`, whose analyses are heavier, gained even on
 * the 51 kB policy.
 *
 * @module
 */

/**
 * The scale at start-up: how many times the usual call counts a function must
 * reach before the JIT compiles it. A million keeps a short command in the
 * interpreter (no JIT thread is started).
 */
export const STARTUP_JIT_SCALE = 1_000_000;

/**
 * The scale for heavy work: still 50 times the usual counts, so that only
 * code that runs long (the search planner's loops on a large policy) is
 * compiled, not every function that ran once.
 */
export const WORK_JIT_SCALE = 50;

/**
 * A policy at least this long (characters of its JSON text, which for the
 * ASCII policies measured are its bytes) is compiled with the JIT on: about
 * the measured crossover.
 */
export const JIT_INPUT_BYTES = 64 * 1024;

/**
 * Sets Bun's JIT scale (`Bun.unsafe.setJITPolicy`); nothing on Deno or a Bun
 * without it (before 1.4.5). Functions created before the call keep counting
 * toward their tier-up with the new thresholds, so lowering the scale
 * mid-command takes effect for the work that follows.
 *
 * @example
 * ```ts
 * setJitScale(WORK_JIT_SCALE);
 * ```
 */
export function setJitScale(scale: number): void {
  (globalThis as { Bun?: { unsafe?: { setJITPolicy?: (scale: number) => void } } }).Bun?.unsafe?.setJITPolicy?.(scale);
}

/**
 * The scale a command should run its work at, for a policy text of `length` characters:
 * {@link WORK_JIT_SCALE} from {@link JIT_INPUT_BYTES} on, otherwise the
 * start-up scale (no JIT).
 *
 * @example
 * ```ts
 * jitScaleForInput(51_036); // 1_000_000: Firecracker's policy compiles fastest interpreted
 * jitScaleForInput(241_107); // 50
 * ```
 */
export function jitScaleForInput(length: number): number {
  return length >= JIT_INPUT_BYTES ? WORK_JIT_SCALE : STARTUP_JIT_SCALE;
}
