// Reading an OPA bundle: the gzip'd tar that `opa build -t wasm` writes, verified (when asked) before any of
// it is used.
//
// Spec: OPA docs, "Bundles › Bundle File Format" and "› Signing"
// (https://www.openpolicyagent.org/docs/management-bundles/), and OPA v1.22.2 v1/bundle/bundle.go (Reader.Read)
// and file.go (tarballLoader). `opa build -t wasm -e <entrypoint>` writes:
//
//   /data.json          data, merged into one document ({} when none)
//   /policy.wasm        the compiled policy
//   /<path>.rego        the Rego sources
//   /.manifest          { revision, roots, wasm: [{ entrypoint, module: "/policy.wasm" }], rego_version }
//   /.signatures.json   with --signing-key (see bundle-signature.ts)
//
// This reader is stricter than OPA where OPA would guess: non-regular entries (links, devices), `..` segments,
// duplicate names, a second wasm module, a nested `.manifest`/`.signatures.json`, YAML data, protobuf manifests
// and delta bundles are refused with BUNDLE_MALFORMED rather than loaded.

import { gunzip, type InputType, type ZlibOptions } from 'node:zlib';
import { isObject } from '@tenantry/core';
import { isLosslessNumber, parse as parseLossless } from 'lossless-json';
import { extract } from 'tar-stream';
import {
  _prepareVerification,
  _SIGNATURES_FILE,
  _verifyBundleSignature,
  type _BundleFile,
  type _PreparedVerification,
  type BundleVerificationOptions,
} from './bundle-signature.js';
import { PolicyError } from './errors.js';

export type { BundleKey, BundleVerificationOptions } from './bundle-signature.js';

/** Default bound on a bundle's unpacked size (the tar stream after gunzip): 64 MiB. */
export const DEFAULT_BUNDLE_MAX_BYTES = 64 * 1024 * 1024;

/** Options of readBundle. */
export interface ReadBundleOptions {
  /**
   * Verify the bundle's `.signatures.json` against these keys before anything in it is used. Without it the
   * bundle is read as it is (`signed: false`), whether or not it carries a signature.
   */
  verification?: BundleVerificationOptions;
  /** Upper bound on the unpacked (gunzipped) size in bytes; larger bundles are refused. Default 64 MiB. */
  maxBytes?: number;
}

/** A bundle read by readBundle. */
export interface PolicyBundle {
  /** The compiled policy (policy.wasm, the wasm module OPA put in the bundle); its own ArrayBuffer, exactly sized. */
  wasm: Uint8Array<ArrayBuffer>;
  /** data.json documents merged at their paths (OPA bundles may hold data.json files in sub-directories), {} when none. */
  data: Record<string, unknown>;
  /** The parsed .manifest, when present. */
  manifest: Record<string, unknown> | undefined;
  /** manifest.revision, '' when absent. */
  revision: string;
  /** Entrypoints listed in the manifest's wasm section, when present. */
  entrypoints: string[];
  /** Whether a signature was verified. */
  signed: boolean;
  /** The key id that verified it, when signed. */
  keyId: string | undefined;
}

const WASM_FILE = 'policy.wasm';
const MANIFEST_FILE = '.manifest';
const DATA_FILE = 'data.json';

/**
 * Read an OPA bundle (a gzip'd tar as `opa build` writes it) and, with `options.verification`, verify its
 * signature first.
 *
 * Errors (PolicyError, `field` names the argument or the bundle file at fault):
 * - INVALID_ARGUMENT: `bytes` not a Uint8Array, bad `options` (`maxBytes`, `verification.*`);
 * - BUNDLE_MALFORMED: not gzip, truncated, not a tar, larger than `maxBytes` unpacked (field `bytes`), an
 *   unsafe or duplicate entry name, a link or device entry, invalid JSON, no policy.wasm, a bad manifest;
 * - BUNDLE_UNSIGNED: verification asked for and no `.signatures.json` (or no JWT in it);
 * - BUNDLE_SIGNATURE_INVALID: the JWT does not verify with the key its key id selects (see bundle-signature.ts);
 * - BUNDLE_TAMPERED: a file is unlisted, missing or differs from its signed digest.
 *
 * Numbers in `data` and `manifest` are JavaScript numbers (as JSON.parse gives them); digests are computed
 * over the exact literals.
 *
 * @example
 *   const bundle = await readBundle(await readFile('bundle.tar.gz'), {
 *     verification: { keys: { default: { algorithm: 'RS256', key: publicKeyPem } } },
 *   });
 *   const policy = await loadPolicy(bundle.wasm); // @open-policy-agent/opa-wasm
 */
export async function readBundle(bytes: Uint8Array, options: ReadBundleOptions = {}): Promise<PolicyBundle> {
  const { maxBytes, verification } = resolveOptions(bytes, options);

  const entries = await untar(await gunzipBounded(bytes, maxBytes));
  const files: _BundleFile[] = [];
  let signatures: Uint8Array | undefined;
  for (const { name, bytes: content } of entries) {
    if (name === _SIGNATURES_FILE) signatures = content;
    else files.push({ name, bytes: content, json: isStructured(name) ? parseJson(name, content) : undefined });
  }

  let keyId: string | undefined;
  if (verification !== undefined) {
    if (signatures === undefined) {
      throw new PolicyError('BUNDLE_UNSIGNED', `${_SIGNATURES_FILE}: the bundle is not signed (no ${_SIGNATURES_FILE})`, {
        field: _SIGNATURES_FILE,
      });
    }
    ({ keyId } = await _verifyBundleSignature(signatures, files, verification));
  }
  return { ...assemble(files), signed: keyId !== undefined, keyId };
}

function resolveOptions(bytes: unknown, options: unknown): { maxBytes: number; verification: _PreparedVerification | undefined } {
  if (!(bytes instanceof Uint8Array)) {
    throw new PolicyError('INVALID_ARGUMENT', 'bytes must be a Uint8Array holding a gzip\'d tar bundle', { field: 'bytes' });
  }
  if (typeof options !== 'object' || options === null || Array.isArray(options)) {
    throw new PolicyError('INVALID_ARGUMENT', 'options must be an object', { field: 'options' });
  }
  const { maxBytes = DEFAULT_BUNDLE_MAX_BYTES, verification } = options as { maxBytes?: unknown; verification?: unknown };
  if (typeof maxBytes !== 'number' || !Number.isSafeInteger(maxBytes) || maxBytes <= 0) {
    throw new PolicyError('INVALID_ARGUMENT', 'maxBytes must be a positive integer', { field: 'maxBytes' });
  }
  return { maxBytes, verification: verification === undefined ? undefined : _prepareVerification(verification) };
}

function malformed(field: string, message: string, cause?: unknown): PolicyError {
  return new PolicyError('BUNDLE_MALFORMED', message, { field, ...(cause === undefined ? {} : { cause }) });
}

function gunzipAsync(input: InputType, options: ZlibOptions): Promise<Buffer> {
  return new Promise((resolve, reject) => gunzip(input, options, (error, result) => (error ? reject(error) : resolve(result))));
}

/** RFC 1952 §2.3.1: a gzip member starts with ID1 ID2 = 0x1f 0x8b. */
async function gunzipBounded(bytes: Uint8Array, maxBytes: number): Promise<Buffer> {
  if (bytes.length < 2 || bytes[0] !== 0x1f || bytes[1] !== 0x8b) {
    throw malformed('bytes', 'bytes: not a gzip stream (an OPA bundle is a gzip\'d tar)');
  }
  try {
    return await gunzipAsync(bytes, { maxOutputLength: maxBytes });
  } catch (cause) {
    if ((cause as { code?: unknown }).code === 'ERR_BUFFER_TOO_LARGE') {
      throw malformed('bytes', `bytes: the bundle unpacks to more than maxBytes (${maxBytes}) bytes`, cause);
    }
    throw malformed('bytes', `bytes: the gzip stream is corrupt or truncated (${(cause as Error).message})`, cause);
  }
}

interface Entry {
  readonly name: string;
  readonly bytes: Uint8Array<ArrayBuffer>;
}

/** The regular files of a tar (POSIX ustar/pax, GNU), with names normalised; directories are skipped. */
async function untar(tar: Buffer): Promise<Entry[]> {
  const entries: Entry[] = [];
  const seen = new Set<string>();
  const extractor = extract();
  extractor.end(tar);
  try {
    for await (const entry of extractor) {
      const { name: raw, type } = entry.header;
      const name = normaliseName(raw);
      if (type === 'directory') {
        entry.resume();
        continue;
      }
      if (type !== 'file' && type !== 'contiguous-file') {
        throw malformed(raw, `${raw}: a ${type} entry; a bundle holds only regular files and directories`);
      }
      if (name === '') throw malformed(raw, `${JSON.stringify(raw)}: a file entry without a name`);
      if (seen.has(name)) throw malformed(name, `${name}: appears twice in the bundle`);
      seen.add(name);
      const chunks: Uint8Array[] = [];
      for await (const chunk of entry) chunks.push(chunk as Uint8Array);
      entries.push({ name, bytes: concat(chunks) });
    }
  } catch (cause) {
    if (cause instanceof PolicyError) throw cause;
    throw malformed('bytes', `bytes: not a valid tar archive (${(cause as Error).message})`, cause);
  }
  return entries;
}

/** One exactly-sized copy, its own ArrayBuffer (never a view into Node's shared Buffer pool). */
function concat(chunks: readonly Uint8Array[]): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
  let at = 0;
  for (const chunk of chunks) {
    out.set(chunk, at);
    at += chunk.length;
  }
  return out;
}

/**
 * A tar entry name as a bundle path: `/`-separated, no leading `/` or `./` (OPA writes `/data.json`), no empty or
 * `.` segments. `..` segments (path traversal), backslashes and NUL are refused: names never reach a
 * filesystem here, but they select data paths and must mean one thing.
 */
function normaliseName(raw: string): string {
  if (raw.includes('\0') || raw.includes('\\')) throw malformed(raw, `${JSON.stringify(raw)}: unsafe entry name`);
  const segments = raw.split('/').filter((s) => s !== '' && s !== '.');
  if (segments.includes('..')) throw malformed(raw, `${raw}: entry name escapes the bundle root (path traversal)`);
  return segments.join('/');
}

function baseName(name: string): string {
  return name.slice(name.lastIndexOf('/') + 1);
}

/** OPA's structured documents (bundle.go IsStructuredDoc, less YAML, which is refused in assemble). */
function isStructured(name: string): boolean {
  const base = baseName(name);
  return base === DATA_FILE || base === MANIFEST_FILE;
}

/** A lone UTF-16 surrogate, which Go decodes to U+FFFD: refused so that digests and data match OPA's. */
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** Parse a structured document losslessly (numbers keep their literal; see bundle-signature.ts). */
function parseJson(name: string, bytes: Uint8Array): unknown {
  try {
    // fatal: invalid UTF-8 is refused; the default ignoreBOM: false drops a leading BOM, as OPA's util.Unmarshal does.
    const text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
    return parseLossless(text, (key, value) => {
      if (LONE_SURROGATE.test(key) || (typeof value === 'string' && LONE_SURROGATE.test(value))) {
        throw new Error('a string holds a lone UTF-16 surrogate');
      }
      return value;
    });
  } catch (cause) {
    throw malformed(name, `${name}: not valid JSON (${(cause as Error).message})`, cause);
  }
}

/** Plain JSON values from a lossless parse: numbers as JS numbers; `__proto__` kept as an own property. */
function toPlain(value: unknown): unknown {
  if (isLosslessNumber(value)) return Number(value.value);
  if (Array.isArray(value)) return value.map(toPlain);
  if (typeof value === 'object' && value !== null) {
    const out: Record<string, unknown> = {};
    for (const [key, item] of Object.entries(value)) defineOwn(out, key, toPlain(item));
    return out;
  }
  return value;
}

function defineOwn(target: Record<string, unknown>, key: string, value: unknown): void {
  Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
}

function assemble(files: readonly _BundleFile[]): Omit<PolicyBundle, 'signed' | 'keyId'> {
  let wasm: Uint8Array<ArrayBuffer> | undefined;
  let manifest: Record<string, unknown> | undefined;
  const dataFiles: _BundleFile[] = [];
  for (const file of files) {
    const base = baseName(file.name);
    if (file.name === WASM_FILE) wasm = file.bytes;
    else if (base === WASM_FILE) throw malformed(file.name, `${file.name}: only one wasm module, ${WASM_FILE} at the bundle root, is supported`);
    else if (file.name === MANIFEST_FILE) manifest = readManifest(file);
    else if (base === MANIFEST_FILE || base === `${MANIFEST_FILE}.pb`) {
      throw malformed(file.name, `${file.name}: only a JSON ${MANIFEST_FILE} at the bundle root is supported`);
    } else if (base === _SIGNATURES_FILE) throw malformed(file.name, `${file.name}: ${_SIGNATURES_FILE} belongs at the bundle root`);
    else if (base === 'data.yaml' || base === 'data.yml') {
      throw malformed(file.name, `${file.name}: YAML data is not supported (opa build writes it as data.json)`);
    } else if (base === DATA_FILE) dataFiles.push(file);
  }
  if (wasm === undefined) throw malformed(WASM_FILE, `${WASM_FILE}: missing; build the bundle with \`opa build -t wasm\``);

  const data: Record<string, unknown> = {};
  for (const file of [...dataFiles].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
    mergeData(data, file);
  }
  const revision = manifest?.['revision'] ?? '';
  const wasmSection = manifest?.['wasm'];
  const entrypoints = Array.isArray(wasmSection) ? wasmSection.map((r) => (r as { entrypoint: string }).entrypoint) : [];
  return { wasm, data, manifest, revision: revision as string, entrypoints };
}

/** The manifest fields this reader relies on (OPA bundle.go Manifest); other fields are kept as they are. */
function readManifest(file: _BundleFile): Record<string, unknown> {
  const manifest = toPlain(file.json);
  const bad = (message: string): PolicyError => malformed(MANIFEST_FILE, `${MANIFEST_FILE}: ${message}`);
  if (!isObject(manifest)) throw bad('must be a JSON object');
  if (manifest['revision'] !== undefined && typeof manifest['revision'] !== 'string') throw bad('revision must be a string');
  if (manifest['type'] !== undefined && manifest['type'] !== 'snapshot') throw bad('only snapshot bundles are supported');
  const section = manifest['wasm'];
  if (section !== undefined && section !== null) {
    if (!Array.isArray(section)) throw bad('wasm must be an array of { entrypoint, module }');
    for (const resolver of section) {
      if (!isObject(resolver) || typeof resolver['entrypoint'] !== 'string' || typeof resolver['module'] !== 'string') {
        throw bad('wasm must be an array of { entrypoint, module } strings');
      }
      if (normaliseName(resolver['module']) !== WASM_FILE) {
        throw bad(`wasm module ${JSON.stringify(resolver['module'])} is not /${WASM_FILE}, the one module supported`);
      }
    }
  }
  return manifest;
}

/**
 * Merge one data.json at its directory path (bundle.go insertData/mktree + merge.InterfaceMaps): objects merge
 * key by key; the same key holding a non-object on either side is a conflict. The root data.json must hold
 * an object.
 */
function mergeData(data: Record<string, unknown>, file: _BundleFile): void {
  const path = file.name.split('/').slice(0, -1);
  const value = toPlain(file.json);
  if (path.length === 0 && !isObject(value)) throw malformed(file.name, `${file.name}: the root data document must be an object`);
  let tree: unknown = value;
  for (const key of [...path].reverse()) {
    const parent: Record<string, unknown> = {};
    defineOwn(parent, key, tree);
    tree = parent;
  }
  mergeInto(data, tree as Record<string, unknown>, file.name, []);
}

function mergeInto(target: Record<string, unknown>, source: Record<string, unknown>, fileName: string, at: string[]): void {
  for (const [key, value] of Object.entries(source)) {
    const here = [...at, key];
    if (!Object.hasOwn(target, key)) {
      defineOwn(target, key, value);
      continue;
    }
    const existing = target[key];
    if (!isObject(existing) || !isObject(value)) {
      throw malformed(fileName, `${fileName}: data at /${here.join('/')} conflicts with another data.json`);
    }
    mergeInto(existing, value, fileName, here);
  }
}
