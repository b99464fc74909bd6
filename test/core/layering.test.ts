// The layers hold (docs/architecture.md, "Layers"): dependencies flow one way, no package reaches into
// another's internals, what several packages share is declared once in @tenantry/core, and the design
// the code cites is the repository's own.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const PACKAGES = ['core', 'kernels', 'audit', 'policy', 'quota', 'scheduler', 'federation', 'gateway'] as const;
type Pkg = (typeof PACKAGES)[number];

/** What each package may import (its layer and the ones below it). */
const ALLOWED: Record<Pkg, readonly Pkg[]> = {
  core: [],
  kernels: ['core'],
  audit: ['core', 'kernels'],
  policy: ['core', 'kernels'],
  quota: ['core', 'kernels'],
  scheduler: ['core', 'kernels', 'quota'],
  federation: ['core', 'kernels', 'audit', 'quota', 'scheduler'],
  gateway: ['core', 'kernels', 'audit', 'policy', 'quota', 'scheduler', 'federation'],
};

function filesUnder(dir: string, test: (f: string) => boolean): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    if (name === 'node_modules' || name === 'dist' || name === '.git' || name === '.tools' || name === '.data' || name === 'logs') continue;
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...filesUnder(p, test));
    else if (test(p)) out.push(p);
  }
  return out;
}

const sources = (pkg: Pkg) => filesUnder(join(ROOT, 'packages', pkg, 'src'), (f) => f.endsWith('.ts'));
const IMPORT = /(?:^|\n)\s*(?:import|export)\s[^'"]*?from\s+['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/g;

function importsOf(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  return [...text.matchAll(IMPORT)].map((m) => (m[1] ?? m[2])!);
}

function publicSubpaths(pkg: Pkg): Set<string> {
  const manifest = JSON.parse(readFileSync(join(ROOT, 'packages', pkg, 'package.json'), 'utf8')) as { exports: Record<string, unknown> };
  return new Set(Object.keys(manifest.exports).filter((k) => k !== './package.json' && k !== './testing').map((k) => (k === '.' ? '' : k.slice(1))));
}

describe('layers', () => {
  for (const pkg of PACKAGES) {
    it(`${pkg} imports only the packages below it, through their public entry points, and lists them as dependencies`, () => {
      const manifest = JSON.parse(readFileSync(join(ROOT, 'packages', pkg, 'package.json'), 'utf8')) as { dependencies?: Record<string, string> };
      const srcDir = join(ROOT, 'packages', pkg, 'src');
      const problems: string[] = [];
      for (const file of sources(pkg)) {
        for (const spec of importsOf(file)) {
          const at = `${relative(ROOT, file)}: ${spec}`;
          if (spec.startsWith('.')) {
            if (!resolve(file, '..', spec).startsWith(srcDir + sep)) problems.push(`${at} leaves the package`);
            continue;
          }
          const m = /^@tenantry\/([a-z]+)(\/.*)?$/.exec(spec);
          if (m === null) continue;
          const target = m[1] as Pkg;
          if (!(ALLOWED[pkg] as readonly string[]).includes(target)) problems.push(`${at} is not a layer below ${pkg}`);
          else if (!publicSubpaths(target).has(m[2] ?? '')) problems.push(`${at} is not a public entry point of @tenantry/${target}`);
          if (manifest.dependencies?.[`@tenantry/${target}`] === undefined) problems.push(`${at}: @tenantry/${target} is not in dependencies`);
        }
      }
      expect(problems).toEqual([]);
    });
  }

  it('every package but core depends on core', () => {
    for (const pkg of PACKAGES.filter((p) => p !== 'core')) {
      const manifest = JSON.parse(readFileSync(join(ROOT, 'packages', pkg, 'package.json'), 'utf8')) as { dependencies?: Record<string, string> };
      expect(manifest.dependencies?.['@tenantry/core'], pkg).toBe('0.1.0');
    }
  });
});

describe('one owner for each shared rule', () => {
  /** Lines of package sources outside core that match `re` (comments included: a rule restated in prose drifts too). */
  const outsideCore = (re: RegExp) => PACKAGES.filter((p) => p !== 'core').flatMap((pkg) => sources(pkg).flatMap((file) =>
    readFileSync(file, 'utf8').split('\n').flatMap((line, i) => (re.test(line) && !/^\s*\/\//.test(line) ? [`${relative(ROOT, file)}:${i + 1}: ${line.trim()}`] : []))));

  it('no package but core declares a tenant id limit', () => {
    expect(outsideCore(/\b(const|let|var)\s+MAX_TENANT_ID\w*\s*=\s*\d/)).toEqual([]);
    expect(outsideCore(/\b(const|let|var)\s+MAX_TENANT_ID\w*\s*=\s*(?!.*@tenantry\/core)[^;]*\d{2,}/)).toEqual([]);
  });

  it('every checkTenantId outside core is built on the core rule', () => {
    for (const pkg of PACKAGES.filter((p) => p !== 'core')) {
      for (const file of sources(pkg)) {
        const text = readFileSync(file, 'utf8');
        if (!/function\s+checkTenantId\b/.test(text)) continue;
        expect(/import\s*\{[^}]*\b(tenantIdProblem|checkTenantId)\b[^}]*\}\s*from\s*'@tenantry\/core'/.test(text), `${relative(ROOT, file)} declares checkTenantId without the core rule`).toBe(true);
      }
    }
  });

  it('no package but core declares the domain, mode, status or clearance lists', () => {
    const lists = [
      /['"](LAB|SHADOW|PROD)['"]\s*,\s*['"](LAB|SHADOW|PROD)['"]\s*,\s*['"](LAB|SHADOW|PROD)['"]/,
      /['"]NORMAL['"]\s*,\s*['"]CONSERVATIVE['"]/,
      /['"]active['"]\s*,\s*['"]suspended['"]\s*,\s*['"]locked['"]/,
      /['"]public['"]\s*,\s*['"]internal['"]\s*,\s*['"]confidential['"]/,
      /(type|=)\s*['"](LAB|SHADOW|PROD)['"]\s*\|\s*['"](LAB|SHADOW|PROD)['"]/,
    ];
    for (const re of lists) expect(outsideCore(re), String(re)).toEqual([]);
  });

  it('no package but core makes its own error brand', () => {
    expect(outsideCore(/Symbol\.for\(\s*['"]@tenantry\/error['"]\s*\)/)).toEqual([]);
  });

  it('no package but core declares isObject', () => {
    expect(outsideCore(/function\s+isObject\s*\(/)).toEqual([]);
  });
});

describe('the design the code cites is in the repository', () => {
  it('docs/architecture.md exists and every package README links to it', () => {
    expect(statSync(join(ROOT, 'docs', 'architecture.md')).isFile()).toBe(true);
    for (const pkg of PACKAGES) {
      expect(readFileSync(join(ROOT, 'packages', pkg, 'README.md'), 'utf8'), pkg).toContain('docs/architecture.md');
    }
  });

  it('no file cites a design document outside the repository', () => {
    const files = filesUnder(ROOT, (f) => /\.(ts|mts|mjs|js|md|rego|sh|json)$/.test(f) && !f.includes(`${sep}bundle${sep}`) && !f.endsWith('package-lock.json'));
    const citing = files.filter((f) => f !== fileURLToPath(import.meta.url) && /DESIGN\.md|\.\.\/shared\//.test(readFileSync(f, 'utf8')));
    expect(citing.map((f) => relative(ROOT, f))).toEqual([]);
  });

  it('every section that code comments cite exists in docs/architecture.md', () => {
    const doc = readFileSync(join(ROOT, 'docs', 'architecture.md'), 'utf8');
    const headings = new Set([...doc.matchAll(/^#{1,4}\s+(.+)$/gm)].map((m) => m[1]!.trim()));
    const cited = new Set<string>();
    for (const pkg of PACKAGES) {
      for (const file of sources(pkg)) {
        for (const m of readFileSync(file, 'utf8').matchAll(/docs\/architecture\.md,\s*"([^"]+)"/g)) cited.add(m[1]!);
      }
    }
    expect([...cited].filter((c) => !headings.has(c))).toEqual([]);
    expect(cited.size).toBeGreaterThan(5);
  });
});
