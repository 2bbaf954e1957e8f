#!/bin/sh
# Builds standalone seccompiler executables with `bun build --compile`:
#   dist/seccompiler-linux-x64 and dist/seccompiler-linux-arm64 (glibc).
# Usage: sh scripts/build.sh [x64|arm64|all] [OUTDIR]   (default: all, dist/)
#
# Hardening (README, "Injection"): a compiled Bun executable would otherwise
# load .env and bunfig.toml (with preload scripts) from the current directory
# (switched off with --no-compile-autoload-*), and act on BUN_OPTIONS,
# BUN_INSPECT* and BUN_BE_BUN before our code runs: no build flag
# turns those off, so scripts/harden-executable.ts blanks the names in the
# runtime, and the build fails unless it did, and unless the result, when it
# runs on this machine, ignores every one of them.
#
# Faithful hand-over (README, "What the program inherits"): Bun raises the soft
# open-files limit and ignores SIGPIPE/SIGXFSZ before our code runs, so
# scripts/entry-prelude.ts puts a few instructions in front of the runtime's
# entry point that record them first; the build fails unless the result
# reports them.
# Cross-compiling fetches the target runtime (@oven/bun-linux-aarch64) from
# the npm registry once and caches it.
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
bun="$root/node_modules/.bin/bun"
which=${1:-all}
outdir=${2:-"$root/dist"}
mkdir -p "$outdir"

# Runs the executable $1 with each injection variable pointing at a preload
# that writes a marker; fails if any marker appears or --version misbehaves.
verify() {
  exe=$1
  scratch=$(mktemp -d)
  printf 'require("node:fs").writeFileSync(%s, "x");\n' "\"$scratch/INJECTED\"" >"$scratch/evil.js"
  for assignment in "BUN_OPTIONS=--preload $scratch/evil.js" "BUN_INSPECT_PRELOAD=$scratch/evil.js" \
    "BUN_INSPECT=ws://127.0.0.1:9/x" "BUN_BE_BUN=1" "NODE_OPTIONS=--require $scratch/evil.js"; do
    version=$(cd "$scratch" && env "$assignment" "$exe" --version 2>&1) || true
    case $version in
      "seccompiler "[0-9]*) ;;
      *) echo "build: $exe with $assignment did not run as seccompiler: $version" >&2; rm -rf "$scratch"; exit 1 ;;
    esac
    if [ -e "$scratch/INJECTED" ]; then
      echo "build: $exe ran a preload from $assignment; not shipping it" >&2
      rm -rf "$scratch"
      exit 1
    fi
  done
  # The entry prelude (scripts/entry-prelude.ts) must report the caller's soft open-files limit
  # and ignored SIGPIPE, which Bun changes before any of our code runs, and have given the runtime
  # its option (src/launcher/prelude.ts, RUNTIME_ENVIRONMENT).
  printf '{"main": {"default_action": "allow", "filter_action": "kill_process", "filter": []}}\n' >"$scratch/policy.json"
  plan=$(ulimit -Sn 555 && trap '' PIPE && "$exe" exec --dry-run --policy "$scratch/policy.json" -- /bin/true 2>&1) || true
  case $plan in
    *"signals reset to default: SIGXFSZ"*"soft RLIMIT_NOFILE: restored to 555"*"start state recorded by: entry prelude"*"runtime option: BUN_JSC_useWarmUpMarkedBlocks=0 "*) ;;
    *) echo "build: $exe did not report the start state its entry prelude should have recorded:" >&2; echo "$plan" >&2; rm -rf "$scratch"; exit 1 ;;
  esac
  rm -rf "$scratch"
}

build() {
  target=$1
  out="$outdir/seccompiler-$2"
  # --bytecode: JavaScriptCore bytecode compiled at build time, so start-up does not parse the
  # bundle (about 20 ms of every launch, docs/bench.md); it needs ESM output for the top-level
  # await of the FFI import. --minify makes the embedded program smaller to load. --splitting puts
  # each command's modules in chunks of their own, loaded when the command runs: a command no longer
  # pays at start-up for every other command's code (docs/bench.md, "what the 8 ms is").
  # The targets are glibc builds: the launcher then opens libc.so.6, already loaded, without asking
  # (src/install/libc.ts). A musl target would need SECCOMPILER_BUILD_LIBC='"musl"'.
  "$bun" build --compile --target="$target" --bytecode --format=esm --minify --splitting \
    --no-compile-autoload-dotenv --no-compile-autoload-bunfig --define SECCOMPILER_BUILD_LIBC='"glibc"' \
    "$root/src/cli/main.ts" --outfile "$out.tmp"
  "$bun" "$root/scripts/harden-executable.ts" "$out.tmp"
  "$bun" "$root/scripts/entry-prelude.ts" "$out.tmp"
  case "$(uname -m):$2" in
    x86_64:linux-x64 | aarch64:linux-arm64) verify "$out.tmp" ;;
    *) echo "build: $out is for another architecture; its injection check runs where it runs (test/injection.test.ts)" ;;
  esac
  mv "$out.tmp" "$out"
  echo "built $out"
}
case $which in
  x64) build bun-linux-x64 linux-x64 ;;
  arm64) build bun-linux-arm64 linux-arm64 ;;
  all) build bun-linux-x64 linux-x64; build bun-linux-arm64 linux-arm64 ;;
  *) echo "usage: sh scripts/build.sh [x64|arm64|all] [OUTDIR]" >&2; exit 2 ;;
esac
