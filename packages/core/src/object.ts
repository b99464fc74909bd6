// Shape checks every package needs at its boundary, declared once.

/** A non-null, non-array object (a parsed JSON object, an options bag). */
export function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** How a value reads in an error message: `null`, `an array`, or its typeof. */
export function describeValue(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  return typeof v;
}
