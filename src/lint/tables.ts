/**
 * The facts `seccompiler lint` checks policies against: legacy syscalls and
 * their replacements on newer architectures, the syscalls every process needs
 * to end, and the syscalls that are dangerous to allow.
 *
 * @module
 */

/**
 * Legacy syscall → the calls that replace it on architectures without it
 * (aarch64, riscv64 and loongarch64 use the generic table, which dropped
 * them), in order of preference. The first one that exists on the target is
 * suggested.
 *
 * @example
 * ```ts
 * REPLACEMENTS.get("open"); // ["openat"]
 * ```
 */
export const REPLACEMENTS: ReadonlyMap<string, readonly string[]> = new Map([
  ["open", ["openat"]],
  ["creat", ["openat"]],
  ["stat", ["newfstatat", "statx"]],
  ["lstat", ["newfstatat", "statx"]],
  ["fstat", ["newfstatat", "statx"]],
  ["access", ["faccessat", "faccessat2"]],
  ["pipe", ["pipe2"]],
  ["dup2", ["dup3"]],
  ["poll", ["ppoll"]],
  ["select", ["pselect6"]],
  ["epoll_wait", ["epoll_pwait"]],
  ["epoll_create", ["epoll_create1"]],
  ["fork", ["clone", "clone3"]],
  ["vfork", ["clone", "clone3"]],
  ["mkdir", ["mkdirat"]],
  ["rmdir", ["unlinkat"]],
  ["unlink", ["unlinkat"]],
  ["rename", ["renameat2", "renameat"]],
  ["renameat", ["renameat2"]],
  ["link", ["linkat"]],
  ["symlink", ["symlinkat"]],
  ["readlink", ["readlinkat"]],
  ["chmod", ["fchmodat"]],
  ["chown", ["fchownat"]],
  ["lchown", ["fchownat"]],
  ["mknod", ["mknodat"]],
  ["utime", ["utimensat"]],
  ["utimes", ["utimensat"]],
  ["futimesat", ["utimensat"]],
  ["getdents", ["getdents64"]],
  ["eventfd", ["eventfd2"]],
  ["signalfd", ["signalfd4"]],
  ["inotify_init", ["inotify_init1"]],
  ["time", ["clock_gettime"]],
  ["alarm", ["setitimer"]],
  ["pause", ["ppoll", "rt_sigsuspend"]],
  ["getpgrp", ["getpgid"]],
  ["getrlimit", ["prlimit64"]],
  ["setrlimit", ["prlimit64"]],
  ["ustat", ["statfs"]],
  ["sendfile64", ["sendfile"]],
  ["arch_prctl", []],
]);

/**
 * What every process needs to end: `exit` (a thread returning), `exit_group`
 * (the process), `rt_sigreturn` (returning from any signal handler).
 */
export const EXIT_SYSCALLS: readonly string[] = ["exit", "exit_group", "rt_sigreturn"];

/**
 * Syscalls that are dangerous to allow, each with why. Allowing one is a
 * warning: some programs need them, but each widens what an attacker who
 * controls the process can do.
 */
export const DANGEROUS_SYSCALLS: ReadonlyMap<string, string> = new Map([
  ["execve", "runs any program; `seccompiler exec` lets its own execve through with its guard, so the policy does not need it"],
  ["execveat", "runs any program; `seccompiler exec` lets its own execve through with its guard, so the policy does not need it"],
  ["ptrace", "reads and writes other processes' memory and registers, and can be used to escape seccomp on old kernels"],
  ["process_vm_writev", "writes another process's memory"],
  ["process_vm_readv", "reads another process's memory"],
  ["bpf", "loads eBPF programs into the kernel"],
  ["kexec_load", "replaces the running kernel"],
  ["kexec_file_load", "replaces the running kernel"],
  ["init_module", "loads kernel modules"],
  ["finit_module", "loads kernel modules"],
  ["delete_module", "unloads kernel modules"],
  ["userfaultfd", "lets a process stall the kernel at chosen points, a common step in exploiting kernel races"],
  ["perf_event_open", "exposes kernel and hardware internals, with a long history of privilege escalations"],
  ["io_uring_setup", "starts io_uring, whose operations run without the system calls seccomp sees"],
  ["io_uring_enter", "submits io_uring operations, which run without the system calls seccomp sees"],
  ["mount", "changes the mount table"],
  ["umount2", "changes the mount table"],
  ["pivot_root", "changes the root file system"],
  ["chroot", "changes the root directory"],
  ["setns", "enters other namespaces"],
  ["unshare", "creates namespaces (user namespaces open up much of the kernel's attack surface)"],
  ["open_by_handle_at", "opens files by handle, bypassing path checks (the Shocker container escape)"],
  ["keyctl", "manipulates kernel keyrings, which are not namespaced"],
  ["add_key", "manipulates kernel keyrings, which are not namespaced"],
  ["request_key", "manipulates kernel keyrings, which are not namespaced"],
  ["reboot", "reboots or halts the machine"],
  ["swapon", "changes swap devices"],
  ["swapoff", "changes swap devices"],
  ["iopl", "grants direct access to I/O ports"],
  ["ioperm", "grants direct access to I/O ports"],
  ["kcmp", "compares kernel objects of other processes, leaking kernel layout"],
  ["lookup_dcookie", "reads kernel directory-entry cookies"],
  ["settimeofday", "changes the system clock"],
  ["clock_settime", "changes the system clock"],
  ["clock_adjtime", "changes the system clock"],
  ["adjtimex", "changes the system clock"],
  ["acct", "switches process accounting"],
  ["quotactl", "manipulates disk quotas"],
  ["syslog", "reads and clears the kernel log"],
  ["vhangup", "hangs up the terminal"],
  ["fsopen", "builds and mounts file systems"],
  ["fsmount", "builds and mounts file systems"],
  ["move_mount", "changes the mount table"],
  ["open_tree", "clones mount trees"],
]);
