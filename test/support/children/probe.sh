#!/bin/sh
# Reports what this process inherited, as one JSON line: argv and environment
# bytes (hex of its own /proc/$$/cmdline and /proc/$$/environ, which sh never
# rewrites), ignored signals and mask, umask, resource limits, working
# directory and open descriptors. A shell, because it leaves the signal
# dispositions it inherited alone (Python would ignore SIGPIPE and SIGXFSZ
# itself). Used to compare a program started directly with one started
# through exec.
self=/proc/$$
hex() { od -An -v -tx1 "$1" | tr -d ' \n'; }
field() { sed -n "s/^$1:[[:space:]]*//p" "$self/status"; }
fds=""
# Descriptors 0-9 tested with stat: listing the directory would open one
# more, and a command substitution's pipe exists only while it runs. (The
# script itself is open on a descriptor >= 10, close-on-exec: not inherited.)
for fd in 0 1 2 3 4 5 6 7 8 9; do
  [ -e "$self/fd/$fd" ] || continue
  fds="$fds\"$fd\": \"$(readlink "$self/fd/$fd")\", "
done
limits=$(tail -n +2 "$self/limits" | sed 's/  */ /g; s/ *$//; s/.*/"&"/' | paste -sd, -)
printf '{"argv": "%s", "environ": "%s", "status": {"SigIgn": "%s", "SigBlk": "%s", "Umask": "%s", "Seccomp": "%s", "NoNewPrivs": "%s"}, "limits": [%s], "cwd": "%s", "fds": {%s"end": ""}}\n' \
  "$(hex "$self/cmdline")" "$(hex "$self/environ")" "$(field SigIgn)" "$(field SigBlk)" "$(field Umask)" \
  "$(field Seccomp)" "$(field NoNewPrivs)" "$limits" "$(pwd -P)" "$fds"
