// A folder of REGEN files as --data (the release's regen/REGEN/<category>.jsonl, data synth --out),
// --category, and `data verify` (the manifest of a copy of REGEN, checked against Table 4).
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { describe, expect, it } from 'vitest';

import { findRegenFiles } from '../src/data/folder.js';
import { loadDataset, resolveSourcePath } from '../src/data/load.js';
import { paperChecks, verifyRegen } from '../src/data/verify.js';
import { regenUser, scratch, writeLines } from './data-helpers.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const bin = path.join(root, 'bin', 'regen-bench.js');
const dir = scratch();
const env = { ...process.env, REGEN_BENCH_CACHE: path.join(dir, 'cache') };
const cli = (...args: string[]) => spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', env });

// The release's layout: <unpacked>/regen/REGEN/{office,clothing}.jsonl (clothing gzipped here), with
// files that are not REGEN beside them (a predictions file, an unfinished synth's partial file).
const unpacked = path.join(dir, 'kaggle');
const regenDir = path.join(unpacked, 'regen', 'REGEN');
mkdirSync(regenDir, { recursive: true });
const office = writeLines(path.join(regenDir, 'office.jsonl'), [
  regenUser('U1', [
    { asin: 'P1', category: 'Office - Pens - Gel', critique: 'N/A' },
    { asin: 'P2', category: 'Office - Pens - Gel', critique: 'finer tip' },
    { asin: 'P3', category: 'Office - Paper' },
  ]),
  regenUser('U2', [{ asin: 'P2' }, { asin: 'P1' }]),
]);
const clothing = writeLines(path.join(regenDir, 'clothing.jsonl.gz'), [regenUser('C1', [{ asin: 'S1' }, { asin: 'S2' }, { asin: 'S3' }])], true);
writeLines(path.join(regenDir, 'predictions.jsonl'), [{ user: 'U1', items: ['P1'] }]);
writeFileSync(path.join(regenDir, '.office.jsonl.partial'), '{"reviewer_id": "partial"}\n');

describe('a folder of REGEN files', () => {
  it('finds the REGEN files up to two levels down, by category, and nothing else', async () => {
    const found = await findRegenFiles(unpacked);
    expect(found.map((f) => [f.category, path.relative(unpacked, f.file)])).toEqual([
      ['clothing', path.join('regen', 'REGEN', 'clothing.jsonl.gz')],
      ['office', path.join('regen', 'REGEN', 'office.jsonl')],
    ]);
  });

  it('with several categories, --category picks one; without it the error names them', async () => {
    expect(await resolveSourcePath(unpacked, 'office')).toBe(office);
    expect(await resolveSourcePath(regenDir, 'Clothing')).toBe(clothing);
    await expect(resolveSourcePath(unpacked)).rejects.toThrow(/several categories .*pick one with options\.category clothing\|office/);
    await expect(resolveSourcePath(unpacked, 'books')).rejects.toThrow(/options\.category books: .* holds REGEN files of clothing, office only/);
    await expect(resolveSourcePath(office, 'office')).rejects.toThrow(/options\.category office: .* is a file/);
    await expect(resolveSourcePath('demo', 'office')).rejects.toThrow(/the embedded demo/);
    const empty = path.join(dir, 'empty');
    mkdirSync(empty);
    await expect(resolveSourcePath(empty)).rejects.toThrow(/neither a prepared dataset .* nor REGEN files/);
  });

  it('the folder loads as the file it stands for (same dataset key)', async () => {
    const viaFolder = await loadDataset(unpacked, { category: 'office' });
    const viaFile = await loadDataset(office);
    expect(viaFolder.meta.key).toBe(viaFile.meta.key);
    expect(viaFolder.meta.name).toBe('office');
    expect(viaFolder.users.count).toBe(2);
  });

  it('CLI: data synth --out D, then data stats D and eval --data D read the folder', () => {
    const out = path.join(dir, 'synth');
    expect(cli('data', 'synth', '--out', out).status).toBe(0);
    const stats = cli('data', 'stats', out);
    expect(stats.status).toBe(0);
    expect(stats.stdout).toMatch(/demo\s+3,000\s+1,500\s+7\.86/);
    const ev = cli('eval', '--data', out, '--task', '1', '--no-semsim', '--bootstrap', '10', '--json');
    expect(ev.status).toBe(0);
    expect(JSON.parse(ev.stdout).ranking.n).toBe(3000);
    const several = cli('eval', '--data', unpacked, '--task', '1', '--no-semsim');
    expect(several.status).toBe(1);
    expect(several.stderr).toMatch(/pick one with --category clothing\|office/);
    const picked = cli('data', 'stats', unpacked, '--category', 'clothing', '--json');
    expect(picked.status).toBe(0);
    expect(JSON.parse(picked.stdout)).toMatchObject({ name: 'clothing', users: 1 });
  }, 120_000);
});

describe('data verify', () => {
  it('lists every file with size, SHA-256, Table 4 numbers, critique coverage and key inventory', async () => {
    const m = await verifyRegen(unpacked);
    expect(m.files.map((f) => f.file)).toEqual([path.join('regen', 'REGEN', 'clothing.jsonl.gz'), path.join('regen', 'REGEN', 'office.jsonl')]);
    const o = m.files[1];
    expect(o.bytes).toBe(statSync(office).size);
    expect(o.sha256).toBe(createHash('sha256').update(readFileSync(office)).digest('hex'));
    expect(o).toMatchObject({ category: 'office', users: 2, items: 3, purchases: 5, itemsPerUser: 2.5 });
    // U1: P1 -> P2 (critique 'finer tip'), P2 -> P3; U2: P2 -> P1: three adjacent pairs, one critique.
    expect(o.critiques).toMatchObject({ pairs: 3, withCritique: 1 });
    expect(o.critiques.share).toBeCloseTo(1 / 3, 12);
    expect(o.keys.find((k) => k.path === '$.reviewer_id')).toMatchObject({ count: 2, role: 'confirmed' });
    expect(o.keys.find((k) => k.path === '$.purchase_history[].critique')?.role).toBe('schema: critique');
    // The paper's Office row, compared and found different on this toy file.
    expect(o.paper?.map((c) => [c.quantity, c.paper, c.matches])).toEqual([
      ['users', 89_489, false],
      ['items', 27_887, false],
      ['itemsPerUser', 7.86, false],
      ['critiqueShare', 0.176, false],
    ]);
    expect((await verifyRegen(unpacked, { category: 'clothing' })).files).toHaveLength(1);
  });

  it('compares at the paper precision', () => {
    expect(paperChecks('office', { users: 89_489, items: 27_887, itemsPerUser: 7.8571, critiqueShare: 0.17649 })!.every((c) => c.matches)).toBe(true);
    expect(paperChecks('clothing', { users: 1_168_735, items: 376_847, itemsPerUser: 9.214, critiqueShare: 0.1856 })!.every((c) => c.matches)).toBe(true);
    expect(paperChecks('clothing', { users: 1_168_734, items: 376_847, itemsPerUser: 9.21, critiqueShare: 0.186 })!.map((c) => c.matches)).toEqual([false, true, true, true]);
    expect(paperChecks('demo', { users: 1, items: 1, itemsPerUser: 1, critiqueShare: 0 })).toBeNull();
  });

  it('CLI: prints the manifest, or JSON', () => {
    const text = cli('data', 'verify', unpacked);
    expect(text.status).toBe(0);
    expect(text.stdout).toMatch(/regen\/REGEN\/office\.jsonl \(category office\)\n {2}size {5}\d[\d,]* bytes\n {2}sha256 {3}[0-9a-f]{64}/);
    expect(text.stdout).toMatch(/paper \(Table 4, critique share §3\): DIFFERS: users 2 vs 89,489/);
    expect(text.stdout).toMatch(/\$\.purchase_history\[\]\.item\.asin: \d+, string, confirmed/);
    const json = JSON.parse(cli('data', 'verify', office, '--json').stdout);
    expect(json.files[0]).toMatchObject({ file: 'office.jsonl', users: 2 });
  });
});
