// `regen-bench baseline`: run a built-in model (and its narrator) over a task's examples and write
// its output in the predictions format that `eval --predictions` reads:
//   {"user": "<reviewer id>", "items": ["<asin>", ... best first], "narratives": {"<kind>": "text", ...}}
// Narratives (snake_case kinds) are written for task 3 on the test split. The model never sees the
// targets: with --exclude-history (default) a list leaves out every earlier purchase, so a repeat
// purchase target is a miss when the file is evaluated, exactly as with `eval --model`. The file is
// written under a temporary name and renamed when complete.
import type { NarrativeKind } from '../data/dataset.js';
import { loadDataset, type LoadOptions } from '../data/load.js';
import { Engine, type Device } from '../engine/engine.js';
import { createNarrator, DEFAULT_NARRATOR } from '../models/builtin.js';
import { buildExamples, ExampleSet, type SplitName, type TaskId } from '../tasks/examples.js';
import { AtomicFileWriter } from '../util/files.js';
import type { ProgressFn } from '../util/progress.js';
import type { OnnxNarratorOptions } from '../models/llm/narrator.js';
import { EvalUsageError, pickModel, scoredKinds } from './run.js';

export interface BaselineOptions {
  data?: string;
  /** How the source is read (format, schema, cache folder). */
  dataOptions?: Omit<LoadOptions, 'progress' | 'strict'>;
  /** Where tables live and searches run: 'cpu' (default), { gpu: N }, or 'auto'. */
  device?: Device;
  task?: TaskId;
  split?: SplitName;
  model?: string;
  narrator?: string;
  /** onnx:DIR narrators: decoding settings, prompt budget, generation cache. */
  narratorOptions?: OnnxNarratorOptions;
  /** Task 3: write only these narrative kinds (default every kind). */
  narratives?: readonly string[];
  encoder?: string;
  offline?: boolean;
  fusionWeight?: number;
  /** Items listed per user (default 100). */
  k?: number;
  excludeHistory?: boolean;
  out: string;
  strict?: boolean;
  progress?: ProgressFn;
  log?: (line: string) => void;
}

export interface BaselineResult {
  file: string;
  users: number;
  model: string;
  narrator: string | null;
}

const snake = (kind: NarrativeKind) => kind.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
const CHUNK = 8192;

export async function runBaseline(o: BaselineOptions): Promise<BaselineResult> {
  const task = o.task ?? 3;
  const split = o.split ?? 'test';
  const k = o.k ?? 100;
  if (!Number.isInteger(k) || k < 1) throw new EvalUsageError('k', (l) => `${l('k')} expects an integer >= 1 but received ${k}`);
  const engine = Engine.open({ device: o.device });
  if (engine.note) o.log?.(`device 'auto': ${engine.note}`);
  const model = pickModel({ model: o.model ?? 'pop', encoder: o.encoder, offline: o.offline, fusionWeight: o.fusionWeight }, engine);
  const narrator = createNarrator(o.narrator ?? DEFAULT_NARRATOR, { ...o.narratorOptions, gpu: typeof o.device === 'object' ? o.device.gpu : undefined });
  const dataset = await loadDataset(o.data ?? 'demo', { ...o.dataOptions, progress: o.progress, strict: o.strict });
  const all = buildExamples(dataset, task, split);
  if (all.length === 0) throw new EvalUsageError('data', () => `the ${split} split of ${dataset.meta.name} has no examples`);
  const kinds = scoredKinds(all, o.narratives);
  // The same rows without their targets (-1): exclusion then removes the whole history.
  const rows = dataset.split[split];
  const blind = new ExampleSet(dataset, task, split, { ...rows, targets: new Int32Array(rows.targets.length).fill(-1) });
  const writer = new AtomicFileWriter(o.out);
  try {
    await model.prepare?.(all, o.progress);
    if (model.summary) o.log?.(model.summary);
    if (kinds.length) await narrator.prepare?.(o.progress);
    for (let start = 0; start < all.length; start += CHUNK) {
      const set = blind.slice(start, Math.min(all.length, start + CHUNK));
      const ranking = await model.recommend(set, { k, excludeHistory: o.excludeHistory ?? true });
      const texts: Record<string, string[]> = kinds.length ? await narrator.narrate(set, ranking.top, ranking.k, kinds) : {};
      const lines: string[] = [];
      for (let i = 0; i < set.length; i++) {
        const items: string[] = [];
        for (let j = 0; j < ranking.k; j++) {
          const id = ranking.top[i * ranking.k + j];
          if (id >= 0) items.push(dataset.items.asin.get(id) ?? String(id));
        }
        const rec: Record<string, unknown> = { user: dataset.users.reviewerId.get(set.users[i]) ?? String(set.users[i]), items };
        if (kinds.length) rec.narratives = Object.fromEntries(kinds.map((kind) => [snake(kind), texts[kind][i]]));
        lines.push(JSON.stringify(rec));
      }
      writer.write(lines.join('\n') + '\n');
      o.progress?.({ phase: `${model.name}: writing predictions`, done: start + set.length, total: all.length, unit: 'rows' });
    }
    const written = writer.commit();
    if (written.how !== 'created') o.log?.(written.note);
  } catch (e) {
    writer.abort();
    throw e;
  } finally {
    model.dispose?.();
    await narrator.dispose?.();
  }
  const narrated = narrator.report?.();
  if (narrated) o.log?.(narrated);
  return { file: o.out, users: all.length, model: model.name, narrator: kinds.length ? narrator.name : null };
}
