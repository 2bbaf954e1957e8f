#!/bin/sh
# Prints "NAME CODE" for the ioctl requests in policies/vmm-ioctl.json, computed by the C
# compiler from the installed Linux UAPI headers (Debian: linux-libc-dev), so the codes in the
# fixture can be checked against the kernel's own definitions:
#
#   sh scripts/ioctl-codes.sh | sort > /tmp/codes.txt
#
# Names a header does not define on this machine are left out.
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
names=$(grep -o '"comment": "[A-Z0-9_]*"' "$root/policies/vmm-ioctl.json" | sed 's/.*: "\(.*\)"/\1/')
{
  printf '#include <stdio.h>\n#include <linux/kvm.h>\n#include <linux/vfio.h>\n#include <linux/vhost.h>\n'
  printf '#include <linux/if_tun.h>\n#include <linux/sockios.h>\n#include <asm/ioctls.h>\nint main(void) {\n'
  for name in $names; do
    printf '#ifdef %s\n  printf("%s %%u\\n", (unsigned)(%s));\n#endif\n' "$name" "$name" "$name"
  done
  printf '  return 0;\n}\n'
} > "$work/codes.c"
cc -o "$work/codes" "$work/codes.c"
"$work/codes"
