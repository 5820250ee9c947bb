// The command line's flags, defined once: parsers that name the flag in their errors, the options
// that several commands share (same name, same meaning, same range everywhere), and the map from
// library options to flags that turns the library's OptionErrors into messages about flags.
import { Command, Option } from 'commander';

import { DEMO_SOURCE, SOURCE_FORMATS, type LoadOptions } from '../data/load.js';
import type { Device } from '../engine/engine.js';
import type { SplitName, TaskId } from '../tasks/examples.js';
import { formatLimit, LIMITS, setLimit } from '../util/limits.js';
import type { OptionLabel } from '../util/option-error.js';

// ---------------------------------------------------------------------------------------------
// Parsers

export function intIn(flag: string, lo: number, hi = Number.MAX_SAFE_INTEGER) {
  return (value: string): number => {
    const n = Number(value);
    if (value.trim() === '' || !Number.isInteger(n) || n < lo || n > hi)
      throw new Error(`${flag} expects an integer in [${lo}, ${hi === Number.MAX_SAFE_INTEGER ? '...' : hi}] but received '${value}'`);
    return n;
  };
}

/** A number in [lo, hi], or (lo, hi] when `loOpen`. */
export function numberIn(flag: string, lo: number, hi: number, loOpen = false) {
  return (value: string): number => {
    const n = Number(value);
    if (value.trim() === '' || !Number.isFinite(n) || n > hi || (loOpen ? n <= lo : n < lo))
      throw new Error(`${flag} expects a number in ${loOpen ? '(' : '['}${lo}, ${hi}] (e.g. ${flag} ${hi === 1 ? 0.3 : hi}) but received '${value}'`);
    return n;
  };
}

function parseShard(value: string): { index: number; count: number } {
  const m = /^(\d+)\/(\d+)$/.exec(value);
  const index = m ? Number(m[1]) : NaN;
  const count = m ? Number(m[2]) : NaN;
  if (!m || count < 1 || index >= count)
    throw new Error(`--shard expects i/n with 0 <= i < n (e.g. --shard 0/8, or --shard $JOB_COMPLETION_INDEX/8) but received '${value}'`);
  return { index, count };
}

/** One cut-off (10) or several (5,10,20): a number for one, an array for several. */
function parseCutoffs(value: string): number | number[] {
  const list = value.split(',').map((x) => x.trim());
  const one = intIn('--k', 1, 100_000);
  const parsed = list.map((x) => {
    try {
      return one(x);
    } catch {
      throw new Error(`--k expects one cut-off or a comma-separated list of integers in [1, 100000] (e.g. --k 10 or --k 5,10,20) but received '${value}'`);
    }
  });
  const twice = parsed.find((c, i) => parsed.indexOf(c) !== i);
  if (twice !== undefined) throw new Error(`--k lists the cut-off ${twice} twice in '${value}': give each once (e.g. --k 5,10,20)`);
  return parsed.length === 1 ? parsed[0] : parsed.sort((a, b) => a - b);
}

/** --gpu N (a device index) or --gpu auto (GPU 0 when usable, else the CPU). */
function parseGpu(value: string): Device {
  if (value === 'auto') return 'auto';
  return { gpu: intIn('--gpu', 0, 1024)(value) };
}

// ---------------------------------------------------------------------------------------------
// Shared options: one definition each, so every command spells and checks them alike.

export const flags = {
  /** --task 1|2|3. */
  /** --task 1|2|3 (no default with `fallback` null). */
  task: (description = 'task: 1 (history -> item), 2 (+ critique), 3 (+ critique -> item + narrative)', fallback: 1 | 2 | 3 | null = 3) => {
    const o = new Option('--task <n>', description).argParser(intIn('--task', 1, 3));
    return fallback === null ? o : o.default(fallback);
  },
  split: (description = 'examples: the test split, or valid') => new Option('--split <name>', description).choices(['test', 'valid']).default('test'),
  /** --k: the ranked list's length (and the cut-off of Recall@k and NDCG@k). */
  k: (description: string, fallback: number) => new Option('--k <n>', description).argParser(intIn('--k', 1, 100_000)).default(fallback),
  /** --k 10 or --k 5,10,20: the cut-offs of Recall@k and NDCG@k (eval; the lists are as long as the largest). */
  cutoffs: (description: string, fallback: number) =>
    new Option('--k <n[,n...]>', description).argParser(parseCutoffs).default(fallback),
  gpu: (description = 'run on GPU n, or "auto" (GPU 0 when usable, else the CPU, and says so)') => new Option('--gpu <n|auto>', description).argParser(parseGpu),
  precision: (description: string) => new Option('--precision <p>', description).choices(['fp32', 'bf16']),
  seed: (description: string, fallback = 0) => new Option('--seed <n>', description).argParser(intIn('--seed', 0, 2 ** 32 - 1)).default(fallback),
  /** --bootstrap: resamples of every bootstrap interval and paired test. */
  bootstrap: (description = 'bootstrap resamples', fallback: number | null = 1000) => {
    const o = new Option('--bootstrap <n>', description).argParser(intIn('--bootstrap', 1, 1_000_000));
    return fallback === null ? o : o.default(fallback);
  },
  shard: () => new Option('--shard <i/n>', 'evaluate shard i of n (0-based) and write a mergeable part to --out').argParser(parseShard),
  fusionWeight: () =>
    new Option('--fusion-weight <w>', 'critique models: a fixed fusion weight in [0, 1] instead of the one tuned on the valid split').argParser(numberIn('--fusion-weight', 0, 1)),
  threads: (description = 'threads (default: every core)') => new Option('--threads <n>', description).argParser(intIn('--threads', 1, 1024)),
  // Decoding (generate, and the LLM narrator of eval and baseline).
  maxNewTokens: (description: string, fallback = 64) =>
    new Option('--max-new-tokens <n>', description).argParser(intIn('--max-new-tokens', 1, 65536)).default(fallback),
  temperature: () => new Option('--temperature <t>', '0: greedy; otherwise sample from softmax(score / t)').argParser(numberIn('--temperature', 0, 100)).default(0),
  topK: () => new Option('--top-k <n>', 'sampling: keep the n best tokens (0: all)').argParser(intIn('--top-k', 0)).default(0),
  topP: () => new Option('--top-p <p>', 'sampling: keep the smallest best-first set of probability >= p (1: all)').argParser(numberIn('--top-p', 0, 1, true)).default(1),
  batch: (description = 'rows decoded together', fallback = 32) => new Option('--batch <n>', description).argParser(intIn('--batch', 1, 4096)).default(fallback),
  maxWords: (description = 'prompt budget in words; the oldest purchases are dropped to fit (default 2048)') => new Option('--max-words <n>', description).argParser(intIn('--max-words', 1)),
  /** --narrative kinds (comma-separated snake_case names, or all). */
  narrative: (description: string) => new Option('--narrative <kinds>', description),
  /** --allow-bad-input: exit 0 although an input's share of bad lines or ids is above the limit. */
  allowBadInput: () =>
    new Option(
      '--allow-bad-input',
      `exit 0 even when more than ${formatLimit('badShare', LIMITS.badShare.default)} of an input's lines or ids are bad (${LIMITS.badShare.env}; the report counts them either way)`,
    ),
  /** --max-line-bytes: the line limit of every line-based input of the command (src/util/limits.ts). */
  maxLineBytes: () =>
    new Option('--max-line-bytes <n>', `longest input line read, in bytes (default ${formatLimit('lineBytes', LIMITS.lineBytes.default)}, ${LIMITS.lineBytes.env})`).argParser(
      intIn('--max-line-bytes', 1, LIMITS.lineBytes.max),
    ),
  /** --max-segment-tokens: the longest text scored by BLEU and ROUGE. */
  maxSegmentTokens: () =>
    new Option('--max-segment-tokens <n>', `longest text segment scored, in tokens (default ${formatLimit('segmentTokens', LIMITS.segmentTokens.default)}, ${LIMITS.segmentTokens.env})`).argParser(
      intIn('--max-segment-tokens', 1, LIMITS.segmentTokens.max),
    ),
};

/** The narrative kinds a --narrative value names (parsed and checked by the library). */
export const narrativeList = (value: string | undefined): string[] | undefined => value?.split(',').map((s) => s.trim()).filter(Boolean);

/** The LLM narrator's flags (eval and baseline): `--narrator onnx:DIR` decodes with these. */
export function narratorFlags(cmd: Command): Command {
  return cmd
    .addOption(flags.maxNewTokens('--narrator onnx:DIR: tokens generated per narrative at most'))
    .addOption(flags.temperature())
    .addOption(flags.topK())
    .addOption(flags.topP())
    .addOption(new Option('--sampling-seed <n>', 'seed of the narrator\'s draws when sampling (eval\'s --seed is the bootstrap\'s)').argParser(intIn('--sampling-seed', 0, 2 ** 32 - 1)).default(0))
    .addOption(flags.batch('--narrator onnx:DIR: prompts decoded together', 16))
    .addOption(flags.maxWords('--narrator onnx:DIR: prompt budget in words before the item is filled in; the oldest purchases are dropped to fit (default 2048)'))
    .option('--generation-cache <dir>', '--narrator onnx:DIR: where generations are cached (default the generations/ folder of the cache)')
    .option('--no-generation-cache', 'generate every narrative again, and keep nothing');
}

export interface NarratorFlags {
  maxNewTokens: number;
  temperature: number;
  topK: number;
  topP: number;
  samplingSeed: number;
  batch: number;
  maxWords?: number;
  generationCache?: string | boolean;
}

/** The narrator options the narrator flags stand for. */
export function narratorOptions(f: NarratorFlags) {
  return {
    maxNewTokens: f.maxNewTokens,
    sampling: { temperature: f.temperature, topK: f.topK, topP: f.topP, seed: f.samplingSeed },
    batch: f.batch,
    maxWords: f.maxWords,
    ...(f.generationCache === false ? { generationCache: null } : typeof f.generationCache === 'string' ? { generationCache: f.generationCache } : {}),
  };
}

/** Applies a command's limit flags (--max-line-bytes, --max-segment-tokens) for the rest of the process. */
export function applyLimitFlags(opts: { maxLineBytes?: number; maxSegmentTokens?: number }): void {
  if (opts.maxLineBytes !== undefined) setLimit('lineBytes', opts.maxLineBytes);
  if (opts.maxSegmentTokens !== undefined) setLimit('segmentTokens', opts.maxSegmentTokens);
}

/** Exit status of a command whose report was written but whose input is worse than the bad-share limit. */
export const EXIT_BAD_INPUT = 3;

/** Prints why the input is too bad and sets the exit status (3), unless --allow-bad-input. */
export function failOnBadInput(problems: readonly string[], allow: boolean | undefined): void {
  if (problems.length === 0) return;
  for (const p of problems) process.stderr.write(`regen-bench: ${allow ? 'accepted (--allow-bad-input): ' : ''}${p}\n`);
  if (!allow) process.exitCode = EXIT_BAD_INPUT;
}

/** --data and how it is read (--format, --schema, --cache-dir): every command that reads a dataset. */
export function dataFlags(cmd: Command, fallback: string | null = DEMO_SOURCE): Command {
  const data = new Option(
    '--data <source>',
    `dataset: a REGEN jsonl or a folder of them (the release's regen/REGEN/, data synth --out; see --category), an Amazon 2018 file, plain sequences, a MiniOneRec folder, a prepared folder, or "${DEMO_SOURCE}" (the embedded demo)`,
  );
  return cmd
    .addOption(fallback === null ? data : data.default(fallback))
    .option('--category <name>', '--data is a folder of REGEN files of several categories: the one to read (office, clothing, ...)')
    .addOption(new Option('--format <format>', 'source format (default: told apart from the file)').choices(['auto', ...SOURCE_FORMATS]))
    .option('--schema <file.json>', 'REGEN: key names for the unconfirmed fields (critique, narratives, scores, sentinel)')
    .option('--cache-dir <dir>', 'dataset cache folder (default: $REGEN_BENCH_CACHE, else the user cache folder: ~/.cache/regen-bench on Linux)')
    .addOption(flags.maxLineBytes());
}

export interface DataFlags {
  data: string;
  category?: string;
  format?: string;
  schema?: string;
  cacheDir?: string;
}

/** The LoadOptions the data flags stand for. */
export function dataOptions(f: DataFlags): Pick<LoadOptions, 'category' | 'format' | 'schema' | 'cacheDir'> {
  return { category: f.category, format: f.format as LoadOptions['format'], schema: f.schema, cacheDir: f.cacheDir };
}

/** What eval and baseline read alike: the data, the task, the model and how its lists are ranked. */
export interface ModelRunFlags extends DataFlags, NarratorFlags {
  task: TaskId;
  narrative?: string;
  split: SplitName;
  model?: string;
  narrator?: string;
  encoder?: string;
  offline?: boolean;
  fusionWeight?: number;
  /** eval: one cut-off or several (--k 5,10,20); baseline: the lists' length. */
  k: number | number[];
  gpu?: Device;
  excludeHistory: boolean;
  strict?: boolean;
}

/** The library options the shared flags of eval and baseline stand for. */
export function modelRunOptions(f: ModelRunFlags) {
  return {
    data: f.data,
    dataOptions: dataOptions(f),
    task: f.task,
    split: f.split,
    model: f.model,
    narrator: f.narrator,
    narratorOptions: narratorOptions(f),
    narratives: narrativeList(f.narrative),
    encoder: f.encoder,
    offline: f.offline,
    fusionWeight: f.fusionWeight,
    k: f.k,
    device: f.gpu,
    excludeHistory: f.excludeHistory,
    strict: f.strict,
  };
}

// ---------------------------------------------------------------------------------------------
// Library options -> flags

/** Library options whose flag is not their own name in kebab case. */
const FLAG_OF: Record<string, string> = {
  device: '--gpu',
  gpu: '--gpu',
  bootstrapSamples: '--bootstrap',
  samples: '--bootstrap',
  semsimCacheDir: '--embedding-cache',
  embeddingCacheDir: '--embedding-cache',
  narratives: '--narrative',
  'budget.total': '--max-words',
  'budget.fields': '--field-words',
};

const kebab = (s: string) => s.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);

/** The flag that sets a library option (an OptionError's `option`): device -> --gpu, sampling.topK -> --top-k. */
export const flagLabel: OptionLabel = (option) => FLAG_OF[option] ?? `--${kebab(option.split('.').pop()!)}`;
