#!/bin/sh
# Runs the whole suite on Bun, then the Deno-facing tests on Deno, and prints
# one summary line "N passed, N failed, N skipped", preceded by the name (and,
# for suites, the reason) of every skipped test. Exit status is non-zero if any failed.
#
# Suites that need the Firecracker corpus, python3-seccomp or a seccomp kernel skip
# where those are missing; SECCOMPILER_REQUIRE=corpus,libseccomp,kernel,qemu (set by
# .ci/run) turns such a skip into a failure (test/support/require.ts).
#
# A test file is Deno-facing when it contains the line "// deno-facing".
# Usage: sh scripts/test.sh [bun test filters...]
set -u
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root" || exit 2
bun="$root/node_modules/.bin/bun"
deno="$root/node_modules/.bin/deno"
log=$(mktemp -d)
trap 'rm -rf "$log"' EXIT

export NO_COLOR=1
status=0
# Bun's per-test timeout cannot stop a test stuck in synchronous code, so the whole run has a
# deadline too: a hang then ends as a failure, with the last file Bun named, instead of running on.
timeout --kill-after=10 "${SECCOMPILER_TEST_DEADLINE:-2400}" "$bun" test --timeout 120000 "$@" 2>&1 | tee "$log/bun.txt" || status=1
bun_pass=$(grep -E '^ *[0-9]+ pass$' "$log/bun.txt" | tail -1 | tr -dc 0-9)
bun_fail=$(grep -E '^ *[0-9]+ fail$' "$log/bun.txt" | tail -1 | tr -dc 0-9)
bun_skip=$(grep -E '^ *[0-9]+ skip$' "$log/bun.txt" | tail -1 | tr -dc 0-9)
bun_skip=${bun_skip:-0}
# A crash before the summary must count as a failure, never as "0 failed".
if [ -z "$bun_pass" ] || [ -z "$bun_fail" ]; then bun_pass=${bun_pass:-0}; bun_fail=$(( ${bun_fail:-0} + 1 )); status=1; fi

deno_pass=0
deno_fail=0
deno_skip=0
if [ $# -eq 0 ]; then
  files=$(grep -l '^// deno-facing' test/*.test.ts 2>/dev/null)
  if [ -n "$files" ]; then
    # shellcheck disable=SC2086
    "$deno" test --no-check -A --quiet $files 2>&1 | tee "$log/deno.txt" || status=1
    summary=$(grep -E '(ok|FAILED) \| [0-9]+ passed' "$log/deno.txt" | tail -1)
    if [ -n "$summary" ]; then
      deno_pass=$(echo "$summary" | sed -E 's/.*\| ([0-9]+) passed.*/\1/')
      deno_fail=$(echo "$summary" | sed -E 's/.*\| ([0-9]+) failed.*/\1/')
      deno_skip=$(echo "$summary" | sed -nE 's/.*\| ([0-9]+) ignored.*/\1/p')
      deno_skip=${deno_skip:-0}
    else
      deno_fail=1
      status=1
    fi
  fi
fi

# Type-check (strict) and lint everything with Deno, type-check every code block in src/'s JSDoc
# (each @example must compile against the module it documents), type-check with the project's own
# tsc, and simulate publishing to JSR (deno.json's name, version, exports, slow types): five more tests.
check_pass=0
check_fail=0
if [ $# -eq 0 ]; then
  for step in "$deno check --quiet src/ scripts/ test/" "$deno check --doc-only --quiet src/" "$deno lint --quiet" \
    "$root/node_modules/.bin/tsc -p tsconfig.json" "$deno publish --dry-run --allow-dirty --quiet"; do
    # shellcheck disable=SC2086
    if $step >"$log/check.txt" 2>&1; then
      check_pass=$((check_pass + 1))
    else
      cat "$log/check.txt"
      check_fail=$((check_fail + 1))
      status=1
    fi
  done
  echo "deno check, doc check, lint, tsc, deno publish --dry-run: $check_pass passed, $check_fail failed"
fi

# Every skip, by name: a skipped suite appears as one stand-in "<suite> (skipped: <reason>)".
if [ "$bun_skip" -gt 0 ] || [ "$deno_skip" -gt 0 ]; then
  echo "skipped:"
  # Bun repeats failed and skipped tests in a recap after the run: list each once.
  sed -nE 's/^\(skip\) (.*)$/  bun: \1/p' "$log/bun.txt" | awk '!seen[$0]++'
  [ -f "$log/deno.txt" ] && sed -nE 's/^(.*) \.\.\. ignored.*$/  deno: \1/p' "$log/deno.txt"
fi

# tee's status is what the pipelines above report, so the counts decide.
if [ "$bun_fail" -gt 0 ] || [ "$deno_fail" -gt 0 ]; then status=1; fi

deno_pass=$((deno_pass + check_pass))
deno_fail=$((deno_fail + check_fail))
echo "bun: $bun_pass passed, $bun_fail failed, $bun_skip skipped; deno (tests, check, doc check, lint, tsc, publish): $deno_pass passed, $deno_fail failed, $deno_skip skipped"
echo "$((bun_pass + deno_pass)) passed, $((bun_fail + deno_fail)) failed, $((bun_skip + deno_skip)) skipped"
exit $status
