// Retrieval narrator: the narrative of the most similar other user, by BM25 (nearest-neighbour
// "generation", a floor any trained generator should beat). In REGEN every user's narratives describe
// their own last purchase, so the "training examples" are the other users (never the user itself):
//   item narratives (purchase reason, explanation, endorsement): the user whose last purchase is
//     the recommended item, else the most similar to it (BM25 of its text against each last
//     purchase's text), so a
//     wrong recommendation gives a wrong narrative, as with the template narrator;
//   user narratives (summaries, profile): the user whose history is most similar to this history
//     (BM25 of the history's item texts against every other user's history).
// Ties go to the lower item id, then the lower user index. Bounded cost at REGEN scale: terms in more
// than 10% of the documents are skipped (they barely move BM25 and dominate its cost), a history
// query keeps its 24 rarest distinct terms, and the user-narrative donors are a fixed pool of at most
// 4,096 users spread evenly over the dataset (every ceil(n / 4096)-th donor).
import type { Dataset, NarrativeKind } from '../data/dataset.js';
import { ITEM_NARRATIVES } from '../data/dataset.js';
import type { ExampleSet } from '../tasks/examples.js';
import { Bm25Index, tokenize } from './bm25.js';
import { SparseScores } from './candidate-ranking.js';
import { itemText } from './critique-fusion.js';
import type { Narrator } from './template-narrator.js';

const MAX_DF = 0.1;
const HISTORY_TERMS = 24;
const USER_POOL = 4096;

interface Pools {
  ds: Dataset;
  itemTokens: string[][];
  /** Donor users (at least two purchases and a narrative), ascending. */
  donors: Int32Array;
  /** The donors retrieved by history (an evenly spaced subset of donors). */
  userPool: Int32Array;
  /** Distinct last purchases of donors, ascending; donorsOfItem: per one of them, its donors (CSR). */
  lastItems: Int32Array;
  donorsOfItem: { offsets: Int32Array; ids: Int32Array };
  /** Document of an item that is some donor's last purchase. */
  docOfItem: Map<number, number>;
  items: Bm25Index;
  histories: Bm25Index;
  itemAcc: SparseScores;
  userAcc: SparseScores;
  /** Per recommended item: up to two donors, best first. */
  byItem: Map<number, number[]>;
  /** Per user: the donor of its user narratives. */
  byUser: Map<number, number>;
}

function hasNarrative(ds: Dataset, u: number): boolean {
  for (const kind of Object.keys(ds.users.narratives) as NarrativeKind[]) if (!ds.users.narratives[kind].isNull(u)) return true;
  return false;
}

/** The best touched document (score desc, then id asc) that `skip` allows, or -1. */
function best(acc: SparseScores, skip: (doc: number) => boolean): number {
  let b = -1;
  for (const d of acc.touched()) {
    if (skip(d)) continue;
    if (b < 0 || acc.values[d] > acc.values[b] || (acc.values[d] === acc.values[b] && d < b)) b = d;
  }
  return b;
}

export class RetrievalNarrator implements Narrator {
  readonly name = 'retrieval-bm25';
  private pools: Pools | null = null;

  private build(ds: Dataset): Pools {
    if (this.pools?.ds === ds) return this.pools;
    const { offsets } = ds.users;
    const donors: number[] = [];
    for (let u = 0; u < ds.users.count; u++) if (offsets[u + 1] - offsets[u] >= 2 && hasNarrative(ds, u)) donors.push(u);
    const lastOf = (u: number) => ds.events.item[offsets[u + 1] - 1];
    const lastItems = [...new Set(donors.map(lastOf))].sort((a, b) => a - b);
    const slot = new Map(lastItems.map((item, d) => [item, d]));
    const byDoc: number[][] = lastItems.map(() => []);
    for (const u of donors) byDoc[slot.get(lastOf(u))!].push(u);
    const docOffsets = new Int32Array(lastItems.length + 1);
    byDoc.forEach((l, d) => (docOffsets[d + 1] = docOffsets[d] + l.length));
    const itemTokens = Array.from({ length: ds.items.count }, (_, i) => tokenize(itemText(ds, i)));
    const history = (u: number) => {
      const out: string[] = [];
      for (let e = offsets[u]; e < offsets[u + 1] - 1; e++) for (const t of itemTokens[ds.events.item[e]]) out.push(t);
      return out;
    };
    const step = Math.max(1, Math.ceil(donors.length / USER_POOL));
    const userPool = Int32Array.from(donors.filter((_, i) => i % step === 0));
    this.pools = {
      ds,
      itemTokens,
      donors: Int32Array.from(donors),
      userPool,
      lastItems: Int32Array.from(lastItems),
      donorsOfItem: { offsets: docOffsets, ids: Int32Array.from(byDoc.flat()) },
      docOfItem: slot,
      items: new Bm25Index(lastItems.length, (d) => itemTokens[lastItems[d]]),
      histories: new Bm25Index(userPool.length, (d) => history(userPool[d])),
      itemAcc: new SparseScores(lastItems.length),
      userAcc: new SparseScores(userPool.length),
      byItem: new Map(),
      byUser: new Map(),
    };
    return this.pools;
  }

  /** Two donors for a recommended item, best first (so one of them is not the user itself). */
  private itemDonors(p: Pools, item: number): number[] {
    let found = p.byItem.get(item);
    if (found) return found;
    found = [];
    p.itemAcc.clear();
    p.items.search(p.itemTokens[item], p.itemAcc, MAX_DF);
    // The item itself, when another user bought it last, is the most similar; then BM25.
    const first = p.docOfItem.get(item) ?? best(p.itemAcc, () => false);
    const second = first < 0 ? -1 : best(p.itemAcc, (d) => d === first);
    for (const d of [first, second])
      for (let q = d < 0 ? 0 : p.donorsOfItem.offsets[d]; d >= 0 && q < p.donorsOfItem.offsets[d + 1] && found.length < 2; q++) found.push(p.donorsOfItem.ids[q]);
    p.itemAcc.clear();
    for (let q = 0; found.length < 2 && q < p.donors.length; q++) if (!found.includes(p.donors[q])) found.push(p.donors[q]);
    p.byItem.set(item, found);
    return found;
  }

  private userDonor(p: Pools, user: number, history: Int32Array): number {
    let donor = p.byUser.get(user);
    if (donor !== undefined) return donor;
    const distinct = new Set<string>();
    for (const item of history) for (const t of p.itemTokens[item]) distinct.add(t);
    // The rarest terms (ties: first seen), the ones that tell histories apart.
    const terms = [...distinct]
      .map((t, i) => ({ t, i, df: p.histories.df(t) }))
      .filter((x) => x.df > 0)
      .sort((a, b) => a.df - b.df || a.i - b.i)
      .slice(0, HISTORY_TERMS)
      .map((x) => x.t);
    p.userAcc.clear();
    p.histories.search(terms, p.userAcc, MAX_DF);
    const d = best(p.userAcc, (doc) => p.userPool[doc] === user);
    donor = d < 0 ? -1 : p.userPool[d];
    p.userAcc.clear();
    for (let q = 0; donor < 0 && q < p.userPool.length; q++) if (p.userPool[q] !== user) donor = p.userPool[q];
    p.byUser.set(user, donor);
    return donor;
  }

  narrate(examples: ExampleSet, top: Int32Array, k: number, kinds: readonly NarrativeKind[]): Record<string, string[]> {
    const ds = examples.dataset;
    const p = this.build(ds);
    const out: Record<string, string[]> = Object.fromEntries(kinds.map((kind) => [kind, [] as string[]]));
    const itemKinds = kinds.filter((kind) => ITEM_NARRATIVES.includes(kind));
    const userKinds = kinds.filter((kind) => !ITEM_NARRATIVES.includes(kind));
    for (let i = 0; i < examples.length; i++) {
      const user = examples.users[i];
      if (itemKinds.length) {
        const item = top[i * k];
        const donor = item < 0 ? -1 : (this.itemDonors(p, item).find((u) => u !== user) ?? -1);
        for (const kind of itemKinds) out[kind].push(donor < 0 ? '' : (ds.users.narratives[kind].get(donor) ?? ''));
      }
      if (userKinds.length) {
        const donor = this.userDonor(p, user, examples.historyOf(i));
        for (const kind of userKinds) out[kind].push(donor < 0 ? '' : (ds.users.narratives[kind].get(donor) ?? ''));
      }
    }
    return out;
  }
}
