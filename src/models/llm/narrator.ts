// The hybrid pipeline's LLM narrator (the paper's "FLARE + LLM"): a recommender picks the item, a
// decoder-only language model writes each narrative from the paper's hybrid prompt (the template of
// `regen-bench prompts --template hybrid`, task 3) with that item filled in. `--narrator onnx:DIR`.
//
// - One generation per (example, narrative kind): the kind's prompt, the recommender's first pick in
//   its item slot as "<asin> Title: .. Category: .. Description: .. Price: ..", the critiques withheld
//   in the "Hist -> ID + Narrative" row as they are from the recommender.
// - Decoded on LUMEN's batched loop with the text head only (greedy, or seeded sampling). A row's
//   random stream is taken from its prompt's hash, so its text depends only on the prompt, the model
//   and the decoding settings: not on the example's position, the batch, or the rows beside it.
// - Generations are cached by (model hash, decoding settings, prompt) under the cache folder's
//   generations/ (GenerationCache): a rerun loads no model and generates nothing.
// - Progress with tokens/s through the progress callback; report() sums it up.
import path from 'node:path';

import { categoryPath } from '../../data/categories.js';
import type { Dataset, NarrativeKind } from '../../data/dataset.js';
import { resolveSampling, type ResolvedSampling, type SamplingOptions } from '../../engine/decode-step.js';
import type { IsaName, Precision } from '../../engine/engine.js';
import { expectInteger } from '../../engine/validate.js';
import type { ExampleSet } from '../../tasks/examples.js';
import { buildPrompts, ITEM_SLOT, truncateWords, type PromptSet } from '../../tasks/prompts.js';
import { cacheDir } from '../../util/cache.js';
import { checkOption, isOptionProblem, OptionError } from '../../util/option-error.js';
import type { ProgressFn } from '../../util/progress.js';
import { LumenDecoder, type StopReason } from '../lumen/decoder.js';
import type { Narrator } from '../template-narrator.js';
import { CausalLm, causalLmHash, chatTemplateOf, readCausalLmConfig, type CausalLmConfig } from './causal-lm.js';
import { GENERATION_CACHE_VERSION, GenerationCache, sha256 } from './generation-cache.js';

export const ONNX_NARRATOR_PREFIX = 'onnx:';

export interface OnnxNarratorOptions {
  /** Tokens generated per narrative at most (default 64). */
  maxNewTokens?: number;
  /** Greedy by default; temperature, top-k, top-p and seed as `generate` takes them. */
  sampling?: SamplingOptions;
  /** Prompts decoded together (default 16). */
  batch?: number;
  /** Prompt budget in words before the item's fields are filled in (default that of `regen-bench prompts`, 2,048). */
  maxWords?: number;
  /** The generation cache's root (default the cache folder's generations/); null: no cache. */
  generationCache?: string | null;
  /** CUDA device of the body and head (each on the CPU when unavailable, with a note). */
  gpu?: number;
  precision?: Precision;
  isa?: IsaName | 'auto';
  threads?: number;
  ortThreads?: number;
  /** Where file hashes are remembered (default the cache's hashes/ folder). */
  hashMemoDir?: string | null;
}

export interface NarratorStats {
  /** Narratives asked for. */
  requested: number;
  /** Distinct prompts among them (identical prompts share one generation). */
  prompts: number;
  /** Prompts answered from the cache. */
  cached: number;
  /** Prompts generated now. */
  generated: number;
  tokens: number;
  /** Seconds spent decoding (prefill and steps). */
  seconds: number;
  /** Of those, the prefill's (the prompts through the body) and the decoding steps'. */
  prefillSeconds: number;
  stepSeconds: number;
  stops: Record<string, number>;
  /** Narratives whose recommender gave no item (the slot says so). */
  withoutItem: number;
}

/** Item fields a narrative prompt shows for the recommended item (word budgets as `regen-bench prompts`). */
const ITEM_FIELD_WORDS = { title: 32, category: 32, description: 64 };
const unslot = (text: string) => text.replace(/ID_TOKEN|RECOMMENDED_ITEM/g, (m) => m.replace('_', '-'));

/** The recommended item as the hybrid prompt's slot shows it: its id and catalogue fields (never a user's review). */
export function renderRecommendedItem(ds: Dataset, item: number): string {
  if (item < 0) return '(no item: the recommender gave none)';
  const parts = [unslot(ds.items.asin.get(item) ?? String(item))];
  const add = (label: string, value: string | null, words: number) => {
    if (value === null) return;
    const t = truncateWords(unslot(value), words).text;
    if (t) parts.push(label, t);
  };
  add('Title:', ds.items.title.get(item), ITEM_FIELD_WORDS.title);
  const levels = ds.items.category[item] >= 0 ? categoryPath(ds.categories, ds.items.category[item]).filter(Boolean) : [];
  if (levels.length) add('Category:', levels.join(' > '), ITEM_FIELD_WORDS.category);
  add('Description:', ds.items.description.get(item), ITEM_FIELD_WORDS.description);
  const price = ds.items.price[item];
  if (Number.isFinite(price)) parts.push('Price:', `$${price.toFixed(2)}`);
  return parts.join(' ');
}

/** "greedy,max=64" or "T=0.7,top-k=50,top-p=0.9,seed=3,max=64" (the narrator's part of a signature). */
export function decodingTag(s: ResolvedSampling, maxNewTokens: number, maxWords: number | undefined): string {
  const how = s.temperature === 0 ? 'greedy' : `T=${s.temperature}${s.topK ? `,top-k=${s.topK}` : ''}${s.topP < 1 ? `,top-p=${s.topP}` : ''},seed=${s.seed}`;
  return `${how},max=${maxNewTokens}${maxWords !== undefined ? `,words=${maxWords}` : ''}`;
}

/** Options checked once (OptionErrors name narrator options as eval and baseline take them). */
function resolveOptions(o: OnnxNarratorOptions) {
  const maxNewTokens = checkOption('maxNewTokens', (name) => expectInteger(o.maxNewTokens ?? 64, name, 1, 1 << 16));
  const batch = checkOption('batch', (name) => expectInteger(o.batch ?? 16, name, 1, 4096));
  const maxWords = o.maxWords === undefined ? undefined : checkOption('maxWords', (name) => expectInteger(o.maxWords, name, 1));
  let sampling: ResolvedSampling;
  try {
    sampling = resolveSampling(o.sampling);
  } catch (e) {
    // eval's --seed is the bootstrap's: the draws' seed is --sampling-seed there.
    if (isOptionProblem(e) && e.option === 'sampling.seed') throw new OptionError('samplingSeed', (l) => e.as((x) => (x === 'sampling.seed' ? l('samplingSeed') : l(x))));
    throw e;
  }
  return { maxNewTokens, batch, maxWords, sampling };
}

export class OnnxNarrator implements Narrator {
  private readonly opts: ReturnType<typeof resolveOptions>;
  private cfg: CausalLmConfig | null = null;
  private hash = '';
  private cache: GenerationCache | null = null;
  private lm: CausalLm | null = null;
  private progress?: ProgressFn;
  private readonly prompts = new Map<string, PromptSet>();
  readonly stats: NarratorStats = { requested: 0, prompts: 0, cached: 0, generated: 0, tokens: 0, seconds: 0, prefillSeconds: 0, stepSeconds: 0, stops: {}, withoutItem: 0 };
  readonly notes: string[] = [];

  constructor(
    /** The model folder. */
    readonly dir: string,
    private readonly options: OnnxNarratorOptions = {},
  ) {
    this.opts = resolveOptions(options);
  }

  /** onnx:<folder>@<model hash>(<decoding>) once prepared. */
  get name(): string {
    const base = `${ONNX_NARRATOR_PREFIX}${path.basename(path.resolve(this.dir))}`;
    if (!this.hash) return base;
    return `${base}@${this.hash.slice(0, 16)}(${decodingTag(this.opts.sampling, this.opts.maxNewTokens, this.opts.maxWords)})`;
  }

  /** Reads the model's configuration and hashes its files (no model loaded: a cached rerun never needs it). */
  async prepare(progress?: ProgressFn): Promise<void> {
    this.progress = progress;
    if (this.cfg) return;
    const cfg = readCausalLmConfig(this.dir);
    this.hash = await causalLmHash(cfg, this.options.hashMemoDir === undefined ? cacheDir('hashes') : this.options.hashMemoDir);
    const template = cfg.chatTemplate === false ? null : chatTemplateOf(cfg.dir);
    const { sampling, maxNewTokens } = this.opts;
    const key = sha256(JSON.stringify({ v: GENERATION_CACHE_VERSION, model: this.hash, maxNewTokens, sampling, template, system: cfg.systemPrompt }));
    const root = this.options.generationCache === undefined ? cacheDir('generations') : this.options.generationCache;
    this.cache = new GenerationCache(root, key.slice(0, 32));
    this.cfg = cfg;
  }

  /** The cache folder of this model and these settings (null without a cache). */
  get cacheFolder(): string | null {
    return this.cache?.dir ?? null;
  }

  private async model(): Promise<CausalLm> {
    if (!this.lm) {
      const o = this.options;
      this.lm = await CausalLm.load(this.dir, { gpu: o.gpu, precision: o.precision, isa: o.isa, threads: o.threads, ortThreads: o.ortThreads, hashMemoDir: o.hashMemoDir });
      if (this.lm.hash !== this.hash)
        throw new OptionError('narrator', (l) => `${l('narrator')} ${ONNX_NARRATOR_PREFIX}${this.dir}: the model's files changed during the run; run again`);
      this.notes.push(...this.lm.notes);
    }
    return this.lm;
  }

  private promptSet(ds: Dataset, kind: NarrativeKind, critiques: boolean): PromptSet {
    const key = `${kind}:${critiques}`;
    let set = this.prompts.get(key);
    if (!set) {
      set = buildPrompts(ds, { task: 3, template: 'hybrid', narrative: kind, critiques, ...(this.opts.maxWords !== undefined ? { budget: { total: this.opts.maxWords } } : {}) });
      this.prompts.set(key, set);
    }
    return set;
  }

  /** The prompt of example i (of the full set the slice came from) and kind, with the item filled in. */
  prompt(examples: ExampleSet, i: number, kind: NarrativeKind, item: number): string {
    const line = this.promptSet(examples.dataset, kind, examples.usesCritique).line(examples.base + i, { inputOnly: true })!;
    return line.input.replace(ITEM_SLOT, () => renderRecommendedItem(examples.dataset, item));
  }

  async narrate(examples: ExampleSet, top: Int32Array, k: number, kinds: readonly NarrativeKind[]): Promise<Record<string, string[]>> {
    if (!this.cfg || !this.cache) await this.prepare(this.progress);
    if (examples.task !== 3) throw new Error('internal: the narrator writes task 3 narratives');
    const cache = this.cache!;
    const out: Record<string, string[]> = {};
    // Prompts to generate: hash -> prompt and the (kind, example) slots it fills.
    const todo = new Map<string, { prompt: string; slots: [string, number][] }>();
    const known = new Map<string, string>(); // prompts of this call answered from the cache
    for (const kind of kinds) {
      const texts = (out[kind] = new Array<string>(examples.length).fill(''));
      for (let i = 0; i < examples.length; i++) {
        const item = top[i * k];
        if (item < 0) this.stats.withoutItem++;
        const prompt = this.prompt(examples, i, kind, item);
        const key = sha256(prompt);
        this.stats.requested++;
        const pending = todo.get(key);
        if (pending) {
          pending.slots.push([kind, i]);
          continue;
        }
        const seen = known.get(key);
        if (seen !== undefined) {
          texts[i] = seen;
          continue;
        }
        this.stats.prompts++;
        const hit = cache.get(key);
        if (hit) {
          texts[i] = hit.text;
          known.set(key, hit.text);
          this.stats.cached++;
        } else todo.set(key, { prompt, slots: [[kind, i]] });
      }
    }
    if (todo.size) await this.generate(todo, out);
    return out;
  }

  private async generate(todo: Map<string, { prompt: string; slots: [string, number][] }>, out: Record<string, string[]>): Promise<void> {
    const lm = await this.model();
    const cache = this.cache!;
    const { batch, maxNewTokens, sampling } = this.opts;
    const jobs = [...todo.entries()].map(([key, job]) => {
      const encoded = lm.encode(lm.render(job.prompt));
      return { key, job, encoded };
    });
    const max = lm.config.maxPositions;
    for (const j of jobs)
      if (max !== null && j.encoded.tokens.length + maxNewTokens > max)
        throw new OptionError(
          'maxWords',
          (l) =>
            `a narrative prompt of ${j.encoded.tokens.length} tokens plus ${maxNewTokens} new tokens needs more than the model's ${max} positions (config.json max_position_embeddings): ` +
            `shorten the prompts with ${l('maxWords')} (the oldest purchases are dropped to fit) or generate fewer tokens with ${l('maxNewTokens')}`,
        );
    // Longest first: similar lengths share a batch (less padding), and memory peaks early.
    jobs.sort((a, b) => b.encoded.tokens.length - a.encoded.tokens.length || (a.key < b.key ? -1 : 1));
    const decoder = new LumenDecoder(lm);
    const phase = `narrating with ${this.name} (${jobs.length.toLocaleString('en-US')} prompts, batch ${batch})`;
    const started = performance.now();
    let lastFlush = started;
    this.progress?.({ phase, done: 0, total: jobs.length, unit: 'rows' });
    for (let b0 = 0; b0 < jobs.length; b0 += batch) {
      const chunk = jobs.slice(b0, b0 + batch);
      // The stream comes from the prompt's hash: the draws depend on the prompt alone.
      const requests = chunk.map((j) => ({ prompt: j.encoded, stream: parseInt(j.key.slice(0, 8), 16) >>> 0 }));
      const rows = await decoder.decode(requests, { maxNewTokens, sampling, k: 1, batchSize: batch });
      rows.forEach((row, r) => {
        const { key, job } = chunk[r];
        const text = lm.decode(row.tokens);
        const stop: StopReason = row.stop;
        this.stats.stops[stop] = (this.stats.stops[stop] ?? 0) + 1;
        this.stats.generated++;
        this.stats.tokens += row.tokens.length;
        cache.put(key, { text, stop, tokens: row.tokens.length });
        for (const [kind, i] of job.slots) out[kind][i] = text;
      });
      const now = performance.now();
      const seconds = (now - started) / 1000;
      this.progress?.({ phase, done: Math.min(jobs.length, b0 + batch), total: jobs.length, unit: 'rows', note: `${(decoder.timing.tokens / Math.max(seconds, 1e-9)).toFixed(0)} tokens/s` });
      if (cache.unflushed >= 256 || now - lastFlush > 30_000) {
        cache.flush();
        lastFlush = now;
      }
    }
    cache.flush();
    this.stats.seconds += (performance.now() - started) / 1000;
    const t = decoder.timing;
    this.stats.prefillSeconds += t.prefillMs / 1000;
    this.stats.stepSeconds += (t.forwardMs + t.stepMs + t.otherMs) / 1000;
  }

  report(): string | undefined {
    const s = this.stats;
    if (s.requested === 0) return undefined;
    const n = (x: number) => x.toLocaleString('en-US');
    const stops = Object.entries(s.stops).map(([k, v]) => `${k} ${n(v)}`).join(', ');
    const lines = [
      `narrator ${this.name}: ${n(s.requested)} narratives, ${n(s.prompts)} distinct prompts: ${n(s.cached)} from the cache, ${n(s.generated)} generated` +
        (s.generated ? ` (${n(s.tokens)} tokens in ${s.seconds.toFixed(1)} s, ${(s.tokens / Math.max(s.seconds, 1e-9)).toFixed(0)} tokens/s; stops: ${stops})` : '') +
        (this.cache?.dir ? `; cache ${this.cache.dir}` : ''),
    ];
    if (s.withoutItem) lines.push(`  ${n(s.withoutItem)} narratives had no recommended item (the prompt's slot says so)`);
    if (this.cache?.badLines) lines.push(`  ${n(this.cache.badLines)} cache lines did not read back and were generated again`);
    for (const note of new Set(this.notes)) lines.push(`  note: ${note}`);
    return lines.join('\n');
  }

  async dispose(): Promise<void> {
    this.cache?.flush();
    await this.lm?.dispose();
    this.lm = null;
  }
}
