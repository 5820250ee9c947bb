// The bad-input matrix, generate and the library API (issue 15): damaged LUMEN checkpoints, and calls
// that would have allocated without bound, each case with its exact error.
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';

import { afterEach, describe, expect, it } from 'vitest';

import { Engine } from '../../src/engine/engine.js';
import { ItemTable } from '../../src/engine/item-table.js';
import { rougeBootstrap, computeTextStats } from '../../src/metrics/text/score.js';
import { readEmbeddings, readIdList } from '../../src/models/embeddings-file.js';
import { LumenCheckpoint } from '../../src/models/lumen/checkpoint.js';
import { writeFileAtomic } from '../../src/util/files.js';
import { setLimit } from '../../src/util/limits.js';
import { scratch } from '../data-helpers.js';
import { writeLumenCheckpoint } from '../helpers/lumen-model.js';
import { cli } from './helpers.js';

const dir = scratch();
const itemIds = Array.from({ length: 40 }, (_, i) => `I${i}`);
let n = 0;
/** A fresh valid checkpoint, then `damage` applied to it. */
function checkpoint(damage: (dir: string) => void): string {
  const d = path.join(dir, `ck${n++}`);
  writeLumenCheckpoint(d, { itemIds, seed: 3 });
  damage(d);
  return d;
}

/** heads.safetensors with its header edited. */
function editHeader(d: string, edit: (h: Record<string, { data_offsets: number[]; shape: number[] }>) => void): void {
  const file = path.join(d, 'heads.safetensors');
  const b = readFileSync(file);
  const len = Number(b.readBigUInt64LE(0));
  const header = JSON.parse(b.subarray(8, 8 + len).toString('utf8'));
  edit(header);
  let json = JSON.stringify(header);
  json += ' '.repeat(Math.max(0, len - json.length)); // same length: the data keeps its place
  const out = Buffer.concat([Buffer.alloc(8), Buffer.from(json), b.subarray(8 + len)]);
  out.writeBigUInt64LE(BigInt(json.length), 0);
  writeFileSync(file, out);
}

afterEach(() => {
  setLimit('lineBytes', undefined);
  setLimit('jsonDepth', undefined);
});

describe('bad input: generate (LUMEN checkpoints)', () => {
  it('heads.safetensors with a negative data offset', async () => {
    const d = checkpoint((c) => editHeader(c, (h) => (h.text_head.data_offsets[0] = -4)));
    await expect(LumenCheckpoint.load(d)).rejects.toThrow(
      `${path.join(d, 'heads.safetensors')} is not a usable safetensors file (tensor 'text_head' data_offsets[0] must be a non-negative integer but is -4)`,
    );
  });

  it('heads.safetensors whose item table is declared larger than the file', async () => {
    const d = checkpoint((c) => editHeader(c, (h) => (h.item_embeddings.data_offsets[1] = 10 ** 9)));
    await expect(LumenCheckpoint.load(d)).rejects.toThrow(/is not a usable safetensors file \(tensor 'item_embeddings': data \[\d+, 1000000000\) is not inside the \d+ bytes of data after the header\)$/);
  });

  it('item_ids.txt with a line over the line limit', async () => {
    const d = checkpoint((c) => writeFileSync(path.join(c, 'item_ids.txt'), `I0\n${'Z'.repeat(5000)}\n`));
    setLimit('lineBytes', 1000);
    await expect(LumenCheckpoint.load(d)).rejects.toThrow(`${path.join(d, 'item_ids.txt')}:2: a line of at least 5,000 bytes is over the limit (1,000 bytes in one line); raise it with REGEN_MAX_LINE_BYTES=N (or --max-line-bytes N)`);
  });

  it('config.json nested deeper than the JSON limit', async () => {
    const d = checkpoint((c) => {
      const cfg = JSON.parse(readFileSync(path.join(c, 'config.json'), 'utf8'));
      writeFileSync(path.join(c, 'config.json'), JSON.stringify(cfg).replace(/}$/, `, "extra": ${'['.repeat(80)}${']'.repeat(80)}}`));
    });
    await expect(LumenCheckpoint.load(d)).rejects.toThrow(`${path.join(d, 'config.json')}: a JSON value nested more than 64 levels deep is over the limit (64 levels of nesting in one JSON value); raise it with REGEN_MAX_JSON_DEPTH=N`);
  });

  it('config.json that is not JSON: the command names the file', () => {
    const d = checkpoint((c) => writeFileSync(path.join(c, 'config.json'), '{"format": "regen-lumen",'));
    const r = cli(['generate', '--model', d, '--limit', '1']);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(new RegExp(`regen-bench: ${path.join(d, 'config.json')} is not valid JSON \\(.*\\)\\n$`));
  }, 60_000);
});

describe('bad input: the library API', () => {
  it('Engine.bootstrapSums asked for more resamples x statistics than the limit', () => {
    expect(() => Engine.open().bootstrapSums(new Float64Array(30), 3, 2 ** 26, 0)).toThrow(
      'Expected samples x statistics to be at most 134,217,728 (bootstrap resamples x statistics (8 bytes each); raise it with REGEN_MAX_BOOTSTRAP_VALUES=N) but received 67,108,864 x 3',
    );
  });

  it("rougeBootstrap (rouge-score's BootstrapAggregator) asked for too many resamples", async () => {
    const stats = await computeTextStats([{ hyp: 'a b', refs: ['a c'] }]);
    expect(() => rougeBootstrap(stats, 0, 2 ** 26)).toThrow(/^Expected nSamples x statistics to be at most 134,217,728 .* but received 67,108,864 x 3$/);
  });

  it('computeTextStats with a text over the token limit names the pair', async () => {
    setLimit('lineBytes', undefined);
    await expect(computeTextStats([{ hyp: 'x '.repeat(100_001), refs: ['y'] }])).rejects.toThrow(
      'pairs[0].hyp: a text of 100,001 tokens is over the limit (100,000 tokens in one text); raise it with REGEN_MAX_SEGMENT_TOKENS=N (or --max-segment-tokens N)',
    );
  });

  it('readEmbeddings on a FIFO: refused (it is not a file to read at offsets)', async () => {
    const fifo = path.join(dir, 'emb.npy');
    expect(spawnSync('mkfifo', [fifo]).status).toBe(0);
    await expect(readEmbeddings(fifo)).rejects.toThrow(`${fifo}: is not a regular file (a device or pipe); give a .npy or .safetensors file`);
  });

  it('readIdList of a JSON list holding an object', async () => {
    const f = path.join(dir, 'ids.json');
    writeFileSync(f, '["a", {"b": 1}]');
    await expect(readIdList(f)).rejects.toThrow(`${f}: expected a JSON array of ids (strings) but entry 1 is {"b":1}`);
  });

  it('writeFileAtomic into a missing folder names the file', () => {
    const f = path.join(dir, 'no', 'such', 'folder', 'out.json');
    expect(() => writeFileAtomic(f, 'x')).toThrow(new RegExp(`^cannot write ${f}: ENOENT: no such file or directory`));
  });

  it('ItemTable.search with a target outside the table', async () => {
    const table = await ItemTable.create(new Float32Array(12), { dim: 3 });
    await expect(table.search(new Float32Array(3), { k: 1, targets: Int32Array.of(4) })).rejects.toThrow(
      'Expected options.targets to hold -1 (none) or an item id in [0, 4) but options.targets[0] is 4',
    );
    table.dispose();
  });
});
