// `regen-bench merge`: parts of a sharded evaluation -> the report one run gives (exactly: the parts
// hold per-example statistics, concatenated in example order before any mean is taken).
import { mergeParts, MergeError, type EvalPart } from './evaluate.js';
import { EvalOutDir, expandPartArgs, readPart } from './out-dir.js';
import { buildReport, formatMarkdown, reportJson, type EvalReport } from './report.js';

export { readPart } from './out-dir.js';

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

/** Merges part files, or eval --out folders (every part they hold), and writes the result to `out`. */
export async function mergePartFiles(args: readonly string[], out?: string): Promise<MergedEvaluation> {
  const files = expandPartArgs(args);
  const result = await reportsFromParts(files.map(readPart), files);
  if (out) {
    const dir = new EvalOutDir(out);
    dir.writeParts(result.parts);
    dir.writeReport(result.json, result.markdown);
  }
  return result;
}
