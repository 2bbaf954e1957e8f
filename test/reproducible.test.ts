// deno-facing
/**
 * Reproducibility: the same policy compiled twice gives byte-identical
 * output, and so does the same policy with its threads, its syscalls, the
 * rules of a syscall or the conditions of a rule written in another order —
 * none of those orders carries meaning (threads are a map, rules are ORed,
 * conditions are ANDed).
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import fc from "fast-check";
import { compileFromJson } from "../src/compile.ts";
import { serializeBinary } from "../src/container.ts";
import type { ArchName } from "../src/arch/arch.ts";
import type { Filter } from "../src/ir.ts";
import { filterArb, policyText, propertyTimeout, runSettings } from "./support/arbitraries.ts";
import { CORPUS, HAVE_CORPUS } from "./support/paths.ts";

/** The container bytes a policy compiles to. */
function containerBytes(text: string, arch: ArchName): Uint8Array {
  return serializeBinary(compileFromJson(text, arch));
}

/** A policy document with several threads, in the given thread order. */
function documentText(threads: readonly (readonly [string, Filter])[]): string {
  return `{${threads.map(([name, filter]) => policyText(filter, name).slice(1, -1)).join(",")}}`;
}

/** Same filter, with syscalls, rules and conditions permuted by `random` (a fast-check random source). */
function permuted(filter: Filter, order: { syscalls: boolean; rules: boolean; conditions: boolean }, random: () => number): Filter {
  const shuffle = <T>(items: readonly T[], enabled: boolean): T[] => {
    const out = [...items];
    if (!enabled) return out;
    for (let i = out.length - 1; i > 0; i--) {
      const j = Math.floor(random() * (i + 1));
      [out[i], out[j]] = [out[j], out[i]];
    }
    return out;
  };
  return {
    ...filter,
    syscalls: shuffle(filter.syscalls, order.syscalls).map((s) => ({
      ...s,
      rules: shuffle(s.rules, order.rules).map((r) => ({ conditions: shuffle(r.conditions, order.conditions) })),
    })),
  };
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((byte, i) => byte === b[i]);
}

/** A seeded pseudo-random source for shuffles (mulberry32). */
function seeded(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe("reproducible output", () => {
  test("the corpus compiles to identical bytes twice, and with its threads in any order", { skip: !HAVE_CORPUS && "corpus absent" }, () => {
    let files = 0;
    for (const name of readdirSync(CORPUS).filter((f) => f.endsWith(".json"))) {
      const arch: ArchName = name.startsWith("aarch64") ? "aarch64" : "x86_64";
      const text = readFileSync(join(CORPUS, name), "utf8");
      const first = containerBytes(text, arch);
      assert.ok(sameBytes(first, containerBytes(text, arch)), `${name}: two compilations differ`);
      // The corpus holds no number above 2^53, so JSON.parse keeps every value exact.
      const threads = Object.entries(JSON.parse(text) as Record<string, unknown>);
      for (const order of [threads.slice().reverse(), [...threads.slice(1), threads[0]]]) {
        const reordered = JSON.stringify(Object.fromEntries(order));
        assert.ok(sameBytes(first, containerBytes(reordered, arch)), `${name}: thread order changed the output`);
      }
      files++;
    }
    assert.ok(files >= 3);
  });

  // One test per kind of reordering, so a failure names what the output still depends on.
  const kinds = [
    ["threads", null],
    ["syscalls", { syscalls: true, rules: false, conditions: false }],
    ["the rules of a syscall", { syscalls: false, rules: true, conditions: false }],
    ["the conditions of a rule", { syscalls: false, rules: false, conditions: true }],
  ] as const;
  for (const [index, [what, order]] of kinds.entries()) {
    test(`random policies: ${what} in another order give the same bytes`, { timeout: propertyTimeout(120_000) }, () => {
      const settings = runSettings(`reproducible-${index}`, 0x5ecc_0009 + index, 100);
      let compared = 0;
      fc.assert(
        fc.property(fc.constantFrom<ArchName>("x86_64", "aarch64", "s390x"), fc.integer(), (arch, shuffleSeed) => {
          const [a, b, c] = fc.sample(filterArb({ arches: [arch], maxSyscalls: 40 }), { seed: shuffleSeed, numRuns: 3 });
          const threads = [["vmm", a], ["api", b], ["vcpu", c]] as const;
          const reference = containerBytes(documentText(threads), arch);
          assert.ok(sameBytes(reference, containerBytes(documentText(threads), arch)), "two compilations differ");
          const random = seeded(shuffleSeed);
          const other = order === null
            ? documentText([threads[2], threads[0], threads[1]])
            : documentText(threads.map(([name, filter]) => [name, permuted(filter, order, random)] as const));
          assert.ok(sameBytes(reference, containerBytes(other, arch)), `reordering ${what} changed the output`);
          compared++;
        }),
        settings,
      );
      if (settings.checkCoverage) assert.equal(compared, settings.numRuns);
    });
  }
});
