// The README's quick start: its curl commands, exactly as printed, against the reference server on
// 127.0.0.1:8787 (the address they name) with a fresh data directory.
import { execFileSync, spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';
import { verifyReceipt, type Receipt } from '@tenantry/audit';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

it('the README curl examples answer as the README says', async () => {
  const readme = await readFile(join(ROOT, 'README.md'), 'utf8');
  const block = /In a second terminal:\n\n```sh\n([\s\S]*?)```/.exec(readme)?.[1];
  expect(block, 'the quick start curl block').toBeDefined();
  const commands = block!.trim().split('\n');
  expect(commands).toHaveLength(4);
  const dataDir = await mkdtemp(join(tmpdir(), 'tenantry-readme-'));
  const child = spawn(process.execPath, [join(ROOT, 'examples/reference-server/main.mjs')], {
    env: { ...process.env, DATA_DIR: dataDir, PORT: '8787', HOST: '127.0.0.1' }, stdio: ['ignore', 'pipe', 'pipe'],
  });
  try {
    await new Promise<void>((resolve, reject) => {
      let out = '';
      let err = '';
      child.stdout!.on('data', (d: Buffer) => {
        out += d.toString();
        if (out.includes('listening on http://127.0.0.1:8787')) resolve();
      });
      child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
      child.on('exit', (code) => reject(new Error(`the server exited with ${code} (is 127.0.0.1:8787 taken?): ${err}`)));
    });
    const run = (cmd: string): Record<string, unknown> => JSON.parse(execFileSync('bash', ['-c', cmd], { encoding: 'utf8' }));
    expect(run(commands[0]!)).toMatchObject({ status: 'ok' });
    const invoked = run(commands[1]!);
    expect(invoked).toMatchObject({ receipt: { tenant_id: 'acme', index: 1 }, charged_usd: 0.4 });
    expect(run(commands[2]!)).toMatchObject({ code: 'POLICY_DENIED', reasons: ['CROSS_TENANT', 'REGION'] });
    const entry = run(commands[3]!);
    expect((entry.receipt as Receipt).leaf_hash).toBe((invoked.receipt as { leaf_hash: string }).leaf_hash);
    expect(verifyReceipt(entry.receipt as Receipt, entry.verifier_keys as string[])).toBe(true);
  } finally {
    child.kill('SIGTERM');
    await new Promise((resolve) => child.on('exit', resolve));
    await rm(dataDir, { recursive: true, force: true });
  }
});
