// Runs an experiment: every (model, task) eval into its own folder under `out`, then the report over
// all of them. A rerun skips the evals that finished with the same options and inputs (and resumes an
// interrupted one from its chunks, as eval --out does), so a run file can be run until it is done.
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';

import type { Dataset } from '../data/dataset.js';
import { contentHash } from '../data/files.js';
import { defaultCacheDir, loadDataset } from '../data/load.js';
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
  /** Inputs whose share of bad lines or ids is above the limit, per eval ("model, task N: ..."), as eval's badInput. */
  badInput: string[];
  report: WrittenReport;
  config: string;
}

/**
 * The contents of a file or folder (every file in it, by path relative to it), by hash; files through
 * the data layer's memo (size, inode, times, sampled blocks), so a rerun does not read gigabytes again.
 * `skip` (the results folder, when it lies inside a data folder) is left out.
 */
async function contentHashOf(p: string, memoDir: string, skip: string): Promise<string> {
  if (!statSync(p).isDirectory()) return contentHash(p, memoDir);
  const h = createHash('sha256');
  const walk = async (d: string) => {
    for (const name of readdirSync(d).sort()) {
      const f = path.join(d, name);
      if (f === skip || name.startsWith('.')) continue;
      if (statSync(f).isDirectory()) await walk(f);
      else h.update(`${path.relative(p, f)}\0${await contentHash(f, memoDir)}\0`);
    }
  };
  await walk(p);
  return h.digest('hex');
}

export async function planEvals(exp: Experiment): Promise<PlannedEval[]> {
  const evals: PlannedEval[] = [];
  const memo = path.join(exp.cacheDir ?? defaultCacheDir(), 'hashes');
  const hash = (p: string) => contentHashOf(p, memo, exp.out);
  const dataHash = exp.data === 'demo' ? 'demo' : await hash(exp.data);
  // Paths enter the fingerprint relative to the run file: a moved experiment folder is still done.
  const rel = (p: string | undefined) => (p === undefined ? undefined : path.relative(path.dirname(exp.file), p));
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
      const files = [exp.schema, m.predictions, m.model && path.isAbsolute(m.model) ? m.model : undefined].filter((x): x is string => !!x);
      const inputs: [string, string][] = [];
      for (const f of files) inputs.push([rel(f)!, await hash(f)]);
      const { dataOptions, ...rest } = options;
      const portable = {
        ...rest,
        data: exp.data === 'demo' ? 'demo' : rel(exp.data),
        ...(rest.predictions ? { predictions: rel(rest.predictions) } : {}),
        ...(rest.model && path.isAbsolute(rest.model) ? { model: rel(rest.model) } : {}),
        ...(rest.narrator?.startsWith('onnx:') ? { narrator: `onnx:${rel(rest.narrator.slice(5))}` } : {}),
        // The cache folder changes where things are kept, not the results.
        dataOptions: { category: dataOptions?.category, format: dataOptions?.format, schema: rel(exp.schema) },
      };
      const fingerprint = createHash('sha256').update(JSON.stringify({ tool: VERSION, options: portable, dataHash, inputs })).digest('hex');
      evals.push({ model: m.name, task, dir, options: { ...options, out: dir }, fingerprint });
    }
  // Models whose tasks leave nothing to run are a mistake in the file, not a silent gap in the table.
  for (const m of exp.models)
    if (!evals.some((e) => e.model === m.name)) throw new Error(`${exp.file}: model '${m.name}' runs none of the experiment's tasks (${exp.tasks.join(', ')}): its tasks are ${m.tasks.join(', ')}`);
  return evals;
}

function modelOptions(m: ExperimentModel): Pick<RunEvalOptions, 'model' | 'narrator' | 'predictions' | 'resolve'> {
  return { ...(m.model ? { model: m.model } : {}), ...(m.narrator ? { narrator: m.narrator } : {}), ...(m.predictions ? { predictions: m.predictions } : {}), ...(m.resolve ? { resolve: m.resolve } : {}) };
}

/** The record of a finished eval with this fingerprint (its bad-input findings included), or null. */
function doneRecord(e: PlannedEval): { badInput: string[] } | null {
  const file = path.join(e.dir, DONE_FILE);
  if (!existsSync(file) || !existsSync(path.join(e.dir, 'report.json'))) return null;
  try {
    const r = JSON.parse(readFileSync(file, 'utf8')) as { fingerprint?: string; badInput?: string[] };
    return r.fingerprint === e.fingerprint ? { badInput: Array.isArray(r.badInput) ? r.badInput : [] } : null;
  } catch {
    return null;
  }
}

/** A path as the user reads it: relative to the working folder when inside it. */
const shown = (p: string) => {
  const rel = path.relative(process.cwd(), p);
  return rel && !rel.startsWith('..') && !path.isAbsolute(rel) ? rel : p;
};

export async function runExperiment(exp: Experiment, o: { progress?: ProgressFn; log?: (line: string) => void } = {}): Promise<ExperimentResult> {
  const log = o.log ?? (() => {});
  const evals = await planEvals(exp);
  // The resolved configuration first: what will run is on disk before anything runs.
  const config = path.join(exp.out, 'resolved-config.json');
  mkdirSync(exp.out, { recursive: true });
  writeFileAtomic(
    config,
    JSON.stringify({ tool: `regen-bench ${VERSION}`, run_file: exp.file, resolved: exp, evals: evals.map((e) => ({ model: e.model, task: e.task, dir: e.dir, options: e.options, fingerprint: e.fingerprint })) }, null, 2) + '\n',
  );
  const done: ExperimentResult['evals'] = [];
  const badInput: string[] = [];
  // Every eval reads the same data: loaded once, when the first eval that needs it runs.
  let dataset: Dataset | undefined;
  for (const [i, e] of evals.entries()) {
    const what = `eval ${i + 1} of ${evals.length}: ${e.model}, task ${e.task}`;
    const before = doneRecord(e);
    if (before) {
      log(`${what}: done before (${shown(e.dir)}), skipped`);
      badInput.push(...before.badInput.map((b) => `${e.model}, task ${e.task}: ${b}`));
      done.push({ ...e, skipped: true });
      continue;
    }
    log(`${what} -> ${shown(e.dir)}`);
    dataset ??= await loadDataset(e.options.data!, { ...e.options.dataOptions, progress: o.progress });
    const result = await runEval({ ...e.options, loaded: dataset, progress: o.progress, log });
    badInput.push(...result.badInput.map((b) => `${e.model}, task ${e.task}: ${b}`));
    writeFileAtomic(
      path.join(e.dir, DONE_FILE),
      JSON.stringify({ fingerprint: e.fingerprint, options: e.options, signatures: result.reports.map((r) => r.signature), badInput: result.badInput }, null, 2) + '\n',
    );
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
  return { evals: done, badInput, report, config };
}
