// A folder of REGEN files as a data source: the Kaggle release unpacks to regen/REGEN/<category>.jsonl
// (office.jsonl, clothing.jsonl, ...) and `regen-bench data synth --out D` writes D/<preset>.jsonl.
// Every --data accepts such a folder (or a folder above it, up to two levels): with one category it is
// that file, with several `--category NAME` picks one. Prepared datasets (manifest.json) and MiniOneRec
// folders are told apart before this (src/data/load.ts).
import { existsSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';

import { firstLines } from './files.js';
import { parseJsonOrPython } from './pyliteral.js';
import { DataError } from './report.js';

export interface RegenFolderFile {
  /** The file name without its extensions, lower-cased: office.jsonl.gz -> office. */
  category: string;
  file: string;
}

const REGEN_FILE = /^[^.].*\.jsonl?(\.gz)?$/i;
/** How far below the given folder files are looked for: D/office.jsonl, D/REGEN/..., D/regen/REGEN/... */
const MAX_DEPTH = 2;

export function categoryOf(file: string): string {
  return path.basename(file).replace(/(\.(jsonl|json|gz))+$/i, '').toLowerCase();
}

/** Whether a file's first line is a REGEN user record (reviewer_id / purchase_history). */
async function isRegenFile(file: string): Promise<boolean> {
  try {
    const [first] = await firstLines(file, 1);
    if (!first || !/^\s*\{/.test(first)) return false;
    const v = parseJsonOrPython(first);
    return v !== null && typeof v === 'object' && ('purchase_history' in v || 'reviewer_id' in v);
  } catch {
    return false;
  }
}

/** The REGEN files in a folder and its subfolders (MAX_DEPTH levels), by category; hidden and partial files are skipped. */
export async function findRegenFiles(dir: string): Promise<RegenFolderFile[]> {
  const found: RegenFolderFile[] = [];
  const walk = async (d: string, depth: number) => {
    let names: string[];
    try {
      names = readdirSync(d).sort();
    } catch {
      return;
    }
    for (const name of names) {
      if (name.startsWith('.')) continue; // .office.jsonl.partial of an unfinished synth, dot folders
      const p = path.join(d, name);
      let st;
      try {
        st = statSync(p);
      } catch {
        continue;
      }
      if (st.isDirectory()) {
        if (depth < MAX_DEPTH) await walk(p, depth + 1);
      } else if (REGEN_FILE.test(name) && st.size > 0 && (await isRegenFile(p))) found.push({ category: categoryOf(p), file: p });
    }
  };
  await walk(dir, 0);
  return found;
}

/**
 * The file a folder of REGEN files stands for: its only category, or the one `category` names.
 * A source that is not a folder is returned as it is (a category for it is an error).
 */
export async function resolveRegenFolder(source: string, category?: string): Promise<string> {
  const isDir = existsSync(source) && statSync(source).isDirectory();
  if (!isDir) {
    if (category !== undefined)
      throw new DataError((l) => `${l('category')} ${category}: picks one category of a folder of REGEN files, but ${source} is not a folder. Leave out ${l('category')}, or give the folder`, undefined, 'category');
    return source;
  }
  const files = await findRegenFiles(source);
  if (files.length === 0)
    throw new DataError(
      `${source}: a folder, but neither a prepared dataset (manifest.json), MiniOneRec data (<name>.item.json with valid.csv / test.csv), ` +
        'nor REGEN files (<category>.jsonl or .jsonl.gz, one user per line, as in the release\'s regen/REGEN/ or the output of `regen-bench data synth --out`)',
    );
  const categories = [...new Set(files.map((f) => f.category))].sort();
  const list = () => files.map((f) => `${f.category}: ${f.file}`).join('; ');
  let chosen: RegenFolderFile[];
  if (category !== undefined) {
    chosen = files.filter((f) => f.category === category.toLowerCase());
    if (chosen.length === 0)
      throw new DataError((l) => `${l('category')} ${category}: ${source} holds REGEN files of ${categories.join(', ')} only (${list()})`, undefined, 'category');
  } else {
    if (categories.length > 1)
      throw new DataError((l) => `${source} holds REGEN files of several categories (${list()}): pick one with ${l('category')} ${categories.join('|')}`, undefined, 'category');
    chosen = files;
  }
  if (chosen.length > 1)
    throw new DataError(`${source} holds ${chosen.length} REGEN files of category ${chosen[0].category} (${chosen.map((f) => f.file).join(', ')}): give the file itself as --data`);
  return chosen[0].file;
}
