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
export * from './tasks/index.js';
