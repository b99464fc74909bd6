// The upstream a request is for. The reference server calls a built-in mock model with deterministic
// latency and cost, so that tests and benchmarks measure tenantry, not a network.
import { setTimeout as sleep } from 'node:timers/promises';

export interface UpstreamCall {
  tenant_id: string;
  action: string;
  resource: Record<string, unknown>;
  estimated_usd: number;
  /** Aborted when the call is no longer wanted (its timeout passed); an upstream should stop on it. */
  signal?: AbortSignal;
}

export interface UpstreamResult {
  /** What the call cost, USD (settled against the reservation). */
  usd: number;
  output: unknown;
}

export type Upstream = (call: UpstreamCall) => Promise<UpstreamResult>;

export interface MockModelOptions {
  /** Added latency per call, ms (default 0: resolve on the next turn of the event loop). */
  latencyMs?: number;
  /** Actual cost as a fraction of the estimate (default 0.8). */
  costRatio?: number;
}

/** A mock model: answers after `latencyMs`, costing `costRatio` × the estimate (rounded down to the micro-USD). */
export function mockModel(options: MockModelOptions = {}): Upstream {
  const latencyMs = options.latencyMs ?? 0;
  const ratio = options.costRatio ?? 0.8;
  return async (call) => {
    if (latencyMs > 0) await sleep(latencyMs);
    else await new Promise<void>((resolve) => setImmediate(resolve));
    const usd = Math.floor(call.estimated_usd * ratio * 1e6) / 1e6;
    return { usd, output: { model: 'mock-1', text: `${call.action} ${String(call.resource.id)}: done` } };
  };
}
