// A decoder-only causal language model for the hybrid pipeline's narrator: the ONNX layout LUMEN
// checkpoints use (Hugging Face Optimum's names, KV cache, tokenizer files), with the text head only.
//
// A folder holds:
//   config.json        Hugging Face's (as Optimum's export writes it: hidden_size, num_hidden_layers,
//                      num_attention_heads, num_key_value_heads, head_dim, vocab_size, eos_token_id, ...),
//                      or a LUMEN checkpoint's ("format": "regen-lumen": its text head alone is used)
//   the decoder body   model.onnx (Optimum's `--task feature-extraction-with-past`), decoder.onnx or
//                      onnx/model.onnx: inputs input_ids or inputs_embeds, attention_mask, optional
//                      position_ids, past_key_values.<i>.key/value; outputs last_hidden_state and
//                      present.<i>.key/value. The LM head is NOT in the body: the native decoding step
//                      applies it at the one position each step needs (a body that returns logits would
//                      hand back batch x prompt x vocabulary floats at prefill: 1.2 GB per row for a
//                      2,000-token prompt and Qwen's 151,936 tokens)
//   the LM head        heads.safetensors (tensor text_head), or the model's own weights:
//                      model.safetensors (or its sharded index) tensor lm_head.weight, or
//                      model.embed_tokens.weight when tie_word_embeddings
//   tokenizer.json, tokenizer_config.json (its chat_template, or chat_template.jinja, is applied)
//   generation_config.json (optional: more end-of-sequence ids)
//   narrator.json      (optional) overrides: decoder, weights, text_head_tensor, text_embeddings_tensor,
//                      eos_token_ids, suppress_token_ids, chat_template (true/false), system_prompt,
//                      embedding_scale
// Every problem is an error naming the file, the key and the fix.
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';

import { contentHash } from '../../data/files.js';
import { gpuUnavailableReason } from '../../engine/device.js';
import { Engine, type Device, type IsaName, type Precision } from '../../engine/engine.js';
import type { ItemTable } from '../../engine/item-table.js';
import { describe } from '../../engine/validate.js';
import { cacheDir } from '../../util/cache.js';
import { importOptional } from '../../util/optional-deps.js';
import { readEmbeddings, type EmbeddingMatrix } from '../embeddings-file.js';
import { loadTokenizer, openDecoderSession, type InputNames, type OrtModule, type OrtSession, type Tokenizer } from '../lumen/checkpoint.js';
import { LumenCheckpointError, readLumenConfig } from '../lumen/config.js';
import { OptionError, type OptionMessage } from '../../util/option-error.js';
import type { DecoderModel } from '../lumen/decoder.js';
import { TEXT, type EncodedPrompt } from '../lumen/prompt.js';

/** A model folder that cannot be used (the message names the file and the fix). */
export class CausalLmError extends OptionError {
  override name = 'CausalLmError';
  constructor(message: string | OptionMessage) {
    super('narrator', typeof message === 'string' ? () => message : message);
  }
}

export interface CausalLmConfig {
  dir: string;
  /** 'hf': a Hugging Face config.json; 'regen-lumen': a LUMEN checkpoint's text side. */
  kind: 'hf' | 'regen-lumen';
  modelType: string;
  hiddenSize: number;
  numLayers: number;
  numKvHeads: number;
  headDim: number;
  textVocabSize: number;
  maxPositions: number | null;
  eosTokenId: number;
  /** Every id that ends a generation (eos_token_id of config.json and generation_config.json, narrator.json's). */
  stopTokenIds: number[];
  suppressTokenIds: number[];
  embeddingScale: number;
  /** Whether the tokenizer's chat template wraps each prompt (narrator.json chat_template; default: when it has one). */
  chatTemplate: boolean | 'auto';
  systemPrompt: string | null;
  /** Gemma 2's final_logit_softcapping: greedy decoding is unchanged by it, sampling is not (a note says so). */
  logitSoftcap: number | null;
  files: { decoder: string; weights: string };
  tensors: { textHead: string; textEmbeddings: string | null };
  /** DecoderModel: a causal LM has no item vocabulary and never switches to it. */
  startTokenId: -1;
  itemVocabSize: 0;
}

type Json = Record<string, unknown>;

function readJson(file: string, required: boolean): Json | null {
  if (!existsSync(file)) {
    if (required) throw new CausalLmError(`${file} is missing: a narrator model folder needs config.json (see the README, "LLM narrator")`);
    return null;
  }
  let v: unknown;
  try {
    v = JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    throw new CausalLmError(`${file} is not valid JSON (${(e as Error).message})`);
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new CausalLmError(`${file} must hold a JSON object`);
  return v as Json;
}

const isId = (x: unknown): x is number => typeof x === 'number' && Number.isInteger(x) && x >= 0;

/** The first of the names that exists in dir, or null. */
function firstExisting(dir: string, names: readonly string[]): string | null {
  for (const n of names) if (existsSync(path.join(dir, n))) return n;
  return null;
}

export const DECODER_FILES = ['model.onnx', 'decoder.onnx', path.join('onnx', 'model.onnx')] as const;

/** Reads and checks a narrator model folder's configuration (no weights loaded). */
export function readCausalLmConfig(dirArg: string): CausalLmConfig {
  const dir = path.resolve(dirArg);
  if (!existsSync(dir) || !statSync(dir).isDirectory())
    throw new CausalLmError(
      (l) =>
        `${l('narrator')} onnx:${dirArg}: no such folder. A narrator model is a folder with config.json, the decoder body (model.onnx, as Optimum exports it), the LM head and the tokenizer files (see the README, "LLM narrator")`,
    );
  const configFile = path.join(dir, 'config.json');
  const raw = readJson(configFile, true)!;
  const over = readJson(path.join(dir, 'narrator.json'), false) ?? {};
  const overFile = path.join(dir, 'narrator.json');
  const fail = (file: string, obj: Json, key: string, expected: string): never => {
    throw new CausalLmError(`${file}: "${key}" must be ${expected} but is ${obj[key] === undefined ? 'missing' : describe(obj[key])}`);
  };
  const str = (key: string, fallback: string | null): string | null => {
    const v = over[key];
    if (v === undefined) return fallback;
    if (typeof v !== 'string' || v === '') fail(overFile, over, key, 'a non-empty string');
    return v as string;
  };
  const idList = (obj: Json, file: string, key: string): number[] => {
    const v = obj[key];
    if (v === undefined || v === null) return [];
    if (isId(v)) return [v];
    if (Array.isArray(v) && v.every(isId)) return v as number[];
    return fail(file, obj, key, 'a token id or a list of token ids');
  };
  const chat = over.chat_template ?? 'auto';
  if (chat !== 'auto' && typeof chat !== 'boolean') fail(overFile, over, 'chat_template', 'true or false');
  const system = over.system_prompt ?? null;
  if (system !== null && typeof system !== 'string') fail(overFile, over, 'system_prompt', 'a string');

  if (raw.format === 'regen-lumen') {
    // A LUMEN checkpoint narrates with its text head; START and ID_TOKEN are never generated.
    let l: ReturnType<typeof readLumenConfig>;
    try {
      l = readLumenConfig(dir);
    } catch (e) {
      throw e instanceof LumenCheckpointError ? new CausalLmError(e.message) : e;
    }
    const suppress = [...new Set([...l.suppressTokenIds, l.startTokenId, l.idTokenId])];
    return {
      dir,
      kind: 'regen-lumen',
      modelType: 'regen-lumen',
      hiddenSize: l.hiddenSize,
      numLayers: l.numLayers,
      numKvHeads: l.numKvHeads,
      headDim: l.headDim,
      textVocabSize: l.textVocabSize,
      maxPositions: l.maxPositions,
      eosTokenId: l.eosTokenId,
      stopTokenIds: [...new Set([l.eosTokenId, ...idList(over, overFile, 'eos_token_ids')])],
      suppressTokenIds: suppress,
      embeddingScale: l.embeddingScale,
      chatTemplate: chat as boolean | 'auto',
      systemPrompt: system as string | null,
      logitSoftcap: null,
      files: { decoder: l.files.decoder, weights: l.files.weights },
      tensors: { textHead: l.tensors.textHead, textEmbeddings: l.tensors.textEmbeddings },
      startTokenId: -1,
      itemVocabSize: 0,
    };
  }

  // A Hugging Face config (multimodal ones keep the language model's under text_config).
  const c = (typeof raw.text_config === 'object' && raw.text_config !== null ? { ...raw, ...(raw.text_config as Json) } : raw) as Json;
  const int = (keys: string[], min: number, fallback?: number): number => {
    for (const k of keys) if (c[k] !== undefined && c[k] !== null) {
      const v = c[k];
      if (typeof v !== 'number' || !Number.isInteger(v) || v < min) fail(configFile, c, k, `an integer >= ${min}`);
      return v as number;
    }
    if (fallback !== undefined) return fallback;
    throw new CausalLmError(`${configFile}: "${keys[0]}" is missing${keys.length > 1 ? ` (also looked for ${keys.slice(1).join(', ')})` : ''}: is this the config.json of a decoder-only language model?`);
  };
  const hiddenSize = int(['hidden_size', 'n_embd', 'd_model'], 1);
  const numLayers = int(['num_hidden_layers', 'n_layer', 'num_layers'], 1);
  const heads = int(['num_attention_heads', 'n_head', 'num_heads'], 1);
  const numKvHeads = int(['num_key_value_heads', 'num_kv_heads'], 1, heads);
  const headDim = int(['head_dim'], 1, Math.floor(hiddenSize / heads));
  const textVocabSize = int(['vocab_size'], 1);
  const maxPositions = c.max_position_embeddings ?? c.n_positions ?? null;
  const generation = readJson(path.join(dir, 'generation_config.json'), false) ?? {};
  const stops = [...new Set([...idList(c, configFile, 'eos_token_id'), ...idList(generation, path.join(dir, 'generation_config.json'), 'eos_token_id'), ...idList(over, overFile, 'eos_token_ids')])];
  if (stops.length === 0)
    throw new CausalLmError(`${configFile}: no eos_token_id (nor in generation_config.json): give the end-of-sequence token ids in ${overFile} as "eos_token_ids": [...]`);
  for (const id of stops) if (id >= textVocabSize) throw new CausalLmError(`${configFile}: eos token ${id} is not below vocab_size ${textVocabSize}`);
  const suppress = idList(over, overFile, 'suppress_token_ids');
  for (const id of suppress) {
    if (id >= textVocabSize) throw new CausalLmError(`${overFile}: suppress_token_ids holds ${id}, not below vocab_size ${textVocabSize}`);
    if (stops.includes(id)) throw new CausalLmError(`${overFile}: suppress_token_ids holds ${id}, an end-of-sequence token (decoding needs it)`);
  }
  const scale = over.embedding_scale ?? 1;
  if (typeof scale !== 'number' || !(scale > 0) || !Number.isFinite(scale)) fail(overFile, over, 'embedding_scale', 'a positive number');
  const softcap = typeof c.final_logit_softcapping === 'number' ? c.final_logit_softcapping : null;

  const decoder = str('decoder', null) ?? firstExisting(dir, DECODER_FILES);
  if (!decoder)
    throw new CausalLmError(
      `${dir} holds no decoder body (looked for ${DECODER_FILES.join(', ')}). Export one with Optimum: ` +
        `optimum-cli export onnx --model <hub id> --task feature-extraction-with-past ${dirArg} (see the README, "LLM narrator")`,
    );
  // The LM head: our own heads file, or the model's weights as transformers saves them.
  let weights = str('weights', null);
  let textHead = str('text_head_tensor', null);
  let textEmbeddings = str('text_embeddings_tensor', null);
  if (!weights) {
    if (existsSync(path.join(dir, 'heads.safetensors'))) {
      weights = 'heads.safetensors';
      textHead ??= 'text_head';
      textEmbeddings ??= 'text_embeddings';
    } else {
      weights = weightsFileHolding(dir, ['lm_head.weight', 'model.embed_tokens.weight']);
      if (!weights)
        throw new CausalLmError(
          `${dir} has no LM head: add heads.safetensors with tensor text_head [vocab_size, hidden_size], or the model's own model.safetensors ` +
            '(its lm_head.weight, or model.embed_tokens.weight for tied embeddings); see the README, "LLM narrator"',
        );
      const names = safetensorNames(path.join(dir, weights));
      const tied = c.tie_word_embeddings !== false; // transformers' default is true
      textHead ??= names.includes('lm_head.weight') ? 'lm_head.weight' : tied ? 'model.embed_tokens.weight' : 'lm_head.weight';
      textEmbeddings ??= 'model.embed_tokens.weight';
    }
  }
  for (const [f, key] of [
    [decoder, 'decoder'],
    [weights, 'weights'],
  ] as const)
    if (!existsSync(path.join(dir, f))) throw new CausalLmError(`${path.join(dir, f)} is missing (${over[key] !== undefined ? `narrator.json "${key}" names it` : 'the default'})`);
  return {
    dir,
    kind: 'hf',
    modelType: typeof c.model_type === 'string' ? c.model_type : 'unknown',
    hiddenSize,
    numLayers,
    numKvHeads,
    headDim,
    textVocabSize,
    maxPositions: typeof maxPositions === 'number' && maxPositions > 0 ? maxPositions : null,
    eosTokenId: stops[0],
    stopTokenIds: stops,
    suppressTokenIds: suppress,
    embeddingScale: scale as number,
    chatTemplate: chat as boolean | 'auto',
    systemPrompt: system as string | null,
    logitSoftcap: softcap,
    files: { decoder, weights },
    tensors: { textHead: textHead!, textEmbeddings },
    startTokenId: -1,
    itemVocabSize: 0,
  };
}

/** Tensor names of a safetensors file (its JSON header only). */
function safetensorNames(file: string): string[] {
  try {
    const buf = readFileSync(file);
    const n = Number(buf.readBigUInt64LE(0));
    return Object.keys(JSON.parse(buf.toString('utf8', 8, 8 + n))).filter((k) => k !== '__metadata__');
  } catch (e) {
    throw new CausalLmError(`${file} is not a safetensors file (${(e as Error).message})`);
  }
}

/** The safetensors file of the folder that holds one of the tensors (model.safetensors, or through its sharded index). */
function weightsFileHolding(dir: string, tensors: readonly string[]): string | null {
  const index = path.join(dir, 'model.safetensors.index.json');
  if (existsSync(index)) {
    const map = (readJson(index, true)!.weight_map ?? {}) as Record<string, string>;
    for (const t of tensors) if (typeof map[t] === 'string' && existsSync(path.join(dir, map[t]))) return map[t];
    return null;
  }
  return existsSync(path.join(dir, 'model.safetensors')) ? 'model.safetensors' : null;
}

export interface CausalLmLoadOptions {
  /** CUDA device of the body (onnxruntime's CUDA provider) and of the head's table; each falls back to the CPU with a note. */
  gpu?: number;
  precision?: Precision;
  isa?: IsaName | 'auto';
  threads?: number;
  ortThreads?: number;
  /** Where file hashes are remembered (default the cache's hashes/ folder; null: not remembered). */
  hashMemoDir?: string | null;
}

/** The files whose bytes decide what the model generates (external ONNX data included). */
function modelFiles(cfg: CausalLmConfig): string[] {
  const f = (n: string) => path.join(cfg.dir, n);
  const decoder = f(cfg.files.decoder);
  const out = [decoder, f(cfg.files.weights)];
  for (const extra of [`${decoder}_data`, `${decoder}.data`, `${decoder.replace(/\.onnx$/, '')}.onnx_data`]) if (existsSync(extra) && !out.includes(extra)) out.push(extra);
  return out;
}

const SMALL_FILES = ['config.json', 'narrator.json', 'generation_config.json', 'tokenizer.json', 'tokenizer_config.json', 'chat_template.jinja', 'special_tokens_map.json'];

/**
 * The model's identity: sha256 of its small files (config, tokenizer, chat template) and of the decoder
 * and weights files (hashes remembered by file identity, so a large ONNX file is read once).
 */
export async function causalLmHash(cfg: CausalLmConfig, memoDir: string | null = cacheDir('hashes')): Promise<string> {
  const h = createHash('sha256').update('regen-bench-causal-lm-1\n');
  for (const name of SMALL_FILES) {
    const file = path.join(cfg.dir, name);
    if (existsSync(file)) h.update(`${name}\n`).update(readFileSync(file)).update('\n');
  }
  for (const file of modelFiles(cfg)) h.update(`${path.basename(file)}:${await contentHash(file, memoDir)}\n`);
  return h.digest('hex');
}

/** The chat template the tokenizer folder carries (tokenizer_config.json's, or chat_template.jinja), or null. */
export function chatTemplateOf(dir: string): string | null {
  const jinja = path.join(dir, 'chat_template.jinja');
  if (existsSync(jinja)) return readFileSync(jinja, 'utf8');
  const tc = readJson(path.join(dir, 'tokenizer_config.json'), false);
  const t = tc?.chat_template;
  if (typeof t === 'string') return t;
  if (Array.isArray(t)) {
    const named = t.find((x) => x && typeof x === 'object' && (x as Json).name === 'default') as Json | undefined;
    if (named && typeof named.template === 'string') return named.template;
  }
  return null;
}

interface ChatTokenizer extends Tokenizer {
  apply_chat_template(messages: { role: string; content: string }[], options: Record<string, unknown>): unknown;
}

export class CausalLm implements DecoderModel {
  private disposed = false;
  readonly itemTable = null;
  readonly itemEmbeddings = null;

  private constructor(
    readonly config: CausalLmConfig & { suppressTokenIds: number[] },
    readonly tokenizer: Tokenizer,
    readonly ort: OrtModule,
    readonly session: OrtSession,
    readonly names: InputNames,
    readonly textHead: ItemTable,
    /** Input embeddings for a body that takes inputs_embeds (already scaled); null when it takes input_ids. */
    readonly textEmbeddings: Float32Array | null,
    /** The chat template applied to prompts, or null. */
    readonly chatTemplate: string | null,
    readonly provider: string,
    readonly notes: readonly string[],
    readonly hash: string,
  ) {}

  get dim(): number {
    return this.config.hiddenSize;
  }

  get stopTokenIds(): readonly number[] {
    return this.config.stopTokenIds;
  }

  static async load(dir: string, options: CausalLmLoadOptions = {}): Promise<CausalLm> {
    const cfg = readCausalLmConfig(dir);
    const notes: string[] = [];
    const file = (n: string) => path.join(cfg.dir, n);
    const hash = await causalLmHash(cfg, options.hashMemoDir === undefined ? cacheDir('hashes') : options.hashMemoDir);

    for (const f of ['tokenizer.json', 'tokenizer_config.json'])
      if (!existsSync(file(f))) throw new CausalLmError(`${file(f)} is missing: the narrator needs the model's tokenizer (tokenizer.json and tokenizer_config.json, as transformers saves them)`);
    const tokenizer = await loadTokenizer(cfg.dir, "the narrator model's tokenizer");
    const template = chatTemplateOf(cfg.dir);
    if (cfg.chatTemplate === true && !template)
      throw new CausalLmError(`${file('narrator.json')}: "chat_template": true, but the tokenizer has no chat template (tokenizer_config.json chat_template, or chat_template.jinja)`);
    const chatTemplate = cfg.chatTemplate === false ? null : template;
    if (cfg.logitSoftcap !== null)
      notes.push(`config.json final_logit_softcapping ${cfg.logitSoftcap} is not applied: greedy decoding is unchanged by it, sampled text differs from transformers' sampling`);

    const ort = await importOptional<OrtModule>('onnxruntime-node', "the narrator model's decoder body");
    const { session, provider } = await openDecoderSession(ort, file(cfg.files.decoder), options, notes);
    try {
      const names = checkNarratorSession(session, cfg, file(cfg.files.decoder));
      const weights = file(cfg.files.weights);
      const head = await readMatrix(weights, cfg.tensors.textHead, cfg, 'the LM head (text head)');
      let textEmbeddings: Float32Array | null = null;
      if (!names.tokens) {
        // The body takes input embeddings: ours to look up.
        const has = cfg.tensors.textEmbeddings && safetensorNames(weights).includes(cfg.tensors.textEmbeddings);
        if (has) textEmbeddings = (await readMatrix(weights, cfg.tensors.textEmbeddings!, cfg, 'the input embeddings')).data;
        else {
          textEmbeddings = head.data.slice();
          notes.push(`input embeddings tied to the LM head (${path.basename(weights)} has no '${cfg.tensors.textEmbeddings ?? 'text_embeddings'}')`);
        }
        if (cfg.embeddingScale !== 1) for (let i = 0; i < textEmbeddings.length; i++) textEmbeddings[i] *= cfg.embeddingScale;
      }
      let device: Device = 'cpu';
      if (options.gpu !== undefined) {
        const reason = gpuUnavailableReason();
        if (reason) notes.push(`GPU ${options.gpu}: no usable GPU for the decoding step (${reason}); it runs on the CPU`);
        else device = { gpu: options.gpu };
      }
      const engine = Engine.open({ precision: options.precision ?? 'fp32', isa: options.isa, threads: options.threads, device });
      const textHead = await engine.createTable(head.data, { dim: cfg.hiddenSize });
      return new CausalLm(cfg, tokenizer, ort, session, names, textHead, textEmbeddings, chatTemplate, provider, notes, hash);
    } catch (e) {
      await session.release();
      throw e;
    }
  }

  /**
   * The text the model reads for a prompt: the chat template (with the system prompt, if any, and
   * the generation prompt) when the model has one, else the prompt itself.
   */
  render(prompt: string): string {
    if (!this.chatTemplate) return prompt;
    const messages = [...(this.config.systemPrompt ? [{ role: 'system', content: this.config.systemPrompt }] : []), { role: 'user', content: prompt }];
    try {
      return (this.tokenizer as ChatTokenizer).apply_chat_template(messages, { tokenize: false, add_generation_prompt: true, chat_template: this.chatTemplate }) as string;
    } catch (e) {
      throw new CausalLmError(`${path.join(this.config.dir, 'tokenizer_config.json')}: the chat template does not render (${(e as Error).message}); set "chat_template": false in narrator.json to prompt without it`);
    }
  }

  /** Token ids of a rendered prompt (the tokenizer's special tokens added unless a chat template already wrote them). */
  encode(rendered: string): EncodedPrompt {
    const ids = this.tokenizer.encode(rendered, { add_special_tokens: !this.chatTemplate });
    const tokens = Int32Array.from(ids);
    return { tokens, items: new Int32Array(tokens.length).fill(TEXT), unknownItems: [] };
  }

  /** The text of generated token ids (special tokens skipped, trimmed). */
  decode(tokens: Int32Array): string {
    if (tokens.length === 0) return ''; // transformers.js refuses to decode nothing
    return this.tokenizer.decode(Array.from(tokens), { skip_special_tokens: true }).trim();
  }

  async dispose(): Promise<void> {
    if (this.disposed) return;
    this.disposed = true;
    this.textHead.dispose();
    await this.session.release();
  }
}

async function readMatrix(file: string, tensor: string, cfg: CausalLmConfig, what: string): Promise<EmbeddingMatrix> {
  let m: EmbeddingMatrix;
  try {
    m = await readEmbeddings(file, { tensor });
  } catch (e) {
    throw new CausalLmError(`${(e as Error).message} (${what}; set "text_head_tensor" / "text_embeddings_tensor" in narrator.json to name another tensor)`);
  }
  // Vocabularies padded for efficiency (rows beyond the tokenizer's) are fine; fewer rows are not.
  if (m.dim !== cfg.hiddenSize || m.rows < cfg.textVocabSize)
    throw new CausalLmError(`${file}: tensor '${tensor}' (${what}) has shape [${m.rows}, ${m.dim}] but config.json says [${cfg.textVocabSize}, ${cfg.hiddenSize}] (vocab_size, hidden_size)`);
  if (m.nonFinite > 0) throw new CausalLmError(`${file}: tensor '${tensor}' (${what}) holds ${m.nonFinite} NaN or infinite values`);
  return m;
}

/** The body's inputs and outputs by Optimum's names; a body with logits instead of hidden states gets the export command. */
function checkNarratorSession(session: OrtSession, cfg: CausalLmConfig, file: string): InputNames {
  const inputs = new Set(session.inputNames);
  const outputs = new Set(session.outputNames);
  const layers = Array.from({ length: cfg.numLayers }, (_, l) => l);
  const tokens = inputs.has('input_ids') ? 'input_ids' : undefined;
  const names: InputNames = {
    embeds: 'inputs_embeds',
    ...(tokens ? { tokens } : {}),
    mask: 'attention_mask',
    positions: inputs.has('position_ids') ? 'position_ids' : null,
    hidden: outputs.has('last_hidden_state') ? 'last_hidden_state' : 'hidden_states',
    pastKeys: layers.map((l) => `past_key_values.${l}.key`),
    pastValues: layers.map((l) => `past_key_values.${l}.value`),
    presentKeys: layers.map((l) => `present.${l}.key`),
    presentValues: layers.map((l) => `present.${l}.value`),
  };
  const parts: string[] = [];
  if (!tokens && !inputs.has('inputs_embeds')) parts.push('it takes neither input_ids nor inputs_embeds');
  if (tokens && inputs.has('inputs_embeds')) parts.push('it takes both input_ids and inputs_embeds (give one)');
  const missingIn = [names.mask, ...names.pastKeys, ...names.pastValues].filter((n) => !inputs.has(n));
  if (missingIn.length) parts.push(`it lacks the inputs ${missingIn.join(', ')}`);
  const known = new Set(['input_ids', 'inputs_embeds', names.mask, 'position_ids', ...names.pastKeys, ...names.pastValues]);
  const extra = session.inputNames.filter((n) => !known.has(n));
  if (extra.length) parts.push(`it has inputs regen-bench does not feed: ${extra.join(', ')}`);
  const missingOut = [names.hidden, ...names.presentKeys, ...names.presentValues].filter((n) => !outputs.has(n));
  if (missingOut.length) parts.push(`it lacks the outputs ${missingOut.join(', ')}`);
  if (parts.length) {
    const logits = outputs.has('logits') && !outputs.has('last_hidden_state');
    throw new CausalLmError(
      `${file}: ${parts.join('; ')}. ` +
        (logits
          ? 'It returns logits: it was exported with its LM head (Optimum --task text-generation-with-past). Export the base model instead, ' +
            '`optimum-cli export onnx --model <hub id> --task feature-extraction-with-past <dir>`, and regen-bench applies the LM head at the one position each step needs. '
          : '') +
        `The narrator's body takes input_ids (or inputs_embeds), attention_mask, optional position_ids and past_key_values.<i>.key/value for i < num_hidden_layers (${cfg.numLayers}, config.json), ` +
        'and returns last_hidden_state and present.<i>.key/value (Hugging Face Optimum\'s names)',
    );
  }
  return names;
}
