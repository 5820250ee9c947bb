// `regen-bench merge`: parts of a sharded evaluation -> the report one run gives (exactly: the parts
// hold per-example statistics, concatenated in example order before any mean is taken).
import { mergeParts, MergeError, settingsDiff, type EvalPart } from './evaluate.js';
import { badInputProblems, mergeInputs } from './input-problems.js';
import { EvalOutDir, expandPartArgs, readPart } from './out-dir.js';
import { buildReport, formatMarkdown, reportJson, type EvalReport } from './report.js';
import { critiqueLift, critiqueLiftJson, critiqueLiftMarkdown } from './critique-lift.js';

export { readPart } from './out-dir.js';

export interface MergedEvaluation {
  parts: EvalPart[];
  /** Inputs whose share of bad lines or ids is above the limit (see RunEvalResult.badInput). */
  badInput: string[];
  /** With an output folder: notes on the parts that replaced earlier ones. */
  written?: string[];
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
  // The rows of one evaluation differ only in whether critiques were shown (task 3's two rows): parts
  // of other evaluations (another dataset, model, input file, task or metric) are never combined.
  const groupList = [...groups.values()];
  const { critiques: _, ...first } = groupList[0].parts[0].settings;
  for (const g of groupList.slice(1)) {
    const { critiques: __, ...other } = g.parts[0].settings;
    const diff = settingsDiff(first, other);
    if (diff.length)
      throw new MergeError(
        `${g.names[0]} was computed with other settings than ${groupList[0].names[0]} (${diff.join('; ')}); ` +
          `parts of one evaluation share dataset, inputs, task, k, model and metric settings`,
      );
  }
  const merged = groupList.map((g) => {
    const m = mergeParts(g.parts, g.names);
    if (m.start !== 0 || m.end !== m.total)
      throw new MergeError(`the parts cover examples ${m.start}..${m.end - 1} of ${m.total}: shards are missing (given: ${g.names.join(', ')})`);
    return m;
  });
  // Rows in the paper's order: without critiques first.
  merged.sort((a, b) => Number(a.settings.critiques) - Number(b.settings.critiques) || a.settings.task - b.settings.task);
  const reports: EvalReport[] = [];
  for (const p of merged) reports.push(await buildReport(p, p.settings.semsim.reason ?? null));
  const json = reportJson(reports[reports.length - 1], reports);
  let markdown = formatMarkdown(reports);
  const lift = critiqueLift(merged);
  if (lift) {
    json.critique_lift = critiqueLiftJson(lift);
    markdown += critiqueLiftMarkdown(lift).join('\n') + '\n';
  }
  return { parts: merged, reports, markdown, json, badInput: badInputProblems(mergeInputs(merged.map((p) => p.inputs))) };
}

/** Merges part files, or eval --out folders (every part they hold), and writes the result to `out`. */
export async function mergePartFiles(args: readonly string[], out?: string): Promise<MergedEvaluation> {
  const files = expandPartArgs(args);
  const result = await reportsFromParts(files.map(readPart), files);
  if (out) {
    const dir = new EvalOutDir(out);
    result.written = dir.writeParts(result.parts).filter((w) => w.replaced).map((w) => w.note);
    dir.writeReport(result.json, result.markdown);
  }
  return result;
}
