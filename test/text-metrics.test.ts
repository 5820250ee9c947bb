// Text metrics: Python string semantics, the references' own test-suite cases, the fast engine
// against the line-by-line ports on random adversarial text, and exact merging of statistics.
import { describe, expect, it } from 'vitest';

import { computeBleu, format2 } from '../src/metrics/text/bleu.js';
import { computeChunk } from '../src/metrics/text/chunk.js';
import { MT19937 } from '../src/metrics/text/bootstrap.js';
import { ExactSum } from '../src/metrics/text/fsum.js';
import { PairStatsEngine } from '../src/metrics/text/pair-stats.js';
import { parseRougeType, rougePrf } from '../src/metrics/text/rouge.js';
import { isPyWhitespace, pyLower, pyRstrip, pySplit } from '../src/metrics/text/python-text.js';
import { bleuSegmentStatsReference, rougeScoreMultiReference, rougeScoreReference } from '../src/metrics/text/reference.js';
import { computeTextStats, corpusBleuFromStats, meanRouge, mergeTextStats, scoreText } from '../src/metrics/text/score.js';

const SEED = process.env.REGEN_TEST_SEED ? Number(process.env.REGEN_TEST_SEED) : Math.floor(Math.random() * 2 ** 31);

function rng(seed: number) {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return (s >>> 0) / 2 ** 32;
  };
}

describe('Python str semantics', () => {
  it("split() whitespace is Python's: \\x1c-\\x1f, \\x85, NBSP, U+2000-200A, U+3000 split; U+200B and BOM do not", () => {
    expect(pySplit('a\x1cb\x1dc\x1ed\x1fe\x85f\xa0g\u1680h\u2000i\u200aj\u2028k\u2029l\u202fm\u205fn\u3000o')).toHaveLength(15);
    expect(pySplit('a\u200bb\ufeffc\u180ed')).toEqual(['a\u200bb\ufeffc\u180ed']);
    expect(pySplit('  ')).toEqual([]);
    expect(isPyWhitespace(0x1c)).toBe(true);
    expect(isPyWhitespace(0xfeff)).toBe(false);
    expect(pyRstrip('x \u3000\x85\n')).toBe('x');
    expect(pyRstrip('x\u200b')).toBe('x\u200b');
  });

  it('lower() changes length where Python does (dotted I), maps the Kelvin sign, keeps final sigma, and leaves letters newer than Python alone', () => {
    expect(pyLower('\u0130')).toBe('i\u0307');
    expect(pyLower('\u212a')).toBe('k');
    expect(pyLower('ΟΔΟΣ Σ')).toBe('οδος σ');
    expect(pyLower('\ua7cb\u1c89A')).toBe('\ua7cb\u1c89a');
    // Python sees an unassigned (uncased) character after Σ: final after a cased letter, else not.
    expect(pyLower('aΣ\ua7cb')).toBe('aς\ua7cb');
    expect(pyLower('Σ\ua7cb')).toBe('σ\ua7cb');
    expect(pyLower('a\u{10ffff}B\ua7cbC')).toBe('a\u{10ffff}b\ua7cbc');
  });

  it("formats smoothing values like Python's f'{x:.2f}' (ties to even)", () => {
    expect([0.125, 0.375, 0.625, 0.875, 0.1, 1, 2.5].map(format2)).toEqual(['0.12', '0.38', '0.62', '0.88', '0.10', '1.00', '2.50']);
  });
});

describe('the references’ own test cases', () => {
  it('an empty hypothesis in a corpus still counts its reference length', async () => {
    const r = await scoreText(
      [
        { hyp: '', refs: ['one two three'] },
        { hyp: 'four five', refs: ['four five'] },
      ],
      { pool: 'never' },
    );
    expect(r.bleu.sys_len).toBe(2);
    expect(r.bleu.ref_len).toBe(5);
    expect(r.bleu.bp).toBe(Math.exp(1 - 5 / 2));
  });

  it('degenerate statistics give exactly 0', () => {
    expect(computeBleu([0, 0, 0, 0], [0, 0, 0, 0], 0, 0, 'exp').score).toBe(0);
    expect(computeBleu([0, 0, 0, 0], [3, 2, 1, 0], 3, 5, 'exp')).toMatchObject({ score: 0, precisions: [0, 0, 0, 0] });
    expect(computeBleu([1, 0, 0, 0], [1, 0, 0, 0], 1, 1, 'none').score).toBe(0);
    expect(rougePrf(0, 0, 0)).toEqual([0, 0, 0]);
    const r = rougeScoreReference('', 'something', ['rouge1', 'rougeL', 'rougeLsum'], false);
    for (const v of Object.values(r)) expect(v).toEqual({ precision: 0, recall: 0, fmeasure: 0 });
  });

  it('a 3-segment, 2-reference corpus (sacrebleu test_api shape)', async () => {
    const pairs = [
      { hyp: 'The dog bit the man.', refs: ['The dog bit the man.', 'The dog had bit the man.'] },
      { hyp: "It wasn't surprising.", refs: ['It was not unexpected.', 'No one was surprised.'] },
      { hyp: 'The man had just bitten him.', refs: ['The man bit him first.', 'The man had bitten the dog.'] },
    ];
    const r = await scoreText(pairs, { pool: 'never' });
    // sacrebleu.corpus_bleu(sys, refs).score on this corpus (computed with sacrebleu 2.6.0).
    expect(r.bleu.score).toBeCloseTo(48.530827009929865, 10);
    expect(r.bleu.signature).toMatch(/^nrefs:2\|case:mixed\|eff:no\|tok:13a\|smooth:exp\|version:2\.6\.0\+regen-bench/);
  });

  it('rougeLsum is order-invariant over sentences only when they are separated by newlines', () => {
    const t = 'the cat sat\non the mat';
    const swapped = 'on the mat\nthe cat sat';
    const lsum = (a: string, b: string) => rougeScoreReference(a, b, ['rougeLsum'], false).rougeLsum.fmeasure;
    expect(lsum(t, swapped)).toBe(1);
    expect(lsum(t.replace('\n', ' '), swapped.replace('\n', ' '))).toBeLessThan(1);
  });

  it('rouge-score test_util examples: rouge1 of "testing one two" vs "testing"', () => {
    const r = rougeScoreReference('testing one two', 'testing', ['rouge1'], false).rouge1;
    expect(r.precision).toBe(1);
    expect(r.recall).toBeCloseTo(1 / 3, 15);
  });

  it('score_multi keeps the first reference on F-measure ties', () => {
    const r = rougeScoreMultiReference(['a b', 'b a'], 'a b c', ['rouge1'], false);
    expect(r.rouge1.fmeasure).toBe(rougeScoreReference('a b', 'a b c', ['rouge1'], false).rouge1.fmeasure);
  });
});

describe(`fast engine = line-by-line ports on random adversarial text (seed ${SEED})`, () => {
  const pieces = ['the', 'The', 'CAT', 'cat', 'sat', 'running', 'runs', 'ties', 'sky', '0.5mm', '$12.99', '3-4', '1,000', '.', ',', '-', '--', '&quot;', '&amp;', '&lt;',
    '<skipped>', '"', "'", '(', ')', '!', '?', '/', '\u212a', '\u0130', 'İI', 'é', 'Σ', 'ΟΣ', '東京', '😀', '\ud800', '\u0301', 'ǅ', '9.', '.5', 'a.b', 'x,y', '2-'];
  const seps = [' ', ' ', ' ', '', '\t', '\n', '\r\n', '-\n', '\u00a0', '\u3000', '\u200b', '\ufeff', '\x85', '\x1c', '\u2028'];
  const text = (rand: () => number) => {
    let s = '';
    const n = Math.floor(rand() * 25);
    for (let i = 0; i < n; i++) s += pieces[Math.floor(rand() * pieces.length)] + seps[Math.floor(rand() * seps.length)];
    return s;
  };

  it('BLEU statistics (13a / none, cased / lower-cased) and ROUGE (plain / stemmed) agree on 1,500 random pairs', () => {
    const rand = rng(SEED);
    const engine = new PairStatsEngine();
    const batch: { hyp: string; refs: string[]; tok: '13a' | 'none'; lc: boolean; expected: number[] }[] = [];
    const rougeBatch: { hyp: string; refs: string[]; stem: boolean; expected: number[] }[] = [];
    const types = ['rouge1', 'rouge2', 'rouge4', 'rougeL', 'rougeLsum'];
    const tn = types.map(parseRougeType);
    for (let c = 0; c < 1500; c++) {
      const hyp = text(rand);
      const refs = Array.from({ length: 1 + Math.floor(rand() * 3) }, () => (rand() < 0.5 ? hyp.split(' ').filter(() => rand() < 0.8).join(' ') : text(rand)));
      const tok = rand() < 0.8 ? '13a' : 'none';
      const lc = rand() < 0.3;
      const fast: number[] = [];
      engine.bleuStats(hyp, refs, fast, 0, tok, lc);
      const expected = bleuSegmentStatsReference(hyp, refs, tok, lc);
      expect(fast, JSON.stringify({ hyp, refs, tok, lc })).toEqual(expected);
      batch.push({ hyp, refs, tok, lc, expected });
      const stem = rand() < 0.5;
      const stats: number[] = [];
      engine.rougeStats(hyp, refs, stats, 0, tn, stem);
      const port = rougeScoreMultiReference(refs, hyp, types, stem);
      rougeBatch.push({ hyp, refs, stem, expected: stats.slice(0, 3 * types.length) });
      types.forEach((t, k) => {
        const p = port[t];
        expect(rougePrf(stats[3 * k], stats[3 * k + 1], stats[3 * k + 2]), `${t} ${JSON.stringify({ hyp, refs, stem })}`).toEqual([p.precision, p.recall, p.fmeasure]);
      });
    }
    // The same pairs through the chunk path (the native kernel when the addon has it).
    for (const tok of ['13a', 'none'] as const)
      for (const lc of [false, true]) {
        const sel = batch.filter((b) => b.tok === tok && b.lc === lc);
        const settings = { bleuTokenize: tok, bleuLowercase: lc, rougeTypes: [], stem: false, bleu: true };
        const st = computeChunk({ settings, hyps: sel.map((b) => b.hyp), refs: sel.map((b) => b.refs) });
        sel.forEach((b, i) => expect(Array.from(st.bleu.subarray(i * 10, i * 10 + 10)), JSON.stringify(b)).toEqual(b.expected));
      }
    for (const stem of [false, true]) {
      const sel = rougeBatch.filter((b) => b.stem === stem);
      const settings = { bleuTokenize: '13a' as const, bleuLowercase: false, rougeTypes: types, stem, bleu: false };
      const st = computeChunk({ settings, hyps: sel.map((b) => b.hyp), refs: sel.map((b) => b.refs) });
      const w = 3 * types.length;
      sel.forEach((b, i) => expect(Array.from(st.rouge.subarray(i * w, i * w + w)), JSON.stringify(b)).toEqual(b.expected));
    }
  });
});

describe('sufficient statistics merge exactly', () => {
  const rand = rng(SEED ^ 0x5bd1e995);
  const words = ['a', 'b', 'c', 'd', 'the', 'cat', 'mat', '.', ',', 'on', 'sat'];
  const pairs = Array.from({ length: 3000 }, () => {
    const t = () => Array.from({ length: 1 + Math.floor(rand() * 30) }, () => words[Math.floor(rand() * words.length)]).join(rand() < 0.1 ? '\n' : ' ');
    return { hyp: t(), refs: rand() < 0.2 ? [t(), t()] : [t()] };
  });

  it('pool (any chunk size) = in-process = merged shards, bit for bit', async () => {
    const whole = await computeTextStats(pairs, { pool: 'never' });
    for (const chunkSize of [1, 97, 1000]) {
      const pooled = await computeTextStats(pairs, { pool: 'always', threads: 2, chunkSize });
      expect(Buffer.from(pooled.bleu.buffer).equals(Buffer.from(whole.bleu.buffer))).toBe(true);
      expect(Buffer.from(pooled.rouge.buffer).equals(Buffer.from(whole.rouge.buffer))).toBe(true);
    }
    const shards = await Promise.all([pairs.slice(0, 1234), pairs.slice(1234, 2000), pairs.slice(2000)].map((p) => computeTextStats(p, { pool: 'never' })));
    const merged = mergeTextStats(shards);
    expect(corpusBleuFromStats(merged)).toEqual(corpusBleuFromStats(whole));
    expect(meanRouge(merged)).toEqual(meanRouge(whole));
    expect(merged.nrefs).toBe('var');
  });

  it('means do not depend on the order of the pairs (exact sums)', async () => {
    const a = meanRouge(await computeTextStats(pairs, { pool: 'never' }));
    const b = meanRouge(await computeTextStats([...pairs].reverse(), { pool: 'never' }));
    expect(b).toEqual(a);
    const s1 = new ExactSum();
    const s2 = new ExactSum();
    const xs = [0.1, 1e16, 0.2, -1e16, 0.3];
    xs.forEach((x) => s1.add(x));
    [...xs].reverse().forEach((x) => s2.add(x));
    expect(s1.value()).toBe(0.6); // math.fsum([0.1, 1e16, 0.2, -1e16, 0.3])
    expect(s2.value()).toBe(s1.value());
  });

  it('refuses to merge statistics computed with different settings', async () => {
    const a = await computeTextStats(pairs.slice(0, 3), { pool: 'never' });
    const b = await computeTextStats(pairs.slice(0, 3), { pool: 'never', stem: true });
    expect(() => mergeTextStats([a, b])).toThrow(/different settings/);
  });
});

describe('bootstrap RNG', () => {
  it("MT19937 seeded like numpy's legacy np.random.seed", () => {
    // np.random.seed(0); np.random.randint(0, 2**32, dtype=np.uint64) draws 2 words; the first
    // raw 32-bit output of MT19937(5489) is the reference value 3499211612.
    expect(new MT19937(5489).nextUint32()).toBe(3499211612);
    const r = new MT19937(0);
    // np.random.seed(0); np.random.randint(0, 10, size=5) -> [5, 0, 3, 3, 7]
    expect(Array.from({ length: 5 }, () => r.below(10))).toEqual([5, 0, 3, 3, 7]);
  });

  it('rejects bad arguments with a message', () => {
    expect(() => new MT19937(-1)).toThrow(/seed in \[0, 2\^32 - 1\]/);
    expect(() => parseRougeType('rougeX')).toThrow(/rouge1'..'rouge9'/);
    expect(() => parseRougeType('rouge0')).toThrow(/positive n/);
  });
});
