// Protocol 1.0 federated audit root: the global root of a set of nodes is
//   hex(SHA-256(UTF-8(root_1 ‖ root_2 ‖ … ‖ root_n)))
// over the nodes' lowercase hex roots, in ascending node-id order.
//
// Node ids are ordered by their UTF-8 bytes (as Go's sort.Strings and a byte-wise memcmp do), so
// every implementation of the protocol agrees; for ASCII ids this is the same as JS's default sort.
import { compareTenantIds, isObject } from '@tenantry/core';
import { sha256 } from '@tenantry/kernels';
import { AuditError } from './errors.js';

const HEX_ROOT = /^[0-9a-f]{64}$/;
const encoder = new TextEncoder();

/**
 * The protocol 1.0 global root over `nodeRoots` (node id → lowercase hex root of 32 bytes).
 * An empty set gives SHA-256 of the empty string.
 * @throws AuditError INVALID_ARGUMENT when nodeRoots is not a plain object, a node id is empty,
 *   or a root is not 64 lowercase hex digits (the field names the node).
 * @example federatedRoot({ 'node-b': b, 'node-a': a }) === hex(sha256(utf8(a + b)))
 */
export function federatedRoot(nodeRoots: Record<string, string>): string {
  if (!isObject(nodeRoots)) {
    throw new AuditError('INVALID_ARGUMENT', 'nodeRoots must be an object mapping node ids to hex roots', { field: 'nodeRoots' });
  }
  const ids = Object.keys(nodeRoots);
  for (const id of ids) {
    const field = `nodeRoots[${JSON.stringify(id)}]`;
    if (id.length === 0) throw new AuditError('INVALID_ARGUMENT', `${field}: node ids must be non-empty`, { field });
    const root = nodeRoots[id];
    if (typeof root !== 'string' || !HEX_ROOT.test(root)) {
      throw new AuditError('INVALID_ARGUMENT', `${field} must be 64 lowercase hex digits`, { field });
    }
  }
  ids.sort(compareTenantIds);
  const digest = sha256(encoder.encode(ids.map((id) => nodeRoots[id]).join('')));
  return Buffer.from(digest).toString('hex');
}
