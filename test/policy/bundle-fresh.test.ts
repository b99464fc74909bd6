// The compiled bundle committed in packages/policy/bundle/ (what users get, with no OPA) must be what the
// pinned OPA builds from policies/ now: the test rebuilds it with `npm run policy:build`'s script into a
// temporary file and compares the bytes (the build is deterministic: scripts/policy-build.sh says why).
// When it fails, run `npm run policy:build` and commit the bundle.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { readBundle } from '@tenantry/policy';

const REPO = path.resolve(import.meta.dirname, '../..');
const COMMITTED = path.join(REPO, 'packages/policy/bundle/policy.tar.gz');
const sha = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

describe('the committed policy bundle', () => {
  it('is byte-identical to a fresh build of policies/ with the pinned OPA', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tenantry-policy-build-'));
    try {
      const out = path.join(dir, 'policy.tar.gz');
      execFileSync('bash', [path.join(REPO, 'scripts/policy-build.sh'), out], { cwd: REPO, stdio: ['ignore', 'ignore', 'pipe'] });
      const fresh = fs.readFileSync(out);
      const committed = fs.readFileSync(COMMITTED);
      expect(sha(fresh), 'packages/policy/bundle/policy.tar.gz is stale: run `npm run policy:build` and commit it').toBe(sha(committed));
      // And it is a bundle the engine reads: the one entrypoint, a wasm module.
      const bundle = await readBundle(new Uint8Array(committed));
      expect(bundle.entrypoints).toEqual(['tenantry/main/decision']);
      // The revision names the sources (scripts/policy-build.sh).
      expect(bundle.revision).toMatch(/^policies-[0-9a-f]{12}$/);
      expect(Buffer.from(bundle.wasm.subarray(0, 4)).toString('latin1')).toBe('\0asm');
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }, 300_000);
});
