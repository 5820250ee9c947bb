// Training and scoring batches for the sequential recommenders, from a dataset's leave-one-out
// split: training reads only the first n-2 purchases of each user (the valid target is purchase
// n-1, the test target purchase n, never seen in training).
//
// Objectives:
//   next    (SASRec): causal; every position predicts the next item. A sequence s_0..s_{m-1} gives
//           inputs s_0..s_{m-2} and targets s_1..s_{m-1} (the last maxLen of them).
//   masked  (BERT4Rec): bidirectional; each position of the last maxLen items is replaced by the mask
//           token with probability maskProb (at least one per sequence) and predicts its item.
// A critique (the user's words steering from one purchase to the next) enters at the position
// whose output predicts the purchase it steers to: the previous item's position for `next`, the
// item's own (masked) position for `masked`. Scoring a history appends nothing for `next` (the last
// position predicts) and a mask token for `masked`.
import type { Dataset } from '../data/dataset.js';
import type { Csr } from '../data/splits.js';
import type { BodyBatch, TransformerBody } from '../engine/train-kernels.js';
import { rng } from '../util/random.js';

export type Objective = 'next' | 'masked';

/** Critique features by event: row[e] is the feature row of event e's critique, -1 without one. */
export interface CritiqueFeatures {
  dim: number;
  row: Int32Array;
  feats: Float32Array;
}

export interface TrainingSequences {
  /** Per training sequence: its items (a user's first n-2 purchases). */
  items: Csr;
  /** Per training sequence: the event index of its first item (event of item k = first + k). */
  firstEvent: Int32Array;
  /** Positions that have a target over one epoch (next: m - 1 per sequence, capped at maxLen). */
  positions: number;
}

/** The users whose first n-2 purchases give at least one training target. */
export function trainingSequences(ds: Dataset, objective: Objective, maxLen: number): TrainingSequences {
  const train = ds.split.train;
  const users = train.offsets.length - 1;
  const minItems = objective === 'next' ? 2 : 1;
  const keep: number[] = [];
  let total = 0;
  let positions = 0;
  for (let u = 0; u < users; u++) {
    const m = train.offsets[u + 1] - train.offsets[u];
    if (m < minItems) continue;
    keep.push(u);
    total += m;
    positions += objective === 'next' ? Math.min(m - 1, maxLen) : Math.min(m, maxLen);
  }
  const items: Csr = { offsets: new Int32Array(keep.length + 1), ids: new Int32Array(total) };
  const firstEvent = new Int32Array(keep.length);
  let o = 0;
  keep.forEach((u, i) => {
    const seq = train.ids.subarray(train.offsets[u], train.offsets[u + 1]);
    items.ids.set(seq, o);
    o += seq.length;
    items.offsets[i + 1] = o;
    firstEvent[i] = ds.users.offsets[u];
  });
  return { items, firstEvent, positions };
}

export interface BatchOptions {
  objective: Objective;
  maxLen: number;
  /** Sequences per batch. */
  batchSize: number;
  seed: number;
  epoch: number;
  /** The mask token's input id (= items) for `masked`. */
  maskId: number;
  maskProb: number;
  critiques?: CritiqueFeatures | null;
  /** Each critique is withheld with this probability (so one model serves rows with and without). */
  critiqueDropout?: number;
}

export interface TrainingBatch {
  body: BodyBatch;
  /** Per output row (body.outIndex order): its target item. */
  targets: Int32Array;
}

/** A seeded generator for (seed, epoch, stream): the epoch's order, masks and critique dropout. */
function epochRng(seed: number, epoch: number, stream: number): () => number {
  return rng((Math.imul(seed ^ 0x2545f491, 0x9e3779b1) + Math.imul(epoch + 1, 0x85ebca77) + Math.imul(stream, 0xc2b2ae3d)) >>> 0);
}

/** The batches of one epoch, in a shuffled order that depends only on (seed, epoch). */
export function* epochBatches(set: TrainingSequences, o: BatchOptions): Generator<TrainingBatch> {
  const S = set.firstEvent.length;
  const order = Int32Array.from({ length: S }, (_, i) => i);
  const shuffle = epochRng(o.seed, o.epoch, 1);
  for (let i = S - 1; i > 0; i--) {
    const j = Math.floor(shuffle() * (i + 1));
    const t = order[i];
    order[i] = order[j];
    order[j] = t;
  }
  const draw = epochRng(o.seed, o.epoch, 2);
  const next = o.objective === 'next';
  for (let b0 = 0; b0 < S; b0 += o.batchSize) {
    const b1 = Math.min(S, b0 + o.batchSize);
    let T = 0;
    for (let b = b0; b < b1; b++) {
      const s = order[b];
      const m = set.items.offsets[s + 1] - set.items.offsets[s];
      T += next ? Math.min(m - 1, o.maxLen) : Math.min(m, o.maxLen);
    }
    const offsets = new Int32Array(b1 - b0 + 1);
    const inputs = new Int32Array(T);
    const outIndex: number[] = [];
    const targets: number[] = [];
    const critPos: number[] = [];
    const critRows: number[] = [];
    let t = 0;
    for (let b = b0; b < b1; b++) {
      const s = order[b];
      const seq = set.items.ids.subarray(set.items.offsets[s], set.items.offsets[s + 1]);
      const m = seq.length;
      if (next) {
        const len = Math.min(m - 1, o.maxLen);
        const start = m - 1 - len;
        for (let k = 0; k < len; k++) {
          inputs[t + k] = seq[start + k];
          outIndex.push(t + k);
          targets.push(seq[start + k + 1]);
          // The critique steering to item start + k + 1 enters at position k.
          addCritique(o, set.firstEvent[s] + start + k + 1, t + k, critPos, critRows, draw);
        }
        t += len;
      } else {
        const len = Math.min(m, o.maxLen);
        const start = m - len;
        let masked = 0;
        for (let k = 0; k < len; k++) {
          inputs[t + k] = seq[start + k];
          if (draw() < o.maskProb) {
            inputs[t + k] = o.maskId;
            outIndex.push(t + k);
            targets.push(seq[start + k]);
            masked++;
          }
          addCritique(o, set.firstEvent[s] + start + k, t + k, critPos, critRows, draw);
        }
        if (masked === 0) {
          // At least one target per sequence: the last item, as scoring asks for it.
          inputs[t + len - 1] = o.maskId;
          outIndex.push(t + len - 1);
          targets.push(seq[m - 1]);
        }
        t += len;
      }
      offsets[b - b0 + 1] = t;
    }
    const body: BodyBatch = { offsets, inputs, outIndex: Int32Array.from(outIndex), training: true };
    if (critPos.length > 0 && o.critiques) {
      const dim = o.critiques.dim;
      const feats = new Float32Array(critPos.length * dim);
      critRows.forEach((row, k) => feats.set(o.critiques!.feats.subarray(row * dim, row * dim + dim), k * dim));
      body.critiquePos = Int32Array.from(critPos);
      body.critiqueFeats = feats;
    }
    yield { body, targets: Int32Array.from(targets) };
  }
}

function addCritique(o: BatchOptions, event: number, position: number, pos: number[], rows: number[], draw: () => number): void {
  const c = o.critiques;
  if (!c || event >= c.row.length) return;
  const row = c.row[event];
  if (row < 0) return;
  if ((o.critiqueDropout ?? 0) > 0 && draw() < o.critiqueDropout!) return;
  pos.push(position);
  rows.push(row);
}

export interface ScoringRows {
  /** Histories (oldest first), one per row to score. */
  history: Csr;
  /** Per row: the event index of its first history item (for history critiques), or null. */
  firstEvent?: Int32Array | null;
  /** Per row: the feature row (in critiques) of the critique steering to the item to predict, or -1. */
  targetCritique?: Int32Array | null;
}

/**
 * One batch that scores rows [r0, r1): each history's last maxLen items (maxLen - 1 and a mask token
 * for `masked`); outIndex = each sequence's last position. Rows with an empty history get the mask
 * token alone (masked) or are left out (`next`: nothing to read a prediction from), see `scored`.
 */
export function scoringBatch(
  rows: ScoringRows,
  r0: number,
  r1: number,
  o: { objective: Objective; maxLen: number; maskId: number; critiques?: CritiqueFeatures | null },
): { body: BodyBatch; scored: Int32Array } {
  const next = o.objective === 'next';
  const keep = next ? o.maxLen : o.maxLen - 1;
  const { offsets: ho, ids } = rows.history;
  const scored: number[] = [];
  let T = 0;
  for (let r = r0; r < r1; r++) {
    const h = Math.min(ho[r + 1] - ho[r], keep);
    if (next && h === 0) continue;
    scored.push(r);
    T += next ? h : h + 1;
  }
  const offsets = new Int32Array(scored.length + 1);
  const inputs = new Int32Array(T);
  const outIndex = new Int32Array(scored.length);
  const critPos: number[] = [];
  const critRows: number[] = [];
  const c = o.critiques;
  let t = 0;
  scored.forEach((r, i) => {
    const n = ho[r + 1] - ho[r];
    const h = Math.min(n, keep);
    const start = n - h;
    for (let k = 0; k < h; k++) inputs[t + k] = ids[ho[r] + start + k];
    const len = next ? h : h + 1;
    if (!next) inputs[t + h] = o.maskId;
    if (c && rows.firstEvent) {
      // History critiques: the one steering to history item start + k + 1 (next) or start + k (masked).
      for (let k = 0; k < h; k++) {
        const item = next ? start + k + 1 : start + k;
        if (item >= n) continue;
        const e = rows.firstEvent[r] + item;
        if (e < c.row.length && c.row[e] >= 0) {
          critPos.push(t + k);
          critRows.push(c.row[e]);
        }
      }
    }
    if (c && rows.targetCritique && rows.targetCritique[r] >= 0) {
      critPos.push(t + len - 1);
      critRows.push(rows.targetCritique[r]);
    }
    outIndex[i] = t + len - 1;
    t += len;
    offsets[i + 1] = t;
  });
  const body: BodyBatch = { offsets, inputs, outIndex, training: false };
  if (c && critPos.length > 0) {
    const feats = new Float32Array(critPos.length * c.dim);
    critRows.forEach((row, k) => feats.set(c.feats.subarray(row * c.dim, row * c.dim + c.dim), k * c.dim));
    body.critiquePos = Int32Array.from(critPos);
    body.critiqueFeats = feats;
  }
  return { body, scored: Int32Array.from(scored) };
}

/** Hidden states (rows x dim) of each row's history (and critiques), through the body in eval mode. */
export async function encodeRows(
  body: TransformerBody,
  rows: ScoringRows,
  o: { objective: Objective; maxLen: number; critiques?: CritiqueFeatures | null },
  chunk = 2048,
): Promise<Float32Array> {
  const n = rows.history.offsets.length - 1;
  const dim = body.config.dim;
  const out = new Float32Array(n * dim);
  for (let r0 = 0; r0 < n; r0 += chunk) {
    const r1 = Math.min(n, r0 + chunk);
    const { body: batch, scored } = scoringBatch(rows, r0, r1, { objective: o.objective, maxLen: o.maxLen, maskId: body.config.items, critiques: o.critiques });
    if (scored.length === 0) continue;
    const h = await body.forward(batch);
    scored.forEach((r, i) => out.set(h.subarray(i * dim, (i + 1) * dim), r * dim));
  }
  return out;
}
