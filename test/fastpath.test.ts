// deno-facing
/**
 * The fast path for valid policies (src/policy/fast.ts) against the
 * positioned front end: it answers for real policies, declines whatever it
 * cannot prove valid and warning-free, and never disagrees. The front-end
 * (policy.test.ts) and hostile-input (hostile.test.ts) suites also run every
 * input both ways, through test/support/both-paths.ts.
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import fc from "fast-check";
import { type ArchName, getArch } from "../src/arch/arch.ts";
import { compileValidPolicy } from "../src/compile_valid.ts";
import { parseValidPolicy } from "../src/policy/fast.ts";
import { parsePolicy } from "../src/policy/frontend.ts";
import { filterArb, policyText, propertyTimeout, runSettings } from "./support/arbitraries.ts";
import { compileBothWays } from "./support/both-paths.ts";
import { CORPUS, HAVE_CORPUS, REPO_ROOT } from "./support/paths.ts";

/** Both ways; returns the fast path's answer after checking it against the positioned front end. */
function both(text: string, arch: ArchName = "x86_64", basic = false) {
  const fast = parseValidPolicy(text, getArch(arch), basic);
  const positioned = parsePolicy(text, arch, { basic });
  if (fast !== undefined) {
    assert.deepEqual(positioned.diagnostics, []);
    assert.deepEqual(fast, positioned.filters);
  }
  return { fast, positioned };
}

const filter = (rules: string, actions = '"default_action": "trap", "filter_action": "allow"') =>
  `{"t": {${actions}, "filter": [${rules}]}}`;
const cond = (c: string) => filter(`{"syscall": "ioctl", "args": [${c}]}`);

describe("fast path: real policies take it", () => {
  const files: { path: string; arch: ArchName }[] = [];
  const visit = (dir: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) visit(path);
      else if (entry.name.endsWith(".json") && !entry.name.endsWith(".schema.json")) {
        files.push({ path, arch: entry.name.startsWith("aarch64") ? "aarch64" : "x86_64" });
      }
    }
  };
  if (HAVE_CORPUS) visit(CORPUS);
  visit(join(REPO_ROOT, "policies"));
  test("policies found", () => assert.ok(files.length >= 2, files.map((f) => f.path).join(", ")));
  for (const { path, arch } of files) {
    test(`${path.slice(path.lastIndexOf("/", path.lastIndexOf("/") - 1) + 1)} (${arch})`, () => {
      const text = readFileSync(path, "utf8");
      const { fast } = both(text, arch);
      assert.ok(fast !== undefined, "the fast path declined a valid policy");
      compileBothWays(text, arch);
    });
  }
});

describe("fast path: valid policies it answers exactly", () => {
  const cases: [string, string][] = [
    ["2^64 - 1 as a qword value and mask", cond('{"index": 0, "type": "qword", "op": {"masked_eq": 18446744073709551615}, "val": 18446744073709551615}')],
    ["2^53 + 1 (rounded by JSON.parse)", cond('{"index": 0, "type": "qword", "op": "eq", "val": 9007199254740993}')],
    ["2^53 exactly", cond('{"index": 0, "type": "qword", "op": "le", "val": 9007199254740992}')],
    ["a thread named __proto__", '{"__proto__": {"default_action": "trap", "filter_action": "allow", "filter": [{"syscall": "read"}]}}'],
    ["numeric thread names, sorted as strings", '{"10": {"default_action": "trap", "filter_action": "allow", "filter": []}, "9": {"default_action": "trap", "filter_action": "allow", "filter": []}}'],
    ["escapes in names and strings with digits, colons and minus signs", filter('{"syscall": "re\\u0061d", "comment": "\\"x\\": -1.5e3, \\\\"}')],
    ["rust-vmm key names, mixed dialects", filter('{"syscall": "read"}', '"mismatch_action": {"errno": 1}, "filter_action": {"trace": 65535}')],
    ["errno 4095 and null args/comment", filter('{"syscall": "read", "args": null, "comment": null}', '"default_action": {"errno": 4095}, "filter_action": "log"')],
    ["aliases of one syscall grouped, conditions in order", filter('{"syscall": "ioctl", "args": [{"index": 1, "type": "dword", "op": "eq", "val": 2}]}, {"syscall": "ioctl", "args": [{"index": 1, "type": "dword", "op": "eq", "val": 1}]}')],
    ["no whitespace at all", '{"t":{"default_action":"trap","filter_action":"allow","filter":[{"syscall":"read"}]}}'],
    ["an empty policy", "{}"],
  ];
  for (const [name, text] of cases) {
    test(name, () => {
      const { fast } = both(text);
      assert.ok(fast !== undefined, "declined");
      compileBothWays(text, "x86_64");
    });
  }

  test("select: programs only for the chosen threads, identical to a full compile's; every thread still validated", () => {
    const text = readFileSync(join(REPO_ROOT, "policies", "example.json"), "utf8");
    const full = compileValidPolicy(text, "x86_64")!;
    const seen: string[][] = [];
    const one = compileValidPolicy(text, "x86_64", false, (filters) => (seen.push([...filters.keys()]), ["vmm"]))!;
    assert.deepEqual(seen, [[...full.programs.keys()]], "select sees every validated thread");
    assert.deepEqual([...one.programs.keys()], ["vmm"]);
    assert.deepEqual(one.programs.get("vmm"), full.programs.get("vmm"));
    const broken = JSON.stringify({ ...JSON.parse(text), other: { default_action: "trap", filter_action: "allow", filter: [{ syscall: "opne" }] } });
    assert.equal(compileValidPolicy(broken, "x86_64", false, () => ["vmm"]), undefined, "an error elsewhere declines");
    assert.throws(() => compileValidPolicy(text, "x86_64", false, () => { throw new Error("no such thread"); }), /no such thread/);
  });

  test("values above 2^53 are exact", () => {
    const { fast } = both(cond('{"index": 0, "type": "qword", "op": "eq", "val": 9007199254740993}'));
    assert.equal(fast?.get("t")?.syscalls[0].rules[0].conditions[0].value, 9007199254740993n);
  });
});

describe("fast path: declines what only the positioned front end may judge", () => {
  const cases: [string, string, ArchName?][] = [
    ["a comment", `// policy\n${filter('{"syscall": "read"}')}`],
    ["a duplicate key", '{"t": {"default_action": "trap", "default_action": "kill_process", "filter_action": "allow", "filter": []}}'],
    ["a duplicate thread", '{"t": {"default_action": "trap", "filter_action": "allow", "filter": []}, "t": {"default_action": "trap", "filter_action": "allow", "filter": []}}'],
    ["1.0", cond('{"index": 1.0, "type": "dword", "op": "eq", "val": 1}')],
    ["1e0", cond('{"index": 1, "type": "dword", "op": "eq", "val": 1e0}')],
    ["10E-1", cond('{"index": 1, "type": "dword", "op": "eq", "val": 10E-1}')],
    ["-0", cond('{"index": -0, "type": "dword", "op": "eq", "val": 1}')],
    ["1.0 with whitespace around the colon", cond('{"index": 1, "type": "dword", "op": "eq", "val"\n :\t 1.0}')],
    ["a fraction in an array", filter('{"syscall": "read", "args": [1.5]}')],
    ["an exponent in a mask", cond('{"index": 1, "type": "dword", "op": {"masked_eq": 4e0}, "val": 0}')],
    ["2^64", cond('{"index": 0, "type": "qword", "op": "eq", "val": 18446744073709551616}')],
    ["two values that round to one double", filter('{"syscall": "ioctl", "args": [{"index": 0, "type": "qword", "op": "eq", "val": 18446744073709551615}]}, {"syscall": "ioctl", "args": [{"index": 0, "type": "qword", "op": "eq", "val": 18446744073709551614}]}')],
    ["a dword value above 2^32 - 1", cond('{"index": 0, "type": "dword", "op": "eq", "val": 4294967296}')],
    ["a masked value outside its mask (a warning)", cond('{"index": 0, "type": "dword", "op": {"masked_eq": 4}, "val": 5}')],
    ["a repeated unconditional rule (a warning)", filter('{"syscall": "read"}, {"syscall": "read"}')],
    ["an unconditional and a conditional rule", filter('{"syscall": "ioctl"}, {"syscall": "ioctl", "args": [{"index": 0, "type": "dword", "op": "eq", "val": 1}]}')],
    ["equal actions", filter('{"syscall": "read"}', '"default_action": "allow", "filter_action": "allow"')],
    ["a key and its alias", filter('{"syscall": "read"}', '"default_action": "trap", "mismatch_action": "trap", "filter_action": "allow"')],
    ["\"masked_eq\" without a mask", cond('{"index": 0, "type": "dword", "op": "masked_eq", "val": 1}')],
    ["an unknown syscall", filter('{"syscall": "opne"}')],
    ["a syscall of another architecture", filter('{"syscall": "open"}'), "aarch64"],
    ["empty args", filter('{"syscall": "read", "args": []}')],
    ["a number as a string", cond('{"index": "1", "type": "dword", "op": "eq", "val": 1}')],
    ["a comment that is a number", filter('{"syscall": "read", "comment": 1}')],
    ["an action object with two keys", filter('{"syscall": "read"}', '"default_action": {"errno": 1, "trace": 1}, "filter_action": "allow"')],
    ["{\"allow\": null}", filter('{"syscall": "read"}', '"default_action": {"allow": null}, "filter_action": "trap"')],
    ["a BOM", `\uFEFF${filter('{"syscall": "read"}')}`],
    ["a trailing comma", filter('{"syscall": "read"},')],
    ["a top-level array", "[]"],
  ];
  for (const [name, text, arch] of cases) {
    test(name, () => {
      const { fast } = both(text, arch);
      assert.equal(fast, undefined);
      try {
        compileBothWays(text, arch ?? "x86_64");
      } catch { /* refused the same way both ways */ }
    });
  }

  test("--basic: conditions dropped, a mix allowed, the same filters", () => {
    const text = filter('{"syscall": "ioctl"}, {"syscall": "ioctl", "args": [{"index": 0, "type": "dword", "op": "eq", "val": 1}]}');
    const { fast } = both(text, "x86_64", true);
    assert.ok(fast !== undefined);
    compileBothWays(text, "x86_64", { basic: true });
  });
});

describe("fast path: random valid policies", () => {
  test("agree with the positioned front end; it answers for nearly every policy without diagnostics", { timeout: propertyTimeout(120_000) }, () => {
    const settings = runSettings("fastpath", 0x5ecc_0011, 300);
    let clean = 0;
    let answered = 0;
    fc.assert(
      fc.property(filterArb({ maxSyscalls: 20 }), (f) => {
        const text = policyText(f, "main");
        const { fast, positioned } = both(text, f.arch);
        if (positioned.diagnostics.length === 0) clean++;
        if (fast !== undefined) answered++;
        compileBothWays(text, f.arch);
      }),
      settings,
    );
    // Declining is allowed (two values that round to one double), but not as a habit.
    if (settings.checkCoverage) assert.ok(answered >= clean * 0.9 && answered > 20, `the fast path answered ${answered} of ${clean} clean policies`);
  });
});
