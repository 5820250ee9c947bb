// Prompts for LLM recommenders and narrators: the paper's two templates (§4.2) for tasks 1, 2 and 3.
//
//   hybrid (FLARE + LLM): item ids (asins) written in the text.
//   LUMEN: the same text with the placeholder ID_TOKEN for every item id; each line lists the ids the
//          placeholders stand for (`id_tokens`, in order) so that a trainer can put item embeddings there.
//
// One prompt line per (user, target purchase). What the input holds:
//   - the purchases before the target (oldest first), each as
//       START ID: <id> Title: .. Category: .. Description: .. Price: .. Rating: .. User Review: .. User Critique: .. END
//     where Rating and User Review are the user's own reaction to that earlier purchase, and User Critique
//     (tasks 2 and 3 only) is the critique that steered to it from the purchase before;
//   - tasks 2 and 3: the critique steering to the target, as the user's request for the next purchase
//     (the paper's C; it is the one thing of the target the input holds, by design);
//   - an instruction naming what to predict.
// Nothing else of the target purchase is in the input: not its id, title, category, description,
// price, rating or review, nor any narrative. (An earlier purchase of the same item, a repeat, is
// history and is shown like any other.) In the hybrid task 3 the item the narrative is about comes
// from the recommender, not from the data: the input names it through the slot RECOMMENDED_ITEM,
// which the caller fills with the recommender's choice (`line(i, { recommended })`, or a plain
// string replace on a written line); the ground-truth item is never written there. In LUMEN's task 3
// the one model picks the item itself, so that sentence becomes "Predict the next item purchase and
// the <narrative type> ...", and the target is "ID: ID_TOKEN Text: <narrative>".
//
// Splits (over the leave-one-out split of src/data/splits.ts):
//   train  for each user with N purchases, every purchase of the train part (the first N-2) except the
//          first is a target, with the purchases before it as history: N-3 lines per user. Valid and
//          test targets appear neither as train targets nor in train histories.
//   valid  target N-1, history the first N-2 (users with >= 3 purchases), as buildExamples(.., 'valid').
//   test   target N, history the first N-1 (users with >= 2 purchases), as buildExamples(.., 'test').
// Task 3 (narratives) exists on the test split only: REGEN's narratives describe each user's LAST
// purchase (the item-level kinds) or the user as of that purchase (the user-level kinds), so a valid
// or train target has no reference narrative, and borrowing the last purchase's would describe the
// wrong item or the future. Asking for task 3 on train or valid is an error that says so; item-only
// lines (tasks 1 and 2) exist on every split. Test users without the asked narrative are skipped and
// counted.
//
// Budgets. A token is a whitespace-separated word. Every text field is whitespace-collapsed; a field
// longer than its budget keeps its first words and ends with the word "[...]". When the whole input
// is longer than the total budget, the oldest history purchases are dropped (whole, oldest first, and
// the input says how many) until it fits or one purchase is left. Every cut field and dropped purchase
// is counted in the report, and every line says whether and how it was cut. Targets are never cut.
import { existsSync, mkdirSync, statSync } from 'node:fs';
import path from 'node:path';

import { categoryPath } from '../data/categories.js';
import { ITEM_NARRATIVES, NARRATIVE_KINDS, NARRATIVE_NAMES, type Dataset, type NarrativeKind } from '../data/dataset.js';
import { throttle, type ProgressFn } from '../util/progress.js';
import { describe } from '../engine/validate.js';
import { AtomicFileWriter } from '../util/files.js';
import { OptionError } from '../util/option-error.js';
import type { TaskId } from './examples.js';

export const PROMPT_TEMPLATES = ['hybrid', 'lumen'] as const;
export type PromptTemplate = (typeof PROMPT_TEMPLATES)[number];

export const PROMPT_SPLITS = ['train', 'valid', 'test'] as const;
export type PromptSplit = (typeof PROMPT_SPLITS)[number];

/** LUMEN's placeholder for an item id (one token of the item vocabulary). */
export const ID_TOKEN = 'ID_TOKEN';
/** Hybrid task 3: where the recommender's item goes ("The last item purchase is: RECOMMENDED_ITEM."). */
export const ITEM_SLOT = 'RECOMMENDED_ITEM';
/** The last word of a field cut to its budget. */
export const TRUNCATION_MARK = '[...]';

/** The fields with a word budget. */
export const PROMPT_FIELDS = ['title', 'category', 'description', 'review', 'critique'] as const;
export type PromptField = (typeof PROMPT_FIELDS)[number];

export interface PromptBudget {
  /** Words in the whole input; the oldest history purchases are dropped to fit. */
  total: number;
  /** Words per field value (review = summary + text; critique = each critique, the request included). */
  fields: Record<PromptField, number>;
}

/**
 * Defaults: room for a long Amazon review or description without letting one field dominate; 2,048
 * words (about 2,700 Gemma tokens) hold a typical Office or Clothing history (8-9 purchases) whole.
 */
export const DEFAULT_PROMPT_BUDGET: PromptBudget = {
  total: 2048,
  fields: { title: 32, category: 32, description: 64, review: 96, critique: 48 },
};

export { NARRATIVE_NAMES };

/** The <narrative type> of the instruction. */
const NARRATIVE_PHRASES: Record<NarrativeKind, string> = {
  purchaseReason: 'purchase reason',
  purchaseReasonExplanation: 'purchase reason explanation',
  productEndorsement: 'product endorsement',
  userSummaryBrief: 'brief user summary',
  userSummaryLong: 'detailed user summary',
  userProfile: 'user profile',
};

export interface PromptOptions {
  task: TaskId;
  /** Default hybrid. */
  template?: PromptTemplate;
  /** Default test. */
  split?: PromptSplit;
  /** Task 3 only (and only on the test split): the narrative to predict; camelCase or snake_case. */
  narrative?: NarrativeKind | string;
  /** Overrides of DEFAULT_PROMPT_BUDGET. */
  budget?: { total?: number; fields?: Partial<Record<PromptField, number>> };
  /** Tasks 2 and 3: false withholds every critique (eval's "Hist -> ID + Narrative" row); default true. */
  critiques?: boolean;
}

/** One line of a prompts file (snake_case keys, as written). */
export interface PromptLine {
  input: string;
  target: string;
  task: TaskId;
  template: PromptTemplate;
  split: PromptSplit;
  /** snake_case narrative kind (task 3), else null. */
  narrative: string | null;
  /** The user's reviewer id. */
  user: string;
  /** The target item's id (asin). */
  target_item: string;
  /** LUMEN: the item ids the ID_TOKEN placeholders of the input stand for, in order. */
  id_tokens?: string[];
  /** Hybrid task 3: the placeholder in the input to replace with the recommender's item id. */
  item_slot?: string;
  /** Tasks 2 and 3: whether the input holds a critique steering to the target. */
  has_critique?: boolean;
  /** History purchases shown. */
  history: number;
  /** Words in the input. */
  words: number;
  /** Whether any field was cut or any history purchase dropped. */
  truncated: boolean;
  /** Cut field values, per field. */
  truncated_fields: Partial<Record<PromptField, number>>;
  /** Oldest history purchases left out to fit the total budget. */
  dropped_history: number;
}

/** Prompt rows: row r predicts event events[r] of user users[r]; its history is the user's events before it. */
export interface PromptRows {
  users: Int32Array;
  events: Int32Array;
}

export interface PromptReport {
  lines: number;
  /** Test users skipped because the dataset has no reference for the narrative asked for. */
  skippedNoNarrative: number;
  /** Tasks 2 and 3: lines whose input holds the critique steering to the target. */
  withCritique: number;
  /** Lines with any cut field or dropped purchase. */
  truncatedLines: number;
  /** Cut field values, per field, over the lines written. */
  truncatedFields: Record<PromptField, number>;
  /** History purchases dropped for the total budget, and the lines that lost any. */
  droppedPurchases: number;
  linesWithDroppedHistory: number;
  /** Lines still over the total budget with a single history purchase left. */
  overBudget: number;
  budget: PromptBudget;
}

// ---------------------------------------------------------------------------------------------
// Words

/** Whether a UTF-16 code unit is whitespace to `\s` (and so to split(/\s+/)). */
const isSpace = (c: number) =>
  c === 32 || (c >= 9 && c <= 13) || c === 160 || c === 0x2028 || c === 0x2029 || c === 0xfeff || (c >= 0x2000 && c <= 0x200a) || c === 0x3000 || c === 0x1680 || c === 0x202f || c === 0x205f;

/** Whitespace-separated words in a text. */
export function countWords(text: string): number {
  let n = 0;
  let inWord = false;
  for (let i = 0; i < text.length; i++) {
    if (isSpace(text.charCodeAt(i))) inWord = false;
    else if (!inWord) {
      inWord = true;
      n++;
    }
  }
  return n;
}

/** A field value fitted to its budget, with its word count (what truncateWords gives, plus `words`). */
interface Clipped {
  text: string;
  truncated: boolean;
  words: number;
}

/** Whitespace that a collapsed text does not have: any but the space, two spaces, a space at either end. */
const UNCOLLAPSED = /[\t-\r\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000\ufeff]| {2}|^ | $/;

/**
 * truncateWords with the word count of the result. Most values are already collapsed (single spaces,
 * no whitespace at the ends) and within budget: one regular-expression test and a count of the spaces
 * find that and return the text itself, without the split/filter/join that dominated prompt writing.
 */
function clip(text: string, max: number): Clipped {
  if (text.length === 0) return { text, truncated: false, words: 0 };
  if (!UNCOLLAPSED.test(text)) {
    let words = 1; // collapsed and not empty: one word more than spaces
    for (let p = text.indexOf(' '); p >= 0 && words <= max; p = text.indexOf(' ', p + 1)) words++;
    if (words <= max) return { text, truncated: false, words };
  }
  const split = text.split(/\s+/).filter(Boolean);
  if (split.length <= max) return { text: split.join(' '), truncated: false, words: split.length };
  return { text: `${split.slice(0, max).join(' ')} ${TRUNCATION_MARK}`, truncated: true, words: max + 1 };
}

/** A text with its whitespace collapsed and, past `max` words, cut there and marked with "[...]". */
export function truncateWords(text: string, max: number): { text: string; truncated: boolean } {
  const { text: t, truncated } = clip(text, max);
  return { text: t, truncated };
}

// ---------------------------------------------------------------------------------------------
// Names and options

function editDistance(a: string, b: string): number {
  const prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let diag = prev[0];
    prev[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const up = prev[j];
      prev[j] = Math.min(prev[j] + 1, prev[j - 1] + 1, diag + (a[i - 1] === b[j - 1] ? 0 : 1));
      diag = up;
    }
  }
  return prev[b.length];
}

/** A narrative kind from its snake_case (CLI) or camelCase name; the error (naming `option`) lists the valid names. */
export function parseNarrativeKind(name: unknown, option = 'narrative'): NarrativeKind {
  if (typeof name === 'string') {
    if ((NARRATIVE_KINDS as readonly string[]).includes(name)) return name as NarrativeKind;
    const kind = NARRATIVE_KINDS.find((k) => NARRATIVE_NAMES[k] === name.trim().toLowerCase().replace(/[\s-]+/g, '_'));
    if (kind) return kind;
  }
  const names = NARRATIVE_KINDS.map((k) => NARRATIVE_NAMES[k]);
  let hint = '';
  if (typeof name === 'string') {
    const [best] = names.map((n) => ({ n, d: editDistance(name.toLowerCase(), n) })).sort((a, b) => a.d - b.d);
    if (best.d <= Math.max(2, Math.floor(best.n.length / 3))) hint = ` (did you mean ${best.n}?)`;
  }
  throw new OptionError(option, (label) => `Expected ${label(option)} to be one of ${names.join(', ')} but received ${describe(name)}${hint}`);
}

export interface ResolvedPromptOptions {
  task: TaskId;
  template: PromptTemplate;
  split: PromptSplit;
  narrative: NarrativeKind | null;
  budget: PromptBudget;
  /** Whether critiques are shown (tasks 2 and 3 unless withheld). */
  critiques: boolean;
}

/** Checks and completes prompt options; errors are OptionErrors naming the option. */
export function resolvePromptOptions(o: PromptOptions): ResolvedPromptOptions {
  const { task } = o;
  if (task !== 1 && task !== 2 && task !== 3) throw new OptionError('task', (label) => `Expected ${label('task')} to be 1, 2 or 3 but received ${describe(task)}`);
  const template = o.template ?? 'hybrid';
  if (!PROMPT_TEMPLATES.includes(template))
    throw new OptionError('template', (label) =>
        `Expected ${label('template')} to be ${PROMPT_TEMPLATES.join(' or ')} but received ${describe(template)}`,
      );
  const split = o.split ?? 'test';
  if (!PROMPT_SPLITS.includes(split))
    throw new OptionError('split', (label) => `Expected ${label('split')} to be one of ${PROMPT_SPLITS.join(', ')} but received ${describe(split)}`);
  const names = NARRATIVE_KINDS.map((k) => NARRATIVE_NAMES[k]).join(', ');
  let narrative: NarrativeKind | null = null;
  if (task === 3) {
    if (o.narrative === undefined || o.narrative === null)
      throw new OptionError('narrative', (label) =>
        `Task 3 predicts the item and a narrative: give ${label('narrative')} (one of ${names})`,
      );
    narrative = parseNarrativeKind(o.narrative);
    if (split !== 'test')
      throw new OptionError('split', (label) =>
        `Task 3 (narratives) needs ${label('split')} test but received ${describe(split)}: REGEN's narratives describe each user's ` +
          `last purchase (the test target), so ${split} targets have none. For item-only ${split} lines use ${label('task')} 1 or 2; to train a narrator, write the test-split lines and hold out users of your own choosing (one line per user)`,
      );
  } else if (o.narrative !== undefined && o.narrative !== null) {
    throw new OptionError('narrative', (label) =>
        `${label('narrative')} applies to task 3 only (tasks 1 and 2 predict the item alone): drop it, or use ${label('task')} 3`,
      );
  }
  const budget: PromptBudget = { total: o.budget?.total ?? DEFAULT_PROMPT_BUDGET.total, fields: { ...DEFAULT_PROMPT_BUDGET.fields } };
  if (!Number.isInteger(budget.total) || budget.total < 1)
    throw new OptionError('budget.total', (label) =>
        `Expected ${label('budget.total')} to be an integer >= 1 (words) but received ${describe(budget.total)}`,
      );
  for (const [field, words] of Object.entries(o.budget?.fields ?? {})) {
    if (!(PROMPT_FIELDS as readonly string[]).includes(field))
      throw new OptionError('budget.fields', (label) =>
        `Expected ${label('budget.fields')} to name fields among ${PROMPT_FIELDS.join(', ')} but received ${describe(field)}`,
      );
    if (!Number.isInteger(words) || (words as number) < 1)
      throw new OptionError('budget.fields', (label) =>
        `Expected ${label('budget.fields')} ${field} to be an integer >= 1 (words) but received ${describe(words)}`,
      );
    budget.fields[field as PromptField] = words as number;
  }
  return { task, template, split, narrative, budget, critiques: task !== 1 && o.critiques !== false };
}

// ---------------------------------------------------------------------------------------------
// Rows

/** The (user, target event) rows of a split, in user order; see the header for the definitions. */
export function promptRows(dataset: Dataset, split: PromptSplit): PromptRows {
  if (split !== 'train') {
    const s = dataset.split[split];
    return { users: s.users, events: s.events };
  }
  const offsets = dataset.users.offsets;
  let rows = 0;
  for (let u = 0; u < dataset.users.count; u++) rows += Math.max(0, offsets[u + 1] - offsets[u] - 3);
  const out: PromptRows = { users: new Int32Array(rows), events: new Int32Array(rows) };
  let r = 0;
  for (let u = 0; u < dataset.users.count; u++) {
    const trainEnd = offsets[u + 1] - 2; // the train part is offsets[u] .. trainEnd - 1
    for (let e = offsets[u] + 1; e < trainEnd; e++) {
      out.users[r] = u;
      out.events[r++] = e;
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Rendering

/** One history purchase: "START ID: .. END", its word count and the fields cut. */
interface Block {
  text: string;
  words: number;
  /** Shared with the item's ItemHead when only item fields were cut: read only. */
  cut: readonly PromptField[];
  asin: string;
  head: ItemHead;
  /** The text after the head (the purchase's own fields and END). */
  rest: string;
  /** The text JSON-escaped (lineJson), made on first use. */
  json?: string;
}

/**
 * The item's part of every history block of that item: "START ID: <id> Title: .. Category: ..
 * Description: .. Price: ..". It depends on the item and the options only, so a PromptSet renders it
 * once per item (Office: 28k items under 703k purchases) rather than once per purchase.
 */
interface ItemHead {
  text: string;
  words: number;
  cut: readonly PromptField[];
  asin: string;
  /** The text JSON-escaped (lineJson), made on first use. */
  json?: string;
}

/** A string as in JSON text, without the quotes. Escaped pieces joined by spaces (or with other text
 * free of backslashes, quotes and control characters) are the escaped whole: JSON.stringify escapes
 * code unit by code unit, except surrogate pairs, and a space never splits one. */
const escapeJson = (text: string) => JSON.stringify(text).slice(1, -1);

const blockJson = (b: Block) => (b.json ??= (b.head.json ??= escapeJson(b.head.text)) + escapeJson(b.rest));

/** Placeholders must stay unambiguous: free text that spells one gets a hyphen instead. */
const sanitize = (text: string) => (text.indexOf('_') < 0 ? text : text.replace(/ID_TOKEN|RECOMMENDED_ITEM/g, (m) => m.replace('_', '-')));

const PURCHASE_PREFIX = { first: 'First item purchase is', next: 'Next item purchase is' };
const PREFIX_WORDS = 4;

function droppedNote(k: number): string {
  return k === 0 ? '' : k === 1 ? 'The oldest purchase is left out.' : `The ${k} oldest purchases are left out.`;
}

const NO_CUT: readonly PromptField[] = Object.freeze([]);

/** The prompts of a task over a split; `line(i)` renders one. */
export class PromptSet {
  readonly options: ResolvedPromptOptions;
  readonly rows: PromptRows;
  readonly length: number;
  private blockUser = -1;
  private readonly blocks = new Map<number, Block>();
  /** Item heads by item id, rendered on first use. */
  private readonly heads: (ItemHead | undefined)[];

  constructor(
    readonly dataset: Dataset,
    options: PromptOptions,
  ) {
    this.options = resolvePromptOptions(options);
    this.rows = promptRows(dataset, this.options.split);
    this.length = this.rows.users.length;
    this.heads = new Array<ItemHead | undefined>(dataset.items.count);
  }

  private get usesCritique(): boolean {
    return this.options.critiques;
  }

  /** A field value fitted to its budget (null when empty); a cut one adds `key` to `cut`. */
  private fit(value: string | null, key: PromptField, cut: PromptField[]): Clipped | null {
    if (value === null) return null;
    const t = clip(sanitize(value), this.options.budget.fields[key]);
    if (!t.text) return null;
    if (t.truncated) cut.push(key);
    return t;
  }

  private field(value: string | null, key: PromptField, cut: PromptField[]): string | null {
    return this.fit(value, key, cut)?.text ?? null;
  }

  /** The item's head (see ItemHead), cached. */
  private head(item: number): ItemHead {
    const cached = this.heads[item];
    if (cached) return cached;
    const ds = this.dataset;
    const asin = ds.items.asin.get(item) ?? String(item);
    const cut: PromptField[] = [];
    const parts = ['START ID:', this.options.template === 'lumen' ? ID_TOKEN : sanitize(asin)];
    const add = (label: string, value: string | null) => {
      if (value !== null) parts.push(label, value);
    };
    add('Title:', this.field(ds.items.title.get(item), 'title', cut));
    const levels = categoryPath(ds.categories, ds.items.category[item]).filter(Boolean);
    add('Category:', levels.length ? this.field(levels.join(' > '), 'category', cut) : null);
    add('Description:', this.field(ds.items.description.get(item), 'description', cut));
    const price = ds.items.price[item];
    add('Price:', Number.isFinite(price) ? `$${price.toFixed(2)}` : null);
    const text = parts.join(' ');
    const h: ItemHead = { text, words: countWords(text), cut: cut.length ? cut : NO_CUT, asin };
    this.heads[item] = h;
    return h;
  }

  /** Purchase e as a history block (cached per user: a user's train rows share their histories). */
  private block(user: number, e: number): Block {
    if (user !== this.blockUser) {
      this.blocks.clear();
      this.blockUser = user;
    }
    const cached = this.blocks.get(e);
    if (cached) return cached;
    const ds = this.dataset;
    const head = this.head(ds.events.item[e]);
    // The purchase's own fields after the item's: the same words and order as one join of all parts.
    let text = '';
    let words = head.words + 1; // + END
    const cut: PromptField[] = [];
    const rating = ds.events.rating[e];
    if (rating > 0) {
      text += ` Rating: ${rating}`;
      words += 2;
    }
    const review = this.fit(reviewText(ds.events.reviewSummary.get(e), ds.events.reviewText.get(e)), 'review', cut);
    if (review) {
      text += ` User Review: ${review.text}`;
      words += 2 + review.words;
    }
    if (this.usesCritique) {
      const critique = this.fit(ds.events.critique.get(e), 'critique', cut);
      if (critique) {
        text += ` User Critique: ${critique.text}`;
        words += 2 + critique.words;
      }
    }
    text += ' END';
    const b: Block = { text: head.text + text, words, cut: cut.length ? [...head.cut, ...cut] : head.cut, asin: head.asin, head, rest: text };
    this.blocks.set(e, b);
    return b;
  }

  /** The closing sentences: the user's request (tasks 2, 3) and the instruction. */
  private closing(critique: string | null, recommended: string | null): string {
    const { task, template, narrative } = this.options;
    const out: string[] = [];
    if (critique !== null) out.push(sentence(`User Critique for the next item purchase: ${critique}`));
    if (task !== 3) out.push('Predict the next item purchase.');
    else {
      const kind = NARRATIVE_PHRASES[narrative!];
      const about = ITEM_NARRATIVES.includes(narrative!);
      if (template === 'hybrid') {
        out.push(`The last item purchase is: ${recommended ?? ITEM_SLOT}.`);
        out.push(about ? `Predict the ${kind} for the last purchased item.` : `Predict the ${kind} for this user.`);
      } else out.push(about ? `Predict the next item purchase and the ${kind} for it.` : `Predict the next item purchase and the ${kind} for this user.`);
    }
    return out.join(' ');
  }

  /**
   * Line i; null when the dataset has no reference for the narrative asked for (unless `inputOnly`:
   * then the line is rendered with an empty reference, for models that generate from the input).
   * `recommended` (hybrid task 3): the recommender's item (dense id or asin) to put in the item slot.
   */
  line(i: number, opts: { recommended?: number | string; inputOnly?: boolean } = {}): PromptLine | null {
    return this.render(i, opts, false)?.line ?? null;
  }

  /**
   * Line i (as line(i)) and its JSON text, exactly JSON.stringify(line), for writing many lines: the
   * escaped text of each item and history block is made once and reused (a train row shares its
   * history with the user's later rows) rather than escaped again in every line. The line's `input`
   * is then '' (the JSON holds it).
   */
  lineJson(i: number): { line: PromptLine; json: string } | null {
    return this.render(i, {}, true) as { line: PromptLine; json: string } | null;
  }

  private render(i: number, opts: { recommended?: number | string; inputOnly?: boolean }, asJson: boolean): { line: PromptLine; json: string | null } | null {
    if (!Number.isInteger(i) || i < 0 || i >= this.length) throw new RangeError(`Expected a prompt row in [0, ${this.length}) but received ${describe(i)}`);
    const ds = this.dataset;
    const { task, template, split, narrative, budget } = this.options;
    const u = this.rows.users[i];
    const target = this.rows.events[i];
    const targetItem = ds.events.item[target];
    const targetAsin = ds.items.asin.get(targetItem) ?? String(targetItem);

    let reference: string | null = null;
    if (narrative) {
      reference = ds.users.narratives[narrative].get(u);
      if (reference === null || reference.trim() === '') {
        if (!opts.inputOnly) return null;
        reference = '';
      }
    }
    let recommended: string | null = null;
    if (opts.recommended !== undefined) {
      if (task !== 3 || template !== 'hybrid') throw new RangeError('Expected no recommended item: only the hybrid template of task 3 has an item slot');
      const r = opts.recommended;
      if (typeof r === 'number') {
        if (!Number.isInteger(r) || r < 0 || r >= ds.items.count) throw new RangeError(`Expected the recommended item to be an item id in [0, ${ds.items.count}) but received ${describe(r)}`);
        recommended = sanitize(ds.items.asin.get(r) ?? String(r));
      } else recommended = sanitize(String(r).trim().split(/\s+/).join('_'));
    }

    // History: the user's purchases before the target.
    const blocks: Block[] = [];
    for (let e = ds.users.offsets[u]; e < target; e++) blocks.push(this.block(u, e));
    const closingCut: PromptField[] = [];
    const critique = this.usesCritique ? this.field(ds.events.critique.get(target), 'critique', closingCut) : null;
    const opening = "This is the summary of a user's purchase history.";
    const closing = this.closing(critique, recommended);
    const fixed = countWords(opening) + countWords(closing);

    // Drop the oldest purchases while over the total budget (keeping at least one).
    let rest = 0;
    for (const b of blocks) rest += b.words + PREFIX_WORDS;
    let k = 0;
    while (k < blocks.length - 1 && fixed + countWords(droppedNote(k)) + rest > budget.total) {
      rest -= blocks[k].words + PREFIX_WORDS;
      k++;
    }
    const words = fixed + countWords(droppedNote(k)) + rest;

    const parts = [opening];
    if (k > 0) parts.push(droppedNote(k));
    for (let j = k; j < blocks.length; j++) parts.push(`${j === 0 ? PURCHASE_PREFIX.first : PURCHASE_PREFIX.next} ${asJson ? blockJson(blocks[j]) : blocks[j].text}.`);
    parts.push(asJson ? escapeJson(closing) : closing);
    // As JSON: the opening, the note and the prefixes need no escaping (checked by the tests on every row).
    const input = parts.join(' ');

    const truncatedFields: Partial<Record<PromptField, number>> = {};
    const tally = (f: PromptField) => (truncatedFields[f] = (truncatedFields[f] ?? 0) + 1);
    for (let j = k; j < blocks.length; j++) blocks[j].cut.forEach(tally);
    closingCut.forEach(tally);

    let targetText: string;
    if (template === 'hybrid') targetText = task === 3 ? reference! : targetAsin;
    else targetText = task === 3 ? `ID: ${ID_TOKEN} Text: ${reference}` : `ID: ${ID_TOKEN}`;

    const line: PromptLine = {
      input: asJson ? '' : input,
      target: targetText,
      task,
      template,
      split,
      narrative: narrative ? NARRATIVE_NAMES[narrative] : null,
      user: ds.users.reviewerId.get(u) ?? String(u),
      target_item: targetAsin,
      ...(template === 'lumen' ? { id_tokens: blocks.slice(k).map((b) => b.asin) } : {}),
      ...(task === 3 && template === 'hybrid' && recommended === null ? { item_slot: ITEM_SLOT } : {}),
      ...(this.usesCritique ? { has_critique: critique !== null } : {}),
      history: blocks.length - k,
      words,
      truncated: k > 0 || Object.keys(truncatedFields).length > 0,
      truncated_fields: truncatedFields,
      dropped_history: k,
    };
    // `input` is the first key: JSON.stringify(line) with input '' starts '{"input":"",'.
    return { line, json: asJson ? `{"input":"${input}${JSON.stringify(line).slice(10)}` : null };
  }
}

/** Ends a sentence with a period unless it ends with its own punctuation. */
const sentence = (text: string) => (/[.!?…]["'”’)\]]*$/.test(text) || text.endsWith(TRUNCATION_MARK) ? text : `${text}.`);

/** A review as one field: the summary (a headline), then the text. */
function reviewText(summary: string | null, text: string | null): string | null {
  const s = summary?.trim() ?? '';
  const t = text?.trim() ?? '';
  if (!s) return t || null;
  if (!t) return s;
  return /[.!?…]$/.test(s) ? `${s} ${t}` : `${s}. ${t}`;
}

/** The prompts of a task over a split of a dataset. */
export function buildPrompts(dataset: Dataset, options: PromptOptions): PromptSet {
  return new PromptSet(dataset, options);
}

export function emptyPromptReport(budget: PromptBudget): PromptReport {
  return {
    lines: 0,
    skippedNoNarrative: 0,
    withCritique: 0,
    truncatedLines: 0,
    truncatedFields: Object.fromEntries(PROMPT_FIELDS.map((f) => [f, 0])) as Record<PromptField, number>,
    droppedPurchases: 0,
    linesWithDroppedHistory: 0,
    overBudget: 0,
    budget,
  };
}

/** Adds a line (or a skipped row: null) to a report. */
export function tallyPromptLine(report: PromptReport, line: PromptLine | null): void {
  if (!line) {
    report.skippedNoNarrative++;
    return;
  }
  report.lines++;
  if (line.has_critique) report.withCritique++;
  if (line.truncated) report.truncatedLines++;
  for (const [f, n] of Object.entries(line.truncated_fields)) report.truncatedFields[f as PromptField] += n;
  report.droppedPurchases += line.dropped_history;
  if (line.dropped_history > 0) report.linesWithDroppedHistory++;
  if (line.words > report.budget.total) report.overBudget++;
}

// ---------------------------------------------------------------------------------------------
// Writing

export interface WritePromptsResult extends PromptReport {
  file: string;
  bytes: number;
  task: TaskId;
  template: PromptTemplate;
  split: PromptSplit;
  narrative: string | null;
  /** The dataset's identity (DatasetMeta.key). */
  dataset: string;
  /** What the write replaced or wrote through ("replaced prompts.jsonl (...)"), or null for a new file. */
  written: string | null;
}

/**
 * Lines encoded straight into one of two large buffers; a full one is written from the thread pool
 * (AtomicFileWriter.writeAsync) while the other fills, so that rendering and writing overlap and no
 * per-chunk string join or Buffer is made.
 */
class LineBuffers {
  /** Bytes written so far (complete after close()). */
  bytes = 0;
  private filling: Buffer;
  private other: Buffer;
  private used = 0;
  /** The write of `other`, if one is in flight; never rejects unhandled (see start()). */
  private pending: Promise<void> = Promise.resolve();

  constructor(
    private readonly writer: AtomicFileWriter,
    private readonly size = 1 << 22,
  ) {
    this.filling = Buffer.allocUnsafe(size);
    this.other = Buffer.allocUnsafe(size);
  }

  /** Adds a line if it surely fits (3 UTF-8 bytes per UTF-16 unit at most); false: call putAfterFlush. */
  put(s: string): boolean {
    if (this.used + 3 * s.length > this.size) return false;
    this.used += this.filling.write(s, this.used, 'utf8');
    return true;
  }

  /** Flushes, then adds the line (one longer than a buffer is written on its own). */
  async putAfterFlush(s: string): Promise<void> {
    await this.flush();
    if (this.put(s)) return;
    await this.pending;
    this.start(Buffer.from(s, 'utf8'));
  }

  /** Starts writing the filled buffer once the previous write is done, and fills the other meanwhile. */
  private async flush(): Promise<void> {
    if (this.used === 0) return;
    await this.pending; // the other buffer is free again
    this.start(this.filling.subarray(0, this.used));
    [this.filling, this.other] = [this.other, this.filling];
    this.used = 0;
  }

  private start(data: Uint8Array): void {
    this.pending = this.writer.writeAsync(data).then((n) => {
      this.bytes += n;
    });
    this.pending.catch(() => {}); // the error surfaces at the next await of `pending`, not as an unhandled rejection
  }

  /** Writes what is left and waits for every write. */
  async close(): Promise<void> {
    await this.flush();
    await this.pending;
  }

  /** Waits until no write is in flight (before abort), whatever its outcome. */
  async settled(): Promise<void> {
    await this.pending.catch(() => {});
  }
}

/**
 * Writes one JSON line per prompt to `file`: under a temporary name in the same folder, renamed when
 * complete (a failed or interrupted run leaves the old file, if any, as it was). Parent folders are made.
 */
export async function writePrompts(dataset: Dataset, file: string, options: PromptOptions & { progress?: ProgressFn }): Promise<WritePromptsResult> {
  const set = buildPrompts(dataset, options);
  if (existsSync(file) && statSync(file).isDirectory()) throw new Error(`${file} is a folder; give a file name such as prompts.jsonl`);
  mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
  const report = emptyPromptReport(set.options.budget);
  const progress = throttle(options.progress);
  const phase = `writing prompts (task ${set.options.task}, ${set.options.split}, ${set.options.template})`;
  const writer = new AtomicFileWriter(file);
  const out = new LineBuffers(writer);
  let written: string | null = null;
  try {
    // Train rows share the user's history blocks: escaping each block once for JSON (lineJson) saves
    // about a sixth of the CPU there; test and valid rows use each block once, where one JSON.stringify
    // of the line is cheaper (measured at Office scale, see the README's Prompts section).
    const escapeOnce = set.options.split === 'train';
    progress?.({ phase, done: 0, total: set.length, unit: 'rows' });
    for (let i = 0; i < set.length; i++) {
      let s: string | null = null;
      if (escapeOnce) {
        const rendered = set.lineJson(i);
        tallyPromptLine(report, rendered?.line ?? null);
        if (rendered) s = rendered.json + '\n';
      } else {
        const line = set.line(i);
        tallyPromptLine(report, line);
        if (line) s = JSON.stringify(line) + '\n';
      }
      if (s !== null && !out.put(s)) await out.putAfterFlush(s);
      if ((i & 4095) === 4095) {
        progress?.({ phase, done: i + 1, total: set.length, unit: 'rows' });
        await new Promise((r) => setImmediate(r)); // let the progress bar draw and signals arrive
      }
    }
    await out.close();
    progress?.({ phase, done: set.length, total: set.length, unit: 'rows' });
    const kind = set.options.narrative;
    if (kind && report.lines === 0 && report.skippedNoNarrative > 0)
      throw new Error(
        `the dataset (${dataset.meta.name}, ${dataset.meta.source.kind}) has no ${NARRATIVE_NAMES[kind]} narratives for its ${report.skippedNoNarrative} test users: nothing to write. ` +
          'Use a source with narratives (the REGEN release, synthetic data), or task 1 or 2',
      );
    const outcome = writer.commit();
    if (outcome.how !== 'created') written = outcome.note;
  } catch (e) {
    await out.settled();
    writer.abort();
    throw e;
  }
  return {
    ...report,
    written,
    file,
    bytes: out.bytes,
    task: set.options.task,
    template: set.options.template,
    split: set.options.split,
    narrative: set.options.narrative ? NARRATIVE_NAMES[set.options.narrative] : null,
    dataset: dataset.meta.key,
  };
}
