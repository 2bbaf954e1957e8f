/**
 * Build-time compilation with a Bun macro: the policy is compiled while the
 * application is bundled, and only the resulting filter bytes end up in the
 * bundle (or in the `bun build --compile` executable). The policy file is not
 * needed at run time, and a policy error fails the build with the usual
 * `file:line:col: error: ...` diagnostics.
 *
 * Import it with `with { type: "macro" }` from a Bun-only entry file (Deno
 * rejects modules that contain a macro import, which is also why the block
 * below is the one code block that `deno check --doc-only` skips;
 * test/macro.test.ts builds such an import with Bun):
 *
 * ```ts ignore
 * import { compilePolicyFile } from "seccompiler/macro" with { type: "macro" };
 * import { applyFilter, deserializeBinary } from "seccompiler";
 *
 * const filters = deserializeBinary(Uint8Array.fromBase64(compilePolicyFile("policies/app.json", "x86_64")));
 * await applyFilter(filters.get("main")!);
 * ```
 *
 * Macros can only return JSON-like values, so the container comes back as a
 * base64 string (a `Uint8Array` is a build error).
 *
 * **Security:** build the executable with `bun build --compile
 * --no-compile-autoload-bunfig --no-compile-autoload-dotenv`. Without the
 * first flag the executable reads a `bunfig.toml` from the directory it is
 * started in, and a `preload` script listed there runs before the entry file,
 * so before the filter is installed: whoever can write to that directory runs
 * code in the process with no filter at all. Without the second, a `.env`
 * there sets environment variables before the program starts.
 *
 * @module
 */
import { readFileSync, writeSync } from "node:fs";
import type { ArchName } from "./arch/arch.ts";
import { compilePolicy } from "./compile.ts";
import { serializeBinary } from "./container.ts";
import { formatDiagnostic, PolicyError } from "./diagnostics.ts";

/**
 * Compiles the policy at `path` (relative to the directory `bun build` runs
 * in) for `arch` and returns the Firecracker container, base64-encoded.
 * Throws, failing the build, when the policy is invalid.
 *
 * @example
 * ```ts
 * // Imported as shown in the module documentation (`with { type: "macro" }`), this call runs at build time.
 * const container = Uint8Array.fromBase64(compilePolicyFile("policies/example.json", "x86_64"));
 * ```
 */
export function compilePolicyFile(path: string, arch: ArchName, options: { basic?: boolean } = {}): string {
  const text = readFileSync(path, "utf8");
  try {
    const { programs } = compilePolicy(text, arch, { file: path, basic: options.basic ?? false });
    return Buffer.from(serializeBinary(programs)).toString("base64");
  } catch (error) {
    if (error instanceof PolicyError) {
      // Bun reports an exception thrown by a macro only as "cannot coerce Exception", so the
      // diagnostics go to stderr first; the throw then fails the build.
      const message = `seccompiler: ${path} does not compile:\n${error.diagnostics.map((d) => formatDiagnostic(d, text)).join("\n")}`;
      writeSync(2, `${message}\n`);
      throw new Error(message);
    }
    throw error;
  }
}
