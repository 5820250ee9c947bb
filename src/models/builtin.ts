// The built-in models by name (`regen-bench eval --model NAME`, `regen-bench baseline --model NAME`)
// and the narrators they pair with (`--narrator NAME`, default template).
import type { Device } from '../engine/item-table.js';
import { CritiqueFusionRecommender, type CritiqueRetrieverName } from './critique-fusion.js';
import type { CandidateRecommender } from './candidate-recommender.js';
import { ItemKnnRecommender } from './item-knn.js';
import { MarkovRecommender } from './markov.js';
import { PopularityRecommender } from './popularity.js';
import type { Recommender } from './recommender.js';
import { RetrievalNarrator } from './retrieval-narrator.js';
import { SessionKnnRecommender } from './sknn.js';
import { TemplateNarrator, type Narrator } from './template-narrator.js';
import { isCheckpointDir } from '../train/checkpoint.js';
import { TrainedRecommender } from './trained.js';

/** Sequential models (the bases critique-aware models fuse with). */
export const SEQUENTIAL_MODELS = ['markov', 'sknn', 'itemknn'] as const;
/** Critique-aware models: `critique-bm25` or `critique-emb`, optionally `:BASE` (default sknn). */
export const CRITIQUE_MODELS = ['critique-bm25', 'critique-emb'] as const;
export const DEFAULT_FUSION_BASE = 'sknn';
export const BUILTIN_RECOMMENDERS = ['pop', ...SEQUENTIAL_MODELS, ...CRITIQUE_MODELS] as const;
export const NARRATORS = ['template', 'retrieval-bm25'] as const;
export const DEFAULT_NARRATOR = 'template';

export interface BuiltinOptions {
  device?: Device;
  /** critique-emb: the sentence encoder (hub id or folder). */
  encoder?: string;
  /** critique-emb: never download the encoder. */
  offline?: boolean;
  /** Critique-aware models: a fixed fusion weight instead of the one tuned on the valid split. */
  fusionWeight?: number;
}

export class UnknownModelError extends Error {
  override name = 'UnknownModelError';
}

function sequential(name: string, device?: Device): CandidateRecommender | null {
  if (name === 'markov') return new MarkovRecommender(device);
  if (name === 'sknn') return new SessionKnnRecommender(device);
  if (name === 'itemknn') return new ItemKnnRecommender(device);
  return null;
}

const modelList = () => `${BUILTIN_RECOMMENDERS.join(', ')} (critique models take a base: ${CRITIQUE_MODELS[0]}:${SEQUENTIAL_MODELS.join('|')})`;

/** A built-in recommender by name, or a `regen-bench train` checkpoint folder; UnknownModelError names the choices. */
export function createRecommender(name: string, o: BuiltinOptions = {}): Recommender {
  if (name === 'pop') return new PopularityRecommender(o.device);
  if (isCheckpointDir(name)) return new TrainedRecommender(name, { device: o.device, offline: o.offline });
  const seq = sequential(name, o.device);
  if (seq) return seq;
  const [kind, baseName = DEFAULT_FUSION_BASE, extra] = name.split(':');
  if ((CRITIQUE_MODELS as readonly string[]).includes(kind) && extra === undefined) {
    const base = sequential(baseName, o.device);
    if (!base) throw new UnknownModelError(`--model ${name}: unknown base model '${baseName}'; a critique model fuses with one of ${SEQUENTIAL_MODELS.join(', ')} (e.g. --model ${kind}:markov)`);
    const retriever: CritiqueRetrieverName = kind === 'critique-bm25' ? 'bm25' : 'embedding';
    return new CritiqueFusionRecommender(base, retriever, { device: o.device, encoder: o.encoder, offline: o.offline, weight: o.fusionWeight });
  }
  throw new UnknownModelError(`unknown --model ${JSON.stringify(name)}; built-in models: ${modelList()}, or a checkpoint folder written by \`regen-bench train\``);
}

/** A narrator by name; UnknownModelError names the choices. */
export function createNarrator(name: string): Narrator {
  if (name === 'template') return new TemplateNarrator();
  if (name === 'retrieval-bm25') return new RetrievalNarrator();
  throw new UnknownModelError(`unknown --narrator ${JSON.stringify(name)}; narrators: ${NARRATORS.join(', ')}`);
}
