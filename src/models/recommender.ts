// What a recommender hands to evaluation: per example, the target's rank and the top-k list.
import type { NarrativeKind } from '../data/dataset.js';
import type { AnswerCounts } from './answers.js';
import type { InputFile } from '../data/report.js';
import type { ProgressFn } from '../util/progress.js';
import type { ExampleSet } from '../tasks/examples.js';

export interface Ranking {
  /** 0-based rank of each example's target; Infinity where it was not ranked. */
  ranks: Float64Array;
  /** examples x k item ids, best first, -1 padded: what narrators describe and what predictions files hold. */
  top: Int32Array;
  k: number;
  /** Counted oddities of the input ("duplicate ids dropped from lists": 3), for the report. */
  notes: Record<string, number>;
  /** Answer hygiene of the lists as the model wrote them (src/models/answers.ts); absent: counted from top. */
  answers?: AnswerCounts;
}

export interface RecommendOptions {
  k: number;
  excludeHistory: boolean;
  progress?: ProgressFn;
}

export interface Recommender {
  readonly name: string;
  /** Whether the model reads critiques (task 2 and 3); others rank the same with or without. */
  readonly usesCritique: boolean;
  /**
   * 'computed': the model computes its answers from the examples, so eval can run it again with the
   * critiques withheld (the paper's two rows) and pair it with a narrator. 'given': its answers
   * were computed elsewhere and handed in (predictions, embedding files).
   */
  readonly answers: 'computed' | 'given';
  /**
   * The narratives the model wrote itself (a predictions file; an LLM recommender): per example of
   * `examples`, the text of `kind`, or null where it wrote none. Models without it leave narratives
   * to a narrator.
   */
  narratives?(examples: ExampleSet, kind: NarrativeKind): (string | null)[];
  /** One line on how the model was fitted (e.g. a tuned weight), printed by eval; undefined if nothing to say. */
  readonly summary?: string;
  /** Called once with the full example set before slices of it are ranked (load files, fit). */
  prepare?(examples: ExampleSet, progress?: ProgressFn): Promise<void>;
  recommend(examples: ExampleSet, options: RecommendOptions): Promise<Ranking>;
  /**
   * The files the model read (after prepare): each named in the signature by its content hash, with
   * its problems in the report. Models that read no file leave it out.
   */
  inputs?(): InputFile[];
  /** Frees native memory (item tables). */
  dispose?(): void;
}
