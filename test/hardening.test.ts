// Issue 15's mechanisms, one by one: limits, the line reader (long lines, gzip members, damage),
// JSON nesting, the iterative stemmer, the banded LCS (bit-identical to the table backtrack), bounded
// ROUGE-L memory, writers (links, devices, pipes, per-run temporary names), content hashes that see an
// edit in place, what a model argument names (a folder, or a hub id), and the bootstrap's size limit.
// The bad-input matrix (test/bad-input/) checks what users meet at the commands and the library API.
import { spawn, spawnSync } from 'node:child_process';
import { closeSync, existsSync, lstatSync, mkdirSync, openSync, readFileSync, readdirSync, readlinkSync, statSync, symlinkSync, utimesSync, writeFileSync, writeSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import zlib from 'node:zlib';

import { afterEach, describe, expect, it } from 'vitest';

import { contentHash } from '../src/data/files.js';
import { readLines } from '../src/data/lines.js';
import { Issues } from '../src/data/report.js';
import { textKernels } from '../src/engine/engine.js';
import { bootstrapMeans, pairedTest } from '../src/eval/bootstrap.js';
import { PairStatsEngine } from '../src/metrics/text/pair-stats.js';
import { porterStem } from '../src/metrics/text/porter.js';
import { porterStem as porterStemRecursive } from './helpers/porter-recursive.js';
import { parseRougeType } from '../src/metrics/text/rouge.js';
import { computeTextStats, segmentTokens } from '../src/metrics/text/score.js';
import { resolveModelRef } from '../src/metrics/text/semsim.js';
import { AtomicFileWriter, isTempName, removeTempsInFlight, RUN_TOKEN, tempPathFor, writeFileAtomic } from '../src/util/files.js';
import { jsonDepth, parseJsonLine, preview } from '../src/util/json.js';
import { LimitError, limit, setLimit } from '../src/util/limits.js';
import { scratch } from './data-helpers.js';

const SEED = Number(process.env.REGEN_TEST_SEED ?? Math.floor(Math.random() * 2 ** 31));
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

function rng(seed: number) {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return (s >>> 0) / 2 ** 32;
  };
}

afterEach(() => {
  setLimit('lineBytes', undefined);
  setLimit('segmentTokens', undefined);
  setLimit('jsonDepth', undefined);
});

describe('limits', () => {
  it('come from the flag, else the environment, else the default; a bad value names the variable', () => {
    expect(limit('lineBytes')).toBe(64 * 2 ** 20);
    setLimit('lineBytes', 1000);
    expect(limit('lineBytes')).toBe(1000);
    setLimit('lineBytes', undefined);
    process.env.REGEN_MAX_LINE_BYTES = 'lots';
    try {
      expect(() => limit('lineBytes')).toThrow(
        'REGEN_MAX_LINE_BYTES=lots is not a valid limit: expected an integer in [1, 536870848] (bytes in one line; default 64 MiB)',
      );
    } finally {
      delete process.env.REGEN_MAX_LINE_BYTES;
    }
  });
});

describe('the line reader', () => {
  const dir = scratch();
  const read = async (file: string) => {
    const lines: string[] = [];
    const issues = new Issues(false);
    const r = await readLines(file, (l) => lines.push(l), { issues });
    return { lines, r, issues: issues.report().issues };
  };

  it('reads a line that spans many chunks whole, and stops at the line limit with file, line and the fix', async () => {
    const file = path.join(dir, 'long.txt');
    const long = 'x'.repeat(5 * 2 ** 20 + 17);
    writeFileSync(file, `short\n${long}\r\nlast`);
    const { lines } = await read(file);
    expect(lines.map((l) => l.length)).toEqual([5, long.length, 4]);
    setLimit('lineBytes', 2 ** 20);
    await expect(read(file)).rejects.toThrow(
      new RegExp(`^${file}:2: a line of at least [\\d,]+ bytes is over the limit \\(1 MiB in one line\\); raise it with REGEN_MAX_LINE_BYTES=N \\(or --max-line-bytes N\\)$`),
    );
  });

  it('stops reading a file without newlines (/dev/zero) at the limit instead of growing without end', async () => {
    setLimit('lineBytes', 3 * 2 ** 20);
    await expect(read('/dev/zero')).rejects.toBeInstanceOf(LimitError);
  });

  it('keeps every line of complete gzip members and reports bytes after them; damage inside a member is truncation', async () => {
    const text = Array.from({ length: 200 }, (_, i) => JSON.stringify({ user: `u${i}`, pad: 'y'.repeat(300) })).join('\n') + '\n';
    const gz = zlib.gzipSync(text);
    const trailing = path.join(dir, 'trailing.gz');
    writeFileSync(trailing, Buffer.concat([gz, Buffer.from('not gzip at all')]));
    const t = await read(trailing);
    expect(t.lines).toHaveLength(200); // Node's own gunzip drops the member's last output chunk here
    expect(t.issues).toEqual([
      {
        kind: 'gzip-trailing-data',
        count: 1,
        action: 'Ignore the trailing bytes',
        samples: [`${trailing}:200: 15 bytes after the last complete gzip member (from byte ${gz.length.toLocaleString('en-US')}) are not gzip data; every line of the 200 before them was read`],
      },
    ]);
    const members = path.join(dir, 'members.gz');
    writeFileSync(members, Buffer.concat([zlib.gzipSync(text.slice(0, 1000)), zlib.gzipSync(text.slice(1000))]));
    expect((await read(members)).lines).toEqual(text.trim().split('\n'));
    const corrupt = Buffer.from(gz);
    for (let i = 40; i < 60; i++) corrupt[i] ^= 0x5a;
    const bad = path.join(dir, 'corrupt.gz');
    writeFileSync(bad, corrupt);
    const c = await read(bad);
    expect(c.r.truncated).toBe(true);
    expect(c.issues.map((i) => i.kind)).toEqual(['truncated-gzip']);
    expect(c.issues[0].samples[0]).toMatch(new RegExp(`^${bad}:\\d+: the gzip member at byte 0 (is corrupt|fails its CRC-32)`));
  });
});

describe('JSON from inputs', () => {
  it('refuses nesting deeper than the limit at the line that holds it', () => {
    expect(jsonDepth('{"a": [1, {"b": "[[[[["}], "c": "\\"]"}')).toBe(3);
    const deep = '['.repeat(65) + ']'.repeat(65);
    expect(() => parseJsonLine(deep, 'f.jsonl:3')).toThrow(
      'f.jsonl:3: a JSON value nested more than 64 levels deep is over the limit (64 levels of nesting in one JSON value); raise it with REGEN_MAX_JSON_DEPTH=N',
    );
    expect(parseJsonLine('['.repeat(64) + ']'.repeat(64), 'f:1')).toBeInstanceOf(Array);
    expect(Object.keys(parseJsonLine('{"__proto__": 1, "constructor": 2}', 'f:1') as object)).toEqual(['__proto__', 'constructor']);
    // The bracket count that lets most lines skip the depth scan: brackets inside strings count toward
    // it but not toward the depth, and a deep value mixing '{' and '[' is still refused.
    expect(parseJsonLine(`{"hyp": "${'[{'.repeat(100)}", "ref": "x"}`, 'f:1')).toEqual({ hyp: '[{'.repeat(100), ref: 'x' });
    const mixed = `${'{"a":['.repeat(33)}1${']}'.repeat(33)}`;
    expect(() => parseJsonLine(mixed, 'f.jsonl:4')).toThrow('f.jsonl:4: a JSON value nested more than 64 levels deep');
  });

  it('previews any value briefly, however deep or large', () => {
    const deep = JSON.parse('['.repeat(10_000) + ']'.repeat(10_000));
    expect(preview(deep)).toBe('[[[[…]]]]');
    expect(preview('x'.repeat(1000))).toHaveLength(60);
    expect(preview({ a: 1, b: [1, 2] })).toBe('{"a":1,"b":[1,2]}');
  });
});

describe('the Porter stemmer', () => {
  it(`stems words of 'y' runs and every suffix exactly as the recursive implementation it replaced (seed ${SEED})`, () => {
    const r = rng(SEED);
    const kernels = textKernels();
    for (let c = 0; c < 3000; c++) {
      const word =
        Array.from({ length: 1 + Math.floor(r() * 40) }, () => 'yyyyaeiotsnlbdgc'[Math.floor(r() * 16)]).join('') +
        ['ing', 'ed', 'ies', 'ational', 'y', 'ness', 'ly', 'e', 'alli', 'ousli', 'yy', ''][Math.floor(r() * 12)];
      const stem = porterStem(word);
      expect(stem, word).toBe(porterStemRecursive(word));
      if (kernels) expect(kernels.porterStem(word), word).toBe(stem);
    }
  });

  it('stems a 300,000-letter token without recursing per letter (TypeScript and native)', () => {
    const word = 'y'.repeat(300_000) + 'ing';
    const stem = porterStem(word);
    expect(stem.length).toBeGreaterThan(299_000);
    const kernels = textKernels();
    if (kernels) expect(kernels.porterStem(word)).toBe(stem);
  });
});

describe('ROUGE-L and ROUGE-Lsum in memory linear in the segments', () => {
  it(`the banded backtrack marks what the full table does (REGEN_LCS_BAND_CELLS=16 forces it; native and TypeScript vs the Python port; seed ${SEED})`, () => {
    const script = path.join(root, 'test', 'helpers', 'lcs-check.ts');
    const r = spawnSync(process.execPath, ['--import', 'tsx', script, String(SEED)], {
      cwd: root,
      encoding: 'utf8',
      env: { ...process.env, REGEN_LCS_BAND_CELLS: '16' },
      timeout: 300_000,
    });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const out = JSON.parse(r.stdout) as { pairs: number; native: boolean; mismatches: string[] };
    expect(out.mismatches).toEqual([]);
    expect(out.pairs).toBeGreaterThanOrEqual(300);
    expect(out.native).toBe(textKernels() !== null && process.env.REGEN_TEXT_BACKEND !== 'js');
  }, 300_000);

  it('ROUGE-L of a long pair with many distinct tokens: the native kernel (per-step masks) equals the two-row DP', async () => {
    const r = rng(SEED ^ 0x1234);
    // 12,000 tokens each from a 6,000-word vocabulary: 6,000 x 188 mask words exceed the per-symbol budget.
    const words = Array.from({ length: 6000 }, (_, i) => `w${i.toString(36)}`);
    const seg = () => Array.from({ length: 12_000 }, () => words[Math.floor(r() * words.length)]).join(' ');
    const pair = { hyp: seg(), refs: [seg()] };
    const types = ['rougeL'];
    const engine = new PairStatsEngine();
    const ts: number[] = [];
    engine.rougeStats(pair.hyp, pair.refs, ts, 0, types.map(parseRougeType), false);
    const stats = await computeTextStats([pair], { rougeTypes: types, skipBleu: true, pool: 'never' });
    expect(Array.from(stats.rouge)).toEqual(ts);
  }, 120_000);
});

describe('text segments over the token limit', () => {
  it('counts tokens as the tokenizers could (an upper bound) and refuses a text over the limit, naming it', async () => {
    expect(segmentTokens('Hello, world! 3.5mm x2')).toBe(8);
    expect(segmentTokens('aébc déf')).toBe(4);
    setLimit('segmentTokens', 5);
    await expect(computeTextStats([{ hyp: 'a b c', refs: ['x'] }, { hyp: 'ok', refs: ['one two three four five six seven'] }])).rejects.toThrow(
      'pairs[1].ref: a text of 7 tokens is over the limit (5 tokens in one text); raise it with REGEN_MAX_SEGMENT_TOKENS=N (or --max-segment-tokens N)',
    );
  });
});

describe('writers', () => {
  const dir = scratch();

  it('write through a symlink to its target (the link stays a link) and say what they replaced', () => {
    const target = path.join(dir, 'real.json');
    const link = path.join(dir, 'link.json');
    writeFileSync(target, 'old');
    symlinkSync(target, link);
    const w = writeFileAtomic(link, 'new');
    expect(lstatSync(link).isSymbolicLink()).toBe(true);
    expect(readlinkSync(link)).toBe(target);
    expect(readFileSync(target, 'utf8')).toBe('new');
    expect(w).toMatchObject({ how: 'replaced', target, note: `replaced ${target} through the symlink ${link} (it held 3 bytes)` });
    expect(writeFileAtomic(path.join(dir, 'fresh.txt'), 'x')).toMatchObject({ how: 'created', note: `created ${path.join(dir, 'fresh.txt')}` });
    // A dangling link: its target is created.
    const dangling = path.join(dir, 'dangling');
    symlinkSync(path.join(dir, 'made-through-link.txt'), dangling);
    writeFileAtomic(dangling, 'y');
    expect(readFileSync(path.join(dir, 'made-through-link.txt'), 'utf8')).toBe('y');
    expect(() => writeFileAtomic(dir, 'z')).toThrow(`cannot write ${dir}: it is a folder; give a file name`);
  });

  it('write devices and pipes directly: /dev/null stays a device, a FIFO gets the bytes', async () => {
    expect(writeFileAtomic('/dev/null', 'nothing')).toMatchObject({ how: 'direct', note: 'wrote to the device /dev/null directly (no temporary file)' });
    expect(statSync('/dev/null').isCharacterDevice()).toBe(true);
    const fifo = path.join(dir, 'pipe');
    expect(spawnSync('mkfifo', [fifo]).status).toBe(0);
    const reader = spawn('cat', [fifo]);
    let got = '';
    reader.stdout.on('data', (b) => (got += b));
    const done = new Promise((r) => reader.on('close', r));
    const w = new AtomicFileWriter(fifo);
    w.write('through ');
    w.write('the pipe');
    expect(w.commit().how).toBe('direct');
    await done;
    expect(got).toBe('through the pipe');
    expect(statSync(fifo).isFIFO()).toBe(true);
  });

  it("name temporary files with this run's token and remove only their own", () => {
    const other = path.join(dir, '.report.json.tmp-0123456789ab-1'); // another run's: never touched
    writeFileSync(other, 'theirs');
    const mine = tempPathFor(path.join(dir, 'report.json'));
    writeFileSync(mine, 'mine');
    expect(path.basename(mine)).toMatch(new RegExp(`^\\.report\\.json\\.tmp-${RUN_TOKEN}-\\d+$`));
    expect(isTempName(path.basename(mine))).toBe(true);
    removeTempsInFlight();
    expect(existsSync(mine)).toBe(false);
    expect(readFileSync(other, 'utf8')).toBe('theirs');
    expect(readdirSync(dir).filter((f) => f.includes(RUN_TOKEN))).toEqual([]);
  });
});

describe('content hashes', () => {
  it('see an edit in place that keeps the size and puts the old mtime back', async () => {
    const dir = scratch();
    const memo = path.join(dir, 'memo');
    const file = path.join(dir, 'data.jsonl');
    writeFileSync(file, 'a'.repeat(100_000));
    utimesSync(file, 1_700_000_000, 1_700_000_000); // a whole second: restorable exactly
    const before = statSync(file);
    const first = await contentHash(file, memo);
    expect(await contentHash(file, memo)).toBe(first);
    // Same size, one byte in the middle, mtime restored: only ctime (kernel-set) and the sampled bytes tell.
    const fd = openSync(file, 'r+');
    writeSync(fd, 'b', 50_000);
    closeSync(fd);
    utimesSync(file, 1_700_000_000, 1_700_000_000);
    expect(statSync(file).mtimeMs).toBe(before.mtimeMs);
    expect(statSync(file).size).toBe(before.size);
    expect(await contentHash(file, memo)).not.toBe(first);
  });
});

describe('what a model argument names', () => {
  it('an existing folder, else a hub id; a local-looking path that does not exist is an error, never a download', () => {
    const dir = scratch();
    mkdirSync(path.join(dir, 'enc'));
    expect(resolveModelRef(path.join(dir, 'enc'), 'semsim')).toEqual({ kind: 'folder', dir: path.join(dir, 'enc') });
    expect(resolveModelRef('Xenova/all-MiniLM-L6-v2', 'semsim')).toEqual({ kind: 'hub', id: 'Xenova/all-MiniLM-L6-v2' });
    expect(resolveModelRef('bert-base-uncased', 'encoder')).toEqual({ kind: 'hub', id: 'bert-base-uncased' });
    // Names no machine has (relative ones resolve against the working directory: '../x' once existed there).
    for (const local of ['./models/no-such-model-here', '../no-such-model-here', '/no/such/model', '~/no-such-model-here', 'models/no-such-model/y', 'models\\no-such-model'])
      expect(() => resolveModelRef(local, 'semsim'), local).toThrow(/^options\.semsim .*: no such folder \(.*\)\. A path that does not exist is not looked up on the hub/);
    writeFileSync(path.join(dir, 'file.onnx'), '');
    expect(() => resolveModelRef(path.join(dir, 'file.onnx'), 'encoder')).toThrow(/^options\.encoder .*file\.onnx is a file; give a model folder/);
    expect(resolveModelRef('~', 'semsim')).toEqual({ kind: 'folder', dir: os.homedir() });
  });
});

describe('bootstrap sizes', () => {
  it('are refused past the limit before anything is allocated', async () => {
    await expect(bootstrapMeans({ x: [1, 2, 3] }, { samples: 2 ** 28 })).rejects.toThrow(
      'Expected samples x statistics to be at most 134,217,728 (bootstrap resamples x statistics (8 bytes each); raise it with REGEN_MAX_BOOTSTRAP_VALUES=N) but received 268,435,456 x 1',
    );
    expect(() => pairedTest([1], [2], { samples: 2 ** 30 })).toThrow(/^Expected options\.samples x statistics to be at most 134,217,728/);
  });
});
