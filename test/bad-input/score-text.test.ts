// The bad-input matrix, score-text (issue 15): pairs files and outputs, each case with its exact
// outcome (the error a user reads, or what was written where).
import { lstatSync, mkdirSync, readFileSync, readlinkSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';

import { afterEach, describe, expect, it } from 'vitest';

import { readPairsFile } from '../../src/metrics/text/pairs-file.js';
import { setLimit } from '../../src/util/limits.js';
import { scratch } from '../data-helpers.js';
import { cli } from './helpers.js';

const dir = scratch();
const write = (name: string, content: string | Buffer) => {
  const f = path.join(dir, name);
  writeFileSync(f, content);
  return f;
};
const pair = (hyp: string, ref: string) => JSON.stringify({ hyp, ref });

afterEach(() => {
  setLimit('lineBytes', undefined);
  setLimit('segmentTokens', undefined);
});

describe('bad input: score-text', () => {
  it('a line that is not JSON', async () => {
    const f = write('bad.jsonl', `${pair('a', 'b')}\n{"hyp": oops}\n`);
    await expect(readPairsFile(f)).rejects.toThrow(`${f}:2: invalid JSON (Unexpected token 'o', "{"hyp": oops}" is not valid JSON). Fix: one JSON object per line, e.g. {"hyp": "...", "ref": "..."}`);
  });

  it('a line without "hyp"', async () => {
    const f = write('nohyp.jsonl', `{"ref": "b"}\n`);
    await expect(readPairsFile(f)).rejects.toThrow(`${f}:1: missing "hyp" (the model's text). Fix: add "hyp": "..."`);
  });

  it('"hyp" only on the prototype ({"__proto__": {"hyp": ...}}) is missing, not inherited', async () => {
    const f = write('proto.jsonl', `{"__proto__": {"hyp": "x"}, "ref": "y"}\n`);
    await expect(readPairsFile(f)).rejects.toThrow(`${f}:1: missing "hyp" (the model's text). Fix: add "hyp": "..."`);
  });

  it('"refs" that is an empty list', async () => {
    const f = write('norefs.jsonl', `{"hyp": "a", "refs": []}\n`);
    await expect(readPairsFile(f)).rejects.toThrow(`${f}:1: "refs" must be a non-empty array of strings but is an Array(0)`);
  });

  it('a text over the token limit: an error naming the line and which text', async () => {
    const f = write('long.jsonl', `${pair('a b', 'c')}\n${pair('one two three four five six', 'x')}\n`);
    setLimit('segmentTokens', 5);
    const r = cli(['score-text', '--input', f, '--max-segment-tokens', '5']);
    expect(r.status).toBe(1);
    expect(r.stderr).toBe(`regen-bench: ${f}:2 (hyp): a text of 6 tokens is over the limit (5 tokens in one text); raise it with REGEN_MAX_SEGMENT_TOKENS=N (or --max-segment-tokens N)\n`);
  }, 60_000);

  it('a 120,000-token ROUGE-Lsum pair is refused at the default limit, not allocated', () => {
    const words = (n: number) => Array.from({ length: n }, (_, i) => `w${i % 97}`).join(' ');
    const f = write('huge.jsonl', `${JSON.stringify({ hyp: `${words(60_000)}\n${words(60_000)}`, ref: words(120_000) })}\n`);
    const r = cli(['score-text', '--input', f]);
    expect(r.status).toBe(1);
    expect(r.stderr).toBe(`regen-bench: ${f}:1 (hyp): a text of 120,000 tokens is over the limit (100,000 tokens in one text); raise it with REGEN_MAX_SEGMENT_TOKENS=N (or --max-segment-tokens N)\n`);
  }, 60_000);

  it('/dev/zero as the pairs file: stops at the line limit', async () => {
    setLimit('lineBytes', 2 ** 20);
    await expect(readPairsFile('/dev/zero')).rejects.toThrow(/^\/dev\/zero:1: a line of at least [\d,]+ bytes is over the limit \(1 MiB in one line\)/);
  });

  it('a truncated gzip pairs file: stops, with where it broke', async () => {
    const gz = zlib.gzipSync(Array.from({ length: 500 }, (_, i) => pair(`hyp ${i} text`, `ref ${i} text`)).join('\n') + '\n');
    const f = write('cut.jsonl.gz', gz.subarray(0, gz.length - 20));
    await expect(readPairsFile(f)).rejects.toThrow(/^.*cut\.jsonl\.gz:\d+: unexpected end of file inside the gzip member at byte 0, after [\d,]+ complete lines, [\d,]+ of [\d,]+ bytes read; the partial line after it is dropped\. Fix: compress the file again/);
  });

  it('a gzip pairs file with trailing bytes: every pair read, a warning says so', () => {
    const lines = Array.from({ length: 50 }, (_, i) => pair(`h ${i}`, `r ${i}`));
    const gz = zlib.gzipSync(lines.join('\n') + '\n');
    const f = write('trailing.jsonl.gz', Buffer.concat([gz, Buffer.from([0, 0, 0, 0])]));
    const r = cli(['score-text', '--input', f, '--json']);
    expect(r.status).toBe(0);
    expect(JSON.parse(r.stdout).n).toBe(50);
    expect(r.stderr).toBe(`warning: ${f}:50: 4 bytes after the last complete gzip member (from byte ${gz.length.toLocaleString('en-US')}) are not gzip data; every line of the 50 before them was read\n`);
  }, 60_000);

  it('--per-example /dev/stdout reaches stdout (a stream is written directly, never renamed over)', () => {
    const f = write('two.jsonl', `${pair('the cat', 'the cat')}\n${pair('a dog', 'the cat')}\n`);
    const r = cli(['score-text', '--input', f, '--per-example', '/dev/stdout', '--json']);
    expect(r.status).toBe(0);
    const out = r.stdout.trim().split('\n').map((l) => JSON.parse(l));
    expect(out.map((o) => o.line)).toEqual([1, 2, undefined]);
    expect(out[2].n).toBe(2);
    expect(r.stderr).toMatch(/^wrote to the (pipe|socket) \/dev\/stdout directly \(no temporary file\)\n$/); // spawnSync's stdout is a socket pair
  }, 60_000);

  it('--per-example through a symlink: the link stays, its target is replaced, and the command says so', () => {
    const f = write('one.jsonl', `${pair('x y', 'x y')}\n`);
    const target = write('scores-target.jsonl', 'old\n');
    const link = path.join(dir, 'scores.jsonl');
    symlinkSync(target, link);
    const r = cli(['score-text', '--input', f, '--per-example', link, '--json']);
    expect(r.status).toBe(0);
    expect(lstatSync(link).isSymbolicLink()).toBe(true);
    expect(readlinkSync(link)).toBe(target);
    expect(JSON.parse(readFileSync(target, 'utf8')).line).toBe(1);
    expect(r.stderr).toBe(`replaced ${target} through the symlink ${link} (it held 4 bytes)\n`);
  }, 60_000);

  it('--per-example naming a folder', () => {
    const f = write('one-more.jsonl', `${pair('x', 'x')}\n`);
    const out = path.join(dir, 'a-folder');
    mkdirSync(out);
    const r = cli(['score-text', '--input', f, '--per-example', out]);
    expect(r.status).toBe(1);
    expect(r.stderr).toBe(`regen-bench: cannot write ${out}: it is a folder; give a file name\n`);
  }, 60_000);

  it('--semsim with a local-looking path that does not exist: an error, never a download', () => {
    const f = write('s.jsonl', `${pair('x', 'x')}\n`);
    const r = cli(['score-text', '--input', f, '--semsim', './models/typo']);
    expect(r.status).toBe(1);
    expect(r.stderr).toBe(
      `regen-bench: --semsim ./models/typo: no such folder (${path.resolve('./models/typo')}). A path that does not exist is not looked up on the hub; give an existing model folder, or a hub id such as Xenova/all-MiniLM-L6-v2\n`,
    );
  }, 60_000);

  it('--semsim owner/name --offline, not in the cache: says which cache lacks which files', () => {
    const f = write('s2.jsonl', `${pair('x', 'x')}\n`);
    const r = cli(['score-text', '--input', f, '--semsim', 'models/x', '--offline'], { REGEN_BENCH_CACHE: path.join(dir, 'c') });
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/^regen-bench: semantic similarity: model 'models\/x' is not available offline: the model cache .*models\/x lacks config\.json, tokenizer\.json, tokenizer_config\.json, onnx\/model\.onnx\. Fix: run once with network access and without --offline/);
  }, 60_000);
});
