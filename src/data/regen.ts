// Reads the REGEN release: JSON Lines, one user per line (office.jsonl, clothing.jsonl; gzip or plain).
//
// Fixed (confirmed, REGEN.md): reviewer_id, purchase_history[] (time order), user {profile,
// long_summary}, last_purchase; per purchase item {asin, title, category " - "-joined, price} and
// review {summary, rating, text, unix_time}. Everything else comes from the schema map
// (regen-schema.ts). Keys that neither names are counted and reported, never dropped silently.
import type { DatasetBuilder, EventInput } from './builder.js';
import type { NarrativeKind } from './dataset.js';
import { displayName, readLines, type ReadLinesResult } from './lines.js';
import type { ProgressFn } from '../util/progress.js';
import type { RegenSchema } from './regen-schema.js';
import type { Issues } from './report.js';
import { preview } from '../util/json.js';

/** REGEN joins category levels with this (root first). */
export const REGEN_CATEGORY_SEPARATOR = ' - ';

/** A tree of known keys: true = the key and everything under it is consumed; a tree = descend. */
type Known = Map<string, Known | true>;

function knownTree(paths: string[]): Known {
  const root: Known = new Map();
  for (const p of paths) {
    const parts = p.split('.');
    let node = root;
    for (let i = 0; i < parts.length; i++) {
      if (i === parts.length - 1) {
        node.set(parts[i], true);
        break;
      }
      let next = node.get(parts[i]);
      if (next === true) break; // already consumed whole
      if (!next) node.set(parts[i], (next = new Map()));
      node = next;
    }
  }
  return root;
}

function getPath(obj: Record<string, unknown>, dotted: string): unknown {
  if (!dotted.includes('.')) return obj[dotted];
  let v: unknown = obj;
  for (const part of dotted.split('.')) {
    if (v === null || typeof v !== 'object') return undefined;
    v = (v as Record<string, unknown>)[part];
  }
  return v;
}

const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);

/** Nesting of rater scores flattened to dotted names (deeper objects are a bad value, not a stack overflow). */
const MAX_SCORE_DEPTH = 8;

/** Rater scores: a number, or an object of numbers (nested objects flatten to dotted names). */
function flattenScores(value: unknown, name: string, out: Record<string, number>, bad: (path: string) => void, depth = 0): void {
  if (value === null || value === undefined) return;
  if (typeof value === 'number') out[name] = value;
  else if (typeof value === 'string' && value.trim() !== '' && Number.isFinite(Number(value))) out[name] = Number(value);
  else if (isObject(value) && depth < MAX_SCORE_DEPTH) for (const [k, v] of Object.entries(value)) flattenScores(v, `${name}.${k}`, out, bad, depth + 1);
  else bad(name);
}

interface Purchase {
  event: EventInput;
  asin: string;
  time: number;
}

/** One user, parsed, not yet added (while the last_purchase layout is being decided). */
interface ParsedUser {
  rid: string;
  where: string;
  purchases: Purchase[];
  last: Purchase | null;
  narratives: Partial<Record<NarrativeKind, string | null>>;
  userScores: Record<string, number>;
}

/** Users with both a history and a last_purchase that decide whether last_purchase is in the history. */
const VOTE_USERS = 200;

const sameEvent = (a: Purchase, b: Purchase) => a.asin === b.asin && (a.time === b.time || (Number.isNaN(a.time) && Number.isNaN(b.time)));

/** Turns REGEN user records into the builder's users, items and events. */
export class RegenReader {
  private readonly purchaseKnown: Known;
  private readonly lastPurchaseKnown: Known;
  private readonly userKnown: Known;
  private readonly topKnown: Known;
  private readonly sentinels: Set<string>;
  private lastIncluded = 0;
  private pending: ParsedUser[] = [];
  private readonly pendingIds = new Set<string>();
  private decided: boolean | null = null;
  private readonly votes = { match: 0, total: 0 };
  private lastAppended = 0;
  private lastAbsent = 0;
  readonly counts = { lines: 0, users: 0, purchases: 0 };

  constructor(
    private readonly builder: DatasetBuilder,
    private readonly issues: Issues,
    private readonly schema: RegenSchema,
  ) {
    const purchase = [
      'item.asin',
      'item.title',
      'item.category',
      'item.price',
      `item.${schema.itemBrand}`,
      `item.${schema.itemDescription}`,
      'review.summary',
      'review.rating',
      'review.text',
      'review.unix_time',
      schema.critique,
      schema.critiqueScores,
    ];
    this.purchaseKnown = knownTree(purchase);
    this.lastPurchaseKnown = knownTree([
      ...purchase,
      schema.purchaseReason,
      schema.purchaseReasonExplanation,
      schema.productEndorsement,
      schema.narrativeScores,
    ]);
    this.userKnown = knownTree(['profile', 'long_summary', schema.userSummaryBrief, schema.narrativeScores]);
    this.topKnown = knownTree(['reviewer_id', 'purchase_history', 'user', 'last_purchase']);
    this.sentinels = new Set(['', ...schema.critiqueSentinels]);
  }

  /** Reports the keys of `obj` not in `known` (recursing into known objects). */
  private unknownKeys(obj: Record<string, unknown>, known: Known, pattern: string, concrete: string, where: string): void {
    for (const key in obj) {
      const k = known.get(key);
      if (k === true) continue;
      const v = obj[key];
      if (k && isObject(v)) {
        this.unknownKeys(v, k, `${pattern}.${key}`, `${concrete}.${key}`, where);
        continue;
      }
      if (k) continue; // a known object key holding a non-object: reported as a bad value where it is read
      this.issues.unknownKey(`${pattern}.${key}`, `${where} ${concrete}.${key}`);
    }
  }

  private text(value: unknown, path: string, where: string): string | null {
    if (value === undefined || value === null) return null;
    if (typeof value === 'string') return value;
    if (typeof value === 'number' || typeof value === 'boolean') return String(value);
    this.issues.add('bad-value', where, `${path} should be a string but is ${preview(value)}`, 'Leave the field empty');
    return null;
  }

  /** One purchase object; null when unusable (reported). */
  private purchase(p: unknown, path: string, where: string, known: Known, pattern: string): Purchase | null {
    if (!isObject(p)) {
      this.issues.add('bad-value', where, `${path} should be an object but is ${preview(p)}`, 'Skip the purchase');
      return null;
    }
    this.unknownKeys(p, known, pattern, path, where);
    const item = p.item;
    const review = p.review;
    const asinValue = isObject(item) ? item.asin : undefined;
    const asin = typeof asinValue === 'number' ? String(asinValue) : asinValue;
    if (typeof asin !== 'string' || asin === '') {
      this.issues.add('missing-field', where, `${path}.item.asin is missing`, 'Skip the purchase');
      return null;
    }
    const it = item as Record<string, unknown>;
    // The item: registered on first sight; later descriptions are compared by title.
    const title = this.text(it.title, `${path}.item.title`, where);
    let id = this.builder.findItem(asin);
    if (id === undefined) {
      const cat = this.text(it.category, `${path}.item.category`, where);
      let price: number | null = null;
      if (typeof it.price === 'number' && Number.isFinite(it.price)) price = it.price;
      else if (typeof it.price === 'string' && it.price.trim() !== '' && Number.isFinite(Number(it.price.replace(/^\$/, '')))) price = Number(it.price.replace(/^\$/, ''));
      else if (it.price !== undefined && it.price !== null)
        this.issues.add('bad-value', where, `${path}.item.price should be a number but is ${preview(it.price, 40)}`, 'Leave the price unknown');
      id = this.builder.addItem(asin, {
        title,
        category: cat ? cat.split(REGEN_CATEGORY_SEPARATOR).map((s) => s.trim()) : null,
        price,
        brand: this.text(getPath(it, this.schema.itemBrand), `${path}.item.${this.schema.itemBrand}`, where),
        description: this.text(getPath(it, this.schema.itemDescription), `${path}.item.${this.schema.itemDescription}`, where),
      });
    } else if (title !== null) {
      const before = this.builder.itemTitleOf(id);
      if (before === null) this.builder.setItemFields(id, { title });
      else if (before !== title)
        this.issues.add('inconsistent-record', where, `${path}.item: asin ${asin} has title ${JSON.stringify(title.slice(0, 50))}, earlier ${JSON.stringify(before.slice(0, 50))}`, 'Keep the first description');
    }

    let rating = 0;
    let time = NaN;
    let summary: string | null = null;
    let text: string | null = null;
    if (!isObject(review)) {
      this.issues.add('missing-field', where, `${path}.review is missing`, 'Keep the purchase without rating, time or review');
    } else {
      const r = review.rating;
      if (typeof r === 'number' && r >= 1 && r <= 5 && Number.isInteger(r)) rating = r;
      else if (typeof r === 'number' && r >= 1 && r <= 5) rating = Math.round(r);
      else if (r === undefined || r === null) this.issues.add('missing-field', where, `${path}.review.rating is missing`, 'Keep the purchase with rating 0 (unknown)');
      else this.issues.add('bad-value', where, `${path}.review.rating should be 1-5 but is ${preview(r)}`, 'Keep the purchase with rating 0 (unknown)');
      const t = review.unix_time;
      if (typeof t === 'number' && Number.isFinite(t)) time = t;
      else if (typeof t === 'string' && /^\d+$/.test(t)) time = Number(t);
      else if (t === undefined || t === null) this.issues.add('missing-field', where, `${path}.review.unix_time is missing`, 'Keep the purchase with an unknown time');
      else this.issues.add('bad-value', where, `${path}.review.unix_time should be a number but is ${preview(t)}`, 'Keep the purchase with an unknown time');
      summary = this.text(review.summary, `${path}.review.summary`, where);
      text = this.text(review.text, `${path}.review.text`, where);
    }

    let critique = this.text(getPath(p, this.schema.critique), `${path}.${this.schema.critique}`, where);
    if (critique !== null && this.sentinels.has(critique.trim())) critique = null;
    const scores: Record<string, number> = {};
    flattenScores(getPath(p, this.schema.critiqueScores), this.schema.critiqueScores, scores, (name) =>
      this.issues.add('bad-value', where, `${path}.${name} should be a number`, 'Leave the score empty'),
    );
    return {
      asin,
      time,
      event: { item: id, rating, time, reviewSummary: summary, reviewText: text, critique, scores: Object.keys(scores).length ? scores : undefined },
    };
  }

  /** One user record (a parsed JSON line). `where` is "file:line". */
  record(obj: unknown, where: string): void {
    const u = this.parse(obj, where);
    if (!u) return;
    const mode = this.schema.lastPurchaseInHistory;
    if (mode !== 'auto') this.commit(u, mode);
    else if (this.decided !== null) this.commit(u, this.decided);
    else {
      // The release has one convention; decide it from the first users (a repeat bought twice on one
      // day must not decide for everyone), keeping them until then.
      this.pending.push(u);
      this.pendingIds.add(u.rid);
      if (u.last && u.purchases.length) {
        this.votes.total++;
        if (sameEvent(u.purchases[u.purchases.length - 1], u.last)) this.votes.match++;
      }
      if (this.votes.total >= VOTE_USERS) this.flushPending();
    }
  }

  /** Call after the last record: commits users held while the last_purchase layout was undecided. */
  finish(): void {
    this.flushPending();
  }

  private flushPending(): void {
    if (this.pending.length === 0 && this.decided !== null) return;
    if (this.decided === null) this.decided = this.votes.total > 0 && this.votes.match * 2 > this.votes.total;
    for (const u of this.pending) this.commit(u, this.decided);
    this.pending = [];
    this.pendingIds.clear();
  }

  private parse(obj: unknown, where: string): ParsedUser | null {
    this.counts.lines++;
    if (!isObject(obj)) {
      this.issues.add('malformed-line', where, `expected a JSON object (one user) but found ${Array.isArray(obj) ? 'an array' : typeof obj}`, 'Skip the line');
      return null;
    }
    this.unknownKeys(obj, this.topKnown, '$', '$', where);
    const rid = typeof obj.reviewer_id === 'number' ? String(obj.reviewer_id) : obj.reviewer_id;
    if (typeof rid !== 'string' || rid === '') {
      this.issues.add('missing-field', where, '$.reviewer_id is missing', 'Skip the line');
      return null;
    }
    if (this.builder.hasUser(rid) || this.pendingIds.has(rid)) {
      this.issues.add('duplicate-user', where, `reviewer_id ${rid} appeared on an earlier line`, 'Keep the first record of the user, skip this line');
      return null;
    }
    const history = obj.purchase_history;
    if (history !== undefined && history !== null && !Array.isArray(history)) {
      this.issues.add('bad-value', where, '$.purchase_history should be a list', 'Skip the line');
      return null;
    }
    const purchases: Purchase[] = [];
    (history ?? []).forEach((p, i) => {
      const x = this.purchase(p, `$.purchase_history[${i}]`, where, this.purchaseKnown, '$.purchase_history[]');
      if (x) purchases.push(x);
    });

    // last_purchase: the purchase the item-level narratives describe.
    const lp = obj.last_purchase;
    const narratives: Partial<Record<NarrativeKind, string | null>> = {};
    const userScores: Record<string, number> = {};
    const badScore = (name: string) => this.issues.add('bad-value', where, `$.${name} should be a number`, 'Leave the score empty');
    let last: Purchase | null = null;
    if (isObject(lp)) {
      last = this.purchase(lp, '$.last_purchase', where, this.lastPurchaseKnown, '$.last_purchase');
      narratives.purchaseReason = this.text(getPath(lp, this.schema.purchaseReason), `$.last_purchase.${this.schema.purchaseReason}`, where);
      narratives.purchaseReasonExplanation = this.text(getPath(lp, this.schema.purchaseReasonExplanation), `$.last_purchase.${this.schema.purchaseReasonExplanation}`, where);
      narratives.productEndorsement = this.text(getPath(lp, this.schema.productEndorsement), `$.last_purchase.${this.schema.productEndorsement}`, where);
      flattenScores(getPath(lp, this.schema.narrativeScores), `last_purchase.${this.schema.narrativeScores}`, userScores, badScore);
    } else if (lp === undefined || lp === null) this.lastAbsent++;
    else this.issues.add('bad-value', where, '$.last_purchase should be an object', 'Ignore it');

    const user = obj.user;
    if (isObject(user)) {
      this.unknownKeys(user, this.userKnown, '$.user', '$.user', where);
      narratives.userProfile = this.text(user.profile, '$.user.profile', where);
      narratives.userSummaryLong = this.text(user.long_summary, '$.user.long_summary', where);
      narratives.userSummaryBrief = this.text(getPath(user, this.schema.userSummaryBrief), `$.user.${this.schema.userSummaryBrief}`, where);
      flattenScores(getPath(user, this.schema.narrativeScores), `user.${this.schema.narrativeScores}`, userScores, badScore);
    } else if (user !== undefined && user !== null) this.issues.add('bad-value', where, '$.user should be an object', 'Ignore it');
    return { rid, where, purchases, last, narratives, userScores };
  }

  /** Adds a parsed user: `included` says whether last_purchase repeats the last history element. */
  private commit(u: ParsedUser, included: boolean): void {
    const { purchases, last, where } = u;
    if (last) {
      const prev = purchases[purchases.length - 1];
      if (included && prev && sameEvent(prev, last)) {
        this.lastIncluded++;
        if (!prev.event.critique && last.event.critique) prev.event.critique = last.event.critique;
      } else {
        if (included)
          this.issues.add(
            'inconsistent-record',
            where,
            `$.last_purchase (asin ${last.asin}) is not the last element of purchase_history, as it is for most users`,
            'Append it after the history',
          );
        this.lastAppended++;
        purchases.push(last);
      }
    }
    if (purchases.length === 0) {
      this.issues.add('empty-sequence', where, `user ${u.rid} has no usable purchase`, 'Skip the user');
      return;
    }
    // A critique belongs to a transition and is stored on the purchase it steers to.
    if (this.schema.critiqueOn === 'previous') {
      const orphan = purchases[purchases.length - 1].event.critique;
      for (let i = purchases.length - 1; i > 0; i--) purchases[i].event.critique = purchases[i - 1].event.critique;
      purchases[0].event.critique = null;
      if (orphan) this.orphanCritique(where, 'last', 'next');
    } else if (purchases[0].event.critique) {
      purchases[0].event.critique = null;
      this.orphanCritique(where, 'first', 'previous');
    }
    this.builder.beginUser(u.rid);
    for (const p of purchases) this.builder.addEvent(p.event);
    this.builder.endUser(u.narratives, Object.keys(u.userScores).length ? u.userScores : undefined);
    this.counts.users++;
    this.counts.purchases += purchases.length;
  }

  private orphanCritique(where: string, position: string, other: string): void {
    this.issues.add(
      'inconsistent-record',
      where,
      `a critique on the user's ${position} purchase, which has no ${position === 'first' ? 'previous' : 'next'} purchase to pair with ` +
        `(if most critiques sit there, the release stores them the other way: set "critiqueOn": "${other}" in --schema)`,
      'Drop that critique',
    );
  }

  /** One JSON line. */
  line(text: string, where: string): void {
    let obj: unknown;
    try {
      obj = JSON.parse(text);
    } catch (e) {
      this.counts.lines++;
      this.issues.add('malformed-line', where, `not valid JSON (${(e as Error).message.slice(0, 80)})`, 'Skip the line');
      return;
    }
    this.record(obj, where);
  }

  /** What the reader decided, for the report. */
  notes(): string[] {
    const out: string[] = [];
    const mode = this.schema.lastPurchaseInHistory;
    const how =
      mode === 'auto'
        ? `auto-detected from ${this.votes.total.toLocaleString('en-US')} users, ${this.votes.match.toLocaleString('en-US')} of whom had it as the last history element`
        : `lastPurchaseInHistory: ${mode}`;
    const included = mode === 'auto' ? this.decided === true : mode;
    if (this.lastIncluded + this.lastAppended > 0)
      out.push(
        `last_purchase ${included ? 'is the last element of purchase_history' : 'follows purchase_history'} (${how}): ` +
          `merged for ${this.lastIncluded.toLocaleString('en-US')} users, appended for ${this.lastAppended.toLocaleString('en-US')}`,
      );
    if (this.lastAbsent > 0) out.push(`${this.lastAbsent.toLocaleString('en-US')} users have no last_purchase (no item-level narratives)`);
    return out;
  }
}

/** Reads a REGEN JSON Lines file into the builder. */
export async function readRegenFile(
  file: string,
  builder: DatasetBuilder,
  issues: Issues,
  schema: RegenSchema,
  progress?: ProgressFn,
): Promise<{ reader: RegenReader; lines: ReadLinesResult }> {
  const reader = new RegenReader(builder, issues, schema);
  const name = displayName(file);
  const lines = await readLines(file, (text, n) => reader.line(text, `${name}:${n}`), { issues, progress });
  reader.finish();
  return { reader, lines };
}
