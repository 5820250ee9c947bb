// `data inspect`: what a file holds before anyone trusts it. For JSON sources, every key path seen
// (with counts and value types) and whether the reader uses it: confirmed REGEN key, schema-map entry,
// or unrecognised; then the normalised counts, the load report and one example user.
import { limit } from '../util/limits.js';
import { ITEM_NARRATIVES, NARRATIVE_KINDS, type Dataset } from './dataset.js';
import { displayName, readLines } from './lines.js';
import { detectFormat, prepareDataset, resolveSourcePath, type PrepareOptions, type SourceFormat } from './load.js';
import { parseJsonOrPython } from './pyliteral.js';
import { loadSchemaFile, resolveSchema, type RegenSchema } from './regen-schema.js';
import { Issues, type LoadReport } from './report.js';
import { datasetStats, type DatasetStats } from './stats.js';
import { categoryPath } from './categories.js';

export interface KeyStat {
  path: string;
  count: number;
  types: string[];
  /** 'confirmed' | 'schema: <entry>' | 'unrecognised' (REGEN); 'seen' for other JSON formats. */
  role: string;
}

export interface InspectResult {
  source: string;
  format: SourceFormat;
  keys: KeyStat[] | null;
  /** The first record as in the file (long strings and lists shortened), for JSON sources. */
  rawExample: unknown;
  /** The first user as regen-bench normalised it. */
  example: Record<string, unknown> | null;
  stats: DatasetStats;
  report: LoadReport;
  dir: string | null;
  cached: boolean;
}

const typeOf = (v: unknown) => (v === null ? 'null' : Array.isArray(v) ? 'list' : typeof v === 'object' ? 'object' : typeof v);

/** Key paths of a record, to the nesting limit (deeper values are listed by their type only). */
function scanKeys(v: unknown, path: string, out: Map<string, { count: number; types: Set<string> }>, depth = 0): void {
  if (depth >= limit('jsonDepth')) return;
  if (Array.isArray(v)) {
    for (const x of v) scanKeys(x, `${path}[]`, out, depth + 1);
    return;
  }
  if (v === null || typeof v !== 'object') return;
  for (const [k, x] of Object.entries(v)) {
    const p = `${path}.${k}`;
    let s = out.get(p);
    if (!s) out.set(p, (s = { count: 0, types: new Set() }));
    s.count++;
    s.types.add(typeOf(x));
    scanKeys(x, p, out, depth + 1);
  }
}

/** How the REGEN reader treats a key path. */
export function regenKeyRole(path: string, schema: RegenSchema): string {
  const within = (rel: string, key: string) => rel === key || rel.startsWith(`${key}.`);
  const top = ['$.reviewer_id', '$.purchase_history', '$.user', '$.last_purchase'];
  if (top.includes(path)) return 'confirmed';
  for (const prefix of ['$.purchase_history[].', '$.last_purchase.']) {
    if (!path.startsWith(prefix)) continue;
    const rel = path.slice(prefix.length);
    const confirmed = ['item', 'item.asin', 'item.title', 'item.category', 'item.price', 'review', 'review.summary', 'review.rating', 'review.text', 'review.unix_time'];
    if (confirmed.includes(rel)) return 'confirmed';
    const entries: (keyof RegenSchema)[] = ['critique', 'critiqueScores'];
    if (prefix === '$.last_purchase.') entries.push('purchaseReason', 'purchaseReasonExplanation', 'productEndorsement', 'narrativeScores');
    for (const e of entries) if (within(rel, schema[e] as string)) return `schema: ${e}`;
    if (within(rel, `item.${schema.itemBrand}`)) return 'schema: itemBrand';
    if (within(rel, `item.${schema.itemDescription}`)) return 'schema: itemDescription';
    // Parents of dotted schema keys ("review" for "review.critique") are containers.
    for (const e of [...entries, 'itemBrand', 'itemDescription'] as (keyof RegenSchema)[]) if ((schema[e] as string).startsWith(`${rel}.`)) return 'confirmed';
    return 'unrecognised';
  }
  if (path.startsWith('$.user.')) {
    const rel = path.slice('$.user.'.length);
    if (rel === 'profile' || rel === 'long_summary') return 'confirmed';
    if (within(rel, schema.userSummaryBrief)) return 'schema: userSummaryBrief';
    if (within(rel, schema.narrativeScores)) return 'schema: narrativeScores';
    return 'unrecognised';
  }
  return 'unrecognised';
}

function shorten(v: unknown, depth = 0): unknown {
  if (typeof v === 'string') return v.length > 80 ? `${v.slice(0, 77)}...` : v;
  if (depth >= 8 && v !== null && typeof v === 'object') return Array.isArray(v) ? '[...]' : '{...}';
  if (Array.isArray(v)) {
    const head = v.slice(0, 2).map((x) => shorten(x, depth + 1));
    return v.length > 2 ? [...head, `... ${v.length - 2} more`] : head;
  }
  if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, shorten(x, depth + 1)]));
  return v;
}

/** The first user of a dataset, readable. */
export function exampleUser(ds: Dataset, u = 0): Record<string, unknown> | null {
  if (ds.users.count === 0) return null;
  const { events, items } = ds;
  const purchases = [];
  for (let e = ds.users.offsets[u]; e < ds.users.offsets[u + 1]; e++) {
    const it = events.item[e];
    purchases.push({
      item: it,
      asin: items.asin.get(it),
      title: items.title.get(it),
      category: categoryPath(ds.categories, items.category[it]).join(' > ') || null,
      rating: events.rating[e] || null,
      time: Number.isNaN(events.time[e]) ? null : new Date(events.time[e] * 1000).toISOString().slice(0, 10),
      critiqueSlot: events.critiqueSlot[e] === 1,
      critique: events.critique.get(e),
    });
  }
  const narratives = Object.fromEntries(NARRATIVE_KINDS.map((k) => [k, ds.users.narratives[k].get(u)]).filter(([, v]) => v !== null));
  return { user: u, reviewerId: ds.users.reviewerId.get(u), purchases, narratives, narrativesAbout: `${ITEM_NARRATIVES.join(', ')} describe the last purchase` };
}

export async function inspectSource(source: string, opts: PrepareOptions & { limit?: number } = {}): Promise<InspectResult> {
  source = await resolveSourcePath(source, opts.category);
  opts = { ...opts, category: undefined };
  const format = !opts.format || opts.format === 'auto' ? await detectFormat(source) : opts.format;
  let keys: KeyStat[] | null = null;
  let rawExample: unknown = null;
  if (format === 'regen' || format === 'amazon2018') {
    const schema = typeof opts.schema === 'string' ? loadSchemaFile(opts.schema) : resolveSchema(opts.schema, 'schema');
    const stats = new Map<string, { count: number; types: Set<string> }>();
    let seen = 0;
    const stop = new Error('limit');
    try {
      await readLines(
        source,
        (line) => {
          if (opts.limit && seen >= opts.limit) throw stop;
          let v: unknown;
          try {
            v = parseJsonOrPython(line);
          } catch {
            return; // counted by the load below
          }
          seen++;
          if (rawExample === null) rawExample = shorten(v);
          scanKeys(v, '$', stats);
        },
        { issues: new Issues(false), progress: opts.progress, phase: `scanning keys of ${displayName(source)}` },
      );
    } catch (e) {
      if (e !== stop) throw e;
    }
    keys = [...stats]
      .map(([path, s]) => ({ path, count: s.count, types: [...s.types].sort(), role: format === 'regen' ? regenKeyRole(path, schema) : 'seen' }))
      .sort((a, b) => a.path.localeCompare(b.path));
  }
  const { dataset, dir, cached } = await prepareDataset(source, opts);
  return { source, format, keys, rawExample, example: exampleUser(dataset), stats: datasetStats(dataset), report: dataset.meta.report, dir, cached };
}
