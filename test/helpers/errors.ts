// One assertion for the typed errors of every tenantry package: `fn` must throw an error that the
// package's guard recognises, with the expected stable code and, when given, the field it names (also
// named in the message).
import { expect } from 'vitest';

/** Calls `fn` and reports whether it threw, and what. */
export function thrownBy(fn: () => unknown): { threw: boolean; caught: unknown } {
  try {
    fn();
  } catch (caught) {
    return { threw: true, caught };
  }
  return { threw: false, caught: undefined };
}

export function expectCodedError(fn: () => unknown, guard: (e: unknown) => boolean, code: string, field?: string): void {
  const { caught } = thrownBy(fn);
  expect(guard(caught), `expected a typed error with code ${code}, got ${String(caught)}`).toBe(true);
  const e = caught as { code: string; field?: string; message: string };
  expect(e.code, e.message).toBe(code);
  if (field !== undefined) {
    expect(e.field).toBe(field);
    expect(e.message).toContain(field);
  }
}

/** As expectCodedError, for a promise that must reject. */
export async function expectCodedRejection(p: Promise<unknown>, guard: (e: unknown) => boolean, code: string, field?: string): Promise<void> {
  const caught = await p.then(() => undefined, (e: unknown) => e);
  expectCodedError(() => {
    throw caught;
  }, guard, code, field);
}
