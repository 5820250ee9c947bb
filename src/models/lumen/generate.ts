// `regen-bench generate` as a library call: LUMEN prompts for every example of a task's split, decoded
// in batches by a LUMEN checkpoint, written as the predictions file that `regen-bench eval
// --predictions` reads: {"user", "items": [ranked item ids], "narratives": {"<kind>": text}}.
//
// items: the ranked list of the row's first item step (the drawn item, then the best others by
// score from the same fused pass; greedy gives the top-k). narratives (task 3): the text decoded
// after that item, a leading "Text:" removed. With several narrative kinds, each kind is its own
// prompt and decoding; items come from the first kind's.
import { mkdirSync } from 'node:fs';
import path from 'node:path';

import type { Dataset, NarrativeKind } from '../../data/dataset.js';
import { NARRATIVE_KINDS } from '../../data/dataset.js';
import { loadDataset, type LoadOptions as DataLoadOptions } from '../../data/load.js';
import type { Precision } from '../../engine/engine.js';
import { gpuUnavailableReason } from '../../engine/device.js';
import { buildExamples, type ExampleSet, type SplitName, type TaskId } from '../../tasks/examples.js';
import { buildPrompts, NARRATIVE_NAMES, parseNarrativeKind } from '../../tasks/prompts.js';
import { writeFileAtomic } from '../../util/files.js';
import { checkOption, OptionError } from '../../util/option-error.js';
import { throttle, type ProgressFn } from '../../util/progress.js';
import { describe, expectInteger } from '../../engine/validate.js';
import { LumenCheckpoint } from './checkpoint.js';
import { LumenDecoder, type DecodedRow, type DecodeTiming, type StopReason } from './decoder.js';
import { encodePrompt } from './prompt.js';
import { resolveSampling, type ResolvedSampling, type SamplingOptions } from '../../engine/decode-step.js';

export interface GenerateOptions {
  /** The LUMEN checkpoint folder. */
  model: string;
  /** A dataset source (see loadDataset); default the embedded demo. */
  data?: string;
  dataOptions?: Omit<DataLoadOptions, 'progress'>;
  /** Default 3 (item and narrative); 1 and 2 decode the item only. */
  task?: TaskId;
  split?: SplitName;
  /** Task 3: narrative kinds (camelCase or snake_case names, or 'all'); default purchase_reason. */
  narratives?: readonly string[];
  /** The predictions file (default predictions.jsonl); written atomically. */
  out?: string;
  /** Rows decoded together (default 32). */
  batch?: number;
  /**
   * Run on this CUDA device: the decoder body (onnxruntime's CUDA provider) and the decoding step (the
   * CUDA backend), each on the CPU when unavailable, with a note; 'auto': GPU 0 when one is usable.
   */
  gpu?: number | 'auto';
  /** Generated tokens per row at most, the item included (default 64; tasks 1 and 2 stop after the item). */
  maxNewTokens?: number;
  sampling?: SamplingOptions;
  /** Length of each ranked item list (default 10, eval's k). */
  k?: number;
  /** Only the first n examples of the split. */
  limit?: number;
  /** Prompt budget in words (default that of `regen-bench prompts`, 2,048). */
  maxWords?: number;
  /** Heads in the native engine at this precision (bf16 needs AVX512-BF16). */
  precision?: Precision;
  /** Native step threads (default REGEN_THREADS or every core). */
  threads?: number;
  progress?: ProgressFn;
  log?: (line: string) => void;
}

export interface GenerateResult {
  file: string;
  lines: number;
  task: TaskId;
  split: SplitName;
  narratives: string[];
  /** Examples whose decoding drew no item (their lines have empty item lists). */
  withoutItem: number;
  /** Prompt items (ID_TOKEN) the checkpoint has no row for (embedded as zeros). */
  unknownPromptItems: number;
  /** History items the checkpoint lacks (nothing to exclude). */
  unknownHistoryItems: number;
  stops: Record<StopReason, number>;
  tokens: number;
  seconds: number;
  tokensPerSecond: number;
  timing: DecodeTiming;
  /** Where the decoder body ran (cpu, cuda:N) and the native step's kernel. */
  backend: { body: string; step: string };
  sampling: ResolvedSampling;
  model: { dir: string; fingerprint: string };
  notes: string[];
}

/** A bad generate option (the message names it as the caller does: options.k, or --k). */
export class GenerateUsageError extends OptionError {
  override name = 'GenerateUsageError';
}

/** The narrative kinds asked for (task 3). */
export function resolveNarratives(task: TaskId, names: readonly string[] | undefined): NarrativeKind[] {
  if (task !== 3) {
    if (names && names.length)
      throw new GenerateUsageError('narratives', (label) => `${label('narratives')} applies to task 3 only (tasks 1 and 2 predict the item alone): drop it, or use ${label('task')} 3`);
    return [];
  }
  const list = names && names.length ? names : ['purchase_reason'];
  if (list.length === 1 && list[0] === 'all') return [...NARRATIVE_KINDS];
  const kinds: NarrativeKind[] = [];
  for (const n of list) {
    const kind = parseNarrativeKind(n, 'narratives');
    if (!kinds.includes(kind)) kinds.push(kind);
  }
  return kinds;
}

/** The text of a decoded row after its first item (all of it without an item), items written as their ids, "Text:" removed. */
export function narrativeText(ck: LumenCheckpoint, row: DecodedRow): string {
  const first = row.item >= 0 ? Array.from(row.modes).indexOf(1) : -1;
  const parts: string[] = [];
  let run: number[] = [];
  const flush = () => {
    if (run.length) parts.push(ck.tokenizer.decode(run, { skip_special_tokens: true }));
    run = [];
  };
  for (let i = first + 1; i < row.tokens.length; i++) {
    if (row.modes[i] === 1) {
      flush();
      parts.push(ck.itemIds[row.tokens[i]]);
    } else run.push(row.tokens[i]);
  }
  flush();
  return parts
    .map((p) => p.trim())
    .filter(Boolean)
    .join(' ')
    .replace(/^Text\s*:\s*/, '')
    .trim();
}

export async function generatePredictions(o: GenerateOptions): Promise<GenerateResult> {
  const log = o.log ?? (() => {});
  if (typeof o !== 'object' || o === null || typeof o.model !== 'string') throw new TypeError(`Expected options { model: <checkpoint folder> } but received ${describe(o)}`);
  const task = o.task ?? 3;
  if (task !== 1 && task !== 2 && task !== 3) throw new GenerateUsageError('task', (label) => `Expected ${label('task')} to be 1, 2 or 3 but received ${describe(task)}`);
  const split = o.split ?? 'test';
  if (split !== 'test' && split !== 'valid') throw new GenerateUsageError('split', (label) => `Expected ${label('split')} to be test or valid but received ${describe(split)}`);
  if (task === 3 && split !== 'test')
    throw new GenerateUsageError(
      'split',
      (label) => `task 3 (narratives) exists on the test split only (REGEN's narratives describe each user's last purchase): use ${label('split')} test, or ${label('task')} 1 or 2 on the valid split`,
    );
  const kinds = resolveNarratives(task, o.narratives);
  const batch = checkOption('batch', (name) => expectInteger(o.batch ?? 32, name, 1, 4096));
  const maxNewTokens = checkOption('maxNewTokens', (name) => expectInteger(o.maxNewTokens ?? 64, name, 1, 1 << 16));
  const k = checkOption('k', (name) => expectInteger(o.k ?? 10, name, 1, 1 << 16));
  const limit = o.limit === undefined ? Infinity : checkOption('limit', (name) => expectInteger(o.limit, name, 1));
  const maxWords = o.maxWords === undefined ? undefined : checkOption('maxWords', (name) => expectInteger(o.maxWords, name, 1));
  const sampling = resolveSampling(o.sampling);
  const out = o.out ?? 'predictions.jsonl';
  const started = performance.now();

  let gpu = o.gpu;
  if (gpu === 'auto') {
    const reason = gpuUnavailableReason();
    if (reason) log(`note: no usable GPU (${reason}); running on the CPU`);
    gpu = reason ? undefined : 0;
  }
  const ck = await LumenCheckpoint.load(o.model, { gpu, precision: o.precision, threads: o.threads });
  const notes = [...ck.notes];
  for (const n of ck.notes) log(`note: ${n}`);
  try {
    const dataset: Dataset = await loadDataset(o.data ?? 'demo', { ...o.dataOptions, progress: o.progress });
    const all: ExampleSet = buildExamples(dataset, task, split);
    const n = Math.min(all.length, limit);
    if (n === 0) throw new GenerateUsageError('data', () => `the ${split} split of ${dataset.meta.name} has no examples (users need at least ${split === 'test' ? 2 : 3} purchases)`);
    const examples = all.slice(0, n);

    // History exclusion lists, in checkpoint item indices.
    let unknownHistoryItems = 0;
    const history: Int32Array[] = [];
    for (let i = 0; i < n; i++) {
      const ids: number[] = [];
      for (const item of examples.historyOf(i)) {
        const index = ck.itemIndex(dataset.items.asin.get(item) ?? String(item));
        if (index === undefined) unknownHistoryItems++;
        else ids.push(index);
      }
      history.push(Int32Array.from(ids));
    }

    const decoder = new LumenDecoder(ck);
    const ranked: (Int32Array | null)[] = new Array(n).fill(null);
    const texts: Partial<Record<NarrativeKind, string[]>> = {};
    const stops: Record<StopReason, number> = { eos: 0, length: 0, item: 0, 'no-item': 0 };
    let unknownPromptItems = 0;
    const progress = throttle(o.progress);
    const passes: (NarrativeKind | null)[] = kinds.length ? kinds : [null];
    for (const [pass, kind] of passes.entries()) {
      const prompts = buildPrompts(dataset, { task, template: 'lumen', split, ...(kind ? { narrative: kind } : {}), budget: { total: maxWords } });
      const line = (i: number) => prompts.line(i, { inputOnly: true })!;
      // Longest prompts first: similar lengths share a batch (less padding), and memory peaks early.
      const order = Array.from({ length: n }, (_, i) => i);
      const words = order.map((i) => line(i).words);
      order.sort((a, b) => words[b] - words[a] || a - b);
      const phase = `generating${kind ? ` ${NARRATIVE_NAMES[kind]}` : ''} (task ${task}, ${split}, ${passes.length > 1 ? `pass ${pass + 1} of ${passes.length}, ` : ''}batch ${batch})`;
      progress?.({ phase, done: 0, total: n, unit: 'rows' });
      const kindTexts = kind ? (texts[kind] = new Array<string>(n).fill('')) : null;
      for (let b0 = 0; b0 < n; b0 += batch) {
        const rows = order.slice(b0, b0 + batch);
        const requests = rows.map((i) => {
          const l = line(i);
          const prompt = encodePrompt(ck, l.input, l.id_tokens ?? [], `prompt of user ${l.user}`);
          unknownPromptItems += prompt.unknownItems.length;
          return { prompt, exclude: history[i], stream: ((examples.base + i) * 8 + pass) >>> 0 };
        });
        const decoded = await decoder.decode(requests, { maxNewTokens, sampling, k, stopAfterItem: task !== 3, batchSize: batch });
        decoded.forEach((row, j) => {
          const i = rows[j];
          stops[row.stop]++;
          if (pass === 0) ranked[i] = row.ranked;
          if (kindTexts) kindTexts[i] = narrativeText(ck, row);
        });
        progress?.({ phase, done: Math.min(n, b0 + batch), total: n, unit: 'rows' });
      }
    }

    const lines: string[] = [];
    let withoutItem = 0;
    for (let i = 0; i < n; i++) {
      const list = ranked[i] ?? new Int32Array(0);
      if (list.length === 0) withoutItem++;
      const rec: Record<string, unknown> = {
        user: dataset.users.reviewerId.get(examples.users[i]) ?? String(examples.users[i]),
        items: Array.from(list, (id) => ck.itemIds[id]),
      };
      if (kinds.length) rec.narratives = Object.fromEntries(kinds.map((kind) => [NARRATIVE_NAMES[kind], texts[kind]![i]]));
      lines.push(JSON.stringify(rec));
    }
    mkdirSync(path.dirname(path.resolve(out)), { recursive: true });
    const written = writeFileAtomic(out, lines.join('\n') + '\n');
    if (written.how !== 'created') notes.push(written.note);
    if (withoutItem) notes.push(`${withoutItem} of ${n} examples drew no item (no START within ${maxNewTokens} tokens): their item lists are empty and eval scores them as misses; a generation_prefix ending in START in config.json makes every row start with its item`);
    if (unknownPromptItems) notes.push(`${unknownPromptItems} prompt items (ID_TOKEN) are not in the checkpoint's item list: embedded as zeros`);
    if (unknownHistoryItems) notes.push(`${unknownHistoryItems} history items are not in the checkpoint's item list: nothing to exclude for them`);
    const seconds = (performance.now() - started) / 1000;
    const timing = { ...decoder.timing };
    return {
      file: out,
      lines: n,
      task,
      split,
      narratives: kinds.map((kind) => NARRATIVE_NAMES[kind]),
      withoutItem,
      unknownPromptItems,
      unknownHistoryItems,
      stops,
      tokens: timing.tokens,
      seconds,
      tokensPerSecond: timing.tokens / (timing.totalMs / 1000),
      timing,
      backend: {
        body: ck.provider,
        step: ck.textHead.backend === 'cuda' ? `${ck.textHead.deviceName.replace(' ', '-')}-${ck.textHead.precision}` : `cpu-${ck.textHead.isa}-${ck.textHead.precision}`,
      },
      sampling,
      model: { dir: ck.config.dir, fingerprint: ck.fingerprint },
      notes,
    };
  } finally {
    await ck.dispose();
  }
}
