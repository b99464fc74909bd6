// RFC 8785 (JSON Canonicalization Scheme) serialisation of values that are already checked.
//
// RFC 8785 is ECMAScript JSON.stringify with the object keys sorted: §3.2.2.2 escapes strings
// exactly as JSON.stringify does (", \ and U+0000–U+001F; \b \t \n \f \r short forms, otherwise
// \u00xx in lowercase hex; everything else as itself), §3.2.2.3 writes numbers in the ECMAScript
// Number.prototype.toString form (shortest round trip, -0 as 0, exponent from 1e21 and below
// 1e-6), and §3.2.3 sorts the keys of every object by their UTF-16 code units.
//
// safe-stable-stringify in its deterministic mode is that serialisation: it sorts the keys of every
// object with the default string comparison (UTF-16 code units), writes strings as JSON.stringify
// does and finite numbers with String(). It does so about 3.5× faster than canonicalize, the RFC
// co-author's implementation, which re-checks every string for lone surrogates and builds
// intermediate arrays; the durable log serialises every payload on its append path, so that
// difference is a large share of an append. canonicalize remains the reference the test suite
// compares this module against (test/audit/canonical-json.test.ts, with RFC 8785's examples).
//
// Precondition, which is what makes the output RFC 8785 rather than merely deterministic: the value
// is JSON data as entry.ts's _copyPayload returns it — null, booleans, finite numbers, well-formed
// strings (no lone surrogate: RFC 8785 §3.2.2.2 needs them well-formed; JSON.stringify would escape
// them instead), dense arrays and plain objects with no toJSON method, acyclic. Callers check first;
// strict mode still throws on undefined, functions, symbols and non-finite numbers, and
// circularValue: Error on a cycle, so a broken precondition fails loudly rather than writing
// something else.
import { configure } from 'safe-stable-stringify';

const stringify = configure({ deterministic: true, strict: true, bigint: false, circularValue: Error });

/**
 * The RFC 8785 serialisation of `value`. Precondition: `value` is checked JSON data (see the file
 * comment); a tenant id that passed checkTenantId and a payload that passed _copyPayload are.
 */
export function _canonicalJson(value: unknown): string {
  const s = stringify(value);
  // Only a top-level undefined gives undefined, and no caller passes one.
  if (s === undefined) throw new TypeError('internal: canonical JSON of undefined');
  return s;
}
