// The simplest narrator: one fixed sentence pattern per narrative kind, filled from the recommended
// item and the user's history (title, category, brand, price, purchase count). A floor for the text
// metrics that any real generator should beat; it describes the item the recommender picked, so
// when that item is wrong the narrative is too (the effect the paper reports).
import { categoryPath } from '../data/categories.js';
import type { Dataset, NarrativeKind } from '../data/dataset.js';
import type { ExampleSet } from '../tasks/examples.js';
import type { ProgressFn } from '../util/progress.js';

export interface Narrator {
  /** Its name in signatures (after prepare: an LLM narrator's names its model's hash and decoding settings). */
  readonly name: string;
  /** Per kind, per example: the narrative for the item at top[i * k] (the model's first pick). */
  narrate(examples: ExampleSet, top: Int32Array, k: number, kinds: readonly NarrativeKind[]): Record<string, string[]> | Promise<Record<string, string[]>>;
  /** Called once before the first narrate (an LLM narrator reads its model's files); progress for long work. */
  prepare?(progress?: ProgressFn): Promise<void>;
  /** What it did (generations, cache hits, tokens/s), for a line after the evaluation; undefined if nothing to say. */
  report?(): string | undefined;
  /** Frees the model (ONNX session, native tables). */
  dispose?(): Promise<void> | void;
}

// Leaf category names per item of a dataset, made on first use: a narrator names one per history item.
const leaves = new WeakMap<Dataset, (string | undefined)[]>();

function leaf(ds: Dataset, item: number): string {
  let names = leaves.get(ds);
  if (!names) leaves.set(ds, (names = []));
  if (item < 0) return 'product';
  let name = names[item];
  if (name === undefined) {
    const p = ds.items.category[item] >= 0 ? categoryPath(ds.categories, ds.items.category[item]) : [];
    names[item] = name = (p[p.length - 1] ?? 'product').toLowerCase();
  }
  return name;
}

function favourites(ds: Dataset, history: Int32Array): string {
  const counts = new Map<string, number>();
  for (const item of history) {
    const name = leaf(ds, item);
    counts.set(name, (counts.get(name) ?? 0) + 1);
  }
  const top = [...counts.entries()].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0])).slice(0, 2).map(([c]) => c);
  return top.length === 0 ? 'everyday products' : top.join(' and ');
}

export class TemplateNarrator implements Narrator {
  readonly name = 'template';

  narrate(examples: ExampleSet, top: Int32Array, k: number, kinds: readonly NarrativeKind[]): Record<string, string[]> {
    const ds = examples.dataset;
    const out: Record<string, string[]> = Object.fromEntries(kinds.map((kind) => [kind, [] as string[]]));
    for (let i = 0; i < examples.length; i++) {
      const item = top[i * k];
      const history = examples.historyOf(i);
      const title = item >= 0 ? (ds.items.title.get(item) ?? 'this item') : 'this item';
      const brand = item >= 0 ? ds.items.brand.get(item) : null;
      const price = item >= 0 ? ds.items.price[item] : NaN;
      const cat = leaf(ds, item);
      const fav = favourites(ds, history);
      const priceText = Number.isFinite(price) ? ` At $${price.toFixed(2)}, it is a practical choice.` : '';
      const texts: Record<NarrativeKind, string> = {
        purchaseReason: `They purchased the ${title} because they needed ${cat}.`,
        purchaseReasonExplanation: `This user has made ${history.length} purchases, mostly ${fav}. The ${title} fits that pattern: it is a ${cat} item${brand ? ` from ${brand}` : ''}.${priceText}`,
        productEndorsement: `Looking for ${cat}? Try the ${title}.${brand ? ` ${brand} makes it to last.` : ''}${priceText}`,
        userSummaryBrief: `A shopper who mostly buys ${fav}.`,
        userSummaryLong: `This user has made ${history.length} purchases, mostly ${fav}. Their next purchase is likely the ${title}.`,
        userProfile: `Practical buyer of ${fav}`,
      };
      for (const kind of kinds) out[kind].push(texts[kind]);
    }
    return out;
  }
}
