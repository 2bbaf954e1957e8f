# Sourced (not run) by both wrappers before they start the runtime: bin/seccompiler, the npm package's
# command, and scripts/seccompiler, the repository's. POSIX sh; the one program it starts is od.

# For `exec` and `record`: records the caller's exact environment block, ignored signals and soft
# open-files limit in SECCOMPILER_HANDOVER, read from this process's own /proc entries before sh
# changed anything (sh has rebuilt the environment: order, duplicates, entries without '=', PWD).
# od is the one program started (sh cannot hold the block's NULs); its 8-byte words and final length
# line are decoded by the launcher (src/launcher/handover.ts). SigIgn and the soft open-files limit are
# read with sh's own read: each program started here cost about 5 ms of every launch (docs/bench.md).
# Exits 125 on failure.
# od is found through $seccompiler_tools, which the wrapper sets: /usr/bin, /bin, then only the absolute
# entries of the caller's PATH (an empty entry or "." would run an `od` from the caller's directory).
seccompiler_record_start_state() {
  ignored=
  environ=$(PATH=$seccompiler_tools od -Ad -v -tx8 -w1048576 "/proc/$$/environ") &&
    while IFS= read -r line; do
      case $line in SigIgn:*) ignored=${line#SigIgn:}; break ;; esac
    done <"/proc/$$/status" &&
    [ -n "$ignored" ] &&
    # The soft limit from /proc rather than $(ulimit -Sn): a command substitution forks, about 1.5 ms.
    nofile= &&
    while IFS=' ' read -r field1 field2 field3 soft rest; do
      case "$field1 $field2 $field3" in "Max open files") nofile=$soft; break ;; esac
    done <"/proc/$$/limits" &&
    [ -n "$nofile" ] || {
    echo "seccompiler: error: cannot read this process's environment, signals or limits from /proc" >&2
    exit 125
  }
  # The largest single environment string Linux passes is 128 KiB (MAX_ARG_STRLEN): about 61,000
  # bytes of environment at 17 characters per 8 bytes.
  if [ ${#environ} -gt 131000 ]; then
    echo "seccompiler: error: the environment is over 61000 bytes; the wrapper can hand over at most that much faithfully" >&2
    echo "  hint: use a standalone executable (sh scripts/build.sh in the repository), which reads its environment itself" >&2
    exit 125
  fi
  SECCOMPILER_HANDOVER="2:$nofile:$ignored:$environ"
  export SECCOMPILER_HANDOVER
}

# Removes every BUN_*, NODE_* and DENO_* variable (BUN_OPTIONS, BUN_INSPECT*, NODE_OPTIONS, which Deno
# honours too, DENO_V8_FLAGS, ...) from the runtime's environment: none may inject code into a tool that
# installs seccomp filters. `export -p` lists every exported variable as NAME=value (quoted); a word of a
# value that looks like BUN_X=... only unsets a name that is removed anyway. Names sh cannot unset are
# not variables it passes on.
seccompiler_remove_runtime_variables() {
  # Split on blanks and newlines whatever IFS the shell started with (dash and bash ignore an IFS in
  # the environment; this does not rely on it), and never expand a word as a pattern.
  IFS=' 	
'
  set -f
  for word in $(export -p); do
    case $word in
      BUN_*=* | NODE_*=* | DENO_*=*)
        case ${word%%=*} in *[!A-Za-z0-9_]*) ;; *) unset "${word%%=*}" ;; esac ;;
    esac
  done
  set +f
}

# The runtime's one engine option, as the standalone executable's entry prelude gives it
# (RUNTIME_ENVIRONMENT in src/launcher/prelude.ts): no heap warm-up thread for a short-lived command.
# Set after the caller's BUN_* variables are gone; exec and record give the program the environment
# recorded by seccompiler_record_start_state, without it.
seccompiler_runtime_options() {
  BUN_JSC_useWarmUpMarkedBlocks=0
  export BUN_JSC_useWarmUpMarkedBlocks
}
