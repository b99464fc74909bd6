// One error base (@tenantry/core): every package's guard recognises its own errors — also from another
// copy of the package — and never another package's.
import { describe, expect, it } from 'vitest';
import { AuditError, isAuditError } from '@tenantry/audit';
import { CoreError, ERROR_BRAND, errorPackage, isCoreError, isTenantryError, TenantryError } from '@tenantry/core';
import { GatewayError, isGatewayError } from '@tenantry/gateway';
import { isKernelError, KernelRangeError, KernelTypeError, KernelUnavailableError, PoolClosedError } from '@tenantry/kernels';
import { isPolicyError, PolicyError } from '@tenantry/policy';
import { isQuotaError, QuotaError } from '@tenantry/quota';

const made = {
  core: () => new CoreError('INVALID_ARGUMENT', 'x must be y', { field: 'x' }),
  kernels: () => new KernelRangeError('INVALID_LENGTH', 'data must be 32 bytes', 'data'),
  kernelsType: () => new KernelTypeError('INVALID_BYTES', 'data must be bytes', 'data'),
  kernelsUnavailable: () => new KernelUnavailableError('no wasm'),
  kernelsPool: () => new PoolClosedError(),
  audit: () => new AuditError('LOG_CORRUPT', 'tenant acme entry 3 is corrupt', { tenantId: 'acme', index: 3 }),
  policy: () => new PolicyError('INVALID_DATA', 'tenants must be an object', { field: 'tenants' }),
  quota: () => new QuotaError('INVALID_AMOUNT', 'usd must be a number', { field: 'usd' }),
  gateway: () => new GatewayError('INVALID_TENANTS', 'tenants must be an array', 'tenants'),
};
const guards: Record<string, (e: unknown) => boolean> = {
  core: isCoreError, kernels: isKernelError, audit: isAuditError, policy: isPolicyError, quota: isQuotaError, gateway: isGatewayError,
};
const owner = (name: string) => (name.startsWith('kernels') ? 'kernels' : name);

describe('per-package error guards', () => {
  for (const [name, make] of Object.entries(made)) {
    it(`${name}: only its own package's guard matches it`, () => {
      const e = make();
      for (const [pkg, guard] of Object.entries(guards)) expect(guard(e), `${pkg} guard on a ${name} error`).toBe(pkg === owner(name));
      expect(isTenantryError(e)).toBe(true);
      expect(errorPackage(e)).toBe(owner(name));
      expect(typeof (e as { code: unknown }).code).toBe('string');
    });
  }

  it('a QuotaError is not an AuditError nor a KernelError', () => {
    const e = made.quota();
    expect(isAuditError(e)).toBe(false);
    expect(isKernelError(e)).toBe(false);
  });

  it('recognises an error thrown by another copy of the package (no instanceof)', () => {
    // What a second copy of @tenantry/audit would throw: its own class, the same registered brand.
    class OtherCopyAuditError extends Error {
      readonly code = 'LOG_CORRUPT';
      readonly field = undefined;
    }
    const e = new OtherCopyAuditError('corrupt');
    Object.defineProperty(e, Symbol.for('@tenantry/error'), { value: 'audit' });
    expect(e instanceof AuditError).toBe(false);
    expect(isAuditError(e)).toBe(true);
    expect(isQuotaError(e)).toBe(false);
  });

  it('does not take plain objects, strings or errors without a code for tenantry errors', () => {
    for (const v of [null, undefined, 'AuditError', { code: 'LOG_CORRUPT' }, new Error('x'), { [ERROR_BRAND]: 'audit' }]) {
      expect(isTenantryError(v)).toBe(false);
      expect(isAuditError(v)).toBe(false);
    }
  });

  it('keeps TypeError and RangeError for kernels, and the base class for every other package', () => {
    expect(made.kernelsType()).toBeInstanceOf(TypeError);
    expect(made.kernels()).toBeInstanceOf(RangeError);
    for (const name of ['core', 'audit', 'policy', 'quota', 'gateway'] as const) expect(made[name]()).toBeInstanceOf(TenantryError);
  });

  it('carries code, field and package', () => {
    const e = made.policy();
    expect([e.code, e.field, e.package, e.name]).toEqual(['INVALID_DATA', 'tenants', 'policy', 'PolicyError']);
  });
});
