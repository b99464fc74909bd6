// The quota's usage rebuilt from the tenants' audit chains at start (docs/architecture.md, "@tenantry/quota"):
// every charge is an `invoke` entry and every admitted reservation an
// `invoke.admit` entry, both durable before the charge or the call, so the chains alone hold what the
// quota must know for a cap to stay a cap across restarts. The quota applies them exactly once
// (quota.restore): on the memory store everything is charged again after a restart; on Redis the store
// is the truth and answers "already settled" for what it has, so a restart never double-counts.
import type { AuditLog } from '@tenantry/audit';
import type { Quota, RestoreRecord, RestoreReport } from '@tenantry/quota';

/**
 * How far back a chain is read, from its newest entry: the longest calendar period a cap covers (a month),
 * with a margin for time zones. Measured from the chain's own timestamps, not a clock, so a rebuild reads
 * the same entries whenever and wherever it runs.
 */
const LOOKBACK_MS = 33 * 86_400_000;


export interface UsageRebuildReport {
  /** Entries read (of every kind), charges and open reservations handed to the quota. */
  entries: number;
  charges: number;
  open: number;
  /** What the quota did with them. */
  quota: RestoreReport;
}

function payloadNumber(p: Record<string, unknown>, key: string): number | undefined {
  const v = p[key];
  return typeof v === 'number' && Number.isFinite(v) ? v : undefined;
}

/**
 * Reads the last LOOKBACK_MS of each tenant's chain (newest first, stopping at the first entry older than
 * that) and hands the quota its charges and the reservations still open, oldest first. A read-only
 * (damaged) chain is read up to its damage.
 * @precondition the tenants' envelopes are set in the quota (restore skips tenants it does not know).
 */
export async function rebuildUsage(log: AuditLog, quota: Quota, tenantIds: readonly string[]): Promise<UsageRebuildReport> {
  const records: RestoreRecord[] = [];
  let entries = 0;
  let charges = 0;
  let open = 0;
  for (const tenantId of tenantIds) {
    let newest: number | undefined;
    /** Charges seen (newest first), by reservation id, waiting for their admission's time. */
    const charged = new Map<string, RestoreRecord & { kind: 'charge' }>();
    const mine: RestoreRecord[] = [];
    for (let i = log.size(tenantId) - 1; i >= 0; i--) {
      const { entry } = await log.entry(tenantId, i);
      entries++;
      const at = Date.parse(entry.timestamp);
      newest ??= at;
      if (at < newest - LOOKBACK_MS) break;
      const p = entry.payload as Record<string, unknown>;
      const id = typeof p.reservation === 'string' ? p.reservation : undefined;
      if (id === undefined) continue;
      const experiment = typeof p.experiment_id === 'string' ? { experiment_id: p.experiment_id } : {};
      if (entry.kind === 'invoke') {
        const usd = payloadNumber(p, 'charged_usd');
        if (usd === undefined) continue;
        const record = { kind: 'charge' as const, id, tenant_id: tenantId, usd, at, ...experiment };
        charged.set(id, record);
        mine.push(record);
        charges++;
      } else if (entry.kind === 'invoke.admit') {
        const charge = charged.get(id);
        // The admission's time places the charge in the calendar periods the reservation was made in.
        if (charge !== undefined) {
          charge.reserved_at = at;
          continue;
        }
        const usd = payloadNumber(p, 'estimated_usd');
        const expires = payloadNumber(p, 'expires_at');
        if (usd === undefined || expires === undefined) continue;
        mine.push({ kind: 'open', id, tenant_id: tenantId, usd, at, expires_at: expires, ...experiment });
        open++;
      }
    }
    records.push(...mine.reverse());
  }
  return { entries, charges, open, quota: await quota.restore(records) };
}
