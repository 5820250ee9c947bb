// Run by test/hardening.test.ts in a child process with REGEN_LCS_BAND_CELLS=16 (read when the native
// addon and pair-stats.ts load): ROUGE-L and ROUGE-Lsum of random multi-sentence pairs from the native
// kernel and the TypeScript engine, both in their banded walk, against the line-by-line Python port
// (full table). Prints {pairs, native, mismatches}.
import { computeChunk, textBackend } from '../../src/metrics/text/chunk.js';
import { PairStatsEngine } from '../../src/metrics/text/pair-stats.js';
import { parseRougeType, rougePrf } from '../../src/metrics/text/rouge.js';
import { rougeScoreMultiReference } from '../../src/metrics/text/reference.js';

let s = Number(process.argv[2] ?? 1) >>> 0 || 1;
const rand = () => {
  s ^= s << 13;
  s ^= s >>> 17;
  s ^= s << 5;
  return (s >>> 0) / 2 ** 32;
};
const words = ['a', 'b', 'c', 'd', 'e', 'f', 'cat', 'mat'];
const segment = () => {
  const sentences = 1 + Math.floor(rand() * 4);
  return Array.from({ length: sentences }, () => Array.from({ length: 1 + Math.floor(rand() * 25) }, () => words[Math.floor(rand() * words.length)]).join(' ')).join('\n');
};
const types = ['rougeL', 'rougeLsum'];
const pairs = Array.from({ length: 300 }, () => ({ hyp: segment(), refs: rand() < 0.2 ? [segment(), segment()] : [segment()] }));
const engine = new PairStatsEngine();
const mismatches: string[] = [];
const native = textBackend().backend === 'native';
const chunk = computeChunk({ settings: { bleuTokenize: '13a', bleuLowercase: false, rougeTypes: types, stem: false, bleu: false }, hyps: pairs.map((p) => p.hyp), refs: pairs.map((p) => p.refs) });
pairs.forEach((p, i) => {
  const port = rougeScoreMultiReference(p.refs, p.hyp, types, false);
  const ts: number[] = [];
  engine.rougeStats(p.hyp, p.refs, ts, 0, types.map(parseRougeType), false);
  types.forEach((t, k) => {
    const want = [port[t].precision, port[t].recall, port[t].fmeasure].join();
    const gotTs = rougePrf(ts[3 * k], ts[3 * k + 1], ts[3 * k + 2]).join();
    const o = i * 3 * types.length + 3 * k;
    const gotNative = rougePrf(chunk.rouge[o], chunk.rouge[o + 1], chunk.rouge[o + 2]).join();
    if (gotTs !== want || gotNative !== want) mismatches.push(`${t} ${JSON.stringify(p)}: port ${want}, ts ${gotTs}, native ${gotNative}`);
  });
});
process.stdout.write(JSON.stringify({ pairs: pairs.length, native, mismatches: mismatches.slice(0, 5) }));
