// `regen-bench eval` as a library call: load the data, build the examples, pick the model, evaluate
// chunk by chunk (resuming from --out), write parts and reports atomically.
import path from 'node:path';

import type { Dataset, NarrativeKind } from '../data/dataset.js';
import { loadDataset, type LoadOptions } from '../data/load.js';
import { Engine, type Device } from '../engine/engine.js';
import { Bleu } from '../metrics/text/bleu.js';
import { Rouge } from '../metrics/text/rouge.js';
import { DEFAULT_SEMSIM_MODEL, defaultModelCacheDir, isModelCached, ModelUnavailableError, SentenceEncoder } from '../metrics/text/semsim.js';
import { BUILTIN_RECOMMENDERS, createNarrator, createRecommender, DEFAULT_NARRATOR } from '../models/builtin.js';
import { MissingDependencyError } from '../util/optional-deps.js';
import { EmbeddingRecommender } from '../models/embeddings.js';
import { PredictionsRecommender } from '../models/predictions.js';
import { RESOLVE_MODES, type ResolveMode } from '../models/title-resolver.js';
import type { Recommender } from '../models/recommender.js';
import type { Narrator } from '../models/template-narrator.js';
import { buildExamples, type ExampleSet, type SplitName, type TaskId } from '../tasks/examples.js';
import type { OnnxNarratorOptions } from '../models/llm/narrator.js';
import { resolveNarratives } from '../models/lumen/generate.js';
import { isOptionProblem, OptionError } from '../util/option-error.js';
import type { ProgressFn } from '../util/progress.js';
import { VERSION } from '../version.js';
import type { InputFile } from '../data/report.js';
import { defaultCacheDir } from '../data/load.js';
import { evaluateRows, settingsDiff, type EvalPart, type EvalSettings } from './evaluate.js';
import { badInputProblems } from './input-problems.js';
import { EvalOutDir } from './out-dir.js';
import { critiqueLift, critiqueLiftJson, critiqueLiftMarkdown } from './critique-lift.js';
import { buildReport, formatMarkdown, reportJson, type EvalReport } from './report.js';

export const BUILTIN_MODELS = BUILTIN_RECOMMENDERS;
export const DEFAULT_MODEL = 'pop';

export interface RunEvalOptions {
  /** A dataset source (see loadDataset); default the embedded demo. */
  data?: string;
  /** How the source is read (format, schema, cache folder). */
  dataOptions?: Omit<LoadOptions, 'progress' | 'strict'>;
  /** The dataset `data` names, already loaded (a run file's evals share one load). */
  loaded?: Dataset;
  task?: TaskId;
  split?: SplitName;
  model?: string;
  /** The narrator paired with a built-in model (template, retrieval-bm25, onnx:DIR); default template. */
  narrator?: string;
  /** onnx:DIR narrators: decoding settings, prompt budget, generation cache. */
  narratorOptions?: OnnxNarratorOptions;
  /** Task 3: score only these narrative kinds (snake_case or camelCase names, or 'all'); default every kind. */
  narratives?: readonly string[];
  /** critique-emb: its sentence encoder (hub id or folder; default all-MiniLM-L6-v2). */
  encoder?: string;
  /** Critique-aware models: a fixed fusion weight instead of tuning it on the valid split. */
  fusionWeight?: number;
  predictions?: string;
  /** Predictions that answer by title ("titles", "text"): how titles are matched to items (default fuzzy). */
  resolve?: ResolveMode;
  queries?: string;
  items?: string;
  itemIds?: string;
  queryIds?: string;
  precision?: 'fp32' | 'bf16';
  excludeHistory?: boolean;
  /** The cut-off of Recall@k and NDCG@k (default 10), or several (`[5, 10, 20]`: one pass, lists of the largest). */
  k?: number | readonly number[];
  /** Where tables live and searches run: 'cpu' (default), { gpu: N }, or 'auto'. */
  device?: Device;
  /** A sentence encoder (hub id or folder); undefined: the default model if available offline; false: none. */
  semsim?: string | false;
  offline?: boolean;
  /** Where reference embeddings are cached (default the embeddings/ folder of the cache, src/util/cache.ts; null: no cache). */
  semsimCacheDir?: string | null;
  stem?: boolean;
  seed?: number;
  bootstrapSamples?: number;
  /** Evaluate only shard index of count (0-based), writing a mergeable part. */
  shard?: { index: number; count: number };
  /** Folder for resumable chunks, parts and reports. */
  out?: string;
  strict?: boolean;
  chunkRows?: number;
  progress?: ProgressFn;
  log?: (line: string) => void;
}

export interface RunEvalResult {
  /** One per row of the paper's table (task 3 with a built-in model: without and with critiques). */
  reports: EvalReport[];
  /**
   * Inputs whose share of bad lines or ids is above the limit (src/util/limits.ts badShare), one
   * message each; empty when the input is acceptable. The CLI exits non-zero on them unless --allow-bad-input.
   */
  badInput: string[];
  parts: EvalPart[];
  markdown: string;
  /** The JSON of the requested row (with the other rows under "rows"). */
  json: Record<string, unknown>;
}

/** A bad combination of eval or baseline options (the message names them as the caller does). */
export class EvalUsageError extends OptionError {
  override name = 'EvalUsageError';
}

/** The model eval (and baseline) runs: one of a built-in name, a predictions file, or embedding files. */
export function pickModel(
  o: Pick<RunEvalOptions, 'model' | 'predictions' | 'resolve' | 'queries' | 'items' | 'itemIds' | 'queryIds' | 'precision' | 'encoder' | 'offline' | 'fusionWeight' | 'strict' | 'log' | 'dataOptions'>,
  engine: Engine,
): Recommender {
  const hashMemoDir = path.join(o.dataOptions?.cacheDir ?? defaultCacheDir(), 'hashes');
  const given = [o.model !== undefined, o.predictions !== undefined, o.queries !== undefined || o.items !== undefined].filter(Boolean).length;
  if (given > 1)
    throw new EvalUsageError('model', (l) => `give one model: ${l('model')} NAME, ${l('predictions')} FILE, or ${l('queries')} Q ${l('items')} E`);
  if (o.resolve !== undefined && !RESOLVE_MODES.includes(o.resolve))
    throw new EvalUsageError('resolve', (l) => `Expected ${l('resolve')} to be one of ${RESOLVE_MODES.join(', ')} but received ${JSON.stringify(o.resolve)}`);
  if (o.predictions) return new PredictionsRecommender(o.predictions, { strict: o.strict, resolve: o.resolve, warn: o.log });
  if (o.queries || o.items) {
    if (!o.queries || !o.items)
      throw new EvalUsageError(o.queries ? 'items' : 'queries', (l) => `embeddings need both ${l('queries')} and ${l('items')} (got only ${o.queries ? l('queries') : l('items')})`);
    return new EmbeddingRecommender({ queries: o.queries, items: o.items, itemIds: o.itemIds, queryIds: o.queryIds, precision: o.precision, hashMemoDir, warn: o.log }, engine);
  }
  try {
    return createRecommender(o.model ?? DEFAULT_MODEL, { engine, encoder: o.encoder, offline: o.offline, fusionWeight: o.fusionWeight, log: o.log });
  } catch (e) {
    if (isOptionProblem(e)) throw new EvalUsageError(e.option, (l) => `${e.as(l)} (or use ${l('predictions')} / ${l('queries')} ${l('items')})`);
    throw e;
  }
}

/** The narrator paired with a model that computes its answers; none for answers handed in. */
function pickNarrator(o: RunEvalOptions, model: Recommender): Narrator | null {
  if (model.answers === 'given') {
    if (o.narrator !== undefined)
      throw new EvalUsageError('narrator', (l) => `${l('narrator')} pairs with a built-in ${l('model')}; with ${l('predictions')} the narratives come from the file (drop ${l('narrator')})`);
    return null;
  }
  return createNarrator(o.narrator ?? DEFAULT_NARRATOR, { ...o.narratorOptions, gpu: typeof o.device === 'object' ? o.device.gpu : undefined });
}

/** The narrative kinds scored: every kind of the examples, or those options.narratives names. */
export function scoredKinds(all: ExampleSet, narratives: readonly string[] | undefined): readonly NarrativeKind[] {
  if (!narratives || narratives.length === 0) return all.narrativeKinds;
  if (all.task !== 3) throw new EvalUsageError('narratives', (l) => `${l('narratives')} applies to task 3 only (tasks 1 and 2 predict the item alone): drop it, or use ${l('task')} 3`);
  const asked = resolveNarratives(3, narratives);
  return all.narrativeKinds.filter((k) => asked.includes(k));
}

async function openEncoder(o: RunEvalOptions): Promise<{ encoder: SentenceEncoder | null; note: string | null }> {
  if (o.semsim === false) return { encoder: null, note: 'semantic similarity was turned off (--no-semsim)' };
  const explicit = o.semsim !== undefined;
  const model = explicit ? (o.semsim as string) : DEFAULT_SEMSIM_MODEL;
  // The default encoder only when already downloaded (checked on disk: no transformers.js import, no network).
  if (!explicit && !isModelCached(model))
    return {
      encoder: null,
      note:
        `no sentence encoder is available offline (${DEFAULT_SEMSIM_MODEL} is not in the model cache ${defaultModelCacheDir()}). ` +
        `To enable it: run once with network access and --semsim (downloads ${DEFAULT_SEMSIM_MODEL}), or pass --semsim ./model-folder.`,
    };
  try {
    // The network only when asked: --semsim [hub id] without --offline; the default encoder only from the cache.
    return { encoder: await SentenceEncoder.load({ model, offline: explicit ? o.offline : true, log: o.log }), note: null };
  } catch (e) {
    if (explicit || !(e instanceof ModelUnavailableError || e instanceof MissingDependencyError)) throw e;
    return { encoder: null, note: `no sentence encoder: ${e.message}` };
  }
}

/** One cut-off or several: integers >= 1, each once; returned ascending. */
export function checkCutoffs(k: number | readonly number[]): number[] {
  const list = typeof k === 'number' ? [k] : [...k];
  if (list.length === 0) throw new EvalUsageError('k', (l) => `${l('k')} expects at least one cut-off (e.g. 10, or 5,10,20) but received none`);
  for (const c of list)
    if (!Number.isInteger(c) || c < 1 || c > 100_000) throw new EvalUsageError('k', (l) => `${l('k')} expects integers from 1 to 100000 but received ${c}`);
  const sorted = [...list].sort((a, b) => a - b);
  const twice = sorted.find((c, i) => i > 0 && c === sorted[i - 1]);
  if (twice !== undefined) throw new EvalUsageError('k', (l) => `${l('k')} lists the cut-off ${twice} twice: give each once (e.g. 5,10,20)`);
  return sorted;
}

export async function runEval(o: RunEvalOptions = {}): Promise<RunEvalResult> {
  const log = o.log ?? (() => {});
  const task = o.task ?? 3;
  const split = o.split ?? 'test';
  const cutoffs = checkCutoffs(o.k ?? 10);
  const k = cutoffs[cutoffs.length - 1];
  const engine = Engine.open({ device: o.device, precision: o.precision });
  if (engine.note) log(`device 'auto': ${engine.note}`);
  const model = pickModel(o, engine);
  const narrator = pickNarrator(o, model);

  // Said at once: the first load (or the demo's synthesis) takes seconds before any progress shows.
  const source = o.data ?? 'demo';
  log(`loading ${source === 'demo' ? 'the embedded demo (a synthetic REGEN of 3,000 users)' : source}${o.dataOptions?.category ? ` (category ${o.dataOptions.category})` : ''}; model ${o.predictions ? `predictions ${o.predictions}` : o.queries ? 'embeddings' : model.name}`);
  const dataset: Dataset = o.loaded ?? (await loadDataset(source, { ...o.dataOptions, progress: o.progress, strict: o.strict }));
  const all = buildExamples(dataset, task, split);
  if (all.length === 0) throw new EvalUsageError('data', () => `the ${split} split of ${dataset.meta.name} has no examples (users need at least ${split === 'test' ? 2 : 3} purchases)`);
  const kinds: readonly NarrativeKind[] = scoredKinds(all, o.narratives);
  if (task === 3 && split !== 'test') log(`note: narratives describe each user's last purchase, so they are scored on the test split only`);

  // Fit before the settings are made: a tuned model's name (in every signature) carries its weight.
  try {
    await model.prepare?.(all, o.progress);
  } catch (e) {
    model.dispose?.();
    throw e;
  }
  if (model.summary) log(model.summary);
  // An LLM narrator names its model's hash in the signature: read before the settings are made.
  if (kinds.length && narrator?.prepare)
    try {
      await narrator.prepare(o.progress);
    } catch (e) {
      model.dispose?.();
      throw e;
    }

  const { encoder, note } = kinds.length ? await openEncoder(o) : { encoder: null, note: null };
  const modelInputs = model.inputs?.() ?? [];
  const datasetInput: InputFile = { role: 'dataset', file: dataset.meta.name, sha256: dataset.meta.key, issues: dataset.meta.report.issues };
  const inputs = [datasetInput, ...modelInputs];
  const base: Omit<EvalSettings, 'critiques'> = {
    tool: VERSION,
    dataset: { name: dataset.meta.name, key: dataset.meta.key },
    split,
    task,
    k,
    ...(cutoffs.length > 1 ? { cutoffs } : {}),
    excludeHistory: o.excludeHistory ?? true,
    model: model.name,
    narrator: narrator?.name ?? null,
    bleu: new Bleu().settings,
    rouge: new Rouge({ stem: o.stem }).settings,
    semsim: encoder ? { model: encoder.model, ...(encoder.sha256 ? { sha256: encoder.sha256 } : {}) } : { model: null, reason: note ?? undefined },
    inputs: Object.fromEntries(modelInputs.map((f) => [f.role, { file: path.basename(f.file), sha256: f.sha256 }])),
    ci: { samples: o.bootstrapSamples ?? 1000, confidence: 0.95, seed: o.seed ?? 0 },
    backend: engine.name,
  };

  // Rows of the paper's table: task 3 with a built-in model is also run with critiques withheld, and so
  // is task 2 with a model that reads critiques (the critique lift compares the two rows).
  const twoRows = model.answers === 'computed' && (task === 3 || (task === 2 && model.usesCritique));
  const sets: ExampleSet[] = twoRows ? [all.withoutCritiques(), all] : [all];
  let range: [number, number] = [0, all.length];
  if (o.shard) {
    const { index, count } = o.shard;
    range = [Math.floor((index * all.length) / count), Math.floor(((index + 1) * all.length) / count)];
    log(`shard ${index + 1} of ${count}: examples ${range[0]}..${range[1] - 1} of ${all.length}`);
  }
  const outDir = o.out ? new EvalOutDir(o.out) : null;
  let parts: EvalPart[];
  try {
    const options = sets.map((set) => {
      const settings: EvalSettings = { ...base, critiques: set.usesCritique };
      const done = outDir ? outDir.readChunks(settings) : new Map<number, EvalPart>();
      if (done.size) log(`resuming ${set.label}: ${done.size} chunks already computed in ${outDir!.chunkDir(settings)}`);
      // Chunks of this row computed with other settings (say, an older predictions file) are not reused: say why.
      for (const other of outDir?.otherChunkSettings(settings) ?? [])
        log(`not reusing the chunks in ${other.dir}: computed with other settings (${settingsDiff(other.settings, settings).join('; ')})`);
      return {
        settings,
        kinds,
        total: all.length,
        semsim: encoder ? { encoder, embeddingCacheDir: o.semsimCacheDir } : null,
        chunkRows: o.chunkRows,
        done,
        onChunk: outDir ? (p: EvalPart) => outDir.writeChunk(p) : undefined,
        progress: o.progress,
        inputs,
      };
    });
    // The rows go chunk by chunk together: a narrative the second row repeats is scored once.
    parts = await evaluateRows(
      sets.map((set) => set.slice(range[0], range[1])),
      model,
      narrator,
      options,
    );
  } finally {
    model.dispose?.();
    await narrator?.dispose?.();
    await encoder?.dispose();
  }
  const narrated = narrator?.report?.();
  if (narrated) log(narrated);

  // The rows' intervals together: one row's resampling runs natively while the other's values are laid out.
  const reports: EvalReport[] = await Promise.all(parts.map((p) => buildReport(p, note, o.progress)));
  const main = reports[reports.length - 1];
  const json = reportJson(main, reports);
  let markdown = formatMarkdown(reports);
  const lift = critiqueLift(parts, o.progress);
  if (lift) {
    json.critique_lift = critiqueLiftJson(lift);
    markdown += critiqueLiftMarkdown(lift).join('\n') + '\n';
  }
  if (outDir) {
    for (const line of outDir.writeParts(parts, o.shard).filter((w) => w.replaced).map((w) => w.note)) log(line);
    if (!o.shard) outDir.writeReport(json, markdown);
  }
  return { reports, parts, markdown, json, badInput: badInputProblems(inputs) };
}
