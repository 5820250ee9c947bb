// The normalised dataset: what every source (REGEN release, Amazon 2018 raw, plain sequences,
// synthetic) becomes, and what tasks, baselines and evaluation read.
//
// Four tables, columnar, with dense int ids:
//   items       id 0..N-1: asin, title, brand, description, category node, price
//   categories  the category tree (node -> parent, depth, level name)
//   users       0..U-1: reviewer id, CSR offsets into events, narratives, rater scores
//   events      one purchase each, grouped by user and in time order: item, rating, time, review,
//               critique (the user's utterance steering from the previous purchase to this one)
// Numeric columns are typed arrays (Int32Array item ids go to the native engine as they are); text
// columns decode on access. `split` gives the leave-one-out split with CSR histories.
import { sharedLevels, type CategoryTree } from './categories.js';
import type { LoadReport } from './report.js';
import { leaveOneOut, type LeaveOneOut } from './splits.js';
import type { TextColumn } from './text-column.js';

/** The six narrative kinds of REGEN (Table 1 of the paper). */
export const NARRATIVE_KINDS = [
  'purchaseReason', // one sentence: why the user bought the last item
  'purchaseReasonExplanation', // paragraph: the last item in light of the whole history
  'productEndorsement', // paragraph: a sales pitch for the last item
  'userSummaryBrief', // 1-2 sentences about the user
  'userSummaryLong', // paragraph about the user
  'userProfile', // a short phrase ("Fashionable and practical woman")
] as const;
export type NarrativeKind = (typeof NARRATIVE_KINDS)[number];

/** snake_case names, as files, columns, reports and the CLI spell the kinds. */
export const NARRATIVE_NAMES: Record<NarrativeKind, string> = {
  purchaseReason: 'purchase_reason',
  purchaseReasonExplanation: 'purchase_reason_explanation',
  productEndorsement: 'product_endorsement',
  userSummaryBrief: 'user_summary_brief',
  userSummaryLong: 'user_summary_long',
  userProfile: 'user_profile',
};

/** The narratives that describe the user's last purchase (the test target); the others describe the user. */
export const ITEM_NARRATIVES: readonly NarrativeKind[] = ['purchaseReason', 'purchaseReasonExplanation', 'productEndorsement'];

export type SourceKind = 'regen' | 'amazon2018' | 'sequences' | 'minionerec' | 'synthetic';

export interface SourceFile {
  path: string;
  bytes: number;
  sha256: string;
}

export interface SourceInfo {
  kind: SourceKind;
  files: SourceFile[];
  /** The options that shaped the result (schema map, k-core, preset and seed, ...). */
  options: Record<string, unknown>;
}

export interface DatasetMeta {
  /** A short name ("office", "Beauty", "demo"). */
  name: string;
  /** sha256 of the source content and options: the dataset's identity in signatures and cache names. */
  key: string;
  source: SourceInfo;
  report: LoadReport;
  /** The regen-bench version that built it. */
  builtBy: string;
}

export interface ItemColumns {
  count: number;
  /** The source's item id (an ASIN for Amazon data). */
  asin: TextColumn;
  title: TextColumn;
  brand: TextColumn;
  description: TextColumn;
  /** Node of the item's category path in `categories`, -1 when unknown. */
  category: Int32Array;
  /** Price in dollars, NaN when unknown. */
  price: Float64Array;
}

export interface UserColumns {
  count: number;
  reviewerId: TextColumn;
  /** CSR: user u's events are offsets[u] .. offsets[u+1], oldest first (count + 1 entries). */
  offsets: Int32Array;
  narratives: Record<NarrativeKind, TextColumn>;
  /** Rater scores (by flattened source path, e.g. "narrative_scores.purchase_reason.veracity"); NaN when absent. */
  scores: Record<string, Float32Array>;
}

export interface EventColumns {
  count: number;
  user: Int32Array;
  item: Int32Array;
  /** 1-5, 0 when unknown. */
  rating: Uint8Array;
  /** Unix seconds, NaN when unknown. */
  time: Float64Array;
  /**
   * 1 when this purchase and the user's previous one share at least four category levels: the pairs
   * REGEN writes critiques for. 0 for a user's first purchase.
   */
  critiqueSlot: Uint8Array;
  /** The critique steering from the previous purchase to this one; null where the source has none (sentinel). */
  critique: TextColumn;
  reviewSummary: TextColumn;
  reviewText: TextColumn;
  scores: Record<string, Float32Array>;
}

export class Dataset {
  private itemIndex: Map<string, number> | null = null;
  private userIndexMap: Map<string, number> | null = null;
  private splitCache: LeaveOneOut | null = null;

  constructor(
    readonly meta: DatasetMeta,
    readonly items: ItemColumns,
    readonly categories: CategoryTree,
    readonly users: UserColumns,
    readonly events: EventColumns,
    /** The folder it was read from (null when built in memory). */
    readonly dir: string | null = null,
  ) {}

  /** The dense id of an item, by its source id (asin). */
  itemId(asin: string): number | undefined {
    if (!this.itemIndex) {
      this.itemIndex = new Map();
      for (let i = 0; i < this.items.count; i++) this.itemIndex.set(this.items.asin.get(i) ?? '', i);
    }
    return this.itemIndex.get(asin);
  }

  /** A user's index, by reviewer id. */
  userIndex(reviewerId: string): number | undefined {
    if (!this.userIndexMap) {
      this.userIndexMap = new Map();
      for (let u = 0; u < this.users.count; u++) this.userIndexMap.set(this.users.reviewerId.get(u) ?? '', u);
    }
    return this.userIndexMap.get(reviewerId);
  }

  /** A user's item ids, oldest first (a view, not a copy). */
  sequence(user: number): Int32Array {
    return this.events.item.subarray(this.users.offsets[user], this.users.offsets[user + 1]);
  }

  /** Category levels two items share (the critique rule counts these). */
  sharedCategoryLevels(a: number, b: number): number {
    return sharedLevels(this.categories, this.items.category[a], this.items.category[b]);
  }

  /** The leave-one-out split (computed on first use). */
  get split(): LeaveOneOut {
    return (this.splitCache ??= leaveOneOut(this.users.offsets, this.events.item));
  }
}
