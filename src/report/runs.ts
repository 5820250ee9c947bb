// The runs a report reads: an eval --out folder (report.json with the per-example parts beside it) or
// a report.json alone (its numbers and intervals only: no paired tests, no Recall@k curves). Every
// row is checked: a truncated or edited file is an error that names it, never a half-read table.
import { existsSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';

import type { EvalPart } from '../eval/evaluate.js';
import { EvalOutDir, readPart } from '../eval/out-dir.js';
import { signature } from '../eval/report.js';
import { checkLimit } from '../util/limits.js';
import { ReportInputError } from './errors.js';
import { parseSignature, type SignatureFields } from './signature.js';

export { ReportInputError };

/** One row of a run: what eval's report.json holds for it (keys as in the eval JSON). */
export interface RunRow {
  /** The paper's row label ("Hist + Critique -> ID + Narrative"). */
  row: string;
  signature: string;
  fields: SignatureFields;
  /** recall@K, ndcg@K per cut-off, mrr, n. */
  ranking: Record<string, number>;
  /** Per narrative kind: bleu, rouge1, rouge2, rougeL, rougeLsum, semsim (null without an encoder). */
  text: Record<string, Record<string, number | null>>;
  ci: { ranking: Record<string, [number, number]>; text: Record<string, Record<string, [number, number]>> };
  /** The per-example part (folders only): paired tests and Recall@k curves need it. */
  part: EvalPart | null;
}

export interface LoadedRun {
  /** As given on the command line. */
  source: string;
  /** The folder, or the report.json file. */
  path: string;
  /** Rows in the paper's order (without critiques first). */
  rows: RunRow[];
  /** The input files the run read (name, role, sha256), from report.json's input_problems. */
  inputs: { role: string; file: string; sha256: string }[];
}

const isObject = (x: unknown): x is Record<string, unknown> => x !== null && typeof x === 'object' && !Array.isArray(x);

function readJson(file: string): unknown {
  let text: string;
  try {
    const st = statSync(file);
    checkLimit('fileBytes', st.size, file, `a report of ${st.size.toLocaleString('en-US')} bytes`);
    text = readFileSync(file, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new ReportInputError(`${file}: no such file`);
    if (code) throw new ReportInputError(`${file}: cannot be read (${code})`);
    throw e;
  }
  if (text.trim() === '') throw new ReportInputError(`${file}: the file is empty (an interrupted eval? run it again with the same --out: it resumes)`);
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new ReportInputError(`${file}: not valid JSON (${(e as Error).message}); truncated? run the eval again with the same --out (it resumes)`);
  }
}

function numberRecord(x: unknown, where: string, nullable = false): Record<string, number> {
  if (!isObject(x)) throw new ReportInputError(`${where} is not an object`);
  for (const [k, v] of Object.entries(x))
    if (!(typeof v === 'number' || (nullable && v === null))) throw new ReportInputError(`${where}.${k} is not a number`);
  return x as Record<string, number>;
}

function intervalRecord(x: unknown, where: string): Record<string, [number, number]> {
  if (!isObject(x)) throw new ReportInputError(`${where} is not an object`);
  for (const [k, v] of Object.entries(x))
    if (!Array.isArray(v) || v.length !== 2 || v.some((y) => typeof y !== 'number' && y !== null)) throw new ReportInputError(`${where}.${k} is not an interval [low, high]`);
  return x as Record<string, [number, number]>;
}

/** A row of an eval report JSON (the top level or an entry of `rows`), checked. */
function readRow(x: unknown, where: string): Omit<RunRow, 'part'> {
  if (!isObject(x)) throw new ReportInputError(`${where} is not an object`);
  if (typeof x.signature !== 'string' || !x.signature.startsWith('regen-bench:')) throw new ReportInputError(`${where} has no regen-bench signature: not a report.json of regen-bench eval`);
  if (typeof x.row !== 'string') throw new ReportInputError(`${where} has no row label`);
  const ranking = numberRecord(x.ranking, `${where}.ranking`);
  if (typeof ranking.n !== 'number' || typeof ranking.mrr !== 'number') throw new ReportInputError(`${where}.ranking has no n or mrr`);
  if (!isObject(x.text)) throw new ReportInputError(`${where}.text is not an object`);
  const text: RunRow['text'] = {};
  for (const [kind, t] of Object.entries(x.text)) text[kind] = numberRecord(t, `${where}.text.${kind}`, true);
  if (!isObject(x.ci) || !isObject(x.ci.text)) throw new ReportInputError(`${where}.ci is not {ranking, text}`);
  const ciText: RunRow['ci']['text'] = {};
  for (const [kind, t] of Object.entries(x.ci.text)) ciText[kind] = intervalRecord(t, `${where}.ci.text.${kind}`);
  return {
    row: x.row,
    signature: x.signature,
    fields: parseSignature(x.signature, where),
    ranking,
    text,
    ci: { ranking: intervalRecord(x.ci.ranking, `${where}.ci.ranking`), text: ciText },
  };
}

function readInputs(json: Record<string, unknown>): LoadedRun['inputs'] {
  // input_problems: { "<file>": { role, sha256, ... } } (src/eval/input-problems.ts).
  if (!isObject(json.input_problems)) return [];
  return Object.entries(json.input_problems)
    .filter((e): e is [string, Record<string, unknown>] => isObject(e[1]) && typeof e[1].sha256 === 'string')
    .map(([file, f]) => ({ role: typeof f.role === 'string' ? f.role : 'input', file, sha256: f.sha256 as string }));
}

/** Reads RUN: an eval --out folder (report.json and its parts) or a report.json file. */
export function loadRun(source: string): LoadedRun {
  if (!existsSync(source)) throw new ReportInputError(`${source}: no such file or folder (give an eval --out folder or its report.json)`);
  const isDir = statSync(source).isDirectory();
  const file = isDir ? path.join(source, 'report.json') : source;
  if (isDir && !existsSync(file)) {
    const parts = new EvalOutDir(source).partFiles();
    throw new ReportInputError(
      parts.some((f) => f.includes('.shard-'))
        ? `${source} holds shard parts but no report.json: combine them first with \`regen-bench merge ${source} --out ${source}\``
        : parts.length
          ? `${source} holds parts but no report.json: the eval did not finish; run it again with the same --out (it resumes)`
          : `${source} holds no report.json: give the --out folder of a finished regen-bench eval`,
    );
  }
  const json = readJson(file);
  if (!isObject(json)) throw new ReportInputError(`${file}: not a JSON object: not a report.json of regen-bench eval`);
  const rows = (Array.isArray(json.rows) && json.rows.length > 1 ? json.rows : [json]).map((r, i) =>
    readRow(r, Array.isArray(json.rows) && json.rows.length > 1 ? `${file}: rows[${i}]` : file),
  );
  const loaded: RunRow[] = rows.map((r) => ({ ...r, part: null }));
  if (isDir) {
    // The parts beside the report: each row's part is the one whose settings make its signature.
    const parts = new EvalOutDir(source).partFiles().filter((f) => !path.basename(f).includes('.shard-'));
    const bySignature = new Map<string, EvalPart>();
    for (const f of parts) {
      const part = readPart(f);
      bySignature.set(signature(part.settings), part);
    }
    for (const r of loaded) {
      r.part = bySignature.get(r.signature) ?? null;
      if (!r.part)
        throw new ReportInputError(
          `${source}: report.json's row "${r.row}" has no part file with its signature beside it (${parts.length ? parts.map((f) => path.basename(f)).join(', ') : 'no *.part.json'}); ` +
            'the folder mixes runs: evaluate again into an empty --out folder',
        );
      if (r.part.users.length !== r.ranking.n) throw new ReportInputError(`${source}: the part of row "${r.row}" holds ${r.part.users.length} examples but report.json says n = ${r.ranking.n}`);
    }
  }
  return { source, path: isDir ? path.resolve(source) : path.resolve(file), rows: loaded, inputs: readInputs(json) };
}
