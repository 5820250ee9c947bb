// The built-in models by name (options.model: `eval --model NAME`, `baseline --model NAME`) and the
// narrators they pair with (options.narrator, default template).
import type { Engine } from '../engine/engine.js';
import { OptionError } from '../util/option-error.js';
import { CritiqueFusionRecommender, type CritiqueRetrieverName } from './critique-fusion.js';
import type { CandidateRecommender } from './candidate-recommender.js';
import { ItemKnnRecommender } from './item-knn.js';
import { MarkovRecommender } from './markov.js';
import { PopularityRecommender } from './popularity.js';
import { ONNX_NARRATOR_PREFIX, OnnxNarrator, type OnnxNarratorOptions } from './llm/narrator.js';
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
export const NARRATORS = ['template', 'retrieval-bm25', 'onnx:DIR'] as const;
export const DEFAULT_NARRATOR = 'template';

export interface BuiltinOptions {
  /** Where tables live and searches run (default: the CPU engine). */
  engine?: Engine;
  /** critique-emb: the sentence encoder (hub id or folder). */
  encoder?: string;
  /** critique-emb: never download the encoder. */
  offline?: boolean;
  /** Critique-aware models: a fixed fusion weight instead of the one tuned on the valid split. */
  fusionWeight?: number;
  /** Hears what is downloaded and from where (critique-emb's encoder). */
  log?: (line: string) => void;
}

/** An unknown model or narrator name; the message names the choices. */
export class UnknownModelError extends OptionError {
  override name = 'UnknownModelError';
}

function sequential(name: string, engine?: Engine): CandidateRecommender | null {
  if (name === 'markov') return new MarkovRecommender(engine);
  if (name === 'sknn') return new SessionKnnRecommender(engine);
  if (name === 'itemknn') return new ItemKnnRecommender(engine);
  return null;
}

const modelList = () => `${BUILTIN_RECOMMENDERS.join(', ')} (critique models take a base: ${CRITIQUE_MODELS[0]}:${SEQUENTIAL_MODELS.join('|')})`;

/** A built-in recommender by name, or a `regen-bench train` checkpoint folder; UnknownModelError names the choices. */
export function createRecommender(name: string, o: BuiltinOptions = {}): Recommender {
  if (name === 'pop') return new PopularityRecommender(o.engine);
  if (isCheckpointDir(name)) return new TrainedRecommender(name, { engine: o.engine, offline: o.offline });
  const seq = sequential(name, o.engine);
  if (seq) return seq;
  const [kind, baseName = DEFAULT_FUSION_BASE, extra] = name.split(':');
  if ((CRITIQUE_MODELS as readonly string[]).includes(kind) && extra === undefined) {
    const base = sequential(baseName, o.engine);
    if (!base)
      throw new UnknownModelError('model', (label) => `${label('model')} ${name}: unknown base model '${baseName}'; a critique model fuses with one of ${SEQUENTIAL_MODELS.join(', ')} (e.g. ${label('model')} ${kind}:markov)`);
    const retriever: CritiqueRetrieverName = kind === 'critique-bm25' ? 'bm25' : 'embedding';
    return new CritiqueFusionRecommender(base, retriever, { engine: o.engine, encoder: o.encoder, offline: o.offline, weight: o.fusionWeight, log: o.log });
  }
  throw new UnknownModelError('model', (label) => `unknown ${label('model')} ${JSON.stringify(name)}; built-in models: ${modelList()}, or a checkpoint folder written by \`regen-bench train\``);
}

/** A narrator by name (onnx:DIR: an LLM narrator, see src/models/llm/narrator.ts); UnknownModelError names the choices. */
export function createNarrator(name: string, options: OnnxNarratorOptions = {}): Narrator {
  if (name === 'template') return new TemplateNarrator();
  if (name === 'retrieval-bm25') return new RetrievalNarrator();
  if (name.startsWith(ONNX_NARRATOR_PREFIX)) {
    const dir = name.slice(ONNX_NARRATOR_PREFIX.length);
    if (!dir) throw new UnknownModelError('narrator', (label) => `${label('narrator')} onnx: needs the model folder: ${label('narrator')} onnx:DIR`);
    return new OnnxNarrator(dir, options);
  }
  throw new UnknownModelError('narrator', (label) => `unknown ${label('narrator')} ${JSON.stringify(name)}; narrators: ${NARRATORS.join(', ')}`);
}
