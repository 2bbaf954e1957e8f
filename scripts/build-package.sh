#!/bin/sh
# Builds the npm package's lib/: ES modules and .d.ts declarations for the
# entry points seccompiler, seccompiler/install and seccompiler/macro, plus the
# CLI that bin/seccompiler runs (tsc -p tsconfig.build.json). `npm pack` and
# `npm publish` run it through the prepack script.
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
rm -rf lib
node_modules/.bin/tsc -p tsconfig.build.json
# tsc rewrites "./x.ts" to "./x.js" in the JavaScript it emits but leaves the
# declarations' imports as written; resolvers other than tsc's (Deno's) look
# for the .ts file, which is not shipped.
find lib -name '*.d.ts' -exec sed -i -E 's#((from|import\() *"\.\.?/[^"]*)\.ts"#\1.js"#g' {} +
if grep -rqE '^ *(import|export|[^*]*await import\().*"\.\.?/[^"]*\.ts"' lib; then
  echo "build-package: a relative .ts import is left in lib/" >&2
  exit 1
fi
echo "built $root/lib"
