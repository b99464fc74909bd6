// The hash pool (createHashPool, merkleRootAsync): roots computed in workers against the recursive
// RFC 6962 reference and the single-thread merkleRoot, on both builds and both input forms; the
// threshold routing; cancellation; validation; closing; and that an idle default pool lets the
// process exit (ESM and CJS entries). Inputs are seeded, so a failure names a reproducible case.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  closeDefaultPool, createHashPool, isKernelError, KernelRangeError, KernelTypeError, merkleRoot,
  merkleRootAsync, POOL_THRESHOLD_LEAVES, useKernelBuild, type HashPool, type KernelErrorCode,
} from '@tenantry/kernels';
import { refMerkleRoot } from '@tenantry/kernels/reference';
import { BUILDS, asHashArray, fastMerkleRoots, hex, randomBytes, useBuild } from '../helpers/kernels.js';

const T = POOL_THRESHOLD_LEAVES;
const BIG = (1 << 20) + 3;
/** Sizes across every boundary the pool has: empty, one leaf, tiny, the threshold, 2¹⁶ ± 1, 2²⁰ + 3. */
const SIZES = [0, 1, 2, 3, 5, 8, 100, 1000, T - 1, T, T + 1, (1 << 16) - 1, 1 << 16, (1 << 16) + 1, BIG];
/** Up to this size the recursive reference is affordable; above it the iterative node:crypto one. */
const REF_LIMIT = (1 << 16) + 1;

const LEAVES = randomBytes(BIG * 32, 0x9001);
const EXPECTED = new Map<number, string>();

const pools: HashPool[] = [];
/** Every pool a test creates goes through here, so that afterAll closes it. */
function pool(options?: Parameters<typeof createHashPool>[0]): HashPool {
  const p = createHashPool(options);
  pools.push(p);
  return p;
}

afterAll(async () => {
  await Promise.all(pools.map((p) => p.close()));
  await closeDefaultPool();
  useKernelBuild('auto');
});

beforeAll(() => {
  const fast = fastMerkleRoots(LEAVES, SIZES);
  for (const n of SIZES) {
    const want = n <= REF_LIMIT ? hex(refMerkleRoot(asHashArray(LEAVES, n))) : hex(fast.get(n)!);
    // The iterative reference and the recursive one must agree wherever both run.
    if (n <= REF_LIMIT) expect(hex(fast.get(n)!), `references disagree at n = ${n}`).toBe(want);
    EXPECTED.set(n, want);
  }
});

const contiguous = (n: number): Uint8Array => LEAVES.subarray(0, n * 32);
const FORMS = [
  { name: 'contiguous', input: contiguous },
  { name: 'array', input: (n: number) => asHashArray(LEAVES, n) },
] as const;

/** An error class to match with toBeInstanceOf. */
type ErrorClass = abstract new (...args: never[]) => Error;

/** Awaits `p`, which must reject with the typed kernel error described. */
async function expectRejection(p: Promise<unknown>, code: KernelErrorCode, type: ErrorClass, field?: string): Promise<void> {
  const e = await p.then(() => undefined, (err: unknown) => err);
  expect(e, 'expected a rejection').toBeInstanceOf(type);
  expect(isKernelError(e)).toBe(true);
  expect(e).toMatchObject({ code });
  if (field !== undefined) {
    expect(e).toMatchObject({ field });
    expect((e as Error).message).toContain(field);
  }
}

/** Awaits `p`, which must reject with an AbortError carrying the signal's reason as its cause. */
async function expectAbort(p: Promise<unknown>, reason?: unknown): Promise<void> {
  const e = await p.then(() => undefined, (err: unknown) => err);
  expect(e, 'expected a rejection').toBeInstanceOf(Error);
  expect((e as Error).name).toBe('AbortError');
  if (reason !== undefined) expect((e as Error).cause).toBe(reason);
}

for (const build of BUILDS) {
  describe(`pool roots (${build} build)`, () => {
    useBuild(build);
    // Default task sizes (trees below 2·minLeavesPerTask in one task) and minLeavesPerTask 1 (every
    // tree split into as many tasks as allowed, down to one-leaf chunks).
    const POOLS = [
      { name: 'default tasks', make: () => pool({ threads: 2 }) },
      { name: 'minLeavesPerTask 1', make: () => pool({ threads: 3, minLeavesPerTask: 1 }) },
    ];
    for (const { name: poolName, make } of POOLS) {
      let p: HashPool;
      beforeAll(() => {
        p = make();
      });
      for (const { name: form, input } of FORMS) {
        it(`equals the reference for every size, ${form} input, ${poolName}`, async () => {
          for (const n of SIZES) {
            const before = p.stats();
            expect(hex(await p.merkleRoot(input(n))), `n = ${n}`).toBe(EXPECTED.get(n));
            // Workers ran the build this thread selected.
            const after = p.stats();
            expect(after.tasksByBuild[build]).toBeGreaterThan(before.tasksByBuild[build]);
            expect(after.tasks - before.tasks).toBe(after.tasksByBuild[build] - before.tasksByBuild[build]);
          }
        });
      }
    }

    it('agrees with the single-thread merkleRoot, both forms, at 2²⁰ + 3', async () => {
      const p = pool({ threads: 2 });
      const sync = hex(merkleRoot(contiguous(BIG)));
      expect(sync).toBe(EXPECTED.get(BIG));
      expect(hex(await p.merkleRoot(contiguous(BIG)))).toBe(sync);
      expect(hex(await p.merkleRoot(asHashArray(LEAVES, BIG)))).toBe(sync);
    });

    it('merkleRootAsync equals the reference on both sides of the threshold, both forms', async () => {
      const p = pool({ threads: 2 });
      for (const { input } of FORMS) {
        for (const n of SIZES) {
          expect(hex(await merkleRootAsync(input(n), { pool: p })), `n = ${n}`).toBe(EXPECTED.get(n));
          expect(hex(await merkleRootAsync(input(n))), `n = ${n}, default pool`).toBe(EXPECTED.get(n));
        }
      }
    });
  });
}

describe('pool behaviour', () => {
  it('switches the workers with the caller’s build from one call to the next', async () => {
    const p = pool({ threads: 1 });
    const n = 5000;
    try {
      for (const build of ['scalar', 'simd', 'scalar'] as const) {
        useKernelBuild(build);
        const before = p.stats().tasksByBuild;
        expect(hex(await p.merkleRoot(contiguous(n)))).toBe(hex(merkleRoot(contiguous(n))));
        const after = p.stats().tasksByBuild;
        const other = build === 'simd' ? 'scalar' : 'simd';
        expect(after[build]).toBe(before[build] + 1);
        expect(after[other]).toBe(before[other]);
      }
    } finally {
      useKernelBuild('auto');
    }
  });

  it('merkleRootAsync keeps trees below POOL_THRESHOLD_LEAVES on the calling thread', async () => {
    const p = pool({ threads: 2 });
    await merkleRootAsync(contiguous(T - 1), { pool: p });
    await merkleRootAsync(asHashArray(LEAVES, T - 1), { pool: p });
    expect(p.stats().calls).toBe(0);
    await merkleRootAsync(contiguous(T), { pool: p });
    await merkleRootAsync(asHashArray(LEAVES, T), { pool: p });
    expect(p.stats().calls).toBe(2);
  });

  it('reads the input before returning: the caller may overwrite it, and it is never detached', async () => {
    const p = pool({ threads: 2, minLeavesPerTask: 1 });
    const n = 70_000;
    const buf = LEAVES.slice(0, n * 32);
    const list = asHashArray(LEAVES.slice(0, n * 32));
    const fromBuf = p.merkleRoot(buf);
    const fromList = p.merkleRoot(list);
    buf.fill(0);
    for (const h of list) h.fill(0xff);
    expect(hex(await fromBuf)).toBe(hex(merkleRoot(contiguous(n))));
    expect(hex(await fromList)).toBe(hex(merkleRoot(contiguous(n))));
    expect(buf.byteLength).toBe(n * 32);
    expect(list.every((h) => h.byteLength === 32)).toBe(true);
  });

  it('never detaches a Node Buffer (whose slice() is a view, not a copy)', async () => {
    const p = pool({ threads: 2, minLeavesPerTask: 1 });
    const n = 40_000;
    const buf = Buffer.from(LEAVES.subarray(0, n * 32));
    const want = hex(merkleRoot(buf));
    expect(hex(await p.merkleRoot(buf))).toBe(want);
    expect(buf.byteLength).toBe(n * 32);
    expect(hex(merkleRoot(buf))).toBe(want);
  });

  it('accepts a view at any offset of a larger buffer', async () => {
    const p = pool({ threads: 2, minLeavesPerTask: 1 });
    const n = 1001;
    const backing = new Uint8Array(n * 32 + 7);
    backing.set(contiguous(n), 5);
    expect(hex(await p.merkleRoot(backing.subarray(5, 5 + n * 32)))).toBe(hex(merkleRoot(contiguous(n))));
  });

  it('serves many concurrent calls, each with its own root', async () => {
    const p = pool({ threads: 2, minLeavesPerTask: 64 });
    const sizes = [0, 1, 7, 640, 4096, 9999, 20_000, 33_333];
    const roots = await Promise.all(sizes.map((n, i) => p.merkleRoot(i % 2 ? asHashArray(LEAVES, n) : contiguous(n))));
    roots.forEach((r, i) => expect(hex(r), `n = ${sizes[i]}`).toBe(hex(merkleRoot(contiguous(sizes[i]!)))));
    expect(p.stats().calls).toBe(sizes.length);
  });

  it('reports its thread count', () => {
    expect(pool({ threads: 3 }).threads).toBe(3);
    expect(pool().threads).toBeGreaterThanOrEqual(1);
  });
});

describe('cancellation', () => {
  it('rejects with an AbortError when the signal is already aborted, before any work', async () => {
    const p = pool({ threads: 2 });
    const reason = new Error('stop');
    await expectAbort(p.merkleRoot(contiguous(BIG), { signal: AbortSignal.abort(reason) }), reason);
    await expectAbort(merkleRootAsync(contiguous(10), { signal: AbortSignal.abort(reason) }), reason);
    await expectAbort(merkleRootAsync(contiguous(T), { pool: p, signal: AbortSignal.abort(reason) }), reason);
    expect(p.stats().tasks).toBe(0);
  });

  it('rejects with an AbortError when aborted while workers run, and the pool recovers', async () => {
    const p = pool({ threads: 2 });
    for (const { input } of FORMS) {
      const controller = new AbortController();
      const running = p.merkleRoot(input(BIG), { signal: controller.signal });
      controller.abort('enough');
      await expectAbort(running, 'enough');
      const viaAsync = new AbortController();
      const runningAsync = merkleRootAsync(input(BIG), { pool: p, signal: viaAsync.signal });
      viaAsync.abort();
      await expectAbort(runningAsync);
    }
    expect(p.stats().calls).toBe(0);
    expect(hex(await p.merkleRoot(contiguous((1 << 16) + 1)))).toBe(EXPECTED.get((1 << 16) + 1));
  });

  it('ignores a signal that never aborts', async () => {
    const p = pool({ threads: 2 });
    const controller = new AbortController();
    expect(hex(await p.merkleRoot(contiguous(1 << 16), { signal: controller.signal }))).toBe(EXPECTED.get(1 << 16));
  });
});

describe('validation', () => {
  it('rejects bad pool options by name, at construction', () => {
    const cases: [unknown, ErrorClass, string][] = [
      ['2 threads', KernelTypeError, 'options'],
      [[], KernelTypeError, 'options'],
      [{ threads: '2' }, KernelTypeError, 'options.threads'],
      [{ threads: 0 }, KernelRangeError, 'options.threads'],
      [{ threads: 1.5 }, KernelRangeError, 'options.threads'],
      [{ threads: NaN }, KernelRangeError, 'options.threads'],
      [{ threads: 257 }, KernelRangeError, 'options.threads'],
      [{ minLeavesPerTask: 0 }, KernelRangeError, 'options.minLeavesPerTask'],
      [{ minLeavesPerTask: Infinity }, KernelRangeError, 'options.minLeavesPerTask'],
      [{ minLeavesPerTask: null }, KernelTypeError, 'options.minLeavesPerTask'],
      [{ idleTimeoutMs: -1 }, KernelRangeError, 'options.idleTimeoutMs'],
      [{ idleTimeoutMs: 0.5 }, KernelRangeError, 'options.idleTimeoutMs'],
      [{ idleTimeoutMs: '1s' }, KernelTypeError, 'options.idleTimeoutMs'],
    ];
    for (const [options, type, field] of cases) {
      let caught: unknown;
      try {
        pool(options as Parameters<typeof createHashPool>[0]);
      } catch (e) {
        caught = e;
      }
      expect(caught, JSON.stringify(options)).toBeInstanceOf(type);
      expect(caught).toMatchObject({ code: 'INVALID_ARGUMENT', field });
      expect((caught as Error).message).toContain(field);
    }
    // The limits themselves are accepted.
    expect(pool({ threads: 1, minLeavesPerTask: 1, idleTimeoutMs: 0 }).threads).toBe(1);
    expect(pool({ idleTimeoutMs: Infinity }).threads).toBeGreaterThanOrEqual(1);
  });

  it('rejects bad leaves exactly as merkleRoot throws, on every path', async () => {
    const p = pool({ threads: 2 });
    const badLength = new Uint8Array(33);
    const badHash = [contiguous(1), new Uint8Array(31)];
    const notBytes = [contiguous(1), 'ab' as unknown as Uint8Array];
    const bigBad = asHashArray(LEAVES, T + 1);
    bigBad[T] = new Uint8Array(64);
    const cases: [unknown, KernelErrorCode, ErrorClass, string][] = [
      [badLength, 'INVALID_LENGTH', KernelRangeError, 'leafHashes'],
      [badHash, 'INVALID_LENGTH', KernelRangeError, 'leafHashes[1]'],
      [notBytes, 'INVALID_BYTES', KernelTypeError, 'leafHashes[1]'],
      [bigBad, 'INVALID_LENGTH', KernelRangeError, `leafHashes[${T}]`],
      ['leaves', 'INVALID_ARGUMENT', KernelTypeError, 'leafHashes'],
      [null, 'INVALID_ARGUMENT', KernelTypeError, 'leafHashes'],
    ];
    for (const [input, code, type, field] of cases) {
      const leaves = input as Uint8Array;
      expect(() => merkleRoot(leaves)).toThrow(type);
      await expectRejection(p.merkleRoot(leaves), code, type, field);
      await expectRejection(merkleRootAsync(leaves), code, type, field);
      await expectRejection(merkleRootAsync(leaves, { pool: p }), code, type, field);
    }
    expect(p.stats().tasks).toBe(0);
  });

  it('rejects bad call options by name', async () => {
    const p = pool({ threads: 2 });
    const leaves = contiguous(4);
    await expectRejection(p.merkleRoot(leaves, 'fast' as never), 'INVALID_ARGUMENT', KernelTypeError, 'options');
    await expectRejection(p.merkleRoot(leaves, { signal: {} as AbortSignal }), 'INVALID_ARGUMENT', KernelTypeError, 'options.signal');
    await expectRejection(merkleRootAsync(leaves, { signal: 'now' as never }), 'INVALID_ARGUMENT', KernelTypeError, 'options.signal');
    await expectRejection(merkleRootAsync(leaves, { pool: {} as HashPool }), 'INVALID_ARGUMENT', KernelTypeError, 'options.pool');
    await expectRejection(merkleRootAsync(leaves, 7 as never), 'INVALID_ARGUMENT', KernelTypeError, 'options');
  });
});

describe('closing', () => {
  it('lets running calls finish, then rejects every call with POOL_CLOSED', async () => {
    const p = createHashPool({ threads: 2 });
    pools.push(p);
    const running = p.merkleRoot(contiguous(BIG));
    const closed = p.close();
    expect(hex(await running)).toBe(EXPECTED.get(BIG));
    await closed;
    await expectRejection(p.merkleRoot(contiguous(4)), 'POOL_CLOSED', Error);
    await expectRejection(merkleRootAsync(contiguous(T), { pool: p }), 'POOL_CLOSED', Error);
    await expect(p.close()).resolves.toBeUndefined();
  });

  it('closeDefaultPool closes the shared pool; the next large call makes a new one', async () => {
    expect(hex(await merkleRootAsync(contiguous(1 << 16)))).toBe(EXPECTED.get(1 << 16));
    await closeDefaultPool();
    await closeDefaultPool();
    expect(hex(await merkleRootAsync(asHashArray(LEAVES, (1 << 16) + 1)))).toBe(EXPECTED.get((1 << 16) + 1));
    await closeDefaultPool();
  });

  // A script that used the default pool and never closed it must still exit by itself: idle
  // workers are unreferenced. The child is killed if it hangs, which fails the test.
  const root = fileURLToPath(new URL('../..', import.meta.url));
  const body = `
    const n = ${T * 4};
    const leaves = new Uint8Array(n * 32).map((_, i) => i * 7);
    const root = await k.merkleRootAsync(leaves);
    if (Buffer.from(root).toString('hex') !== Buffer.from(k.merkleRoot(leaves)).toString('hex')) process.exit(3);
    console.log('ok');`;
  const scripts = [
    { entry: 'ESM', args: ['--input-type=module', '-e', `import * as k from '@tenantry/kernels';${body}`] },
    { entry: 'CJS', args: ['-e', `const k = require('@tenantry/kernels');(async () => {${body}})();`] },
  ];
  for (const { entry, args } of scripts) {
    it(`a process that used the default pool exits by itself (${entry} entry)`, () => {
      const child = spawnSync(process.execPath, args, { cwd: root, encoding: 'utf8', timeout: 60_000 });
      expect(child.error, child.stderr).toBeUndefined();
      expect(child.signal, 'the process had to be killed').toBeNull();
      expect(child.stderr).toBe('');
      expect(child.status).toBe(0);
      expect(child.stdout.trim()).toBe('ok');
    });
  }
});
