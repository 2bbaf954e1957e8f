#!/bin/sh
# Launch soak: starts a program through a launcher many times, several at once, optionally while
# every CPU is kept busy, and checks that each start reached the program in the state it should:
# the caller's soft open-files limit (777), SIGPIPE still ignored, the filter installed
# (Seccomp: 2), and exactly the caller's environment. Prints the count and exits 1 on any other
# outcome, showing what was seen instead.
#
# Usage: sh scripts/launch-soak.sh LAUNCHER [COUNT] [PARALLEL] [--load]
#   LAUNCHER  dist/seccompiler-linux-x64, scripts/seccompiler or scripts/seccompiler-deno
#   COUNT     launches (default 300); PARALLEL: at once (default 6)
#   --load    keep every CPU busy with a shell loop while the launches run
set -eu
[ $# -ge 1 ] || { echo "usage: sh scripts/launch-soak.sh LAUNCHER [COUNT] [PARALLEL] [--load]" >&2; exit 2; }
launcher=$1
count=${2:-300}
parallel=${3:-6}
load=${4:-}
case $launcher in /*) ;; *) launcher=$(pwd)/$launcher ;; esac
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"; [ -z "${busy:-}" ] || kill $busy 2>/dev/null || true' EXIT
printf '{"main": {"default_action": "allow", "filter_action": {"errno": 1}, "filter": [{"syscall": "ptrace"}]}}\n' >"$scratch/policy.json"
# One launch, as a caller with its own limit, signal and environment would make it; its report is
# written with one printf, so that parallel launches do not interleave their lines.
cat >"$scratch/one.sh" <<'EOF'
report=$(
  ulimit -Sn 777
  trap "" PIPE
  env -i PATH=/usr/bin:/bin SOAK=1 "$1" exec --policy "$2" -- /bin/sh -c \
    'printf "%s|" "$(ulimit -Sn)"; grep -E "^(SigIgn|Seccomp):" /proc/self/status | tr "\n" "|"; tr "\0" "," </proc/self/environ' 2>&1
)
printf '%s\n' "$report"
EOF
expected="777|SigIgn:	0000000000001000|Seccomp:	2|PATH=/usr/bin:/bin,SOAK=1,"
busy=
if [ "$load" = --load ]; then
  for _ in $(seq 1 "$(nproc)"); do
    sh -c 'while :; do :; done' &
    busy="$busy $!"
  done
fi
seq 1 "$count" | xargs -P "$parallel" -I{} sh "$scratch/one.sh" "$launcher" "$scratch/policy.json" >"$scratch/out"
good=$(grep -cxF "$expected" "$scratch/out" || true)
echo "launch soak: $good/$count launches reached the program as expected ($parallel at a time${busy:+, every CPU busy})"
if [ "$good" -ne "$count" ]; then
  grep -vxF "$expected" "$scratch/out" | sort | uniq -c | head -20
  exit 1
fi
