/**
 * The seccompiler version, kept in step with package.json by a test.
 *
 * @module
 */

/** Semantic version of this seccompiler build. */
export const VERSION = "0.1.0";
