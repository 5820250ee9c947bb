// The table written out: Markdown for people, CSV for spreadsheets and plotting, LaTeX (booktabs)
// for papers, JSON for machines (keys are a contract; see the README's "Reports").
import type { Cell, Column, ReportTable, TableRow, Versus } from './table.js';

export const REPORT_FORMATS = ['markdown', 'csv', 'latex', 'json'] as const;
export type ReportFormat = (typeof REPORT_FORMATS)[number];

/** A value as printed, 'n/a' when there is none. */
export const num = (x: number | null | undefined, digits: number) => (x === null || x === undefined || !Number.isFinite(x) ? 'n/a' : x.toFixed(digits));
const signed = (x: number, digits: number) => (Number.isFinite(x) ? `${x >= 0 ? '+' : ''}${x.toFixed(digits)}` : 'n/a');
/** A p-value as printed; 0 (no resample crossed) as the bound the resamples resolve ("<0.005" with 200). */
export const pvalWith = (samples: number) => (p: number) => (p === 0 ? `<${Number((1 / samples).toPrecision(2))}` : p < 0.001 ? '<0.001' : p.toFixed(3));

function cellText(cell: Cell, col: Column): string {
  if (cell.value === null) return 'n/a';
  return cell.low === null ? num(cell.value, col.digits) : `${num(cell.value, col.digits)} [${num(cell.low, col.digits)}, ${num(cell.high, col.digits)}]`;
}

function versusText(v: Versus | undefined, col: Column, pval: (p: number) => string): string {
  if (!v) return '';
  return ` ${signed(v.delta, col.digits)} (p ${pval(v.pRandomisation)}/${pval(v.pBootstrap)})${v.significant ? '*' : ''}`;
}

function header(t: ReportTable): string[] {
  const pct = Math.round(t.confidence * 100);
  const lines = [
    `Data ${t.manifest.data}, split ${t.manifest.split}, history ${t.manifest.history}, k ${t.manifest.k}; ${pct}% bootstrap intervals in brackets.`,
  ];
  if (t.baseline)
    lines.push(
      `Against the baseline ${t.rows.find((r) => r.baseline)?.model ?? ''} (${t.baseline}): the difference, then p-values of the paired approximate randomisation / paired bootstrap tests ` +
        `(${t.samples} resamples, seed ${t.seed}); * both below ${t.alpha}.`,
    );
  if (t.mixed.length) lines.push(`**Mixed runs** (--allow-mixed): the rows differ in ${t.mixed.map((m) => m.field).join(', ')}; they are not comparable on those.`);
  return lines;
}

export function tableMarkdown(t: ReportTable): string {
  const pval = pvalWith(t.samples);
  const lines = ['# regen-bench report', '', ...header(t), ''];
  const rowName = (r: TableRow) => `${r.model}${r.baseline ? ' (baseline)' : ''}`;
  const groups: { title: string; cols: Column[] }[] = [{ title: 'Ranking', cols: t.columns.filter((c) => c.group === 'ranking') }];
  for (const kind of [...new Set(t.columns.filter((c) => c.kind).map((c) => c.kind!))]) groups.push({ title: `Narratives: ${kind}`, cols: t.columns.filter((c) => c.kind === kind) });
  for (const g of groups) {
    const rows = g.title === 'Ranking' ? t.rows : t.rows.filter((r) => g.cols.some((c) => r.cells[c.key].value !== null));
    if (rows.length === 0) continue;
    if (g.title !== 'Ranking') lines.push(`## ${g.title}`, '');
    const n = g.title === 'Ranking';
    lines.push(`| Model | Row | ${g.cols.map((c) => c.label.replace(`${c.kind} `, '')).join(' | ')}${n ? ' | n' : ''} |`);
    lines.push(`|---|---|${g.cols.map(() => '---|').join('')}${n ? '---|' : ''}`);
    for (const r of rows) lines.push(`| ${rowName(r)} | ${r.row} | ${g.cols.map((c) => cellText(r.cells[c.key], c) + versusText(r.versus?.[c.key], c, pval)).join(' | ')}${n ? ` | ${r.n.toLocaleString('en-US')}` : ''} |`);
    lines.push('');
  }
  if (t.lifts.length) {
    lines.push('## Critique lift (the same model with critiques shown, minus without; paired by user)', '');
    const metrics = t.lifts[0].metrics.map((m) => m.metric);
    lines.push(`| Model | Pair | ${metrics.join(' | ')} |`, `|---|---|${metrics.map(() => '---|').join('')}`);
    for (const l of t.lifts)
      lines.push(
        `| ${l.model} | ${l.what} | ${l.metrics.map((m) => `${signed(m.delta, 3)} [${signed(m.low, 3)}, ${signed(m.high, 3)}] (p ${pval(m.pRandomisation)}/${pval(m.pBootstrap)})${m.pRandomisation < t.alpha && m.pBootstrap < t.alpha ? '*' : ''}`).join(' | ')} |`,
      );
    lines.push('');
  }
  if (t.notes.length) lines.push('Notes:', ...t.notes.map((n) => `- ${n}`), '');
  lines.push('Signatures:', ...t.rows.map((r) => `- ${rowName(r)}, ${r.row}: \`${r.signature}\``));
  return lines.join('\n') + '\n';
}

const csvField = (x: string) => (/[",\n\r]/.test(x) ? `"${x.replace(/"/g, '""')}"` : x);
const csvNum = (x: number | null | undefined) => (x === null || x === undefined || !Number.isFinite(x) ? '' : String(x));

/** One line per row; per metric its value, interval and (with a baseline) the paired difference and p-values. Full precision. */
export function tableCsv(t: ReportTable): string {
  const head = ['model', 'row', 'task', 'baseline', 'n', 'run', 'signature'];
  for (const c of t.columns) {
    head.push(c.key, `${c.key}_low`, `${c.key}_high`);
    if (t.baseline) head.push(`${c.key}_delta`, `${c.key}_delta_low`, `${c.key}_delta_high`, `${c.key}_p_randomisation`, `${c.key}_p_bootstrap`);
  }
  const lines = [head.map(csvField).join(',')];
  for (const r of t.rows) {
    const out = [r.model, r.row, r.task, r.baseline ? 'yes' : 'no', String(r.n), r.run, r.signature].map(csvField);
    for (const c of t.columns) {
      const cell = r.cells[c.key];
      out.push(csvNum(cell.value), csvNum(cell.low), csvNum(cell.high));
      if (t.baseline) {
        const v = r.versus?.[c.key];
        out.push(csvNum(v?.delta), csvNum(v?.low), csvNum(v?.high), csvNum(v?.pRandomisation), csvNum(v?.pBootstrap));
      }
    }
    lines.push(out.join(','));
  }
  return lines.join('\n') + '\n';
}

const tex = (x: string) => x.replace(/[\\&%$#_{}~^]/g, (c) => ({ '\\': '\\textbackslash{}', '~': '\\textasciitilde{}', '^': '\\textasciicircum{}' })[c] ?? `\\${c}`).replace(/->/g, '$\\rightarrow$');

/** A booktabs table (needs \usepackage{booktabs}); intervals in small type, * on significant differences. */
export function tableLatex(t: ReportTable): string {
  const cols = t.columns;
  const lines = [
    `% regen-bench report: ${Math.round(t.confidence * 100)}% bootstrap intervals${t.baseline ? `; * paired randomisation and bootstrap p < ${t.alpha} against ${t.baseline}` : ''}`,
    `% data ${t.manifest.data}, split ${t.manifest.split}, history ${t.manifest.history}, k ${t.manifest.k}`,
    `\\begin{tabular}{ll${'r'.repeat(cols.length)}}`,
    '\\toprule',
    `Model & Row & ${cols.map((c) => tex(c.label)).join(' & ')} \\\\`,
    '\\midrule',
  ];
  for (const r of t.rows) {
    const cells = cols.map((c) => {
      const cell = r.cells[c.key];
      if (cell.value === null) return 'n/a';
      const v = r.versus?.[c.key];
      const ci = cell.low === null ? '' : ` {\\scriptsize [${num(cell.low, c.digits)}, ${num(cell.high, c.digits)}]}`;
      return `${num(cell.value, c.digits)}${v?.significant ? '$^{*}$' : ''}${ci}`;
    });
    lines.push(`${tex(r.model)}${r.baseline ? ' (baseline)' : ''} & ${tex(r.row)} & ${cells.join(' & ')} \\\\`);
  }
  lines.push('\\bottomrule', '\\end{tabular}');
  return lines.join('\n') + '\n';
}

/** The table as JSON: columns, rows (cells and paired differences by column key), lifts, manifest, notes. */
export function tableJson(t: ReportTable): Record<string, unknown> {
  return {
    format: 'regen-bench-report',
    version: 1,
    confidence: t.confidence,
    alpha: t.alpha,
    baseline: t.baseline,
    paired_tests: { samples: t.samples, seed: t.seed },
    mixed: t.mixed,
    columns: t.columns,
    rows: t.rows.map((r) => ({
      model: r.model,
      row: r.row,
      task: r.task,
      baseline: r.baseline,
      n: r.n,
      run: r.run,
      signature: r.signature,
      cells: r.cells,
      ...(r.versus ? { versus: Object.fromEntries(Object.entries(r.versus).map(([k, v]) => [k, { delta: v.delta, low: v.low, high: v.high, p_randomisation: v.pRandomisation, p_bootstrap: v.pBootstrap, significant: v.significant, n: v.n }])) } : {}),
      ...(r.versusNote ? { versus_note: r.versusNote } : {}),
      recall_curve: r.recallCurve,
    })),
    critique_lifts: t.lifts,
    manifest: t.manifest,
    notes: t.notes,
  };
}

export function formatTable(t: ReportTable, format: ReportFormat): string {
  switch (format) {
    case 'markdown':
      return tableMarkdown(t);
    case 'csv':
      return tableCsv(t);
    case 'latex':
      return tableLatex(t);
    case 'json':
      return JSON.stringify(tableJson(t), null, 2) + '\n';
  }
}
