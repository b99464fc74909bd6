// Checkpoints: C2SP tlog-checkpoint (https://c2sp.org/tlog-checkpoint), the signed tree head of a
// transparency log, carried as the text of a signed note (./note.ts):
//
//   <origin>\n                 the log's identity, non-empty
//   <size>\n                   the tree size in ASCII decimal, no sign, no leading zeros ("0" when empty)
//   <base64(root)>\n           the RFC 6962 root hash at that size: standard padded base64 of 32 bytes
//   [<extension line>\n]*      optional, opaque, each non-empty
//
// Sizes are JavaScript numbers, so this implementation limits them to Number.MAX_SAFE_INTEGER
// (2⁵³−1) rather than Go's 2⁶³−1: a larger size is refused (MALFORMED_CHECKPOINT, field `size`)
// instead of being rounded. No log comes near 2⁵³ leaves.
import { _decodeBase64Strict, _encodeBase64 } from './base64.js';
import { AuditError } from './errors.js';
import { openNote, signNote, type NoteSignature } from './note.js';

/** RFC 6962 SHA-256 root: 32 bytes. */
const ROOT_BYTES = 32;
const DECIMAL = /^(0|[1-9][0-9]*)$/;
// A line of note text: no "\n" and no other ASCII control character (signed-note rule).
const CONTROL = /[\u0000-\u001f]/;
const LONE_SURROGATE = /\p{Cs}/u;

const decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** A checkpoint to format or sign. */
export interface Checkpoint {
  /** The log's origin line, e.g. "example.com/log42". */
  origin: string;
  /** Tree size, an integer in 0..Number.MAX_SAFE_INTEGER. */
  size: number;
  /** RFC 6962 root hash at `size`, 32 bytes. */
  root: Uint8Array;
  /** Optional extension lines, each non-empty (C2SP: not recommended). */
  extensions?: readonly string[];
}

/** A parsed checkpoint. */
export interface ParsedCheckpoint {
  origin: string;
  size: number;
  root: Uint8Array;
  /** Extension lines, in order; empty when there are none. */
  extensions: string[];
}

/** The result of openCheckpoint. */
export interface OpenedCheckpoint {
  checkpoint: ParsedCheckpoint;
  /** Signatures verified by a known key (see openNote). */
  signatures: NoteSignature[];
  /** Signatures by keys not in the list, not checked (see openNote). */
  unverifiedSignatures: NoteSignature[];
}

export interface OpenCheckpointOptions {
  /** When set, the checkpoint's origin must be exactly this. */
  origin?: string;
}

function argError(code: 'INVALID_ARGUMENT' | 'INVALID_SIZE' | 'INVALID_BYTES' | 'INVALID_LENGTH', field: string, message: string): AuditError {
  return new AuditError(code, `${field} ${message}`, { field });
}

/** A valid note line: a string, well-formed, without newline or control characters. */
function checkLine(v: unknown, field: string, what: string): asserts v is string {
  if (typeof v !== 'string') throw argError('INVALID_ARGUMENT', field, `must be a string, got ${typeof v}`);
  if (v === '') throw argError('INVALID_ARGUMENT', field, `must not be empty (${what})`);
  if (CONTROL.test(v)) throw argError('INVALID_ARGUMENT', field, 'must be one line without control characters');
  if (LONE_SURROGATE.test(v)) throw argError('INVALID_ARGUMENT', field, 'must be well-formed UTF-16 (it contains a lone surrogate)');
}

/**
 * The note text of `checkpoint` (C2SP tlog-checkpoint): origin, size, base64 root and any
 * extension lines, each followed by "\n".
 *
 * Errors (field in parentheses): INVALID_ARGUMENT (`checkpoint`, `checkpoint.origin`,
 * `checkpoint.extensions`, `checkpoint.extensions[i]`) for a missing, empty or multi-line value;
 * INVALID_SIZE (`checkpoint.size`) unless an integer in 0..Number.MAX_SAFE_INTEGER;
 * INVALID_BYTES / INVALID_LENGTH (`checkpoint.root`) unless a 32-byte Uint8Array.
 *
 * @example
 * formatCheckpoint({ origin: 'example.com/log', size: 2, root });
 * // 'example.com/log\n2\n<base64 of root>\n'
 */
export function formatCheckpoint(checkpoint: Checkpoint): string {
  if (typeof checkpoint !== 'object' || checkpoint === null) {
    throw argError('INVALID_ARGUMENT', 'checkpoint', 'must be an object { origin, size, root, extensions? }');
  }
  const { origin, size, root, extensions } = checkpoint;
  checkLine(origin, 'checkpoint.origin', 'the log origin');
  if (typeof size !== 'number' || !Number.isSafeInteger(size) || size < 0) {
    throw argError('INVALID_SIZE', 'checkpoint.size', `must be an integer in 0..${Number.MAX_SAFE_INTEGER}, got ${String(size)}`);
  }
  if (!(root instanceof Uint8Array)) throw argError('INVALID_BYTES', 'checkpoint.root', `must be a Uint8Array, got ${typeof root}`);
  if (root.length !== ROOT_BYTES) throw argError('INVALID_LENGTH', 'checkpoint.root', `must be ${ROOT_BYTES} bytes, got ${root.length}`);
  let text = `${origin}\n${size}\n${_encodeBase64(root)}\n`;
  if (extensions !== undefined) {
    if (!Array.isArray(extensions)) throw argError('INVALID_ARGUMENT', 'checkpoint.extensions', 'must be an array of strings');
    extensions.forEach((line: unknown, i) => {
      checkLine(line, `checkpoint.extensions[${i}]`, 'extension lines are non-empty');
      text += `${line}\n`;
    });
  }
  return text;
}

function malformed(field: string, message: string): AuditError {
  return new AuditError('MALFORMED_CHECKPOINT', `checkpoint ${field}: ${message}`, { field });
}

/**
 * Parses checkpoint note text strictly (C2SP tlog-checkpoint). Every deviation is
 * MALFORMED_CHECKPOINT with the field at fault:
 * `text` — not valid UTF-8 or not ending in "\n" (a value that is neither a string nor a
 * Uint8Array is INVALID_ARGUMENT);
 * `origin` — empty or with control characters; `size` — missing, not plain decimal (no sign,
 * spaces or leading zeros except "0"), or above Number.MAX_SAFE_INTEGER; `root` — missing, or not
 * the canonical padded base64 of exactly 32 bytes; `extensions[i]` — an empty extension line or
 * one with control characters.
 *
 * The text is not authenticated: use openCheckpoint for a signed note.
 */
export function parseCheckpoint(text: string | Uint8Array): ParsedCheckpoint {
  let s: string;
  if (typeof text === 'string') s = text;
  else if (text instanceof Uint8Array) {
    try {
      s = decoder.decode(text);
    } catch {
      throw malformed('text', 'is not valid UTF-8');
    }
  } else throw argError('INVALID_ARGUMENT', 'text', `must be a string or a Uint8Array, got ${typeof text}`);
  if (LONE_SURROGATE.test(s)) throw malformed('text', 'contains a lone surrogate (not valid UTF-8)');
  if (!s.endsWith('\n')) throw malformed('text', 'must end with a newline');

  const lines = s.slice(0, -1).split('\n');
  const [origin, sizeLine, rootLine, ...extensions] = lines;
  if (origin === undefined || origin === '') throw malformed('origin', 'must not be empty');
  if (CONTROL.test(origin)) throw malformed('origin', 'must not contain control characters');
  if (sizeLine === undefined) throw malformed('size', 'missing (a checkpoint has at least three lines)');
  if (!DECIMAL.test(sizeLine)) throw malformed('size', `"${sizeLine}" is not a decimal integer without sign or leading zeros`);
  const size = Number(sizeLine);
  if (!Number.isSafeInteger(size)) throw malformed('size', `${sizeLine} is above ${Number.MAX_SAFE_INTEGER}, the largest size supported`);
  if (rootLine === undefined) throw malformed('root', 'missing (a checkpoint has at least three lines)');
  const root = _decodeBase64Strict(rootLine);
  if (root === undefined || root.length !== ROOT_BYTES) {
    throw malformed('root', `must be the padded base64 of ${ROOT_BYTES} bytes (44 characters)`);
  }
  extensions.forEach((line, i) => {
    if (line === '') throw malformed(`extensions[${i}]`, 'extension lines must not be empty');
    if (CONTROL.test(line)) throw malformed(`extensions[${i}]`, 'must not contain control characters');
  });
  return { origin, size, root, extensions };
}

/**
 * formatCheckpoint + signNote: the signed checkpoint note. C2SP recommends a key named like the
 * origin. Errors as for those two functions.
 */
export function signCheckpoint(checkpoint: Checkpoint, signerKey: string | readonly string[]): string {
  return signNote(formatCheckpoint(checkpoint), signerKey);
}

/**
 * Verifies a signed checkpoint note with openNote, then parses its text with parseCheckpoint.
 * With `options.origin`, a checkpoint of another origin is refused (MALFORMED_CHECKPOINT, field
 * `origin`). Errors: those of openNote (INVALID_KEY, MALFORMED_NOTE, AMBIGUOUS_KEY,
 * INVALID_SIGNATURE, UNVERIFIED_NOTE) first, then those of parseCheckpoint.
 */
export function openCheckpoint(
  note: string | Uint8Array,
  verifierKeys: string | readonly string[],
  options: OpenCheckpointOptions = {},
): OpenedCheckpoint {
  if (typeof options !== 'object' || options === null) {
    throw argError('INVALID_ARGUMENT', 'options', 'must be an object { origin? }');
  }
  const { origin } = options;
  if (origin !== undefined && typeof origin !== 'string') {
    throw argError('INVALID_ARGUMENT', 'options.origin', `must be a string, got ${typeof origin}`);
  }
  const opened = openNote(note, verifierKeys);
  const checkpoint = parseCheckpoint(opened.text);
  if (origin !== undefined && checkpoint.origin !== origin) {
    throw malformed('origin', `"${checkpoint.origin}" is not the expected origin "${origin}"`);
  }
  return { checkpoint, signatures: opened.signatures, unverifiedSignatures: opened.unverifiedSignatures };
}
