// regen-bench's library API.
export { ItemTable } from './engine/item-table.js';
export type { Device, ItemTableOptions, SearchOptions, SearchResult, SearchResultWithTargets } from './engine/item-table.js';
export { rankingMetrics } from './metrics/ranking.js';
export type { RankingMetrics } from './metrics/ranking.js';
export { referenceSearch } from './engine/reference.js';
export type { ReferenceResult } from './engine/reference.js';
export type { CpuFeatures, IsaName } from './native/binding.js';
export { VERSION } from './version.js';
export * from './data/index.js';
export {
  computeTextStats,
  corpusBleuFromStats,
  meanRouge,
  mergeTextStats,
  pairRouge,
  rougeBootstrap,
  scoreText,
  sentenceBleuFromStats,
} from './metrics/text/score.js';
export type { CorpusBleu, Prf, ScoreTextOptions, TextPair, TextScores, TextStats } from './metrics/text/score.js';
export { bleuSignature, computeBleu } from './metrics/text/bleu.js';
export type { BleuOptions, BleuScore, SmoothMethod } from './metrics/text/bleu.js';
export { closeTextPools } from './metrics/text/pool.js';
export { DEFAULT_SEMSIM_MODEL, ModelUnavailableError, SentenceEncoder, semanticSimilarity } from './metrics/text/semsim.js';
export type { SemSimOptions, SemSimResult } from './metrics/text/semsim.js';
