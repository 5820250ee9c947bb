// A model handed in as a predictions file: JSON lines
//   {"user": "<user id>", "items": ["<item id>", ... best first], "narratives": {"<kind>": "text", ...}}
// Problems are counted with file:line samples (fatal with strict): malformed lines, unknown users
// and items, repeated users (the first line counts). Examples without a line are scored as misses
// and their narratives as empty texts; the report says how many.
import type { NarrativeKind } from '../data/dataset.js';
import { NARRATIVE_KINDS, NARRATIVE_NAMES } from '../data/dataset.js';
import { readLines } from '../data/lines.js';
import type { ProgressFn } from '../util/progress.js';
import { Issues, type LoadReport } from '../data/report.js';
import { ranksFromLists } from '../metrics/ranking.js';
import type { ExampleSet } from '../tasks/examples.js';
import type { Ranking, RecommendOptions, Recommender } from './recommender.js';

/** Narrative keys accepted in files: the camelCase names and their snake_case forms. */
export const NARRATIVE_KEYS: Record<string, NarrativeKind> = Object.fromEntries(
  NARRATIVE_KINDS.flatMap((k) => [
    [k, k],
    [NARRATIVE_NAMES[k], k],
  ]),
);

export interface PredictionsFile {
  file: string;
  /** Per example: the listed item ids (dataset ids; -1 for unknown ids), as CSR. */
  lists: { offsets: Int32Array; ids: Int32Array };
  /** Per kind, per example: the predicted text, null where the file has none. */
  narratives: Record<NarrativeKind, (string | null)[]>;
  /** Examples the file has a line for. */
  covered: Uint8Array;
  report: LoadReport;
}

export async function readPredictions(
  file: string,
  examples: ExampleSet,
  options: { strict?: boolean; progress?: ProgressFn } = {},
): Promise<PredictionsFile> {
  const ds = examples.dataset;
  const exampleOf = new Map<string, number>();
  for (let i = 0; i < examples.length; i++) exampleOf.set(ds.users.reviewerId.get(examples.users[i]) ?? String(examples.users[i]), i);
  const issues = new Issues(options.strict);
  const lists: number[][] = Array.from({ length: examples.length }, () => []);
  const narratives = Object.fromEntries(NARRATIVE_KINDS.map((k) => [k, new Array<string | null>(examples.length).fill(null)])) as Record<NarrativeKind, (string | null)[]>;
  const covered = new Uint8Array(examples.length);
  const unknownKinds = new Map<string, number>();

  await readLines(
    file,
    (line, lineNo) => {
      const where = `${file}:${lineNo}`;
      let rec: unknown;
      try {
        rec = JSON.parse(line);
      } catch (e) {
        issues.add('malformed-line', where, `not JSON (${(e as Error).message})`, 'Line skipped');
        return;
      }
      if (typeof rec !== 'object' || rec === null || Array.isArray(rec)) {
        issues.add('malformed-line', where, 'not a JSON object', 'Line skipped');
        return;
      }
      const r = rec as { user?: unknown; items?: unknown; narratives?: unknown };
      if (typeof r.user !== 'string' && typeof r.user !== 'number') {
        issues.add('missing-field', where, '"user" is missing or not a string', 'Line skipped');
        return;
      }
      const user = String(r.user);
      const i = exampleOf.get(user);
      if (i === undefined) {
        issues.add(ds.userIndex(user) === undefined ? 'unknown-user' : 'bad-value', where, `user ${JSON.stringify(user)} ${ds.userIndex(user) === undefined ? 'is not in the dataset' : `has no ${examples.split} example`}`, 'Line skipped');
        return;
      }
      if (covered[i]) {
        issues.add('duplicate-user', where, `user ${JSON.stringify(user)} appeared on an earlier line`, 'Line skipped (the first counts)');
        return;
      }
      if (r.items !== undefined && !Array.isArray(r.items)) {
        issues.add('bad-value', where, '"items" is not an array of item ids', 'Line skipped');
        return;
      }
      if (r.narratives !== undefined && (typeof r.narratives !== 'object' || r.narratives === null || Array.isArray(r.narratives))) {
        issues.add('bad-value', where, '"narratives" is not an object of texts', 'Line skipped');
        return;
      }
      covered[i] = 1;
      for (const item of (r.items as unknown[] | undefined) ?? []) {
        const id = typeof item === 'string' || typeof item === 'number' ? ds.itemId(String(item)) : undefined;
        if (id === undefined) issues.add('unknown-item', where, `item ${JSON.stringify(item)} is not in the dataset`, 'Kept in place as a wrong item');
        lists[i].push(id ?? -1);
      }
      for (const [key, text] of Object.entries((r.narratives as Record<string, unknown> | undefined) ?? {})) {
        const kind = NARRATIVE_KEYS[key];
        if (!kind) unknownKinds.set(key, (unknownKinds.get(key) ?? 0) + 1);
        else if (typeof text !== 'string') issues.add('bad-value', where, `narratives.${key} is not a string`, 'Narrative ignored');
        else narratives[kind][i] = text;
      }
    },
    { issues, progress: options.progress, phase: `reading ${file}` },
  );

  const report = issues.report();
  for (const [key, n] of unknownKinds)
    report.notes.push(`narrative key ${JSON.stringify(key)} on ${n} lines is not a REGEN narrative kind (expected one of ${Object.keys(NARRATIVE_KEYS).join(', ')}); ignored`);
  const offsets = new Int32Array(examples.length + 1);
  lists.forEach((l, i) => (offsets[i + 1] = offsets[i] + l.length));
  const ids = new Int32Array(offsets[examples.length]);
  lists.forEach((l, i) => ids.set(l, offsets[i]));
  return { file, lists: { offsets, ids }, narratives, covered, report };
}

export class PredictionsRecommender implements Recommender {
  readonly name: string;
  readonly usesCritique = true;
  readonly answers = 'given';
  private loaded: PredictionsFile | null = null;

  constructor(
    readonly file: string,
    private readonly options: { strict?: boolean } = {},
  ) {
    this.name = `predictions:${file.split(/[\\/]/).pop()}`;
  }

  /** Reads the file against the full example set (slices then index into it by their base). */
  async prepare(examples: ExampleSet, progress?: ProgressFn): Promise<void> {
    this.loaded = await readPredictions(this.file, examples, { ...this.options, progress });
  }

  get predictions(): PredictionsFile {
    if (!this.loaded) throw new Error('internal: PredictionsRecommender.prepare() was not called');
    return this.loaded;
  }

  /** The file's lists for examples [base, base + n), as CSR. */
  private lists(examples: ExampleSet): { offsets: Int32Array; ids: Int32Array } {
    const { offsets, ids } = this.predictions.lists;
    const a = examples.base;
    const b = a + examples.length;
    const o = offsets.slice(a, b + 1);
    for (let i = 0; i < o.length; i++) o[i] -= offsets[a];
    return { offsets: o, ids: ids.subarray(offsets[a], offsets[b]) };
  }

  async recommend(examples: ExampleSet, options: RecommendOptions): Promise<Ranking> {
    const lists = this.lists(examples);
    const exclude = examples.exclusions(options.excludeHistory);
    const { ranks, duplicates, excludedFromLists } = ranksFromLists(lists, examples.targets, exclude);
    const k = options.k;
    const top = new Int32Array(examples.length * k).fill(-1);
    for (let i = 0; i < examples.length; i++) {
      const skip = new Set(exclude.ids.subarray(exclude.offsets[i], exclude.offsets[i + 1]));
      const seen = new Set<number>();
      let j = 0;
      for (let q = lists.offsets[i]; q < lists.offsets[i + 1] && j < k; q++) {
        const id = lists.ids[q];
        if (id >= 0 && (seen.has(id) || skip.has(id))) continue;
        seen.add(id);
        top[i * k + j++] = id;
      }
    }
    const notes: Record<string, number> = {};
    let missing = 0;
    for (let i = 0; i < examples.length; i++) if (!this.predictions.covered[examples.base + i]) missing++;
    if (missing) notes['examples without a prediction line (scored as misses)'] = missing;
    if (duplicates) notes['repeated item ids in lists (first place counts)'] = duplicates;
    if (excludedFromLists) notes['listed items removed as history'] = excludedFromLists;
    return { ranks, top, k, notes };
  }

  /** The file's narratives for the slice; null where it has none. */
  narratives(examples: ExampleSet, kind: NarrativeKind): (string | null)[] {
    return this.predictions.narratives[kind].slice(examples.base, examples.base + examples.length);
  }
}
