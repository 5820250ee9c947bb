// The REGEN release's key names. Only some are confirmed (../shared/docs/REGEN.md): those are fixed in
// regen.ts. The others (critiques, item-level narratives, rater scores, the critique sentinel, where
// the last purchase sits) come from this map: documented defaults, overridable with --schema file.json.
import { readFileSync } from 'node:fs';

import { DataError } from './report.js';
import { preview } from '../util/json.js';

export interface RegenSchema {
  /** Key, in a purchase object, of the critique that steers from the previous purchase to this one. */
  critique: string;
  /**
   * Which purchase holds a transition's critique: 'next' (the purchase it steers to; then a user's
   * first purchase has none) or 'previous' (the one it steers away from; then the last has none).
   */
  critiqueOn: 'next' | 'previous';
  /** Critique values that mean "no critique here" (the release's placeholder); null and "" always do. */
  critiqueSentinels: string[];
  /** Key, in a purchase object, of the critique's rater scores (an object of numbers, or one number). */
  critiqueScores: string;
  /** Keys, in last_purchase, of the item-level narratives. */
  purchaseReason: string;
  purchaseReasonExplanation: string;
  productEndorsement: string;
  /** Key, in user, of the brief user summary (user.profile and user.long_summary are confirmed). */
  userSummaryBrief: string;
  /** Key, in last_purchase and in user, of the narratives' rater scores. */
  narrativeScores: string;
  /** Keys, in a purchase's item, of two unconfirmed item fields. */
  itemBrand: string;
  itemDescription: string;
  /**
   * Whether last_purchase is also the last element of purchase_history. 'auto': per user, yes when
   * that element has the same asin and unix_time, else last_purchase is appended.
   */
  lastPurchaseInHistory: 'auto' | boolean;
}

/** The defaults (guesses where REGEN.md has no confirmation; every one can be overridden). */
export const REGEN_SCHEMA_DEFAULTS: Readonly<RegenSchema> = Object.freeze({
  critique: 'critique',
  critiqueOn: 'next',
  critiqueSentinels: ['N/A', 'NA', 'None', 'none', 'null', '<no critique>', 'No critique'],
  critiqueScores: 'critique_scores',
  purchaseReason: 'purchase_reason',
  purchaseReasonExplanation: 'purchase_reason_explanation',
  productEndorsement: 'product_endorsement',
  userSummaryBrief: 'short_summary',
  narrativeScores: 'narrative_scores',
  itemBrand: 'brand',
  itemDescription: 'description',
  lastPurchaseInHistory: 'auto',
});

const KEY_DOCS: Record<keyof RegenSchema, string> = {
  critique: 'key of the critique in a purchase',
  critiqueOn: '"next" (on the purchase it steers to) or "previous" (on the one it steers away from)',
  critiqueSentinels: 'list of placeholder strings meaning no critique',
  critiqueScores: 'key of the critique rater scores in a purchase',
  purchaseReason: 'key of the purchase reason in last_purchase',
  purchaseReasonExplanation: 'key of the purchase reason explanation in last_purchase',
  productEndorsement: 'key of the product endorsement in last_purchase',
  userSummaryBrief: 'key of the brief summary in user',
  narrativeScores: 'key of the narrative rater scores in last_purchase and user',
  itemBrand: 'key of the brand in item',
  itemDescription: 'key of the description in item',
  lastPurchaseInHistory: '"auto", true or false',
};

/** Checks and completes a partial schema (from a file or the API). `origin` names it in errors. */
export function resolveSchema(partial: unknown, origin: string): RegenSchema {
  if (partial === undefined || partial === null) return { ...REGEN_SCHEMA_DEFAULTS, critiqueSentinels: [...REGEN_SCHEMA_DEFAULTS.critiqueSentinels] };
  if (typeof partial !== 'object' || Array.isArray(partial))
    throw new DataError(`${origin}: expected a JSON object mapping schema entries to key names, e.g. {"critique": "user_critique"}`);
  const out: RegenSchema = { ...REGEN_SCHEMA_DEFAULTS, critiqueSentinels: [...REGEN_SCHEMA_DEFAULTS.critiqueSentinels] };
  const valid = Object.keys(KEY_DOCS).join(', ');
  for (const [key, value] of Object.entries(partial as Record<string, unknown>)) {
    if (key.startsWith('//') || key === '$comment') continue; // comments
    if (!(key in KEY_DOCS)) throw new DataError(`${origin}: unknown schema entry "${key}". Valid entries: ${valid}`);
    const k = key as keyof RegenSchema;
    if (k === 'critiqueSentinels') {
      if (!Array.isArray(value) || value.some((v) => typeof v !== 'string'))
        throw new DataError(`${origin}: "critiqueSentinels" must be a list of strings but is ${preview(value)}`);
      out.critiqueSentinels = value as string[];
    } else if (k === 'critiqueOn') {
      if (value !== 'next' && value !== 'previous')
        throw new DataError(`${origin}: "critiqueOn" must be "next" or "previous" but is ${preview(value)}`);
      out.critiqueOn = value;
    } else if (k === 'lastPurchaseInHistory') {
      if (value !== 'auto' && typeof value !== 'boolean')
        throw new DataError(`${origin}: "lastPurchaseInHistory" must be "auto", true or false but is ${preview(value)}`);
      out.lastPurchaseInHistory = value as 'auto' | boolean;
    } else {
      if (typeof value !== 'string' || value === '' || value.split('.').some((p) => p === ''))
        throw new DataError(`${origin}: "${k}" must be a key name (dots for nested keys, e.g. "review.critique") but is ${preview(value)}`);
      (out[k] as string) = value;
    }
  }
  return out;
}

export function loadSchemaFile(file: string): RegenSchema {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new DataError((l) => `${l('schema')} ${file}: cannot read it (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`, undefined, 'schema');
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (e) {
    throw new DataError((l) => `${l('schema')} ${file}: not valid JSON (${(e as Error).message})`, undefined, 'schema');
  }
  return resolveSchema(parsed, `the schema file ${file}`);
}

/** The schema entries and their meaning, for `data inspect` and the docs. */
export const SCHEMA_DOCS = KEY_DOCS;
