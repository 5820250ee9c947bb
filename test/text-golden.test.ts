// Golden numbers from the real references (sacrebleu 2.6.0, rouge-score 0.1.2, NLTK 3.8 Porter,
// numpy 1.24 bootstrap) on the adversarial corpus test/golden/text-cases.json. See
// test/golden/README.md for how they were produced.
import { readFileSync } from 'node:fs';

import { describe, expect, it } from 'vitest';

import { bootstrapAggregate } from '../src/metrics/text/bootstrap.js';
import { PairStatsEngine } from '../src/metrics/text/pair-stats.js';
import { parseRougeType, rougePrf } from '../src/metrics/text/rouge.js';
import { porterStem } from '../src/metrics/text/porter.js';
import { bleuSegmentStatsReference, preprocessBleu, rougeScoreMultiReference, rougeTokenizeReference } from '../src/metrics/text/reference.js';
import { textBackend as bleuBackend } from '../src/metrics/text/chunk.js';
import { computeTextStats, corpusBleuFromStats, pairRouge, scoreText, sentenceBleuFromStats } from '../src/metrics/text/score.js';

interface Segment {
  hyp: string;
  refs: string[];
}
const cases = JSON.parse(readFileSync(new URL('./golden/text-cases.json', import.meta.url), 'utf8')) as {
  segments: Segment[];
  words: string[];
  bootstrap: { seed: number; n_samples: number; segments: number[] }[];
};
const gold = JSON.parse(readFileSync(new URL('./golden/text-golden.json', import.meta.url), 'utf8'));
const TYPES = ['rouge1', 'rouge2', 'rouge3', 'rougeL', 'rougeLsum'];
const BLEU_CONFIGS = { default: ['13a', false], lowercase: ['13a', true], 'tok-none': ['none', false] } as const;

/** Equal to 1e-9 relative (0 only equals 0). */
function close(actual: number, expected: number): boolean {
  return actual === expected || Math.abs(actual - expected) <= 1e-9 * Math.max(Math.abs(actual), Math.abs(expected));
}
function expectClose(actual: number[], expected: number[], what: string): void {
  expect(actual.length, what).toBe(expected.length);
  actual.forEach((a, i) => {
    if (!close(a, expected[i])) expect.fail(`${what}[${i}]: ${a} != ${expected[i]}`);
  });
}
const show = (s: Segment) => JSON.stringify(s).slice(0, 160);

describe('golden corpus (sacrebleu 2.6.0, rouge-score 0.1.2, NLTK 3.8)', () => {
  it('was produced by the expected reference versions and is wide', () => {
    expect(gold.versions.sacrebleu).toBe('2.6.0');
    expect(gold.versions.nltk).toBe('3.8');
    expect(cases.segments.length).toBeGreaterThanOrEqual(300);
    expect(gold.segments.length).toBe(cases.segments.length);
  });

  it('Porter stems equal NLTK PorterStemmer (NLTK_EXTENSIONS) on every word, in TypeScript and native', () => {
    const wrong = cases.words.filter((w, i) => porterStem(w) !== gold.stems[i]).map((w) => `${w} -> ${porterStem(w)}`);
    expect(wrong).toEqual([]);
    const native = bleuBackend().kernels;
    if (native) expect(cases.words.map((w) => native.porterStem(w))).toEqual(gold.stems);
  });

  it('13a tokenization equals sacrebleu on every segment', () => {
    cases.segments.forEach((s, i) => expect(preprocessBleu(s.hyp, '13a', false), show(s)).toBe(gold.segments[i].tokens_13a));
  });

  it('BLEU segment statistics (13a, lowercase, tok none) equal sacrebleu: fast engine and line-by-line port', () => {
    const engine = new PairStatsEngine();
    cases.segments.forEach((s, i) => {
      for (const [name, [tok, lc]] of Object.entries(BLEU_CONFIGS)) {
        const expected = gold.segments[i].bleu_stats[name];
        const fast: number[] = [];
        engine.bleuStats(s.hyp, s.refs, fast, 0, tok, lc);
        expect(fast, `${name} ${show(s)}`).toEqual(expected);
        expect(bleuSegmentStatsReference(s.hyp, s.refs, tok, lc), `${name} ${show(s)}`).toEqual(expected);
      }
    });
  });

  for (const backend of ['native', 'js'] as const)
    it(`BLEU and ROUGE statistics through the ${backend} backend equal sacrebleu and rouge-score`, async () => {
      const saved = process.env.REGEN_TEXT_BACKEND;
      process.env.REGEN_TEXT_BACKEND = backend;
      try {
        expect(bleuBackend().backend).toBe(backend);
        for (const [name, [tokenize, lowercase]] of Object.entries(BLEU_CONFIGS)) {
          const st = await computeTextStats(cases.segments, { pool: 'never', rougeTypes: [], bleu: { tokenize, lowercase } });
          cases.segments.forEach((s, i) => expect(Array.from(st.bleu.subarray(i * 10, i * 10 + 10)), `${name} ${show(s)}`).toEqual(gold.segments[i].bleu_stats[name]));
        }
        for (const stem of [false, true]) {
          const st = await computeTextStats(cases.segments, { pool: 'never', rougeTypes: TYPES, stem, skipBleu: true });
          cases.segments.forEach((s, i) => {
            const got = pairRouge(st, i);
            for (const t of TYPES)
              expectClose([got[t].precision, got[t].recall, got[t].fmeasure], gold.segments[i].rouge[stem ? 'stem' : 'plain'][t], `${backend} ${t} ${show(s)}`);
          });
        }
      } finally {
        if (saved === undefined) delete process.env.REGEN_TEXT_BACKEND;
        else process.env.REGEN_TEXT_BACKEND = saved;
      }
    });

  it('rouge-score tokens (plain and stemmed) equal the reference', () => {
    cases.segments.forEach((s, i) => {
      expect(rougeTokenizeReference(s.hyp, false), show(s)).toEqual(gold.segments[i].rouge_tokens.plain);
      expect(rougeTokenizeReference(s.hyp, true), show(s)).toEqual(gold.segments[i].rouge_tokens.stem);
    });
  });

  for (const stem of [false, true]) {
    it(`ROUGE score_multi (rouge1/2/3/L/Lsum${stem ? ', stemmed' : ''}) equals rouge-score to 1e-9: fast engine and port`, () => {
      const engine = new PairStatsEngine();
      const types = TYPES.map(parseRougeType);
      cases.segments.forEach((s, i) => {
        const expected = gold.segments[i].rouge[stem ? 'stem' : 'plain'];
        const stats: number[] = [];
        engine.rougeStats(s.hyp, s.refs, stats, 0, types, stem);
        const port = rougeScoreMultiReference(s.refs, s.hyp, TYPES, stem);
        TYPES.forEach((t, k) => {
          expectClose(rougePrf(stats[3 * k], stats[3 * k + 1], stats[3 * k + 2]), expected[t], `fast ${t} ${show(s)}`);
          expectClose([port[t].precision, port[t].recall, port[t].fmeasure], expected[t], `port ${t} ${show(s)}`);
        });
      });
    });
  }

  it('sentence BLEU (exp smoothing, effective order) equals sacrebleu.sentence_bleu on every segment', async () => {
    const r = await scoreText(cases.segments, { pool: 'never', rougeTypes: [] });
    cases.segments.forEach((s, i) => {
      const e = gold.segments[i].sentence_bleu;
      const a = sentenceBleuFromStats(r.stats, i);
      expect(a.counts, show(s)).toEqual(e.counts);
      expect(a.totals, show(s)).toEqual(e.totals);
      expect([a.sys_len, a.ref_len]).toEqual([e.sys_len, e.ref_len]);
      expectClose([a.score, a.bp, ...a.precisions], [e.score, e.bp, ...e.precisions], `sentence_bleu ${show(s)}`);
    });
  });

  const corpusConfigs = {
    exp: {},
    floor: { smoothMethod: 'floor' },
    'floor-0.125': { smoothMethod: 'floor', smoothValue: 0.125 },
    'add-k': { smoothMethod: 'add-k' },
    'add-k-2': { smoothMethod: 'add-k', smoothValue: 2 },
    none: { smoothMethod: 'none' },
    eff: { effectiveOrder: true },
    lowercase: { lowercase: true },
    'tok-none': { tokenize: 'none' },
  } as const;

  it('corpus BLEU (every smoothing, lowercase, tok none, 1-3 references) equals sacrebleu, in-process and on the pool', async () => {
    for (const [name, opts] of Object.entries(corpusConfigs)) {
      const e = gold.corpus[name];
      for (const pool of ['never', 'always'] as const) {
        const r = await scoreText(cases.segments, { pool, chunkSize: 17, threads: 2, rougeTypes: [], bleu: opts });
        const b = corpusBleuFromStats(r.stats, opts);
        expect(b.counts, name).toEqual(e.counts);
        expect(b.totals, name).toEqual(e.totals);
        expect([b.sys_len, b.ref_len], name).toEqual([e.sys_len, e.ref_len]);
        expectClose([b.score, b.bp, ...b.precisions], [e.score, e.bp, ...e.precisions], name);
        // The signature is sacrebleu's, with our version after the sacrebleu release it matches.
        expect(b.signature.replace(/version:[^|]+$/, 'version:2.6.0'), name).toBe(e.signature);
      }
    }
  });

  it('bootstrap confidence intervals equal BootstrapAggregator after np.random.seed', () => {
    cases.bootstrap.forEach((b, bi) => {
      const rows: Record<string, number[][]> = {};
      for (const t of TYPES) rows[t] = [];
      for (const i of b.segments) {
        const r = rougeScoreMultiReference(cases.segments[i].refs, cases.segments[i].hyp, TYPES, false);
        for (const t of TYPES) rows[t].push([r[t].precision, r[t].recall, r[t].fmeasure]);
      }
      const res = bootstrapAggregate(rows, { seed: b.seed, nSamples: b.n_samples });
      for (const t of TYPES)
        for (const k of ['low', 'mid', 'high'] as const)
          expectClose([res[t][k].precision, res[t][k].recall, res[t][k].fmeasure], gold.bootstrap[bi][t][k], `seed ${b.seed} ${t} ${k}`);
    });
  });

  it('the pool gives the per-pair ROUGE of the port for every segment', async () => {
    const r = await scoreText(cases.segments, { pool: 'always', chunkSize: 13, threads: 2 });
    cases.segments.forEach((s, i) => {
      const expected = gold.segments[i].rouge.plain;
      const got = pairRouge(r.stats, i);
      for (const t of ['rouge1', 'rouge2', 'rougeL', 'rougeLsum']) expectClose([got[t].precision, got[t].recall, got[t].fmeasure], expected[t], `${t} ${show(s)}`);
    });
  });

  it('is sensitive: JavaScript whitespace instead of Python\'s would change some golden tokenizations', () => {
    const jsWhitespace = (s: string) => preprocessBleu(s, 'none', false).split(/\s+/).filter(Boolean).join(' ');
    const pyWhitespace = (s: string) => preprocessBleu(s, 'none', false).split(/[\t-\r\x1c-\x20\x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]+/).filter(Boolean).join(' ');
    const differ = cases.segments.filter((s) => jsWhitespace(s.hyp) !== pyWhitespace(s.hyp));
    expect(differ.length).toBeGreaterThan(3);
  });
});
