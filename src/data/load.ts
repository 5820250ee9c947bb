// Loading: tells the source's format apart, builds the normalised dataset once, and keeps it in a
// cache keyed by the source files' content and the options, so that the second load only opens
// Arrow files. `prepare` is the same with an explicit output folder.
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { cacheRoot } from '../util/cache.js';
import { releaseTempPath } from '../util/files.js';
import type { OptionLabel } from '../util/option-error.js';
import { VERSION } from '../version.js';
import { buildAmazon2018 } from './amazon2018.js';
import { DatasetBuilder } from './builder.js';
import { resolveRegenFolder } from './folder.js';
import type { Dataset, DatasetMeta, SourceFile, SourceKind } from './dataset.js';
import { contentHash, firstLines } from './files.js';
import type { ProgressFn } from '../util/progress.js';
import { parseJsonOrPython } from './pyliteral.js';
import { RegenReader, readRegenFile } from './regen.js';
import { loadSchemaFile, resolveSchema, type RegenSchema } from './regen-schema.js';
import { DataError, Issues } from './report.js';
import { checkFiles, openDataset, publishDir, readManifest, STORE_VERSION, tempDirFor } from './store.js';
import { minionerecFiles, readMiniOneRec, readSequenceFile } from './sequences.js';
import { SyntheticGenerator, synthConfig, SYNTH_VERSION, type SynthConfig } from './synth/generate.js';

export type SourceFormat = SourceKind | 'prepared';
export const SOURCE_FORMATS: SourceFormat[] = ['regen', 'amazon2018', 'sequences', 'minionerec', 'prepared', 'synthetic'];

/**
 * Enters every cache key with the store format: bump it whenever a reader's output changes for the
 * same input (a fix, a new column), so that caches built by the older code are not reused.
 */
export const READERS_VERSION = 1;

/** The embedded demo dataset: the synthetic demo preset with a fixed seed. */
export const DEMO_SOURCE = 'demo';
export const DEMO_SEED = 2025;

export interface LoadOptions {
  /** Default: told apart from the file's first line (or the folder's contents). */
  format?: SourceFormat | 'auto';
  /** REGEN: a schema map (file path, or entries) for the unconfirmed keys. */
  schema?: string | Partial<RegenSchema>;
  /** Amazon 2018: the metadata file; default meta_<Category>.json(.gz) next to the reviews; 'none' for none. */
  meta?: string;
  /** Plain sequences: an item file ({"<id>": {title, ...}}). */
  itemMeta?: string;
  /** A folder of REGEN files (the release's regen/REGEN/, `data synth --out`): the category to read when it holds several. */
  category?: string;
  /** Amazon 2018: k-core filter (0 = none). */
  kcore?: number;
  /** Fatal on the first bad record instead of skipping and counting. */
  strict?: boolean;
  /** Use the cache (default true): build once, then open the Arrow files. */
  cache?: boolean;
  /** Cache root (default $REGEN_BENCH_CACHE, else the user's cache folder: see src/util/cache.ts). */
  cacheDir?: string;
  /** Rebuild even when a cached copy exists. */
  force?: boolean;
  progress?: ProgressFn;
}

export interface PrepareOptions extends LoadOptions {
  /** Where to write the prepared dataset (default: the cache). */
  out?: string;
}

export interface PrepareResult {
  dataset: Dataset;
  /** The folder it lives in (null when built in memory). */
  dir: string | null;
  /** Whether an earlier build was reused. */
  cached: boolean;
}

/** The cache root (src/util/cache.ts): datasets go to its datasets/ folder, file hashes to hashes/. */
export function defaultCacheDir(): string {
  return cacheRoot();
}

/** A short dataset name from a file name: office.jsonl.gz -> office. */
export function sourceName(file: string): string {
  return path.basename(file).replace(/(\.(jsonl|json|txt|csv|tsv|gz))+$/i, '') || 'dataset';
}

/** Tells the format of a file or folder apart. */
export async function detectFormat(source: string): Promise<SourceFormat> {
  if (source === DEMO_SOURCE) return 'synthetic';
  if (!existsSync(source)) throw new DataError(`${source}: no such file or folder`);
  if (statSync(source).isDirectory()) {
    if (existsSync(path.join(source, 'manifest.json'))) return 'prepared';
    if (minionerecFiles(source)) return 'minionerec';
    throw new DataError(`${source}: a folder, but neither a prepared dataset (manifest.json) nor MiniOneRec data (<name>.item.json with valid.csv / test.csv)`);
  }
  const [first] = await firstLines(source, 1);
  if (first === undefined) throw new DataError(`${source}: the file is empty`);
  const hint = (l: OptionLabel) => `Pass ${l('format')} ${SOURCE_FORMATS.filter((f) => f !== 'prepared' && f !== 'synthetic').join('|')}`;
  if (/^\s*[{[]/.test(first)) {
    let v: unknown;
    try {
      v = parseJsonOrPython(first);
    } catch (e) {
      const why = (e as Error).message.slice(0, 80);
      throw new DataError((l) => `${source}: the first line is neither JSON nor a Python literal (${why}). ${hint(l)}`, undefined, 'format');
    }
    const keys = v && typeof v === 'object' ? Object.keys(v) : [];
    if (keys.includes('purchase_history') || keys.includes('reviewer_id')) return 'regen';
    if (keys.includes('reviewerID')) return 'amazon2018';
    if (keys.includes('asin'))
      throw new DataError(`${source}: this looks like an Amazon metadata file (asin, title, ...). Pass the reviews file as the source and this one with --meta`);
    throw new DataError((l) => `${source}: a JSON line with keys ${keys.slice(0, 8).join(', ')}; not a format regen-bench knows. ${hint(l)}`, undefined, 'format');
  }
  if (/^\S+(\s+\S+)*\s*$/.test(first)) return 'sequences';
  throw new DataError((l) => `${source}: cannot tell the format from the first line (${JSON.stringify(first.slice(0, 60))}). ${hint(l)}`, undefined, 'format');
}

/** meta_<Category>.json(.gz) next to <Category>(_5).json(.gz) or reviews_<Category>_5.json(.gz). */
export function findMetaFile(reviewsFile: string): { found: string | null; tried: string[] } {
  const dir = path.dirname(reviewsFile);
  const category = path
    .basename(reviewsFile)
    .replace(/(\.(json|gz))+$/i, '')
    .replace(/^reviews_/, '')
    .replace(/_5$/, '');
  const tried = [`meta_${category}.json.gz`, `meta_${category}.json`].map((f) => path.join(dir, f));
  return { found: tried.find((f) => existsSync(f)) ?? null, tried };
}

interface ResolvedSource {
  kind: SourceKind;
  name: string;
  files: string[];
  /** Options that change the result (they enter the cache key). */
  options: Record<string, unknown>;
  build: (builder: DatasetBuilder, issues: Issues, workDir: string, progress?: ProgressFn) => Promise<string[]>;
}

function synthSource(cfg: SynthConfig, schema: RegenSchema): ResolvedSource {
  return {
    kind: 'synthetic',
    name: cfg.preset,
    files: [],
    options: { generator: SYNTH_VERSION, ...cfg },
    build: async (builder, issues, _work, progress) => {
      const reader = new RegenReader(builder, issues, schema);
      const gen = new SyntheticGenerator(cfg);
      for (let u = 0; u < cfg.users; u++) {
        reader.record(gen.user(u), `${cfg.preset}:user ${u}`);
        if ((u & 1023) === 1023) progress?.({ phase: `synthesizing ${cfg.preset}`, done: u + 1, total: cfg.users, unit: 'users' });
      }
      reader.finish();
      return reader.notes();
    },
  };
}

async function resolveSource(source: string, opts: LoadOptions): Promise<ResolvedSource | { kind: 'prepared'; dir: string }> {
  const format = !opts.format || opts.format === 'auto' ? await detectFormat(source) : opts.format;
  const schema = typeof opts.schema === 'string' ? loadSchemaFile(opts.schema) : resolveSchema(opts.schema, 'schema');
  switch (format) {
    case 'prepared':
      return { kind: 'prepared', dir: source };
    case 'synthetic':
      if (source !== DEMO_SOURCE)
        throw new DataError((l) => `${l('format')} synthetic: only the embedded "${DEMO_SOURCE}" is a synthetic source; make others with regen-bench data synth`, undefined, 'format');
      return synthSource(synthConfig('demo', DEMO_SEED), schema);
    case 'regen':
      return {
        kind: 'regen',
        name: sourceName(source),
        files: [source],
        options: { schema },
        build: async (builder, issues, _work, progress) => {
          const { reader } = await readRegenFile(source, builder, issues, schema, progress);
          return reader.notes();
        },
      };
    case 'amazon2018': {
      let meta: string | null;
      if (opts.meta === 'none') meta = null;
      else if (opts.meta) meta = opts.meta;
      else {
        const { found, tried } = findMetaFile(source);
        if (!found)
          throw new DataError(
            (l) =>
              `${source}: no metadata file next to it (looked for ${tried.map((f) => path.basename(f)).join(', ')}). ` +
              `Pass ${l('meta')} FILE, or ${l('meta')} none to build without titles, categories and critique slots`,
            undefined,
            'meta',
          );
        meta = found;
      }
      if (meta && !existsSync(meta)) throw new DataError((l) => `${l('meta')} ${meta}: no such file`, undefined, 'meta');
      const kcore = opts.kcore ?? 0;
      return {
        kind: 'amazon2018',
        name: sourceName(source).replace(/_5$/, ''),
        files: meta ? [source, meta] : [source],
        options: { kcore, meta: meta !== null },
        build: async (builder, issues, workDir, progress) => (await buildAmazon2018(source, { meta, kcore, workDir }, builder, issues, progress)).notes,
      };
    }
    case 'sequences':
      if (opts.itemMeta && !existsSync(opts.itemMeta)) throw new DataError((l) => `${l('itemMeta')} ${opts.itemMeta}: no such file`, undefined, 'itemMeta');
      return {
        kind: 'sequences',
        name: sourceName(source),
        files: opts.itemMeta ? [source, opts.itemMeta] : [source],
        options: { items: Boolean(opts.itemMeta) }, // named 'items' in dataset keys made before the flag was --item-meta
        build: async (builder, issues, _work, progress) => (await readSequenceFile(source, builder, issues, { itemFile: opts.itemMeta, progress })).notes,
      };
    case 'minionerec': {
      const f = minionerecFiles(source);
      if (!f) throw new DataError(`${source}: expected a MiniOneRec folder with <name>.item.json and valid.csv / test.csv`);
      return {
        kind: 'minionerec',
        name: path.basename(f.itemFile).replace(/\.item\.json$/, ''),
        files: [f.itemFile, ...f.csvs],
        options: {},
        build: async (builder, issues) => readMiniOneRec(source, builder, issues).notes,
      };
    }
    default:
      throw new DataError(`unknown format ${JSON.stringify(format)}; expected one of ${SOURCE_FORMATS.join(', ')}`);
  }
}

async function build(src: ResolvedSource, key: string, files: SourceFile[], opts: LoadOptions, dir: string | null): Promise<Dataset> {
  const issues = new Issues(opts.strict ?? false);
  const finishMeta = (notes: string[]): DatasetMeta => {
    issues.notes.push(...notes);
    return { name: src.name, key, source: { kind: src.kind, files, options: src.options }, report: issues.report(), builtBy: VERSION };
  };
  if (!dir) {
    const work = mkdtempSync(path.join(os.tmpdir(), 'regen-bench-'));
    try {
      const builder = new DatasetBuilder();
      const notes = await src.build(builder, issues, work, opts.progress);
      return builder.finishInMemory(finishMeta(notes));
    } finally {
      rmSync(work, { recursive: true, force: true });
    }
  }
  // Temporary folders of other runs (even of dead processes) are never deleted here: only this run's
  // (util/files.ts RUN_TOKEN). A killed build's leftover is a hidden .<name>.tmp-<token>-<n> folder.
  const tmp = tempDirFor(dir);
  try {
    const builder = new DatasetBuilder({ dir: tmp });
    const notes = await src.build(builder, issues, tmp, opts.progress);
    builder.finishToDisk(finishMeta(notes), opts.progress);
    if (!opts.force && sameDatasetAt(dir, key)) rmSync(tmp, { recursive: true, force: true }); // another process finished first: keep its copy (it may be open)
    else publishDir(tmp, dir);
  } catch (e) {
    rmSync(tmp, { recursive: true, force: true });
    throw e;
  } finally {
    releaseTempPath(tmp);
  }
  return openDataset(dir);
}

/** Whether `dir` holds a complete dataset with this key. */
function sameDatasetAt(dir: string, key: string): boolean {
  try {
    const m = readManifest(dir);
    return m.meta.key === key && checkFiles(dir, m) === null;
  } catch {
    return false;
  }
}

/** --out may name a new folder, an empty one, or a prepared dataset (replaced): never other files. */
function guardOutDir(out: string): void {
  if (!existsSync(out)) return;
  if (!statSync(out).isDirectory()) throw new DataError((l) => `${l('out')} ${out} is a file; give a folder (new, empty, or an earlier prepared dataset)`, undefined, 'out');
  const entries = readdirSync(out);
  if (entries.length > 0 && !entries.includes('manifest.json'))
    throw new DataError(
      (l) => `${l('out')} ${out} holds other files (${entries.slice(0, 3).join(', ')}${entries.length > 3 ? ', ...' : ''}); give a new or empty folder, or an earlier prepared dataset to replace`,
      undefined,
      'out',
    );
}

/**
 * The file a source path stands for: a folder of REGEN files becomes the file of its category
 * (src/data/folder.ts); prepared datasets, MiniOneRec folders, files and "demo" stay as they are.
 */
export async function resolveSourcePath(source: string, category?: string): Promise<string> {
  const isDir = source !== DEMO_SOURCE && existsSync(source) && statSync(source).isDirectory();
  if (isDir && !existsSync(path.join(source, 'manifest.json')) && !minionerecFiles(source)) return resolveRegenFolder(source, category);
  if (category !== undefined)
    throw new DataError(
      (l) =>
        `${l('category')} ${category}: picks one category of a folder of REGEN files, but ${source} is ${source === DEMO_SOURCE ? 'the embedded demo' : isDir ? 'a prepared dataset or MiniOneRec folder' : 'a file'}. ` +
        `Leave out ${l('category')}, or give the folder`,
      undefined,
      'category',
    );
  return source;
}

/** Builds (or reuses) the normalised dataset of a source; writes it to opts.out or the cache. */
export async function prepareDataset(source: string, opts: PrepareOptions = {}): Promise<PrepareResult> {
  source = await resolveSourcePath(source, opts.category);
  const src = await resolveSource(source, opts);
  if (src.kind === 'prepared') {
    if (opts.out) throw new DataError(`${source} is already a prepared dataset; there is nothing to prepare`);
    return { dataset: openDataset(src.dir), dir: src.dir, cached: true };
  }
  const cacheRoot = opts.cacheDir ?? defaultCacheDir();
  const useCache = opts.cache !== false || opts.out !== undefined;
  const files: SourceFile[] = [];
  for (const f of src.files)
    files.push({ path: path.resolve(f), bytes: statSync(f).size, sha256: await contentHash(f, useCache ? path.join(cacheRoot, 'hashes') : null, opts.progress) });
  const key = createHash('sha256')
    .update(JSON.stringify({ store: STORE_VERSION, readers: READERS_VERSION, kind: src.kind, files: files.map((f) => f.sha256), options: src.options }))
    .digest('hex');
  if (!useCache) return { dataset: await build(src, key, files, opts, null), dir: null, cached: false };

  const dir = opts.out ?? path.join(cacheRoot, 'datasets', `${src.name.replace(/[^\w.-]+/g, '_')}-${key.slice(0, 16)}`);
  if (opts.out) guardOutDir(opts.out);
  if (!opts.force && sameDatasetAt(dir, key)) return { dataset: openDataset(dir), dir, cached: true }; // else absent, older or damaged: build
  return { dataset: await build(src, key, files, opts, dir), dir, cached: false };
}

/** Loads a dataset: a prepared folder, a source file (through the cache), or "demo". */
export async function loadDataset(source: string, opts: LoadOptions = {}): Promise<Dataset> {
  // The demo takes about a second to synthesize and milliseconds to open from the cache: cached like any
  // source (keyed by the generator's version and settings). Where the cache cannot be written (a
  // read-only home, a full disk), it is made in memory instead.
  if (source === DEMO_SOURCE && opts.cache === undefined) {
    try {
      return (await prepareDataset(source, opts)).dataset;
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (!['EACCES', 'EROFS', 'EPERM', 'ENOSPC', 'ENOTDIR'].includes(code ?? '')) throw e;
      return (await prepareDataset(source, { ...opts, cache: false })).dataset;
    }
  }
  return (await prepareDataset(source, opts)).dataset;
}
