// The HTML report: one self-contained file (inline CSS and SVG, no script, nothing fetched at view
// time) that reads on a laptop and a phone: the table, a dot-and-whisker chart per metric, Recall@k
// curves, narrative bars, critique lifts, and the manifest with every signature. Every drawn mark
// carries class "mark" and its chart's data-marks says how many it drew (the browser test counts them).
import { num as fmt, pvalWith, tableMarkdown } from './formats.js';
import { CURVE_MAX_K, type Column, type ReportTable, type TableRow } from './table.js';

const esc = (x: string) => x.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

// Okabe-Ito: told apart with the common colour-vision deficiencies.
const PALETTE = ['#0072B2', '#E69F00', '#009E73', '#D55E00', '#CC79A7', '#56B4E9', '#F0E442', '#000000'];
const colour = (i: number) => PALETTE[i % PALETTE.length];

const rowLabel = (r: TableRow) => `${r.model} · ${r.row}`;
/** A chart's label, shortened to fit its margin (the full label is in the mark's tooltip and the table). */
const short = (x: string, max = 34) => (x.length <= max ? x : `${x.slice(0, max - 1)}…`);

/** A "nice" axis: rounded bounds and a few ticks. */
function axis(lo: number, hi: number, ticks = 5): { lo: number; hi: number; ticks: number[]; text: (v: number) => string } {
  if (!(hi > lo)) {
    const pad = Math.abs(hi) * 0.1 || 0.01;
    lo -= pad;
    hi += pad;
  }
  const raw = (hi - lo) / ticks;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * mag).find((s) => s >= raw)!;
  const a = Math.floor(lo / step) * step;
  const b = Math.ceil(hi / step) * step;
  const out: number[] = [];
  for (let v = a; v <= b + step / 2; v += step) out.push(Number(v.toPrecision(12)));
  // As many decimals as the step needs (0.0025 -> 4), so that no two ticks read alike.
  const decimals = Math.max(0, Math.ceil(-Math.log10(step) - 1e-9) + (Number((step / mag).toPrecision(3)) === 2.5 ? 1 : 0));
  return { lo: a, hi: b, ticks: out, text: (v) => v.toFixed(decimals) };
}

/** Dot and whisker: one line per row, its value and interval on a shared x axis. */
function whiskerChart(t: ReportTable, col: Column): string {
  const rows = t.rows.filter((r) => r.cells[col.key].value !== null);
  if (rows.length === 0) return '';
  const W = 640;
  const left = 230;
  const lineH = 26;
  const top = 12;
  const H = top + rows.length * lineH + 34;
  const values = rows.flatMap((r) => [r.cells[col.key].value!, r.cells[col.key].low ?? r.cells[col.key].value!, r.cells[col.key].high ?? r.cells[col.key].value!]);
  const ax = axis(Math.min(...values), Math.max(...values));
  const x = (v: number) => left + ((v - ax.lo) / (ax.hi - ax.lo)) * (W - left - 20);
  const parts: string[] = [];
  for (const v of ax.ticks) parts.push(`<line class="grid" x1="${x(v).toFixed(1)}" x2="${x(v).toFixed(1)}" y1="${top - 4}" y2="${H - 28}"/><text class="tick" x="${x(v).toFixed(1)}" y="${H - 12}" text-anchor="middle">${ax.text(v)}</text>`);
  let marks = 0;
  rows.forEach((r, i) => {
    const y = top + i * lineH + lineH / 2;
    const c = r.cells[col.key];
    const hue = colour(t.rows.indexOf(r));
    const sig = r.versus?.[col.key]?.significant;
    parts.push(`<text class="label" x="${left - 8}" y="${y + 4}" text-anchor="end">${esc(short(`${rowLabel(r)}${r.baseline ? ' (baseline)' : ''}`))}</text>`);
    if (c.low !== null && c.high !== null) parts.push(`<line class="mark whisker" x1="${x(c.low).toFixed(1)}" x2="${x(c.high).toFixed(1)}" y1="${y}" y2="${y}" stroke="${hue}"/>`);
    parts.push(
      `<circle class="mark dot" cx="${x(c.value!).toFixed(1)}" cy="${y}" r="5" fill="${sig ? hue : '#fff'}" stroke="${hue}"><title>${esc(rowLabel(r))}: ${fmt(c.value, col.digits)} [${fmt(c.low, col.digits)}, ${fmt(c.high, col.digits)}]${sig ? ' (differs from the baseline)' : ''}</title></circle>`,
    );
    marks++;
  });
  return figure(`whisker:${col.key}`, `${col.label}`, W, H, parts, marks, `${Math.round(t.confidence * 100)}% interval as whiskers${t.baseline ? '; filled dot: differs from the baseline (both paired tests)' : ''}`);
}

/** Recall@k for k = 1..100, one line per row that has its per-example ranks. */
function curveChart(t: ReportTable): string {
  const rows = t.rows.filter((r) => r.recallCurve);
  if (rows.length === 0) return '';
  const W = 640;
  const H = 320;
  const left = 48;
  const bottom = 40;
  const top = 12;
  const right = 12;
  const max = Math.max(...rows.flatMap((r) => r.recallCurve!.filter(Number.isFinite)), 0.01);
  const ax = axis(0, max);
  const x = (k: number) => left + ((k - 1) / (CURVE_MAX_K - 1)) * (W - left - right);
  const y = (v: number) => H - bottom - ((v - ax.lo) / (ax.hi - ax.lo)) * (H - bottom - top);
  const parts: string[] = [];
  for (const v of ax.ticks) parts.push(`<line class="grid" x1="${left}" x2="${W - right}" y1="${y(v).toFixed(1)}" y2="${y(v).toFixed(1)}"/><text class="tick" x="${left - 6}" y="${(y(v) + 4).toFixed(1)}" text-anchor="end">${ax.text(v)}</text>`);
  for (const k of [1, 10, 20, 50, 100]) parts.push(`<text class="tick" x="${x(k).toFixed(1)}" y="${H - bottom + 16}" text-anchor="middle">${k}</text>`);
  parts.push(`<text class="tick" x="${(left + W - right) / 2}" y="${H - 6}" text-anchor="middle">k</text>`);
  rows.forEach((r, i) => {
    const pts = r.recallCurve!.map((v, j) => `${x(j + 1).toFixed(1)},${y(Number.isFinite(v) ? v : 0).toFixed(1)}`).join(' ');
    parts.push(`<polyline class="mark curve" points="${pts}" fill="none" stroke="${colour(t.rows.indexOf(r))}" stroke-width="2"><title>${esc(rowLabel(r))}</title></polyline>`);
  });
  const legend = rows.map((r) => `<span class="key"><i style="background:${colour(t.rows.indexOf(r))}"></i>${esc(rowLabel(r))}</span>`).join('');
  return figure('curves', 'Recall@k, k = 1..100 (from the per-example ranks; a model that lists fewer items is flat beyond its list)', W, H, parts, rows.length, '', legend);
}

/** Per narrative kind, one bar per row for a text metric. */
function narrativeBars(t: ReportTable, metric: string): string {
  const cols = t.columns.filter((c) => c.group === 'text' && c.metric === metric);
  const rows = t.rows.filter((r) => cols.some((c) => r.cells[c.key].value !== null));
  if (cols.length === 0 || rows.length === 0) return '';
  const W = 640;
  const left = 48;
  const bottom = 70;
  const top = 12;
  const H = 300;
  const vals = rows.flatMap((r) => cols.map((c) => r.cells[c.key].value ?? 0));
  const ax = axis(0, Math.max(...vals, 1e-9));
  const y = (v: number) => H - bottom - ((v - ax.lo) / (ax.hi - ax.lo)) * (H - bottom - top);
  const groupW = (W - left - 10) / cols.length;
  const barW = Math.max(2, (groupW - 10) / rows.length);
  const parts: string[] = [];
  for (const v of ax.ticks) parts.push(`<line class="grid" x1="${left}" x2="${W - 10}" y1="${y(v).toFixed(1)}" y2="${y(v).toFixed(1)}"/><text class="tick" x="${left - 6}" y="${(y(v) + 4).toFixed(1)}" text-anchor="end">${ax.text(v)}</text>`);
  let marks = 0;
  cols.forEach((c, g) => {
    const gx = left + g * groupW + 5;
    parts.push(`<text class="tick" x="${(gx + (groupW - 10) / 2).toFixed(1)}" y="${H - bottom + 14}" text-anchor="end" transform="rotate(-25 ${(gx + (groupW - 10) / 2).toFixed(1)} ${H - bottom + 14})">${esc(c.kind!)}</text>`);
    rows.forEach((r, i) => {
      const cell = r.cells[c.key];
      if (cell.value === null) return;
      const bx = gx + i * barW;
      parts.push(`<rect class="mark bar" x="${bx.toFixed(1)}" y="${y(cell.value).toFixed(1)}" width="${(barW - 1).toFixed(1)}" height="${Math.max(0, y(ax.lo) - y(cell.value)).toFixed(1)}" fill="${colour(t.rows.indexOf(r))}"><title>${esc(rowLabel(r))}, ${esc(c.label)}: ${fmt(cell.value, c.digits)} [${fmt(cell.low, c.digits)}, ${fmt(cell.high, c.digits)}]</title></rect>`);
      if (cell.low !== null && cell.high !== null)
        parts.push(`<line class="errbar" x1="${(bx + barW / 2).toFixed(1)}" x2="${(bx + barW / 2).toFixed(1)}" y1="${y(cell.low).toFixed(1)}" y2="${y(cell.high).toFixed(1)}"/>`);
      marks++;
    });
  });
  const legend = rows.map((r) => `<span class="key"><i style="background:${colour(t.rows.indexOf(r))}"></i>${esc(rowLabel(r))}</span>`).join('');
  return figure(`bars:${metric}`, `${cols[0].label.replace(`${cols[0].kind} `, '')} per narrative kind`, W, H, parts, marks, '', legend);
}

/** Critique lift: the paired difference (with critiques minus without) per model, for each ranking metric. */
function liftChart(t: ReportTable): string {
  if (t.lifts.length === 0) return '';
  const metrics = t.lifts[0].metrics.map((m) => m.metric);
  const W = 640;
  const left = 230;
  const lineH = 22;
  const top = 12;
  const items = t.lifts.flatMap((l) => metrics.map((metric) => ({ l, m: l.metrics.find((x) => x.metric === metric)! })).filter((x) => x.m));
  const H = top + items.length * lineH + 34;
  const ax = axis(Math.min(0, ...items.map((x) => x.m.low)), Math.max(0, ...items.map((x) => x.m.high)));
  const x = (v: number) => left + ((v - ax.lo) / (ax.hi - ax.lo)) * (W - left - 20);
  const parts: string[] = [];
  for (const v of ax.ticks) parts.push(`<line class="grid" x1="${x(v).toFixed(1)}" x2="${x(v).toFixed(1)}" y1="${top - 4}" y2="${H - 28}"/><text class="tick" x="${x(v).toFixed(1)}" y="${H - 12}" text-anchor="middle">${ax.text(v)}</text>`);
  parts.push(`<line class="zero" x1="${x(0).toFixed(1)}" x2="${x(0).toFixed(1)}" y1="${top - 4}" y2="${H - 28}"/>`);
  items.forEach(({ l, m }, i) => {
    const y = top + i * lineH + lineH / 2;
    const c = colour(t.lifts.indexOf(l));
    const sig = m.pRandomisation < t.alpha && m.pBootstrap < t.alpha;
    parts.push(`<text class="label" x="${left - 8}" y="${y + 4}" text-anchor="end">${esc(short(`${l.model}, ${m.metric}`))}</text>`);
    parts.push(`<line class="mark whisker" x1="${x(m.low).toFixed(1)}" x2="${x(m.high).toFixed(1)}" y1="${y}" y2="${y}" stroke="${c}"/>`);
    parts.push(`<circle class="mark dot" cx="${x(m.delta).toFixed(1)}" cy="${y}" r="5" fill="${sig ? c : '#fff'}" stroke="${c}"><title>${esc(`${l.model}: ${l.what}, ${m.metric}`)} ${m.delta.toFixed(4)} [${m.low.toFixed(4)}, ${m.high.toFixed(4)}], p ${m.pRandomisation.toFixed(3)}/${m.pBootstrap.toFixed(3)}</title></circle>`);
  });
  return figure('lift', 'Critique lift: with critiques minus without, paired by user', W, H, parts, items.length, `${Math.round(t.confidence * 100)}% paired bootstrap interval; filled: both paired tests below ${t.alpha}`);
}

function figure(id: string, title: string, W: number, H: number, parts: string[], marks: number, caption: string, legend = ''): string {
  return (
    `<figure class="chart" data-chart="${esc(id)}" data-marks="${marks}"><figcaption>${esc(title)}</figcaption>` +
    `<svg viewBox="0 0 ${W} ${H}" role="img" aria-label="${esc(title)}" preserveAspectRatio="xMinYMin meet">${parts.join('')}</svg>` +
    (legend ? `<div class="legend">${legend}</div>` : '') +
    (caption ? `<p class="caption">${esc(caption)}</p>` : '') +
    '</figure>'
  );
}

/** The table as HTML (the same cells as the Markdown). */
function htmlTable(t: ReportTable): string {
  const pText = pvalWith(t.samples);
  const head = t.columns.map((c) => `<th>${esc(c.label)}</th>`).join('');
  const body = t.rows
    .map((r) => {
      const cells = t.columns
        .map((c) => {
          const cell = r.cells[c.key];
          const v = r.versus?.[c.key];
          if (cell.value === null) return '<td class="na">n/a</td>';
          const ci = cell.low === null ? '' : `<span class="ci">[${fmt(cell.low, c.digits)}, ${fmt(cell.high, c.digits)}]</span>`;
          const vs = v ? `<span class="vs${v.significant ? ' sig' : ''}">${v.delta >= 0 ? '+' : ''}${fmt(v.delta, c.digits)} p ${pText(v.pRandomisation)}/${pText(v.pBootstrap)}${v.significant ? '*' : ''}</span>` : '';
          return `<td>${fmt(cell.value, c.digits)}${ci}${vs}</td>`;
        })
        .join('');
      return `<tr${r.baseline ? ' class="baseline"' : ''}><th scope="row">${esc(r.model)}${r.baseline ? ' <small>(baseline)</small>' : ''}</th><td>${esc(r.row)}</td><td>${r.n.toLocaleString('en-US')}</td>${cells}</tr>`;
    })
    .join('');
  return `<div class="scroll"><table><thead><tr><th>Model</th><th>Row</th><th>n</th>${head}</tr></thead><tbody>${body}</tbody></table></div>`;
}

const STYLE = `
body{font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0 auto;max-width:1100px;padding:12px;color:#222;background:#fff}
h1{font-size:1.4em}h2{font-size:1.15em;margin-top:1.6em;border-bottom:1px solid #ddd}
.scroll{overflow-x:auto;max-width:100%}
table{border-collapse:collapse;font-size:13px}th,td{padding:4px 8px;border-bottom:1px solid #eee;text-align:right;white-space:nowrap;vertical-align:top}
th:first-child,th:nth-child(2),td:nth-child(2){text-align:left}tr.baseline{background:#f4f8fc}
.ci{display:block;color:#666;font-size:11px}.vs{display:block;color:#666;font-size:11px}.vs.sig{color:#000;font-weight:600}
.charts{display:grid;grid-template-columns:repeat(auto-fill,minmax(min(100%,480px),1fr));gap:16px}
figure{margin:0}figcaption{font-weight:600;margin-bottom:4px}svg{width:100%;height:auto;display:block}
.grid{stroke:#e5e5e5}.zero{stroke:#888;stroke-dasharray:3 3}.tick,.label{font-size:11px;fill:#444}
.whisker{stroke-width:2}.errbar{stroke:#333;stroke-width:1}.caption{color:#666;font-size:12px;margin:4px 0}
.legend{font-size:12px}.key{display:inline-block;margin-right:10px}.key i{display:inline-block;width:10px;height:10px;margin-right:4px}
code,pre{font-size:12px;overflow-wrap:anywhere;white-space:pre-wrap}
@media (max-width:600px){body{font-size:14px;padding:8px}}
`;

export function renderHtml(t: ReportTable, generated: string): string {
  const charts = t.columns.map((c) => whiskerChart(t, c)).filter(Boolean);
  const textMetrics = [...new Set(t.columns.filter((c) => c.group === 'text').map((c) => c.metric))];
  const bars = textMetrics.map((m) => narrativeBars(t, m)).filter(Boolean);
  const curves = curveChart(t);
  const lift = liftChart(t);
  const inputs = t.manifest.runs
    .map((r) => `<li><code>${esc(r.run)}</code>: ${r.inputs.length ? r.inputs.map((f) => `${esc(f.role)} <code>${esc(f.file)}</code> sha256 <code>${esc(f.sha256.slice(0, 16))}</code>`).join('; ') : 'no input files recorded'}</li>`)
    .join('');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>regen-bench report</title><style>${STYLE}</style></head>
<body>
<h1>regen-bench report</h1>
<p>${esc(`Data ${t.manifest.data}, split ${t.manifest.split}, history ${t.manifest.history}, k ${t.manifest.k}. ${Math.round(t.confidence * 100)}% bootstrap intervals.`)}${
    t.baseline ? esc(` Against the baseline ${t.rows.find((r) => r.baseline)?.model ?? ''} (${t.baseline}): difference and p-values of the paired randomisation / bootstrap tests (${t.samples} resamples, seed ${t.seed}); * both below ${t.alpha}.`) : ''
  }</p>
${t.mixed.length ? `<p><strong>Mixed runs</strong>: the rows differ in ${esc(t.mixed.map((m) => m.field).join(', '))}, and are not comparable on those.</p>` : ''}
<h2>Table</h2>
${htmlTable(t)}
<h2>Metrics, model by model</h2>
<div class="charts">${charts.join('\n')}</div>
${curves ? `<h2>Recall@k curves</h2><div class="charts">${curves}</div>` : ''}
${bars.length ? `<h2>Narratives</h2><div class="charts">${bars.join('\n')}</div>` : ''}
${lift ? `<h2>Critique lift</h2><div class="charts">${lift}</div>` : ''}
${t.notes.length ? `<h2>Notes</h2><ul>${t.notes.map((n) => `<li>${esc(n)}</li>`).join('')}</ul>` : ''}
<h2>Manifest and signatures</h2>
<p>Data <code>${esc(t.manifest.data)}</code>, split ${esc(t.manifest.split)}, history ${esc(t.manifest.history)}, cut-offs ${esc(t.manifest.k)}.</p>
<ul>${inputs}</ul>
<ul>${t.rows.map((r) => `<li>${esc(rowLabel(r))}: <code>${esc(r.signature)}</code></li>`).join('')}</ul>
<details><summary>The table as Markdown</summary><pre>${esc(tableMarkdown(t))}</pre></details>
<p class="caption">${esc(generated)}</p>
</body></html>
`;
}
