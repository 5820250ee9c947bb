// Runs an experiment: every (model, task) eval into its own folder under `out`, then the report over
// all of them. A rerun skips the evals that finished with the same options and inputs (and resumes an
// interrupted one from its chunks, as eval --out does), so a run file can be run until it is done.
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';

import type { Dataset } from '../data/dataset.js';
import { loadDataset } from '../data/load.js';
import { runEval, type RunEvalOptions } from '../eval/run.js';
import { writeReport, type WrittenReport } from '../report/index.js';
import { writeFileAtomic } from '../util/files.js';
import type { ProgressFn } from '../util/progress.js';
import { VERSION } from '../version.js';
import type { Experiment, ExperimentModel } from './config.js';

/** Beside each eval's results: the options it ran with, so that a rerun knows whether it is done. */
const DONE_FILE = 'run-options.json';

export interface PlannedEval {
  model: string;
  task: number;
  dir: string;
  options: Omit<RunEvalOptions, 'progress' | 'log'>;
  /** The options and the contents of every file they read, by hash: equal fingerprints, equal results. */
  fingerprint: string;
}

export interface ExperimentResult {
  evals: (PlannedEval & { skipped: boolean })[];
  report: WrittenReport;
  config: string;
}

function sha256File(file: string): string {
  return createHash('sha256').update(readFileSync(file)).digest('hex');
}

/** The contents of a file or folder (every file in it, by relative path), by hash. */
function contentHash(p: string): string {
  if (!statSync(p).isDirectory()) return sha256File(p);
  const h = createHash('sha256');
  const walk = (d: string) => {
    for (const name of readdirSync(d).sort()) {
      const f = path.join(d, name);
      if (statSync(f).isDirectory()) walk(f);
      else h.update(`${path.relative(p, f)}\0${sha256File(f)}\0`);
    }
  };
  walk(p);
  return h.digest('hex');
}

export function planEvals(exp: Experiment): PlannedEval[] {
  const evals: PlannedEval[] = [];
  const dataHash = exp.data === 'demo' ? 'demo' : contentHash(exp.data);
  for (const m of exp.models)
    for (const task of exp.tasks.filter((t) => m.tasks.includes(t))) {
      const options: PlannedEval['options'] = {
        data: exp.data,
        dataOptions: { category: exp.category, format: exp.format as NonNullable<RunEvalOptions['dataOptions']>['format'], schema: exp.schema, cacheDir: exp.cacheDir },
        task,
        split: exp.split,
        ...modelOptions(m),
        // Narrative kinds belong to task 3 (eval refuses them elsewhere).
        ...(task === 3 && exp.narratives ? { narratives: exp.narratives } : {}),
        excludeHistory: exp.excludeHistory,
        k: exp.k,
        semsim: exp.semsim,
        offline: true,
        stem: exp.stem,
        seed: exp.seed,
        bootstrapSamples: exp.bootstrap,
      };
      const dir = path.join(exp.out, m.name, `task${task}`);
      const inputs = [exp.schema, m.predictions, m.model && existsSync(m.model) ? m.model : undefined].filter((x): x is string => !!x).map((f) => [f, contentHash(f)]);
      const fingerprint = createHash('sha256').update(JSON.stringify({ tool: VERSION, options, dataHash, inputs })).digest('hex');
      evals.push({ model: m.name, task, dir: path.join(dir), options: { ...options, out: dir }, fingerprint });
    }
  // Models whose tasks leave nothing to run are a mistake in the file, not a silent gap in the table.
  for (const m of exp.models)
    if (!evals.some((e) => e.model === m.name)) throw new Error(`${exp.file}: model '${m.name}' runs none of the experiment's tasks (${exp.tasks.join(', ')}): its tasks are ${m.tasks.join(', ')}`);
  return evals;
}

function modelOptions(m: ExperimentModel): Pick<RunEvalOptions, 'model' | 'narrator' | 'predictions' | 'resolve'> {
  return { ...(m.model ? { model: m.model } : {}), ...(m.narrator ? { narrator: m.narrator } : {}), ...(m.predictions ? { predictions: m.predictions } : {}), ...(m.resolve ? { resolve: m.resolve } : {}) };
}

function isDone(e: PlannedEval): boolean {
  const file = path.join(e.dir, DONE_FILE);
  if (!existsSync(file) || !existsSync(path.join(e.dir, 'report.json'))) return false;
  try {
    return (JSON.parse(readFileSync(file, 'utf8')) as { fingerprint?: string }).fingerprint === e.fingerprint;
  } catch {
    return false;
  }
}

/** A path as the user reads it: relative to the working folder when inside it. */
const shown = (p: string) => {
  const rel = path.relative(process.cwd(), p);
  return rel && !rel.startsWith('..') && !path.isAbsolute(rel) ? rel : p;
};

export async function runExperiment(exp: Experiment, o: { progress?: ProgressFn; log?: (line: string) => void } = {}): Promise<ExperimentResult> {
  const log = o.log ?? (() => {});
  const evals = planEvals(exp);
  // The resolved configuration first: what will run is on disk before anything runs.
  const config = path.join(exp.out, 'resolved-config.json');
  mkdirSync(exp.out, { recursive: true });
  writeFileAtomic(
    config,
    JSON.stringify({ tool: `regen-bench ${VERSION}`, run_file: exp.file, resolved: exp, evals: evals.map((e) => ({ model: e.model, task: e.task, dir: e.dir, options: e.options, fingerprint: e.fingerprint })) }, null, 2) + '\n',
  );
  const done: ExperimentResult['evals'] = [];
  // Every eval reads the same data: loaded once, when the first eval that needs it runs.
  let dataset: Dataset | undefined;
  for (const [i, e] of evals.entries()) {
    const what = `eval ${i + 1} of ${evals.length}: ${e.model}, task ${e.task}`;
    if (isDone(e)) {
      log(`${what}: done before (${shown(e.dir)}), skipped`);
      done.push({ ...e, skipped: true });
      continue;
    }
    log(`${what} -> ${shown(e.dir)}`);
    dataset ??= await loadDataset(e.options.data!, { ...e.options.dataOptions, progress: o.progress });
    const result = await runEval({ ...e.options, loaded: dataset, progress: o.progress, log });
    if (result.badInput.length) log(`${what}: ${result.badInput.join('; ')}`);
    writeFileAtomic(path.join(e.dir, DONE_FILE), JSON.stringify({ fingerprint: e.fingerprint, options: e.options, signatures: result.reports.map((r) => r.signature) }, null, 2) + '\n');
    done.push({ ...e, skipped: false });
  }
  const baselineDir = exp.baseline ? evals.find((e) => e.model === exp.baseline)!.dir : undefined;
  const ext = { markdown: 'md', csv: 'csv', latex: 'tex', json: 'json' }[exp.report.format];
  log(`report of ${evals.length} evals -> ${shown(path.join(exp.out, `report.${ext}`))}, ${shown(exp.report.html)}`);
  const report = await writeReport({
    runs: evals.map((e) => e.dir),
    baseline: baselineDir,
    textMetrics: exp.report.metrics,
    format: exp.report.format,
    out: path.join(exp.out, `report.${ext}`),
    html: exp.report.html,
    samples: exp.bootstrap,
    seed: exp.seed,
    progress: o.progress,
  });
  return { evals: done, report, config };
}
