// `regen-bench report` on real eval runs of the demo: the table (cells equal to each run's report.json,
// paired tests equal to compare's), its formats, refusals of runs that cannot share a table, and the
// HTML report rendered in headless Chromium (charts drawn, no console errors, readable at phone width).
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { comparePartFiles } from '../src/eval/compare.js';
import { runEval } from '../src/eval/run.js';
import { buildTable, formatTable, loadRun, renderHtml, writeReport } from '../src/report/index.js';
import { Browser, findChromium } from './helpers/chromium.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const dir = mkdtempSync(path.join(tmpdir(), 'regen-report-'));
const run = (name: string) => path.join(dir, name);
const quick = { bootstrapSamples: 100, semsim: false as const, k: [5, 10] };

beforeAll(async () => {
  await runEval({ ...quick, task: 1, model: 'pop', out: run('pop1') });
  await runEval({ ...quick, task: 1, model: 'sknn', out: run('sknn1') });
  await runEval({ ...quick, task: 2, model: 'sknn', out: run('sknn2') });
  await runEval({ ...quick, task: 3, model: 'pop', narratives: ['purchase_reason', 'user_summary_brief'], out: run('pop3') });
  await runEval({ ...quick, task: 3, model: 'markov', narratives: ['purchase_reason', 'user_summary_brief'], out: run('markov3') });
  // Another cut-off: not comparable with the rest.
  await runEval({ bootstrapSamples: 100, semsim: false, task: 1, model: 'markov', k: 10, out: run('markov1-k10') });
}, 240_000);

describe('report: the table', () => {
  it('holds every run row with the numbers and intervals of its report.json', () => {
    const runs = ['pop1', 'sknn1', 'pop3'].map((r) => loadRun(run(r)));
    const t = buildTable(runs);
    expect(t.rows.map((r) => `${r.model}|${r.task}`)).toEqual(['pop+template|1', 'sknn+template|1', 'pop+template|3-no-critique', 'pop+template|3']);
    expect(t.columns.slice(0, 5).map((c) => c.key)).toEqual(['recall@5', 'ndcg@5', 'recall@10', 'ndcg@10', 'mrr']);
    const json = JSON.parse(readFileSync(path.join(run('sknn1'), 'report.json'), 'utf8'));
    const sknn = t.rows[1];
    expect(sknn.cells['recall@10'].value).toBe(json.ranking['recall@10']);
    expect([sknn.cells['ndcg@5'].low, sknn.cells['ndcg@5'].high]).toEqual(json.ci.ranking['ndcg@5']);
    const pop3 = JSON.parse(readFileSync(path.join(run('pop3'), 'report.json'), 'utf8'));
    expect(t.rows[3].cells['purchase_reason.bleu'].value).toBe(pop3.text.purchase_reason.bleu);
    expect(t.rows[2].cells['user_summary_brief.rougeL'].value).toBe(pop3.rows[0].text.user_summary_brief.rougeL);
    // A task-1 run has no narratives: n/a, never a made-up 0.
    expect(t.rows[0].cells['purchase_reason.bleu'].value).toBeNull();
    // Recall@k curves from the ranks agree with the report at its cut-offs.
    expect(sknn.recallCurve![9]).toBeCloseTo(json.ranking['recall@10'], 12);
    expect(sknn.recallCurve![4]).toBeCloseTo(json.ranking['recall@5'], 12);
    expect(sknn.recallCurve).toHaveLength(100);
  });

  it('compares every row with the baseline row of its task exactly as compare does, and marks significance', () => {
    const t = buildTable(['pop1', 'sknn1', 'pop3', 'markov3'].map((r) => loadRun(run(r))), { baseline: run('pop1'), samples: 200, seed: 3 });
    expect(t.rows[0].baseline).toBe(true);
    const sknn = t.rows.find((r) => r.model.startsWith('sknn'))!;
    const c = comparePartFiles(run('pop1'), run('sknn1'), { samples: 200, seed: 3 });
    for (const m of c.metrics) {
      expect(sknn.versus![m.metric].delta).toBe(m.delta);
      expect(sknn.versus![m.metric].pRandomisation).toBe(m.pRandomisation);
      expect(sknn.versus![m.metric].pBootstrap).toBe(m.pBootstrap);
      expect(sknn.versus![m.metric].significant).toBe(m.pRandomisation < 0.05 && m.pBootstrap < 0.05);
    }
    // sknn beats popularity on the demo by far: every ranking metric is marked.
    expect(t.columns.filter((col) => col.group === 'ranking').every((col) => sknn.versus![col.key].significant)).toBe(true);
    // The baseline is a model: its task-3 run is the baseline of the task-3 rows, row by row.
    expect(t.rows.filter((r) => r.baseline).map((r) => r.task)).toEqual(['1', '3-no-critique', '3']);
    const markov = t.rows.filter((r) => r.model.startsWith('markov'));
    const vsPop3 = comparePartFiles(path.join(run('pop3'), 'task3.part.json'), path.join(run('markov3'), 'task3.part.json'), { samples: 200, seed: 3 });
    expect(markov.find((r) => r.task === '3')!.versus!['purchase_reason.bleu'].delta).toBe(vsPop3.metrics.find((m) => m.metric === 'purchase_reason.bleu')!.delta);
    // Without the baseline model's run of a task: said, not compared against another task.
    const t1 = buildTable(['pop1', 'markov3'].map((r) => loadRun(run(r))), { baseline: run('pop1'), samples: 50 });
    expect(t1.rows.filter((r) => r.model.startsWith('markov')).every((r) => r.versus === undefined && /baseline has no task 3/.test(r.versusNote!))).toBe(true);
    expect(t1.notes.some((n) => n.includes('baseline has no task 3'))).toBe(true);
  });

  it("pairs a model's task-1 and task-2 runs, and a run's two task-3 rows, as critique lifts", () => {
    const t = buildTable(['sknn1', 'sknn2', 'pop3'].map((r) => loadRun(run(r))), { samples: 100 });
    const whats = t.lifts.map((l) => `${l.model}: ${l.what}`).sort();
    expect(whats).toEqual(['pop+template: task 3 without -> with critiques', 'sknn+template: task 1 -> task 2 (critique shown)']);
    const acrossTasks = comparePartFiles(run('sknn1'), run('sknn2'), { samples: 100, acrossTasks: true });
    const lift = t.lifts.find((l) => l.model.startsWith('sknn'))!;
    expect(lift.metrics.map((m) => m.delta)).toEqual(acrossTasks.metrics.filter((m) => !m.metric.includes('.')).map((m) => m.delta));
  });

  it('writes Markdown, CSV, LaTeX and JSON of the same table', async () => {
    const runs = ['pop1', 'sknn1', 'pop3'].map(run);
    const md = (await writeReport({ runs, baseline: run('pop1'), samples: 100 })).text;
    expect(md).toMatch(/^# regen-bench report/);
    expect(md).toMatch(/\| sknn\+template \| Hist -> ID \| 0\.\d{3} \[0\.\d{3}, 0\.\d{3}\] \+0\.\d{3} \(p [<0-9.]+\/[<0-9.]+\)\*/);
    expect(md).toContain('## Narratives: purchase_reason');
    expect(md).toMatch(/Signatures:\n- pop\+template \(baseline\), Hist -> ID: `regen-bench:/);

    const csv = (await writeReport({ runs, baseline: run('pop1'), samples: 100, format: 'csv' })).text.trim().split('\n');
    const head = csv[0].split(',');
    expect(head.slice(0, 7)).toEqual(['model', 'row', 'task', 'baseline', 'n', 'run', 'signature']);
    expect(head).toContain('recall@10_p_randomisation');
    expect(csv).toHaveLength(1 + 4);
    const parseCsv = (line: string) => {
      const fields: string[] = [];
      let field = '';
      let quoted = false;
      for (let i = 0; i < line.length; i++) {
        const c = line[i];
        if (quoted) {
          if (c === '"' && line[i + 1] === '"') (field += '"'), i++;
          else if (c === '"') quoted = false;
          else field += c;
        } else if (c === '"') quoted = true;
        else if (c === ',') fields.push(field), (field = '');
        else field += c;
      }
      return [...fields, field];
    };
    for (const line of csv.slice(1)) expect(parseCsv(line)).toHaveLength(head.length);

    const tex = (await writeReport({ runs, baseline: run('pop1'), samples: 100, format: 'latex' })).text;
    expect(tex).toContain('\\begin{tabular}{ll');
    expect(tex).toContain('\\toprule');
    expect(tex).toContain('purchase\\_reason BLEU');
    expect(tex).toContain('$^{*}$');
    expect(tex).toContain('Hist $\\rightarrow$ ID');

    const json = JSON.parse((await writeReport({ runs, baseline: run('pop1'), samples: 100, format: 'json' })).text);
    expect(json.format).toBe('regen-bench-report');
    expect(json.rows.find((r: { model: string }) => r.model.startsWith('sknn')).versus['recall@10']).toHaveProperty('p_randomisation');
    expect(json.rows[0].cells['recall@5']).toHaveProperty('low');
  });

  it('reads a report.json alone: numbers and intervals, no paired test, and says why', () => {
    const t = buildTable([loadRun(run('pop1')), loadRun(path.join(run('sknn1'), 'report.json'))], { baseline: run('pop1'), samples: 50 });
    expect(t.rows[1].cells['mrr'].value).toBeGreaterThan(0);
    expect(t.rows[1].versus).toBeUndefined();
    expect(t.rows[1].versusNote).toMatch(/paired tests need the eval --out folder's parts/);
    expect(t.rows[1].recallCurve).toBeNull();
  });
});

describe('report: bad runs', () => {
  it('refuses runs whose shared settings differ, naming the field and runs, unless --allow-mixed', () => {
    const runs = ['pop1', 'markov1-k10'].map((r) => loadRun(run(r)));
    expect(() => buildTable(runs)).toThrow(/not comparable: they differ in k: 5\+10 \(.*pop1\) vs 10 \(.*markov1-k10\).*--allow-mixed/);
    const t = buildTable(runs, { allowMixed: true });
    expect(t.mixed.map((m) => m.field)).toEqual(['k']);
    expect(formatTable(t, 'markdown')).toContain('**Mixed runs** (--allow-mixed): the rows differ in k');
  });

  it('takes runs that differ only in resamples or seed (the interval level must match), and a baseline by its report.json folder only', async () => {
    await runEval({ bootstrapSamples: 50, seed: 4, semsim: false, task: 1, model: 'pop', k: [5, 10], out: run('nested/pop-b50') });
    const t = buildTable([loadRun(run('nested/pop-b50')), loadRun(run('sknn1'))], { baseline: run('nested/pop-b50'), samples: 50 });
    expect(t.mixed).toEqual([]);
    expect(t.rows[0].signature).toContain('ci:bootstrap-50-0.95-seed4');
    // With 50 resamples a p-value of 0 is printed as the bound the resamples allow.
    expect(formatTable(t, 'markdown')).toMatch(/\(p 0\.020\/<0\.02\)\*/);
    // The folder holding a run is not the run.
    expect(() => buildTable([loadRun(run('nested/pop-b50')), loadRun(run('sknn1'))], { baseline: run('nested') })).toThrow(/--baseline .*nested is not among the runs/);
    // A run given as its report.json is found by its folder (and then refused: it has no parts to pair).
    expect(() => buildTable([loadRun(path.join(run('pop1'), 'report.json')), loadRun(run('sknn1'))], { baseline: run('pop1') })).toThrow(
      /--baseline .*pop1: paired tests need the per-example parts: give the eval --out folder, not its report\.json/,
    );
  }, 60_000);

  it('refuses a baseline that is not among the runs, the same run twice, and no runs', () => {
    expect(() => buildTable([loadRun(run('sknn1'))], { baseline: run('pop1') })).toThrow(/--baseline .*pop1 is not among the runs .*give it as one of the RUN arguments too/);
    expect(() => buildTable([loadRun(run('pop1')), loadRun(run('pop1') + '/')])).toThrow(/are the same run: give each run once/);
    expect(() => buildTable([])).toThrow(/give at least one run/);
  });

  it('names a truncated, empty or foreign report.json, and a folder that is no finished run', () => {
    const bad = path.join(dir, 'bad');
    mkdirSync(bad);
    const full = readFileSync(path.join(run('pop1'), 'report.json'), 'utf8');
    writeFileSync(path.join(bad, 'truncated.json'), full.slice(0, full.length / 2));
    expect(() => loadRun(path.join(bad, 'truncated.json'))).toThrow(/truncated\.json: not valid JSON .*truncated\? run the eval again with the same --out/);
    writeFileSync(path.join(bad, 'empty.json'), '');
    expect(() => loadRun(path.join(bad, 'empty.json'))).toThrow(/empty\.json: the file is empty/);
    writeFileSync(path.join(bad, 'foreign.json'), JSON.stringify({ signature: 'sacrebleu', ranking: {} }));
    expect(() => loadRun(path.join(bad, 'foreign.json'))).toThrow(/foreign\.json has no regen-bench signature/);
    expect(() => loadRun(path.join(bad, 'nothing-here'))).toThrow(/nothing-here: no such file or folder/);
    mkdirSync(path.join(bad, 'empty-run'));
    expect(() => loadRun(path.join(bad, 'empty-run'))).toThrow(/empty-run holds no report.json: give the --out folder of a finished regen-bench eval/);
    // Parts whose report was never written (an interrupted eval).
    const partial = path.join(bad, 'partial');
    cpSync(run('pop1'), partial, { recursive: true });
    writeFileSync(path.join(partial, 'report.json'), full.replaceAll('|task:1|', '|task:2|'));
    expect(() => loadRun(partial)).toThrow(/has no part file with its signature beside it/);
  });

  it('writes nothing when the report fails (no half-written table or page)', async () => {
    const out = path.join(dir, 'never.md');
    const html = path.join(dir, 'never.html');
    await expect(writeReport({ runs: [run('pop1'), run('markov1-k10')], out, html })).rejects.toThrow(/not comparable/);
    expect(existsSync(out) || existsSync(html)).toBe(false);
  });

  it('the CLI: one format at a time, text metrics checked, errors name the flag', () => {
    const cli = (...args: string[]) => spawnSync(process.execPath, [path.join(root, 'bin/regen-bench.js'), ...args], { encoding: 'utf8', cwd: root });
    const two = cli('report', run('pop1'), '--csv', '--json');
    expect(two.status).toBe(1);
    expect(two.stderr).toMatch(/give one table format: --csv and --json were both given/);
    const metrics = cli('report', run('pop1'), '--metrics', 'bleu,meteor');
    expect(metrics.stderr).toMatch(/--metrics expects a comma-separated list of bleu, rouge1, rouge2, rougeL, rougeLsum, semsim but received 'bleu,meteor'/);
    const ok = cli('report', run('pop1'), run('sknn1'), '--baseline', run('pop1'), '--csv', '--bootstrap', '50');
    expect(ok.status, ok.stderr).toBe(0);
    expect(ok.stdout.split('\n')[0]).toMatch(/^model,row,task,baseline,n,run,signature,recall@5,/);
  });
});

const chromium = findChromium();

describe.skipIf(!chromium)(`report: the HTML in headless Chromium${chromium ? '' : ' (skipped: no chromium on PATH; apt-get install chromium, or set CHROMIUM)'}`, () => {
  let browser: Browser;
  let html: string;
  let t: ReturnType<typeof buildTable>;
  beforeAll(async () => {
    t = buildTable(['pop1', 'sknn1', 'sknn2', 'pop3', 'markov3'].map((r) => loadRun(run(r))), { baseline: run('pop1'), samples: 100 });
    html = path.join(dir, 'report.html');
    writeFileSync(html, renderHtml(t, 'test'));
    browser = new Browser(chromium!);
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
  });

  it('draws every chart with the expected marks, without a console error or a network request', async () => {
    expect(readFileSync(html, 'utf8')).not.toMatch(/(src|href)="(https?:)?\/\//);
    const page = await browser.open(`file://${html}`, { width: 1280, height: 900 });
    const charts = await page.evaluate<{ id: string; marks: number; drawn: number; width: number; height: number }[]>(`
      [...document.querySelectorAll('figure.chart')].map((f) => {
        const svg = f.querySelector('svg').getBoundingClientRect();
        return { id: f.dataset.chart, marks: Number(f.dataset.marks), drawn: f.querySelectorAll('.mark.dot, .mark.curve, .mark.bar').length, width: svg.width, height: svg.height };
      })`);
    const ids = charts.map((c) => c.id);
    // One dot-and-whisker chart per column, the curves, bars per text metric, the lifts.
    expect(ids).toEqual([...t.columns.map((c) => `whisker:${c.key}`), 'curves', 'bars:bleu', 'bars:rougeL', 'lift']);
    for (const c of charts) {
      expect(c.drawn, c.id).toBe(c.marks);
      expect(c.marks, c.id).toBeGreaterThan(0);
      expect(c.width * c.height, c.id).toBeGreaterThan(10_000);
    }
    const byId = Object.fromEntries(charts.map((c) => [c.id, c.marks]));
    expect(byId['whisker:recall@10']).toBe(t.rows.length);
    expect(byId['whisker:purchase_reason.bleu']).toBe(4); // pop and markov, two task-3 rows each
    expect(byId.curves).toBe(t.rows.length);
    expect(byId['bars:bleu']).toBe(4 * 2); // four rows with narratives x two kinds
    expect(byId.lift).toBe(2 * 5 + 1 * 5); // sknn task 1 -> 2; pop and markov task 3 rows: 3 lifts x 5 ranking metrics
    expect(await page.evaluate<number>(`document.querySelectorAll('tbody tr').length`)).toBe(t.rows.length);
    expect(await page.evaluate<number>(`document.querySelectorAll('code').length`)).toBeGreaterThan(t.rows.length);
    const png = await page.screenshot();
    expect(png.subarray(1, 4).toString()).toBe('PNG');
    expect(png.length).toBeGreaterThan(20_000);
    writeFileSync(path.join(dir, 'report-laptop.png'), png);
    expect(browser.console).toEqual([]);
  }, 60_000);

  it('fits a phone: the page does not scroll sideways (the wide table scrolls in its own box)', async () => {
    const page = await browser.open(`file://${html}`, { width: 390, height: 844, mobile: true });
    const widths = await page.evaluate<{ doc: number; view: number; svg: number }>(
      `({ doc: document.documentElement.scrollWidth, view: window.innerWidth, svg: Math.max(...[...document.querySelectorAll('svg')].map((s) => s.getBoundingClientRect().right)) })`,
    );
    expect(widths.doc).toBeLessThanOrEqual(widths.view);
    expect(widths.svg).toBeLessThanOrEqual(widths.view);
    writeFileSync(path.join(dir, 'report-phone.png'), await page.screenshot());
    expect(browser.console).toEqual([]);
  }, 60_000);
});
