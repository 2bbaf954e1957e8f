#!/bin/sh
# Builds standalone seccompiler executables with `bun build --compile`:
#   dist/seccompiler-linux-x64 and dist/seccompiler-linux-arm64 (glibc).
# Usage: sh scripts/build.sh [x64|arm64|all] [OUTDIR]   (default: all, dist/)
#
# --bytecode: the executable carries precompiled bytecode, so start-up skips
# parsing the bundle (measured by `npm run bench`, scripts/bench/startup.ts).
#
# Hardening: a compiled Bun binary would otherwise load .env and bunfig.toml
# (with preload scripts) from the current directory at start-up.
# Cross-compiling fetches the target runtime (@oven/bun-linux-aarch64) from
# the npm registry once and caches it.
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
bun="$root/node_modules/.bin/bun"
which=${1:-all}
outdir=${2:-"$root/dist"}
mkdir -p "$outdir"
build() {
  target=$1
  out="$outdir/seccompiler-$2"
  "$bun" build --compile --bytecode --format=esm --target="$target" \
    --no-compile-autoload-dotenv --no-compile-autoload-bunfig \
    "$root/src/cli/main.ts" --outfile "$out.tmp"
  mv "$out.tmp" "$out"
  echo "built $out"
}
case $which in
  x64) build bun-linux-x64 linux-x64 ;;
  arm64) build bun-linux-arm64 linux-arm64 ;;
  all) build bun-linux-x64 linux-x64; build bun-linux-arm64 linux-arm64 ;;
  *) echo "usage: sh scripts/build.sh [x64|arm64|all] [OUTDIR]" >&2; exit 2 ;;
esac
