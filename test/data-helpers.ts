// Shared helpers of the data tests: scratch folders and small REGEN-format records.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import zlib from 'node:zlib';

import { afterAll } from 'vitest';

export const FIXTURES = path.join(path.dirname(fileURLToPath(import.meta.url)), 'fixtures');

// Nothing a test does may write to the user's cache (~/.cache/regen-bench): point it at a scratch folder.
const testCache = mkdtempSync(path.join(os.tmpdir(), 'regen-bench-test-cache-'));
process.env.REGEN_BENCH_CACHE = testCache;
afterAll(() => rmSync(testCache, { recursive: true, force: true }));

/** A scratch folder removed after the file's tests. */
export function scratch(): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'regen-bench-test-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

export function writeLines(file: string, lines: (string | object)[], gzip = false): string {
  const text = lines.map((l) => (typeof l === 'string' ? l : JSON.stringify(l))).join('\n') + '\n';
  writeFileSync(file, gzip ? zlib.gzipSync(text) : text);
  return file;
}

export interface PurchaseSpec {
  asin: string;
  title?: string | null;
  category?: string | null;
  price?: number | null;
  rating?: number;
  time?: number;
  critique?: string;
  summary?: string;
  text?: string;
}

export function purchase(p: PurchaseSpec): Record<string, unknown> {
  const out: Record<string, unknown> = {
    item: { asin: p.asin, title: p.title === undefined ? `Item ${p.asin}` : p.title, category: p.category === undefined ? 'Office Products - Office & School Supplies - Writing - Pens' : p.category, price: p.price ?? 9.99 },
    review: { summary: p.summary ?? 'ok', rating: p.rating ?? 5, text: p.text ?? `review of ${p.asin}`, unix_time: p.time ?? 1_500_000_000 },
  };
  if (p.critique !== undefined) out.critique = p.critique;
  return out;
}

/** A REGEN user line: purchases (all but the last in purchase_history), narratives on user/last_purchase. */
export function regenUser(id: string, purchases: PurchaseSpec[], extra: Record<string, unknown> = {}): Record<string, unknown> {
  const ps = purchases.map(purchase);
  return {
    reviewer_id: id,
    purchase_history: ps.slice(0, -1),
    user: { profile: `profile of ${id}`, long_summary: `long summary of ${id}`, short_summary: `brief of ${id}` },
    last_purchase: { ...ps[ps.length - 1], purchase_reason: `reason of ${id}`, purchase_reason_explanation: `explanation of ${id}`, product_endorsement: `endorsement of ${id}` },
    ...extra,
  };
}
