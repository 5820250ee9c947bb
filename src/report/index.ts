// `regen-bench report`: many runs in one table (Markdown, CSV, LaTeX or JSON) and an HTML report.
// Files are written atomically: a failed report leaves no half-written table or page.
import { writeFileAtomic } from '../util/files.js';
import type { ProgressFn } from '../util/progress.js';
import { VERSION } from '../version.js';
import { formatTable, type ReportFormat } from './formats.js';
import { renderHtml } from './html.js';
import { loadRun } from './runs.js';
import { buildTable, type ReportTable, type TextMetric } from './table.js';

export { ReportInputError } from './errors.js';
export { REPORT_FORMATS, formatTable, type ReportFormat } from './formats.js';
export { loadRun, type LoadedRun } from './runs.js';
export { buildTable, TEXT_METRICS, type ReportTable, type TextMetric } from './table.js';
export { renderHtml } from './html.js';

export interface WriteReportOptions {
  /** eval --out folders or report.json files. */
  runs: readonly string[];
  /** One of the runs: every other row is compared with its row of the same task. */
  baseline?: string;
  /** Tabulate runs whose shared signature fields differ (the table says so). */
  allowMixed?: boolean;
  /** Text metrics per narrative kind (default bleu, rougeL). */
  textMetrics?: readonly TextMetric[];
  format?: ReportFormat;
  /** Write the table here (atomically); without it, it is returned only. */
  out?: string;
  /** Write the HTML report here (atomically). */
  html?: string;
  /** Paired tests: resamples (default 1000) and seed (default 0). */
  samples?: number;
  seed?: number;
  progress?: ProgressFn;
}

export interface WrittenReport {
  table: ReportTable;
  /** The table in the asked format. */
  text: string;
  files: string[];
}

export async function writeReport(o: WriteReportOptions): Promise<WrittenReport> {
  const runs = o.runs.map((r, i) => {
    o.progress?.({ phase: 'reading runs', done: i, total: o.runs.length, unit: 'rows' });
    return loadRun(r);
  });
  o.progress?.({ phase: 'reading runs', done: runs.length, total: runs.length, unit: 'rows' });
  const table = buildTable(runs, { baseline: o.baseline, allowMixed: o.allowMixed, textMetrics: o.textMetrics, samples: o.samples, seed: o.seed, progress: o.progress });
  const text = formatTable(table, o.format ?? 'markdown');
  const files: string[] = [];
  // Everything is rendered before anything is written: an error leaves no file behind.
  const html = o.html ? renderHtml(table, `regen-bench ${VERSION}, ${new Date().toISOString()}`) : null;
  if (o.out) {
    writeFileAtomic(o.out, text);
    files.push(o.out);
  }
  if (o.html && html) {
    writeFileAtomic(o.html, html);
    files.push(o.html);
  }
  return { table, text, files };
}
