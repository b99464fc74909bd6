// Control events and their pure fold (@tenantry/core).
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { checkControlEvent, controlState, INITIAL_CONTROL_STATE, isCoreError, nextControlState } from '@tenantry/core';
import { arbitraryControlEvent, envelopeOf as env } from '../helpers/control.js';
import { expectCodedError } from '../helpers/errors.js';

describe('controlState', () => {
  it('starts in NORMAL mode with nothing frozen, locked or set', () => {
    const s = controlState([]);
    expect([s.mode, s.frozen.size, s.locked.size, s.envelopes.size]).toEqual(['NORMAL', 0, 0, 0]);
  });

  it('keeps the first lockdown of a locked tenant, replaces a freeze reason, and lifts both', () => {
    const s = controlState([
      { type: 'lockdown', tenant_id: 'acme', by: 'policy', reason: '1 cross-tenant violation', violations: 1 },
      { type: 'lockdown', tenant_id: 'acme', by: 'ops', reason: 'again', violations: 0 },
      { type: 'freeze', tenant_id: 'acme', source: 'OVERRUN', reason: 'OVERRUN' },
      { type: 'freeze', tenant_id: 'acme', source: 'admin', reason: 'invoice unpaid' },
      { type: 'freeze', tenant_id: '__proto__', source: 'COST_LIMITER', reason: 'COST_LIMITER' },
      { type: 'mode', mode: 'INCIDENT', requested_by: 'ops' },
    ]);
    expect(s.locked.get('acme')).toEqual({ by: 'policy', reason: '1 cross-tenant violation', violations: 1 });
    expect(s.frozen.get('acme')).toEqual({ source: 'admin', reason: 'invoice unpaid' });
    expect(s.frozen.get('__proto__')).toEqual({ source: 'COST_LIMITER', reason: 'COST_LIMITER' });
    expect(s.mode).toBe('INCIDENT');
    const after = controlState([
      { type: 'unlock', tenant_id: 'acme', by: 'ops', reason: 'cleared' },
      { type: 'unfreeze', tenant_id: 'acme', by: 'admin' },
    ], s);
    expect([after.locked.has('acme'), after.frozen.has('acme'), after.frozen.has('__proto__')]).toEqual([false, false, true]);
  });

  it('is the same as applying the events one at a time, and never changes its input', () => {
    fc.assert(fc.property(fc.array(arbitraryControlEvent(['acme', 'globex', '__proto__']), { maxLength: 60 }), (events) => {
      const folded = controlState(events);
      let stepped = INITIAL_CONTROL_STATE;
      for (const e of events) {
        const before = structuredClone(stepped);
        const next = nextControlState(stepped, e);
        expect(stepped).toEqual(before);
        stepped = next;
      }
      expect(folded).toEqual(stepped);
      // Folding in two parts gives the same state as folding at once.
      const half = Math.floor(events.length / 2);
      expect(controlState(events.slice(half), controlState(events.slice(0, half)))).toEqual(folded);
    }), { numRuns: 300 });
  });

  it('is deterministic: the same events give the same state', () => {
    fc.assert(fc.property(fc.array(arbitraryControlEvent(['a', 'b']), { maxLength: 30 }), (events) => {
      expect(controlState(events)).toEqual(controlState(structuredClone(events)));
    }), { numRuns: 100 });
  });
});

describe('checkControlEvent', () => {
  it('accepts every well-formed event and returns an equal copy', () => {
    fc.assert(fc.property(arbitraryControlEvent(['acme', '__proto__']), (e) => {
      const checked = checkControlEvent(e);
      expect(checked).toEqual(e);
      expect(checked).not.toBe(e);
    }), { numRuns: 200 });
  });

  it.each([
    ['not an object', 'x', 'INVALID_CONTROL_EVENT', 'event'],
    ['an unknown type', { type: 'delete_everything' }, 'INVALID_CONTROL_EVENT', 'event.type'],
    ['an unknown field', { type: 'mode', mode: 'AUDIT', requested_by: 'ops', extra: 1 }, 'INVALID_CONTROL_EVENT', 'event.extra'],
    ['a bad mode', { type: 'mode', mode: 'PANIC', requested_by: 'ops' }, 'INVALID_CONTROL_EVENT', 'event.mode'],
    ['a bad freeze source', { type: 'freeze', tenant_id: 'acme', source: 'someone', reason: 'r' }, 'INVALID_CONTROL_EVENT', 'event.source'],
    ['an empty reason', { type: 'unlock', tenant_id: 'acme', by: 'ops', reason: '' }, 'INVALID_CONTROL_EVENT', 'event.reason'],
    ['a lone surrogate in a reason', { type: 'freeze', tenant_id: 'acme', source: 'admin', reason: 'x\ud800' }, 'INVALID_CONTROL_EVENT', 'event.reason'],
    ['a tenant id over 120 bytes', { type: 'unfreeze', tenant_id: 't'.repeat(130), by: 'ops' }, 'INVALID_TENANT_ID', 'event.tenant_id'],
    ['a negative violation count', { type: 'lockdown', tenant_id: 'acme', by: 'p', reason: 'r', violations: -1 }, 'INVALID_CONTROL_EVENT', 'event.violations'],
    ['an envelope of another tenant', { type: 'envelope', tenant_id: 'acme', envelope: env('globex', 1) }, 'INVALID_CONTROL_EVENT', 'event.envelope.tenant_id'],
  ])('refuses %s, naming the field', (_name, v, code, field) => {
    expectCodedError(() => checkControlEvent(v), isCoreError, code, field);
  });
});
