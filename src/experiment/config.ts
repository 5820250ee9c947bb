// A run file (`regen-bench run experiment.yaml`, or .json): the data, tasks, models, cut-offs and metric
// settings of an experiment, written down once. Read strictly: an unknown key or a wrong type is an
// error that names the file, the line and the key path, and says what is expected. Relative paths are
// resolved against the run file's folder, so an experiment folder can be moved as a whole.
import { existsSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';

import { DEFAULT_SEMSIM_MODEL } from '../metrics/text/semsim.js';
import { createNarrator, createRecommender } from '../models/builtin.js';
import type { SplitName, TaskId } from '../tasks/examples.js';
import { isOptionProblem } from '../util/option-error.js';
import { REPORT_FORMATS, type ReportFormat } from '../report/formats.js';
import { TEXT_METRICS, type TextMetric } from '../report/table.js';

export class ExperimentError extends Error {
  override name = 'ExperimentError';
}

export interface ExperimentModel {
  /** Its folder under `out` and its name in messages. */
  name: string;
  /** A built-in model (pop, sknn, critique-bm25:sknn...), or the absolute path of a `regen-bench train` checkpoint. */
  model?: string;
  narrator?: string;
  /** Absolute path of a predictions JSONL file. */
  predictions?: string;
  resolve?: 'fuzzy' | 'exact' | 'off';
  /** The tasks this model runs (default: the experiment's). */
  tasks: TaskId[];
}

export interface Experiment {
  /** The run file, absolute. */
  file: string;
  data: string;
  category?: string;
  format?: string;
  schema?: string;
  cacheDir?: string;
  split: SplitName;
  tasks: TaskId[];
  k: number[];
  bootstrap: number;
  seed: number;
  stem: boolean;
  /** Task 3: the narrative kinds scored (default every kind). */
  narratives?: string[];
  excludeHistory: boolean;
  /** A sentence encoder (hub id or folder; true in the file: the default one), or false for none (the default). */
  semsim: string | false;
  models: ExperimentModel[];
  /** The model every other is compared with (by name). */
  baseline?: string;
  /** The results folder, absolute. */
  out: string;
  report: { format: ReportFormat; metrics: TextMetric[]; html: string };
}

const TOP_KEYS = ['data', 'category', 'format', 'schema', 'cache_dir', 'split', 'tasks', 'k', 'bootstrap', 'seed', 'stem', 'narratives', 'exclude_history', 'semsim', 'models', 'baseline', 'out', 'report'];
const MODEL_KEYS = ['name', 'model', 'narrator', 'predictions', 'resolve', 'checkpoint', 'tasks'];
const REPORT_KEYS = ['format', 'metrics', 'html'];

type Where = (keyPath: (string | number)[]) => string;

export async function readExperiment(file: string): Promise<Experiment> {
  const abs = path.resolve(file);
  if (!existsSync(abs) || !statSync(abs).isFile()) throw new ExperimentError(`${file}: no such run file (give a .yaml, .yml or .json file)`);
  const ext = path.extname(abs).toLowerCase();
  if (!['.yaml', '.yml', '.json'].includes(ext)) throw new ExperimentError(`${file}: a run file is .yaml, .yml or .json (this one ends in '${ext || 'nothing'}')`);
  const text = readFileSync(abs, 'utf8');
  // YAML is a superset of JSON: one parser for both, and it knows every node's line.
  const { LineCounter, parseDocument } = await import('yaml');
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, uniqueKeys: true, prettyErrors: false });
  if (doc.errors.length) {
    const e = doc.errors[0];
    const at = lines.linePos(e.pos[0]);
    throw new ExperimentError(`${file}:${at.line}: ${e.message.split('\n')[0]}`);
  }
  const where: Where = (keyPath) => {
    const node = doc.getIn(keyPath, true) as { range?: [number, number, number] } | undefined;
    const line = node?.range ? `:${lines.linePos(node.range[0]).line}` : '';
    return `${file}${line}: ${keyPath.length ? keyPath.map((k, i) => (typeof k === 'number' ? `[${k}]` : `${i ? '.' : ''}${k}`)).join('') : 'the file'}`;
  };
  const raw = doc.toJS() as unknown;
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) throw new ExperimentError(`${where([])} is not a mapping of settings (data, tasks, models, out, ...): see the README's "Run files"`);
  return resolveExperiment(raw as Record<string, unknown>, abs, where);
}

function resolveExperiment(raw: Record<string, unknown>, file: string, where: Where): Experiment {
  const dir = path.dirname(file);
  const fail = (keyPath: (string | number)[], what: string): never => {
    throw new ExperimentError(`${where(keyPath)} ${what}`);
  };
  const unknown = (obj: Record<string, unknown>, allowed: string[], at: (string | number)[]) => {
    for (const key of Object.keys(obj))
      if (!allowed.includes(key)) fail([...at, key], `is not a setting here (expected one of ${allowed.join(', ')})`);
  };
  const str = (x: unknown, at: (string | number)[]): string => (typeof x === 'string' && x.trim() !== '' ? x : fail(at, `must be a non-empty string, not ${JSON.stringify(x)}`));
  const int = (x: unknown, at: (string | number)[], lo: number, hi: number): number =>
    typeof x === 'number' && Number.isInteger(x) && x >= lo && x <= hi ? x : fail(at, `must be an integer in [${lo}, ${hi}], not ${JSON.stringify(x)}`);
  const bool = (x: unknown, at: (string | number)[]): boolean => (typeof x === 'boolean' ? x : fail(at, `must be true or false, not ${JSON.stringify(x)}`));
  const list = <T>(x: unknown, at: (string | number)[], each: (v: unknown, at: (string | number)[]) => T): T[] => {
    const arr = Array.isArray(x) ? x : [x];
    if (arr.length === 0) fail(at, 'must not be empty');
    return arr.map((v, i) => each(v, Array.isArray(x) ? [...at, i] : at));
  };
  const file_ = (x: unknown, at: (string | number)[], kind: 'file' | 'folder' | 'either'): string => {
    const p = path.resolve(dir, str(x, at));
    if (!existsSync(p)) fail(at, `names ${p}, which does not exist (relative paths are read from the run file's folder, ${dir})`);
    const isDir = statSync(p).isDirectory();
    if (kind === 'file' && isDir) fail(at, `names ${p}, a folder; expected a file`);
    if (kind === 'folder' && !isDir) fail(at, `names ${p}, a file; expected a folder`);
    return p;
  };

  // Model and narrator names are checked before anything runs: a typo in the fifth model must not
  // surface after four evals, nor name a flag the run file does not have.
  const named = (e: unknown, at: (string | number)[]): never => fail(at, isOptionProblem(e) ? e.as((option) => option) : (e as Error).message);
  const knownModel = (name: string, at: (string | number)[]): string => {
    const asPath = path.resolve(dir, name);
    const model = existsSync(asPath) && statSync(asPath).isDirectory() ? asPath : name;
    try {
      createRecommender(model).dispose?.();
    } catch (e) {
      named(e, at);
    }
    return model;
  };
  const knownNarrator = (name: string, at: (string | number)[]): string => {
    const narrator = name.startsWith('onnx:') ? `onnx:${file_(name.slice(5), at, 'folder')}` : name;
    try {
      void createNarrator(narrator);
    } catch (e) {
      named(e, at);
    }
    return narrator;
  };

  unknown(raw, TOP_KEYS, []);
  if (raw.models === undefined) fail([], 'has no models: list at least one (a built-in name such as pop, {predictions: FILE}, or {checkpoint: DIR})');
  if (raw.out === undefined) fail([], 'has no out: the folder the results go to');
  const data = raw.data === undefined || raw.data === 'demo' ? 'demo' : file_(raw.data, ['data'], 'either');
  const split = raw.split === undefined ? 'test' : raw.split === 'test' || raw.split === 'valid' ? raw.split : fail(['split'], `must be test or valid, not ${JSON.stringify(raw.split)}`);
  const tasks = raw.tasks === undefined ? [3 as TaskId] : list(raw.tasks, ['tasks'], (v, at) => int(v, at, 1, 3) as TaskId);
  if (new Set(tasks).size !== tasks.length) fail(['tasks'], 'lists a task twice');
  const k = raw.k === undefined ? [10] : list(raw.k, ['k'], (v, at) => int(v, at, 1, 100_000));
  if (new Set(k).size !== k.length) fail(['k'], 'lists a cut-off twice');
  const format = raw.format === undefined ? undefined : str(raw.format, ['format']);

  const models: ExperimentModel[] = list(raw.models, ['models'], (m, at) => {
    if (typeof m === 'string') return { name: m, model: knownModel(m, at), tasks };
    if (m === null || typeof m !== 'object' || Array.isArray(m)) return fail(at, `must be a model name or a mapping (name, model, narrator, predictions, resolve, checkpoint, tasks), not ${JSON.stringify(m)}`);
    const o = m as Record<string, unknown>;
    unknown(o, MODEL_KEYS, at);
    const sources = ['model', 'predictions', 'checkpoint'].filter((key) => o[key] !== undefined);
    if (sources.length !== 1) fail(at, `must give exactly one of model, predictions or checkpoint (it gives ${sources.length ? sources.join(' and ') : 'none'})`);
    const entry: ExperimentModel = { name: '', tasks: o.tasks === undefined ? tasks : list(o.tasks, [...at, 'tasks'], (v, a) => int(v, a, 1, 3) as TaskId) };
    if (o.model !== undefined) entry.model = knownModel(str(o.model, [...at, 'model']), [...at, 'model']);
    if (o.checkpoint !== undefined) entry.model = knownModel(file_(o.checkpoint, [...at, 'checkpoint'], 'folder'), [...at, 'checkpoint']);
    if (o.predictions !== undefined) entry.predictions = file_(o.predictions, [...at, 'predictions'], 'file');
    if (o.narrator !== undefined) entry.narrator = knownNarrator(str(o.narrator, [...at, 'narrator']), [...at, 'narrator']);
    if (o.resolve !== undefined) entry.resolve = ['fuzzy', 'exact', 'off'].includes(o.resolve as string) ? (o.resolve as ExperimentModel['resolve']) : fail([...at, 'resolve'], `must be fuzzy, exact or off, not ${JSON.stringify(o.resolve)}`);
    entry.name =
      o.name !== undefined
        ? str(o.name, [...at, 'name'])
        : o.model !== undefined
          ? (o.model as string)
          : path.basename(entry.predictions ?? entry.model!).replace(/\.jsonl?$/, '');
    if (!/^[A-Za-z0-9._+:=,()-]+$/.test(entry.name) || entry.name.startsWith('.'))
      fail([...at, 'name'], `'${entry.name}' cannot name a results folder: use letters, digits and . _ + - : = , ( ) (give name: to choose one)`);
    return entry;
  });
  const names = models.map((m) => m.name);
  const twice = names.find((n, i) => names.indexOf(n) !== i);
  if (twice) fail(['models'], `holds two models named '${twice}': give one of them another name: (each gets its own results folder)`);
  if (raw.baseline !== undefined && !names.includes(raw.baseline as string)) fail(['baseline'], `must be the name of one of the models (${names.join(', ')}), not ${JSON.stringify(raw.baseline)}`);

  const rep = (raw.report ?? {}) as Record<string, unknown>;
  if (raw.report !== undefined && (raw.report === null || typeof raw.report !== 'object' || Array.isArray(raw.report))) fail(['report'], 'must be a mapping (format, metrics, html)');
  unknown(rep, REPORT_KEYS, ['report']);
  const reportFormat = rep.format === undefined ? 'markdown' : (REPORT_FORMATS as readonly string[]).includes(rep.format as string) ? (rep.format as ReportFormat) : fail(['report', 'format'], `must be one of ${REPORT_FORMATS.join(', ')}`);
  const metrics = rep.metrics === undefined ? (['bleu', 'rougeL'] as TextMetric[]) : list(rep.metrics, ['report', 'metrics'], (v, at) => ((TEXT_METRICS as readonly string[]).includes(v as string) ? (v as TextMetric) : fail(at, `must be one of ${TEXT_METRICS.join(', ')}`)));

  const out = path.resolve(dir, str(raw.out, ['out']));
  return {
    file,
    data,
    ...(raw.category !== undefined ? { category: str(raw.category, ['category']) } : {}),
    ...(format !== undefined ? { format } : {}),
    ...(raw.schema !== undefined ? { schema: file_(raw.schema, ['schema'], 'file') } : {}),
    ...(raw.cache_dir !== undefined ? { cacheDir: path.resolve(dir, str(raw.cache_dir, ['cache_dir'])) } : {}),
    split,
    tasks,
    k: [...k].sort((a, b) => a - b),
    bootstrap: raw.bootstrap === undefined ? 1000 : int(raw.bootstrap, ['bootstrap'], 1, 1_000_000),
    seed: raw.seed === undefined ? 0 : int(raw.seed, ['seed'], 0, 2 ** 32 - 1),
    stem: raw.stem === undefined ? false : bool(raw.stem, ['stem']),
    ...(raw.narratives !== undefined ? { narratives: list(raw.narratives, ['narratives'], (v, at) => str(v, at)) } : {}),
    excludeHistory: raw.exclude_history === undefined ? true : bool(raw.exclude_history, ['exclude_history']),
    // true: the default encoder (it must be in the cache: run files never download).
    semsim: raw.semsim === undefined || raw.semsim === false ? false : raw.semsim === true ? DEFAULT_SEMSIM_MODEL : str(raw.semsim, ['semsim']),
    models,
    ...(raw.baseline !== undefined ? { baseline: raw.baseline as string } : {}),
    out,
    report: { format: reportFormat, metrics, html: path.resolve(out, rep.html === undefined ? 'report.html' : str(rep.html, ['report', 'html'])) },
  };
}
