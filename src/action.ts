/**
 * Seccomp actions: what a filter returns for a system call.
 *
 * @module
 */

import type { ActionKind, PayloadActionKind, PayloadlessActionKind } from "./vocabulary.ts";
export { type ActionKind, MAX_ERRNO, MAX_TRACE_DATA } from "./vocabulary.ts";

/** An action; `errno` and `trace` carry a 16-bit payload (errno ≤ 4095). */
export type Action =
  | { readonly kind: PayloadlessActionKind }
  | { readonly kind: PayloadActionKind; readonly data: number };

/** `SECCOMP_RET_*` action bits from `include/uapi/linux/seccomp.h`. */
export const SECCOMP_RET = {
  KILL_PROCESS: 0x80000000,
  KILL_THREAD: 0x00000000,
  TRAP: 0x00030000,
  ERRNO: 0x00050000,
  USER_NOTIF: 0x7fc00000,
  TRACE: 0x7ff00000,
  LOG: 0x7ffc0000,
  ALLOW: 0x7fff0000,
} as const;

/** Mask of the action part of a return value (`SECCOMP_RET_ACTION_FULL`). */
export const SECCOMP_RET_ACTION_FULL = 0xffff0000;
/** Mask of the data part of a return value (`SECCOMP_RET_DATA`). */
export const SECCOMP_RET_DATA = 0x0000ffff;

const KIND_BITS: Record<ActionKind, number> = {
  allow: SECCOMP_RET.ALLOW,
  kill_thread: SECCOMP_RET.KILL_THREAD,
  kill_process: SECCOMP_RET.KILL_PROCESS,
  log: SECCOMP_RET.LOG,
  trap: SECCOMP_RET.TRAP,
  user_notif: SECCOMP_RET.USER_NOTIF,
  errno: SECCOMP_RET.ERRNO,
  trace: SECCOMP_RET.TRACE,
};

/**
 * The 32-bit value a filter returns for `action`.
 *
 * @example
 * ```ts
 * actionValue({ kind: "errno", data: 1 }); // 0x00050001
 * ```
 */
export function actionValue(action: Action): number {
  const bits = KIND_BITS[action.kind];
  const data = "data" in action ? action.data & SECCOMP_RET_DATA : 0;
  return (bits | data) >>> 0;
}

/**
 * Decodes a filter return value back into an action. Unknown action bits
 * (which the kernel treats as a kill) give `undefined`.
 *
 * @example
 * ```ts
 * actionFromValue(0x7fff0000); // { kind: "allow" }
 * ```
 */
export function actionFromValue(value: number): Action | undefined {
  const bits = (value & SECCOMP_RET_ACTION_FULL) >>> 0;
  const data = value & SECCOMP_RET_DATA;
  for (const [kind, kindBits] of Object.entries(KIND_BITS) as [ActionKind, number][]) {
    if (kindBits !== bits) continue;
    if (kind === "errno" || kind === "trace") return { kind, data };
    return { kind } as Action;
  }
  return undefined;
}

/**
 * Human-readable form used by diagnostics and the disassembler.
 *
 * @example
 * ```ts
 * formatAction({ kind: "errno", data: 1 }); // "errno(1)"
 * ```
 */
export function formatAction(action: Action): string {
  return "data" in action ? `${action.kind}(${action.data})` : action.kind;
}

/**
 * Whether two actions are the same, payload included.
 *
 * @example
 * ```ts
 * sameAction({ kind: "errno", data: 1 }, { kind: "errno", data: 2 }); // false
 * ```
 */
export function sameAction(a: Action, b: Action): boolean {
  return actionValue(a) === actionValue(b);
}
