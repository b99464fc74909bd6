// append → checkpoint → receipt → offline verification, on the embedded default (a directory).
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AuditLedger, generateNoteKey, verifyReceipt } from '@tenantry/audit';

const dir = await mkdtemp(join(tmpdir(), 'tenantry-audit-example-'));
const { signerKey, verifierKey } = generateNoteKey('gateway-1.example');

// The node: a durable per-tenant log whose checkpoints it signs with its note key.
const ledger = await AuditLedger.open(dir, { signerKey });
const { index, leaf_hash } = await ledger.append('acme', { kind: 'invoke', payload: { model: 'm-1', usd: 0.42 } });
await ledger.append('globex', { kind: 'invoke', payload: { model: 'm-2', usd: 1.5 } });

// A receipt chains the entry to the tenant root, the node root and a signed checkpoint.
const receipt = await ledger.receipt('acme', index);
await ledger.close();

// Anyone holding the receipt and the node's verifier key can check it, offline.
console.log(`entry ${index} of acme, leaf ${leaf_hash}`);
console.log(`receipt verifies: ${verifyReceipt(receipt, [verifierKey])}`);
console.log(`with another key: ${verifyReceipt(receipt, [generateNoteKey('gateway-1.example').verifierKey])}`);
console.log(`tampered leaf:    ${verifyReceipt({ ...receipt, leaf_hash: '00'.repeat(32) }, [verifierKey])}`);
await rm(dir, { recursive: true, force: true });
