// One chunk of pairs -> their sufficient statistics. Shared by the worker and the in-process path,
// so both compute with the same code.
import { BLEU_STATS } from './bleu.js';
import { PairStatsEngine, ROUGE_STATS, parseRougeType } from './pair-stats.js';
import type { BleuTokenizerName } from './reference.js';

export interface ChunkSettings {
  bleuTokenize: BleuTokenizerName;
  bleuLowercase: boolean;
  rougeTypes: string[];
  stem: boolean;
  /** false: ROUGE only (the BLEU statistics stay zero). */
  bleu: boolean;
}

export interface ChunkTask {
  settings: ChunkSettings;
  hyps: string[];
  refs: string[][];
}

export interface ChunkStats {
  /** n x 10: [sys_len, ref_len, correct_1..4, total_1..4] per pair. */
  bleu: Int32Array;
  /** n x 3T: [matches, prediction count, target count] per ROUGE type per pair. */
  rouge: Int32Array;
}

let engine: PairStatsEngine | null = null;

export function computeChunk(task: ChunkTask): ChunkStats {
  engine ??= new PairStatsEngine();
  const { hyps, refs, settings } = task;
  const types = settings.rougeTypes.map(parseRougeType);
  const n = hyps.length;
  const bleu = new Int32Array(n * BLEU_STATS);
  const rouge = new Int32Array(n * ROUGE_STATS * types.length);
  for (let i = 0; i < n; i++) {
    if (settings.bleu) engine.bleuStats(hyps[i], refs[i], bleu, i * BLEU_STATS, settings.bleuTokenize, settings.bleuLowercase);
    if (types.length > 0) engine.rougeStats(hyps[i], refs[i], rouge, i * ROUGE_STATS * types.length, types, settings.stem);
  }
  return { bleu, rouge };
}
