"""Sets up a caller's state the way a supervisor might, then execve's
argv[2:] with a raw environment (duplicates, entries without '=', non-UTF-8
bytes: what os.execve's dict cannot express).

Usage: starter.py CONFIG_JSON PROGRAM [ARGS...]
CONFIG_JSON: {"ignore": [signals], "default": [signals], "block": [signals],
              "nofile": soft, "umask": n, "fds": {"3": path, ...},
              "env": [hex entries], "argv_hex": [hex args appended]}
"""
import ctypes
import json
import os
import resource
import signal
import sys

config = json.loads(sys.argv[1])
for s in config.get("default", []):
    signal.signal(s, signal.SIG_DFL)
for s in config.get("ignore", []):
    signal.signal(s, signal.SIG_IGN)
signal.pthread_sigmask(signal.SIG_SETMASK, config.get("block", []))
if "nofile" in config:
    hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    resource.setrlimit(resource.RLIMIT_NOFILE, (config["nofile"], hard))
if "umask" in config:
    os.umask(config["umask"])
for fd, path in config.get("fds", {}).items():
    opened = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    if opened != int(fd):
        os.dup2(opened, int(fd), inheritable=True)
        os.close(opened)
    else:
        os.set_inheritable(opened, True)
argv = [os.fsencode(a) for a in sys.argv[2:]] + [bytes.fromhex(h) for h in config.get("argv_hex", [])]
env = [bytes.fromhex(h) for h in config["env"]]
libc = ctypes.CDLL(None, use_errno=True)
array = lambda items: (ctypes.c_char_p * (len(items) + 1))(*items, None)
libc.execve(argv[0], array(argv), array(env))
sys.exit(f"starter: execve {argv[0]!r} failed: errno {ctypes.get_errno()}")
