// regen-bench's library API.
export { Engine } from './engine/engine.js';
export type { EngineOptions } from './engine/engine.js';
export { ItemTable } from './engine/item-table.js';
export type {
  CrossEntropyOptions,
  CrossEntropyResult,
  Device,
  ItemTableOptions,
  SearchOptions,
  SearchResult,
  SearchResultWithTargets,
} from './engine/item-table.js';
export { decodeStep, resolveSampling } from './engine/decode-step.js';
export type { ResolvedSampling, SamplingOptions, StepInput, StepOutput } from './engine/decode-step.js';
export { rankingMetrics } from './metrics/ranking.js';
export type { RankingMetrics } from './metrics/ranking.js';
export { referenceCrossEntropy, referenceSearch } from './engine/selftest/reference.js';
export type { ReferenceCrossEntropy, ReferenceResult } from './engine/selftest/reference.js';
export type { CpuFeatures, IsaName, Precision } from './engine/engine.js';
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
export * from './tasks/index.js';
export { runEval, BUILTIN_MODELS, DEFAULT_MODEL } from './eval/run.js';
export type { RunEvalOptions, RunEvalResult } from './eval/run.js';
export { buildReport, formatMarkdown, reportJson, signature } from './eval/report.js';
export type { EvalReport } from './eval/report.js';
export { evaluate, mergeParts } from './eval/evaluate.js';
export type { EvalPart, EvalSettings } from './eval/evaluate.js';
export { compareParts } from './eval/compare.js';
export type { Comparison, MetricComparison } from './eval/compare.js';
export { mergePartFiles, readPart } from './eval/merge.js';
export { bootstrapMeans, pairedTest } from './eval/bootstrap.js';
export { PopularityRecommender } from './models/popularity.js';
export { PredictionsRecommender, readPredictions } from './models/predictions.js';
export { EmbeddingRecommender } from './models/embeddings.js';
export { encodeNpy, readEmbeddings, readIdList } from './models/embeddings-file.js';
export { TemplateNarrator } from './models/template-narrator.js';
export { BUILTIN_RECOMMENDERS, NARRATORS, createNarrator, createRecommender } from './models/builtin.js';
export { MarkovRecommender } from './models/markov.js';
export { SessionKnnRecommender } from './models/sknn.js';
export { ItemKnnRecommender } from './models/item-knn.js';
export { CritiqueFusionRecommender } from './models/critique-fusion.js';
export { RetrievalNarrator } from './models/retrieval-narrator.js';
export { Bm25Index } from './models/bm25.js';
export { runBaseline } from './eval/baseline.js';
export type { BaselineOptions } from './eval/baseline.js';
export type { Narrator } from './models/template-narrator.js';
export type { Ranking, Recommender, RecommendOptions } from './models/recommender.js';
export * from './models/lumen/index.js';
