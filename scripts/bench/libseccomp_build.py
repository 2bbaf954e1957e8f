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
backend), and it is not repeated here: the programs come from
``compile_filter`` in scripts/libseccomp_eval.py, the cross-check tests'
helper, so the benchmark measures exactly the filters the tests check. It is
what a Firecracker user actually gets from libseccomp, and on the Firecracker
corpus (dword ``eq``, and ``masked_eq`` with value 0) it accepts exactly the
calls seccompiler's filters accept.

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
import os
import sys

# Import the translation from its home, scripts/, without leaving a __pycache__ in the checkout.
sys.dont_write_bytecode = True
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), os.pardir))
from libseccomp_eval import compile_filter  # noqa: E402


def build(arch, spec, optimize):
    return base64.b64encode(compile_filter(arch, spec, optimize)).decode("ascii")


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
