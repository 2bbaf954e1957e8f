/**
 * The example's filter, written in TypeScript: on this machine's architecture,
 * `mkdir` and `mkdirat` fail with EPERM, everything else is allowed.
 */
import { ALLOW, errno, type Filter, hostArch, seccompFilter } from "seccompiler";

const arch = hostArch();
if (arch === undefined) throw new Error("seccompiler does not support this CPU architecture");

/** mkdir and mkdirat → EPERM. */
export const denyMkdir: Filter = seccompFilter({
  arch,
  mismatchAction: ALLOW,
  matchAction: errno(1),
  rules: { mkdir: [], mkdirat: [] },
});
