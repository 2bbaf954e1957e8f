#!/usr/bin/env python3
"""Compile seccompiler IR filters with libseccomp, for the cross-check tests.

Reads one JSON document on stdin:

    {"arch": "x86_64",
     "filters": [{"name": "vmm",
                  "mismatchAction": {"kind": "trap"},
                  "matchAction": {"kind": "errno", "data": 1},
                  "syscalls": [{"name": "ioctl", "nr": 16, "rules": [
                      {"conditions": [{"index": 1, "width": "dword", "op": "eq", "value": "21537"}]}]}]}]}

(values and masks are decimal strings, because they are u64), and writes

    {"filters": {"vmm": {"bpf": "<base64 of the raw sock_filter array, in the target's byte order>"}}}

With ``"timeoutSeconds": N`` each filter is compiled in a forked child that is
killed after N seconds and reported as ``{"error": "timeout", "timeout": true}``.

or {"error": "..."} for a filter libseccomp refuses. The test decodes the
instructions and runs them in seccompiler's interpreter next to seccompiler's
own program.

With ``"op": "resolve"`` and ``"names": [...]`` it answers
``{"numbers": {"read": 0, "nosuch": null}, "ruleSafe": ["read"]}`` instead:
libseccomp's number for each name on the arch (null when libseccomp does not
know the name there), so the test can check seccompiler's syscall table
against libseccomp's, and the names a rule can safely use (see resolve()).

The translation is the one Firecracker v1.11+ uses (its libseccomp backend),
so the cross-check sees libseccomp's semantics, not a copy of ours:

* ``dword eq V``         -> ``MASKED_EQ(0xffffffff, V)`` over 64 bits
* ``dword <other op> V`` -> the same op over all 64 bits (libseccomp has no 32-bit compare)
* ``masked_eq M, V``     -> ``MASKED_EQ(M, V)``: V is *not* masked
* ``qword <op> V``       -> the same op over 64 bits

The invalid-architecture action is set to KILL_PROCESS, like ours. Only
callers decide which calls are comparable; see docs/testing.md.

Needs Debian's python3-seccomp (``import seccomp``).
"""
import base64
import json
import os
import select
import signal
import sys
import tempfile
import time

import seccomp

ARCHES = {
    "x86_64": seccomp.Arch.X86_64,
    "aarch64": seccomp.Arch.AARCH64,
    "riscv64": seccomp.Arch.RISCV64,
    "ppc64le": seccomp.Arch.PPC64LE,
    "s390x": seccomp.Arch.S390X,
}

OPS = {
    "eq": seccomp.EQ,
    "ne": seccomp.NE,
    "lt": seccomp.LT,
    "le": seccomp.LE,
    "gt": seccomp.GT,
    "ge": seccomp.GE,
}


ACTIONS = {
    "allow": seccomp.ALLOW,
    "kill_thread": seccomp.KILL,
    "kill_process": seccomp.KILL_PROCESS,
    "trap": seccomp.TRAP,
    "log": seccomp.LOG,
    "user_notif": seccomp.NOTIFY,
}


def action(spec):
    kind = spec["kind"]
    if kind in ACTIONS:
        return ACTIONS[kind]
    if kind == "errno":
        return seccomp.ERRNO(spec["data"])
    if kind == "trace":
        return seccomp.TRACE(spec["data"])
    raise ValueError("unknown action " + kind)


def argument(cond):
    value = int(cond["value"])
    if cond["op"] == "masked_eq":
        return seccomp.Arg(cond["index"], seccomp.MASKED_EQ, int(cond["mask"]), value)
    if cond["width"] == "dword" and cond["op"] == "eq":
        return seccomp.Arg(cond["index"], seccomp.MASKED_EQ, 0xFFFFFFFF, value)
    return seccomp.Arg(cond["index"], OPS[cond["op"]], value)


def compile_filter(arch, spec, optimize=None):
    """libseccomp's raw BPF (bytes, in the target's byte order) for one
    filter. ``optimize`` sets ``CTL_OPTIMIZE`` (1: one chain, 2: binary
    tree); None keeps libseccomp's default. Shared with
    scripts/bench/libseccomp_build.py."""
    f = seccomp.SyscallFilter(action(spec["mismatchAction"]))
    f.set_attr(seccomp.Attr.ACT_BADARCH, seccomp.KILL_PROCESS)
    # Keep libseccomp's program as plain as possible: no NO_NEW_PRIVS side
    # effects (we never load it), and no binary tree unless asked for.
    f.set_attr(seccomp.Attr.CTL_NNP, 0)
    if optimize is not None:
        f.set_attr(seccomp.Attr.CTL_OPTIMIZE, optimize)
    target = ARCHES[arch]
    # Tokens: system_arch() is unsigned, the Arch constants are signed.
    if seccomp.system_arch() & 0xFFFFFFFF != int(target) & 0xFFFFFFFF:
        # Native first: libseccomp refuses (EDOM) a filter that would mix byte orders.
        f.remove_arch(seccomp.Arch.NATIVE)
        f.add_arch(target)
    match = action(spec["matchAction"])
    for syscall in spec["syscalls"]:
        name = syscall["name"]
        if not syscall["rules"]:
            f.add_rule_exactly(match, name)
            continue
        for rule in syscall["rules"]:
            f.add_rule_exactly(match, name, *[argument(c) for c in rule["conditions"]])
    with tempfile.TemporaryFile() as out:
        f.export_bpf(out)
        out.seek(0)
        return out.read()


def compile_with_timeout(arch, spec, seconds):
    """Compiles in a forked child, so a filter that makes libseccomp loop
    (2.5.4 does on some combinations of lt/le/ne rules) costs `seconds`, not
    the whole run."""
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(read_end)
        try:
            payload = json.dumps({"bpf": base64.b64encode(compile_filter(arch, spec)).decode("ascii")})
        except Exception as error:
            payload = json.dumps({"error": "%s: %s" % (type(error).__name__, error)})
        with os.fdopen(write_end, "w") as out:
            out.write(payload)
        os._exit(0)
    os.close(write_end)
    chunks = []
    deadline = time.monotonic() + seconds
    with os.fdopen(read_end, "r") as source:
        while True:
            left = deadline - time.monotonic()
            ready, _, _ = select.select([source], [], [], max(left, 0))
            if not ready:
                os.kill(pid, signal.SIGKILL)
                os.waitpid(pid, 0)
                return {"error": "timeout", "timeout": True}
            chunk = source.read()
            if not chunk:
                break
            chunks.append(chunk)
    os.waitpid(pid, 0)
    return json.loads("".join(chunks))


def lookup(arch_token, name):
    try:
        nr = seccomp.resolve_syscall(arch_token, name)
    except ValueError:
        return None
    return nr if nr >= 0 else None


def resolve(arch, names):
    """libseccomp's number for each name, and whether a rule naming it is
    safe to add: the binding resolves rule names on the *native* arch first,
    and 2.5.4 then maps a few names that the native arch lacks to the wrong
    number (sys_debug_setcontext on ppc64le becomes 363, switch_endian)."""
    native = seccomp.Arch.NATIVE
    numbers = {}
    rule_safe = []
    for name in names:
        numbers[name] = lookup(ARCHES[arch], name)
        if numbers[name] is not None and lookup(native, name) is not None:
            rule_safe.append(name)
    return {"numbers": numbers, "ruleSafe": rule_safe}


def main():
    request = json.load(sys.stdin)
    arch = request["arch"]
    if request.get("op") == "resolve":
        json.dump(resolve(arch, request["names"]), sys.stdout)
        sys.stdout.write("\n")
        return
    result = {}
    seconds = request.get("timeoutSeconds")
    for spec in request["filters"]:
        if seconds:
            result[spec["name"]] = compile_with_timeout(arch, spec, seconds)
            continue
        try:
            result[spec["name"]] = {"bpf": base64.b64encode(compile_filter(arch, spec)).decode("ascii")}
        except Exception as error:  # libseccomp reports refusals as OSError/RuntimeError/ValueError
            result[spec["name"]] = {"error": "%s: %s" % (type(error).__name__, error)}
    json.dump({"filters": result}, sys.stdout)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
