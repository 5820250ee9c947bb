// The input_problems section of eval, merge and compare reports: per input file (predictions,
// embedding files and their id lists, the dataset), what was read, what was wrong with it (per kind:
// count, action, up to five `file:line: reason` samples), and the share of bad lines or ids. A share
// above the limit (src/util/limits.ts badShare, default 1%) makes the command exit non-zero after it
// has printed and written the report, unless --allow-bad-input.
import type { InputFile } from '../data/report.js';
import { formatLimit, howToRaise, limit } from '../util/limits.js';

export type { InputFile } from '../data/report.js';

const key = (f: InputFile) => `${f.role}\u0000${f.file}\u0000${f.sha256}`;

/** One entry per input (role, file, content): shards, chunks and rows read the same files. */
export function mergeInputs(lists: readonly (readonly InputFile[] | undefined)[]): InputFile[] {
  const out = new Map<string, InputFile>();
  for (const list of lists) for (const f of list ?? []) if (!out.has(key(f))) out.set(key(f), f);
  return [...out.values()];
}

export interface BadShare {
  file: string;
  role: string;
  /** 'lines' / 'rows' (records skipped), or 'ids' (ids that could not be used). */
  what: string;
  bad: number;
  of: number;
  share: number;
}

/** The bad shares of every input that counts its records or ids. */
export function badShares(inputs: readonly InputFile[]): BadShare[] {
  const out: BadShare[] = [];
  for (const f of inputs) {
    if (f.records && f.badRecords !== undefined)
      out.push({ file: f.file, role: f.role, what: f.recordUnit ?? 'records', bad: f.badRecords, of: f.records, share: f.badRecords / f.records });
    if (f.ids && f.badIds !== undefined) out.push({ file: f.file, role: f.role, what: 'ids', bad: f.badIds, of: f.ids, share: f.badIds / f.ids });
  }
  return out;
}

/** Messages for the inputs whose bad share is above the limit (empty: the run's input is acceptable). */
export function badInputProblems(inputs: readonly InputFile[], threshold = limit('badShare')): string[] {
  // A file of answers that holds nothing is no answer at all (every example a miss).
  const empty = inputs.filter((f) => f.records === 0 && f.role === 'predictions').map((f) => `${f.file} (${f.role}) holds no lines: every example is scored as a miss (${howToRaise('badShare')})`);
  return [...empty, ...badShares(inputs)
    .filter((s) => s.share > threshold)
    .map(
      (s) =>
        `${s.bad.toLocaleString('en-US')} of ${s.of.toLocaleString('en-US')} ${s.what} of ${s.file} (${s.role}) are bad: ${pct(s.share)}, above the ` +
        `${formatLimit('badShare', threshold)} limit; the report's input_problems section lists them (${howToRaise('badShare')})`,
    )];
}

const pct = (x: number) => `${(100 * x).toFixed(x < 0.001 && x > 0 ? 3 : 1)}%`;

/** The JSON section: { "<file>": { role, sha256, <unit>, bad_<unit>, ids, bad_ids, problems: { <kind>: { count, action, samples } } } }. */
export function inputProblemsJson(inputs: readonly InputFile[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const f of inputs) {
    const entry: Record<string, unknown> = { role: f.role, sha256: f.sha256 };
    if (f.records !== undefined) {
      entry[f.recordUnit ?? 'records'] = f.records;
      entry[`bad_${f.recordUnit ?? 'records'}`] = f.badRecords ?? 0;
    }
    if (f.ids !== undefined) {
      entry.ids = f.ids;
      entry.bad_ids = f.badIds ?? 0;
    }
    entry.problems = Object.fromEntries(f.issues.map((s) => [s.kind, { count: s.count, action: s.action, samples: s.samples }]));
    const name = out[f.file] === undefined ? f.file : `${f.file} (${f.role})`;
    out[name] = entry;
  }
  return out;
}

/** The Markdown section's lines. */
export function inputProblemsMarkdown(inputs: readonly InputFile[]): string[] {
  const lines = ['## Input problems', ''];
  if (inputs.length === 0) return [...lines, 'No input file was read besides the dataset.'];
  const shares = new Map(badShares(inputs).map((s) => [`${s.file}\u0000${s.role}\u0000${s.what}`, s]));
  for (const f of inputs) {
    const counted: string[] = [];
    for (const what of [f.recordUnit ?? 'records', 'ids']) {
      const s = shares.get(`${f.file}\u0000${f.role}\u0000${what}`);
      if (s) counted.push(`${s.bad.toLocaleString('en-US')} of ${s.of.toLocaleString('en-US')} ${what} bad (${pct(s.share)})`);
    }
    const head = `- ${f.role} \`${f.file}\` (sha256 ${f.sha256.slice(0, 16)})${counted.length ? `: ${counted.join(', ')}` : ''}`;
    if (f.issues.length === 0) {
      lines.push(`${head}; no problems`);
      continue;
    }
    lines.push(head);
    for (const s of f.issues) {
      lines.push(`  - ${s.kind}: ${s.count.toLocaleString('en-US')} (${s.action})`);
      for (const x of s.samples) lines.push(`    - \`${x}\``);
    }
  }
  return lines;
}
