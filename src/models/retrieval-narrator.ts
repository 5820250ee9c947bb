// Retrieval narrator: the narrative of the most similar other user, by BM25 (nearest-neighbour
// "generation", a floor any trained generator should beat). In REGEN every user's narratives describe
// their own last purchase, so the "training examples" are the other users (never the user itself):
//   item narratives (purchase reason, explanation, endorsement): the user whose last purchase is
//     most similar to the recommended item (BM25 of its text against each last purchase's text), so a
//     wrong recommendation gives a wrong narrative, as with the template narrator;
//   user narratives (summaries, profile): the user whose history is most similar to this history
//     (BM25 of the history's item texts against every other user's history).
// Ties go to the lower item id, then the lower user index. Terms in more than 10% of the user
// histories are skipped for the user narratives (they barely move BM25 and dominate its cost).
import type { Dataset, NarrativeKind } from '../data/dataset.js';
import { ITEM_NARRATIVES } from '../data/dataset.js';
import type { ExampleSet } from '../tasks/examples.js';
import { Bm25Index, tokenize } from './bm25.js';
import { SparseScores } from './candidate-ranking.js';
import { itemText } from './critique-fusion.js';
import type { Narrator } from './template-narrator.js';

const USER_TERM_MAX_DF = 0.1;

interface Pools {
  ds: Dataset;
  itemTokens: string[][];
  /** Donor users (at least two purchases and a narrative), ascending. */
  donors: Int32Array;
  /** Distinct last purchases of donors, ascending; donorsOfItem: per one of them, its donors (CSR). */
  lastItems: Int32Array;
  donorsOfItem: { offsets: Int32Array; ids: Int32Array };
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

/** Document order: score desc, then id asc. */
function ranked(acc: SparseScores): number[] {
  const ids = Array.from(acc.touched());
  ids.sort((a, b) => acc.values[b] - acc.values[a] || a - b);
  return ids;
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
    this.pools = {
      ds,
      itemTokens,
      donors: Int32Array.from(donors),
      lastItems: Int32Array.from(lastItems),
      donorsOfItem: { offsets: docOffsets, ids: Int32Array.from(byDoc.flat()) },
      items: new Bm25Index(lastItems.length, (d) => itemTokens[lastItems[d]]),
      histories: new Bm25Index(donors.length, (d) => history(donors[d])),
      itemAcc: new SparseScores(lastItems.length),
      userAcc: new SparseScores(donors.length),
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
    p.items.search(p.itemTokens[item], p.itemAcc);
    for (const d of ranked(p.itemAcc)) {
      for (let q = p.donorsOfItem.offsets[d]; q < p.donorsOfItem.offsets[d + 1] && found.length < 2; q++) found.push(p.donorsOfItem.ids[q]);
      if (found.length === 2) break;
    }
    p.itemAcc.clear();
    for (let q = 0; found.length < 2 && q < p.donors.length; q++) if (!found.includes(p.donors[q])) found.push(p.donors[q]);
    p.byItem.set(item, found);
    return found;
  }

  private userDonor(p: Pools, user: number, history: Int32Array): number {
    let donor = p.byUser.get(user);
    if (donor !== undefined) return donor;
    const terms: string[] = [];
    for (const item of history) for (const t of p.itemTokens[item]) terms.push(t);
    p.userAcc.clear();
    p.histories.search(terms, p.userAcc, USER_TERM_MAX_DF);
    donor = -1;
    for (const d of ranked(p.userAcc))
      if (p.donors[d] !== user) {
        donor = p.donors[d];
        break;
      }
    p.userAcc.clear();
    for (let q = 0; donor < 0 && q < p.donors.length; q++) if (p.donors[q] !== user) donor = p.donors[q];
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
