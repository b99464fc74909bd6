// Hooks for this package's own tests, published as '@tenantry/audit/testing'. Not part of the API:
// they may change or go in any release.
export { _crashSealWorker } from './sealer.js';
