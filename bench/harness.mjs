// A thin layer over benchmark.js: every group first checks that all its variants give the same
// output, then runs them side by side in one process and reports items/s and ratios.
import Benchmark from 'benchmark';

Benchmark.options.maxTime = 1;
Benchmark.options.minSamples = 3;

/**
 * @typedef {{ name: string, fn: () => unknown, defer?: boolean, heavy?: boolean }} Case
 * @typedef {{ title: string, unit: string, items: number, baseline: string, cases: Case[],
 *             check?: () => Promise<void> | void, note?: string }} Group
 * @typedef {{ name: string, hz: number, itemsPerSec: number, rme: number, samples: number }} Row
 */

/** Runs one group; returns its rows (items/s) in case order. */
export async function runGroup(group) {
  if (group.check) await group.check();
  const rows = [];
  for (const c of group.cases) {
    const options = c.heavy ? { minSamples: 4, maxTime: 0.1, initCount: 1 } : {};
    const bench = c.defer
      ? new Benchmark(c.name, { ...options, defer: true, fn: (d) => Promise.resolve(c.fn()).then(() => d.resolve()) })
      : new Benchmark(c.name, { ...options, fn: c.fn });
    await new Promise((resolve, reject) => {
      bench.on('complete', resolve).on('error', (e) => reject(e.target.error));
      bench.run({ async: true });
    });
    if (bench.error) throw bench.error;
    const row = { name: c.name, hz: bench.hz, itemsPerSec: bench.hz * group.items, rme: bench.stats.rme, samples: bench.stats.sample.length };
    rows.push(row);
    process.stdout.write(`  ${group.title} · ${c.name}: ${fmt(row.itemsPerSec)} ${group.unit}/s ±${row.rme.toFixed(1)}% (${row.samples} samples)\n`);
  }
  return rows;
}

export function fmt(x) {
  if (x >= 1e9) return `${(x / 1e9).toFixed(2)} G`;
  if (x >= 1e6) return `${(x / 1e6).toFixed(2)} M`;
  if (x >= 1e3) return `${(x / 1e3).toFixed(1)} k`;
  return x.toFixed(2);
}

/** Markdown table of a group's rows with ratios against the baseline case. */
export function table(group, rows) {
  const base = rows.find((r) => r.name === group.baseline);
  const lines = [
    `| variant | ${group.unit}/s | ± | ratio vs ${group.baseline} |`,
    '| --- | ---: | ---: | ---: |',
  ];
  for (const r of rows) {
    lines.push(`| ${r.name} | ${fmt(r.itemsPerSec)} | ${r.rme.toFixed(1)} % | ${(r.itemsPerSec / base.itemsPerSec).toFixed(2)}× |`);
  }
  return lines.join('\n');
}

/** Throws when two byte arrays differ (the variants of a group must agree before timing). */
export function sameBytes(what, a, b) {
  if (Buffer.compare(Buffer.from(a), Buffer.from(b)) !== 0) throw new Error(`benchmark variants disagree: ${what}`);
}

/**
 * Runs a suite module's groups directly (`node bench/<suite>.bench.mjs`) and prints its tables, notes and
 * targets; bench/run.mjs is the usual way, which also writes RESULTS.md.
 * @param {() => Promise<{ groups: Group[], close?: () => Promise<void> | void }>} groups
 * @param {(results: { group: Group, rows: Row[] }[]) => string} [targets]
 */
export async function runDirect(groups, targets) {
  const { groups: list, close } = await groups();
  const results = [];
  try {
    for (const group of list) results.push({ group, rows: await runGroup(group) });
  } finally {
    await close?.();
  }
  for (const { group, rows } of results) console.log(`\n### ${group.title}\n\n${table(group, rows)}\n${group.note ? `\n${group.note}\n` : ''}`);
  if (targets) console.log(`\n### Targets\n\n${targets(results)}`);
}
