#!/usr/bin/env python3
"""Build libseccomp programs for `npm run bench` (scripts/bench.ts).

Reads one JSON document on stdin:

    {"arch": "x86_64",
     "optimize": [1, 2],
     "filters": [{"name": "vmm",
                  "mismatchAction": {"kind": "trap"},
                  "matchAction": {"kind": "allow"},
                  "syscalls": [{"name": "ioctl", "rules": [
                      {"conditions": [{"index": 1, "width": "dword", "op": "eq", "value": "21537"}]}]}]}]}

(values and masks are decimal strings, because they are u64) and writes

    {"version": "2.5.4",
     "programs": {"vmm": {"1": "<base64 sock_filter array, host order>", "2": "..."}}}

``optimize`` lists libseccomp's ``CTL_OPTIMIZE`` levels to build: 1 is the
default (one comparison chain, syscalls ordered by priority), 2 is the binary
tree over syscall numbers.

The JSON-to-libseccomp translation is Firecracker v1.11+'s (its libseccomp
backend), the same as scripts/libseccomp_eval.py: it is what a Firecracker
user actually gets from libseccomp, and on the Firecracker corpus (dword
``eq``, and ``masked_eq`` with value 0) it accepts exactly the calls
seccompiler's filters accept.

* ``dword eq V``  -> ``MASKED_EQ(0xffffffff, V)``: the low 32 bits, like ours.
  Plain ``EQ`` would also compare the high half against 0, a different filter.
* ``masked_eq M, V`` -> ``MASKED_EQ(M, V)``.
* anything else -> the same operator over 64 bits (never used by the corpus).

A mismatched architecture (and x32 numbers) return KILL_PROCESS, like ours.
Needs Debian's python3-seccomp (``import seccomp``).
"""
import base64
import ctypes
import json
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
    simple = {
        "allow": seccomp.ALLOW,
        "kill_thread": seccomp.KILL,
        "kill_process": seccomp.KILL_PROCESS,
        "trap": seccomp.TRAP,
        "log": seccomp.LOG,
    }
    if kind in simple:
        return simple[kind]
    if kind == "errno":
        return seccomp.ERRNO(spec["data"])
    if kind == "trace":
        return seccomp.TRACE(spec["data"])
    raise ValueError("action %s has no libseccomp equivalent here" % kind)


def argument(cond):
    value = int(cond["value"])
    if cond["op"] == "masked_eq":
        return seccomp.Arg(cond["index"], seccomp.MASKED_EQ, int(cond["mask"]), value)
    if cond["width"] == "dword" and cond["op"] == "eq":
        return seccomp.Arg(cond["index"], seccomp.MASKED_EQ, 0xFFFFFFFF, value)
    return seccomp.Arg(cond["index"], OPS[cond["op"]], value)


def build(arch, spec, optimize):
    f = seccomp.SyscallFilter(action(spec["mismatchAction"]))
    f.set_attr(seccomp.Attr.ACT_BADARCH, seccomp.KILL_PROCESS)
    f.set_attr(seccomp.Attr.CTL_NNP, 0)
    f.set_attr(seccomp.Attr.CTL_OPTIMIZE, optimize)
    target = ARCHES[arch]
    if not f.exist_arch(target):
        f.add_arch(target)
    # system_arch() is unsigned, the Arch constants are signed.
    if seccomp.system_arch() & 0xFFFFFFFF != int(target) & 0xFFFFFFFF:
        f.remove_arch(seccomp.Arch.NATIVE)
    match = action(spec["matchAction"])
    for syscall in spec["syscalls"]:
        if not syscall["rules"]:
            f.add_rule(match, syscall["name"])
        for rule in syscall["rules"]:
            f.add_rule(match, syscall["name"], *[argument(c) for c in rule["conditions"]])
    with tempfile.TemporaryFile() as out:
        f.export_bpf(out)
        out.seek(0)
        return base64.b64encode(out.read()).decode("ascii")


def version():
    class Version(ctypes.Structure):
        _fields_ = [("major", ctypes.c_uint), ("minor", ctypes.c_uint), ("micro", ctypes.c_uint)]

    try:
        lib = ctypes.CDLL("libseccomp.so.2")
        lib.seccomp_version.restype = ctypes.POINTER(Version)
        v = lib.seccomp_version().contents
        return "%d.%d.%d" % (v.major, v.minor, v.micro)
    except (OSError, AttributeError):
        return "unknown"


def main():
    request = json.load(sys.stdin)
    programs = {}
    for spec in request["filters"]:
        programs[spec["name"]] = {
            str(level): build(request["arch"], spec, level) for level in request["optimize"]
        }
    json.dump({"version": version(), "programs": programs}, sys.stdout)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
