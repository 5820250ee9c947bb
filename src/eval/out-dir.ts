// The layout of an eval output folder (`eval --out DIR`, `merge --out DIR`), known here only:
//   DIR/chunks/<settings key>/<start>-<end>.json   resumable chunks of one row's evaluation
//   DIR/<row>.part.json                            a row's per-example statistics (merge, compare)
//   DIR/<row>.shard-<i>-of-<n>.part.json           one shard's part (merge combines them)
//   DIR/report.json, DIR/report.md                 the report
// where <row> is task1, task2, task3 or task3-no-critique (rowTag). Every file is written atomically.
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';

import { writeFileAtomic, type WriteOutcome } from '../util/files.js';
import { parseJsonLine } from '../util/json.js';
import { checkLimit, LimitError } from '../util/limits.js';
import { checkPart, MergeError, settingsDiff, type EvalPart, type EvalSettings } from './evaluate.js';

/** task1, task2, task3, or task3-no-critique (task 3's "Hist -> ID + Narrative" row): names parts and signatures. */
export function rowTag(s: Pick<EvalSettings, 'task' | 'critiques'>): string {
  return `task${s.task}${s.task !== 1 && !s.critiques ? '-no-critique' : ''}`;
}

const PART_SUFFIX = '.part.json';

function settingsKey(s: EvalSettings): string {
  return createHash('sha256').update(JSON.stringify(s)).digest('hex').slice(0, 16);
}

export function readPart(file: string): EvalPart {
  let part: EvalPart;
  try {
    const st = statSync(file);
    if (!st.isFile()) throw new Error(st.isDirectory() ? 'a folder, not a part file' : 'not a regular file');
    checkLimit('fileBytes', st.size, file, `a part file of ${st.size.toLocaleString('en-US')} bytes`);
    part = parseJsonLine(readFileSync(file, 'utf8'), file) as EvalPart;
  } catch (e) {
    if (e instanceof LimitError) throw e;
    const code = (e as NodeJS.ErrnoException).code;
    throw new MergeError(`${file}: ${code === 'ENOENT' ? 'no such file or folder' : `not a readable eval part (${(e as Error).message})`}`);
  }
  checkPart(part, file);
  return part;
}

export class EvalOutDir {
  constructor(readonly dir: string) {}

  /** The resumable chunks of one row's evaluation. */
  chunkDir(settings: EvalSettings): string {
    return path.join(this.dir, 'chunks', settingsKey(settings));
  }

  /** Chunks an interrupted run with the same settings left, by start index. */
  readChunks(settings: EvalSettings): Map<number, EvalPart> {
    const done = new Map<number, EvalPart>();
    const dir = this.chunkDir(settings);
    if (!existsSync(dir)) return done;
    for (const f of readdirSync(dir).filter((x) => x.endsWith('.json'))) {
      try {
        const part = JSON.parse(readFileSync(path.join(dir, f), 'utf8')) as EvalPart;
        checkPart(part, f);
        if (JSON.stringify(part.settings) === JSON.stringify(settings)) done.set(part.start, part);
      } catch {
        // A chunk that does not read back is recomputed (writes are atomic, so this is rare).
      }
    }
    return done;
  }

  /**
   * The settings of this row's chunks computed with other settings (same task, critiques and model
   * name, say, but another predictions file): never reused; eval says why.
   */
  otherChunkSettings(settings: EvalSettings): { dir: string; settings: EvalSettings }[] {
    const root = path.join(this.dir, 'chunks');
    if (!existsSync(root)) return [];
    const out: { dir: string; settings: EvalSettings }[] = [];
    const mine = path.basename(this.chunkDir(settings));
    for (const key of readdirSync(root)) {
      if (key === mine) continue;
      const dir = path.join(root, key);
      try {
        const first = readdirSync(dir).find((f) => f.endsWith('.json'));
        if (!first) continue;
        const part = JSON.parse(readFileSync(path.join(dir, first), 'utf8')) as EvalPart;
        const s = part.settings;
        if (s && s.task === settings.task && s.critiques === settings.critiques && s.split === settings.split) out.push({ dir, settings: s });
      } catch {
        // unreadable: not ours to explain
      }
    }
    return out;
  }

  writeChunk(part: EvalPart): void {
    const dir = this.chunkDir(part.settings);
    mkdirSync(dir, { recursive: true });
    writeFileAtomic(path.join(dir, `${part.start}-${part.end}.json`), JSON.stringify(part));
  }

  partFile(settings: EvalSettings, shard?: { index: number; count: number }): string {
    return path.join(this.dir, `${rowTag(settings)}${shard ? `.shard-${shard.index}-of-${shard.count}` : ''}${PART_SUFFIX}`);
  }

  /** Writes each row's part; says which earlier parts were replaced, and when they had other settings, how they differed. */
  writeParts(parts: readonly EvalPart[], shard?: { index: number; count: number }): WriteOutcome[] {
    mkdirSync(this.dir, { recursive: true });
    return parts.map((p) => {
      const file = this.partFile(p.settings, shard);
      let before: EvalSettings | null = null;
      try {
        before = (JSON.parse(readFileSync(file, 'utf8')) as EvalPart).settings ?? null;
      } catch {
        before = null;
      }
      const outcome = writeFileAtomic(file, JSON.stringify(p));
      const diff = before ? settingsDiff(before, p.settings) : [];
      if (outcome.replaced && diff.length) outcome.note += `; the earlier part had other settings: ${diff.join('; ')}`;
      return outcome;
    });
  }

  writeReport(json: Record<string, unknown>, markdown: string): void {
    mkdirSync(this.dir, { recursive: true });
    writeFileAtomic(path.join(this.dir, 'report.json'), JSON.stringify(json, null, 2) + '\n');
    writeFileAtomic(path.join(this.dir, 'report.md'), markdown);
  }

  /** Every part file in the folder: the merged rows, or the shards' parts when not merged yet. */
  partFiles(): string[] {
    if (!existsSync(this.dir) || !statSync(this.dir).isDirectory()) return [];
    const names = readdirSync(this.dir).filter((f) => f.endsWith(PART_SUFFIX)).sort();
    const merged = names.filter((f) => !f.includes('.shard-'));
    return (merged.length ? merged : names).map((f) => path.join(this.dir, f));
  }
}

/** Part files named on the command line: part files as they are, eval --out folders as the parts they hold. */
export function expandPartArgs(args: readonly string[]): string[] {
  return args.flatMap((arg) => {
    if (!existsSync(arg) || !statSync(arg).isDirectory()) return [arg];
    const files = new EvalOutDir(arg).partFiles();
    if (files.length === 0) throw new MergeError(`${arg} holds no *${PART_SUFFIX} files: give part files, or the --out folder of an eval`);
    return files;
  });
}

/**
 * One evaluation to compare: a part file, or an eval --out folder's main row (with critiques when the
 * folder holds task 3's two rows, the row the report leads with).
 */
export function partForCompare(arg: string): string {
  if (!existsSync(arg) || !statSync(arg).isDirectory()) return arg;
  const files = new EvalOutDir(arg).partFiles().filter((f) => !f.includes('.shard-'));
  if (files.length === 0) throw new MergeError(`${arg} holds no merged part file: give the part file itself, or the --out folder of a finished eval (run merge first for shards)`);
  const main = files.filter((f) => !path.basename(f).includes('-no-critique'));
  if (main.length > 1) throw new MergeError(`${arg} holds parts of several tasks (${files.map((f) => path.basename(f)).join(', ')}): give one part file`);
  return main[0] ?? files[0];
}
