// The README's runnable example runs to completion and prints what the README promises.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';

it('examples/scheduler/fair.mjs: weighted shares, lent LAB capacity, QUEUE_FULL, close', () => {
  const r = spawnSync(process.execPath, [fileURLToPath(new URL('../../examples/scheduler/fair.mjs', import.meta.url))], { encoding: 'utf8' });
  expect(r.stderr).toBe('');
  expect(r.status).toBe(0);
  expect(r.stdout).toContain('first 600 completions  acme 100  globex 200  initech 300');
  expect(r.stdout).toContain('LAB alone              running LAB 4, PROD 0');
  expect(r.stdout).toContain('third LAB task queued  QUEUE_FULL (retry_after_ms > 0)');
  expect(r.stdout).toContain('PROD after 1 LAB slot  prod ran');
  expect(r.stdout).toContain('{"queued":0,"running":0,"completed":1000,"failed":0,"rejected":0}');
});
