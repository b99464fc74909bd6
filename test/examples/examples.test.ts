// The runnable examples the READMEs show: each runs to completion and prints what it promises.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const run = (file: string): { code: number | null; stdout: string; stderr: string } => {
  const r = spawnSync(process.execPath, [fileURLToPath(new URL(`../../examples/${file}`, import.meta.url))], { encoding: 'utf8' });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
};

describe('examples', () => {
  it('audit/receipt.mjs: the receipt verifies offline, and not with another key or when tampered', () => {
    const r = run('audit/receipt.mjs');
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('receipt verifies: true');
    expect(r.stdout).toContain('with another key: false');
    expect(r.stdout).toContain('tampered leaf:    false');
  });

  it('policy/decide.mjs: an allowed decision, a cross-tenant denial, the lockdown and the unlock', () => {
    const r = run('policy/decide.mjs');
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const lines = r.stdout.split('\n');
    const decision = (label: string): unknown => JSON.parse(/^(\{.*\})  revision/.exec(lines.find((l) => l.startsWith(label))!.slice(23))![1]!);
    expect(decision('acme reads its own doc')).toEqual({ allow: true, reasons: [], violation: false });
    expect(decision('acme reads globex')).toEqual({ allow: false, reasons: ['CROSS_TENANT'], violation: true });
    expect(decision('acme, locked down')).toEqual({ allow: false, reasons: ['TENANT_LOCKED'], violation: false });
    expect(decision('acme, unlocked')).toEqual({ allow: true, reasons: [], violation: false });
    expect(decision('not even JSON')).toEqual({ allow: false, reasons: ['INVALID_INPUT'], violation: false });
    expect(r.stdout).toContain('lockdown:  acme after 1 violation(s)');
    expect(r.stdout).toContain('unlock:    acme by oncall@acme (INC-7 reviewed)');
  });

  it('quota/budget.mjs: the exact daily cap, the experiment cap, the rate limit and usage', () => {
    const r = run('quota/budget.mjs');
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const line = (label: string): unknown => JSON.parse(r.stdout.split('\n').find((l) => l.startsWith(label))!.slice(label.length).trim());
    expect(line('reserve 0.02 more')).toEqual({ ok: false, reason: 'DAILY_CAP', retry_after_ms: 13 * 3_600_000 });
    expect(line('experiment 10.01')).toEqual({ ok: false, reason: 'EXPERIMENT_CAP' });
    expect(r.stdout).toContain('25 at once           19 admitted, then {"ok":false,"reason":"RATE_LIMIT","retry_after_ms":100}');
    expect(line('usage day')).toMatchObject({ key: '2025-03-10', cap_usd: 200, spent_usd: 38.5, reserved_usd: 0, remaining_usd: 161.5 });
    expect(line('usage experiments')).toEqual([{ experiment_id: 'prompt-v2', running: true, cap_usd: 50, spent_usd: 38.5, reserved_usd: 0, remaining_usd: 11.5 }]);
  });

  it('demo/main.mjs: prints the root, placements, burn-rate alerts and policy decisions', () => {
    const r = run('demo/main.mjs');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/root +[0-9a-f]{64}/);
    expect(r.stdout).toContain('consistency proof  size 8192 → 10000: 1 hash (32 bytes)');
    expect(r.stdout).toMatch(/acme +14\.40 +4\.80 +1\.00 +page \(1 h\), ticket \(3 d\)/);
    expect(r.stdout).toMatch(/revision policies-[0-9a-f]{12}/);
    expect(r.stdout).toMatch(/acme egress to evil\.example +deny +EGRESS\n/);
    expect(r.stdout).toMatch(/acme reads globex memory +deny +CROSS_TENANT +\(violation\)\n/);
    expect(r.stdout).toMatch(/acme reads its memory again +deny +TENANT_LOCKED\n/);
  });
});
