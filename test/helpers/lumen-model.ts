// Writes a LUMEN checkpoint with random weights in the format `regen-bench generate` reads (see the
// README, "LUMEN decoding"): a pre-norm transformer decoder body as ONNX with a KV cache (Hugging
// Face Optimum names), the text head, text embeddings and item table as safetensors, a WordPiece
// tokenizer, config.json and the item id list. Also the same model in plain float64 JavaScript
// (no cache, no padding): the reference the decoder is checked against.
//
// The body: x = inputs_embeds + P[position_ids]; per layer x += Attn(rms(x) g1), x += W2 relu(W1 rms(x) g2);
// last_hidden_state = rms(x) gf, with rms(x) = x / sqrt(mean(x^2) + 1e-5), causal multi-head attention
// over the cache and the attention mask (masked scores get -1e9).
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';

import { rng } from '../../src/util/random.js';
import { FLOAT, INT64, OnnxGraph } from './onnx-writer.js';

export const SPECIAL_TOKENS = ['[UNK]', '<eos>', 'START', 'END', 'ID_TOKEN'] as const;
export const TINY_WORDS = [
  'This', 'is', 'the', 'summary', 'of', 'a', 'user', "'", 's', 'purchase', 'history', '.', 'First', 'item', 'Next', 'ID', ':',
  'Title', 'Category', 'Description', 'Price', 'Rating', 'User', 'Review', 'Critique', 'for', 'The', 'last', 'Predict', 'next',
  'and', 'reason', 'it', 'Text', 'pen', 'paper', 'ink', 'great', 'good', 'office', 'desk', 'blue', 'black', ',', '$', '>',
];

export interface LumenSpec {
  /** The item vocabulary (ids as the dataset spells them). */
  itemIds: string[];
  seed: number;
  dim?: number;
  layers?: number;
  heads?: number;
  ff?: number;
  maxPositions?: number;
  /** Extra text tokens after the specials and TINY_WORDS, up to this total (default: no filler). */
  vocabSize?: number;
  /** Text embeddings tied to the text head (no text_embeddings tensor). */
  tied?: boolean;
  /** safetensors dtype of the heads (BF16: the reference uses the rounded values). */
  dtype?: 'F32' | 'BF16';
  /** Standard deviation of the head and item-table entries (how peaked the softmaxes are). */
  headScale?: number;
  /** Multiplies START's head row (how often a sampled row switches to item mode). */
  startBoost?: number;
  /** Multiplies EOS's head row. */
  eosScale?: number;
  generationPrefix?: string;
  embeddingScale?: number;
}

export interface LumenWeights {
  dim: number;
  heads: number;
  ff: number;
  layers: { g1: Float32Array; wq: Float32Array; wk: Float32Array; wv: Float32Array; wo: Float32Array; g2: Float32Array; w1: Float32Array; w2: Float32Array }[];
  gf: Float32Array;
  pos: Float32Array;
  textHead: Float32Array;
  textEmb: Float32Array;
  itemEmb: Float32Array;
  vocab: string[];
  embeddingScale: number;
}

export interface LumenCheckpoint {
  dir: string;
  weights: LumenWeights;
  config: Record<string, unknown>;
}

function bf16Round(values: Float32Array): Float32Array<ArrayBuffer> {
  const out = new Float32Array(values);
  const bits = new Uint32Array(out.buffer);
  for (let i = 0; i < bits.length; i++) {
    const u = bits[i];
    bits[i] = (((u + 0x7fff + ((u >>> 16) & 1)) >>> 16) << 16) >>> 0;
  }
  return out;
}

function toBf16Bytes(values: Float32Array): Uint8Array {
  const bits = new Uint32Array(values.buffer, values.byteOffset, values.length);
  const out = new Uint16Array(values.length);
  for (let i = 0; i < bits.length; i++) out[i] = bits[i] >>> 16; // already rounded
  return new Uint8Array(out.buffer);
}

/** A safetensors file of 2-D tensors. */
export function safetensors(tensors: Record<string, { dtype: 'F32' | 'BF16'; shape: number[]; data: Float32Array }>): Buffer {
  const header: Record<string, unknown> = {};
  const blobs: Uint8Array[] = [];
  let offset = 0;
  for (const [name, t] of Object.entries(tensors)) {
    const bytes = t.dtype === 'F32' ? new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength) : toBf16Bytes(t.data);
    header[name] = { dtype: t.dtype, shape: t.shape, data_offsets: [offset, offset + bytes.length] };
    blobs.push(bytes);
    offset += bytes.length;
  }
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - (json.length % 8)) % 8);
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(json.length));
  return Buffer.concat([len, Buffer.from(json), ...blobs]);
}

export function makeLumenWeights(spec: LumenSpec): LumenWeights {
  const dim = spec.dim ?? 16;
  const heads = spec.heads ?? 2;
  const ff = spec.ff ?? 2 * dim;
  const layers = spec.layers ?? 2;
  const maxPositions = spec.maxPositions ?? 1024;
  const r = rng(spec.seed);
  const normal = () => {
    const u = Math.max(r(), 1e-12);
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * r());
  };
  const mat = (n: number, scale: number) => Float32Array.from({ length: n }, () => normal() * scale);
  const gain = () => Float32Array.from({ length: dim }, () => 1 + 0.2 * normal());
  const vocab = [...SPECIAL_TOKENS, ...TINY_WORDS];
  for (let i = 0; vocab.length < (spec.vocabSize ?? 0); i++) vocab.push(`w${i}`);
  const headScale = spec.headScale ?? 0.75;
  const textHead = mat(vocab.length * dim, headScale);
  const scaleRow = (id: number, f: number) => {
    for (let j = 0; j < dim; j++) textHead[id * dim + j] *= f;
  };
  scaleRow(SPECIAL_TOKENS.indexOf('START'), spec.startBoost ?? 1);
  scaleRow(SPECIAL_TOKENS.indexOf('<eos>'), spec.eosScale ?? 1);
  let itemEmb: Float32Array = mat(spec.itemIds.length * dim, headScale);
  let head: Float32Array = textHead;
  let textEmb: Float32Array = spec.tied ? head : mat(vocab.length * dim, 1);
  if (spec.dtype === 'BF16') {
    head = bf16Round(head);
    itemEmb = bf16Round(itemEmb);
    textEmb = spec.tied ? head : bf16Round(textEmb);
  }
  return {
    dim,
    heads,
    ff,
    layers: Array.from({ length: layers }, () => ({
      g1: gain(),
      wq: mat(dim * dim, 1 / Math.sqrt(dim)),
      wk: mat(dim * dim, 1 / Math.sqrt(dim)),
      wv: mat(dim * dim, 1 / Math.sqrt(dim)),
      wo: mat(dim * dim, 0.5 / Math.sqrt(dim)),
      g2: gain(),
      w1: mat(dim * ff, 1 / Math.sqrt(dim)),
      w2: mat(ff * dim, 0.5 / Math.sqrt(ff)),
    })),
    gf: gain(),
    pos: mat(maxPositions * dim, 0.5),
    textHead: head,
    textEmb,
    itemEmb,
    vocab,
    embeddingScale: spec.embeddingScale ?? 1,
  };
}

/**
 * The decoder body as ONNX (opset 17). `inputIds`: the body takes input_ids and embeds them itself
 * (the text embeddings as an initializer), as a body exported by Optimum does; `logits`: it also
 * returns logits (an export with its LM head), for the narrator's error.
 */
export function decoderOnnx(w: LumenWeights, o: { inputIds?: boolean; logitsOnly?: boolean } = {}): Buffer {
  const g = new OnnxGraph();
  const D = w.dim;
  const H = w.heads;
  const hd = D / H;
  const embeds = o.inputIds
    ? g.node('Gather', [g.floats('embed_tokens', [w.textEmb.length / D, D], Float32Array.from(w.textEmb, (v) => v * w.embeddingScale)), g.input('input_ids', INT64, ['batch', 'seq'])])
    : g.input('inputs_embeds', FLOAT, ['batch', 'seq', D]);
  const mask = g.input('attention_mask', INT64, ['batch', 'total']);
  const positions = g.input('position_ids', INT64, ['batch', 'seq']);
  const past = w.layers.map((_, l) => ({
    k: g.input(`past_key_values.${l}.key`, FLOAT, ['batch', H, 'past', hd]),
    v: g.input(`past_key_values.${l}.value`, FLOAT, ['batch', H, 'past', hd]),
  }));
  const one = g.floats('one', [], Float32Array.of(1));
  const zero = g.floats('zero', [], Float32Array.of(0));
  const negBig = g.floats('neg_big', [], Float32Array.of(-1e9));
  const eps = g.floats('eps', [], Float32Array.of(1e-5));
  const scale = g.floats('scale', [], Float32Array.of(1 / Math.sqrt(hd)));
  const i0 = g.int64s('i0', [], [0]);
  const i1 = g.int64s('i1', [], [1]);
  const axes0 = g.int64s('axes0', [1], [0]);
  const axes1 = g.int64s('axes1', [1], [1]);
  const axes12 = g.int64s('axes12', [2], [1, 2]);
  const shapeHeads = g.int64s('shape_heads', [4], [0, 0, H, hd]);
  const shapeModel = g.int64s('shape_model', [3], [0, 0, D]);

  // Additive mask [batch, 1, seq, total]: -1e9 at padding and at future positions.
  const maskF = g.node('Cast', [mask], [{ name: 'to', i: FLOAT }]);
  const pad = g.node('Unsqueeze', [g.node('Mul', [g.node('Sub', [one, maskF]), negBig]), axes12]);
  const total = g.node('Gather', [g.node('Shape', [mask]), i1]);
  const seq = g.node('Gather', [g.node('Shape', [embeds]), i1]);
  const qpos = g.node('Unsqueeze', [g.node('Range', [g.node('Sub', [total, seq]), total, i1]), axes1]);
  const kpos = g.node('Unsqueeze', [g.node('Range', [i0, total, i1]), axes0]);
  const causal = g.node('Where', [g.node('Greater', [kpos, qpos]), negBig, zero]);
  const fullMask = g.node('Add', [pad, causal]);

  const rms = (x: string, gainName: string) => {
    const ms = g.node('ReduceMean', [g.node('Mul', [x, x])], [{ name: 'axes', ints: [-1] }, { name: 'keepdims', i: 1 }]);
    return g.node('Mul', [g.node('Div', [x, g.node('Sqrt', [g.node('Add', [ms, eps])])]), gainName]);
  };
  const toHeads = (x: string) => g.node('Transpose', [g.node('Reshape', [x, shapeHeads])], [{ name: 'perm', ints: [0, 2, 1, 3] }]);

  let x = g.node('Add', [embeds, g.node('Gather', [g.floats('pos', [w.pos.length / D, D], w.pos), positions])]);
  w.layers.forEach((L, l) => {
    const h = rms(x, g.floats(`g1_${l}`, [D], L.g1));
    const q = toHeads(g.node('MatMul', [h, g.floats(`wq_${l}`, [D, D], L.wq)]));
    const k = toHeads(g.node('MatMul', [h, g.floats(`wk_${l}`, [D, D], L.wk)]));
    const v = toHeads(g.node('MatMul', [h, g.floats(`wv_${l}`, [D, D], L.wv)]));
    const K = g.node('Concat', [past[l].k, k], [{ name: 'axis', i: 2 }], `present.${l}.key`);
    const V = g.node('Concat', [past[l].v, v], [{ name: 'axis', i: 2 }], `present.${l}.value`);
    const scores = g.node('Add', [g.node('Mul', [g.node('MatMul', [q, g.node('Transpose', [K], [{ name: 'perm', ints: [0, 1, 3, 2] }])]), scale]), fullMask]);
    const attn = g.node('MatMul', [g.node('Softmax', [scores], [{ name: 'axis', i: -1 }]), V]);
    const merged = g.node('Reshape', [g.node('Transpose', [attn], [{ name: 'perm', ints: [0, 2, 1, 3] }]), shapeModel]);
    x = g.node('Add', [x, g.node('MatMul', [merged, g.floats(`wo_${l}`, [D, D], L.wo)])]);
    const h2 = rms(x, g.floats(`g2_${l}`, [D], L.g2));
    const up = g.node('Relu', [g.node('MatMul', [h2, g.floats(`w1_${l}`, [D, w.ff], L.w1)])]);
    x = g.node('Add', [x, g.node('MatMul', [up, g.floats(`w2_${l}`, [w.ff, D], L.w2)])]);
  });
  const last = rms(x, g.floats('gf', [D], w.gf));
  if (o.logitsOnly) {
    const headT = new Float32Array(w.textHead.length);
    const V = w.textHead.length / D;
    for (let v = 0; v < V; v++) for (let j = 0; j < D; j++) headT[j * V + v] = w.textHead[v * D + j];
    g.node('MatMul', [last, g.floats('lm_head', [D, V], headT)], [], 'logits');
    g.output('logits', FLOAT, ['batch', 'seq', V]);
  } else {
    g.node('Identity', [last], [], 'last_hidden_state');
    g.output('last_hidden_state', FLOAT, ['batch', 'seq', D]);
  }
  w.layers.forEach((_, l) => {
    g.output(`present.${l}.key`, FLOAT, ['batch', H, 'total', hd]);
    g.output(`present.${l}.value`, FLOAT, ['batch', H, 'total', hd]);
  });
  return g.serialize('lumen_tiny_decoder');
}

export function tokenizerJson(vocab: string[]): string {
  const special = (id: number) => ({ id, content: vocab[id], single_word: false, lstrip: false, rstrip: false, normalized: false, special: true });
  return JSON.stringify({
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: SPECIAL_TOKENS.map((_, i) => special(i)),
    normalizer: null,
    pre_tokenizer: { type: 'BertPreTokenizer' },
    post_processor: null,
    decoder: { type: 'WordPiece', prefix: '##', cleanup: true },
    model: { type: 'WordPiece', unk_token: '[UNK]', continuing_subword_prefix: '##', max_input_chars_per_word: 100, vocab: Object.fromEntries(vocab.map((t, i) => [t, i])) },
  });
}

/** Writes the checkpoint folder (created if needed). */
export function writeLumenCheckpoint(dir: string, spec: LumenSpec): LumenCheckpoint {
  mkdirSync(dir, { recursive: true });
  const w = makeLumenWeights(spec);
  const dtype = spec.dtype ?? 'F32';
  const D = w.dim;
  writeFileSync(path.join(dir, 'decoder.onnx'), decoderOnnx(w));
  const tensors: Parameters<typeof safetensors>[0] = {
    text_head: { dtype, shape: [w.vocab.length, D], data: w.textHead },
    item_embeddings: { dtype, shape: [spec.itemIds.length, D], data: w.itemEmb },
  };
  if (!spec.tied) tensors.text_embeddings = { dtype, shape: [w.vocab.length, D], data: w.textEmb };
  writeFileSync(path.join(dir, 'heads.safetensors'), safetensors(tensors));
  writeFileSync(path.join(dir, 'item_ids.txt'), spec.itemIds.join('\n') + '\n');
  writeFileSync(path.join(dir, 'tokenizer.json'), tokenizerJson(w.vocab));
  writeFileSync(
    path.join(dir, 'tokenizer_config.json'),
    JSON.stringify({ tokenizer_class: 'PreTrainedTokenizer', unk_token: '[UNK]', eos_token: '<eos>', model_max_length: 1000000 }),
  );
  const config: Record<string, unknown> = {
    format: 'regen-lumen',
    format_version: 1,
    hidden_size: D,
    num_hidden_layers: w.layers.length,
    num_key_value_heads: w.heads,
    head_dim: D / w.heads,
    text_vocab_size: w.vocab.length,
    item_vocab_size: spec.itemIds.length,
    max_position_embeddings: w.pos.length / D,
    start_token_id: SPECIAL_TOKENS.indexOf('START'),
    end_token_id: SPECIAL_TOKENS.indexOf('END'),
    id_token_id: SPECIAL_TOKENS.indexOf('ID_TOKEN'),
    eos_token_id: SPECIAL_TOKENS.indexOf('<eos>'),
    ...(spec.embeddingScale !== undefined ? { embedding_scale: spec.embeddingScale } : {}),
    ...(spec.generationPrefix !== undefined ? { generation_prefix: spec.generationPrefix } : {}),
  };
  writeFileSync(path.join(dir, 'config.json'), JSON.stringify(config, null, 2));
  return { dir, weights: w, config };
}

// ---------------------------------------------------------------------------------------------
// The same model in float64 JavaScript: every position recomputed from scratch (no cache, no padding).

function rmsNorm(x: Float64Array, gain: Float32Array): Float64Array {
  let ms = 0;
  for (const v of x) ms += v * v;
  const r = Math.sqrt(ms / x.length + 1e-5);
  return x.map((v, j) => (v / r) * gain[j]);
}

/** y = x W for W stored row-major [in, out]. */
function matvec(x: Float64Array, w: Float32Array, out: number): Float64Array {
  const y = new Float64Array(out);
  for (let i = 0; i < x.length; i++) {
    const xi = x[i];
    for (let o = 0; o < out; o++) y[o] += xi * w[i * out + o];
  }
  return y;
}

/** The last hidden state after the given input embeddings (one per position, positions 0..n-1). */
export function referenceHidden(w: LumenWeights, inputs: Float64Array[]): Float64Array {
  const D = w.dim;
  const H = w.heads;
  const hd = D / H;
  let x = inputs.map((e, i) => e.map((v, j) => v + w.pos[i * D + j]));
  for (const L of w.layers) {
    const h = x.map((xi) => rmsNorm(xi, L.g1));
    const q = h.map((hi) => matvec(hi, L.wq, D));
    const k = h.map((hi) => matvec(hi, L.wk, D));
    const v = h.map((hi) => matvec(hi, L.wv, D));
    x = x.map((xi, i) => {
      const merged = new Float64Array(D);
      for (let a = 0; a < H; a++) {
        const s = new Float64Array(i + 1);
        let max = -Infinity;
        for (let j = 0; j <= i; j++) {
          let dot = 0;
          for (let c = 0; c < hd; c++) dot += q[i][a * hd + c] * k[j][a * hd + c];
          s[j] = dot / Math.sqrt(hd);
          max = Math.max(max, s[j]);
        }
        let sum = 0;
        for (let j = 0; j <= i; j++) sum += (s[j] = Math.exp(s[j] - max));
        for (let j = 0; j <= i; j++) for (let c = 0; c < hd; c++) merged[a * hd + c] += (s[j] / sum) * v[j][a * hd + c];
      }
      const o = matvec(merged, L.wo, D);
      return xi.map((val, j) => val + o[j]);
    });
    x = x.map((xi) => {
      const up = matvec(rmsNorm(xi, L.g2), L.w1, w.ff).map((u) => Math.max(0, u));
      const down = matvec(up, L.w2, D);
      return xi.map((val, j) => val + down[j]);
    });
  }
  return rmsNorm(x[x.length - 1], w.gf);
}

export interface ReferenceDecodeOptions {
  /** The prompt: text token ids, and per position an item index (-1: text). */
  tokens: Int32Array;
  items: Int32Array;
  exclude: readonly number[];
  maxNewTokens: number;
  k: number;
  stopAfterItem?: boolean;
}

export interface ReferenceDecoded {
  tokens: number[];
  modes: number[];
  item: number;
  ranked: number[];
  stop: string;
  /** The last hidden state of every step (float64). */
  hiddens: Float64Array[];
}

/** Greedy dual-vocabulary decoding in float64, recomputing every position at every step. */
export function referenceGreedy(w: LumenWeights, config: Record<string, unknown>, o: ReferenceDecodeOptions): ReferenceDecoded {
  const D = w.dim;
  const start = config.start_token_id as number;
  const eos = config.eos_token_id as number;
  const suppress = new Set([config.id_token_id as number]);
  const row = (table: Float32Array, id: number) => Float64Array.from(table.subarray(id * D, (id + 1) * D), (v) => v * w.embeddingScale);
  const seq = Array.from(o.tokens, (t, p) => (o.items[p] >= 0 ? row(w.itemEmb, o.items[p]) : row(w.textEmb, t)));
  let mode = o.tokens[o.tokens.length - 1] === start ? 1 : 0;
  const out: ReferenceDecoded = { tokens: [], modes: [], item: -1, ranked: [], stop: 'length', hiddens: [] };
  const excluded = new Set(o.exclude);
  for (;;) {
    const h = referenceHidden(w, seq);
    out.hiddens.push(h);
    const table = mode === 1 ? w.itemEmb : w.textHead;
    const count = table.length / D;
    const scored: { id: number; s: number }[] = [];
    for (let id = 0; id < count; id++) {
      if (mode === 1 ? excluded.has(id) : suppress.has(id)) continue;
      let s = 0;
      for (let j = 0; j < D; j++) s += h[j] * table[id * D + j];
      scored.push({ id, s });
    }
    scored.sort((a, b) => b.s - a.s || a.id - b.id);
    const token = scored[0].id;
    if (mode === 1) {
      if (out.item < 0) {
        out.item = token;
        out.ranked = scored.slice(0, o.k).map((x) => x.id);
      }
      seq.push(row(w.itemEmb, token));
    } else {
      if (token === eos) {
        out.stop = 'eos';
        return out;
      }
      seq.push(row(w.textEmb, token));
    }
    out.tokens.push(token);
    out.modes.push(mode);
    const wasItem = mode === 1;
    mode = !wasItem && token === start ? 1 : 0;
    if (wasItem && o.stopAfterItem) {
      out.stop = 'item';
      return out;
    }
    if (out.tokens.length >= o.maxNewTokens) return out;
  }
}
