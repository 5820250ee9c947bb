// Loading a LUMEN checkpoint folder: config.json, the tokenizer (transformers.js), the decoder body
// (onnxruntime-node; the CUDA execution provider when asked for and present, else the CPU), the
// text head, text embeddings and item table (safetensors, float32 or bf16) and the item id list.
// The heads go to the native engine as two tables that the decoding step scores against.
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';

import { contentHash } from '../../data/files.js';
import { gpuUnavailableReason } from '../../engine/device.js';
import { Engine, type Device } from '../../engine/engine.js';
import type { ItemTable } from '../../engine/item-table.js';
import type { IsaName, Precision } from '../../engine/engine.js';
import { LimitError } from '../../util/limits.js';
import { importOptional } from '../../util/optional-deps.js';
import { readEmbeddings, readIdList, readSafetensorsHeader, type EmbeddingMatrix } from '../embeddings-file.js';
import { LumenCheckpointError, readLumenConfig, type LumenConfig } from './config.js';

/** The parts of onnxruntime-node's API the decoder uses. */
export interface OrtTensor {
  readonly data: unknown;
  readonly dims: readonly number[];
  readonly type: string;
}
export interface OrtSession {
  readonly inputNames: readonly string[];
  readonly outputNames: readonly string[];
  run(feeds: Record<string, OrtTensor>): Promise<Record<string, OrtTensor>>;
  release(): Promise<void>;
}
export interface OrtModule {
  Tensor: new (type: string, data: Float32Array | BigInt64Array, dims: readonly number[]) => OrtTensor;
  InferenceSession: { create(file: string, options?: Record<string, unknown>): Promise<OrtSession> };
  listSupportedBackends?: () => { name: string; bundled: boolean }[];
}

/** The parts of a transformers.js tokenizer the decoder uses. */
export interface Tokenizer {
  encode(text: string, options?: { add_special_tokens?: boolean }): number[];
  decode(ids: number[] | Int32Array, options?: { skip_special_tokens?: boolean }): string;
}

export interface LoadOptions {
  /**
   * Run on this CUDA device: the decoder body through onnxruntime's CUDA execution provider, the
   * decoding step's tables on the CUDA backend; each falls back to the CPU, with a note, when it cannot.
   */
  gpu?: number;
  /** Precision of the heads in the native engine: 'bf16' needs AVX512-BF16 (see ItemTable). */
  precision?: Precision;
  isa?: IsaName | 'auto';
  /** Threads of the native step (default REGEN_THREADS or every core). */
  threads?: number;
  /** onnxruntime intra-op threads (default: onnxruntime's, every core). */
  ortThreads?: number;
  /** Where file hashes are remembered (data/files.ts contentHash); null or absent: not remembered. */
  hashMemoDir?: string | null;
}

export interface InputNames {
  embeds: string;
  /** Set when the body takes token ids (input_ids) instead of input embeddings: a plain causal LM's narrator body. */
  tokens?: string;
  mask: string;
  /** null when the body computes positions itself. */
  positions: string | null;
  hidden: string;
  pastKeys: string[];
  pastValues: string[];
  presentKeys: string[];
  presentValues: string[];
}

function tensorNames(file: string): string[] {
  try {
    return [...readSafetensorsHeader(file).tensors.keys()];
  } catch (e) {
    if (e instanceof LimitError) throw e;
    throw new LumenCheckpointError(`${file} is not a usable safetensors file (${(e as Error).message.replace(`${file}: `, '')})`);
  }
}

function checkMatrix(m: EmbeddingMatrix, rows: number, dim: number, what: string, rowsKey: string): void {
  if (m.rows !== rows || m.dim !== dim)
    throw new LumenCheckpointError(
      `${m.file}: tensor '${m.tensor}' (${what}) has shape [${m.rows}, ${m.dim}] but config.json says [${rows}, ${dim}] (${rowsKey}, hidden_size)`,
    );
  if (m.nonFinite > 0) {
    const i = m.data.findIndex((x) => !Number.isFinite(x));
    throw new LumenCheckpointError(`${m.file}: tensor '${m.tensor}' holds ${m.nonFinite} NaN or infinite values (first at row ${Math.floor(i / m.dim)}, column ${i % m.dim})`);
  }
}

export class LumenCheckpoint {
  private disposed = false;

  private constructor(
    readonly config: LumenConfig,
    readonly tokenizer: Tokenizer,
    readonly ort: OrtModule,
    readonly session: OrtSession,
    readonly names: InputNames,
    /** The text head (text_vocab_size x hidden_size) and item table (item_vocab_size x hidden_size) in the native engine. */
    readonly textHead: ItemTable,
    readonly itemTable: ItemTable,
    /** Input embeddings, already multiplied by embedding_scale. */
    readonly textEmbeddings: Float32Array,
    readonly itemEmbeddings: Float32Array,
    readonly itemIds: readonly string[],
    /** 'cpu' or 'cuda:N': where the decoder body runs. */
    readonly provider: string,
    /** Things the user should know (a GPU asked for but not used, tied embeddings). */
    readonly notes: readonly string[],
    /** Identifies the checkpoint (hash of its config, item list and file sizes) for signatures. */
    readonly fingerprint: string,
  ) {}

  get dim(): number {
    return this.config.hiddenSize;
  }

  /** Item index of a dataset item id, or undefined. */
  itemIndex(id: string): number | undefined {
    return this.itemMap.get(id);
  }

  private itemMapCache: Map<string, number> | null = null;
  private get itemMap(): Map<string, number> {
    if (!this.itemMapCache) this.itemMapCache = new Map(this.itemIds.map((id, i) => [id, i]));
    return this.itemMapCache;
  }

  static async load(dir: string, options: LoadOptions = {}): Promise<LumenCheckpoint> {
    const cfg = readLumenConfig(dir);
    const notes: string[] = [];
    const file = (name: string) => path.join(cfg.dir, name);

    // Item ids and heads.
    const itemIds = await readIdList(file(cfg.files.itemIds));
    if (itemIds.length !== cfg.itemVocabSize)
      throw new LumenCheckpointError(`${file(cfg.files.itemIds)} lists ${itemIds.length} item ids but config.json says item_vocab_size ${cfg.itemVocabSize}`);
    const seen = new Set<string>();
    for (const id of itemIds) {
      if (seen.has(id)) throw new LumenCheckpointError(`${file(cfg.files.itemIds)} lists item id ${JSON.stringify(id)} twice; every item needs one row`);
      seen.add(id);
    }
    const weights = file(cfg.files.weights);
    const names = tensorNames(weights);
    const need = (name: string, key: string) => {
      if (!names.includes(name))
        throw new LumenCheckpointError(`${weights} has no tensor '${name}' (config.json "${key}"; the file holds: ${names.join(', ') || 'nothing'})`);
    };
    need(cfg.tensors.textHead, 'text_head_tensor');
    need(cfg.tensors.itemEmbeddings, 'item_embeddings_tensor');
    const head = await readEmbeddings(weights, { tensor: cfg.tensors.textHead });
    checkMatrix(head, cfg.textVocabSize, cfg.hiddenSize, 'the text head', 'text_vocab_size');
    const items = await readEmbeddings(weights, { tensor: cfg.tensors.itemEmbeddings });
    checkMatrix(items, cfg.itemVocabSize, cfg.hiddenSize, 'the item table', 'item_vocab_size');
    let textEmbeddings: Float32Array;
    if (names.includes(cfg.tensors.textEmbeddings)) {
      const emb = await readEmbeddings(weights, { tensor: cfg.tensors.textEmbeddings });
      checkMatrix(emb, cfg.textVocabSize, cfg.hiddenSize, 'the text embeddings', 'text_vocab_size');
      textEmbeddings = emb.data;
    } else {
      textEmbeddings = head.data.slice();
      notes.push(`text embeddings tied to the text head (${path.basename(weights)} has no '${cfg.tensors.textEmbeddings}')`);
    }
    const scale = (a: Float32Array) => {
      if (cfg.embeddingScale !== 1) for (let i = 0; i < a.length; i++) a[i] *= cfg.embeddingScale;
      return a;
    };
    const itemInputs = scale(items.data.slice());
    scale(textEmbeddings);

    // Tokenizer: the special tokens must be single tokens with the configured ids.
    for (const f of ['tokenizer.json', 'tokenizer_config.json'])
      if (!existsSync(file(f))) throw new LumenCheckpointError(`${file(f)} is missing: a LUMEN checkpoint holds its tokenizer (tokenizer.json and tokenizer_config.json, as transformers saves them)`);
    const tokenizer = await loadTokenizer(cfg.dir, "a LUMEN checkpoint's tokenizer");
    for (const [text, key, id] of [
      ['START', 'start_token_id', cfg.startTokenId],
      ['END', 'end_token_id', cfg.endTokenId],
      ['ID_TOKEN', 'id_token_id', cfg.idTokenId],
    ] as const) {
      const ids = tokenizer.encode(text, { add_special_tokens: false });
      if (ids.length !== 1 || ids[0] !== id)
        throw new LumenCheckpointError(
          `${file('tokenizer.json')}: the prompt text "${text}" must encode to the single token ${id} (config.json "${key}") but encodes to [${ids.join(', ')}]. ` +
            `Add "${text}" to the tokenizer's added_tokens with that id (tokenizer.add_special_tokens in transformers)`,
        );
    }

    // The decoder body.
    const ort = await importOptional<OrtModule>('onnxruntime-node', "a LUMEN checkpoint's decoder body");
    const decoder = file(cfg.files.decoder);
    const { session, provider } = await openDecoderSession(ort, decoder, options, notes);
    let ioNames: InputNames;
    try {
      ioNames = checkSessionNames(session, cfg, decoder);
    } catch (e) {
      await session.release();
      throw e;
    }

    const precision = options.precision ?? 'fp32';
    // The decoding step's tables go to the GPU too when one is usable (the CUDA backend), else the CPU.
    let device: Device = 'cpu';
    if (options.gpu !== undefined) {
      const reason = gpuUnavailableReason();
      if (reason) notes.push(`GPU ${options.gpu}: no usable GPU for the decoding step (${reason}); it runs on the CPU`);
      else device = { gpu: options.gpu };
    }
    const engine = Engine.open({ precision, isa: options.isa, threads: options.threads, device });
    const textHead = await engine.createTable(head.data, { dim: cfg.hiddenSize });
    let itemTable: ItemTable;
    try {
      itemTable = await engine.createTable(items.data, { dim: cfg.hiddenSize });
    } catch (e) {
      textHead.dispose();
      throw e;
    }
    // The checkpoint by content: every file that decides its output (remembered by file identity, so a
    // large decoder is hashed once; an edit in place is still seen: data/files.ts contentHash).
    const hash = createHash('sha256').update(JSON.stringify(cfg));
    for (const f of ['config.json', cfg.files.decoder, cfg.files.weights, cfg.files.itemIds, 'tokenizer.json', 'tokenizer_config.json']) {
      if (!existsSync(file(f))) continue;
      hash.update(f).update('\0').update(await contentHash(file(f), options.hashMemoDir ?? null));
    }
    const fingerprint = hash.digest('hex').slice(0, 16);
    return new LumenCheckpoint(cfg, tokenizer, ort, session, ioNames, textHead, itemTable, textEmbeddings, itemInputs, itemIds, provider, notes, fingerprint);
  }

  async dispose(): Promise<void> {
    if (this.disposed) return;
    this.disposed = true;
    this.textHead.dispose();
    this.itemTable.dispose();
    await this.session.release();
  }
}

/** Loads a tokenizer folder (tokenizer.json, tokenizer_config.json) with transformers.js, offline; errors name the file. */
export async function loadTokenizer(dir: string, feature: string): Promise<Tokenizer> {
  const { AutoTokenizer, env } = await importOptional<typeof import('@huggingface/transformers')>('@huggingface/transformers', feature);
  const saved = { allowLocalModels: env.allowLocalModels, allowRemoteModels: env.allowRemoteModels, localModelPath: env.localModelPath };
  env.allowLocalModels = true;
  env.allowRemoteModels = false;
  env.localModelPath = path.dirname(dir) + path.sep;
  try {
    return (await AutoTokenizer.from_pretrained(path.basename(dir))) as unknown as Tokenizer;
  } catch (e) {
    throw new LumenCheckpointError(`${path.join(dir, 'tokenizer.json')}: the tokenizer does not load (${(e as Error).message})`);
  } finally {
    Object.assign(env, saved); // transformers.js settings are global: leave them as found
  }
}

/**
 * An onnxruntime session of a decoder body: on CUDA device options.gpu when onnxruntime-node has its
 * CUDA provider (else the CPU, with a note), otherwise the CPU. Errors name the file.
 */
export async function openDecoderSession(
  ort: OrtModule,
  decoder: string,
  options: Pick<LoadOptions, 'gpu' | 'ortThreads'>,
  notes: string[],
): Promise<{ session: OrtSession; provider: string }> {
  const base: Record<string, unknown> = { graphOptimizationLevel: 'all', extra: { session: { intra_op: { allow_spinning: '0' } } } };
  if (options.ortThreads) base.intraOpNumThreads = options.ortThreads;
  if (options.gpu !== undefined) {
    const missing = cudaProviderMissing(ort);
    if (missing) notes.push(`GPU ${options.gpu}: the CUDA execution provider is not available (${missing}); the decoder body runs on the CPU`);
    else
      try {
        const session = await ort.InferenceSession.create(decoder, { ...base, executionProviders: [{ name: 'cuda', deviceId: options.gpu }] });
        return { session, provider: `cuda:${options.gpu}` };
      } catch (e) {
        notes.push(`GPU ${options.gpu}: the CUDA execution provider did not start (${(e as Error).message.split('\n')[0]}); the decoder body runs on the CPU`);
      }
  }
  try {
    return { session: await ort.InferenceSession.create(decoder, { ...base, executionProviders: ['cpu'] }), provider: 'cpu' };
  } catch (e) {
    throw new LumenCheckpointError(`${decoder}: onnxruntime cannot load the decoder (${(e as Error).message.split('\n')[0]})`);
  }
}

/** Why onnxruntime-node cannot use CUDA here, or null when its CUDA provider library is installed. */
function cudaProviderMissing(ort: OrtModule): string | null {
  const cuda = ort.listSupportedBackends?.().find((b) => b.name === 'cuda');
  if (!cuda) return `onnxruntime-node has no CUDA provider on ${process.platform}-${process.arch}`;
  if (cuda.bundled) return null;
  try {
    const main = createRequire(import.meta.url).resolve('onnxruntime-node');
    const dir = path.join(path.dirname(main), '..', 'bin', 'napi-v6', process.platform, process.arch);
    const lib = process.platform === 'win32' ? 'onnxruntime_providers_cuda.dll' : 'libonnxruntime_providers_cuda.so';
    if (existsSync(path.join(dir, lib))) return null;
  } catch {
    // fall through: say it is missing
  }
  return (
    'onnxruntime-node was installed without its CUDA libraries (they are opt-in: its install step is skipped or told to skip them). ' +
    'To add them (CUDA 12, from api.nuget.org): node node_modules/onnxruntime-node/script/install --onnxruntime-node-install=cuda12'
  );
}

/** The decoder's inputs and outputs, by Hugging Face Optimum's names; errors list what is missing. */
function checkSessionNames(session: OrtSession, cfg: LumenConfig, file: string): InputNames {
  const inputs = new Set(session.inputNames);
  const outputs = new Set(session.outputNames);
  const layers = Array.from({ length: cfg.numLayers }, (_, l) => l);
  const names: InputNames = {
    embeds: 'inputs_embeds',
    mask: 'attention_mask',
    positions: inputs.has('position_ids') ? 'position_ids' : null,
    hidden: outputs.has('last_hidden_state') ? 'last_hidden_state' : 'hidden_states',
    pastKeys: layers.map((l) => `past_key_values.${l}.key`),
    pastValues: layers.map((l) => `past_key_values.${l}.value`),
    presentKeys: layers.map((l) => `present.${l}.key`),
    presentValues: layers.map((l) => `present.${l}.value`),
  };
  const missingIn = [names.embeds, names.mask, ...names.pastKeys, ...names.pastValues].filter((n) => !inputs.has(n));
  const missingOut = [names.hidden, ...names.presentKeys, ...names.presentValues].filter((n) => !outputs.has(n));
  const known = new Set([names.embeds, names.mask, 'position_ids', ...names.pastKeys, ...names.pastValues]);
  const extra = session.inputNames.filter((n) => !known.has(n));
  if (missingIn.length || missingOut.length || extra.length) {
    const parts: string[] = [];
    if (missingIn.length) parts.push(`it lacks the inputs ${missingIn.join(', ')}`);
    if (missingOut.length) parts.push(`it lacks the outputs ${missingOut.join(', ')}`);
    if (extra.length) parts.push(`it has inputs regen-bench does not feed: ${extra.join(', ')}`);
    throw new LumenCheckpointError(
      `${file}: ${parts.join('; ')}. The decoder body takes inputs_embeds, attention_mask, optional position_ids and ` +
        `past_key_values.<i>.key/value for i < num_hidden_layers (${cfg.numLayers}), and returns last_hidden_state and present.<i>.key/value ` +
        `(Hugging Face Optimum's names; export the base model with inputs_embeds, without the LM head)`,
    );
  }
  return names;
}
