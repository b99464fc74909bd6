// Reading a durable entry back from its tenant file, checked against what open verified: the
// record's CRC-32 and length (record.ts), its leaf hash (the one in the tenant's tree) and its chain
// fields (entry.ts). A mismatch means the file changed under the log.
import { hashLeaf } from '@tenantry/kernels';
import { GENESIS_PREV, _parseEntry } from './entry.js';
import { AuditError, _ioError } from './errors.js';
import type { TenantFiles } from './log-files.js';
import type { TenantState } from './log-tenant.js';
import type { StoredEntry } from './log-types.js';
import { RECORD_HEADER_BYTES, _frameAt } from './record.js';
import { _readFully, type Corruption } from './replay.js';

const hex = (b: Uint8Array): string => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex');

/**
 * Reads and checks durable entry `index` (0 ≤ index < t.size) of the tenant. A mismatch is
 * recorded as the tenant's corruption (in t.corruption and `corruptions`) unless an earlier one is
 * known, so that the tenant then refuses appends.
 * @throws AuditError LOG_CORRUPT (tenantId, index), IO_ERROR.
 */
export async function _readEntry(t: TenantState, index: number, files: TenantFiles, corruptions: Map<TenantState, Corruption>): Promise<StoredEntry> {
  const start = t.offsets[index]!;
  const end = index + 1 < t.size ? t.offsets[index + 1]! : t.fileBytes;
  const buf = Buffer.allocUnsafe(end - start);
  let got: number;
  t.users++;
  try {
    got = await _readFully(await files.fd(t), buf, 0, buf.length, start);
  } catch (e) {
    throw _ioError(e, `tenant ${JSON.stringify(t.id)}: cannot read entry ${index}`, t.id, index);
  } finally {
    t.users--;
  }
  const corrupt = (kind: Corruption['kind'], message: string): AuditError => {
    const c: Corruption = { tenantId: t.id, index, kind, offset: start, message: `${message} (found after open)` };
    if (t.corruption === undefined || t.corruption.index > index) {
      t.corruption = c;
      corruptions.set(t, c);
    }
    return new AuditError('LOG_CORRUPT', `tenant ${JSON.stringify(t.id)} entry ${index}: ${c.message}`, { tenantId: t.id, index });
  };
  const length = got === buf.length ? _frameAt(buf, 0, got) : -1;
  if (length !== buf.length - RECORD_HEADER_BYTES) throw corrupt('checksum', 'the record no longer matches its CRC-32 or length');
  const bytes = new Uint8Array(buf.buffer, buf.byteOffset + RECORD_HEADER_BYTES, length);
  const leafHash = hashLeaf(bytes);
  if (hex(leafHash) !== hex(t.tree.leafHash(index))) throw corrupt('checksum', 'the record no longer has the leaf hash it had at open');
  const prev = index === 0 ? GENESIS_PREV : hex(t.tree.leafHash(index - 1));
  const parsed = _parseEntry(bytes, t.id, index, prev);
  if (!parsed.ok) throw corrupt(parsed.kind, parsed.message);
  return { entry: parsed.entry, bytes, leafHash };
}
