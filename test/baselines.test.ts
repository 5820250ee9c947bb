// Baseline recommenders and narrators: hand-computed rankings on tiny datasets, the exact two-tier
// ranking against a brute-force full sort, BM25 against its formula, determinism, the critique-aware
// fusion on the synthetic demo (task 2 must beat task 1), the retrieval narrator, the CLI.
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { beforeAll, describe, expect, it } from 'vitest';

import type { Dataset } from '../src/data/dataset.js';
import { loadDataset } from '../src/data/load.js';
import { runBaseline } from '../src/eval/baseline.js';
import { runEval } from '../src/eval/run.js';
import { Bm25Index, critiqueTerms, tokenize } from '../src/models/bm25.js';
import { createNarrator, createRecommender } from '../src/models/builtin.js';
import { BackoffRanker, type Candidates } from '../src/models/candidate-ranking.js';
import type { CandidateRecommender } from '../src/models/candidate-recommender.js';
import { CritiqueFusionRecommender } from '../src/models/critique-fusion.js';
import { ItemKnnRecommender } from '../src/models/item-knn.js';
import { MarkovRecommender } from '../src/models/markov.js';
import type { Ranking } from '../src/models/recommender.js';
import { SessionKnnRecommender } from '../src/models/sknn.js';
import { buildExamples, type ExampleSet } from '../src/tasks/examples.js';
import { rng } from '../src/util/random.js';
import { FIXTURES, scratch } from './data-helpers.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const dir = scratch();

// Train parts (all but the last two items): u1 a b c, u2 a b d, u3 b c a, u4 a c, u6 y.
const TINY = ['u1 a b c x y', 'u2 a b d x y', 'u3 b c a x y', 'u4 a c x y', 'u6 y a b'];
let tiny: Dataset;
let demo: Dataset;

beforeAll(async () => {
  tiny = await loadDataset(writeFileSync(path.join(dir, 'tiny.txt'), TINY.join('\n') + '\n') ?? path.join(dir, 'tiny.txt'), { cache: false });
  demo = await loadDataset('demo');
});

const asins = (ds: Dataset, ids: ArrayLike<number>) => Array.from(ids, (id) => (id < 0 ? null : ds.items.asin.get(id)));
const id = (ds: Dataset, asin: string) => ds.itemId(asin)!;

/** Top-k and target rank of the test row of a tiny user. */
async function rankTiny(model: CandidateRecommender | ReturnType<typeof createRecommender>, user: string, k = 4): Promise<{ top: (string | null)[]; rank: number }> {
  const examples = buildExamples(tiny, 1);
  await model.prepare?.(examples);
  const r = await model.recommend(examples, { k, excludeHistory: true });
  const i = Array.from({ length: examples.length }, (_, j) => examples.example(j).user).indexOf(user);
  model.dispose?.();
  return { top: asins(tiny, r.top.subarray(i * k, (i + 1) * k)), rank: r.ranks[i] };
}

describe('sequential baselines on a hand-made dataset', () => {
  // u6's test row: history y a, target b. Training popularity: a 4, b 3, c 3, d 1, y 1, x 0.
  it('markov: successors of the last item by transition count, then popularity', async () => {
    // Transitions from a: a->b twice (u1, u2), a->c once (u4).
    expect(await rankTiny(new MarkovRecommender(), 'u6')).toEqual({ top: ['b', 'c', 'd', 'x'], rank: 0 });
  });

  it('sknn: sessions sharing items vote with their recency-weighted cosine; the own session never votes', async () => {
    // Sessions with a: u1 {a,b,c}, u2 {a,b,d}, u3 {a,b,c} at 1/sqrt(2*3), u4 {a,c} at 1/sqrt(2*2);
    // y only in u6's own session. c: 2/sqrt6 + 1/2 = 1.32 > b: 3/sqrt6 = 1.22 > d: 1/sqrt6.
    expect(await rankTiny(new SessionKnnRecommender(), 'u6')).toEqual({ top: ['c', 'b', 'd', 'x'], rank: 1 });
    // Two neighbours: u4 (0.5), then u1 (ties with u2, u3 at 0.408: the lower user index) -> c 0.908, b 0.408.
    expect(await rankTiny(new SessionKnnRecommender(undefined, { neighbours: 2 }), 'u6')).toEqual({ top: ['c', 'b', 'd', 'x'], rank: 1 });
    const one = await rankTiny(new SessionKnnRecommender(undefined, { neighbours: 1 }), 'u6');
    expect(one.top).toEqual(['c', 'b', 'd', 'x']); // u4 alone votes for c; b and d follow on popularity
  });

  it('itemknn: cosine co-occurrence of the history items, ties on popularity then id', async () => {
    // sim(a,b) = sim(a,c) = 3/sqrt(4*3), sim(a,d) = 1/sqrt(4*1); y co-occurs with nothing. b and c tie
    // in score and popularity (3 each): the lower id first.
    const bc = id(tiny, 'b') < id(tiny, 'c') ? ['b', 'c'] : ['c', 'b'];
    expect(await rankTiny(new ItemKnnRecommender(), 'u6')).toEqual({ top: [...bc, 'd', 'x'], rank: bc.indexOf('b') });
  });

  it('pop through the registry still ranks by training counts', async () => {
    // b and c (3 purchases each; a and y are history) by id, then d (1), then x (0).
    const bc = id(tiny, 'b') < id(tiny, 'c') ? ['b', 'c'] : ['c', 'b'];
    expect((await rankTiny(createRecommender('pop'), 'u6')).top).toEqual([...bc, 'd', 'x']);
  });
});

/**
 * Brute force: every item sorted by (tier, score desc, back-off desc, id asc), the whole history
 * excluded (a target in it too: rank Infinity, a miss).
 */
function reference(backoff: Float32Array, history: number[], target: number, cand: Map<number, number>, excludeHistory: boolean, k: number) {
  const hist = new Set(excludeHistory ? history : []);
  const items = Array.from({ length: backoff.length }, (_, i) => i).filter((i) => !hist.has(i));
  const tier1 = (i: number) => cand.has(i) && !hist.has(i);
  items.sort((a, b) => Number(tier1(b)) - Number(tier1(a)) || (tier1(a) ? cand.get(b)! - cand.get(a)! : 0) || backoff[b] - backoff[a] || a - b);
  const top = items.slice(0, k);
  while (top.length < k) top.push(-1);
  return { rank: hist.has(target) ? Infinity : items.indexOf(target), top };
}

describe('the two-tier ranking is exact', () => {
  it('matches a brute-force full sort (ties everywhere, repeat targets, with and without exclusion)', async () => {
    const seed = Number(process.env.REGEN_TEST_SEED ?? 1234);
    const r = rng(seed);
    const N = 37;
    const rows = 300;
    const backoff = Float32Array.from({ length: N }, () => Math.floor(r() * 4));
    const ranker = await BackoffRanker.create(backoff);
    const offsets = [0];
    const hist: number[] = [];
    const targets: number[] = [];
    const cOffsets = [0];
    const cIds: number[] = [];
    const cScores: number[] = [];
    for (let row = 0; row < rows; row++) {
      const h = Array.from({ length: Math.floor(r() * 6) }, () => Math.floor(r() * N));
      hist.push(...h);
      offsets.push(hist.length);
      targets.push(r() < 0.2 && h.length ? h[Math.floor(r() * h.length)] : Math.floor(r() * N));
      const c = new Set(Array.from({ length: Math.floor(r() * 12) }, () => Math.floor(r() * N)));
      for (const i of c) {
        cIds.push(i);
        cScores.push(1 + Math.floor(r() * 3)); // few distinct scores: ties
      }
      cOffsets.push(cIds.length);
    }
    const input = { targets: Int32Array.from(targets), history: { offsets: Int32Array.from(offsets), ids: Int32Array.from(hist) } };
    const cands: Candidates = { offsets: Int32Array.from(cOffsets), ids: Int32Array.from(cIds), scores: Float64Array.from(cScores) };
    const none: Candidates = { offsets: new Int32Array(rows + 1), ids: new Int32Array(0), scores: new Float64Array(0) };
    const popRanks = (await ranker.rank(input, none, { k: 1, excludeHistory: true })).ranks;
    for (const excludeHistory of [true, false]) {
      const k = 7;
      const got = await ranker.rank(input, cands, { k, excludeHistory });
      for (let row = 0; row < rows; row++) {
        const cand = new Map<number, number>();
        for (let p = cOffsets[row]; p < cOffsets[row + 1]; p++) cand.set(cIds[p], cScores[p]);
        const ref = reference(backoff, hist.slice(offsets[row], offsets[row + 1]), targets[row], cand, excludeHistory, k);
        expect([got.ranks[row], Array.from(got.top.subarray(row * k, (row + 1) * k))], `seed ${seed}, row ${row}`).toEqual([ref.rank, ref.top]);
      }
      if (excludeHistory) expect(Array.from(ranker.targetRanks(input, cands, popRanks, true))).toEqual(Array.from(got.ranks));
      // Repeat targets (about 20% of these rows, often candidates with the best score): misses
      // with exclusion, whatever their scores; ranked without it.
      const repeats = targets.map((t, row) => hist.slice(offsets[row], offsets[row + 1]).includes(t));
      expect(repeats.filter(Boolean).length).toBeGreaterThan(30);
      for (let row = 0; row < rows; row++) if (repeats[row]) expect(Number.isFinite(got.ranks[row])).toBe(!excludeHistory);
    }
    ranker.dispose();
  });
});

describe('BM25', () => {
  it('scores equal the formula (Lucene idf, k1 = 1.2, b = 0.75), distinct query terms once', () => {
    const docs = ['blue ink pen fine tip', 'red ink pen', 'blue paper blue folder', 'stapler'].map(tokenize);
    const index = new Bm25Index(docs.length, (d) => docs[d]);
    const acc = new (class {
      values = new Map<number, number>();
      add(d: number, v: number) {
        this.values.set(d, (this.values.get(d) ?? 0) + v);
      }
    })();
    const query = ['blue', 'pen', 'blue', 'missing'];
    index.search(query, acc as never);
    const avg = docs.reduce((a, d) => a + d.length, 0) / docs.length;
    for (let d = 0; d < docs.length; d++) {
      let expected = 0;
      for (const t of new Set(query)) {
        const df = docs.filter((x) => x.includes(t)).length;
        const tf = docs[d].filter((x) => x === t).length;
        if (!tf) continue;
        const idf = Math.log(1 + (docs.length - df + 0.5) / (df + 0.5));
        expected += (idf * tf * 2.2) / (tf + 1.2 * (0.25 + (0.75 * docs[d].length) / avg));
      }
      expect(acc.values.get(d) ?? 0).toBeCloseTo(expected, 12);
    }
    expect(acc.values.has(3)).toBe(false);
  });

  it('critique queries drop what the user moves away from', () => {
    expect(critiqueTerms('0.5mm, not 0.7mm.')).toEqual(['0.5mm']);
    expect(critiqueTerms('I would like to try Torwell instead of Ravara.')).toEqual(['torwell']);
    expect(critiqueTerms('Metal rather than Mesh.')).toEqual(['metal']);
    expect(critiqueTerms('Not Lumwick again, show me Norvale.')).toEqual(['norvale']);
    expect(tokenize('Sevio Colored Pencils, 0.9mm, 2-Pack')).toEqual(['sevio', 'colored', 'pencils', '0.9mm', '2', 'pack']);
  });
});

/** Task 1 and task 2 rankings of a model on the demo's test split. */
async function demoRanking(name: string, task: 1 | 2): Promise<{ ranking: Ranking; examples: ExampleSet; model: ReturnType<typeof createRecommender> }> {
  const examples = buildExamples(demo, task);
  const model = createRecommender(name);
  await model.prepare?.(examples);
  const ranking = await model.recommend(examples, { k: 10, excludeHistory: true });
  return { ranking, examples, model };
}

const recall = (ranks: ArrayLike<number>, rows?: number[]) => {
  const idx = rows ?? Array.from({ length: ranks.length }, (_, i) => i);
  return idx.filter((i) => ranks[i] < 10).length / idx.length;
};

describe('on the synthetic demo', () => {
  it('training and ranking are deterministic', async () => {
    for (const name of ['markov', 'sknn', 'itemknn']) {
      const a = await demoRanking(name, 1);
      const b = await demoRanking(name, 1);
      expect(Array.from(b.ranking.ranks)).toEqual(Array.from(a.ranking.ranks));
      expect(Array.from(b.ranking.top)).toEqual(Array.from(a.ranking.top));
      a.model.dispose?.();
      b.model.dispose?.();
    }
  });

  it('sequential models beat popularity', async () => {
    const pop = recall((await demoRanking('pop', 1)).ranking.ranks);
    for (const name of ['sknn', 'itemknn']) expect(recall((await demoRanking(name, 1)).ranking.ranks)).toBeGreaterThan(pop + 0.05);
  });

  it('critique-bm25 with the weight tuned on valid: task 2 beats task 1 by a clear margin, gained on the critiqued rows', async () => {
    const t1 = await demoRanking('critique-bm25:sknn', 1);
    const t2 = await demoRanking('critique-bm25:sknn', 2);
    const base = await demoRanking('sknn', 1);
    // Task 1 (no critique shown) is the base model bit for bit.
    expect(Array.from(t1.ranking.ranks)).toEqual(Array.from(base.ranking.ranks));
    expect(Array.from(t1.ranking.top)).toEqual(Array.from(base.ranking.top));
    const fusion = t2.model as CritiqueFusionRecommender;
    // Tuned on the valid rows with a critique only, to a weight that uses the critique.
    const valid = demo.split.valid;
    const critiqued = Array.from(valid.events).filter((e) => !demo.events.critique.isNull(e)).length;
    expect(fusion.tuning!.rows).toBe(critiqued);
    expect(fusion.weight).toBeGreaterThan(0);
    expect(fusion.name).toBe(`critique-bm25+sknn(w=${fusion.weight},tuned-on-valid)`);
    // Measured (seed 2025 demo): 0.201 -> 0.243 overall, 0.31 -> 0.55 on the 530 critiqued rows.
    const r1 = recall(t1.ranking.ranks);
    const r2 = recall(t2.ranking.ranks);
    expect(r2).toBeGreaterThan(r1 + 0.025);
    const rows = Array.from({ length: t2.examples.length }, (_, i) => i).filter((i) => t2.examples.critique(i) !== null);
    expect(recall(t2.ranking.ranks, rows)).toBeGreaterThan(recall(t1.ranking.ranks, rows) + 0.12);
    // Rows without a critique are ranked as in task 1.
    for (let i = 0; i < t2.examples.length; i++) if (t2.examples.critique(i) === null) expect(t2.ranking.ranks[i]).toBe(t1.ranking.ranks[i]);
    for (const m of [t1, t2, base]) m.model.dispose?.();
  });

  it('keeping 200 critique-only BM25 items changes no rank below 200 (against keeping all of them)', async () => {
    const examples = buildExamples(demo, 2);
    const ranks: Float64Array[] = [];
    for (const depth of [200, Infinity]) {
      const m = new CritiqueFusionRecommender(new MarkovRecommender(), 'bm25', { weight: 0.6, depth });
      await m.prepare(examples);
      ranks.push((await m.recommend(examples, { k: 10, excludeHistory: true })).ranks);
      m.dispose();
    }
    let below = 0;
    for (let i = 0; i < examples.length; i++)
      if (ranks[1][i] < 200) {
        expect(ranks[0][i]).toBe(ranks[1][i]);
        below++;
      }
    expect(below).toBeGreaterThan(1000);
  });

  it('a fixed fusion weight is used as given (w = 0 is the base model)', async () => {
    const examples = buildExamples(demo, 2);
    const zero = createRecommender('critique-bm25:markov', { fusionWeight: 0 });
    await zero.prepare?.(examples);
    expect(zero.name).toBe('critique-bm25+markov(w=0)');
    const markov = await demoRanking('markov', 2);
    expect(Array.from((await zero.recommend(examples, { k: 10, excludeHistory: true })).ranks)).toEqual(Array.from(markov.ranking.ranks));
    zero.dispose?.();
    markov.model.dispose?.();
    expect(() => createRecommender('critique-bm25:nope')).toThrow(/unknown base model 'nope'.*markov, sknn, itemknn/);
    expect(() => createRecommender('critique-bm25', { fusionWeight: 1.5 })).toThrow(/fusion weight in \[0, 1\]/);
  });

  it('retrieval narrator: another user\'s narratives, chosen by the recommended item and the history', async () => {
    const examples = buildExamples(demo, 3);
    const narrator = createNarrator('retrieval-bm25');
    const n = 200;
    const set = examples.slice(0, n);
    // Recommend each user's own last purchase: the donor must be another user who bought it last
    // when there is one (the best BM25 match is the identical item text).
    const top = Int32Array.from(set.targets);
    const out = await narrator.narrate(set, top, 1, examples.narrativeKinds);
    const lastBuyers = new Map<number, number[]>();
    for (let u = 0; u < demo.users.count; u++) {
      const last = demo.events.item[demo.users.offsets[u + 1] - 1];
      lastBuyers.set(last, [...(lastBuyers.get(last) ?? []), u]);
    }
    let shared = 0;
    for (let i = 0; i < n; i++) {
      const self = set.users[i];
      // Never the user's own (long summaries are unique per user; endorsements of one item may coincide).
      expect(out.userSummaryLong[i]).not.toBe(set.narrative(i, 'userSummaryLong'));
      const others = (lastBuyers.get(set.targets[i]) ?? []).filter((u) => u !== self);
      if (others.length) {
        shared++;
        expect(others.map((u) => demo.users.narratives.productEndorsement.get(u))).toContain(out.productEndorsement[i]);
      }
      const donors = Array.from({ length: demo.users.count }, (_, u) => u).filter((u) => demo.users.narratives.userProfile.get(u) === out.userProfile[i]);
      expect(donors.some((u) => u !== self)).toBe(true);
    }
    expect(shared).toBeGreaterThan(50);
  });
});

describe('on real sequences (the Beauty fixture: the first 2,000 users of S3Rec\'s Beauty.txt)', () => {
  it('popularity stays at the literature\'s level; Markov and SKNN beat it even on this sparse head', async () => {
    // Measured: pop 0.018, markov 0.0235, sknn 0.022, itemknn 0.007 (2,000 users are too few for
    // item-item cosines: one shared user makes a neighbour). On the full file: see the README.
    const data = path.join(FIXTURES, 'amazon-beauty-s3rec', 'Beauty-head2000.txt');
    const recallOf = async (model: string) =>
      ((await runEval({ data, model, task: 1, semsim: false, bootstrapSamples: 20 })).json as { ranking: Record<string, number> }).ranking['recall@10'];
    const pop = await recallOf('pop');
    expect(pop).toBeGreaterThan(0.005);
    expect(pop).toBeLessThan(0.05);
    for (const model of ['markov', 'sknn']) expect(await recallOf(model)).toBeGreaterThan(pop);
  });
});

describe('eval and baseline commands', () => {
  it('eval --model NAME for every built-in model (critique-emb needs an encoder: see its test)', async () => {
    for (const model of ['markov', 'sknn', 'itemknn', 'critique-bm25', 'critique-bm25:markov']) {
      const r = await runEval({ model, task: 2, semsim: false, bootstrapSamples: 20 });
      const json = r.json as { signature: string; ranking: Record<string, number> };
      expect(json.ranking['recall@10']).toBeGreaterThan(0.03);
      expect(json.signature).toContain(`|model:${model.startsWith('critique') ? 'critique-bm25+' : model}`);
    }
  });

  it('baseline writes predictions that eval reads back to the same ranks (repeat targets: misses in both)', async () => {
    const out = path.join(dir, 'pred.jsonl');
    await runBaseline({ model: 'itemknn', narrator: 'retrieval-bm25', out, k: 50 });
    const lines = readFileSync(out, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { user: string; items: string[]; narratives: Record<string, string> });
    expect(lines.length).toBe(demo.split.test.targets.length);
    expect(Object.keys(lines[0].narratives).sort()).toEqual(['product_endorsement', 'purchase_reason', 'purchase_reason_explanation', 'user_profile', 'user_summary_brief', 'user_summary_long']);
    expect(lines[0].items.length).toBe(50);
    const fromFile = await runEval({ predictions: out, task: 3, semsim: false, bootstrapSamples: 20 });
    const direct = await runEval({ model: 'itemknn', narrator: 'retrieval-bm25', task: 3, semsim: false, bootstrapSamples: 20 });
    const a = fromFile.parts[0];
    const b = direct.parts[direct.parts.length - 1];
    const examples = buildExamples(demo, 3);
    let compared = 0;
    let repeats = 0;
    for (let i = 0; i < examples.length; i++) {
      const rb = b.ranks[i];
      if (examples.historyOf(i).includes(examples.targets[i])) {
        repeats++;
        expect(rb).toBeNull();
        expect(a.ranks[i]).toBeNull();
      } else if (rb !== null && rb < 50) {
        expect(a.ranks[i]).toBe(rb);
        compared++;
      }
    }
    expect(compared).toBeGreaterThan(500);
    expect(repeats).toBeGreaterThan(50);
    expect(a.repeatTargets).toBe(repeats);
    expect(b.repeatTargets).toBe(repeats);
    // The narratives are the narrator's: identical text statistics.
    expect(a.text.productEndorsement!.bleu).toEqual(b.text.productEndorsement!.bleu);
    expect(a.text.userProfile!.bleu).toEqual(b.text.userProfile!.bleu);
  });

  it('CLI: eval --model markov --narrator retrieval-bm25, baseline, and errors that name the flag', () => {
    const cli = (...args: string[]) => spawnSync(process.execPath, [path.join(root, 'bin', 'regen-bench.js'), ...args], { encoding: 'utf8' });
    const e = cli('eval', '--model', 'markov', '--narrator', 'retrieval-bm25', '--no-semsim', '--bootstrap', '20', '--json');
    expect(e.status, e.stderr).toBe(0);
    expect((JSON.parse(e.stdout) as { signature: string }).signature).toMatch(/\|model:markov\+retrieval-bm25\|/);
    const out = path.join(dir, 'cli-pred.jsonl');
    const b = cli('baseline', '--model', 'critique-bm25:markov', '--task', '2', '--k', '5', '--out', out);
    expect(b.status, b.stderr).toBe(0);
    expect(b.stderr).toMatch(/fusion weight .* tuned on the \d+ valid rows with a critique/);
    expect(JSON.parse(readFileSync(out, 'utf8').split('\n')[0]).items).toHaveLength(5);
    const bad = cli('eval', '--model', 'nope');
    expect(bad.status).toBe(1);
    expect(bad.stderr).toMatch(/unknown --model "nope"; built-in models: pop, markov, sknn, itemknn, critique-bm25, critique-emb/);
    expect(cli('eval', '--narrator', 'nope').stderr).toMatch(/unknown --narrator "nope"; narrators: template, retrieval-bm25/);
    expect(cli('eval', '--model', 'critique-bm25', '--fusion-weight', '2').stderr).toMatch(/--fusion-weight expects a number in \[0, 1\]/);
    expect(cli('baseline', '--model', 'pop').stderr).toMatch(/required option '--out <file>'/);
  }, 60_000);
});
