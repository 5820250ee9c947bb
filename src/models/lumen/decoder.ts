// The batched decoding loop. Prompts are left-padded into one batch and prefilled in chunks through
// the ONNX decoder body with a KV cache; then every step runs the body on one new position per row
// and one native decoding step over all rows (src/engine/decode-step.ts): each row is in text mode
// (scored against the text head) or item mode (against the item table, the user's history
// excluded). A row that emits START switches to item mode for one token, then back to text; it stops
// at EOS, at the length limit, or (tasks 1 and 2) after its item. Finished rows are dropped from the
// cache once a quarter of the batch has finished. A row's tokens depend only on its own prompt and
// (seed, stream): not on the rows beside it.
//
// The loop serves any decoder-only model with this cache layout (DecoderModel): LUMEN checkpoints,
// and plain causal LMs with the text head alone (src/models/llm/, the hybrid pipeline's narrator),
// whose bodies may take token ids (input_ids, Optimum's export) instead of input embeddings.
import { describe, expectInteger } from '../../engine/validate.js';
import type { ItemTable } from '../../engine/item-table.js';
import type { InputNames, OrtModule, OrtSession, OrtTensor } from './checkpoint.js';
import type { LumenConfig } from './config.js';
import { embedPositions, type EncodedPrompt } from './prompt.js';
import { decodeStep, resolveSampling, type ResolvedSampling, type SamplingOptions } from '../../engine/decode-step.js';

/**
 * What the decoding loop needs of a model (a LumenCheckpoint is one). Without an item table
 * (itemTable null, startTokenId -1) every row stays in text mode. With names.tokens set the body takes
 * token ids under that name and the input embeddings are not used.
 */
export interface DecoderModel {
  readonly config: { files: { decoder: string } } & Pick<
    LumenConfig,
    'dir' | 'hiddenSize' | 'numLayers' | 'numKvHeads' | 'headDim' | 'maxPositions' | 'startTokenId' | 'eosTokenId' | 'suppressTokenIds' | 'itemVocabSize'
  >;
  readonly ort: OrtModule;
  readonly session: OrtSession;
  readonly names: InputNames;
  readonly textHead: ItemTable;
  readonly itemTable: ItemTable | null;
  readonly textEmbeddings: Float32Array | null;
  readonly itemEmbeddings: Float32Array | null;
  readonly dim: number;
  /** More text tokens that end a row, besides eosTokenId (a chat model's end of turn). */
  readonly stopTokenIds?: readonly number[];
}

export interface DecodeRequest {
  prompt: EncodedPrompt;
  /** Item indices never drawn in item mode (the user's history). */
  exclude?: Int32Array;
  /** The row's random stream (e.g. its example index): its draws depend only on (seed, stream). */
  stream: number;
}

export interface DecodeOptions {
  /** Generated tokens per row at most, the item included (default 64). */
  maxNewTokens?: number;
  sampling?: SamplingOptions;
  /** Length of the ranked item list taken from the first item step (default 10). */
  k?: number;
  /** Stop a row once it has drawn its item (tasks 1 and 2 need nothing after it). */
  stopAfterItem?: boolean;
  /** Rows decoded together (default 32). */
  batchSize?: number;
  /** Prompt positions per prefill forward (default: sized to keep attention scores near 64 MiB). */
  prefillChunk?: number;
  /** Called after each batch with the rows done so far. */
  onProgress?: (done: number, total: number) => void;
}

export type StopReason = 'eos' | 'length' | 'item' | 'no-item';

export interface DecodedRow {
  /** Generated tokens in order: text token ids, or item indices where modes[i] is 1. EOS is left out. */
  tokens: Int32Array;
  modes: Uint8Array;
  /** Log-probability of each generated token under the step's distribution (T = 1 when greedy). */
  logProbs: Float32Array;
  /** The first item drawn (an item index), -1 if none. */
  item: number;
  /** The ranked list of the first item step: the drawn item, then the best others by score; k long at most. */
  ranked: Int32Array;
  /** eos, length (maxNewTokens reached), item (stopAfterItem), no-item (item mode with every item excluded). */
  stop: StopReason;
}

export interface DecodeTiming {
  /** Prefill forwards (ONNX). */
  prefillMs: number;
  /** Per-token forwards (ONNX). */
  forwardMs: number;
  /** Native decoding steps. */
  stepMs: number;
  /** Everything of the decoding steps outside the two (embedding lookups, bookkeeping, cache compaction). */
  otherMs: number;
  totalMs: number;
  /** Decoding steps (one forward and one native step each, over all rows of a batch). */
  steps: number;
  /** Tokens generated (summed over rows). */
  tokens: number;
}

const EMPTY = new Float32Array(0);

export class DecodeError extends Error {
  override name = 'DecodeError';
}

export class LumenDecoder {
  readonly timing: DecodeTiming = { prefillMs: 0, forwardMs: 0, stepMs: 0, otherMs: 0, totalMs: 0, steps: 0, tokens: 0 };

  constructor(readonly ck: DecoderModel) {}

  /** Decodes every request, batchSize rows at a time, in the order given (sort by prompt length for less padding). */
  async decode(requests: readonly DecodeRequest[], options: DecodeOptions = {}): Promise<DecodedRow[]> {
    const maxNewTokens = expectInteger(options.maxNewTokens ?? 64, 'options.maxNewTokens', 1, 1 << 20);
    const k = expectInteger(options.k ?? 10, 'options.k', 1, 1 << 20);
    const batchSize = expectInteger(options.batchSize ?? 32, 'options.batchSize', 1, 1 << 16);
    const prefillChunk = options.prefillChunk === undefined ? null : expectInteger(options.prefillChunk, 'options.prefillChunk', 1);
    const sampling = resolveSampling(options.sampling);
    if (!Array.isArray(requests)) throw new TypeError(`Expected requests to be an array but received ${describe(requests)}`);
    const cfg = this.ck.config;
    requests.forEach((r, i) => {
      if (!r?.prompt?.tokens || r.prompt.tokens.length === 0) throw new DecodeError(`request ${i} has an empty prompt`);
      expectInteger(r.stream, `requests[${i}].stream`, 0, 2 ** 32 - 1);
      const need = r.prompt.tokens.length + maxNewTokens;
      if (cfg.maxPositions !== null && need > cfg.maxPositions)
        throw new DecodeError(
          `request ${i}: a prompt of ${r.prompt.tokens.length} tokens plus ${maxNewTokens} new tokens needs ${need} positions, but the model has ` +
            `${cfg.maxPositions} (config.json max_position_embeddings): shorten the prompts (--max-words) or generate fewer tokens (--max-new-tokens)`,
        );
      if (r.exclude)
        for (const id of r.exclude)
          if (!(id >= 0 && id < cfg.itemVocabSize)) throw new RangeError(`Expected requests[${i}].exclude to hold item indices in [0, ${cfg.itemVocabSize}) but it holds ${id}`);
    });
    const out: DecodedRow[] = [];
    for (let b0 = 0; b0 < requests.length; b0 += batchSize) {
      out.push(...(await this.decodeBatch(requests.slice(b0, b0 + batchSize), { maxNewTokens, k, sampling, stopAfterItem: options.stopAfterItem ?? false, prefillChunk })));
      options.onProgress?.(out.length, requests.length);
    }
    return out;
  }

  private async decodeBatch(
    batch: readonly DecodeRequest[],
    o: { maxNewTokens: number; k: number; sampling: ResolvedSampling; stopAfterItem: boolean; prefillChunk: number | null },
  ): Promise<DecodedRow[]> {
    const ck = this.ck;
    const cfg = ck.config;
    const ort = ck.ort;
    const names = ck.names;
    const D = cfg.hiddenSize;
    const cacheRow = cfg.numKvHeads * cfg.headDim; // floats per position per row of one cache tensor
    const layers = cfg.numLayers;
    const B = batch.length;
    const lens = batch.map((r) => r.prompt.tokens.length);
    const longest = Math.max(...lens);
    const started = performance.now();

    // --- prefill: left-padded, in chunks
    let rows = B; // rows in the cache tensors
    let total = 0; // positions in the cache
    let keys: Float32Array[] = Array.from({ length: layers }, () => EMPTY);
    let values: Float32Array[] = Array.from({ length: layers }, () => EMPTY);
    let mask = new BigInt64Array(0);
    let hidden = new Float32Array(B * D);
    const byIds = names.tokens !== undefined; // the body embeds token ids itself
    const queryHeads = Math.max(1, Math.round(D / cfg.headDim));
    const chunk = o.prefillChunk ?? Math.max(16, Math.min(512, Math.floor((64 << 20) / 4 / (B * queryHeads * longest))));
    const forward = async (inputs: Float32Array | BigInt64Array, seq: number, positions: BigInt64Array) => {
      const feeds: Record<string, OrtTensor> = {
        [names.mask]: new ort.Tensor('int64', mask, [rows, total + seq]),
      };
      if (byIds) feeds[names.tokens!] = new ort.Tensor('int64', inputs as BigInt64Array, [rows, seq]);
      else feeds[names.embeds] = new ort.Tensor('float32', inputs as Float32Array, [rows, seq, D]);
      if (names.positions) feeds[names.positions] = new ort.Tensor('int64', positions, [rows, seq]);
      for (let l = 0; l < layers; l++) {
        feeds[names.pastKeys[l]] = new ort.Tensor('float32', keys[l], [rows, cfg.numKvHeads, total, cfg.headDim]);
        feeds[names.pastValues[l]] = new ort.Tensor('float32', values[l], [rows, cfg.numKvHeads, total, cfg.headDim]);
      }
      let result: Record<string, OrtTensor>;
      try {
        result = await ck.session.run(feeds);
      } catch (e) {
        throw new DecodeError(`${cfg.dir}/${cfg.files.decoder}: the decoder body failed on a batch of ${rows} rows x ${seq} positions after ${total} cached (${(e as Error).message.split('\n')[0]})`);
      }
      total += seq;
      for (let l = 0; l < layers; l++) {
        keys[l] = result[names.presentKeys[l]].data as Float32Array;
        values[l] = result[names.presentValues[l]].data as Float32Array;
        if (keys[l].length !== rows * total * cacheRow)
          throw new DecodeError(
            `${cfg.dir}/${cfg.files.decoder}: ${names.presentKeys[l]} has ${keys[l].length} values, expected ${rows} x ${cfg.numKvHeads} x ${total} x ${cfg.headDim} ` +
              '(config.json num_key_value_heads and head_dim must match the cache the body returns)',
          );
      }
      const h = result[names.hidden].data as Float32Array;
      for (let r = 0; r < rows; r++) hidden.set(h.subarray(((r + 1) * seq - 1) * D, (r + 1) * seq * D), r * D);
    };

    const t0 = performance.now();
    for (let c0 = 0; c0 < longest; c0 += chunk) {
      const c1 = Math.min(longest, c0 + chunk);
      const seq = c1 - c0;
      const embeds = byIds ? new BigInt64Array(B * seq) : new Float32Array(B * seq * D);
      const positions = new BigInt64Array(B * seq);
      const next = new BigInt64Array(B * c1);
      for (let r = 0; r < B; r++) {
        next.set(mask.subarray(r * c0, (r + 1) * c0), r * c1);
        const pad = longest - lens[r];
        const from = Math.max(c0, pad);
        for (let p = from; p < c1; p++) {
          next[r * c1 + p] = 1n;
          positions[r * seq + p - c0] = BigInt(p - pad);
        }
        if (from >= c1) continue;
        if (byIds) for (let p = from; p < c1; p++) (embeds as BigInt64Array)[r * seq + p - c0] = BigInt(batch[r].prompt.tokens[p - pad]);
        else embedPositions(ck, batch[r].prompt, from - pad, c1 - pad, embeds as Float32Array, r * seq + from - c0);
      }
      mask = next;
      total = c0;
      await forward(embeds, seq, positions);
    }
    this.timing.prefillMs += performance.now() - t0;

    // --- decoding steps
    const cfgTokens = { start: cfg.startTokenId, eos: cfg.eosTokenId };
    const stops = new Set([cfg.eosTokenId, ...(ck.stopTokenIds ?? [])]);
    const suppress = Int32Array.from(cfg.suppressTokenIds);
    const tables = ck.itemTable ? [ck.textHead, ck.itemTable] : [ck.textHead];
    const state = batch.map((r, i) => ({
      request: r,
      mode: r.prompt.tokens[lens[i] - 1] === cfgTokens.start ? 1 : 0,
      position: lens[i],
      tokens: [] as number[],
      modes: [] as number[],
      logProbs: [] as number[],
      item: -1,
      ranked: new Int32Array(0),
      stop: null as StopReason | null,
    }));
    let slots = state.map((_, i) => i); // cache row -> batch row
    for (;;) {
      const stepStart = performance.now();
      const alive = slots.map((b, slot) => ({ b, slot })).filter(({ b }) => state[b].stop === null);
      const n = alive.length;
      const stepHidden = new Float32Array(n * D);
      const table = new Int32Array(n);
      const streams = new Uint32Array(n);
      const steps = new Uint32Array(n);
      const offsets = new Int32Array(n + 1);
      const excluded: Int32Array[] = [];
      alive.forEach(({ b, slot }, i) => {
        const s = state[b];
        stepHidden.set(hidden.subarray(slot * D, (slot + 1) * D), i * D);
        table[i] = s.mode;
        streams[i] = s.request.stream;
        steps[i] = s.tokens.length;
        const ex = s.mode === 1 ? (s.request.exclude ?? new Int32Array(0)) : suppress;
        excluded.push(ex);
        offsets[i + 1] = offsets[i] + ex.length;
      });
      const ids = new Int32Array(offsets[n]);
      excluded.forEach((ex, i) => ids.set(ex, offsets[i]));
      const t1 = performance.now();
      const res = await decodeStep(tables, { hidden: stepHidden, table, k: o.k, exclude: { offsets, ids }, streams, steps }, o.sampling);
      const stepMs = performance.now() - t1;
      this.timing.stepMs += stepMs;

      const nextInputs = byIds ? new BigInt64Array(slots.length) : new Float32Array(slots.length * D);
      const positions = new BigInt64Array(slots.length);
      alive.forEach(({ b, slot }, i) => {
        const s = state[b];
        const token = res.token[i];
        if (s.mode === 1) {
          if (token < 0) {
            s.stop = 'no-item';
            return;
          }
          if (s.item < 0) {
            s.item = token;
            const list = [token];
            for (let j = 0; j < o.k && list.length < o.k; j++) {
              const id = res.ids[i * o.k + j];
              if (id >= 0 && id !== token) list.push(id);
            }
            s.ranked = Int32Array.from(list);
          }
          (nextInputs as Float32Array).set(ck.itemEmbeddings!.subarray(token * D, (token + 1) * D), slot * D);
        } else {
          if (stops.has(token)) {
            s.stop = 'eos';
            return;
          }
          if (byIds) (nextInputs as BigInt64Array)[slot] = BigInt(token);
          else (nextInputs as Float32Array).set(ck.textEmbeddings!.subarray(token * D, (token + 1) * D), slot * D);
        }
        s.tokens.push(token);
        s.modes.push(s.mode);
        s.logProbs.push(res.logProb[i]);
        this.timing.tokens++;
        const wasItem = s.mode === 1;
        s.mode = !wasItem && token === cfgTokens.start ? 1 : 0;
        if (wasItem && o.stopAfterItem) s.stop = 'item';
        else if (s.tokens.length >= o.maxNewTokens) s.stop = 'length';
        positions[slot] = BigInt(s.position++);
      });
      this.timing.steps++;
      const living = slots.filter((b) => state[b].stop === null);
      if (living.length === 0) {
        this.timing.otherMs += performance.now() - stepStart - stepMs;
        break;
      }

      // Drop finished rows from the cache once a quarter of it is dead weight.
      let inputs: Float32Array | BigInt64Array = nextInputs;
      let inputPositions = positions;
      if (living.length <= (slots.length * 3) / 4) {
        const keep = slots.map((b, slot) => ({ b, slot })).filter(({ b }) => state[b].stop === null);
        const per = total * cacheRow;
        const gather = (a: Float32Array, width: number) => {
          const g = new Float32Array(keep.length * width);
          keep.forEach(({ slot }, i) => g.set(a.subarray(slot * width, (slot + 1) * width), i * width));
          return g;
        };
        keys = keys.map((a) => gather(a, per));
        values = values.map((a) => gather(a, per));
        const m = new BigInt64Array(keep.length * total);
        keep.forEach(({ slot }, i) => m.set(mask.subarray(slot * total, (slot + 1) * total), i * total));
        mask = m;
        hidden = gather(hidden, D);
        inputs = byIds ? BigInt64Array.from(keep.map(({ slot }) => (nextInputs as BigInt64Array)[slot])) : gather(nextInputs as Float32Array, D);
        inputPositions = BigInt64Array.from(keep.map(({ slot }) => positions[slot]));
        slots = keep.map(({ b }) => b);
        rows = keep.length;
      }
      const grown = new BigInt64Array(rows * (total + 1));
      for (let r = 0; r < rows; r++) {
        grown.set(mask.subarray(r * total, (r + 1) * total), r * (total + 1));
        grown[r * (total + 1) + total] = 1n;
      }
      mask = grown;
      const t2 = performance.now();
      await forward(inputs, 1, inputPositions);
      const forwardMs = performance.now() - t2;
      this.timing.forwardMs += forwardMs;
      this.timing.otherMs += performance.now() - stepStart - stepMs - forwardMs;
    }
    this.timing.totalMs += performance.now() - started;
    return state.map((s) => ({
      tokens: Int32Array.from(s.tokens),
      modes: Uint8Array.from(s.modes),
      logProbs: Float32Array.from(s.logProbs),
      item: s.item,
      ranked: s.ranked,
      stop: s.stop ?? 'length',
    }));
  }
}
