// Randomised differential check against the Python references (run locally; needs the references):
//   PYTHONPATH=<sacrebleu src>:<rouge-score 0.1.2 src> npx tsx test/golden/differential.ts [--cases N] [--seed S]
// Random adversarial segments go through test/golden/reference.py and through regen-bench; every
// count must be identical and every float equal to 1e-9 relative. Prints a summary; exits 1 on any
// difference. Nothing here runs in CI (it needs Python packages that are not in the repository).
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { PairStatsEngine } from '../../src/metrics/text/pair-stats.js';
import { parseRougeType, rougePrf } from '../../src/metrics/text/rouge.js';
import { porterStem } from '../../src/metrics/text/porter.js';
import { preprocessBleu } from '../../src/metrics/text/reference.js';
import { textBackend } from '../../src/metrics/text/chunk.js';
import { computeTextStats, corpusBleuFromStats, pairRouge, scoreText, sentenceBleuFromStats } from '../../src/metrics/text/score.js';

const args = process.argv.slice(2);
const arg = (f: string, d: number) => (args.includes(f) ? Number(args[args.indexOf(f) + 1]) : d);
const total = arg('--cases', 2000);
const seed0 = arg('--seed', 1);
const here = path.dirname(fileURLToPath(import.meta.url));
const python = process.env.PYTHON ?? '/usr/bin/python3';

let s = seed0 >>> 0 || 1;
const rand = () => {
  s ^= s << 13;
  s ^= s >>> 17;
  s ^= s << 5;
  return (s >>> 0) / 2 ** 32;
};
const pick = <T>(a: readonly T[]) => a[Math.floor(rand() * a.length)];
const words = 'the a of and to in is for on with pen paper ink gel blue black fine tip user likes running runs runner happily generalization relational sky skies ties dying news'.split(' ');
const pieces = ['.', ',', '-', '--', '...', '&quot;', '&amp;', '&lt;', '&gt;', '&amp;quot;', '<skipped>', '"', "'", '(', ')', '!', '?', '/', ':', ';', '$', '%', '#', '@', '[', ']', '{', '}', '~', '`', '^', '_', '|', '\\', '+', '=', '*', '<', '>',
  '0.5mm', '$12.99', '3-4', '1,000', '9.', '.5', 'a.b', 'x,y', '2-', '-3', '\u212a', '\u0130', 'é', 'Σ', 'ΟΣ', 'ς', '東京', '😀', '👍🏽', '\u0301', 'ǅ', 'ß', 'ﬁ', '\u1e9e', 'Ⅻ', 'ǈ'];
const seps = [' ', ' ', ' ', ' ', '', '\t', '\n', '\r\n', '-\n', '\r', '\x0b', '\x0c', '\u00a0', '\u3000', '\u200b', '\ufeff', '\x85', '\x1c', '\x1d', '\x1e', '\x1f', '\u2028', '\u2029', '\u2000', '\u200a', '\u202f', '\u205f', '\u1680', '\u180e'];
function randomChar(): string {
  const r = rand();
  if (r < 0.5) return String.fromCharCode(32 + Math.floor(rand() * 95));
  if (r < 0.8) return String.fromCodePoint(Math.floor(rand() * 0x3000));
  if (r < 0.95) return String.fromCodePoint(0x1f300 + Math.floor(rand() * 0x300));
  return String.fromCodePoint(Math.floor(rand() * 0x10ffff)).replace(/[\ud800-\udfff]/, 'x');
}
function text(): string {
  let t = '';
  const n = Math.floor(rand() * 30);
  for (let i = 0; i < n; i++) {
    const r = rand();
    let w = r < 0.55 ? pick(words) : r < 0.85 ? pick(pieces) : Array.from({ length: 1 + Math.floor(rand() * 4) }, randomChar).join('');
    if (rand() < 0.15) w = w.toUpperCase();
    t += w + pick(seps);
  }
  return t;
}

const TYPES = ['rouge1', 'rouge2', 'rouge3', 'rougeL', 'rougeLsum'];
const close = (a: number, b: number) => a === b || Math.abs(a - b) <= 1e-9 * Math.max(Math.abs(a), Math.abs(b));
let checked = 0;
let diffs = 0;
const report = (what: string, detail: unknown) => {
  diffs++;
  if (diffs <= 20) console.log(`DIFF ${what}: ${JSON.stringify(detail).slice(0, 600)}`);
};

const batch = 500;
for (let done = 0; done < total; done += batch) {
  const segments = Array.from({ length: Math.min(batch, total - done) }, () => {
    const hyp = text();
    const refs = Array.from({ length: 1 + Math.floor(rand() * 3) }, () => (rand() < 0.5 ? hyp.split(' ').filter(() => rand() < 0.8).join(' ') : text()));
    return { hyp, refs };
  });
  const stemWords = Array.from({ length: 200 }, () => Array.from({ length: 4 + Math.floor(rand() * 9) }, () => pick('aeiouybcdlmnrstgzwx0'.split(''))).join('') + pick(['', 'ing', 'ed', 'ies', 'ational', 'ousness', 'ement', 'ion', 'e', 'll', 'logi', 'alli', 'y', 'ied', 'eed', 'bli', 'izer']));
  const py = spawnSync(python, [path.join(here, 'reference.py')], { input: JSON.stringify({ segments, words: stemWords }), encoding: 'utf8', maxBuffer: 1 << 30 });
  if (py.status !== 0) throw new Error(`reference.py failed: ${py.stderr}`);
  const gold = JSON.parse(py.stdout);
  stemWords.forEach((w, i) => {
    checked++;
    if (porterStem(w) !== gold.stems[i]) report('stem', [w, porterStem(w), gold.stems[i]]);
  });
  const engine = new PairStatsEngine();
  const tn = TYPES.map(parseRougeType);
  segments.forEach((seg, i) => {
    const g = gold.segments[i];
    for (const [name, tok, lc] of [['default', '13a', false], ['lowercase', '13a', true], ['tok-none', 'none', false]] as const) {
      const st: number[] = [];
      engine.bleuStats(seg.hyp, seg.refs, st, 0, tok, lc);
      checked++;
      if (JSON.stringify(st) !== JSON.stringify(g.bleu_stats[name])) report(`bleu ${name}`, { seg, st, gold: g.bleu_stats[name] });
    }
    checked++;
    if (preprocessBleu(seg.hyp, '13a', false) !== g.tokens_13a) report('13a', { seg, ours: preprocessBleu(seg.hyp, '13a', false), gold: g.tokens_13a });
    for (const stem of [false, true]) {
      const st: number[] = [];
      engine.rougeStats(seg.hyp, seg.refs, st, 0, tn, stem);
      TYPES.forEach((t, k) => {
        checked++;
        const ours = rougePrf(st[3 * k], st[3 * k + 1], st[3 * k + 2]);
        const e = g.rouge[stem ? 'stem' : 'plain'][t];
        if (!ours.every((x, j) => close(x, e[j]))) report(`${t} stem=${stem}`, { seg, ours, gold: e });
      });
    }
  });
  // The default backend (native when built) through the API, for every BLEU config and ROUGE.
  for (const [name, tokenize, lowercase] of [['default', '13a', false], ['lowercase', '13a', true], ['tok-none', 'none', false]] as const) {
    const st = await computeTextStats(segments, { pool: 'never', rougeTypes: [], bleu: { tokenize, lowercase } });
    segments.forEach((seg, i) => {
      checked++;
      const ours = Array.from(st.bleu.subarray(i * 10, i * 10 + 10));
      if (JSON.stringify(ours) !== JSON.stringify(gold.segments[i].bleu_stats[name])) report(`${textBackend().backend} bleu ${name}`, { seg, ours, gold: gold.segments[i].bleu_stats[name] });
    });
  }
  for (const stem of [false, true]) {
    const st = await computeTextStats(segments, { pool: 'never', rougeTypes: TYPES, stem, skipBleu: true });
    segments.forEach((seg, i) => {
      const got = pairRouge(st, i);
      for (const t of TYPES) {
        checked++;
        const ours = [got[t].precision, got[t].recall, got[t].fmeasure];
        const e = gold.segments[i].rouge[stem ? 'stem' : 'plain'][t];
        if (!ours.every((x, j) => close(x, e[j]))) report(`${textBackend().backend} ${t} stem=${stem}`, { seg, ours, gold: e });
      }
    });
  }
  const r = await scoreText(segments, { pool: 'never', rougeTypes: [] });
  segments.forEach((seg, i) => {
    const a = sentenceBleuFromStats(r.stats, i);
    const e = gold.segments[i].sentence_bleu;
    checked++;
    if (JSON.stringify([a.counts, a.totals, a.sys_len, a.ref_len]) !== JSON.stringify([e.counts, e.totals, e.sys_len, e.ref_len]) || ![a.score, a.bp, ...a.precisions].every((x, j) => close(x, [e.score, e.bp, ...e.precisions][j])))
      report('sentence_bleu', { seg, a, e });
  });
  for (const [name, o] of Object.entries({ exp: {}, floor: { smoothMethod: 'floor' }, 'add-k': { smoothMethod: 'add-k' }, none: { smoothMethod: 'none' }, eff: { effectiveOrder: true } } as const)) {
    const c = corpusBleuFromStats(r.stats, o);
    const e = gold.corpus[name];
    checked++;
    if (JSON.stringify([c.counts, c.totals]) !== JSON.stringify([e.counts, e.totals]) || !close(c.score, e.score)) report(`corpus ${name}`, { c, e });
  }
  console.log(`${Math.min(total, done + batch)}/${total} segments, ${checked} comparisons, ${diffs} differences`);
}
console.log(`${diffs === 0 ? 'OK' : 'FAILED'}: ${total} random segments (seed ${seed0}), ${checked} comparisons against sacrebleu/rouge-score/NLTK (TypeScript engine and the ${textBackend().backend} backend), ${diffs} differences`);
process.exit(diffs === 0 ? 0 : 1);
