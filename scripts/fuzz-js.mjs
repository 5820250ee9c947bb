#!/usr/bin/env node
// A seeded mutation fuzzer for the TypeScript binary parsers (run by scripts/fuzz.mjs; needs dist/,
// `npm run build`). Coverage-guided JS fuzzing (@jazzer.js/core) does not run here: its 4.x prebuilt
// addon needs glibc 2.38 (Debian 12 has 2.36) and 2.x downloads its binary from GitHub at install.
// So this is the documented substitute: start from valid files written by the target itself, apply
// 1-4 stacked mutations (bit flips, interesting bytes and integers at random offsets, truncation,
// duplicated or deleted slices, splices of two inputs), parse, and keep in the corpus every input
// whose outcome (the error's class and message shape) is new: an outcome-guided search. A finding
// is an error that is not the parser's own clean rejection (a TypeError, a RangeError from a typed
// array, a stack overflow, an out-of-memory) or an input that takes over 5 s; it is written to
// build-fuzz/findings/ and the run fails.
//
//   node scripts/fuzz-js.mjs --target npy|safetensors|arrow|gzip-lines --seconds N [--seed S]
import { createHash } from 'node:crypto';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import zlib from 'node:zlib';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const dist = (p) => import(path.join(root, 'dist', p));

const args = process.argv.slice(2);
const opt = (name, fallback) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : fallback;
};
const targetName = opt('target', 'npy');
const seconds = Number(opt('seconds', '10'));
let state = Number(opt('seed', String(Date.now() % 2 ** 31))) >>> 0 || 1;
const seed = state;

/** xorshift32: the run is reproducible from its seed. */
function rand() {
  state ^= state << 13;
  state >>>= 0;
  state ^= state >>> 17;
  state ^= state << 5;
  state >>>= 0;
  return state / 2 ** 32;
}
const pick = (n) => Math.floor(rand() * n);

const INTERESTING_BYTES = [0, 1, 0x7f, 0x80, 0xff, 0x0a, 0x22, 0x5b, 0x7b, 0x2d];
const INTERESTING_INTS = [0, 1, -1, 0x7f, 0xff, 0x7fff, 0xffff, 0x7fffffff, -0x80000000, 0xffffffff, 2 ** 40, -(2 ** 40), 2 ** 53];

function mutate(input, corpus) {
  let b = Buffer.from(input);
  const rounds = 1 + pick(4);
  for (let r = 0; r < rounds; r++) {
    const kind = pick(8);
    if (b.length === 0 && kind < 6) {
      b = Buffer.from([pick(256)]);
      continue;
    }
    const at = pick(Math.max(1, b.length));
    switch (kind) {
      case 0:
        b[at] ^= 1 << pick(8);
        break;
      case 1:
        b[at] = INTERESTING_BYTES[pick(INTERESTING_BYTES.length)];
        break;
      case 2: {
        // A little-endian 16/32/64-bit integer over a header field.
        const v = INTERESTING_INTS[pick(INTERESTING_INTS.length)];
        const width = [2, 4, 8][pick(3)];
        if (at + width > b.length) break;
        if (width === 8) b.writeBigInt64LE(BigInt(Math.trunc(v)), at);
        else if (width === 4) b.writeInt32LE(v | 0, at);
        else b.writeInt16LE((v << 16) >> 16, at);
        break;
      }
      case 3:
        b = b.subarray(0, at);
        break;
      case 4: {
        const len = 1 + pick(Math.min(64, b.length - at));
        b = Buffer.concat([b.subarray(0, at), b.subarray(at, at + len), b.subarray(at)]);
        break;
      }
      case 5: {
        const len = 1 + pick(Math.min(64, b.length - at));
        b = Buffer.concat([b.subarray(0, at), b.subarray(at + len)]);
        break;
      }
      case 6: {
        const other = corpus[pick(corpus.length)];
        const cut = pick(other.length + 1);
        b = Buffer.concat([b.subarray(0, at), other.subarray(cut)]);
        break;
      }
      default: {
        const extra = Buffer.alloc(1 + pick(32));
        for (let i = 0; i < extra.length; i++) extra[i] = pick(256);
        b = Buffer.concat([b, extra]);
      }
    }
  }
  return b;
}

const work = mkdtempSync(path.join(os.tmpdir(), `regen-fuzz-${targetName}-`));

// ------------------------------------------------------------------------------------------------
// Targets: seeds (valid inputs), run (parse one input), clean (the parser's own rejections).

async function npyTarget() {
  const { encodeNpy, readEmbeddings } = await dist('index.js');
  const { EmbeddingFileError } = await dist('models/embeddings-file.js');
  const { LimitError } = await dist('util/limits.js');
  const header = (descr, shape) => {
    let h = `{'descr': '${descr}', 'fortran_order': False, 'shape': (${shape.join(', ')}${shape.length === 1 ? ',' : ''}), }`;
    h += ' '.repeat((64 - ((10 + h.length + 1) % 64)) % 64) + '\n';
    const head = Buffer.alloc(10);
    head.write('\x93NUMPY', 0, 'latin1');
    head[6] = 1;
    head.writeUInt16LE(h.length, 8);
    return Buffer.concat([head, Buffer.from(h, 'latin1')]);
  };
  const seeds = [
    encodeNpy(Float32Array.from([1, 2, 3, 4, 5, 6]), 2, 3),
    encodeNpy(new Float32Array(0), 0, 4),
    Buffer.concat([header('<f2', [2, 2]), Buffer.alloc(8, 0x3c)]),
    Buffer.concat([header('>f8', [1, 3]), Buffer.alloc(24, 0x40)]),
  ];
  const file = path.join(work, 'x.npy');
  return {
    seeds,
    run: async (b) => {
      writeFileSync(file, b);
      const m = await readEmbeddings(file);
      if (m.data.length !== m.rows * m.dim) throw new Error(`internal: ${m.rows} x ${m.dim} matrix with ${m.data.length} values`);
    },
    clean: (e) => e instanceof EmbeddingFileError || e instanceof LimitError,
  };
}

async function safetensorsTarget() {
  const { readEmbeddings } = await dist('index.js');
  const { readSafetensorsHeader, EmbeddingFileError } = await dist('models/embeddings-file.js');
  const { LimitError } = await dist('util/limits.js');
  const make = (tensors) => {
    let off = 0;
    const header = {};
    const data = [];
    for (const [name, t] of Object.entries(tensors)) {
      header[name] = { dtype: t.dtype, shape: t.shape, data_offsets: [off, off + t.data.length] };
      off += t.data.length;
      data.push(t.data);
    }
    header.__metadata__ = { format: 'pt' };
    const json = Buffer.from(JSON.stringify(header));
    const len = Buffer.alloc(8);
    len.writeBigUInt64LE(BigInt(json.length));
    return Buffer.concat([len, json, ...data]);
  };
  const seeds = [
    make({ items: { dtype: 'F32', shape: [2, 2], data: Buffer.from(Float32Array.from([1, 2, 3, 4]).buffer) } }),
    make({ a: { dtype: 'BF16', shape: [1, 4], data: Buffer.alloc(8, 0x3f) }, b: { dtype: 'F16', shape: [2, 1], data: Buffer.alloc(4, 0x3c) } }),
    make({ w: { dtype: 'F64', shape: [1, 1], data: Buffer.alloc(8) } }),
  ];
  const file = path.join(work, 'x.safetensors');
  return {
    seeds,
    run: async (b) => {
      writeFileSync(file, b);
      const h = readSafetensorsHeader(file);
      for (const name of h.tensors.keys()) {
        const m = await readEmbeddings(file, { tensor: name });
        if (m.data.length !== m.rows * m.dim) throw new Error('internal: matrix size');
      }
    },
    clean: (e) => e instanceof EmbeddingFileError || e instanceof LimitError,
  };
}

async function arrowTarget() {
  const { prepareDataset, openDataset, DataError } = await dist('index.js');
  // A small REGEN file, prepared once; each input replaces one of the folder's Arrow files.
  const users = Array.from({ length: 40 }, (_, u) => ({
    reviewer_id: `U${u}`,
    purchase_history: Array.from({ length: 2 + (u % 3) }, (_, k) => ({
      item: { asin: `A${(u + k) % 17}`, title: `item ${(u + k) % 17}`, category: 'Office - Pens', price: 1.5 + k },
      review: { summary: 'ok', rating: 1 + (k % 5), text: 'fine pen', unix_time: 1_600_000_000 + k * 86400 },
    })),
    user: { profile: 'a writer', long_summary: 'writes a lot' },
  }));
  const src = path.join(work, 'small.jsonl');
  writeFileSync(src, users.map((u) => JSON.stringify(u)).join('\n') + '\n');
  const prepared = path.join(work, 'prepared');
  await prepareDataset(src, { out: prepared, cacheDir: path.join(work, 'cache') });
  const manifestFile = path.join(prepared, 'manifest.json');
  const manifestBytes = readFileSync(manifestFile);
  const manifest = JSON.parse(manifestBytes.toString('utf8'));
  const files = Object.keys(manifest.files).filter((f) => f.endsWith('.arrow'));
  const originals = new Map(files.map((f) => [f, readFileSync(path.join(prepared, f))]));
  const dir = path.join(work, 'mutated');
  cpSync(prepared, dir, { recursive: true });
  // What a user can hand in: a damaged or edited folder. An input starting with '{' replaces the
  // manifest; any other replaces the Arrow file it most resembles (by size), with the manifest's
  // size updated, so that the content check (sha256) rather than the size check meets it. (Past the
  // sha256 check apache-arrow parses only the bytes regen-bench wrote: its reader loops forever on
  // some damaged files, which is why the check comes first.)
  return {
    seeds: [manifestBytes, ...files.map((f) => originals.get(f))],
    run: async (b) => {
      for (const f of files) writeFileSync(path.join(dir, f), originals.get(f));
      if (b[0] === 0x7b) writeFileSync(path.join(dir, 'manifest.json'), b);
      else {
        const current = files.reduce((best, f) => (Math.abs(originals.get(f).length - b.length) < Math.abs(originals.get(best).length - b.length) ? f : best), files[0]);
        writeFileSync(path.join(dir, current), b);
        writeFileSync(path.join(dir, 'manifest.json'), JSON.stringify({ ...manifest, files: { ...manifest.files, [current]: b.length } }));
      }
      const ds = openDataset(dir);
      // Touch what later code reads: every text column of every row, the split.
      for (const col of [ds.items.asin, ds.items.title, ds.items.brand, ds.items.description, ds.categories.name, ds.users.reviewerId, ds.events.critique, ds.events.reviewText])
        for (let i = 0; i < col.length; i++) col.get(i);
      for (const k of Object.keys(ds.users.narratives)) for (let i = 0; i < ds.users.count; i++) ds.users.narratives[k].get(i);
      void ds.split;
    },
    clean: (e) => e instanceof DataError,
  };
}

async function gzipLinesTarget() {
  const { readLines } = await dist('data/lines.js');
  const { Issues, DataError } = await dist('data/report.js');
  const { LimitError } = await dist('util/limits.js');
  const text = Array.from({ length: 30 }, (_, i) => JSON.stringify({ user: `u${i}`, items: ['a', 'b'], pad: 'x'.repeat(i * 7) })).join('\n') + '\n';
  const seeds = [zlib.gzipSync(text), Buffer.concat([zlib.gzipSync(text.slice(0, 400)), zlib.gzipSync(text.slice(400))]), zlib.gzipSync(Buffer.alloc(0)), zlib.gzipSync('a\r\nb\n\n')];
  const file = path.join(work, 'x.jsonl.gz');
  return {
    seeds,
    run: async (b) => {
      writeFileSync(file, b);
      let n = 0;
      const issues = new Issues(false);
      const r = await readLines(file, () => n++, { issues });
      if (r.lines < n) throw new Error('internal: more lines than line numbers');
      return `${issues.report().issues.map((i) => i.kind).join(',')}|${r.truncated}|${Math.min(n, 40)}`;
    },
    clean: (e) => e instanceof LimitError || e instanceof DataError,
  };
}

const TARGETS = { npy: npyTarget, safetensors: safetensorsTarget, arrow: arrowTarget, 'gzip-lines': gzipLinesTarget };

// ------------------------------------------------------------------------------------------------

const make = TARGETS[targetName];
if (!make) {
  console.error(`unknown target ${targetName}; targets: ${Object.keys(TARGETS).join(', ')}`);
  process.exit(2);
}
const target = await make();
const findingsDir = path.join(root, 'build-fuzz', 'findings');
mkdirSync(path.join(root, 'build-fuzz'), { recursive: true });
const currentFile = path.join(root, 'build-fuzz', `js-${targetName}.current`);
const corpus = [...target.seeds];
const outcomes = new Set();
// An outcome: the error's class and the shape of its message (numbers, paths and quoted text elided).
const shape = (e) => `${e.constructor?.name}:${String(e.message).replace(/\/\S+/g, 'P').replace(/"[^"]*"|'[^']*'|\([^)]*\)/g, 'Q').replace(/\d[\d,.]*/g, 'N').slice(0, 32)}`;
let runs = 0;
let findings = 0;
const deadline = Date.now() + seconds * 1000;
for (const s of target.seeds) {
  try {
    await target.run(s);
  } catch (e) {
    console.error(`fuzz ${targetName}: a seed is rejected (${e.message}); the target is broken`);
    process.exit(1);
  }
}
while (Date.now() < deadline) {
  const input = mutate(corpus[pick(corpus.length)], corpus);
  // Kept on disk while it runs: if it hangs, the parent's timeout leaves it there as the finding.
  writeFileSync(currentFile, input);
  const started = Date.now();
  let error = null;
  let result;
  try {
    result = await target.run(input);
  } catch (e) {
    error = e;
  }
  runs++;
  const slow = Date.now() - started > 5000;
  if ((error && !target.clean(error)) || slow) {
    findings++;
    mkdirSync(findingsDir, { recursive: true });
    const name = `${targetName}-${createHash('sha1').update(input).digest('hex').slice(0, 12)}.bin`;
    writeFileSync(path.join(findingsDir, name), input);
    console.error(`fuzz ${targetName}: FINDING ${slow ? `(slow: ${Date.now() - started} ms)` : `${error?.constructor?.name}: ${error?.message}`} -> build-fuzz/findings/${name}`);
    if (findings >= 10) break;
    continue;
  }
  const o = error ? shape(error) : `ok:${result ?? ''}`;
  if (!outcomes.has(o)) {
    outcomes.add(o);
    if (input.length <= 1 << 20) corpus.push(input);
  }
}
rmSync(work, { recursive: true, force: true });
rmSync(currentFile, { force: true });
console.log(`fuzz ${targetName}: ${runs.toLocaleString('en-US')} inputs in ${seconds} s (seed ${seed}), ${outcomes.size} outcomes, corpus ${corpus.length}, findings ${findings}`);
process.exit(findings ? 1 : 0);
