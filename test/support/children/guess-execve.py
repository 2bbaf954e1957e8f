"""A hostile target: searches for the exec guard's addresses by calling
execve(guess, argv, envp) for a bounded time, the way the single-pointer guard
was found blind (a miss answers EPERM from the policy, a hit EFAULT because the
launcher's buffer is not mapped in the target).

Usage: guess-execve.py EXECVE_NR SECONDS [HINT]
HINT (hex) is tried first: the control run uses a policy that allows execve
with exactly that path pointer, to show a hit is noticed.
Prints one JSON line: tries, hits (guesses answered with anything but EPERM).
"""
import ctypes
import json
import random
import sys
import time

nr = int(sys.argv[1])
seconds = float(sys.argv[2])
hint = int(sys.argv[3], 16) if len(sys.argv) > 3 else None
libc = ctypes.CDLL(None, use_errno=True)
libc.syscall.restype = ctypes.c_long
libc.syscall.argtypes = [ctypes.c_long, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong]
EPERM = 1

tries = 0
hits = []


def guess(path, argv, envp):
    global tries
    tries += 1
    ctypes.set_errno(0)
    if libc.syscall(nr, path, argv, envp) == -1 and ctypes.get_errno() == EPERM:
        return
    hits.append([hex(path), hex(argv), hex(envp), ctypes.get_errno()])


if hint is not None:
    guess(hint, 0, 0)
deadline = time.monotonic() + seconds
rng = random.Random(1)
# The old search: Bun's heap range, at the page offsets the path buffer used to have.
base = 0x20000000000
while time.monotonic() < deadline and base < 0x60000000000:
    for offset in (0x18150, 0x18140, 0x10150, 0x8150):
        guess(base + offset, 0, 0)
        guess(base + offset, base + offset, base + offset)
    # And anywhere in the 47-bit space, three independent pointers.
    guess(rng.getrandbits(47) & ~0xF, rng.getrandbits(47) & ~0xF, rng.getrandbits(47) & ~0xF)
    base += 0x100000
print(json.dumps({"tries": tries, "hits": hits[:10], "hitCount": len(hits)}))
