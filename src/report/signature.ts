// Signatures read back: `regen-bench:0.1.0|data:demo@4cb7...|split:test|task:3|k:10|...` (src/eval/report.ts
// writes them) split into fields, so that a report can say which fields two runs differ in.
import { ReportInputError } from './errors.js';

export type SignatureFields = Record<string, string>;

/** Splits a signature at the `|` that are not inside brackets (bleu:[nrefs:1|case:mixed|...]). */
export function parseSignature(sig: string, where: string): SignatureFields {
  const fields: SignatureFields = {};
  let depth = 0;
  let start = 0;
  const take = (end: number) => {
    const piece = sig.slice(start, end);
    const colon = piece.indexOf(':');
    if (colon <= 0) throw new ReportInputError(`${where}: the signature field '${piece}' has no name (the signature is not one regen-bench wrote)`);
    fields[piece.slice(0, colon)] = piece.slice(colon + 1);
    start = end + 1;
  };
  for (let i = 0; i < sig.length; i++) {
    const c = sig[i];
    if (c === '[') depth++;
    else if (c === ']') depth--;
    else if (c === '|' && depth === 0) take(i);
  }
  take(sig.length);
  for (const name of ['regen-bench', 'data', 'split', 'task', 'k', 'history', 'model', 'bleu', 'rouge'])
    if (!(name in fields)) throw new ReportInputError(`${where}: the signature has no ${name} field (not a regen-bench eval signature)`);
  return fields;
}

/**
 * The fields every run of one table must share: the same examples (data, split), the same cut-offs and
 * history policy, the same metrics (BLEU signature, ROUGE settings, interval level). Tasks and models
 * differ by design; the sentence encoder matters only for the semsim column.
 */
export const SHARED_FIELDS = ['data', 'split', 'k', 'history', 'bleu', 'rouge', 'ci'] as const;

/** The level of the intervals, from `ci:bootstrap-1000-0.95-seed0`. */
export function ciLevel(fields: SignatureFields): number {
  const m = /^bootstrap-\d+-([0-9.]+)-seed\d+$/.exec(fields.ci ?? '');
  return m ? Number(m[1]) : 0.95;
}

export interface Mismatch {
  field: string;
  /** Each distinct value, with the runs that have it. */
  values: { value: string; runs: string[] }[];
}

/** The shared fields on which the rows differ (empty: one table). */
export function mismatches(rows: readonly { source: string; fields: SignatureFields }[], fields: readonly string[] = SHARED_FIELDS): Mismatch[] {
  const out: Mismatch[] = [];
  for (const field of fields) {
    const byValue = new Map<string, string[]>();
    for (const r of rows) {
      const v = r.fields[field] ?? '(none)';
      const list = byValue.get(v) ?? [];
      if (!list.includes(r.source)) list.push(r.source);
      byValue.set(v, list);
    }
    if (byValue.size > 1) out.push({ field, values: [...byValue].map(([value, runs]) => ({ value, runs })) });
  }
  return out;
}

export function describeMismatches(list: readonly Mismatch[]): string {
  return list.map((m) => `${m.field}: ${m.values.map((v) => `${v.value} (${v.runs.join(', ')})`).join(' vs ')}`).join('; ');
}
