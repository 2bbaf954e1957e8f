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

    {"filters": {"vmm": {"bpf": "<base64 of the raw sock_filter array, host byte order>"}}}

or {"error": "..."} for a filter libseccomp refuses. The test decodes the
instructions and runs them in seccompiler's interpreter next to seccompiler's
own program.

With ``"op": "resolve"`` and ``"names": [...]`` it answers
``{"numbers": {"read": 0, "nosuch": null}}`` instead: libseccomp's number for
each name on the arch (null when libseccomp does not know the name there), so
the test can check seccompiler's syscall table against libseccomp's.

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
import sys
import tempfile

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


def action(spec):
    kind = spec["kind"]
    if kind == "allow":
        return seccomp.ALLOW
    if kind == "kill_thread":
        return seccomp.KILL
    if kind == "kill_process":
        return seccomp.KILL_PROCESS
    if kind == "trap":
        return seccomp.TRAP
    if kind == "log":
        return seccomp.LOG
    if kind == "user_notif":
        return seccomp.NOTIFY
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


def compile_filter(arch, spec):
    f = seccomp.SyscallFilter(action(spec["mismatchAction"]))
    f.set_attr(seccomp.Attr.ACT_BADARCH, seccomp.KILL_PROCESS)
    # Keep libseccomp's program as plain as possible: no binary tree, no
    # NO_NEW_PRIVS side effects (we never load it).
    f.set_attr(seccomp.Attr.CTL_NNP, 0)
    target = ARCHES[arch]
    if not f.exist_arch(target):
        f.add_arch(target)
    # Tokens: system_arch() is unsigned, the Arch constants are signed.
    if seccomp.system_arch() & 0xFFFFFFFF != int(target) & 0xFFFFFFFF:
        f.remove_arch(seccomp.Arch.NATIVE)
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


def resolve(arch, names):
    numbers = {}
    for name in names:
        try:
            nr = seccomp.resolve_syscall(ARCHES[arch], name)
        except ValueError:
            nr = -1
        numbers[name] = nr if nr >= 0 else None
    return numbers


def main():
    request = json.load(sys.stdin)
    arch = request["arch"]
    if request.get("op") == "resolve":
        json.dump({"numbers": resolve(arch, request["names"])}, sys.stdout)
        sys.stdout.write("\n")
        return
    result = {}
    for spec in request["filters"]:
        try:
            result[spec["name"]] = {"bpf": base64.b64encode(compile_filter(arch, spec)).decode("ascii")}
        except Exception as error:  # libseccomp reports refusals as OSError/RuntimeError/ValueError
            result[spec["name"]] = {"error": "%s: %s" % (type(error).__name__, error)}
    json.dump({"filters": result}, sys.stdout)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
