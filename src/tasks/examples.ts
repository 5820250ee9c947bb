// The three REGEN tasks (§4.1) as evaluation examples over a dataset's split:
//   task 1: history -> next item
//   task 2: history + critique -> next item
//   task 3: history + critique -> next item + narrative
// Columnar (one entry per example, in the split's user order) so that targets and histories go to
// the native engine as they are. `example(i)` gives one example as an object for people and prompts.
import type { Dataset, NarrativeKind } from '../data/dataset.js';
import { NARRATIVE_KINDS } from '../data/dataset.js';
import type { Csr, EvalSplit } from '../data/splits.js';

export type TaskId = 1 | 2 | 3;
export type SplitName = 'valid' | 'test';


export interface Example {
  /** Row in the example set. */
  index: number;
  /** The user's reviewer id (stable across datasets built from the same source). */
  user: string;
  userIndex: number;
  /** Item ids before the target, oldest first. */
  history: Int32Array;
  /** The critique steering from the last history item to the target; null without one (tasks 2 and 3 only). */
  critique: string | null;
  target: number;
  /** Reference narratives (task 3 on the test split only: REGEN's narratives describe the user's last purchase). */
  narratives: Partial<Record<NarrativeKind, string>>;
}

export class ExampleSet {
  readonly length: number;
  /** Target item per example. */
  readonly targets: Int32Array;
  /** Histories as CSR: the exclusion lists for the native engine. */
  readonly history: Csr;
  /** Dataset user index per example. */
  readonly users: Int32Array;
  /** Examples with a critique (tasks 2 and 3). */
  readonly withCritique: number;

  constructor(
    readonly dataset: Dataset,
    readonly task: TaskId,
    readonly split: SplitName,
    private readonly rows: EvalSplit,
    /** Index of the first example in the full set this one was sliced from. */
    readonly base = 0,
    /** Whether critiques are shown (tasks 2 and 3; false gives the paper's "Hist -> ID + Narrative" row). */
    readonly critiques: boolean = task !== 1,
  ) {
    this.length = rows.users.length;
    this.targets = rows.targets;
    this.history = rows.history;
    this.users = rows.users;
    let n = 0;
    if (critiques) for (let i = 0; i < this.length; i++) if (!dataset.events.critique.isNull(rows.events[i])) n++;
    this.withCritique = n;
  }

  /** Whether the examples carry critiques. */
  get usesCritique(): boolean {
    return this.critiques;
  }

  /** The row label of the paper's Table 2. */
  get label(): string {
    return `${this.critiques ? 'Hist + Critique' : 'Hist'} -> ID${this.task === 3 ? ' + Narrative' : ''}`;
  }

  /** Examples [start, end), for chunked and sharded evaluation. */
  slice(start: number, end: number): ExampleSet {
    const r = this.rows;
    const h0 = r.history.offsets[start];
    const offsets = r.history.offsets.slice(start, end + 1);
    for (let i = 0; i < offsets.length; i++) offsets[i] -= h0;
    const rows: EvalSplit = {
      users: r.users.subarray(start, end),
      events: r.events.subarray(start, end),
      targets: r.targets.subarray(start, end),
      history: { offsets, ids: r.history.ids.subarray(h0, r.history.offsets[end]) },
    };
    return new ExampleSet(this.dataset, this.task, this.split, rows, this.base + start, this.critiques);
  }

  /** The same examples with critiques withheld (task 3's "Hist -> ID + Narrative" row). */
  withoutCritiques(): ExampleSet {
    return new ExampleSet(this.dataset, this.task, this.split, this.rows, this.base, false);
  }

  /** Narrative kinds scored: task 3 on the test split. */
  get narrativeKinds(): readonly NarrativeKind[] {
    return this.task === 3 && this.split === 'test' ? NARRATIVE_KINDS : [];
  }

  critique(i: number): string | null {
    return this.usesCritique ? this.dataset.events.critique.get(this.rows.events[i]) : null;
  }

  /** Whether the dataset holds a critique steering to example i's target (shown or withheld). */
  hasCritique(i: number): boolean {
    return this.task !== 1 && !this.dataset.events.critique.isNull(this.rows.events[i]);
  }

  /** The dataset's event index of example i's target (its critique, review and time). */
  eventOf(i: number): number {
    return this.rows.events[i];
  }

  /** The reference narrative of example i, null where the dataset has none. */
  narrative(i: number, kind: NarrativeKind): string | null {
    return this.dataset.users.narratives[kind].get(this.rows.users[i]);
  }

  /**
   * The items to exclude per example: its whole history (earlier purchases), as S3Rec/RecBole's
   * full-ranking protocol and LUMEN generation do. Nothing about the target decides what is excluded:
   * when the target is itself a repeat purchase (in its history) it is excluded too and the example
   * is a miss; repeatTargets() counts those so reports can say so. Empty lists when `excludeHistory`
   * is false.
   */
  exclusions(excludeHistory: boolean): Csr {
    if (!excludeHistory) return { offsets: new Int32Array(this.length + 1), ids: new Int32Array(0) };
    return this.history;
  }

  /** Examples whose target is in their own history (repeat purchases). */
  repeatTargets(): number {
    const { offsets, ids } = this.history;
    let n = 0;
    for (let r = 0; r < this.length; r++)
      for (let p = offsets[r]; p < offsets[r + 1]; p++)
        if (ids[p] === this.targets[r]) {
          n++;
          break;
        }
    return n;
  }

  historyOf(i: number): Int32Array {
    return this.history.ids.subarray(this.history.offsets[i], this.history.offsets[i + 1]);
  }

  example(i: number): Example {
    const u = this.rows.users[i];
    const narratives: Partial<Record<NarrativeKind, string>> = {};
    for (const kind of this.narrativeKinds) {
      const text = this.narrative(i, kind);
      if (text !== null) narratives[kind] = text;
    }
    return {
      index: i,
      user: this.dataset.users.reviewerId.get(u) ?? String(u),
      userIndex: u,
      history: this.historyOf(i),
      critique: this.critique(i),
      target: this.targets[i],
      narratives,
    };
  }
}

/** The examples of a task on a split (test by default). */
export function buildExamples(dataset: Dataset, task: TaskId, split: SplitName = 'test'): ExampleSet {
  return new ExampleSet(dataset, task, split, dataset.split[split]);
}
