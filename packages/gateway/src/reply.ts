// What a gateway route answers, independent of any HTTP framework: { status, body, headers? }. Request
// mistakes and denials are answers with a body { code, message, … }, never throws.

export interface GatewayReply {
  status: number;
  body: unknown;
  headers?: Record<string, string>;
}

/** An answer `{ code, message, …extra }` with `status`. */
export function reply(status: number, code: string, message: string, extra: Record<string, unknown> = {}): GatewayReply {
  return { status, body: { code, message, ...extra } };
}

/** 401 for a missing or unknown bearer key. */
export function unauthenticated(): GatewayReply {
  return {
    ...reply(401, 'UNAUTHENTICATED', 'an Authorization: Bearer <api key> header with a known key is required'),
    headers: { 'www-authenticate': 'Bearer' },
  };
}

/** 400 INVALID_REQUEST naming the field at fault. */
export function badRequest(field: string, message: string): GatewayReply {
  return reply(400, 'INVALID_REQUEST', `${field} ${message}`, { field });
}

/**
 * 503 when a control event that a request caused (a lockdown, an automatic freeze) could not be made
 * durable: the change is in force in this process (fail closed) and is written as soon as the log takes it.
 */
export function controlLogUnavailable(message: string): GatewayReply {
  return { ...reply(503, 'CONTROL_LOG_UNAVAILABLE', message), headers: { 'retry-after': '1' } };
}
