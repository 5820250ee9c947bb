// Shared set-up of the bad-input matrix (issue 15): a prepared copy of the embedded demo, the
// predictions file of its popularity baseline (task 1) as lines, writers of bad variants, and the
// CLI as a user runs it.
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import zlib from 'node:zlib';

import { prepareDataset } from '../../src/data/load.js';
import { runBaseline } from '../../src/eval/baseline.js';
import { runEval, type RunEvalOptions, type RunEvalResult } from '../../src/eval/run.js';
import { scratch } from '../data-helpers.js';

export const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const bin = path.join(root, 'bin', 'regen-bench.js');

/** The CLI as a user runs it: stdout, stderr and the exit status. */
export function cli(args: string[], env: Record<string, string> = {}, cwd = root) {
  const r = spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', cwd, env: { ...process.env, REGEN_BENCH_CACHE: path.join(scratch(), 'cache'), ...env } });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

export interface Demo {
  dir: string;
  /** A prepared copy of the demo (opens instantly). */
  data: string;
  /** The popularity baseline's task-1 predictions, one JSON line per test user. */
  lines: string[];
  records: { user: string; items: string[] }[];
  /** Writes a file in the scratch folder (text lines joined with \n, or bytes). */
  write(name: string, content: string[] | string | Buffer): string;
  gzip(name: string, lines: string[]): string;
  /** eval of a predictions file on task 1, quick (10 bootstrap samples, no semantic similarity). */
  evalPredictions(file: string, extra?: Partial<RunEvalOptions>): Promise<RunEvalResult>;
}

export async function demo(): Promise<Demo> {
  const dir = scratch();
  const data = path.join(dir, 'demo-prepared');
  await prepareDataset('demo', { out: data, cacheDir: path.join(dir, 'cache') });
  const predictions = path.join(dir, 'pop.jsonl');
  await runBaseline({ data, task: 1, model: 'pop', k: 20, out: predictions });
  const { readFileSync } = await import('node:fs');
  const lines = readFileSync(predictions, 'utf8').trim().split('\n');
  const write = (name: string, content: string[] | string | Buffer) => {
    const file = path.join(dir, name);
    writeFileSync(file, Array.isArray(content) ? content.join('\n') + '\n' : content);
    return file;
  };
  return {
    dir,
    data,
    lines,
    records: lines.map((l) => JSON.parse(l)),
    write,
    gzip: (name, l) => write(name, zlib.gzipSync(l.join('\n') + '\n')),
    evalPredictions: (file, extra = {}) =>
      runEval({ data, task: 1, predictions: file, semsim: false, bootstrapSamples: 10, dataOptions: { cacheDir: path.join(dir, 'cache') }, ...extra }),
  };
}

/** The input_problems entry of a file in an eval report's JSON. */
export function problemsOf(r: { json: Record<string, unknown> }, file: string): Record<string, { count: number; action: string; samples: string[] }> {
  const section = r.json.input_problems as Record<string, { problems: Record<string, { count: number; action: string; samples: string[] }> }>;
  return section[file].problems;
}

export const recall = (r: RunEvalResult) => r.reports[r.reports.length - 1].ranking['recall@10'];
