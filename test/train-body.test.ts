// The training body: the float64 TypeScript reference's layers against finite differences, and the
// native body (every kernel this CPU runs) against that reference, on fresh random inputs every run
// (the seed is in the test names; REGEN_TEST_SEED replays a failure).
import { describe, expect, it } from 'vitest';

import { TransformerBody, type BodyBatch, type BodyConfig } from '../src/engine/train-kernels.js';
import { cpuCapabilities } from '../src/engine/engine.js';
import {
  attentionBackward,
  attentionForward,
  attentionOffsets,
  crossEntropyReference,
  dropoutKey,
  dropoutMask,
  geluBackward,
  geluForward,
  layernormBackward,
  layernormForward,
  matmulBackward,
  matmulForward,
  mix32,
  ReferenceModel,
  type ReferenceBatch,
} from '../src/train/reference.js';
import { rng } from '../src/util/random.js';

const ISAS = cpuCapabilities().supportedIsas;
const SEED = Number(process.env.REGEN_TEST_SEED ?? Math.floor(Math.random() * 2 ** 31));

function randn(r: () => number, n: number, scale = 1): Float64Array {
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) out[i] = scale * Math.sqrt(-2 * Math.log(r() + 1e-12)) * Math.cos(2 * Math.PI * r());
  return out;
}

/** Largest |a - b| relative to the largest |b| (plus a floor), over all entries. */
function relErr(a: ArrayLike<number>, b: ArrayLike<number>, floor = 1e-12): number {
  let scale = floor;
  for (let i = 0; i < b.length; i++) scale = Math.max(scale, Math.abs(b[i]));
  let err = 0;
  for (let i = 0; i < b.length; i++) err = Math.max(err, Math.abs(a[i] - b[i]));
  return b.length ? err / scale : 0;
}

/** Central differences of f at x (float64), every entry. */
function numericGrad(f: () => number, x: Float64Array, h = 1e-5): Float64Array {
  const g = new Float64Array(x.length);
  for (let i = 0; i < x.length; i++) {
    const v = x[i];
    x[i] = v + h;
    const up = f();
    x[i] = v - h;
    const down = f();
    x[i] = v;
    g[i] = (up - down) / (2 * h);
  }
  return g;
}

const dotWith = (a: ArrayLike<number>, w: ArrayLike<number>) => {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * w[i];
  return s;
};

// Finite differences in float64 with h = 1e-5: truncation error ~h^2 |f'''| (about 1e-10 here) and
// rounding about 1e-16 / h = 1e-11, so 1e-6 relative leaves a wide margin; a wrong term in a backward
// gives errors of order 1.
const FD_TOL = 1e-6;

describe(`reference layers vs finite differences (seed ${SEED})`, () => {
  it('layer norm', () => {
    const r = rng(SEED);
    for (const [R, C] of [[3, 5], [2, 1], [1, 257]] as const) {
      const x = randn(r, R * C, 2);
      const w = randn(r, C);
      const b = randn(r, C);
      const G = randn(r, R * C);
      const loss = () => dotWith(layernormForward(x, w, b, R, C).out, G);
      const f = layernormForward(x, w, b, R, C);
      const dx = new Float64Array(R * C);
      const dw = new Float64Array(C);
      const db = new Float64Array(C);
      layernormBackward(dx, dw, db, G, x, w, f.mean, f.rstd, R, C);
      if (C > 1) expect(relErr(dx, numericGrad(loss, x))).toBeLessThan(FD_TOL);
      expect(relErr(dw, numericGrad(loss, w))).toBeLessThan(FD_TOL);
      expect(relErr(db, numericGrad(loss, b))).toBeLessThan(FD_TOL);
    }
  });

  it('matmul', () => {
    const r = rng(SEED + 1);
    const [T, C, OC] = [4, 3, 5];
    const x = randn(r, T * C);
    const w = randn(r, C * OC);
    const b = randn(r, OC);
    const G = randn(r, T * OC);
    const loss = () => dotWith(matmulForward(x, w, b, T, C, OC), G);
    const dx = new Float64Array(T * C);
    const dw = new Float64Array(C * OC);
    const db = new Float64Array(OC);
    matmulBackward(dx, dw, db, G, x, w, T, C, OC);
    expect(relErr(dx, numericGrad(loss, x))).toBeLessThan(FD_TOL);
    expect(relErr(dw, numericGrad(loss, w))).toBeLessThan(FD_TOL);
    expect(relErr(db, numericGrad(loss, b))).toBeLessThan(FD_TOL);
  });

  it('GELU', () => {
    const r = rng(SEED + 2);
    const x = randn(r, 40, 3);
    const G = randn(r, 40);
    const dx = new Float64Array(40);
    geluBackward(dx, x, G);
    expect(relErr(dx, numericGrad(() => dotWith(geluForward(x), G), x))).toBeLessThan(FD_TOL);
  });

  for (const causal of [true, false])
    for (const p of [0, 0.3])
      it(`attention (${causal ? 'causal' : 'bidirectional'}, dropout ${p})`, () => {
        const r = rng(SEED + 3);
        const C = 6;
        const heads = 2;
        const offsets = Int32Array.from([0, 3, 4, 8]);
        const T = 8;
        const qkv = randn(r, T * 3 * C);
        const G = randn(r, T * C);
        const drop = dropoutMask(p, 7, 3, 1);
        const sh = { offsets, C, heads, causal };
        const loss = () => dotWith(attentionForward(qkv, sh, drop).out, G);
        const { att } = attentionForward(qkv, sh, drop);
        const dqkv = new Float64Array(T * 3 * C);
        attentionBackward(dqkv, G, qkv, att, sh, drop);
        expect(relErr(dqkv, numericGrad(loss, qkv))).toBeLessThan(FD_TOL);
        // Probabilities: rows sum to 1; causal rows put nothing after the query.
        const off = attentionOffsets(offsets, heads);
        const l = 4;
        const block = att.subarray(off[2], off[2] + l * l);
        for (let i = 0; i < l; i++) {
          const row = Array.from(block.subarray(i * l, i * l + l));
          expect(row.reduce((a, v) => a + v, 0)).toBeCloseTo(1, 12);
          if (causal) expect(row.slice(i + 1).every((v) => v === 0)).toBe(true);
        }
      });

  it('the whole model (loss and every parameter) with critiques, content, mask token and dropout', async () => {
    const config: BodyConfig = { items: 6, dim: 4, layers: 2, heads: 2, ffnDim: 5, maxLen: 4, causal: false, maskToken: true, contentDim: 3, critiqueDim: 2, dropout: 0.25, attnDropout: 0.25, initStd: 0.3 };
    const body = await TransformerBody.create(config, { seed: SEED, isa: 'scalar', threads: 1 });
    const params = Float64Array.from(body.getState('params'));
    body.dispose();
    const r = rng(SEED + 4);
    // Layer norms and biases start at 1 and 0; randomise them so their gradients are generic.
    for (let i = 0; i < params.length; i++) params[i] += 0.1 * randn(r, 1)[0];
    const content = randn(r, 6 * 3);
    const batch: ReferenceBatch = {
      offsets: Int32Array.from([0, 3, 7]),
      inputs: Int32Array.from([1, 6, 2, 0, 3, 6, 5]),
      outIndex: Int32Array.from([1, 5, 6]),
      critiquePos: Int32Array.from([1, 4]),
      critiqueFeats: randn(r, 4),
      training: true,
      seed: 11,
      step: 2,
    };
    const targets = Int32Array.from([4, 2, 0]);
    const model = new ReferenceModel(config, body.tensors, params, content);
    const loss = () => {
      const f = model.forward(batch);
      return crossEntropyReference(f.hidden, model.rows(), targets, 6, 4).loss;
    };
    const f = model.forward(batch);
    const ce = crossEntropyReference(f.hidden, model.rows(), targets, 6, 4);
    const grads = model.backward(f, ce.dHidden, ce.dRows);
    expect(relErr(grads, numericGrad(loss, params))).toBeLessThan(FD_TOL);
    // The critique features are inputs too.
    const dFeat = numericGrad(loss, batch.critiqueFeats!);
    expect(Math.max(...Array.from(dFeat, Math.abs))).toBeGreaterThan(1e-6);
  });
});

// Configurations for native vs reference: awkward sizes (dim 1, 257; heads > 1; one position),
// both attention kinds, every optional input.
interface Case {
  name: string;
  config: BodyConfig;
  lengths: number[];
  critiques?: boolean;
  training?: boolean;
}
const base = { layers: 2, heads: 1, causal: true, maskToken: false, contentDim: 0, critiqueDim: 0, dropout: 0, attnDropout: 0, initStd: 0.2 };
const CASES: Case[] = [
  { name: 'sasrec-like d=16', config: { ...base, items: 37, dim: 16, ffnDim: 64, maxLen: 9 }, lengths: [9, 1, 5, 3], training: true },
  { name: 'bert4rec-like d=8 heads=2 mask', config: { ...base, items: 21, dim: 8, heads: 2, ffnDim: 12, maxLen: 6, causal: false, maskToken: true }, lengths: [6, 2, 4], training: true },
  { name: 'flare-like content + critiques', config: { ...base, items: 19, dim: 12, heads: 3, ffnDim: 20, maxLen: 7, contentDim: 10, critiqueDim: 9 }, lengths: [7, 3, 1, 5], critiques: true, training: true },
  { name: 'd=1', config: { ...base, items: 5, dim: 1, ffnDim: 3, maxLen: 4, layers: 1 }, lengths: [4, 2] },
  { name: 'd=257 (no tile multiple)', config: { ...base, items: 7, dim: 257, ffnDim: 19, maxLen: 3, layers: 1 }, lengths: [3, 1] },
  { name: 'no layers', config: { ...base, items: 9, dim: 5, ffnDim: 4, maxLen: 3, layers: 0 }, lengths: [3, 2], training: true },
  { name: 'wide tiles d=64 ffn=256 T=70', config: { ...base, items: 101, dim: 64, heads: 2, ffnDim: 256, maxLen: 20 }, lengths: [20, 17, 1, 12, 20], training: true },
];

function makeBatch(c: Case, r: () => number, rowsIn: number): { batch: BodyBatch; ref: ReferenceBatch; targets: Int32Array } {
  const offsets = new Int32Array(c.lengths.length + 1);
  c.lengths.forEach((l, i) => (offsets[i + 1] = offsets[i] + l));
  const T = offsets[offsets.length - 1];
  const inputs = Int32Array.from({ length: T }, () => Math.floor(r() * rowsIn));
  // Output rows: every position, in a shuffled order (the gather must follow outIndex).
  const outIndex = Int32Array.from({ length: T }, (_, i) => i);
  for (let i = T - 1; i > 0; i--) {
    const j = Math.floor(r() * (i + 1));
    [outIndex[i], outIndex[j]] = [outIndex[j], outIndex[i]];
  }
  const targets = Int32Array.from({ length: T }, () => Math.floor(r() * c.config.items));
  let critiquePos: Int32Array | undefined;
  let critiqueFeats: Float32Array | undefined;
  if (c.critiques) {
    critiquePos = Int32Array.from(Array.from({ length: T }, (_, i) => i).filter(() => r() < 0.4));
    critiqueFeats = Float32Array.from(randn(r, critiquePos.length * c.config.critiqueDim));
  }
  const training = c.training ?? false;
  const batch: BodyBatch = { offsets, inputs, outIndex, critiquePos, critiqueFeats, training, seed: 1234, step: 77 };
  const ref: ReferenceBatch = { offsets, inputs, outIndex, critiquePos, critiqueFeats: critiqueFeats ? Float64Array.from(critiqueFeats) : null, training, seed: 1234, step: 77 };
  return { batch, ref, targets };
}

/** Native forward + backward (loss and its gradients from the float64 reference) against the reference. */
async function compare(c: Case, isa: string, threads: number, seed: number) {
  const r = rng(seed);
  const dropout = c.training ? 0.2 : 0;
  const config = { ...c.config, dropout, attnDropout: dropout };
  const body = await TransformerBody.create(config, { seed, isa: isa as 'scalar', threads });
  try {
    const content = config.contentDim ? Float32Array.from(randn(r, config.items * config.contentDim)) : null;
    if (content) body.setContent(content);
    const { batch, ref, targets } = makeBatch(c, r, config.items + (config.maskToken ? 1 : 0));
    const params = Float64Array.from(body.getState('params'));
    const model = new ReferenceModel(config, body.tensors, params, content ? Float64Array.from(content) : null);
    const f = model.forward(ref);
    const rowsRef = model.rows();
    const ce = crossEntropyReference(f.hidden, rowsRef, targets, config.items, config.dim);
    const gradRef = model.backward(f, ce.dHidden, ce.dRows);

    const hidden = await body.forward(batch);
    const rows = await body.rows();
    await body.backward(Float32Array.from(ce.dHidden), Float32Array.from(ce.dRows));
    const grads = body.getState('grads');
    const ceNative = crossEntropyReference(hidden, rows, targets, config.items, config.dim);
    const perTensor: Record<string, number> = {};
    for (const t of body.tensors) {
      const n = t.shape.reduce((a, b) => a * b, 1);
      if (n === 0) continue;
      perTensor[t.name] = relErr(grads.subarray(t.offset, t.offset + n), gradRef.subarray(t.offset, t.offset + n), 1e-6);
    }
    return {
      hidden: relErr(hidden, f.hidden),
      rows: relErr(rows, rowsRef.subarray(0, config.items * config.dim)),
      loss: Math.abs(ceNative.loss - ce.loss) / Math.max(1, Math.abs(ce.loss)),
      grads: perTensor,
      body,
      batch,
    };
  } catch (e) {
    body.dispose();
    throw e;
  }
}

// Tolerances, float32 native against float64: every value is a chain of sums of at most
// K = max(dim, ffnDim, maxLen) products (matrix products, layer norms, attention) through up to two
// layers; the float32 error of such a sum is within K u sum|terms| (u = 2^-24), and relative to the
// result more where terms cancel (layer norm over 257 dimensions measured up to 3e-5, 1.9 K u, over
// 60 seeds; the other cases 2e-6 or less). So hidden states, the loss and each gradient tensor must
// agree within 8 K u of their largest entry. A wrong term, index or mask gives errors of order 1.
const U = 2 ** -24;
const tolerance = (c: BodyConfig) => 8 * Math.max(c.dim, c.ffnDim, c.maxLen) * U;

describe.each(ISAS)(`native body, kernel %s (seed ${SEED})`, (isa) => {
  it.each(CASES.map((c, i) => [c.name, i] as const))('%s: hidden states, loss and every gradient match the float64 reference', async (_name, i) => {
    const res = await compare(CASES[i], isa, 2, SEED + 10 * i);
    res.body.dispose();
    const tol = tolerance(CASES[i].config);
    expect(res.hidden).toBeLessThan(tol);
    expect(res.rows).toBeLessThan(tol);
    expect(res.loss).toBeLessThan(tol);
    for (const [name, err] of Object.entries(res.grads)) expect([name, err < tol ? 'ok' : err]).toEqual([name, 'ok']);
  });
});

describe(`native body: determinism, AdamW, errors (seed ${SEED})`, () => {
  it('gives the same bits for 1 and 2 threads (forward, gradients, AdamW)', async () => {
    const results: Float32Array[][] = [];
    for (const threads of [1, 2]) {
      const c = CASES[6];
      const res = await compare(c, ISAS[0], threads, SEED + 99);
      await res.body.backward(new Float32Array(res.batch.outIndex.length * c.config.dim).fill(0.01), null, { lr: 1e-2, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0.1, t: 1 });
      results.push([res.body.getState('params'), res.body.getState('grads'), res.body.getState('m')]);
      res.body.dispose();
    }
    for (let k = 0; k < 3; k++) expect(Buffer.from(results[0][k].buffer).equals(Buffer.from(results[1][k].buffer))).toBe(true);
  });

  it('AdamW step matches the formula (bias correction, decay on matrices only)', async () => {
    const body = await TransformerBody.create({ items: 3, dim: 2, layers: 1, ffnDim: 2, maxLen: 2, dropout: 0 }, { seed: SEED, threads: 1 });
    try {
      const p0 = body.getState('params');
      const batch: BodyBatch = { offsets: Int32Array.from([0, 2]), inputs: Int32Array.from([0, 2]), outIndex: Int32Array.from([1]), training: false };
      await body.forward(batch);
      const opt = { lr: 0.01, beta1: 0.8, beta2: 0.9, eps: 1e-6, weightDecay: 0.5, t: 3 };
      await body.backward(Float32Array.from([0.3, -0.7]), null, opt);
      const g = body.getState('grads');
      const p1 = body.getState('params');
      for (const t of body.tensors) {
        const n = t.shape.reduce((a, b) => a * b, 1);
        for (let i = t.offset; i < t.offset + n; i++) {
          const m = (1 - opt.beta1) * g[i];
          const v = (1 - opt.beta2) * g[i] * g[i];
          const mhat = m / (1 - opt.beta1 ** opt.t);
          const vhat = v / (1 - opt.beta2 ** opt.t);
          const expected = p0[i] - opt.lr * (mhat / (Math.sqrt(vhat) + opt.eps) + (t.decay ? opt.weightDecay : 0) * p0[i]);
          expect(Math.abs(p1[i] - expected)).toBeLessThan(1e-6 * (1 + Math.abs(expected)));
        }
      }
    } finally {
      body.dispose();
    }
  });

  // That the TypeScript masks are the native ones is checked by the cases above with dropout on
  // (a different mask moves the hidden states by order 1); here their rate and independence.
  it('dropout masks keep 1 - p of the elements, independently per site', () => {
    expect(mix32(0)).toBe(0);
    const drop = dropoutMask(0.3, 5, 9, 2);
    let kept = 0;
    for (let i = 0; i < 100_000; i++) kept += drop(i) > 0 ? 1 : 0;
    expect(Math.abs(kept / 100_000 - 0.7)).toBeLessThan(0.01);
    expect(dropoutKey(1, 2, 3)).not.toBe(dropoutKey(1, 2, 4));
  });

  it('copies its inputs: arrays changed or detached right after forward and backward do not change the result', async () => {
    const detach = (a: ArrayBufferView) => structuredClone(a.buffer, { transfer: [a.buffer as ArrayBuffer] });
    const c = CASES[2];
    const run = async (spoil: null | 'fill' | 'detach') => {
      const body = await TransformerBody.create({ ...c.config, dropout: 0.2, attnDropout: 0.2 }, { seed: 5, threads: 2 });
      try {
        const r = rng(SEED + 7);
        const content = Float32Array.from(randn(r, c.config.items * c.config.contentDim));
        body.setContent(content);
        if (spoil === 'fill') content.fill(NaN);
        const { batch } = makeBatch({ ...c, training: true }, r, c.config.items);
        const pending = body.forward(batch);
        if (spoil === 'fill') for (const a of [batch.inputs, batch.offsets, batch.outIndex, batch.critiquePos!]) a.fill(1 << 30);
        if (spoil === 'fill') batch.critiqueFeats!.fill(NaN);
        if (spoil === 'detach') for (const a of [batch.inputs, batch.offsets, batch.outIndex, batch.critiquePos!, batch.critiqueFeats!]) detach(a);
        const hidden = await pending;
        const dHidden = Float32Array.from(hidden, (v) => v * 0.01);
        const dRows = new Float32Array(c.config.items * c.config.dim).fill(1e-3);
        const back = body.backward(dHidden, dRows, { lr: 1e-2, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0, t: 1 });
        if (spoil === 'fill') (dHidden.fill(NaN), dRows.fill(NaN));
        if (spoil === 'detach') (detach(dHidden), detach(dRows));
        await back;
        return [hidden, body.getState('params')];
      } finally {
        body.dispose();
      }
    };
    const expected = await run(null);
    for (const spoil of ['fill', 'detach'] as const) expect(await run(spoil)).toEqual(expected);
  });

  it('rejects bad batches and configurations with messages naming the argument', async () => {
    await expect(TransformerBody.create({ items: 5, dim: 6, heads: 4 }, { seed: 1 })).rejects.toThrow(/config.dim \(6\) to be a multiple of config.heads/);
    await expect(TransformerBody.create({ items: 5, dim: 4, dropout: 1 }, { seed: 1 })).rejects.toThrow(/config.dropout in \[0, 1\)/);
    const body = await TransformerBody.create({ items: 5, dim: 4, maxLen: 3 }, { seed: 1, threads: 1 });
    try {
      const ok: BodyBatch = { offsets: Int32Array.from([0, 2]), inputs: Int32Array.from([1, 2]), outIndex: Int32Array.from([1]), training: false };
      await expect(body.forward({ ...ok, inputs: Int32Array.from([1, 5]) })).rejects.toThrow(/batch.inputs\[1\] is 5/);
      await expect(body.forward({ ...ok, offsets: Int32Array.from([0, 4]), inputs: new Int32Array(4) })).rejects.toThrow(/1 to maxLen \(3\) positions but sequence 0 holds 4/);
      await expect(body.forward({ ...ok, outIndex: Int32Array.from([1, 1]) })).rejects.toThrow(/distinct positions/);
      expect(() => body.backward(new Float32Array(4), null)).toThrow(/needs a forward/);
      await body.forward(ok);
      expect(() => body.backward(new Float32Array(3), null)).toThrow(/dHidden to have length 4/);
    } finally {
      body.dispose();
    }
  });
});
