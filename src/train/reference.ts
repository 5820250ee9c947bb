// The float64 reference of the training body (native/include/regen/train.h), written independently
// of the native code in plain loops: each layer's forward and backward (checked against finite
// differences in the tests), the whole model over packed sequences with the same dropout masks, and
// an unfused full-catalogue softmax cross-entropy. For tests and tiny configurations only: it is
// slow and stores every activation.
import type { BodyConfig as NativeTrainConfig, TensorInfo as NativeTensorInfo } from '../engine/train-kernels.js';

// ---------------------------------------------------------------------------------------------
// Dropout masks, bit for bit those of the native code (regen/train.h).

export function mix32(x: number): number {
  x >>>= 0;
  x ^= x >>> 16;
  x = Math.imul(x, 0x7feb352d);
  x ^= x >>> 15;
  x = Math.imul(x, 0x846ca68b);
  x ^= x >>> 16;
  return x >>> 0;
}

export function dropoutKey(seed: number, step: number, site: number): number {
  return mix32((seed ^ mix32((Math.imul(step, 0x9e3779b9) + mix32((site + 0x632be5ab) >>> 0)) >>> 0)) >>> 0);
}

export function dropoutThreshold(p: number): number {
  return Math.round(Math.fround(p) * 16777216);
}

export function dropoutKeep(key: number, index: number, threshold: number): boolean {
  return mix32((mix32(index) + key) >>> 0) >>> 8 >= threshold;
}

/** What one dropout site multiplies element i by: 0 or 1 / (1 - p). */
export interface DropoutMask {
  (i: number): number;
}

export function dropoutMask(p: number, seed: number, step: number, site: number): DropoutMask {
  if (p <= 0) return () => 1;
  const key = dropoutKey(seed, step, site);
  const thr = dropoutThreshold(p);
  const scale = 1 / (1 - Math.fround(p));
  return (i) => (dropoutKeep(key, i, thr) ? scale : 0);
}

// ---------------------------------------------------------------------------------------------
// Layers: forward and backward over row-major float64 arrays. Backward functions ADD into their
// input gradients (llm.c's convention) and parameter gradients.

const LN_EPS = 1e-5;

export function layernormForward(inp: Float64Array, w: Float64Array, b: Float64Array, R: number, C: number) {
  const out = new Float64Array(R * C);
  const mean = new Float64Array(R);
  const rstd = new Float64Array(R);
  for (let r = 0; r < R; r++) {
    let m = 0;
    for (let i = 0; i < C; i++) m += inp[r * C + i];
    m /= C;
    let v = 0;
    for (let i = 0; i < C; i++) v += (inp[r * C + i] - m) ** 2;
    v /= C;
    const s = 1 / Math.sqrt(v + LN_EPS);
    for (let i = 0; i < C; i++) out[r * C + i] = (inp[r * C + i] - m) * s * w[i] + b[i];
    mean[r] = m;
    rstd[r] = s;
  }
  return { out, mean, rstd };
}

export function layernormBackward(
  dinp: Float64Array, dw: Float64Array, db: Float64Array,
  dout: Float64Array, inp: Float64Array, w: Float64Array, mean: Float64Array, rstd: Float64Array, R: number, C: number,
): void {
  for (let r = 0; r < R; r++) {
    const m = mean[r];
    const s = rstd[r];
    let dm = 0;
    let dnm = 0;
    for (let i = 0; i < C; i++) {
      const dn = w[i] * dout[r * C + i];
      dm += dn;
      dnm += dn * (inp[r * C + i] - m) * s;
    }
    dm /= C;
    dnm /= C;
    for (let i = 0; i < C; i++) {
      const norm = (inp[r * C + i] - m) * s;
      const d = dout[r * C + i];
      dinp[r * C + i] += (w[i] * d - dm - norm * dnm) * s;
      dw[i] += norm * d;
      db[i] += d;
    }
  }
}

/** out[T, OC] = inp[T, C] @ w[C, OC] + b */
export function matmulForward(inp: Float64Array, w: Float64Array, b: Float64Array | null, T: number, C: number, OC: number): Float64Array {
  const out = new Float64Array(T * OC);
  for (let t = 0; t < T; t++)
    for (let o = 0; o < OC; o++) {
      let v = b ? b[o] : 0;
      for (let c = 0; c < C; c++) v += inp[t * C + c] * w[c * OC + o];
      out[t * OC + o] = v;
    }
  return out;
}

export function matmulBackward(
  dinp: Float64Array | null, dw: Float64Array, db: Float64Array | null,
  dout: Float64Array, inp: Float64Array, w: Float64Array, T: number, C: number, OC: number,
): void {
  for (let t = 0; t < T; t++)
    for (let o = 0; o < OC; o++) {
      const d = dout[t * OC + o];
      if (db) db[o] += d;
      for (let c = 0; c < C; c++) {
        if (dinp) dinp[t * C + c] += w[c * OC + o] * d;
        dw[c * OC + o] += inp[t * C + c] * d;
      }
    }
}

const GELU_C = Math.sqrt(2 / Math.PI);

export function geluForward(x: Float64Array): Float64Array {
  return x.map((v) => 0.5 * v * (1 + Math.tanh(GELU_C * (v + 0.044715 * v ** 3))));
}

export function geluBackward(dinp: Float64Array, x: Float64Array, dout: Float64Array): void {
  for (let i = 0; i < x.length; i++) {
    const v = x[i];
    const t = Math.tanh(GELU_C * (v + 0.044715 * v ** 3));
    const g = 0.5 * (1 + t) + 0.5 * v * (1 - t * t) * GELU_C * (1 + 3 * 0.044715 * v * v);
    dinp[i] += dout[i] * g;
  }
}

export interface AttentionShape {
  /** Sequence s holds positions offsets[s] .. offsets[s + 1]. */
  offsets: Int32Array;
  C: number;
  heads: number;
  causal: boolean;
}

/** Start of each sequence's heads x l x l probabilities (the native att_offsets). */
export function attentionOffsets(offsets: Int32Array, heads: number): number[] {
  const out = [0];
  for (let s = 0; s + 1 < offsets.length; s++) out.push(out[s] + heads * (offsets[s + 1] - offsets[s]) ** 2);
  return out;
}

/** qkv: T x 3C rows [q | k | v]. Returns out (T x C) and the probabilities (before dropout). */
export function attentionForward(qkv: Float64Array, sh: AttentionShape, drop: DropoutMask) {
  const { offsets, C, heads, causal } = sh;
  const hs = C / heads;
  const T = offsets[offsets.length - 1];
  const attOff = attentionOffsets(offsets, heads);
  const att = new Float64Array(attOff[attOff.length - 1]);
  const out = new Float64Array(T * C);
  const scale = 1 / Math.sqrt(hs);
  for (let s = 0; s + 1 < offsets.length; s++) {
    const o = offsets[s];
    const l = offsets[s + 1] - o;
    for (let h = 0; h < heads; h++) {
      const a0 = attOff[s] + h * l * l;
      for (let i = 0; i < l; i++) {
        const jn = causal ? i + 1 : l;
        let mx = -Infinity;
        const sc: number[] = [];
        for (let j = 0; j < jn; j++) {
          let v = 0;
          for (let c = 0; c < hs; c++) v += qkv[(o + i) * 3 * C + h * hs + c] * qkv[(o + j) * 3 * C + C + h * hs + c];
          sc.push(v * scale);
          mx = Math.max(mx, v * scale);
        }
        let sum = 0;
        for (let j = 0; j < jn; j++) sum += Math.exp(sc[j] - mx);
        for (let j = 0; j < jn; j++) {
          const p = Math.exp(sc[j] - mx) / sum;
          att[a0 + i * l + j] = p;
          const pd = p * drop(a0 + i * l + j);
          for (let c = 0; c < hs; c++) out[(o + i) * C + h * hs + c] += pd * qkv[(o + j) * 3 * C + 2 * C + h * hs + c];
        }
      }
    }
  }
  return { out, att };
}

export function attentionBackward(dqkv: Float64Array, dout: Float64Array, qkv: Float64Array, att: Float64Array, sh: AttentionShape, drop: DropoutMask): void {
  const { offsets, C, heads, causal } = sh;
  const hs = C / heads;
  const attOff = attentionOffsets(offsets, heads);
  const scale = 1 / Math.sqrt(hs);
  for (let s = 0; s + 1 < offsets.length; s++) {
    const o = offsets[s];
    const l = offsets[s + 1] - o;
    for (let h = 0; h < heads; h++) {
      const a0 = attOff[s] + h * l * l;
      for (let i = 0; i < l; i++) {
        const jn = causal ? i + 1 : l;
        const da: number[] = [];
        let sum = 0;
        for (let j = 0; j < jn; j++) {
          const m = drop(a0 + i * l + j);
          let v = 0;
          for (let c = 0; c < hs; c++) v += dout[(o + i) * C + h * hs + c] * qkv[(o + j) * 3 * C + 2 * C + h * hs + c];
          da.push(v * m);
          const p = att[a0 + i * l + j];
          for (let c = 0; c < hs; c++) dqkv[(o + j) * 3 * C + 2 * C + h * hs + c] += p * m * dout[(o + i) * C + h * hs + c];
          sum += p * v * m;
        }
        for (let j = 0; j < jn; j++) {
          const ds = att[a0 + i * l + j] * (da[j] - sum) * scale;
          for (let c = 0; c < hs; c++) {
            dqkv[(o + i) * 3 * C + h * hs + c] += ds * qkv[(o + j) * 3 * C + C + h * hs + c];
            dqkv[(o + j) * 3 * C + C + h * hs + c] += ds * qkv[(o + i) * 3 * C + h * hs + c];
          }
        }
      }
    }
  }
}

// ---------------------------------------------------------------------------------------------
// The whole body.

export interface ReferenceBatch {
  offsets: Int32Array;
  inputs: Int32Array;
  outIndex: Int32Array;
  critiquePos?: Int32Array | null;
  /** critiquePos.length x critiqueDim */
  critiqueFeats?: Float64Array | null;
  training: boolean;
  seed: number;
  step: number;
}

type Tensors = Record<string, Float64Array>;

/** Views of each named tensor inside a flat array (per layer: `name.l` for the blocks' tensors). */
export function tensorViews(flat: Float64Array, tensors: NativeTensorInfo[], layers: number): Tensors {
  const out: Tensors = {};
  for (const t of tensors) {
    const size = t.shape.reduce((a, b) => a * b, 1);
    out[t.name] = flat.subarray(t.offset, t.offset + size);
    if (t.name.startsWith('blocks.')) {
      const per = size / Math.max(layers, 1);
      for (let l = 0; l < layers; l++) out[`${t.name}.${l}`] = flat.subarray(t.offset + l * per, t.offset + (l + 1) * per);
    }
  }
  return out;
}

interface LayerCache {
  x: Float64Array;
  ln1: ReturnType<typeof layernormForward>;
  qkv: Float64Array;
  att: Float64Array;
  atty: Float64Array;
  res2: Float64Array;
  ln2: ReturnType<typeof layernormForward>;
  fch: Float64Array;
  fchGelu: Float64Array;
}

export interface ReferenceForward {
  hidden: Float64Array;
  cache: { batch: ReferenceBatch; rows: Float64Array; layers: LayerCache[]; last: Float64Array; lastRows: Float64Array; lnf: ReturnType<typeof layernormForward> };
}

export class ReferenceModel {
  readonly p: Tensors;
  readonly N: number;

  constructor(
    readonly config: NativeTrainConfig,
    readonly tensors: NativeTensorInfo[],
    readonly params: Float64Array,
    /** N x contentDim when config.contentDim > 0. */
    readonly content: Float64Array | null = null,
  ) {
    this.p = tensorViews(params, tensors, config.layers);
    this.N = config.items;
  }

  /** Item representations, (N + maskToken) x dim: item_emb + content @ content_proj. */
  rows(): Float64Array {
    const { dim: C, contentDim } = this.config;
    const rows = Float64Array.from(this.p.item_emb);
    if (contentDim > 0 && this.content) {
      const proj = matmulForward(this.content, this.p.content_proj, null, this.N, contentDim, C);
      for (let i = 0; i < this.N * C; i++) rows[i] += proj[i];
    }
    return rows;
  }

  private drop(p: number, b: ReferenceBatch, site: number): DropoutMask {
    return b.training ? dropoutMask(p, b.seed, b.step, site) : () => 1;
  }

  forward(b: ReferenceBatch): ReferenceForward {
    const { dim: C, layers: L, heads, ffnDim: F, causal } = this.config;
    const T = b.offsets[b.offsets.length - 1];
    const rows = this.rows();
    let x: Float64Array = new Float64Array(T * C);
    for (let s = 0; s + 1 < b.offsets.length; s++) {
      const o = b.offsets[s];
      const l = b.offsets[s + 1] - o;
      for (let i = 0; i < l; i++)
        for (let j = 0; j < C; j++) x[(o + i) * C + j] = rows[b.inputs[o + i] * C + j] + this.p.pos_emb[(l - 1 - i) * C + j];
    }
    const K = b.critiquePos?.length ?? 0;
    if (K > 0 && this.config.critiqueDim > 0) {
      const proj = matmulForward(b.critiqueFeats!, this.p.critique_proj, this.p.critique_bias, K, this.config.critiqueDim, C);
      for (let q = 0; q < K; q++) for (let j = 0; j < C; j++) x[b.critiquePos![q] * C + j] += proj[q * C + j];
    }
    const d0 = this.drop(this.config.dropout, b, 0);
    x = x.map((v, i) => v * d0(i));
    const caches: LayerCache[] = [];
    const sh: AttentionShape = { offsets: b.offsets, C, heads, causal };
    for (let l = 0; l < L; l++) {
      const ln1 = layernormForward(x, this.p[`blocks.ln1.weight.${l}`], this.p[`blocks.ln1.bias.${l}`], T, C);
      const qkv = matmulForward(ln1.out, this.p[`blocks.qkv.weight.${l}`], this.p[`blocks.qkv.bias.${l}`], T, C, 3 * C);
      const { out: atty, att } = attentionForward(qkv, sh, this.drop(this.config.attnDropout, b, 1 + 3 * l));
      const ap = matmulForward(atty, this.p[`blocks.attn_proj.weight.${l}`], this.p[`blocks.attn_proj.bias.${l}`], T, C, C);
      const d2 = this.drop(this.config.dropout, b, 2 + 3 * l);
      const res2 = x.map((v, i) => v + ap[i] * d2(i));
      const ln2 = layernormForward(res2, this.p[`blocks.ln2.weight.${l}`], this.p[`blocks.ln2.bias.${l}`], T, C);
      const fch = matmulForward(ln2.out, this.p[`blocks.fc.weight.${l}`], this.p[`blocks.fc.bias.${l}`], T, C, F);
      const fchGelu = geluForward(fch);
      const fp = matmulForward(fchGelu, this.p[`blocks.fc_proj.weight.${l}`], this.p[`blocks.fc_proj.bias.${l}`], T, F, C);
      const d3 = this.drop(this.config.dropout, b, 3 + 3 * l);
      caches.push({ x, ln1, qkv, att, atty, res2, ln2, fch, fchGelu });
      x = res2.map((v, i) => v + fp[i] * d3(i));
    }
    const R = b.outIndex.length;
    const lastRows = new Float64Array(R * C);
    for (let r = 0; r < R; r++) lastRows.set(x.subarray(b.outIndex[r] * C, b.outIndex[r] * C + C), r * C);
    const lnf = layernormForward(lastRows, this.p['ln_f.weight'], this.p['ln_f.bias'], R, C);
    return { hidden: lnf.out, cache: { batch: b, rows, layers: caches, last: x, lastRows, lnf } };
  }

  /** Gradients (flat, the parameters' layout) of a loss whose gradients are dHidden and dRows (N x dim, or null). */
  backward(f: ReferenceForward, dHidden: Float64Array, dRows: Float64Array | null): Float64Array {
    const { dim: C, layers: L, heads, ffnDim: F, causal, contentDim, critiqueDim } = this.config;
    const { batch: b, layers: caches, lastRows, lnf } = f.cache;
    const T = b.offsets[b.offsets.length - 1];
    const R = b.outIndex.length;
    const flat = new Float64Array(this.params.length);
    const g = tensorViews(flat, this.tensors, L);
    const dLast = new Float64Array(R * C);
    layernormBackward(dLast, g['ln_f.weight'], g['ln_f.bias'], dHidden, lastRows, this.p['ln_f.weight'], lnf.mean, lnf.rstd, R, C);
    let dres = new Float64Array(T * C);
    for (let r = 0; r < R; r++) for (let j = 0; j < C; j++) dres[b.outIndex[r] * C + j] += dLast[r * C + j];
    const sh: AttentionShape = { offsets: b.offsets, C, heads, causal };
    for (let l = L - 1; l >= 0; l--) {
      const c = caches[l];
      const d3 = this.drop(this.config.dropout, b, 3 + 3 * l);
      const dfp = dres.map((v, i) => v * d3(i));
      const dfchGelu = new Float64Array(T * F);
      matmulBackward(dfchGelu, g[`blocks.fc_proj.weight.${l}`], g[`blocks.fc_proj.bias.${l}`], dfp, c.fchGelu, this.p[`blocks.fc_proj.weight.${l}`], T, F, C);
      const dfch = new Float64Array(T * F);
      geluBackward(dfch, c.fch, dfchGelu);
      const dln2 = new Float64Array(T * C);
      matmulBackward(dln2, g[`blocks.fc.weight.${l}`], g[`blocks.fc.bias.${l}`], dfch, c.ln2.out, this.p[`blocks.fc.weight.${l}`], T, C, F);
      const dres2 = Float64Array.from(dres);
      layernormBackward(dres2, g[`blocks.ln2.weight.${l}`], g[`blocks.ln2.bias.${l}`], dln2, c.res2, this.p[`blocks.ln2.weight.${l}`], c.ln2.mean, c.ln2.rstd, T, C);
      const d2 = this.drop(this.config.dropout, b, 2 + 3 * l);
      const dap = dres2.map((v, i) => v * d2(i));
      const datty = new Float64Array(T * C);
      matmulBackward(datty, g[`blocks.attn_proj.weight.${l}`], g[`blocks.attn_proj.bias.${l}`], dap, c.atty, this.p[`blocks.attn_proj.weight.${l}`], T, C, C);
      const dqkv = new Float64Array(T * 3 * C);
      attentionBackward(dqkv, datty, c.qkv, c.att, sh, this.drop(this.config.attnDropout, b, 1 + 3 * l));
      const dln1 = new Float64Array(T * C);
      matmulBackward(dln1, g[`blocks.qkv.weight.${l}`], g[`blocks.qkv.bias.${l}`], dqkv, c.ln1.out, this.p[`blocks.qkv.weight.${l}`], T, C, 3 * C);
      const dx = Float64Array.from(dres2);
      layernormBackward(dx, g[`blocks.ln1.weight.${l}`], g[`blocks.ln1.bias.${l}`], dln1, c.x, this.p[`blocks.ln1.weight.${l}`], c.ln1.mean, c.ln1.rstd, T, C);
      dres = dx;
    }
    const d0 = this.drop(this.config.dropout, b, 0);
    dres = dres.map((v, i) => v * d0(i));
    const dRowsAll = new Float64Array(this.p.item_emb.length);
    for (let s = 0; s + 1 < b.offsets.length; s++) {
      const o = b.offsets[s];
      const l = b.offsets[s + 1] - o;
      for (let i = 0; i < l; i++)
        for (let j = 0; j < C; j++) {
          dRowsAll[b.inputs[o + i] * C + j] += dres[(o + i) * C + j];
          g.pos_emb[(l - 1 - i) * C + j] += dres[(o + i) * C + j];
        }
    }
    const K = b.critiquePos?.length ?? 0;
    if (K > 0 && critiqueDim > 0) {
      const dk = new Float64Array(K * C);
      for (let q = 0; q < K; q++) dk.set(dres.subarray(b.critiquePos![q] * C, b.critiquePos![q] * C + C), q * C);
      matmulBackward(null, g.critique_proj, g.critique_bias, dk, b.critiqueFeats!, this.p.critique_proj, K, critiqueDim, C);
    }
    if (dRows) for (let i = 0; i < this.N * C; i++) dRowsAll[i] += dRows[i];
    g.item_emb.set(dRowsAll);
    if (contentDim > 0 && this.content) matmulBackward(null, g.content_proj, null, dRowsAll.subarray(0, this.N * C), this.content, this.p.content_proj, this.N, contentDim, C);
    return flat;
  }
}

/**
 * Unfused softmax cross-entropy of hidden rows (R x C) against every item row (N x C):
 * loss = sum_r w_r (logsumexp_i h_r . e_i - h_r . e_target), and its gradients. Targets -1 are ignored.
 */
export function crossEntropyReference(hidden: ArrayLike<number>, rows: ArrayLike<number>, targets: Int32Array, N: number, C: number, weights?: ArrayLike<number>) {
  const R = targets.length;
  const dHidden = new Float64Array(R * C);
  const dRows = new Float64Array(N * C);
  const losses = new Float64Array(R);
  let loss = 0;
  const s = new Float64Array(N);
  for (let r = 0; r < R; r++) {
    const t = targets[r];
    if (t < 0) continue;
    const w = weights ? weights[r] : 1;
    let mx = -Infinity;
    for (let i = 0; i < N; i++) {
      let v = 0;
      for (let c = 0; c < C; c++) v += hidden[r * C + c] * rows[i * C + c];
      s[i] = v;
      mx = Math.max(mx, v);
    }
    let z = 0;
    for (let i = 0; i < N; i++) z += Math.exp(s[i] - mx);
    const logZ = mx + Math.log(z);
    losses[r] = logZ - s[t];
    loss += w * losses[r];
    for (let i = 0; i < N; i++) {
      const p = Math.exp(s[i] - logZ) - (i === t ? 1 : 0);
      for (let c = 0; c < C; c++) {
        dHidden[r * C + c] += w * p * rows[i * C + c];
        dRows[i * C + c] += w * p * hidden[r * C + c];
      }
    }
  }
  return { loss, losses, dHidden, dRows };
}
