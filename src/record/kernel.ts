/**
 * The kernel calls of seccomp user notifications, as synchronous functions
 * over {@link Libc}'s `syscall()`: the listener's ioctls, `pidfd_open` /
 * `pidfd_getfd`, `ppoll`, `waitid`, and the structures they read and write.
 *
 * Layouts (include/uapi/linux/seccomp.h), identical on every 64-bit Linux:
 * - `struct seccomp_notif` (80 bytes): u64 id, u32 pid, u32 flags, then
 *   `struct seccomp_data` (int nr, u32 arch, u64 instruction_pointer, u64 args[6]);
 * - `struct seccomp_notif_resp` (24 bytes): u64 id, s64 val, s32 error, u32 flags.
 *
 * @module
 */
import type { ArchInfo } from "../arch/arch.ts";
import type { Libc } from "../install/mod.ts";

/** `seccomp()` operations and flags, `prctl` options and wait/poll constants used by `record`. */
export const NOTIFY = {
  SECCOMP_GET_NOTIF_SIZES: 3,
  SECCOMP_FILTER_FLAG_NEW_LISTENER: 8,
  SECCOMP_USER_NOTIF_FLAG_CONTINUE: 1,
  PR_SET_CHILD_SUBREAPER: 36,
  POLLIN: 0x1,
  POLLHUP: 0x10,
  P_ALL: 0,
  WEXITED: 4,
  WNOHANG: 1,
  CLD_EXITED: 1,
  CLD_KILLED: 2,
  CLD_DUMPED: 3,
} as const;

/** errno values the loop tells apart. */
export const ERRNO = { ENOENT: 2, EINTR: 4, ECHILD: 10, EAGAIN: 11, EBUSY: 16, EINVAL: 22, ENOSYS: 38 } as const;

/** Size of `struct seccomp_notif` this code reads (the kernel may report a larger one). */
const NOTIF_SIZE = 80;
/** Size of `struct seccomp_notif_resp`. */
const RESP_SIZE = 24;

/** An `_IOC` request number; ppc64 encodes direction and size differently from everyone else. @private */
function ioc(arch: ArchInfo, direction: "read" | "write" | "readwrite", nr: number, size: number): bigint {
  const ppc = arch.name === "ppc64le";
  const bits = ppc ? { read: 2, write: 4 } : { read: 2, write: 1 };
  const dir = direction === "read" ? bits.read : direction === "write" ? bits.write : bits.read | bits.write;
  const type = "!".charCodeAt(0);
  return (BigInt(dir) << (ppc ? 29n : 30n)) | (BigInt(size) << 16n) | (BigInt(type) << 8n) | BigInt(nr);
}

/**
 * The listener's ioctl request numbers on `arch`.
 *
 * @example
 * ```ts
 * import { getArch } from "../arch/arch.ts";
 * notifyIoctls(getArch("x86_64")).recv; // 0xc0502100n
 * ```
 */
export function notifyIoctls(arch: ArchInfo): { recv: bigint; send: bigint; idValid: bigint } {
  return {
    recv: ioc(arch, "readwrite", 0, NOTIF_SIZE),
    send: ioc(arch, "readwrite", 1, RESP_SIZE),
    idValid: ioc(arch, "write", 2, 8),
  };
}

/** One notification: which thread called what. */
export interface Notification {
  /** Cookie to answer with. */
  readonly id: bigint;
  /** The calling thread's id (in the supervisor's pid namespace). */
  readonly tid: number;
  /** Syscall number. */
  readonly nr: number;
  /** `AUDIT_ARCH_*` of the call. */
  readonly arch: number;
  /** The six argument registers. */
  readonly args: readonly bigint[];
}

/**
 * The supervisor's side of one listener: receive, check, answer. Buffers are
 * allocated once; every call is one system call.
 */
export interface Listener {
  /** The listener descriptor (in the supervisor). */
  readonly fd: number;
  /** Waits up to `timeoutMs` for a notification; returns the poll bits (POLLIN, POLLHUP), 0 on timeout or EINTR. */
  poll(timeoutMs: number): number;
  /** Receives one notification, or undefined when it vanished (ENOENT: its thread died) or on EINTR. */
  receive(): Notification | undefined;
  /** Whether notification `id` is still pending (its thread alive and still in the call). */
  valid(id: bigint): boolean;
  /** Lets the call run as if no filter had stopped it; false when the thread is gone (ENOENT). */
  continueCall(id: bigint): boolean;
}

/**
 * Binds the listener descriptor `fd`.
 *
 * @example
 * ```ts
 * import { getArch } from "../arch/arch.ts";
 * import type { Libc } from "../install/mod.ts";
 * declare const libc: Libc;
 * declare const fd: number;
 * const listener = openListener(libc, getArch("x86_64"), fd);
 * if (listener.poll(100) & NOTIFY.POLLIN) listener.receive();
 * ```
 */
export function openListener(libc: Libc, arch: ArchInfo, fd: number): Listener {
  const sizes = notificationSizes(libc, arch);
  const ioctls = notifyIoctls(arch);
  const nr = syscallNumbers(arch);
  // The kernel refuses a receive buffer that is not zeroed, and writes up to its own struct size.
  const notif = new Uint8Array(Math.max(NOTIF_SIZE, sizes.notif));
  const notifView = new DataView(notif.buffer);
  const resp = new Uint8Array(Math.max(RESP_SIZE, sizes.resp));
  const respView = new DataView(resp.buffer);
  const cookie = new BigUint64Array(1);
  const pollfd = new Uint8Array(8);
  const pollView = new DataView(pollfd.buffer);
  const timespec = new BigInt64Array(2);
  const little = arch.endian === "little";
  const addresses = {
    notif: libc.address(notif),
    resp: libc.address(resp),
    cookie: libc.address(cookie),
    pollfd: libc.address(pollfd),
    timespec: libc.address(timespec),
  };
  const ioctl = (request: bigint, address: bigint) => libc.syscall(nr.ioctl, BigInt(fd), request, address, 0n, 0n, 0n);
  return {
    fd,
    poll(timeoutMs) {
      pollView.setInt32(0, fd, little);
      pollView.setInt16(4, NOTIFY.POLLIN, little);
      pollView.setInt16(6, 0, little);
      timespec[0] = BigInt(Math.floor(timeoutMs / 1000));
      timespec[1] = BigInt((timeoutMs % 1000) * 1_000_000);
      const ready = libc.syscall(nr.ppoll, addresses.pollfd, 1n, addresses.timespec, 0n, 8n, 0n);
      if (ready <= 0n) return 0;
      return pollView.getInt16(6, little);
    },
    receive() {
      notif.fill(0);
      if (ioctl(ioctls.recv, addresses.notif) < 0n) {
        const errno = libc.errno();
        if (errno === ERRNO.ENOENT || errno === ERRNO.EINTR) return undefined;
        throw new Error(`SECCOMP_IOCTL_NOTIF_RECV failed with errno ${errno}`);
      }
      const args: bigint[] = [];
      for (let i = 0; i < 6; i++) args.push(notifView.getBigUint64(32 + 8 * i, little));
      return {
        id: notifView.getBigUint64(0, little),
        tid: notifView.getUint32(8, little),
        nr: notifView.getInt32(16, little),
        arch: notifView.getUint32(20, little),
        args,
      };
    },
    valid(id) {
      cookie[0] = id;
      return ioctl(ioctls.idValid, addresses.cookie) === 0n;
    },
    continueCall(id) {
      resp.fill(0);
      respView.setBigUint64(0, id, little);
      respView.setUint32(20, NOTIFY.SECCOMP_USER_NOTIF_FLAG_CONTINUE, little);
      if (ioctl(ioctls.send, addresses.resp) === 0n) return true;
      const errno = libc.errno();
      if (errno === ERRNO.ENOENT) return false;
      throw new Error(`SECCOMP_IOCTL_NOTIF_SEND failed with errno ${errno}`);
    },
  };
}

/** Numbers of the system calls this module makes. @private */
function syscallNumbers(arch: ArchInfo) {
  const get = (name: string) => {
    const nr = arch.syscalls.get(name);
    if (nr === undefined) throw new Error(`no ${name} on ${arch.name}`);
    return nr;
  };
  return {
    ioctl: get("ioctl"),
    ppoll: get("ppoll"),
    seccomp: get("seccomp"),
    pidfdOpen: get("pidfd_open"),
    pidfdGetfd: get("pidfd_getfd"),
    waitid: get("waitid"),
    close: get("close"),
  };
}

/**
 * `SECCOMP_GET_NOTIF_SIZES`: the kernel's sizes of the notification structures (Linux 5.0).
 *
 * @example
 * ```ts
 * import { hostArchInfo, openLibc } from "../install/mod.ts";
 * notificationSizes(await openLibc(), hostArchInfo()); // { notif: 80, resp: 24, data: 64 }
 * ```
 */
export function notificationSizes(libc: Libc, arch: ArchInfo): { notif: number; resp: number; data: number } {
  const sizes = new Uint16Array(3);
  const result = libc.syscall(syscallNumbers(arch).seccomp, BigInt(NOTIFY.SECCOMP_GET_NOTIF_SIZES), 0n, libc.address(sizes), 0n, 0n, 0n);
  if (result !== 0n) throw new Error(`SECCOMP_GET_NOTIF_SIZES failed with errno ${libc.errno()}`);
  return { notif: sizes[0], resp: sizes[1], data: sizes[2] };
}

/**
 * Copies descriptor `targetFd` of process `pid` into this process
 * (`pidfd_open` + `pidfd_getfd`, Linux 5.6; needs ptrace access to `pid`).
 * Returns the new descriptor, or the errno of the step that failed.
 *
 * @example
 * ```ts
 * import { hostArchInfo, openLibc } from "../install/mod.ts";
 * declare const child: number;
 * const copy = takeDescriptor(await openLibc(), hostArchInfo(), child, 5);
 * ```
 */
export function takeDescriptor(libc: Libc, arch: ArchInfo, pid: number, targetFd: number): { fd: number } | { errno: number; step: string } {
  const nr = syscallNumbers(arch);
  const pidfd = libc.syscall(nr.pidfdOpen, BigInt(pid), 0n, 0n, 0n, 0n, 0n);
  if (pidfd < 0n) return { errno: libc.errno(), step: "pidfd_open" };
  const fd = libc.syscall(nr.pidfdGetfd, pidfd, BigInt(targetFd), 0n, 0n, 0n, 0n);
  const errno = fd < 0n ? libc.errno() : 0;
  libc.syscall(nr.close, pidfd, 0n, 0n, 0n, 0n, 0n);
  return fd < 0n ? { errno, step: "pidfd_getfd" } : { fd: Number(fd) };
}

/** How a reaped child ended. */
export type ChildStatus = { readonly exited: number } | { readonly signal: number; readonly core: boolean };

/**
 * Reaps one child that has ended, without blocking (`waitid(P_ALL, WEXITED | WNOHANG)`).
 * Returns `"none"` when children exist but none has ended, `"no-children"`
 * when there are none (ECHILD).
 *
 * @example
 * ```ts
 * import { hostArchInfo, openLibc } from "../install/mod.ts";
 * const reaped = reapOne(await openLibc(), hostArchInfo()); // { pid: 1234, status: { exited: 0 } }
 * ```
 */
export function reapOne(libc: Libc, arch: ArchInfo): { pid: number; status: ChildStatus } | "none" | "no-children" {
  const info = new Uint8Array(128);
  const view = new DataView(info.buffer);
  const little = arch.endian === "little";
  const result = libc.syscall(
    syscallNumbers(arch).waitid,
    BigInt(NOTIFY.P_ALL),
    0n,
    libc.address(info),
    BigInt(NOTIFY.WEXITED | NOTIFY.WNOHANG),
    0n,
    0n,
  );
  if (result < 0n) {
    const errno = libc.errno();
    if (errno === ERRNO.ECHILD) return "no-children";
    // waitid never fails with EAGAIN: that errno was left by the runtime between the call and the read
    // (Deno, under load: a futex of its own that found the value changed). Nothing reaped; ask again.
    if (errno === ERRNO.EINTR || errno === ERRNO.EAGAIN) return "none";
    throw new Error(`waitid failed with errno ${errno}`);
  }
  // siginfo_t: si_signo, si_errno, si_code, then (64-bit) si_pid at 16, si_uid at 20, si_status at 24.
  const pid = view.getInt32(16, little);
  if (pid === 0) return "none";
  const code = view.getInt32(8, little);
  const value = view.getInt32(24, little);
  const status: ChildStatus = code === NOTIFY.CLD_EXITED
    ? { exited: value }
    : { signal: value, core: code === NOTIFY.CLD_DUMPED };
  return { pid, status };
}
