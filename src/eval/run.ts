// `regen-bench eval` as a library call: load the data, build the examples, pick the model, evaluate
// chunk by chunk (resuming from --out), write parts and reports atomically.
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';

import type { Dataset, NarrativeKind } from '../data/dataset.js';
import { loadDataset } from '../data/load.js';
import type { ProgressFn } from '../util/progress.js';
import { resolveDevice } from '../engine/device.js';
import { ItemTable, type Device } from '../engine/item-table.js';
import { bleuSignature } from '../metrics/text/bleu.js';
import { DEFAULT_ROUGE_TYPES } from '../metrics/text/pair-stats.js';
import { DEFAULT_SEMSIM_MODEL, ModelUnavailableError, SentenceEncoder } from '../metrics/text/semsim.js';
import { EmbeddingRecommender } from '../models/embeddings.js';
import { BUILTIN_RECOMMENDERS, createNarrator, createRecommender, DEFAULT_NARRATOR, UnknownModelError } from '../models/builtin.js';
import { PredictionsRecommender } from '../models/predictions.js';
import type { Recommender } from '../models/recommender.js';
import type { Narrator } from '../models/template-narrator.js';
import { buildExamples, type ExampleSet, type SplitName, type TaskId } from '../tasks/examples.js';
import { writeFileAtomic } from '../util/files.js';
import { VERSION } from '../version.js';
import { checkPart, evaluate, type EvalPart, type EvalSettings } from './evaluate.js';
import { buildReport, formatMarkdown, reportJson, rowTag, type EvalReport } from './report.js';

export const BUILTIN_MODELS = BUILTIN_RECOMMENDERS;
export const DEFAULT_MODEL = 'pop';

export interface RunEvalOptions {
  /** A dataset source (see loadDataset); default the embedded demo. */
  data?: string;
  task?: TaskId;
  split?: SplitName;
  model?: string;
  /** The narrator paired with a built-in model (template, retrieval-bm25); default template. */
  narrator?: string;
  /** critique-emb: its sentence encoder (hub id or folder; default all-MiniLM-L6-v2). */
  encoder?: string;
  /** Critique-aware models: a fixed fusion weight instead of tuning it on the valid split. */
  fusionWeight?: number;
  predictions?: string;
  queries?: string;
  items?: string;
  itemIds?: string;
  queryIds?: string;
  precision?: 'fp32' | 'bf16';
  excludeHistory?: boolean;
  k?: number;
  gpu?: number | 'auto';
  /** A sentence encoder (hub id or folder); undefined: the default model if available offline; false: none. */
  semsim?: string | false;
  offline?: boolean;
  /** Where reference embeddings are cached (default ~/.cache/regen-bench/embeddings; null: no cache). */
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
  parts: EvalPart[];
  markdown: string;
  /** The JSON of the requested row (with the other rows under "rows"). */
  json: Record<string, unknown>;
}

export class EvalUsageError extends Error {
  override name = 'EvalUsageError';
}

function pickModel(o: RunEvalOptions, device: Device): Recommender {
  const given = [o.model !== undefined, o.predictions !== undefined, o.queries !== undefined || o.items !== undefined].filter(Boolean).length;
  if (given > 1) throw new EvalUsageError('give one model: --model NAME, --predictions FILE, or --queries Q --items E');
  if (o.predictions) return new PredictionsRecommender(o.predictions, { strict: o.strict });
  if (o.queries || o.items) {
    if (!o.queries || !o.items) throw new EvalUsageError(`embeddings need both --queries and --items (got only ${o.queries ? '--queries' : '--items'})`);
    return new EmbeddingRecommender({ queries: o.queries, items: o.items, itemIds: o.itemIds, queryIds: o.queryIds, precision: o.precision }, device);
  }
  try {
    return createRecommender(o.model ?? DEFAULT_MODEL, { device, encoder: o.encoder, offline: o.offline, fusionWeight: o.fusionWeight });
  } catch (e) {
    if (e instanceof UnknownModelError) throw new EvalUsageError(`${e.message} (or use --predictions / --queries --items)`);
    throw e;
  }
}

function pickNarrator(o: RunEvalOptions, builtin: boolean): Narrator | null {
  if (!builtin) {
    if (o.narrator !== undefined) throw new EvalUsageError(`--narrator pairs with a built-in --model; with --predictions the narratives come from the file (drop --narrator)`);
    return null;
  }
  try {
    return createNarrator(o.narrator ?? DEFAULT_NARRATOR);
  } catch (e) {
    if (e instanceof UnknownModelError) throw new EvalUsageError(e.message);
    throw e;
  }
}

/** The backend a search runs on, resolved as ItemTable resolves it (REGEN_ISA, --gpu). */
async function backendName(device: Device, precision: 'fp32' | 'bf16'): Promise<string> {
  const probe = await ItemTable.create(new Float32Array(2), { dim: 2, device, precision });
  probe.dispose();
  // CPU: cpu-<kernel>-<precision>; GPU: cuda-<device name>-<precision> (fp32 results are the same bits on both).
  return probe.backend === 'cuda'
    ? `cuda-${probe.deviceName.replace(/^cuda:\d+ /, '').replace(/\s+/g, '_')}-${probe.precision}`
    : `${probe.backend}-${probe.isa}-${probe.precision}`;
}

async function openEncoder(o: RunEvalOptions): Promise<{ encoder: SentenceEncoder | null; note: string | null }> {
  if (o.semsim === false) return { encoder: null, note: 'semantic similarity was turned off (--no-semsim)' };
  const explicit = o.semsim !== undefined;
  const model = explicit ? (o.semsim as string) : DEFAULT_SEMSIM_MODEL;
  try {
    return { encoder: await SentenceEncoder.load({ model, offline: explicit ? o.offline : true }), note: null };
  } catch (e) {
    if (!(e instanceof ModelUnavailableError)) throw e;
    if (explicit) throw e;
    return {
      encoder: null,
      note:
        `no sentence encoder is available offline (${DEFAULT_SEMSIM_MODEL} is not in the transformers.js cache). ` +
        `To enable it: run once with network access and --semsim (downloads ${DEFAULT_SEMSIM_MODEL}), or pass --semsim ./model-folder.`,
    };
  }
}

function settingsKey(s: EvalSettings): string {
  return createHash('sha256').update(JSON.stringify(s)).digest('hex').slice(0, 16);
}

function readParts(dir: string, settings: EvalSettings): Map<number, EvalPart> {
  const done = new Map<number, EvalPart>();
  if (!existsSync(dir)) return done;
  for (const f of readdirSync(dir).filter((x) => x.endsWith('.json'))) {
    try {
      const part = JSON.parse(readFileSync(path.join(dir, f), 'utf8')) as EvalPart;
      checkPart(part, f);
      if (JSON.stringify(part.settings) === JSON.stringify(settings)) done.set(part.start, part);
    } catch {
      // A chunk that does not read back is recomputed (writes are atomic, so this is rare).
    }
  }
  return done;
}

export async function runEval(o: RunEvalOptions = {}): Promise<RunEvalResult> {
  const log = o.log ?? (() => {});
  const task = o.task ?? 3;
  const split = o.split ?? 'test';
  const k = o.k ?? 10;
  if (!Number.isInteger(k) || k < 1) throw new EvalUsageError(`--k expects an integer >= 1 but received ${k}`);
  const resolved = resolveDevice(o.gpu === undefined ? 'cpu' : o.gpu === 'auto' ? 'auto' : { gpu: o.gpu }, '--gpu');
  const device: Device = resolved.kind === 'cuda' ? { gpu: resolved.index } : 'cpu';
  if (resolved.note) log(`--gpu auto: ${resolved.note}`);
  const model = pickModel(o, device);
  const builtin = !(model instanceof PredictionsRecommender) && !(model instanceof EmbeddingRecommender);
  const narrator = pickNarrator(o, builtin);

  const dataset: Dataset = await loadDataset(o.data ?? 'demo', { progress: o.progress, strict: o.strict });
  const all = buildExamples(dataset, task, split);
  if (all.length === 0) throw new EvalUsageError(`the ${split} split of ${dataset.meta.name} has no examples (users need at least ${split === 'test' ? 2 : 3} purchases)`);
  const kinds: readonly NarrativeKind[] = all.narrativeKinds;
  if (task === 3 && split !== 'test') log(`note: narratives describe each user's last purchase, so they are scored on the test split only`);

  // Fit before the settings are made: a tuned model's name (in every signature) carries its weight.
  try {
    await model.prepare?.(all, o.progress);
  } catch (e) {
    model.dispose?.();
    throw e;
  }
  if (model.summary) log(model.summary);

  const backend = await backendName(device, o.precision ?? 'fp32');
  const { encoder, note } = kinds.length ? await openEncoder(o) : { encoder: null, note: null };
  const bleu = { tokenize: '13a' as const, lowercase: false, smooth: 'exp' as const };
  const base: Omit<EvalSettings, 'critiques'> = {
    tool: VERSION,
    dataset: { name: dataset.meta.name, key: dataset.meta.key },
    split,
    task,
    k,
    excludeHistory: o.excludeHistory ?? true,
    model: model.name,
    narrator: narrator?.name ?? null,
    bleu: { ...bleu, signature: bleuSignature(1, { tokenize: bleu.tokenize, lowercase: bleu.lowercase, smoothMethod: bleu.smooth }) },
    rouge: { types: [...DEFAULT_ROUGE_TYPES], stem: o.stem ?? false },
    semsim: encoder ? { model: encoder.model } : { model: null, reason: note ?? undefined },
    ci: { samples: o.bootstrapSamples ?? 1000, confidence: 0.95, seed: o.seed ?? 0 },
    backend,
  };

  // Rows of the paper's table: task 3 with a built-in model is also run with critiques withheld.
  const sets: ExampleSet[] = task === 3 && builtin ? [all.withoutCritiques(), all] : [all];
  let range: [number, number] = [0, all.length];
  if (o.shard) {
    const { index, count } = o.shard;
    range = [Math.floor((index * all.length) / count), Math.floor(((index + 1) * all.length) / count)];
    log(`shard ${index + 1} of ${count}: examples ${range[0]}..${range[1] - 1} of ${all.length}`);
  }
  const parts: EvalPart[] = [];
  try {
    for (const set of sets) {
      const settings: EvalSettings = { ...base, critiques: set.usesCritique };
      const chunkDir = o.out ? path.join(o.out, 'chunks', settingsKey(settings)) : null;
      const done = chunkDir ? readParts(chunkDir, settings) : new Map<number, EvalPart>();
      if (done.size) log(`resuming ${set.label}: ${done.size} chunks already computed in ${chunkDir}`);
      if (chunkDir) mkdirSync(chunkDir, { recursive: true });
      const part = await evaluate(set.slice(range[0], range[1]), model, narrator, {
        settings,
        kinds,
        total: all.length,
        semsim: encoder ? { encoder, embeddingCacheDir: o.semsimCacheDir } : null,
        chunkRows: o.chunkRows,
        done,
        onChunk: chunkDir ? (p) => writeFileAtomic(path.join(chunkDir, `${p.start}-${p.end}.json`), JSON.stringify(p)) : undefined,
        progress: o.progress,
      });
      parts.push(part);
    }
  } finally {
    model.dispose?.();
    await encoder?.dispose();
  }

  const reports: EvalReport[] = [];
  for (const p of parts) reports.push(await buildReport(p, note));
  const main = reports[reports.length - 1];
  const json = reportJson(main, reports);
  const markdown = formatMarkdown(reports);
  if (o.out) {
    mkdirSync(o.out, { recursive: true });
    for (const p of parts)
      writeFileAtomic(path.join(o.out, o.shard ? `${rowTag(p.settings)}.shard-${o.shard.index}-of-${o.shard.count}.part.json` : `${rowTag(p.settings)}.part.json`), JSON.stringify(p));
    if (!o.shard) {
      writeFileAtomic(path.join(o.out, 'report.json'), JSON.stringify(json, null, 2) + '\n');
      writeFileAtomic(path.join(o.out, 'report.md'), markdown);
    }
  }
  return { reports, parts, markdown, json };
}
