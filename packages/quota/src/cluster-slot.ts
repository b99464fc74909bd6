// The Redis Cluster hash slot of a key (docs/architecture.md, "@tenantry/quota": stores over Redis), so that
// redisStore can put in one script call only operations whose keys share a slot.
//
// Redis Cluster specification, "Key distribution model" and "Hash tags"
// (https://redis.io/docs/latest/operate/oss_and_stack/reference/cluster-spec/#key-distribution-model):
//   HASH_SLOT = CRC16(key) mod 16384, where CRC16 is CRC-16/XMODEM (polynomial 0x1021, initial value 0, no
//   reflection, no final xor; the specification's check value: CRC16("123456789") = 0x31C3);
//   when the key holds a "{" followed later by a "}" with at least one character between them, only the bytes
//   between the first "{" and the first "}" after it are hashed.
// Keys are hashed as their UTF-8 bytes, as the server receives them.
//
// ioredis computes the same slot internally but does not export it (its package has no such entry point), and a
// dependency for twenty lines is not worth one: this file is the whole of it.

/** Slots in a Redis Cluster (cluster-spec: 16384). */
export const CLUSTER_SLOTS = 16384;

/** CRC-16/XMODEM, one entry per byte value. Built on first use: nothing runs at import. */
let _table: Uint16Array | undefined;

function _crcTable(): Uint16Array {
  if (_table !== undefined) return _table;
  const t = new Uint16Array(256);
  for (let b = 0; b < 256; b++) {
    let c = b << 8;
    for (let i = 0; i < 8; i++) c = c & 0x8000 ? ((c << 1) ^ 0x1021) & 0xffff : (c << 1) & 0xffff;
    t[b] = c;
  }
  return (_table = t);
}

/** CRC-16/XMODEM of `bytes` (cluster-spec, appendix A: CRC16("123456789") = 0x31C3). */
export function crc16(bytes: Uint8Array): number {
  const t = _crcTable();
  let crc = 0;
  for (let i = 0; i < bytes.length; i++) crc = ((crc << 8) & 0xffff) ^ t[((crc >> 8) ^ bytes[i]!) & 0xff]!;
  return crc;
}

const utf8 = new TextEncoder();

/**
 * The hash slot of `key` in a Redis Cluster, hash tags applied (cluster-spec, "Hash tags").
 * @example clusterSlot('tenantry:quota:{acme}:h') === clusterSlot('{acme}')
 */
export function clusterSlot(key: string): number {
  const open = key.indexOf('{');
  if (open !== -1) {
    const close = key.indexOf('}', open + 1);
    if (close > open + 1) key = key.slice(open + 1, close);
  }
  return crc16(utf8.encode(key)) % CLUSTER_SLOTS;
}
