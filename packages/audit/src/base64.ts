// Standard base64 (RFC 4648 §4, with '=' padding) for signed notes, keys and checkpoints.
//
// Decoding follows Go's base64.StdEncoding.DecodeString exactly, because signed notes must accept
// and reject the same bytes as golang.org/x/mod/sumdb/note:
//   - '\r' and '\n' are skipped wherever they appear;
//   - after skipping them, the input is whole 4-character quanta; only the last quantum may end in
//     "=" or "==", and nothing may follow the padding;
//   - the encoding is not strict: unused bits of the last character need not be zero
//     ("AB==" and "AA==" both decode to 0x00).
// Node's Buffer decoder is far more lenient (it drops invalid characters), so it is not used.

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
const PAD = 0x3d; // '='
const INVALID = 0xff;

const DECODE = /* @__PURE__ */ (() => {
  const map = new Uint8Array(256).fill(INVALID);
  for (let i = 0; i < ALPHABET.length; i++) map[ALPHABET.charCodeAt(i)] = i;
  return map;
})();

/** Standard base64 with padding of `bytes`. */
export function _encodeBase64(bytes: Uint8Array): string {
  let out = '';
  let i = 0;
  for (; i + 2 < bytes.length; i += 3) {
    const v = (bytes[i]! << 16) | (bytes[i + 1]! << 8) | bytes[i + 2]!;
    out += ALPHABET[v >>> 18]! + ALPHABET[(v >>> 12) & 63]! + ALPHABET[(v >>> 6) & 63]! + ALPHABET[v & 63]!;
  }
  const rest = bytes.length - i;
  if (rest === 1) {
    const v = bytes[i]! << 16;
    out += ALPHABET[v >>> 18]! + ALPHABET[(v >>> 12) & 63]! + '==';
  } else if (rest === 2) {
    const v = (bytes[i]! << 16) | (bytes[i + 1]! << 8);
    out += ALPHABET[v >>> 18]! + ALPHABET[(v >>> 12) & 63]! + ALPHABET[(v >>> 6) & 63]! + '=';
  }
  return out;
}

/**
 * Decodes `s` as Go's base64.StdEncoding.DecodeString does (see the file comment); undefined when
 * Go would return an error. The empty string decodes to zero bytes. Characters outside Latin-1
 * are invalid (Go sees their UTF-8 bytes, none of which is in the alphabet).
 */
export function _decodeBase64(s: string): Uint8Array | undefined {
  const sextets: number[] = [];
  let pad = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 0x0a || c === 0x0d) continue;
    if (c === PAD) {
      pad++;
      continue;
    }
    const v = c < 256 ? DECODE[c]! : INVALID;
    if (v === INVALID || pad > 0) return undefined; // a bad character, or data after padding
    sextets.push(v);
  }
  // Whole quanta only; "=" completes a 3-character quantum, "==" a 2-character one.
  if (pad > 2 || (sextets.length + pad) % 4 !== 0) return undefined;
  const tail = sextets.length % 4;
  if (pad > 0 && tail !== 4 - pad) return undefined;
  const out = new Uint8Array((sextets.length * 3) >>> 2);
  let o = 0;
  for (let i = 0; i < sextets.length; i += 4) {
    const v = (sextets[i]! << 18) | ((sextets[i + 1] ?? 0) << 12) | ((sextets[i + 2] ?? 0) << 6) | (sextets[i + 3] ?? 0);
    out[o++] = v >>> 16;
    if (o < out.length) out[o++] = (v >>> 8) & 0xff;
    if (o < out.length) out[o++] = v & 0xff;
  }
  return out;
}

/** The canonical form only: exactly what _encodeBase64 produces for the decoded bytes. */
export function _decodeBase64Strict(s: string): Uint8Array | undefined {
  const bytes = _decodeBase64(s);
  return bytes !== undefined && _encodeBase64(bytes) === s ? bytes : undefined;
}
