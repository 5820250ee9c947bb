// `regen-bench data ...` as a user runs it (the compiled CLI through bin/regen-bench.js).
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { describe, expect, it } from 'vitest';

import { regenUser, scratch, writeLines } from './data-helpers.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const bin = path.join(root, 'bin', 'regen-bench.js');
const dir = scratch();
const env = { ...process.env, REGEN_BENCH_CACHE: path.join(dir, 'cache') };
const run = (...args: string[]) => spawnSync(process.execPath, [bin, 'data', ...args], { encoding: 'utf8', env });

describe('regen-bench data', () => {
  it('--help lists inspect, prepare, synth and stats', () => {
    const out = run('--help').stdout;
    for (const c of ['inspect', 'prepare', 'synth', 'stats']) expect(out).toMatch(new RegExp(`\\n\\s+${c}\\b`));
  });

  it('synth writes the same bytes for the same seed', () => {
    const a = run('synth', '--preset', 'demo', '--seed', '3', '--out', path.join(dir, 's1'));
    const b = run('synth', '--preset', 'demo', '--seed', '3', '--out', path.join(dir, 's2'), '--json');
    expect(a.status).toBe(0);
    expect(a.stdout).toMatch(/wrote .*demo.jsonl: 3,000 users, 1,500 items, 23,580 purchases/);
    expect(JSON.parse(b.stdout)).toMatchObject({ users: 3000, items: 1500, events: 23580, preset: 'demo', seed: 3 });
    expect(readFileSync(path.join(dir, 's1', 'demo.jsonl')).equals(readFileSync(path.join(dir, 's2', 'demo.jsonl')))).toBe(true);
    const bad = run('synth', '--preset', 'huge', '--out', dir);
    expect(bad.status).not.toBe(0);
    expect(bad.stderr).toMatch(/Allowed choices are demo, office, clothing/);
  });

  it("stats prints the Table 4 row and critique coverage", () => {
    const r = run('stats', 'demo');
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/dataset\s+users\s+items\s+items\/user\ndemo\s+3,000\s+1,500\s+7\.86/);
    expect(r.stdout).toMatch(/critique coverage: 1[78]\.\d% of 20,580 adjacent pairs have a critique/);
    const j = JSON.parse(run('stats', 'demo', '--json').stdout);
    expect(j).toMatchObject({ users: 3000, items: 1500, events: 23580, pairs: 20580 });
  });

  it('inspect shows the detected schema (confirmed, schema map, unrecognised), counts and an example user', () => {
    const u = regenUser('U1', [{ asin: 'A' }, { asin: 'B', critique: 'cheaper' }]) as Record<string, any>;
    u.purchase_history[0].item.color = 'red';
    const file = writeLines(path.join(dir, 'office.jsonl'), [u, regenUser('U2', [{ asin: 'B' }, { asin: 'C' }])]);
    const r = run('inspect', file);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(new RegExp(`^${file}: regen`));
    expect(r.stdout).toMatch(/\$\.purchase_history\[\]\.item\.asin: 2, string, confirmed/);
    expect(r.stdout).toMatch(/\$\.last_purchase\.critique: 1, string, schema: critique/);
    expect(r.stdout).toMatch(/\$\.user\.short_summary: 2, string, schema: userSummaryBrief/);
    expect(r.stdout).toMatch(/\$\.purchase_history\[\]\.item\.color: 1, string, unrecognised/);
    expect(r.stdout).toMatch(/office\s+2\s+3\s+2\.00/);
    expect(r.stdout).toMatch(/unrecognised keys .*\n\s+\$\.purchase_history\[\]\.item\.color: 1 \(e\.g\. .*office.jsonl:1 \$\.purchase_history\[0\]\.item\.color\)/);
    expect(r.stdout).toMatch(/first user, normalised:\n\{\n\s+"user": 0,\n\s+"reviewerId": "U1"/);
    const j = JSON.parse(run('inspect', file, '--json').stdout);
    expect(j.stats.users).toBe(2);
    expect(j.keys.find((k: { path: string }) => k.path === '$.reviewer_id').role).toBe('confirmed');
  });

  it('prepare writes a folder, reports problems, and stops at the first one with --strict', () => {
    const file = writeLines(path.join(dir, 'bad.jsonl'), [regenUser('U1', [{ asin: 'A' }, { asin: 'B' }]), '{oops', regenUser('U1', [{ asin: 'C' }])]);
    const out = path.join(dir, 'prepared');
    const r = run('prepare', file, '--out', out);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(new RegExp(`prepared bad \\(regen\\) in [\\d.]+ s: 1 users, 2 items, 2 purchases\\n  -> ${out}`));
    expect(r.stdout).toMatch(/malformed-line: 1 \(Skip the line\)\n\s+.*bad.jsonl:2: not valid JSON/);
    expect(r.stdout).toMatch(/duplicate-user: 1/);
    expect(JSON.parse(run('prepare', file, '--out', out, '--json').stdout)).toMatchObject({ cached: true, users: 1 });
    expect(run('stats', out).stdout).toMatch(/bad\s+1\s+2\s+2\.00/);
    const strict = run('prepare', file, '--strict', '--out', path.join(dir, 'strict'));
    expect(strict.status).toBe(1);
    expect(strict.stderr).toMatch(/regen-bench: .*bad.jsonl:2: not valid JSON .*Fix the input, or run without --strict/);
    const missing = run('stats', path.join(dir, 'nope.jsonl'));
    expect(missing.status).toBe(1);
    expect(missing.stderr).toMatch(/nope.jsonl: no such file or folder/);
  });
});
