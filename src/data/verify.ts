// `data verify D`: a manifest of a copy of REGEN (a folder in the release's layout, a synth output
// folder, or one file), to compare with the paper and with other copies: per file its size and
// SHA-256, the Table 4 row (users, items, items per user), critique coverage, narrative coverage,
// the load report (bad lines) and every key path the file holds with what the reader does with it.
import { existsSync, statSync } from 'node:fs';
import path from 'node:path';

import { VERSION } from '../version.js';
import type { ProgressFn } from '../util/progress.js';
import { contentHash } from './files.js';
import { categoryOf, findRegenFiles } from './folder.js';
import { inspectSource, type KeyStat } from './inspect.js';
import { defaultCacheDir, type LoadOptions } from './load.js';
import { DataError, type LoadReport } from './report.js';
import type { DatasetStats } from './stats.js';

/** The paper's Table 4 and §3 (critique share of adjacent pairs), per category of the release. */
export const PAPER_NUMBERS: Record<string, { users: number; items: number; itemsPerUser: number; critiqueShare: number }> = {
  office: { users: 89_489, items: 27_887, itemsPerUser: 7.86, critiqueShare: 0.176 },
  clothing: { users: 1_168_735, items: 376_847, itemsPerUser: 9.21, critiqueShare: 0.186 },
};

export interface PaperCheck {
  quantity: 'users' | 'items' | 'itemsPerUser' | 'critiqueShare';
  paper: number;
  found: number;
  /** Equal (users, items), or equal at the paper's precision (2 decimals; critique share to 0.1 point). */
  matches: boolean;
}

export interface VerifiedFile {
  category: string;
  /** Relative to the verified folder (the file name for a file). */
  file: string;
  bytes: number;
  sha256: string;
  users: number;
  items: number;
  purchases: number;
  itemsPerUser: number;
  /** Adjacent purchase pairs, pairs with a critique, and their share; pairs sharing >= 4 category levels. */
  critiques: { pairs: number; withCritique: number; share: number; slots: number };
  /** Users with each narrative kind. */
  narratives: DatasetStats['narratives'];
  report: LoadReport;
  /** Every key path in the file, its count, value types and role (confirmed / schema entry / unrecognised). */
  keys: KeyStat[];
  /** Against the paper's numbers, when the category is one of the paper's (office, clothing). */
  paper: PaperCheck[] | null;
}

export interface VerifyManifest {
  tool: string;
  source: string;
  files: VerifiedFile[];
}

export interface VerifyOptions extends Pick<LoadOptions, 'category' | 'schema' | 'cacheDir' | 'strict' | 'force'> {
  progress?: ProgressFn;
}

/** Compares a file's numbers with the paper's row for its category. */
export function paperChecks(category: string, s: { users: number; items: number; itemsPerUser: number; critiqueShare: number }): PaperCheck[] | null {
  const p = PAPER_NUMBERS[category];
  if (!p) return null;
  return [
    { quantity: 'users', paper: p.users, found: s.users, matches: s.users === p.users },
    { quantity: 'items', paper: p.items, found: s.items, matches: s.items === p.items },
    { quantity: 'itemsPerUser', paper: p.itemsPerUser, found: s.itemsPerUser, matches: s.itemsPerUser.toFixed(2) === p.itemsPerUser.toFixed(2) },
    { quantity: 'critiqueShare', paper: p.critiqueShare, found: s.critiqueShare, matches: (100 * s.critiqueShare).toFixed(1) === (100 * p.critiqueShare).toFixed(1) },
  ];
}

/** Verifies every REGEN file of a folder (or the one --category names), or one file. */
export async function verifyRegen(source: string, opts: VerifyOptions = {}): Promise<VerifyManifest> {
  if (!existsSync(source)) throw new DataError(`${source}: no such file or folder`);
  const isDir = statSync(source).isDirectory();
  let files: { category: string; file: string }[];
  if (isDir) {
    files = await findRegenFiles(source);
    if (files.length === 0)
      throw new DataError(`${source}: no REGEN files in it (<category>.jsonl or .jsonl.gz, as in the release's regen/REGEN/ or the output of \`regen-bench data synth --out\`)`);
    if (opts.category !== undefined) {
      const wanted = files.filter((f) => f.category === opts.category!.toLowerCase());
      if (wanted.length === 0)
        throw new DataError((l) => `${l('category')} ${opts.category}: ${source} holds REGEN files of ${[...new Set(files.map((f) => f.category))].join(', ')} only`, undefined, 'category');
      files = wanted;
    }
  } else {
    if (opts.category !== undefined) throw new DataError((l) => `${l('category')} ${opts.category}: picks one category of a folder, but ${source} is a file`, undefined, 'category');
    files = [{ category: categoryOf(source), file: source }];
  }
  const cacheRoot = opts.cacheDir ?? defaultCacheDir();
  const out: VerifiedFile[] = [];
  for (const f of files) {
    const r = await inspectSource(f.file, { format: 'regen', schema: opts.schema, cacheDir: opts.cacheDir, strict: opts.strict, force: opts.force, progress: opts.progress });
    const s = r.stats;
    const share = s.pairs ? s.critiques / s.pairs : 0;
    out.push({
      category: f.category,
      file: isDir ? path.relative(source, f.file) : path.basename(f.file),
      bytes: statSync(f.file).size,
      sha256: await contentHash(f.file, path.join(cacheRoot, 'hashes'), opts.progress), // remembered by the load: not read again
      users: s.users,
      items: s.items,
      purchases: s.events,
      itemsPerUser: s.itemsPerUser,
      critiques: { pairs: s.pairs, withCritique: s.critiques, share, slots: s.critiqueSlots },
      narratives: s.narratives,
      report: r.report,
      keys: r.keys ?? [],
      paper: paperChecks(f.category, { users: s.users, items: s.items, itemsPerUser: s.itemsPerUser, critiqueShare: share }),
    });
  }
  return { tool: `regen-bench ${VERSION}`, source, files: out };
}

const n = (x: number) => x.toLocaleString('en-US');

/** The manifest for people: one block per file. */
export function formatManifest(m: VerifyManifest): string {
  const lines = [`REGEN manifest of ${m.source} (${m.tool})`];
  for (const f of m.files) {
    lines.push(
      '',
      `${f.file} (category ${f.category})`,
      `  size     ${n(f.bytes)} bytes`,
      `  sha256   ${f.sha256}`,
      `  users ${n(f.users)}, items ${n(f.items)}, purchases ${n(f.purchases)}, items/user ${f.itemsPerUser.toFixed(2)}`,
      `  critiques: ${n(f.critiques.withCritique)} of ${n(f.critiques.pairs)} adjacent pairs (${(100 * f.critiques.share).toFixed(1)}%); ` +
        `${n(f.critiques.slots)} pairs share >= 4 category levels`,
      `  narratives (users with one): ${Object.entries(f.narratives)
        .map(([k, v]) => `${k} ${n(v)}`)
        .join(', ')}`,
    );
    const issues = f.report.issues.filter((i) => i.count > 0);
    lines.push(`  load report: ${issues.length ? issues.map((i) => `${i.kind} ${n(i.count)}`).join(', ') : 'no problems'}${f.report.unknownKeys.length ? `; ${f.report.unknownKeys.length} unrecognised key paths` : ''}`);
    if (f.paper) {
      const shown = (c: PaperCheck) => (c.quantity === 'critiqueShare' ? `${(100 * c.found).toFixed(1)}%` : c.quantity === 'itemsPerUser' ? c.found.toFixed(2) : n(c.found));
      const paper = (c: PaperCheck) => (c.quantity === 'critiqueShare' ? `${(100 * c.paper).toFixed(1)}%` : c.quantity === 'itemsPerUser' ? c.paper.toFixed(2) : n(c.paper));
      lines.push(
        `  paper (Table 4, critique share §3): ${f.paper.every((c) => c.matches) ? 'all match' : 'DIFFERS'}: ` +
          f.paper.map((c) => `${c.quantity} ${shown(c)}${c.matches ? ' =' : ' vs'} ${paper(c)}`).join(', '),
      );
    } else lines.push(`  paper: no Table 4 row for category '${f.category}' (the paper has ${Object.keys(PAPER_NUMBERS).join(', ')})`);
    lines.push(`  keys (${f.keys.length} paths; path: count, types, role):`);
    for (const k of f.keys) lines.push(`    ${k.path}: ${n(k.count)}, ${k.types.join('|')}, ${k.role}`);
  }
  return lines.join('\n');
}
