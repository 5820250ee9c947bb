// The engine handle: where native work runs (the CPU or one GPU), with which CPU kernel, how many
// threads and at which precision, resolved once (node-llama-cpp's getLlama() shape). Everything
// outside src/engine/ asks a handle for tables and kernels; only this folder touches the addon.
import os from 'node:os';

import { ISA_NAMES, PRECISIONS, loadCpuBinding, type CpuFeatures, type IsaName, type NativeCpuBinding, type Precision } from './binding.js';
import { resolveDevice, type Device, type ResolvedDevice } from './device.js';
import { ItemTable } from './item-table.js';
import { checkBootstrapSize } from '../util/limits.js';
import { describe, expectInteger, expectTypedArray } from './validate.js';

export type { Device } from './device.js';
export type { CpuFeatures, IsaName, Precision } from './binding.js';

export interface EngineOptions {
  /** 'cpu' (default), { gpu: N } (CUDA device N; an error naming what was found when it cannot be used), or 'auto' (GPU 0 when usable, else the CPU, said in `note`). */
  device?: Device;
  /** CPU kernel: 'auto' (default; or the REGEN_ISA environment variable) picks the best this CPU runs. */
  isa?: IsaName | 'auto';
  /** Threads per native call, the calling worker included (default: REGEN_THREADS, or every core). */
  threads?: number;
  /**
   * Tables' default precision. 'fp32' (default): float32 scores. 'bf16': queries and items rounded to
   * bfloat16, products summed in float32; twice as fast and half the memory, each score off by at most
   * about 2^-8 sum_j |q_j e_j|. Needs AVX512-BF16 on the CPU, or a GPU of compute capability 8.0+.
   */
  precision?: Precision;
}

/** The kernel to use: the requested one, else REGEN_ISA, else the best of `supported` (best first). */
function resolveIsa(requested: unknown, supported: IsaName[], limitedBy: string): IsaName {
  const fromEnv = requested === undefined && process.env.REGEN_ISA !== undefined && process.env.REGEN_ISA !== '';
  const value = requested ?? (fromEnv ? process.env.REGEN_ISA : 'auto');
  const source = fromEnv ? 'the REGEN_ISA environment variable' : 'options.isa';
  if (value === 'auto') return supported[0];
  if (typeof value !== 'string' || !(ISA_NAMES as readonly string[]).includes(value))
    throw new TypeError(`Expected ${source} to be one of auto, ${ISA_NAMES.join(', ')} but received ${describe(value)}`);
  if (!supported.includes(value as IsaName))
    throw new RangeError(`${source} asks for the ${value} kernels, but ${limitedBy} runs only: ${supported.join(', ')}. Use one of those, or 'auto'.`);
  return value as IsaName;
}

/** Threads for native work when none is asked for: REGEN_THREADS, else every core. */
export function defaultThreads(): number {
  return resolveThreads();
}

/** Threads for native work: the given number, else REGEN_THREADS, else every core. */
function resolveThreads(requested?: unknown): number {
  if (requested !== undefined) return expectInteger(requested, 'options.threads', 1, 1024);
  const env = process.env.REGEN_THREADS;
  if (env !== undefined && env !== '') {
    const n = Number(env);
    if (!Number.isInteger(n) || n < 1 || n > 1024)
      throw new RangeError(`Expected the REGEN_THREADS environment variable to be an integer in [1, 1024] but received ${JSON.stringify(env)}`);
    return n;
  }
  return os.availableParallelism();
}

function resolvePrecision(value: unknown, device: ResolvedDevice, binding: () => NativeCpuBinding): Precision {
  const precision = value ?? 'fp32';
  if (!(PRECISIONS as readonly unknown[]).includes(precision))
    throw new TypeError(`Expected options.precision to be one of ${PRECISIONS.join(', ')} but received ${describe(precision)}`);
  if (precision === 'bf16') {
    if (device.kind === 'cuda') {
      if (Number(device.info.computeCapability) < 8)
        throw new RangeError(
          `options.precision 'bf16' needs a GPU of compute capability 8.0 or newer; GPU ${device.index} (${device.info.name}) is ${device.info.computeCapability}. Use precision: 'fp32'.`,
        );
    } else if (!binding().bf16Supported())
      throw new RangeError(
        "options.precision 'bf16' needs a CPU with AVX-512 and AVX512-BF16, which this one lacks (see `regen-bench info`). Use precision: 'fp32'.",
      );
  }
  return precision as Precision;
}

export class Engine {
  readonly backend: 'cpu' | 'cuda';
  /** The CPU kernel of CPU tables ('cuda' on a GPU, whose kernels are the device's). */
  readonly isa: IsaName | 'cuda';
  readonly threads: number;
  /** Tables' default precision. */
  readonly precision: Precision;
  /** 'cpu', or 'cuda:N <name>'. */
  readonly deviceName: string;
  /** What device resolution decided and the user should know ('auto' falling back to the CPU). */
  readonly note?: string;
  /** @internal */
  readonly device: ResolvedDevice;

  private constructor(device: ResolvedDevice, isa: IsaName | 'cuda', threads: number, precision: Precision) {
    this.device = device;
    this.backend = device.kind;
    this.isa = isa;
    this.threads = threads;
    this.precision = precision;
    this.deviceName = device.kind === 'cuda' ? `cuda:${device.index} ${device.info.name}` : 'cpu';
    this.note = device.note;
  }

  /**
   * Resolves the device, kernel, threads and precision once; every error names the option and what
   * was found (no CUDA build, no driver, the device list, a CPU without AVX512-BF16).
   */
  static open(options: EngineOptions = {}): Engine {
    if (typeof options !== 'object' || options === null) throw new TypeError(`Expected engine options (an object) but received ${describe(options)}`);
    const device = resolveDevice(options.device);
    const precision = resolvePrecision(options.precision, device, loadCpuBinding);
    if (device.kind === 'cuda') return new Engine(device, 'cuda', 1, precision);
    const binding = loadCpuBinding();
    const isa = precision === 'bf16' ? resolveIsa(options.isa, ['avx512'], "precision 'bf16'") : resolveIsa(options.isa, binding.supportedIsas(), 'this CPU');
    return new Engine(device, isa, resolveThreads(options.threads), precision);
  }

  /**
   * The backend as signatures name it: cpu-<kernel>-<precision>, or cuda-<device name>-<precision>
   * (fp32 results are the same bits on both).
   */
  get name(): string {
    return this.device.kind === 'cuda'
      ? `cuda-${this.device.info.name.replace(/\s+/g, '_')}-${this.precision}`
      : `cpu-${this.isa}-${this.precision}`;
  }

  /**
   * Copies `items` (count x dim float32, row-major) into a table on this engine's device. The array
   * can be reused or changed afterwards; the table keeps its own copy until dispose().
   */
  createTable(items: Float32Array, options: { dim: number; precision?: Precision }): Promise<ItemTable> {
    if (typeof options !== 'object' || options === null)
      throw new TypeError(`Expected an options object { dim } for createTable but received ${describe(options)}`);
    const precision = options.precision === undefined ? this.precision : resolvePrecision(options.precision, this.device, loadCpuBinding);
    const isa = this.backend === 'cpu' && precision === 'bf16' && this.isa !== 'avx512' ? resolveIsa('avx512', loadCpuBinding().supportedIsas(), 'this CPU') : this.isa;
    return ItemTable.createOn(this, items, options.dim, precision, isa);
  }

  /**
   * Column sums of `samples` bootstrap resamples (n draws with replacement) of the rows of a
   * row-major n x columns matrix: samples x columns, on worker threads. Resample s draws from a
   * generator seeded by (seed, s), so results do not depend on the thread count.
   */
  bootstrapSums(values: Float64Array, columns: number, samples: number, seed: number): Promise<Float64Array> {
    expectTypedArray(values, Float64Array, 'values');
    expectInteger(columns, 'columns', 1, 2 ** 31 - 1);
    expectInteger(samples, 'samples', 1, 2 ** 31 - 1);
    expectInteger(seed, 'seed', 0, 2 ** 32 - 1);
    checkBootstrapSize(samples, columns, 'samples');
    if (values.length % columns !== 0)
      throw new RangeError(`Expected values.length to be a multiple of columns (${columns}) but received length ${values.length}`);
    return loadCpuBinding().bootstrapSums(values, columns, samples, seed, this.backend === 'cpu' ? this.threads : resolveThreads());
  }

  /**
   * The resampling sums of a paired test (src/eval/bootstrap.ts pairedTest, compare's corpus BLEU):
   * samples x columns sums over the rows of a row-major n x columns matrix, drawing from mulberry32
   * seeded with `seed` from its draw `skip` on, n draws per resample. 'negate' flips a row's sign when
   * its draw is below 0.5, 'swap' swaps its two halves, 'draw' adds row floor(u * n). Null with an
   * addon built before it (the callers then run their TypeScript loops, which give the same sums).
   */
  pairedSums(values: Float64Array, columns: number, samples: number, seed: number, skip: number, mode: 'negate' | 'swap' | 'draw'): Float64Array | null {
    expectTypedArray(values, Float64Array, 'values');
    expectInteger(columns, 'columns', 1, 2 ** 31 - 1);
    expectInteger(samples, 'samples', 1, 2 ** 31 - 1);
    expectInteger(skip, 'skip', 0, Number.MAX_SAFE_INTEGER);
    checkBootstrapSize(samples, columns, 'samples');
    if (values.length % columns !== 0)
      throw new RangeError(`Expected values.length to be a multiple of columns (${columns}) but received length ${values.length}`);
    const binding = loadCpuBinding();
    if (!binding.pairedSums) return null;
    const code = mode === 'negate' ? 0 : mode === 'swap' ? 1 : 2;
    // The engine's kernel choice holds here too (an engine opened with isa 'avx2' runs the portable loop).
    const avx512 = this.backend === 'cpu' ? this.isa === 'avx512' : binding.supportedIsas().includes('avx512');
    return binding.pairedSums(values, columns, samples, seed >>> 0, skip, code, this.backend === 'cpu' ? this.threads : resolveThreads(), avx512);
  }
}

/** A catalogue's trigram index for diceSearch: per title its ranks ascending, per rank its titles ascending (CSR). */
export interface DiceIndexArrays {
  titleOffsets: Int32Array;
  titleGrams: Int32Array;
  postOffsets: Int32Array;
  postTitles: Int32Array;
}

export interface DiceMatches {
  /** queries x maxMatches titles, best first (ties to the lower title), -1 padded. */
  titles: Int32Array;
  scores: Float64Array;
  /** Per query: how many titles are within the margin of the best (may exceed maxMatches). */
  counts: Int32Array;
  maxMatches: number;
}

function expectCsr(offsets: Int32Array, values: Int32Array, bound: number, name: string, ascending: boolean): void {
  expectTypedArray(offsets, Int32Array, `${name}.offsets`);
  expectTypedArray(values, Int32Array, `${name}.values`);
  if (offsets.length < 1 || offsets[0] !== 0 || offsets[offsets.length - 1] !== values.length)
    throw new RangeError(`Expected ${name} offsets from 0 to ${values.length} but received ${offsets[0]} .. ${offsets[offsets.length - 1]}`);
  for (let r = 0; r + 1 < offsets.length; r++) {
    if (offsets[r + 1] < offsets[r]) throw new RangeError(`Expected ${name} offsets to be non-decreasing but offset ${r + 1} is ${offsets[r + 1]} < ${offsets[r]}`);
    for (let p = offsets[r]; p < offsets[r + 1]; p++) {
      const v = values[p];
      if (!(v >= 0 && v < bound) || (ascending && p > offsets[r] && v <= values[p - 1]))
        throw new RangeError(`Expected ${name} row ${r} to hold ${ascending ? 'ascending distinct ' : ''}values in [0, ${bound}) but it holds ${v} at ${p}`);
    }
  }
}

/**
 * Fuzzy title matching on the native kernels (native/text/dice_search.cpp): per query (its trigram
 * ranks ascending, and its size counting trigrams no title has), among the titles whose trigram Dice
 * is at least floor, the best and every title within margin of it. Null when the addon predates it
 * (the caller matches in TypeScript).
 */
export function diceSearch(
  index: DiceIndexArrays,
  queries: { offsets: Int32Array; grams: Int32Array; sizes: Int32Array },
  floor: number,
  margin: number,
  maxMatches: number,
): Promise<DiceMatches> | null {
  let binding: NativeCpuBinding;
  try {
    binding = loadCpuBinding();
  } catch (e) {
    if (e instanceof RangeError) throw e; // a bad REGEN_SPIN_US, not a missing addon
    return null;
  }
  if (!binding.diceSearch) return null;
  const titles = index.titleOffsets.length - 1;
  const grams = index.postOffsets.length - 1;
  expectCsr(index.titleOffsets, index.titleGrams, grams, 'index.titleGrams', true);
  expectCsr(index.postOffsets, index.postTitles, titles, 'index.postTitles', true);
  expectCsr(queries.offsets, queries.grams, grams, 'queries.grams', true);
  expectTypedArray(queries.sizes, Int32Array, 'queries.sizes');
  if (queries.sizes.length !== queries.offsets.length - 1)
    throw new RangeError(`Expected one queries.sizes entry per query (${queries.offsets.length - 1}) but received ${queries.sizes.length}`);
  queries.sizes.forEach((n, q) => {
    if (n < queries.offsets[q + 1] - queries.offsets[q]) throw new RangeError(`Expected queries.sizes[${q}] >= its ${queries.offsets[q + 1] - queries.offsets[q]} known trigrams but received ${n}`);
  });
  if (!(floor > 0 && floor <= 1)) throw new RangeError(`Expected floor in (0, 1] but received ${describe(floor)}`);
  if (!(margin >= 0 && margin < 1)) throw new RangeError(`Expected margin in [0, 1) but received ${describe(margin)}`);
  expectInteger(maxMatches, 'maxMatches', 1, 4096);
  return binding
    .diceSearch({ ...index, queryOffsets: queries.offsets, queryGrams: queries.grams, querySizes: queries.sizes, floor, margin, maxMatches, threads: resolveThreads() })
    .then((r) => ({ ...r, maxMatches }));
}

/** The CPU engine with default settings (REGEN_ISA and REGEN_THREADS as they are now). */
export function defaultEngine(): Engine {
  return Engine.open();
}

/** What this CPU and the CPU addon run (for `regen-bench info`, kernel loops in tests and benches). */
export function cpuCapabilities(): {
  supportedIsas: IsaName[];
  bf16: boolean;
  features: CpuFeatures;
  hardwareThreads: number;
  /** How long idle engine threads spin before sleeping (REGEN_SPIN_US); null from an addon built before it. */
  spinMicroseconds: number | null;
} {
  const binding = loadCpuBinding();
  return {
    supportedIsas: binding.supportedIsas(),
    bf16: binding.bf16Supported(),
    features: binding.cpuFeatures(),
    hardwareThreads: binding.hardwareThreads(),
    spinMicroseconds: binding.spinMicroseconds?.() ?? null,
  };
}

/** The native text kernels (BLEU/ROUGE statistics, the Porter stemmer); null without an addon that has them. */
export interface TextKernels {
  bleuChunkStats(text: string, layout: Int32Array, tokenize13a: boolean): Int32Array;
  rougeChunkStats(text: string, layout: Int32Array, types: Int32Array, stem: boolean): Int32Array;
  porterStem(word: string): string;
  /** Both statistics of a chunk off the calling thread (absent in an addon built before it). */
  textChunkStats?(text: string, layout: Int32Array, bleu: 0 | 1 | 2, types: Int32Array, stem: boolean): Promise<{ bleu: Int32Array; rouge: Int32Array }>;
}

export function textKernels(): TextKernels | null {
  let binding: NativeCpuBinding;
  try {
    binding = loadCpuBinding();
  } catch (e) {
    if (e instanceof RangeError) throw e; // a bad REGEN_SPIN_US, not a missing addon
    return null; // no addon: the TypeScript implementation computes the same numbers
  }
  const { bleuChunkStats, rougeChunkStats, porterStem, textChunkStats } = binding;
  if (!bleuChunkStats || !rougeChunkStats || !porterStem) return null;
  return { bleuChunkStats, rougeChunkStats, porterStem, ...(textChunkStats ? { textChunkStats } : {}) };
}
