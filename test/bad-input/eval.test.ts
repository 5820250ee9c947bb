// The bad-input matrix, eval (issue 15): predictions and embedding files a model hands in, each case
// with its exact outcome: the error a user reads, or the counted problem (kind, count, first sample)
// in the report's input_problems section and whether the run's input is past the bad-share limit.
import { mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';

import { beforeAll, describe, expect, it } from 'vitest';

import { encodeNpy } from '../../src/models/embeddings-file.js';
import { setLimit } from '../../src/util/limits.js';
import { cli, demo, problemsOf, recall, type Demo } from './helpers.js';

let d: Demo;
beforeAll(async () => {
  d = await demo();
}, 120_000);

const at = (file: string, line: number) => `${file}:${line}`;

interface Case {
  name: string;
  run: () => Promise<void>;
}

const predictionCases: Case[] = [
  {
    name: 'malformed JSON on every tenth line: counted per line, the share over 1% fails the run',
    run: async () => {
      const f = d.write('malformed.jsonl', d.lines.map((l, i) => (i % 10 === 0 ? '{not json' : l)));
      const r = await d.evalPredictions(f);
      expect(problemsOf(r, f)['malformed-line']).toEqual({
        count: 300,
        action: 'Skip the line',
        samples: [1, 11, 21, 31, 41].map((n) => `${at(f, n)}: not JSON (Expected property name or '}' in JSON at position 1)`),
      });
      expect(r.badInput).toEqual([
        `300 of 3,000 lines of ${f} (predictions) are bad: 10.0%, above the 1% limit; the report's input_problems section lists them (accept it with --allow-bad-input, or set REGEN_MAX_BAD_SHARE (a share in [0, 1]))`,
      ]);
    },
  },
  {
    name: 'binary garbage: every line malformed',
    run: async () => {
      const f = d.write('binary.jsonl', Buffer.from([0x00, 0xff, 0xfe, 0x0a, 0x89, 0x50, 0x4e, 0x47, 0x0a, 0x7b, 0x22, 0x00, 0x0a]));
      const r = await d.evalPredictions(f);
      expect(problemsOf(r, f)['malformed-line'].count).toBe(3);
      expect(r.badInput[0]).toMatch(/^3 of 3 lines of .*binary\.jsonl \(predictions\) are bad: 100\.0%/);
    },
  },
  {
    name: 'a user twice: the first line counts, the repeat is counted',
    run: async () => {
      const f = d.write('dupes.jsonl', [...d.lines, ...d.lines.slice(0, 5)]);
      const r = await d.evalPredictions(f);
      expect(problemsOf(r, f)['duplicate-user']).toEqual({
        count: 5,
        action: 'Skip the line (the first counts)',
        samples: d.records.slice(0, 5).map((rec, i) => `${at(f, 3001 + i)}: user ${JSON.stringify(rec.user)} appeared on an earlier line`),
      });
      expect(r.badInput).toEqual([]); // 5 of 3,005 lines: under 1%
    },
  },
  {
    name: 'users the dataset does not have',
    run: async () => {
      const f = d.write('strangers.jsonl', [...d.lines, '{"user": "NOBODY-1", "items": []}', '{"user": "NOBODY-2"}']);
      const r = await d.evalPredictions(f);
      expect(problemsOf(r, f)['unknown-user']).toEqual({
        count: 2,
        action: 'Skip the line',
        samples: [`${at(f, 3001)}: user "NOBODY-1" is not in the dataset`, `${at(f, 3002)}: user "NOBODY-2" is not in the dataset`],
      });
    },
  },
  {
    name: 'items the dataset does not have: kept in place as wrong items, counted as bad ids',
    run: async () => {
      const f = d.write('unknown-items.jsonl', d.records.map((rec, i) => JSON.stringify(i < 10 ? { ...rec, items: ['NOT-AN-ITEM', ...rec.items.slice(1)] } : rec)));
      const r = await d.evalPredictions(f);
      expect(problemsOf(r, f)['unknown-item']).toEqual({
        count: 10,
        action: 'Keep it in place as a wrong item',
        samples: [1, 2, 3, 4, 5].map((n) => `${at(f, n)}: item "NOT-AN-ITEM" is not in the dataset`),
      });
      const section = r.json.input_problems as Record<string, { ids: number; bad_ids: number }>;
      expect(section[f]).toMatchObject({ ids: 60_000, bad_ids: 10 });
    },
  },
  {
    name: 'items written as JSON numbers when the ids are strings: refused, with the fix',
    run: async () => {
      const f = d.write('numbers.jsonl', d.records.map((rec) => JSON.stringify({ ...rec, items: [123, ...rec.items] })));
      await expect(d.evalPredictions(f)).rejects.toThrow(
        `${at(f, 1)}: item 123 is a JSON number, but the item ids of demo are strings such as ${JSON.stringify(firstAsin)}: write every item id as a JSON string ("items": ["..."]); a number cannot be matched to them`,
      );
    },
  },
  {
    name: 'a user written as a JSON number when the ids are strings: refused',
    run: async () => {
      const f = d.write('number-user.jsonl', ['{"user": 42, "items": []}']);
      await expect(d.evalPredictions(f)).rejects.toThrow(new RegExp(`^${at(f, 1)}: user 42 is a JSON number, but the user ids of demo are strings such as "[^"]+": write every user id as a JSON string`));
    },
  },
  {
    name: 'narrative keys that are Object.prototype names are data: counted as unknown keys, no TypeError',
    run: async () => {
      const f = d.write(
        'proto-keys.jsonl',
        d.records.map((rec) => `{"user": ${JSON.stringify(rec.user)}, "items": ${JSON.stringify(rec.items)}, "narratives": {"constructor": "x", "__proto__": "y", "toString": "z", "purchase_reason": "I needed pens."}}`),
      );
      const r = await d.evalPredictions(f, { task: 3 });
      const p = problemsOf(r, f)['unknown-key'];
      expect(p.count).toBe(9000);
      expect(p.samples.slice(0, 3)).toEqual([`${at(f, 1)}: narratives key "constructor" is not a REGEN narrative kind`, `${at(f, 1)}: narratives key "__proto__" is not a REGEN narrative kind`, `${at(f, 1)}: narratives key "toString" is not a REGEN narrative kind`]);
      expect(r.badInput).toEqual([]); // unknown keys cost no line
      expect(r.reports[0].notes['examples without a predicted purchaseReason (scored as empty text)']).toBeUndefined();
    },
  },
  {
    name: 'JSON nested deeper than the limit: an error at its line',
    run: async () => {
      const f = d.write('deep.jsonl', [d.lines[0], `{"user": ${JSON.stringify(d.records[1].user)}, "items": ${'['.repeat(100)}${']'.repeat(100)}}`]);
      await expect(d.evalPredictions(f)).rejects.toThrow(
        `${at(f, 2)}: a JSON value nested more than 64 levels deep is over the limit (64 levels of nesting in one JSON value); raise it with REGEN_MAX_JSON_DEPTH=N`,
      );
    },
  },
  {
    name: 'a line longer than the line limit: an error naming file, line, limit and fix',
    run: async () => {
      const f = d.write('long-line.jsonl', [d.lines[0], `{"user": "x", "pad": "${'p'.repeat(20_000)}"}`]);
      setLimit('lineBytes', 10_000);
      try {
        await expect(d.evalPredictions(f)).rejects.toThrow(
          `${at(f, 2)}: a line of at least 20,024 bytes is over the limit (10,000 bytes in one line); raise it with REGEN_MAX_LINE_BYTES=N (or --max-line-bytes N)`,
        );
      } finally {
        setLimit('lineBytes', undefined);
      }
    },
  },
  {
    name: '/dev/zero as predictions: stops at the line limit (no newline ever comes)',
    run: async () => {
      setLimit('lineBytes', 2 ** 20);
      try {
        await expect(d.evalPredictions('/dev/zero')).rejects.toThrow(/^\/dev\/zero:1: a line of at least [\d,]+ bytes is over the limit \(1 MiB in one line\)/);
      } finally {
        setLimit('lineBytes', undefined);
      }
    },
  },
  {
    name: 'gzip with trailing garbage: every line of the complete member is scored, the garbage reported',
    run: async () => {
      const gz = zlib.gzipSync(d.lines.join('\n') + '\n');
      const f = d.write('trailing.jsonl.gz', Buffer.concat([gz, Buffer.from('GARBAGE')]));
      const plain = await d.evalPredictions(d.write('plain.jsonl', d.lines));
      const r = await d.evalPredictions(f);
      expect(recall(r)).toBe(recall(plain));
      expect(problemsOf(r, f)['gzip-trailing-data']).toEqual({
        count: 1,
        action: 'Ignore the trailing bytes',
        samples: [`${at(f, 3000)}: 7 bytes after the last complete gzip member (from byte ${gz.length.toLocaleString('en-US')}) are not gzip data; every line of the 3,000 before them was read`],
      });
    },
  },
  {
    name: 'a truncated gzip: the complete lines are kept, the damage reported, the missing users scored as misses',
    run: async () => {
      const gz = zlib.gzipSync(d.lines.join('\n') + '\n');
      const f = d.write('cut.jsonl.gz', gz.subarray(0, Math.floor(gz.length / 2)));
      const r = await d.evalPredictions(f);
      const p = problemsOf(r, f)['truncated-gzip'];
      expect(p.count).toBe(1);
      expect(p.samples[0]).toMatch(new RegExp(`^${f}:\\d+: unexpected end of file inside the gzip member at byte 0, after [\\d,]+ complete lines`));
      expect(r.reports[0].notes['examples without a prediction line (scored as misses)']).toBeGreaterThan(0);
    },
  },
  {
    name: '"items" that is not an array',
    run: async () => {
      const f = d.write('items-string.jsonl', [`{"user": ${JSON.stringify(d.records[0].user)}, "items": "B0001"}`]);
      const r = await d.evalPredictions(f);
      expect(problemsOf(r, f)['bad-value']).toEqual({ count: 1, action: 'Skip the line', samples: [`${at(f, 1)}: "items" is not an array of item ids ("B0001")`] });
    },
  },
  {
    name: 'a line without "user"',
    run: async () => {
      const f = d.write('no-user.jsonl', ['{"items": ["B0001"]}', d.lines[1]]);
      const r = await d.evalPredictions(f);
      expect(problemsOf(r, f)['missing-field']).toEqual({ count: 1, action: 'Skip the line', samples: [`${at(f, 1)}: "user" is missing or not a string (undefined)`] });
    },
  },
  {
    name: 'an empty predictions file: the run fails (every example would be a miss)',
    run: async () => {
      const f = d.write('empty.jsonl', '');
      const r = await d.evalPredictions(f);
      expect(r.badInput).toEqual([`${f} (predictions) holds no lines: every example is scored as a miss (accept it with --allow-bad-input, or set REGEN_MAX_BAD_SHARE (a share in [0, 1]))`]);
      expect(recall(r)).toBe(0);
    },
  },
  {
    name: 'a folder as the predictions file',
    run: async () => {
      const dir = path.join(d.dir, 'a-folder');
      mkdirSync(dir, { recursive: true });
      await expect(d.evalPredictions(dir)).rejects.toThrow(`${dir}: a folder, expected a file`);
    },
  },
  {
    name: 'a predictions file that does not exist',
    run: async () => {
      const f = path.join(d.dir, 'nope.jsonl');
      await expect(d.evalPredictions(f)).rejects.toThrow(`${f}: no such file`);
    },
  },
  {
    name: '--strict: the first bad line is fatal, with the fix',
    run: async () => {
      const f = d.write('strict.jsonl', [d.lines[0], '[1, 2]']);
      await expect(d.evalPredictions(f, { strict: true })).rejects.toThrow(
        `${at(f, 2)}: not a JSON object ([1,2]) (a line that does not parse). Fix the input, or run without options.strict to skip the line and count such records.`,
      );
    },
  },
  {
    name: 'a predicted narrative longer than the token limit: an error naming the user and the kind',
    run: async () => {
      const rec = d.records[0];
      const f = d.write('long-narrative.jsonl', [JSON.stringify({ ...rec, narratives: { purchase_reason: 'word '.repeat(60) } })]);
      setLimit('segmentTokens', 50);
      try {
        await expect(d.evalPredictions(f, { task: 3 })).rejects.toThrow(
          `the predicted purchaseReason of user ${JSON.stringify(rec.user)}: a text of 60 tokens is over the limit (50 tokens in one text); raise it with REGEN_MAX_SEGMENT_TOKENS=N (or --max-segment-tokens N)`,
        );
      } finally {
        setLimit('segmentTokens', undefined);
      }
    },
  },
  {
    name: 'a UTF-8 BOM and CRLF line ends: read as plain lines, no problems',
    run: async () => {
      const f = d.write('crlf.jsonl', Buffer.from('\ufeff' + d.lines.join('\r\n') + '\r\n'));
      const plain = await d.evalPredictions(d.write('plain2.jsonl', d.lines));
      const r = await d.evalPredictions(f);
      expect(recall(r)).toBe(recall(plain));
      expect(problemsOf(r, f)).toEqual({});
    },
  },
  {
    name: 'a list item that is an object: an unknown item, previewed briefly',
    run: async () => {
      const rec = d.records[0];
      const f = d.write('object-item.jsonl', [JSON.stringify({ ...rec, items: [{ asin: rec.items[0], deep: [[[[[1]]]]] }] })]);
      const r = await d.evalPredictions(f);
      expect(problemsOf(r, f)['unknown-item'].samples).toEqual([`${at(f, 1)}: item {"asin":"${rec.items[0]}","deep":[[[…]]]} is not in the dataset`]);
    },
  },
  {
    name: 'narratives that are not an object, and a narrative that is not a string',
    run: async () => {
      const rec = d.records[0];
      const f = d.write('narr.jsonl', [JSON.stringify({ ...rec, narratives: 'text' }), JSON.stringify({ ...d.records[1], narratives: { purchase_reason: 5 } })]);
      const r = await d.evalPredictions(f, { task: 3 });
      expect(problemsOf(r, f)['bad-value'].samples).toEqual([`${at(f, 1)}: "narratives" is not an object of texts ("text")`, `${at(f, 2)}: narratives.purchase_reason is not a string (5)`]);
    },
  },
  {
    name: 'resuming into --out after the predictions changed: the old chunks are not reused, and eval says why',
    run: async () => {
      const out = path.join(d.dir, 'resume-out');
      const f = path.join(d.dir, 'resume.jsonl');
      writeFileSync(f, d.lines.join('\n') + '\n');
      const first = await d.evalPredictions(f, { out });
      // The same size, other content: every user's list reversed.
      writeFileSync(f, d.records.map((rec) => JSON.stringify({ ...rec, items: [...rec.items].reverse() })).join('\n') + '\n');
      const log: string[] = [];
      const again = await d.evalPredictions(f, { out, log: (l) => log.push(l) });
      expect(log.filter((l) => l.startsWith('not reusing'))).toEqual([
        expect.stringMatching(new RegExp(`^not reusing the chunks in ${out}/chunks/[0-9a-f]{16}: computed with other settings \\(inputs\\.predictions\\.sha256 \\([0-9a-f]{20}… vs [0-9a-f]{20}…\\)\\)$`)),
      ]);
      expect(recall(again)).not.toBe(recall(first));
      expect(log.some((l) => /^replaced .*task1\.part\.json \(it held [\d,]+ bytes\); the earlier part had other settings: inputs\.predictions\.sha256/.test(l))).toBe(true);
    },
  },
];

let firstAsin = '';
beforeAll(async () => {
  const { openDataset } = await import('../../src/data/store.js');
  firstAsin = openDataset(d.data).items.asin.get(0)!;
});

describe('bad input: eval --predictions', () => {
  for (const c of predictionCases) it(c.name, c.run, 60_000);
});

// --------------------------------------------------------------------------------------------------
// Embedding files

function npyWithShape(shape: string, data: Buffer): Buffer {
  let h = `{'descr': '<f4', 'fortran_order': False, 'shape': (${shape}), }`;
  h += ' '.repeat((64 - ((10 + h.length + 1) % 64)) % 64) + '\n';
  const head = Buffer.alloc(10);
  head.write('\x93NUMPY', 0, 'latin1');
  head[6] = 1;
  head.writeUInt16LE(h.length, 8);
  return Buffer.concat([head, Buffer.from(h, 'latin1'), data]);
}

function safetensors(header: unknown, data: Buffer): Buffer {
  const json = Buffer.from(JSON.stringify(header));
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(json.length));
  return Buffer.concat([len, json, data]);
}

const embeddingCases: Case[] = [
  {
    name: 'a .npy with a negative dimension',
    run: async () => {
      const f = d.write('neg.npy', npyWithShape('3, -4', Buffer.alloc(48)));
      await expect(d.evalPredictions('', { predictions: undefined, queries: f, items: f })).rejects.toThrow(`${f}: every dimension of the shape must be a non-negative integer but is "-4"`);
    },
  },
  {
    name: 'a truncated .npy',
    run: async () => {
      const f = d.write('short.npy', npyWithShape('3, 4', Buffer.alloc(40)));
      await expect(d.evalPredictions('', { predictions: undefined, queries: f, items: f })).rejects.toThrow(
        `${f}: truncated: 40 data bytes for shape (3, 4) float32 (48 expected); save it again with np.save`,
      );
    },
  },
  {
    name: 'a .npy with bytes after its data',
    run: async () => {
      const f = d.write('long.npy', npyWithShape('1, 2', Buffer.alloc(12)));
      await expect(d.evalPredictions('', { predictions: undefined, queries: f, items: f })).rejects.toThrow(
        `${f}: has extra bytes: 12 data bytes for shape (1, 2) float32 (8 expected); save it again with np.save`,
      );
    },
  },
  {
    name: 'safetensors with a negative data offset (it would read the header as data)',
    run: async () => {
      const f = d.write('neg.safetensors', safetensors({ x: { dtype: 'F32', shape: [1, 2], data_offsets: [-8, 0] } }, Buffer.alloc(8)));
      await expect(d.evalPredictions('', { predictions: undefined, queries: f, items: f })).rejects.toThrow(`${f}: tensor 'x' data_offsets[0] must be a non-negative integer but is -8`);
    },
  },
  {
    name: 'safetensors whose header length runs past the file',
    run: async () => {
      const b = safetensors({ x: { dtype: 'F32', shape: [1, 1], data_offsets: [0, 4] } }, Buffer.alloc(4));
      b.writeBigUInt64LE(10_000n, 0);
      const f = d.write('long-header.safetensors', b);
      await expect(d.evalPredictions('', { predictions: undefined, queries: f, items: f })).rejects.toThrow(`${f}: not a safetensors file (header length 10000 exceeds the file)`);
    },
  },
  {
    name: 'safetensors whose header is a JSON array',
    run: async () => {
      const f = d.write('array.safetensors', safetensors([1, 2], Buffer.alloc(0)));
      await expect(d.evalPredictions('', { predictions: undefined, queries: f, items: f })).rejects.toThrow(`${f}: not a safetensors file (its header is [1,2], not a JSON object)`);
    },
  },
  {
    name: 'safetensors whose tensor data lies beyond the file',
    run: async () => {
      const f = d.write('beyond.safetensors', safetensors({ x: { dtype: 'F32', shape: [10, 10], data_offsets: [0, 400] } }, Buffer.alloc(16)));
      await expect(d.evalPredictions('', { predictions: undefined, queries: f, items: f })).rejects.toThrow(`${f}: tensor 'x': data [0, 400) is not inside the 16 bytes of data after the header`);
    },
  },
  {
    name: 'a matrix over the table-size limit: refused before it is read',
    run: async () => {
      const f = d.write('big.npy', encodeNpy(new Float32Array(3000 * 8), 3000, 8));
      setLimit('tableValues', 1000);
      try {
        await expect(d.evalPredictions('', { predictions: undefined, queries: f, items: f })).rejects.toThrow(
          `${f}: shape (3000, 8) = 24,000 values is over the limit (1,000 values in one matrix); raise it with REGEN_MAX_TABLE_VALUES=N`,
        );
      } finally {
        setLimit('tableValues', undefined);
      }
    },
  },
  {
    name: 'a folder as the item matrix',
    run: async () => {
      const dir = path.join(d.dir, 'items.npy');
      mkdirSync(dir, { recursive: true });
      const q = d.write('q.npy', encodeNpy(new Float32Array(8), 1, 8));
      await expect(d.evalPredictions('', { predictions: undefined, queries: q, items: dir })).rejects.toThrow(`${dir}: is not a regular file (a folder); give a .npy or .safetensors file`);
    },
  },
  {
    name: 'a device behind a .npy name (/dev/zero)',
    run: async () => {
      const link = path.join(d.dir, 'zero.npy');
      symlinkSync('/dev/zero', link);
      await expect(d.evalPredictions('', { predictions: undefined, queries: link, items: link })).rejects.toThrow(`${link}: is not a regular file (a device or pipe); give a .npy or .safetensors file`);
    },
  },
  {
    name: 'an item id list with ids the dataset does not have, and one listed twice',
    run: async () => {
      const { openDataset } = await import('../../src/data/store.js');
      const ds = openDataset(d.data);
      const n = ds.items.count;
      const ids = Array.from({ length: n }, (_, i) => ds.items.asin.get(i)!);
      ids[1] = 'ZZZ-UNKNOWN';
      ids[2] = ids[0];
      const items = d.write('emb-items.npy', encodeNpy(new Float32Array(n * 4).map((_, i) => (i % 7) / 7), n, 4));
      const idFile = d.write('emb-items.ids.txt', ids);
      const queries = d.write('queries.npy', encodeNpy(new Float32Array(3000 * 4).fill(0.5), 3000, 4));
      const r = await d.evalPredictions('', { predictions: undefined, queries, items, itemIds: idFile });
      expect(problemsOf(r, idFile)).toEqual({
        'duplicate-item': { count: 1, action: 'Use the first row', samples: [`${idFile}:3: item ${JSON.stringify(ids[0])} is listed on an earlier line`] },
        'unknown-item': { count: 1, action: 'Ignore its vector', samples: [`${idFile}:2: item "ZZZ-UNKNOWN" is not in the dataset`] },
      });
      expect((r.json.input_problems as Record<string, { role: string }>)[queries].role).toBe('queries');
      expect(r.reports[0].signature).toMatch(/\|inputs:\[queries=queries\.npy@[0-9a-f]{16},items=emb-items\.npy@[0-9a-f]{16},item-ids=emb-items\.ids\.txt@[0-9a-f]{16}\]\|/);
    },
  },
];

describe('bad input: eval --queries --items', () => {
  for (const c of embeddingCases) it(c.name, c.run, 60_000);
});

describe('bad input: the eval command', () => {
  it('more than 1% of the lines bad: the report is printed, the exit status is 3; --allow-bad-input makes it 0', () => {
    const f = d.write('cli-bad.jsonl', d.lines.map((l, i) => (i % 20 === 0 ? 'oops' : l)));
    const args = ['eval', '--data', d.data, '--task', '1', '--predictions', f, '--no-semsim', '--bootstrap', '10'];
    const bad = cli(args);
    expect(bad.status).toBe(3);
    expect(bad.stdout).toContain('## Input problems');
    expect(bad.stdout).toContain(`  - malformed-line: 150 (Skip the line)`);
    expect(bad.stderr).toContain(`warning: ${f}:1: not JSON (Unexpected token 'o', "oops" is not valid JSON) (skip the line)`);
    expect(bad.stderr).toContain(`regen-bench: 150 of 3,000 lines of ${f} (predictions) are bad: 5.0%, above the 1% limit`);
    const allowed = cli([...args, '--allow-bad-input']);
    expect(allowed.status).toBe(0);
    expect(allowed.stderr).toContain('regen-bench: accepted (--allow-bad-input): 150 of 3,000 lines');
    expect(cli(args, { REGEN_MAX_BAD_SHARE: '0.1' }).status).toBe(0);
  }, 120_000);

  it('--max-line-bytes names the flag in the limit error, and rejects a bad value', () => {
    const f = d.write('cli-long.jsonl', [d.lines[0]]);
    const r = cli(['eval', '--data', d.data, '--task', '1', '--predictions', f, '--no-semsim', '--max-line-bytes', '100']);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(new RegExp(`\\nregen-bench: ${f}:1: a line of at least [\\d,]+ bytes is over the limit \\(100 bytes in one line\\); raise it with REGEN_MAX_LINE_BYTES=N \\(or --max-line-bytes N\\)\\n$`));
    expect(cli(['eval', '--max-line-bytes', '0']).stderr).toMatch(/--max-line-bytes expects an integer in \[1, 536870848\] but received '0'/);
  }, 60_000);
});
