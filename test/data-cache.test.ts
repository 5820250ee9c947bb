// The cache and prepared folders: keyed by content and options, reused on the second load, rebuilt
// when anything that matters changes, and never trusted when a build did not complete.
import { appendFileSync, cpSync, existsSync, mkdirSync, readdirSync, rmSync, utimesSync } from 'node:fs';
import path from 'node:path';

import { describe, expect, it } from 'vitest';

import { openDataset } from '../src/data/store.js';
import { prepareDataset } from '../src/data/load.js';
import { regenUser, scratch, writeLines } from './data-helpers.js';

const dir = scratch();
const users = Array.from({ length: 30 }, (_, i) => regenUser(`U${i}`, [{ asin: `A${i % 5}`, time: 1 }, { asin: `B${i % 3}`, time: 2, critique: 'smaller' }, { asin: 'C', time: 3 }]));

describe('the cache', () => {
  const cacheDir = path.join(dir, 'cache');
  const file = writeLines(path.join(dir, 'office.jsonl'), users);

  it('builds once, then opens the Arrow files', async () => {
    const first = await prepareDataset(file, { cacheDir });
    expect(first.cached).toBe(false);
    expect(first.dir).toBe(path.join(cacheDir, 'datasets', `office-${first.dataset.meta.key.slice(0, 16)}`));
    const second = await prepareDataset(file, { cacheDir });
    expect(second.cached).toBe(true);
    expect(second.dir).toBe(first.dir);
    expect(Array.from(second.dataset.events.item)).toEqual(Array.from(first.dataset.events.item));
    expect(second.dataset.events.critique.get(1)).toBe('smaller');
    const forced = await prepareDataset(file, { cacheDir, force: true });
    expect(forced.cached).toBe(false);
    expect(forced.dataset.meta.source.files[0]).toMatchObject({ path: file, sha256: expect.stringMatching(/^[0-9a-f]{64}$/) });
  });

  it('is keyed by content (not name or time) and by options', async () => {
    const before = await prepareDataset(file, { cacheDir });
    // Touched but unchanged: re-hashed, same key, reused.
    utimesSync(file, new Date(), new Date(Date.now() + 5000));
    const touched = await prepareDataset(file, { cacheDir });
    expect(touched.cached).toBe(true);
    // Another option that changes the result: another key.
    const schema = await prepareDataset(file, { cacheDir, schema: { critiqueSentinels: ['smaller'] } });
    expect(schema.dataset.meta.key).not.toBe(before.dataset.meta.key);
    expect(schema.dataset.events.critique.get(1)).toBeNull();
    // Changed content: another key.
    appendFileSync(file, JSON.stringify(regenUser('NEW', [{ asin: 'Z' }, { asin: 'Y' }])) + '\n');
    const changed = await prepareDataset(file, { cacheDir });
    expect(changed.cached).toBe(false);
    expect(changed.dataset.meta.key).not.toBe(before.dataset.meta.key);
    expect(changed.dataset.users.count).toBe(31);
  });

  it('never trusts a folder that an interrupted or damaged build left', async () => {
    const out = path.join(dir, 'prepared');
    const good = await prepareDataset(file, { out });
    // A crash during a build leaves only a temporary folder (renamed into place only when complete):
    // it is never opened, and never deleted by another run (only the run that made a temporary name
    // removes it: issue 15; the folder could be another tool's or a live process's).
    const stale = path.join(dir, '.prepared.tmp-999999999-abcdef');
    cpSync(out, stale, { recursive: true });
    rmSync(path.join(stale, 'manifest.json'));
    rmSync(out, { recursive: true });
    expect(() => openDataset(out)).toThrow(/not a prepared dataset/);
    const rebuilt = await prepareDataset(file, { out });
    expect(rebuilt.cached).toBe(false);
    expect(existsSync(stale)).toBe(true);
    rmSync(stale, { recursive: true });
    expect(rebuilt.dataset.meta.key).toBe(good.dataset.meta.key);
    // A damaged folder (a file missing) is rebuilt, not opened.
    rmSync(path.join(out, 'users.arrow'));
    const repaired = await prepareDataset(file, { out });
    expect(repaired.cached).toBe(false);
    expect(repaired.dataset.users.count).toBe(31);
    // A failed build removes its temporary folder and keeps the previous complete one.
    await expect(
      prepareDataset(file, {
        out,
        force: true,
        progress: (e) => {
          if (e.phase.startsWith('reading')) throw new Error('disk full');
        },
      }),
    ).rejects.toThrow('disk full');
    expect(readdirSync(dir).filter((f) => f.startsWith('.prepared'))).toEqual([]);
    expect(openDataset(out).users.count).toBe(31);
  });

  it('replaces an older prepared folder in one step', async () => {
    const out = path.join(dir, 'replace');
    mkdirSync(out);
    const a = await prepareDataset(writeLines(path.join(dir, 'a.jsonl'), users.slice(0, 5)), { out });
    const b = await prepareDataset(writeLines(path.join(dir, 'b.jsonl'), users.slice(0, 7)), { out });
    expect(a.dataset.users.count).toBe(5);
    expect(openDataset(out).users.count).toBe(7);
    expect(b.dir).toBe(out);
    expect(readdirSync(dir).filter((f) => f.includes('replace'))).toEqual(['replace']);
  });

  it('refuses an output folder that holds anything but a prepared dataset', async () => {
    const out = path.join(dir, 'mine');
    mkdirSync(out);
    writeLines(path.join(out, 'notes.txt'), ['keep me']);
    await expect(prepareDataset(path.join(dir, 'a.jsonl'), { out })).rejects.toThrow(/options.out .*mine holds other files \(notes.txt\); give a new or empty folder/); // issue 13: library errors name library options
    expect(readdirSync(out)).toEqual(['notes.txt']);
  });
});

describe('the embedded demo', () => {
  it('is built once and then opened from the cache, with the same content key; made in memory where the cache cannot be written', async () => {
    const { loadDataset } = await import('../src/data/load.js');
    const cacheDir = path.join(dir, 'demo-cache');
    const inMemory = await loadDataset('demo', { cache: false });
    const first = await prepareDataset('demo', { cacheDir });
    const second = await prepareDataset('demo', { cacheDir });
    expect([first.cached, second.cached]).toEqual([false, true]);
    expect(second.dataset.meta.key).toBe(inMemory.meta.key);
    expect(second.dataset.users.count).toBe(inMemory.users.count);
    expect((await loadDataset('demo', { cacheDir })).meta.key).toBe(inMemory.meta.key);
    expect(readdirSync(path.join(cacheDir, 'datasets')).filter((f) => f.startsWith('demo-'))).toHaveLength(1);
    // A cache folder under a file cannot be made: the demo is made in memory instead of failing.
    const blocked = path.join(dir, 'not-a-folder');
    appendFileSync(blocked, 'x');
    expect((await loadDataset('demo', { cacheDir: path.join(blocked, 'cache') })).meta.key).toBe(inMemory.meta.key);
    await expect(prepareDataset('demo', { cacheDir: path.join(blocked, 'cache') })).rejects.toThrow(/ENOTDIR|not a directory/);
    if (process.getuid?.() !== 0) {
      const ro = path.join(dir, 'read-only');
      mkdirSync(ro, { mode: 0o500 });
      expect((await loadDataset('demo', { cacheDir: ro })).meta.key).toBe(inMemory.meta.key);
    }
  });
});
