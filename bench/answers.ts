// `npm run bench -- answers [--skip-study] [--skip-speed]`: answers by title.
//
// 1. Threshold study: titles of three catalogues (the synthetic demo, the Office-scale synthetic set,
//    and the real Amazon Office titles of ../shared/fixtures when present) perturbed the ways LLM
//    answers differ from catalogue titles (typos, a dropped word, a dropped trailing attribute, words
//    added, case and punctuation), plus invented answers (titles of another catalogue, recombined
//    titles): precision (answers resolved to the right item / answers resolved) and recall (positives
//    resolved to the right item) per Dice threshold and margin. FUZZY_THRESHOLD and FUZZY_MARGIN come
//    from this table.
// 2. Speed: 89,489 answer lines x 10 titles (the Office preset's test users) resolved against the
//    Office-scale catalogue (27,887 titles), the resolver alone and `eval --predictions` end to end.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { loadDataset } from '../src/data/load.js';
import type { Dataset } from '../src/data/dataset.js';
import { runEval } from '../src/eval/run.js';
import { FUZZY_MARGIN, FUZZY_THRESHOLD, HOW, normalizeTitle, TitleResolver } from '../src/models/title-resolver.js';
import { buildExamples } from '../src/tasks/examples.js';
import { rng } from '../src/util/random.js';
import { officeSynthetic } from './office.js';

const FIXTURE = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..', '..', 'shared', 'fixtures', 'amazon-office-minionerec');

type Case = { answer: string; item: number; kind: string };

/** Perturbations of catalogue titles (positives: the item) and invented answers (item -1). */
function cases(ds: Dataset, foreign: string[], count: number, seed: number): Case[] {
  const r = rng(seed);
  const pick = <T>(a: readonly T[]) => a[Math.floor(r() * a.length)];
  const letters = 'abcdefghijklmnopqrstuvwxyz';
  const typo = (s: string) => {
    const words = s.split(' ');
    const long = words.map((w, i) => [w, i] as const).filter(([w]) => w.length >= 4);
    if (!long.length) return s;
    const [w, i] = pick(long);
    const p = 1 + Math.floor(r() * (w.length - 2));
    const op = Math.floor(r() * 3);
    words[i] = op === 0 ? w.slice(0, p) + w.slice(p + 1) : op === 1 ? w.slice(0, p) + w[p + 1] + w[p] + w.slice(p + 2) : w.slice(0, p) + pick([...letters]) + w.slice(p + 1);
    return words.join(' ');
  };
  const out: Case[] = [];
  const titled = Array.from({ length: ds.items.count }, (_, i) => i).filter((i) => ds.items.title.get(i));
  const existing = new Set(titled.map((i) => normalizeTitle(ds.items.title.get(i)!)));
  for (let c = 0; c < count; c++) {
    const item = pick(titled);
    const t = ds.items.title.get(item)!;
    const words = t.split(' ');
    const kind = pick(['case', 'typo', 'typo2', 'drop-word', 'drop-attribute', 'suffix', 'invented-foreign', 'invented-mix'] as const);
    let answer = t;
    let target = item;
    if (kind === 'case') answer = t.toLowerCase().replace(/[,-]/g, ' ');
    else if (kind === 'typo') answer = typo(t);
    else if (kind === 'typo2') answer = typo(typo(t));
    else if (kind === 'drop-word') {
      if (words.length < 5) continue;
      words.splice(1 + Math.floor(r() * (words.length - 1)), 1);
      answer = words.join(' ');
    } else if (kind === 'drop-attribute') {
      const parts = t.split(', ');
      if (parts.length < 3) continue;
      answer = parts.slice(0, -1).join(', ');
    } else if (kind === 'suffix') answer = `${t} - ${pick(['great value', 'for the office', 'best seller', 'new'])}`;
    else if (kind === 'invented-foreign') {
      answer = pick(foreign);
      target = -1;
    } else {
      // The first half of one title and the second half of another: a product that does not exist.
      const other = ds.items.title.get(pick(titled))!.split(' ');
      answer = [...words.slice(0, Math.ceil(words.length / 2)), ...other.slice(Math.ceil(other.length / 2))].join(' ');
      target = -1;
    }
    // A perturbation that lands on another catalogue title is that title (not a test of fuzziness).
    const norm = normalizeTitle(answer);
    if (existing.has(norm) && normalizeTitle(t) !== norm) continue;
    if (target < 0 && existing.has(norm)) continue;
    out.push({ answer, item: target, kind });
  }
  return out;
}

function fixtureTitles(): string[] {
  const file = path.join(FIXTURE, 'Office_Products.item.json');
  if (!existsSync(file)) return [];
  const items = JSON.parse(readFileSync(file, 'utf8')) as Record<string, { title?: string }>;
  return Object.values(items).map((x) => x.title ?? '').filter((t) => t.trim().length > 0);
}

async function study(): Promise<void> {
  const demo = await loadDataset('demo');
  const { jsonl, cacheDir } = await officeSynthetic();
  const office = await loadDataset(jsonl, { cacheDir });
  const real = fixtureTitles();
  const catalogues: { name: string; ds: Dataset; foreign: string[] }[] = [
    { name: 'demo (synthetic, 1,500 titles)', ds: demo, foreign: real.length ? real : [] },
    { name: 'office (synthetic, 27,887 titles)', ds: office, foreign: real.length ? real : [] },
  ];
  if (real.length) {
    // The fixture's titles as a catalogue of their own (a folder dataset reads its items).
    const fixture = await loadDataset(FIXTURE, { cacheDir });
    const synthTitles = Array.from({ length: demo.items.count }, (_, i) => demo.items.title.get(i)!);
    catalogues.push({ name: `Amazon Office (real, ${fixture.items.count.toLocaleString('en-US')} titles)`, ds: fixture, foreign: synthTitles });
  } else console.log(`(the real Office titles are not at ${FIXTURE}: studied on the synthetic catalogues only)`);
  const thresholds = [0.7, 0.75, 0.8, 0.85, 0.9];
  const margins = [0, 0.02, 0.05];
  console.log('\n## Threshold study (precision = right item / resolved; recall = right item / positives; invented resolved = negatives given an item)\n');
  for (const { name, ds, foreign } of catalogues) {
    const all = cases(ds, foreign.length ? foreign : ['Quantum Flux Capacitor Deluxe Edition, Chrome'], 3000, 11).filter((c) => c.item >= 0 || foreign.length);
    const pos = all.filter((c) => c.item >= 0);
    const neg = all.filter((c) => c.item < 0);
    console.log(`### ${name}: ${pos.length.toLocaleString('en-US')} perturbed titles, ${neg.length.toLocaleString('en-US')} invented\n`);
    console.log('| threshold | margin | precision | recall | fuzzy precision | ambiguous | invented resolved |');
    console.log('|---|---|---|---|---|---|---|');
    for (const t of thresholds)
      for (const m of margins) {
        const res = new TitleResolver(ds, { threshold: t, margin: m });
        let resolved = 0;
        let right = 0;
        let fuzzy = 0;
        let fuzzyRight = 0;
        let ambiguous = 0;
        let inventedResolved = 0;
        for (const c of all) {
          const r = res.resolve(c.answer);
          if (r.how === HOW.ambiguous) ambiguous++;
          if (r.id < 0) continue;
          resolved++;
          if (c.item < 0) inventedResolved++;
          if (r.id === c.item) right++;
          if (r.how === HOW.fuzzy) {
            fuzzy++;
            if (r.id === c.item) fuzzyRight++;
          }
        }
        const mark = t === FUZZY_THRESHOLD && m === FUZZY_MARGIN ? ' **(chosen)**' : '';
        console.log(
          `| ${t}${mark} | ${m} | ${(right / Math.max(1, resolved)).toFixed(4)} | ${(right / pos.length).toFixed(4)} | ${(fuzzyRight / Math.max(1, fuzzy)).toFixed(4)} | ${ambiguous} | ${inventedResolved} of ${neg.length} |`,
        );
      }
    // Recall per perturbation at the chosen settings.
    const res = new TitleResolver(ds);
    const byKind = new Map<string, { n: number; right: number; ambiguous: number }>();
    for (const c of all) {
      const r = res.resolve(c.answer);
      const k = byKind.get(c.kind) ?? { n: 0, right: 0, ambiguous: 0 };
      k.n++;
      if (r.id === c.item || (c.item < 0 && r.id < 0)) k.right++;
      if (r.how === HOW.ambiguous) k.ambiguous++;
      byKind.set(c.kind, k);
    }
    console.log(`\nat the chosen settings (Dice >= ${FUZZY_THRESHOLD}, margin ${FUZZY_MARGIN}), right answer per kind (invented: left unresolved):`);
    for (const [k, v] of byKind) console.log(`  ${k}: ${v.right} of ${v.n} (${((100 * v.right) / v.n).toFixed(1)}%), ambiguous ${v.ambiguous}`);
    console.log('');
  }
}

async function speed(): Promise<void> {
  const { work, jsonl, cacheDir } = await officeSynthetic();
  const ds = await loadDataset(jsonl, { cacheDir });
  const examples = buildExamples(ds, 1);
  // An LLM-like answer file: per user 10 titles, best first: the target's title for some, then
  // catalogue titles as written, with typos, lower-cased, trimmed, and invented ones.
  const file = path.join(work, 'answers-titles.jsonl');
  const r = rng(3);
  const lines: string[] = [];
  for (let i = 0; i < examples.length; i++) {
    const titles: string[] = [];
    for (let j = 0; j < 10; j++) {
      const item = j === 0 && r() < 0.3 ? examples.targets[i] : Math.floor(r() * ds.items.count);
      const t = ds.items.title.get(item) ?? '';
      const u = r();
      if (u < 0.4) titles.push(t);
      else if (u < 0.6) titles.push(t.toLowerCase());
      else if (u < 0.75) titles.push(t.replace(/([a-z])([a-z])/, '$2$1'));
      else if (u < 0.85) titles.push(t.split(', ').slice(0, -1).join(', ') || t);
      else titles.push(`Invented ${t.split(' ').slice(-3).join(' ')} Deluxe ${Math.floor(r() * 1000)}`);
    }
    lines.push(JSON.stringify({ user: examples.example(i).user, titles }));
  }
  writeFileSync(file, lines.join('\n') + '\n');
  const answers = lines.map((l) => (JSON.parse(l) as { titles: string[] }).titles);
  const load = os.loadavg().map((x) => x.toFixed(2)).join(' ');
  console.log(`\n## Speed: ${examples.length.toLocaleString('en-US')} lines x 10 titles against ${ds.items.count.toLocaleString('en-US')} titles (load average ${load}, ${os.cpus().length} CPUs)\n`);
  const flat = answers.flat();
  for (let run = 1; run <= 2; run++) {
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    const res = new TitleResolver(ds);
    const resolved = await res.resolveMany(flat);
    const t1 = performance.now();
    const cpu = process.cpuUsage(cpu0);
    const counts = [0, 0, 0, 0, 0];
    for (const r of resolved) counts[r.how]++;
    console.log(
      `run ${run}: ${((t1 - t0) / 1000).toFixed(2)} s wall, ${((cpu.user + cpu.system) / 1e6).toFixed(2)} s CPU (index and resolution; ${(((t1 - t0) * 1000) / flat.length).toFixed(2)} µs per answer); ` +
        `by id ${counts[0]}, title ${counts[1]}, fuzzy ${counts[2]}, ambiguous ${counts[3]}, unresolved ${counts[4]}; load average ${os.loadavg()[0].toFixed(2)}`,
    );
  }
  const t3 = performance.now();
  const result = await runEval({ data: jsonl, dataOptions: { cacheDir }, task: 1, predictions: file, semsim: false, bootstrapSamples: 1000 });
  const t4 = performance.now();
  const a = result.json.answers as { rates: Record<string, number> };
  console.log(`eval --task 1 --predictions (read, resolve, rank, 1,000 bootstrap resamples): ${((t4 - t3) / 1000).toFixed(1)} s; rates ${JSON.stringify(a.rates)}`);
  console.log(`load average after: ${os.loadavg().map((x) => x.toFixed(2)).join(' ')}`);
}

export async function benchAnswers(args: string[]): Promise<void> {
  if (!args.includes('--skip-study')) await study();
  if (!args.includes('--skip-speed')) await speed();
}
