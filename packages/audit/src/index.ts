export { AuditError, isAuditError } from './errors.js';
export type { AuditErrorCode, AuditErrorDetails } from './errors.js';
export { federatedRoot } from './federated.js';
export { generateNoteKey, noteVerifierKey, openNote, signNote } from './note.js';
export type { NoteKeyPair, NoteSignature, NoteToSign, OpenedNote } from './note.js';
export { formatCheckpoint, openCheckpoint, parseCheckpoint, signCheckpoint } from './checkpoint.js';
export type { Checkpoint, OpenCheckpointOptions, OpenedCheckpoint, ParsedCheckpoint } from './checkpoint.js';
export { MerkleTree, MAX_TREE_SIZE } from './tree.js';
export {
  checkConsistency, checkInclusion, rootFromConsistencyProof, rootFromInclusionProof, RootMismatchError,
  verifyConsistency, verifyInclusion,
} from './verify.js';
export { AuditLog } from './log.js';
export type {
  AppendResult, AuditLogOptions, AuditLogStats, AuditLogStatus, LogHead, OpenReport, RepairOptions, RepairReport, StoredEntry,
} from './log.js';
export { nodeLogIo } from './log-io.js';
export type { LogIo } from './log-io.js';
export type { Corruption, CorruptionKind, TornTail } from './replay.js';
export { encodeEntry, entryLeafHash, formatTimestamp, GENESIS_PREV, MAX_KIND_LENGTH, MAX_PAYLOAD_DEPTH } from './entry.js';
export type { AuditEntry, AuditEntryInput, JsonObject, JsonValue } from './entry.js';
export { checkTenantId, tenantFileName, MAX_TENANT_ID_BYTES } from './tenant-id.js';
export { MAX_ENTRY_BYTES_LIMIT } from './record.js';
export { verifyReceipt, nodeLeafData, nodeTree, PROTOCOL_VERSION } from './receipt.js';
export type { Receipt, TenantHead } from './receipt.js';
export { AuditLedger, CHECKPOINT_FILE } from './ledger.js';
export type { AuditLedgerOptions, NodeCheckpoint } from './ledger.js';
export { verifyAuditDir, proveFromAuditDir } from './verify-dir.js';
export type { AuditDirReport, Divergence, TenantReplay } from './verify-dir.js';
export { _canonicalJson as canonicalJson } from './canonical-json.js';
