// `regen-bench merge`: parts of a sharded evaluation -> the report one run gives (exactly: the parts
// hold per-example statistics, concatenated in example order before any mean is taken).
import { mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';

import { writeFileAtomic } from '../util/files.js';
import { checkPart, mergeParts, MergeError, type EvalPart } from './evaluate.js';
import { buildReport, formatMarkdown, reportJson, rowTag, type EvalReport } from './report.js';

export function readPart(file: string): EvalPart {
  let part: EvalPart;
  try {
    part = JSON.parse(readFileSync(file, 'utf8')) as EvalPart;
  } catch (e) {
    throw new MergeError(`${file}: not a readable eval part (${(e as Error).message})`);
  }
  checkPart(part, file);
  return part;
}

export interface MergedEvaluation {
  parts: EvalPart[];
  reports: EvalReport[];
  markdown: string;
  json: Record<string, unknown>;
}

/** Merges parts into full evaluations, one per row (settings); each must cover every example. */
export async function reportsFromParts(parts: readonly EvalPart[], names: readonly string[]): Promise<MergedEvaluation> {
  const groups = new Map<string, { parts: EvalPart[]; names: string[] }>();
  parts.forEach((p, i) => {
    const key = JSON.stringify(p.settings);
    const g = groups.get(key) ?? { parts: [], names: [] };
    g.parts.push(p);
    g.names.push(names[i] ?? `part ${i + 1}`);
    groups.set(key, g);
  });
  const merged = [...groups.values()].map((g) => {
    const m = mergeParts(g.parts, g.names);
    if (m.start !== 0 || m.end !== m.total)
      throw new MergeError(`the parts cover examples ${m.start}..${m.end - 1} of ${m.total}: shards are missing (given: ${g.names.join(', ')})`);
    return m;
  });
  // Rows in the paper's order: without critiques first.
  merged.sort((a, b) => Number(a.settings.critiques) - Number(b.settings.critiques) || a.settings.task - b.settings.task);
  const reports: EvalReport[] = [];
  for (const p of merged) reports.push(await buildReport(p, p.settings.semsim.reason ?? null));
  return { parts: merged, reports, markdown: formatMarkdown(reports), json: reportJson(reports[reports.length - 1], reports) };
}

export async function mergePartFiles(files: readonly string[], out?: string): Promise<MergedEvaluation> {
  const result = await reportsFromParts(files.map(readPart), files);
  if (out) {
    mkdirSync(out, { recursive: true });
    for (const p of result.parts) writeFileAtomic(path.join(out, `${rowTag(p.settings)}.part.json`), JSON.stringify(p));
    writeFileAtomic(path.join(out, 'report.json'), JSON.stringify(result.json, null, 2) + '\n');
    writeFileAtomic(path.join(out, 'report.md'), result.markdown);
  }
  return result;
}
