/**
 * Finding the program to run the way `execvp(3)` does, before anything is
 * installed: after the filter is on, a failed `execve` can no longer be
 * reported reliably, so every predictable failure is caught here.
 *
 * @module
 */
import { type FileAccess, LINUX_FILE_FLAGS, nodeFileAccess } from "../files.ts";

/** glibc's `confstr(_CS_PATH)`: the search path `execvp` uses when `PATH` is unset. */
export const DEFAULT_SEARCH_PATH = "/bin:/usr/bin";

/** The outcome of {@link resolveCommand}. */
export type Resolution =
  | { readonly ok: true; readonly path: string }
  | {
    readonly ok: false;
    /** `not-found` maps to exit 127, `not-executable` to 126 (as in env(1)). */
    readonly reason: "not-found" | "not-executable";
    readonly message: string;
    readonly hint?: string;
  };

/**
 * Resolves `command` like `execvp`: a name containing `/` is used as is;
 * otherwise each `PATH` entry is tried in order (an empty entry means the
 * current directory) and the first executable regular file wins. When only
 * non-executable candidates exist the result is `not-executable` (execvp's
 * EACCES), otherwise `not-found`.
 *
 * The file must also start with an ELF header or `#!`: `execve` refuses
 * anything else with ENOEXEC, which the launcher could only discover after the
 * filter is installed. (`execvp` would retry such a file with `/bin/sh`; the
 * launcher refuses it instead.)
 *
 * @example
 * ```ts
 * resolveCommand("true", "/usr/bin:/bin"); // { ok: true, path: "/usr/bin/true" }
 * ```
 */
export function resolveCommand(command: string, searchPath: string | undefined, files: FileAccess = nodeFileAccess()): Resolution {
  if (command === "") {
    return { ok: false, reason: "not-found", message: "the command is an empty string" };
  }
  if (command.includes("/")) return checkCandidate(command, command, files);
  let sawNotExecutable: Resolution | undefined;
  for (const entry of (searchPath ?? DEFAULT_SEARCH_PATH).split(":")) {
    const candidate = `${entry === "" ? "." : entry.replace(/\/+$/, "")}/${command}`;
    const result = checkCandidate(candidate, command, files);
    if (result.ok) return result;
    if (result.reason === "not-executable") sawNotExecutable ??= result;
  }
  if (sawNotExecutable) return sawNotExecutable;
  return {
    ok: false,
    reason: "not-found",
    message: `${command}: command not found in PATH`,
    hint: searchPath === undefined ? `PATH is unset, so only ${DEFAULT_SEARCH_PATH} was searched` : undefined,
  };
}

/** Whether `path` can be exec'd; `shown` is how the user wrote the command. @private */
function checkCandidate(path: string, shown: string, files: FileAccess): Resolution {
  let isFile: boolean;
  try {
    isFile = files.statSync(path).isFile();
  } catch (error) {
    const code = (error as { code?: string }).code;
    if (code === "EACCES") {
      return { ok: false, reason: "not-executable", message: `${path}: permission denied` };
    }
    return { ok: false, reason: "not-found", message: `${shown}: no such file or directory` };
  }
  if (!isFile) {
    return { ok: false, reason: "not-executable", message: `${path}: not a regular file` };
  }
  try {
    files.accessSync(path, LINUX_FILE_FLAGS.X_OK);
  } catch (error) {
    // Only the kernel's "no" means not executable; a runtime's permission refusal is reported as itself.
    const code = (error as { code?: string }).code;
    if (code !== "EACCES" && code !== "EPERM") throw error;
    return {
      ok: false,
      reason: "not-executable",
      message: `${path}: permission denied (not executable)`,
      hint: `make it executable (chmod +x ${path}) or run it through its interpreter`,
    };
  }
  const format = executableFormat(path, files);
  if (format === "unknown") {
    return {
      ok: false,
      reason: "not-executable",
      message: `${path}: not an ELF executable or a #! script (execve would fail with ENOEXEC)`,
      hint: "add a #! line to the script, or run it through its interpreter",
    };
  }
  return { ok: true, path };
}

/**
 * What kind of file `path` is, from its first bytes: `elf`, `script` (`#!`),
 * `unknown`, or `unreadable` (execute-only files cannot be checked; `execve`
 * may still run them).
 *
 * @example
 * ```ts
 * executableFormat("/bin/sh"); // "elf"
 * ```
 */
export function executableFormat(path: string, files: FileAccess = nodeFileAccess()): "elf" | "script" | "unknown" | "unreadable" {
  let fd: number;
  try {
    fd = files.openSync(path, LINUX_FILE_FLAGS.O_RDONLY);
  } catch {
    return "unreadable";
  }
  try {
    const head = new Uint8Array(4);
    const length = files.readSync(fd, head, 0, 4, 0);
    if (length === 4 && head[0] === 0x7f && head[1] === 0x45 && head[2] === 0x4c && head[3] === 0x46) return "elf";
    if (length >= 2 && head[0] === 0x23 && head[1] === 0x21) return "script";
    return "unknown";
  } finally {
    files.closeSync(fd);
  }
}
