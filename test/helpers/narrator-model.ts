// Writes a tiny decoder-only language model in the layout the LLM narrator reads (as Hugging Face
// Optimum exports one with `--task feature-extraction-with-past`): config.json (Hugging Face's keys),
// generation_config.json, model.onnx taking input_ids (the body of test/helpers/lumen-model.ts, random
// weights, KV cache), the LM head in model.safetensors as transformers saves it (tied:
// model.embed_tokens.weight), a WordPiece tokenizer, optionally a chat template. Also the float64
// greedy reference of the same model (every position recomputed, no cache, no padding).
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';

import { decoderOnnx, makeLumenWeights, referenceHidden, safetensors, SPECIAL_TOKENS, tokenizerJson, TINY_WORDS, type LumenWeights } from './lumen-model.js';

export interface NarratorSpec {
  seed: number;
  /** Words of the vocabulary beyond the specials and TINY_WORDS (so prompts tokenize into more than [UNK]). */
  words?: readonly string[];
  dim?: number;
  layers?: number;
  heads?: number;
  ff?: number;
  maxPositions?: number;
  /** Filler tokens after the words, up to this vocabulary size (a mid-size model for benchmarks). */
  vocabSize?: number;
  /** Standard deviation of the head's entries (how peaked the softmax is). */
  headScale?: number;
  /** A chat template in tokenizer_config.json. */
  chatTemplate?: string;
  /** The body returns logits (exported with its head): the narrator refuses it. */
  logitsOnly?: boolean;
  /** Heads in heads.safetensors (text_head) instead of the model's model.safetensors. */
  headsFile?: boolean;
  /** Multiplies the EOS and END rows of the head (how soon rows stop). */
  stopScale?: number;
}

export interface NarratorModel {
  dir: string;
  weights: LumenWeights;
  /** Token ids that end a generation: <eos> (config.json) and END (generation_config.json). */
  stops: number[];
}

export function writeNarratorModel(dir: string, spec: NarratorSpec): NarratorModel {
  mkdirSync(dir, { recursive: true });
  const words = [...new Set(spec.words ?? [])].filter((x) => !(SPECIAL_TOKENS as readonly string[]).includes(x) && !TINY_WORDS.includes(x));
  const base = SPECIAL_TOKENS.length + TINY_WORDS.length;
  const w = makeLumenWeights({
    itemIds: ['unused'],
    seed: spec.seed,
    dim: spec.dim ?? 16,
    layers: spec.layers ?? 2,
    heads: spec.heads ?? 2,
    ff: spec.ff,
    maxPositions: spec.maxPositions ?? 1024,
    vocabSize: Math.max(base + words.length, spec.vocabSize ?? 0),
    headScale: spec.headScale,
    tied: true,
  });
  // The filler names (w0, w1, ...) become the given words: the weights do not care what a token spells.
  words.forEach((word, i) => (w.vocab[base + i] = word));
  const D = w.dim;
  const eos = SPECIAL_TOKENS.indexOf('<eos>');
  const end = SPECIAL_TOKENS.indexOf('END');
  for (const id of [eos, end]) for (let j = 0; j < D; j++) w.textHead[id * D + j] *= spec.stopScale ?? 1;
  writeFileSync(path.join(dir, 'model.onnx'), decoderOnnx(w, { inputIds: true, logitsOnly: spec.logitsOnly }));
  const head = { dtype: 'F32' as const, shape: [w.vocab.length, D], data: w.textHead };
  if (spec.headsFile) writeFileSync(path.join(dir, 'heads.safetensors'), safetensors({ text_head: head }));
  else writeFileSync(path.join(dir, 'model.safetensors'), safetensors({ 'model.embed_tokens.weight': head }));
  writeFileSync(path.join(dir, 'tokenizer.json'), tokenizerJson(w.vocab));
  writeFileSync(
    path.join(dir, 'tokenizer_config.json'),
    JSON.stringify({
      tokenizer_class: 'PreTrainedTokenizer',
      unk_token: '[UNK]',
      eos_token: '<eos>',
      model_max_length: 1000000,
      ...(spec.chatTemplate ? { chat_template: spec.chatTemplate } : {}),
    }),
  );
  writeFileSync(
    path.join(dir, 'config.json'),
    JSON.stringify(
      {
        architectures: ['TinyForCausalLM'],
        model_type: 'tiny',
        hidden_size: D,
        num_hidden_layers: w.layers.length,
        num_attention_heads: w.heads,
        num_key_value_heads: w.heads,
        vocab_size: w.vocab.length,
        max_position_embeddings: w.pos.length / D,
        eos_token_id: eos,
        tie_word_embeddings: true,
      },
      null,
      2,
    ),
  );
  writeFileSync(path.join(dir, 'generation_config.json'), JSON.stringify({ eos_token_id: [eos, end] }));
  return { dir, weights: w, stops: [eos, end] };
}

/** Greedy decoding in float64, every position recomputed: the tokens generated after `prompt` (stops left out). */
export function referenceNarration(m: NarratorModel, prompt: Int32Array, maxNewTokens: number, suppress: readonly number[] = []): number[] {
  const w = m.weights;
  const D = w.dim;
  const row = (id: number) => Float64Array.from(w.textEmb.subarray(id * D, (id + 1) * D));
  const seq = Array.from(prompt, row);
  const out: number[] = [];
  const V = w.textHead.length / D;
  while (out.length < maxNewTokens) {
    const h = referenceHidden(w, seq);
    let best = -1;
    let bestScore = -Infinity;
    for (let id = 0; id < V; id++) {
      if (suppress.includes(id)) continue;
      let s = 0;
      for (let j = 0; j < D; j++) s += h[j] * w.textHead[id * D + j];
      if (s > bestScore) {
        bestScore = s;
        best = id;
      }
    }
    if (m.stops.includes(best)) break;
    out.push(best);
    seq.push(row(best));
  }
  return out;
}
