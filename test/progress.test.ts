// Progress as a user sees it: plain lines when stderr is not a terminal (logs, CI), a bar on a
// terminal; the time left is the phase's own, and never "NULL", "INF" or NaN. Every slow phase of eval
// (loading, evaluating, bootstrap intervals, critique lift) and of compare says what it does.
import { spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';

import { afterEach, describe, expect, it, vi } from 'vitest';

import { consoleProgress, etaText, formatSeconds } from '../src/cli/progress.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

function sink(isTTY: boolean) {
  const chunks: string[] = [];
  const stream = new Writable({
    write(chunk, _enc, done) {
      chunks.push(String(chunk));
      done();
    },
  }) as Writable & { isTTY?: boolean; columns?: number; cursorTo?: unknown; clearLine?: unknown; moveCursor?: unknown };
  stream.isTTY = isTTY;
  stream.columns = 120;
  // The few TTY methods cli-progress calls.
  stream.cursorTo = (_x: number, _y?: number, cb?: () => void) => (cb?.(), true);
  stream.clearLine = (_d: number, cb?: () => void) => (cb?.(), true);
  stream.moveCursor = (_x: number, _y: number, cb?: () => void) => (cb?.(), true);
  return { stream: stream as unknown as NodeJS.WriteStream, text: () => chunks.join('') };
}

afterEach(() => {
  vi.useRealTimers();
});

describe('progress', () => {
  it('says the time left from the phase own rate, only once it means something', () => {
    expect(etaText(0, 100, 5000)).toBe('');
    expect(etaText(10, 100, 500)).toBe('');
    expect(etaText(10, 0, 5000)).toBe('');
    expect(etaText(100, 100, 5000)).toBe('');
    expect(etaText(25, 100, 10_000)).toBe(', eta 30 s');
    expect(formatSeconds(184)).toBe('3 min 04 s');
    expect(formatSeconds(3720)).toBe('1 h 02 min');
  });

  it('writes plain lines off a terminal: each new phase at once, then every 5 s, with the phase eta', () => {
    vi.useFakeTimers();
    vi.setSystemTime(new Date('2026-12-03T00:00:00Z'));
    const out = sink(false);
    const p = consoleProgress(out.stream);
    p({ phase: 'evaluating', done: 0, total: 1000, unit: 'rows' });
    vi.setSystemTime(new Date('2026-12-03T00:00:02Z'));
    p({ phase: 'evaluating', done: 100, total: 1000, unit: 'rows' }); // within 5 s: no line
    vi.setSystemTime(new Date('2026-12-03T00:00:06Z'));
    p({ phase: 'evaluating', done: 500, total: 1000, unit: 'rows' });
    p({ phase: 'bootstrap intervals, task3 (1,000 resamples)', done: 0, total: 8, unit: 'tables' });
    p({ phase: 'reading', done: 3 * 2 ** 20, total: 0, unit: 'bytes' });
    const lines = out.text().trim().split('\n');
    expect(lines).toEqual([
      'evaluating: 0 of 1,000 (0.0%), 0 s',
      'evaluating: 500 of 1,000 (50.0%), 6 s, eta 6 s',
      'bootstrap intervals, task3 (1,000 resamples): 0 of 8 (0.0%), 6 s',
      'reading: 3.0 MiB, 6 s',
    ]);
  });

  it('draws a bar on a terminal without NULL, INF or NaN, and a bare count when the total is unknown', () => {
    const out = sink(true);
    const p = consoleProgress(out.stream);
    p({ phase: 'evaluating', done: 0, total: 1000, unit: 'rows' });
    p({ phase: 'evaluating', done: 10, total: 1000, unit: 'rows' });
    p({ phase: 'reading', done: 5, total: 0, unit: 'rows' });
    p.stop();
    const text = out.text();
    expect(text).toContain('evaluating [');
    expect(text).toMatch(/reading 5/);
    expect(text).not.toMatch(/NULL|INF|NaN|undefined/);
  });

  it('eval and compare say every slow phase on stderr (plain lines in a pipe)', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'regen-progress-'));
    const cli = (...args: string[]) => spawnSync(process.execPath, [path.join(root, 'bin/regen-bench.js'), ...args], { encoding: 'utf8' });
    const a = cli('eval', '--task', '3', '--narrative', 'purchase_reason', '--bootstrap', '100', '--out', path.join(dir, 'pop'));
    expect(a.status, a.stderr).toBe(0);
    expect(a.stderr).toMatch(/^loading the embedded demo/m);
    expect(a.stderr).toMatch(/^evaluating .*: 0 of 3,000/m);
    expect(a.stderr).toMatch(/^bootstrap intervals, task3-no-critique \(100 resamples\): 0 of 3/m);
    expect(a.stderr).toMatch(/^bootstrap intervals, task3 \(100 resamples\): 0 of 3/m);
    expect(a.stderr).toMatch(/^critique lift, paired tests \(100 resamples\): 0 of 3/m);
    cli('eval', '--task', '3', '--model', 'markov', '--narrative', 'purchase_reason', '--bootstrap', '100', '--out', path.join(dir, 'markov'));
    const c = cli('compare', path.join(dir, 'pop'), path.join(dir, 'markov'), '--bootstrap', '100');
    expect(c.status, c.stderr).toBe(0);
    expect(c.stderr).toMatch(/^paired tests \(100 resamples\): 1 of 8/m);
  }, 60_000);
});
