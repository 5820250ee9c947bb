// A model handed in as a predictions file: JSON lines
//   {"user": "<user id>", "items": ["<item id>", ... best first], "narratives": {"<kind>": "text", ...}}
// or, as LLM recommenders answer, "titles": ["<product title>", ...] or "text": "<free text>" instead
// of "items", resolved to catalogue items (src/models/title-resolver.ts; ambiguous and invented titles
// hold their place as wrong items, and answer hygiene counts them: src/models/answers.ts).
// Problems are counted with file:line samples (fatal with strict): malformed lines, unknown users
// and items, repeated users (the first line counts). Examples without a line are scored as misses
// and their narratives as empty texts; the report says how many.
import type { NarrativeKind } from '../data/dataset.js';
import { NARRATIVE_KINDS, NARRATIVE_NAMES } from '../data/dataset.js';
import { readLines } from '../data/lines.js';
import type { ProgressFn } from '../util/progress.js';
import { DataError, Issues, type InputFile, type LoadReport } from '../data/report.js';
import { own, parseJsonLine, preview } from '../util/json.js';
import { LimitError } from '../util/limits.js';
import { ranksFromLists } from '../metrics/ranking.js';
import type { ExampleSet } from '../tasks/examples.js';
import type { Ranking, RecommendOptions, Recommender } from './recommender.js';
import { countAnswers, spokenAnswers, type AnswerForm } from './answers.js';
import { FUZZY_MARGIN, FUZZY_THRESHOLD, HOW, TitleResolver, type ResolveMode } from './title-resolver.js';

/** Narrative keys accepted in files: the camelCase names and their snake_case forms. */
export const NARRATIVE_KEYS: Readonly<Record<string, NarrativeKind>> = Object.fromEntries(
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
  /** Per list entry (aligned with lists.ids): how it was resolved (a HOW code). */
  how: Uint8Array;
  /** Per example: ambiguous entries whose candidate items include the target. */
  ambiguousWithTarget: Int32Array;
  /** Lines per answer form. */
  forms: Record<AnswerForm, number>;
  report: LoadReport;
  /** The file as an input of the evaluation: content hash, lines and ids read, and what was wrong. */
  input: InputFile;
}

/** Kinds that cost a whole line (it was skipped). */
const BAD_LINE_KINDS = new Set(['malformed-line', 'missing-field', 'bad-value', 'unknown-user', 'duplicate-user']);

export interface ReadPredictionsOptions {
  strict?: boolean;
  progress?: ProgressFn;
  /** Hears each problem as it is found (the CLI prints it on stderr). */
  warn?: (line: string) => void;
  /** How answers given by title or text are resolved to items (default fuzzy). */
  resolve?: ResolveMode;
}

/** Whether a dataset's ids (item asins or reviewer ids) are decimal numbers written as strings. */
function numericIds(count: number, get: (i: number) => string | null): boolean {
  if (count === 0) return false;
  for (const i of [0, count >> 1, count - 1]) if (!/^-?\d+$/.test(get(i) ?? '')) return false;
  return true;
}

export async function readPredictions(file: string, examples: ExampleSet, options: ReadPredictionsOptions = {}): Promise<PredictionsFile> {
  const ds = examples.dataset;
  const exampleOf = new Map<string, number>();
  for (let i = 0; i < examples.length; i++) exampleOf.set(ds.users.reviewerId.get(examples.users[i]) ?? String(examples.users[i]), i);
  const issues = new Issues(options.strict, options.warn);
  const lists: number[][] = Array.from({ length: examples.length }, () => []);
  const narratives = Object.fromEntries(NARRATIVE_KINDS.map((k) => [k, new Array<string | null>(examples.length).fill(null)])) as Record<NarrativeKind, (string | null)[]>;
  const covered = new Uint8Array(examples.length);
  const unknownKinds = new Map<string, number>();
  const spoken = new Map<number, string[]>(); // titles or text, resolved once the file is read
  const forms: Record<AnswerForm, number> = { items: 0, titles: 0, text: 0 };
  const itemsNumeric = numericIds(ds.items.count, (i) => ds.items.asin.get(i));
  const usersNumeric = numericIds(ds.users.count, (i) => ds.users.reviewerId.get(i));
  let records = 0;
  let ids = 0;
  let badIds = 0;

  /** An id written as a JSON number: matched as its decimal string when the dataset's ids are numbers, else refused. */
  const numericId = (value: number, what: 'item' | 'user', where: string): string | null => {
    const numeric = what === 'item' ? itemsNumeric : usersNumeric;
    const example = what === 'item' ? ds.items.asin.get(0) : ds.users.reviewerId.get(0);
    if (!numeric)
      throw new DataError(
        `${where}: ${what} ${value} is a JSON number, but the ${what} ids of ${ds.meta.name} are strings such as ${JSON.stringify(example)}: ` +
          `write every ${what} id as a JSON string (${what === 'item' ? '"items": ["..."]' : '"user": "..."'}); a number cannot be matched to them`,
        'numeric-id',
      );
    if (!Number.isSafeInteger(value)) return null;
    issues.add('numeric-id', where, `${what} ${value} is a JSON number; matched as the id "${value}" (write ids as strings)`, 'Match it as a string id');
    return String(value);
  };

  const read = await readLines(
    file,
    (line, lineNo) => {
      const where = `${file}:${lineNo}`;
      records++;
      let rec: unknown;
      try {
        rec = parseJsonLine(line, where);
      } catch (e) {
        if (e instanceof LimitError) throw e;
        issues.add('malformed-line', where, `not JSON (${(e as Error).message.slice(0, 100)})`, 'Skip the line');
        return;
      }
      if (typeof rec !== 'object' || rec === null || Array.isArray(rec)) {
        issues.add('malformed-line', where, `not a JSON object (${preview(rec)})`, 'Skip the line');
        return;
      }
      const r = rec as { user?: unknown; items?: unknown; narratives?: unknown; titles?: unknown; text?: unknown };
      let user: string | null = null;
      if (typeof r.user === 'string') user = r.user;
      else if (typeof r.user === 'number') user = numericId(r.user, 'user', where);
      if (user === null) {
        issues.add('missing-field', where, `"user" is missing or not a string (${preview(r.user)})`, 'Skip the line');
        return;
      }
      const i = exampleOf.get(user);
      if (i === undefined) {
        issues.add(ds.userIndex(user) === undefined ? 'unknown-user' : 'bad-value', where, `user ${preview(user)} ${ds.userIndex(user) === undefined ? 'is not in the dataset' : `has no ${examples.split} example`}`, 'Skip the line');
        return;
      }
      if (covered[i]) {
        issues.add('duplicate-user', where, `user ${preview(user)} appeared on an earlier line`, 'Skip the line (the first counts)');
        return;
      }
      if (r.items !== undefined && !Array.isArray(r.items)) {
        issues.add('bad-value', where, `"items" is not an array of item ids (${preview(r.items)})`, 'Skip the line');
        return;
      }
      if (r.narratives !== undefined && (typeof r.narratives !== 'object' || r.narratives === null || Array.isArray(r.narratives))) {
        issues.add('bad-value', where, `"narratives" is not an object of texts (${preview(r.narratives)})`, 'Skip the line');
        return;
      }
      const named = r.items === undefined ? spokenAnswers(r) : null;
      if (named && 'error' in named) {
        issues.add('bad-value', where, named.error, 'Skip the line');
        return;
      }
      if (r.items !== undefined && (r.titles !== undefined || r.text !== undefined))
        issues.add('bad-value', where, 'gives "items" and "titles" or "text"', 'The items are used, the titles and text ignored');
      covered[i] = 1;
      forms[named ? named.form : 'items']++;
      if (named) spoken.set(i, named.entries);
      for (const item of (r.items as unknown[] | undefined) ?? []) {
        ids++;
        const key = typeof item === 'string' ? item : typeof item === 'number' ? numericId(item, 'item', where) : null;
        const id = key === null ? undefined : ds.itemId(key);
        if (id === undefined) {
          badIds++;
          issues.add('unknown-item', where, `item ${preview(item)} is not in the dataset`, 'Keep it in place as a wrong item');
        }
        lists[i].push(id ?? -1);
      }
      for (const [key, text] of Object.entries((r.narratives as Record<string, unknown> | undefined) ?? {})) {
        const kind = own(NARRATIVE_KEYS, key);
        if (!kind) {
          unknownKinds.set(key, (unknownKinds.get(key) ?? 0) + 1);
          issues.add('unknown-key', where, `narratives key ${preview(key)} is not a REGEN narrative kind`, 'Ignore it');
        }
        else if (typeof text !== 'string') issues.add('bad-value', where, `narratives.${key} is not a string (${preview(text)})`, 'Ignore the narrative');
        else narratives[kind][i] = text;
      }
    },
    // Hashed as read: a pipe (--predictions <(...)) cannot be read a second time.
    { issues, progress: options.progress, phase: `reading ${file}`, hash: true },
  );

  const report = issues.report();
  for (const [key, n] of unknownKinds)
    report.notes.push(`narrative key ${preview(key)} on ${n} lines is not a REGEN narrative kind (expected one of ${Object.keys(NARRATIVE_KEYS).join(', ')}); ignored`);
  // Items as given are ids (unknown ones unresolved); titles and text go through the resolver.
  const how: number[][] = lists.map((l) => l.map((id) => (id >= 0 ? HOW.id : HOW.unresolved)));
  const ambiguousWithTarget = new Int32Array(examples.length);
  if (spoken.size) {
    const resolver = new TitleResolver(ds, { mode: options.resolve ?? 'fuzzy' });
    const flat: string[] = [];
    for (const entries of spoken.values()) for (const e of entries) flat.push(e);
    const phase = `resolving ${flat.length.toLocaleString('en-US')} answers of ${file} by title`;
    const resolved = await resolver.resolveMany(flat, (done, total) => options.progress?.({ phase, done, total, unit: 'rows' }));
    let at = 0;
    for (const [i, entries] of spoken)
      for (let e = 0; e < entries.length; e++) {
        const r = resolved[at++];
        lists[i].push(r.id);
        how[i].push(r.how);
        if (r.how === HOW.ambiguous && r.candidates!.includes(examples.targets[i])) ambiguousWithTarget[i]++;
      }
  }
  const offsets = new Int32Array(examples.length + 1);
  lists.forEach((l, i) => (offsets[i + 1] = offsets[i] + l.length));
  const howCodes = new Uint8Array(offsets[examples.length]);
  how.forEach((h, i) => howCodes.set(h, offsets[i]));
  const idArray = new Int32Array(offsets[examples.length]);
  lists.forEach((l, i) => idArray.set(l, offsets[i]));
  const badRecords = report.issues.filter((s) => BAD_LINE_KINDS.has(s.kind)).reduce((a, s) => a + s.count, 0);
  const input: InputFile = {
    role: 'predictions',
    file,
    sha256: read.sha256!,
    records,
    badRecords,
    recordUnit: 'lines',
    ids,
    badIds,
    issues: report.issues,
  };
  return { file, lists: { offsets, ids: idArray }, narratives, covered, how: howCodes, ambiguousWithTarget, forms, report, input };
}

export class PredictionsRecommender implements Recommender {
  readonly usesCritique = true;
  readonly answers = 'given';
  private loaded: PredictionsFile | null = null;
  private readonly fileName: string;

  constructor(
    readonly file: string,
    private readonly options: Omit<ReadPredictionsOptions, 'progress'> = {},
  ) {
    this.fileName = `predictions:${file.split(/[\\/]/).pop()}`;
  }

  /** predictions:<file>, and how titles were resolved when the file answers by title (the numbers depend on it). */
  get name(): string {
    const f = this.loaded?.forms;
    if (!f || f.titles + f.text === 0) return this.fileName;
    const mode = this.options.resolve ?? 'fuzzy';
    return `${this.fileName}+resolve:${mode}${mode === 'fuzzy' ? `(dice>=${FUZZY_THRESHOLD},margin=${FUZZY_MARGIN})` : ''}`;
  }

  /** Reads the file against the full example set (slices then index into it by their base). */
  async prepare(examples: ExampleSet, progress?: ProgressFn): Promise<void> {
    this.loaded = await readPredictions(this.file, examples, { ...this.options, progress });
  }

  /** The file, by content hash, with its problems (after prepare). */
  inputs(): InputFile[] {
    return [this.predictions.input];
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
    const a = examples.base;
    const answers = countAnswers(examples, lists, k, options.excludeHistory, this.predictions.how.subarray(this.predictions.lists.offsets[a], this.predictions.lists.offsets[a + examples.length]), this.predictions.ambiguousWithTarget.subarray(a, a + examples.length));
    if (duplicates) notes['repeated item ids in lists (first place counts)'] = duplicates;
    if (excludedFromLists) notes['listed items removed as history'] = excludedFromLists;
    return { ranks, top, k, notes, answers };
  }

  /** The file's narratives for the slice; null where it has none. */
  narratives(examples: ExampleSet, kind: NarrativeKind): (string | null)[] {
    return this.predictions.narratives[kind].slice(examples.base, examples.base + examples.length);
  }
}
