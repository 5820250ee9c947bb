// The one place that knows how the native addon is found and what it exports: the JS <-> C++
// contract, readable in one file (native/napi/addon_cpu.cpp and addon_cuda.cpp are the other side).
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export type IsaName = 'scalar' | 'avx2' | 'avx512';
export const ISA_NAMES: readonly IsaName[] = ['scalar', 'avx2', 'avx512'];

/** How scores are computed: float32, or bfloat16 inputs with float32 sums (AVX512-BF16 only). */
export type Precision = 'fp32' | 'bf16';
export const PRECISIONS: readonly Precision[] = ['fp32', 'bf16'];

export interface CpuFeatures {
  x86_64: boolean;
  fma: boolean;
  avx2: boolean;
  avx512f: boolean;
  avx512bw: boolean;
  avx512dq: boolean;
  avx512vl: boolean;
  avx512bf16: boolean;
  amxTile: boolean;
  amxBf16: boolean;
  /** 512-bit operations run as two 256-bit halves (AMD Zen 4): small batches then scan items in lanes. */
  zmmSplit: boolean;
}

/** Arguments of NativeTable.search; outputs are filled in place. Validated by the caller. */
export interface NativeSearchArgs {
  queries: Float32Array;
  rows: number;
  k: number;
  excludeOffsets: Int32Array | null;
  excludeIds: Int32Array | null;
  targets: Int32Array | null;
  bias: Float32Array | null;
  ids: Int32Array;
  scores: Float32Array;
  logZ: Float32Array;
  targetRank: Int32Array | null;
  targetLogProb: Float32Array | null;
  /** false: no log-sum-exp (the CPU kernels skip it; logZ is NaN). Absent: true. */
  withLogZ?: boolean;
}

/**
 * Arguments of crossEntropy on a native table (native/include/regen/xent.h). The addon copies the
 * inputs before it returns; loss and gradQueries are filled when it settles, and gradItems and
 * gradBias are added to (+=) then, on the main thread. Validated by the caller.
 */
export interface NativeCrossEntropyArgs {
  queries: Float32Array;
  rows: number;
  targets: Int32Array;
  excludeOffsets: Int32Array | null;
  excludeIds: Int32Array | null;
  bias: Float32Array | null;
  rowWeights: Float32Array | null;
  gradItems: Float32Array | null;
  gradBias: Float32Array | null;
  loss: Float32Array;
  gradQueries: Float32Array;
}

/**
 * The AVX-512 kernel of searches of at most 8 rows: 'auto' ('blocked'), items in 'lanes' (transposed
 * from the rows as they are read), two items per 512-bit vector ('paired'), or items in lanes read
 * from a blocked copy of the table ('blocked': built by the first such search, the table's memory
 * twice over from then on). The scores, ids and ranks are the same bits in every one.
 */
export const SMALL_BATCH_KERNELS = ['auto', 'lanes', 'paired', 'blocked'] as const;
export type SmallBatchKernel = (typeof SMALL_BATCH_KERNELS)[number];

/** The CPU kernel and thread count of a CPU call (a GPU's kernels are the device's). */
export interface CpuKernel {
  isa: IsaName;
  threads: number;
  /** Absent: 'auto'. */
  smallBatchKernel?: SmallBatchKernel;
}

/** fmaPeak's answer: GFLOP/s over the slowest thread's elapsed time, and over its CPU time. */
export interface FmaPeak {
  wallGflops: number;
  cpuGflops: number;
}

/** readBandwidth's answer: GB/s over the slowest thread's elapsed time, and over its CPU time. */
export interface ReadBandwidth {
  wallGbps: number;
  cpuGbps: number;
}

/** A table the CPU addon owns. */
export interface NativeCpuTable {
  search(args: NativeSearchArgs & CpuKernel): Promise<void>;
  /** The fused cross-entropy forward and backward. Missing from addons built before it. */
  crossEntropy?(args: NativeCrossEntropyArgs & CpuKernel): Promise<{ scratchBytes: number }>;
  /** New values for every item (count x dim), copied now; running calls keep the old ones. Missing from older addons. */
  setItems?(items: Float32Array): void;
  dispose(): void;
}

/** A table resident on a GPU (native/napi/addon_cuda.cpp). */
export interface NativeCudaTable {
  search(args: NativeSearchArgs): Promise<void>;
  /** The fused cross-entropy forward and backward. Missing from addons built before it. */
  crossEntropy?(args: NativeCrossEntropyArgs): Promise<{ scratchBytes: number }>;
  /** New values for every item (count x dim), uploaded now; running calls keep the old ones. Missing from older addons. */
  setItems?(items: Float32Array): void;
  dispose(): void;
  /** The largest k this GPU's shared memory allows. */
  maxK(): number;
}

export type NativeTable = NativeCpuTable | NativeCudaTable;

/** Arguments of decodeStep (native/include/regen/step.h); outputs are filled in place. Validated by the caller. */
export interface NativeStepArgs<T extends NativeTable = NativeTable> {
  /** The tables rows are scored against (same dim); `table[r]` indexes this list. */
  tables: T[];
  hidden: Float32Array;
  rows: number;
  table: Int32Array;
  k: number;
  excludeOffsets: Int32Array | null;
  excludeIds: Int32Array | null;
  streams: Uint32Array | null;
  steps: Uint32Array | null;
  /** 0: greedy. */
  temperature: number;
  topK: number;
  topP: number;
  /** An integer in [0, 2^53). */
  seed: number;
  candidates: number;
  token: Int32Array;
  logProb: Float32Array;
  logZ: Float32Array;
  ids: Int32Array;
  scores: Float32Array;
}

/** diceSearch's arguments: the catalogue's trigram index and the queries (CSR, ranks ascending). */
export interface NativeDiceArgs {
  titleOffsets: Int32Array;
  titleGrams: Int32Array;
  postOffsets: Int32Array;
  postTitles: Int32Array;
  queryOffsets: Int32Array;
  queryGrams: Int32Array;
  querySizes: Int32Array;
  floor: number;
  margin: number;
  maxMatches: number;
  threads: number;
}

/** The transformer body's configuration (native/include/regen/train.h ModelConfig). */
export interface NativeTrainConfig {
  items: number;
  dim: number;
  layers: number;
  heads: number;
  ffnDim: number;
  maxLen: number;
  causal: boolean;
  maskToken: boolean;
  contentDim: number;
  critiqueDim: number;
  dropout: number;
  attnDropout: number;
  initStd: number;
}

export interface NativeTensorInfo {
  name: string;
  offset: number;
  shape: number[];
  /** AdamW weight decay applies. */
  decay: boolean;
}

export interface NativeRunArgs {
  isa: IsaName;
  threads: number;
}

/** A batch of packed sequences for NativeTrainModel.forward (copied by the call). Validated by the caller. */
export interface NativeTrainBatch extends NativeRunArgs {
  offsets: Int32Array;
  inputs: Int32Array;
  outIndex: Int32Array;
  critiquePos: Int32Array | null;
  critiqueFeats: Float32Array | null;
  training: boolean;
  /** Dropout masks are a function of (seed, step, site, index); both uint32. */
  seed: number;
  step: number;
}

export interface NativeAdamW {
  lr: number;
  beta1: number;
  beta2: number;
  eps: number;
  weightDecay: number;
  /** Step number from 1. */
  t: number;
}

export type NativeTrainState = 'params' | 'grads' | 'm' | 'v';

/** The transformer body of regen/train.h: one call at a time (a second one while a call runs throws). */
export interface NativeTrainModel {
  tensors(): NativeTensorInfo[];
  numParams(): number;
  bytes(): number;
  getState(which: NativeTrainState): Float32Array;
  setState(which: NativeTrainState, values: Float32Array): void;
  setContent(content: Float32Array): void;
  /** The output table (items x dim) for the current parameters. */
  rows(args: NativeRunArgs): Promise<Float32Array>;
  /** Hidden states of batch.outIndex (rows x dim). */
  forward(batch: NativeTrainBatch): Promise<Float32Array>;
  /** forward, the mean full-catalogue cross-entropy of the outIndex rows against targets (regen/xent.h; bf16 scores with precision 'bf16'), backward and one AdamW step; resolves with the loss. */
  trainStep(args: NativeTrainBatch & { targets: Int32Array; adam: NativeAdamW; precision: Precision }): Promise<number>;
  /** Gradients of the last forward from dHidden (and dRows: items x dim, the output table's), then an AdamW step with adam. */
  backward(args: NativeRunArgs & { dHidden: Float32Array; dRows: Float32Array | null; adam?: NativeAdamW }): Promise<void>;
  dispose(): void;
}

export interface NativeCpuBinding {
  backend: 'cpu';
  /** Copies items (count x dim, row-major) into a table the addon owns, on a worker thread. */
  createTable(items: Float32Array, count: number, dim: number, precision: Precision): Promise<NativeCpuTable>;
  cpuFeatures(): CpuFeatures;
  /** The kernels this CPU can run, best first. */
  supportedIsas(): IsaName[];
  hardwareThreads(): number;
  /** How long idle engine threads spin before sleeping, in microseconds (REGEN_SPIN_US). Missing from addons built before it. */
  spinMicroseconds?(): number;
  setSpinMicroseconds?(us: number): void;
  /** Whether this CPU runs bf16 tables (AVX-512 with AVX512-BF16). */
  bf16Supported(): boolean;
  /** Column sums of `samples` bootstrap resamples of the rows of values (n x columns), seeded, on worker threads. */
  bootstrapSums(values: Float64Array, columns: number, samples: number, seed: number, threads: number): Promise<Float64Array>;
  /**
   * The resampling sums of compare's paired tests on mulberry32's stream (src/util/random.ts): mode 0
   * negates a row when its draw is below 0.5, 1 swaps its two halves, 2 draws rows floor(u * n);
   * resample s starts at draw skip + s * n; avx512 lets one-column rows take the AVX-512 loop. Bit-identical
   * to the TypeScript loops. Synchronous.
   */
  pairedSums?(values: Float64Array, columns: number, samples: number, seed: number, skip: number, mode: 0 | 1 | 2, threads: number, avx512: boolean): Float64Array;
  /**
   * Fuzzy title matching (src/models/title-resolver.ts): per query, among the titles whose trigram Dice
   * is at least floor, the best and those within margin of it, best first, maxMatches per query
   * (counts: how many there are). On worker threads.
   * Missing from addons built before answers by title.
   */
  diceSearch?(args: NativeDiceArgs): Promise<{ titles: Int32Array; scores: Float64Array; counts: Int32Array }>;
  /**
   * BLEU segment statistics (sacrebleu, 4-grams) of a chunk: text = every text back to back,
   * layout = per pair [nrefs, hyp length, ref lengths...] in UTF-16 code units; returns
   * pairs x 10 [sys_len, ref_len, correct_1..4, total_1..4]. Synchronous; texts already lower-cased
   * if wanted. Missing from addons built before the text metrics.
   */
  bleuChunkStats?(text: string, layout: Int32Array, tokenize13a: boolean): Int32Array;
  /**
   * rouge-score statistics of a chunk (layout as bleuChunkStats); types: n for rougeN, 0 rougeL,
   * -1 rougeLsum; returns pairs x 3 x types [matches, prediction count, target count].
   */
  rougeChunkStats?(text: string, layout: Int32Array, types: Int32Array, stem: boolean): Int32Array;
  /**
   * Both chunk statistics at once on a libuv thread (the caller goes on meanwhile): bleu 0 skips BLEU,
   * 1 tokenizes with 13a, 2 with 'none'; the numbers of bleuChunkStats and rougeChunkStats.
   */
  textChunkStats?(text: string, layout: Int32Array, bleu: 0 | 1 | 2, types: Int32Array, stem: boolean): Promise<{ bleu: Int32Array; rouge: Int32Array }>;
  /** NLTK PorterStemmer (NLTK_EXTENSIONS) of a lower-case ASCII word (for the tests). */
  porterStem?(word: string): string;
  /**
   * One step of dual-vocabulary decoding: each row scored against its table in the engine's fused
   * pass, then greedy or sampled (seeded Gumbel-max). Missing from addons built before LUMEN decoding.
   */
  decodeStep?(args: NativeStepArgs<NativeCpuTable> & CpuKernel): Promise<void>;
  /** decodeStep on the calling thread (for steps too small to be worth a thread handoff). */
  decodeStepSync?(args: NativeStepArgs<NativeCpuTable> & CpuKernel): void;
  /** search()'s scores of one query against listed items, bit for bit (synchronous; for the tests). */
  scoreItems?(table: NativeCpuTable, query: Float32Array, ids: Int32Array, isa: IsaName): Float32Array;
  /**
   * GFLOP/s of independent FMA chains (bf16: AVX512-BF16 dot products) on `threads` threads for
   * about `seconds`: the hardware ceiling benchmarks compare against. Missing from older addons.
   */
  fmaPeak?(isa: IsaName, precision: Precision, threads: number, seconds: number): Promise<FmaPeak>;
  /** The scan kernel a search of `rows` rows runs (tests). */
  scanKernelKind?(isa: IsaName, precision: Precision, rows: number, dim: number, smallBatchKernel: SmallBatchKernel): 'lanes' | 'paired' | 'blocked' | 'rows';
  /** Memory read bandwidth of `threads` threads streaming a `bytes` buffer. Missing from addons built before it. */
  readBandwidth?(threads: number, bytes: number, seconds: number): Promise<ReadBandwidth>;
  /** A transformer body for training (regen/train.h), parameters initialised from seed. Missing from addons built before training. */
  createTrainModel?(config: NativeTrainConfig, seed: number): Promise<NativeTrainModel>;
}

const packageRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

/** Where a binary may be, in the order they are tried: a local build, then the prebuilt one for this platform. */
export function cpuBinaryCandidates(): string[] {
  // An explicit addon, tried alone: the sanitizer build (npm run test:asan) or one under test.
  if (process.env.REGEN_CPU_BINARY) return [path.resolve(process.env.REGEN_CPU_BINARY)];
  return [
    path.join(packageRoot, 'build', 'Release', 'regen_cpu.node'),
    path.join(packageRoot, 'prebuilds', `${process.platform}-${process.arch}`, 'regen_cpu.node'),
  ];
}

/** Where the CUDA addon may be, in the order they are tried (built when nvcc was found at build time). */
export function cudaBinaryCandidates(): string[] {
  return [
    path.join(packageRoot, 'build', 'Release', 'regen_cuda.node'),
    path.join(packageRoot, 'prebuilds', `${process.platform}-${process.arch}`, 'regen_cuda.node'),
  ];
}

export interface CudaDevice {
  index: number;
  name: string;
  /** e.g. '9.0' */
  computeCapability: string;
  memoryBytes: number;
  multiprocessors: number;
}

export interface CudaDeviceStatus {
  /** e.g. 13000 for CUDA 13.0; 0 when no NVIDIA driver could be loaded. */
  driverVersion: number;
  /** The CUDA runtime the addon was built with. */
  runtimeVersion: number;
  /** Why the devices could not be listed, or null. */
  error: string | null;
  devices: CudaDevice[];
}

/** The CUDA addon (native/napi/addon_cuda.cpp): item tables resident on one GPU. */
export interface NativeCudaBinding {
  backend: 'cuda';
  devices(): CudaDeviceStatus;
  /** Copies items (count x dim, row-major) to GPU `device`, on a worker thread. */
  createTable(items: Float32Array, count: number, dim: number, precision: Precision, device: number): Promise<NativeCudaTable>;
  /** search()'s scores of one query against listed items, bit for bit (synchronous; for the tests). */
  scoreItems(table: NativeCudaTable, query: Float32Array, ids: Int32Array): Float32Array;
  /** The decoding step (regen/step.h) over GPU tables. */
  decodeStep(args: NativeStepArgs<NativeCudaTable>): Promise<void>;
}

let cudaCached: { binding: NativeCudaBinding; file: string } | { binding: null; reason: string } | undefined;

/** Loads the CUDA addon once; when there is none (or it does not load), says why. */
export function loadCudaBinding(): { binding: NativeCudaBinding; file: string } | { binding: null; reason: string } {
  if (cudaCached) return cudaCached;
  const require = createRequire(import.meta.url);
  const tried: string[] = [];
  for (const file of cudaBinaryCandidates()) {
    if (!existsSync(file)) continue;
    try {
      cudaCached = { binding: require(file) as NativeCudaBinding, file };
      return cudaCached;
    } catch (e) {
      tried.push(`${file}: ${(e as Error).message.split('\n')[0]}`);
    }
  }
  cudaCached = {
    binding: null,
    reason: tried.length
      ? `the CUDA addon did not load (${tried.join('; ')})`
      : 'this build of regen-bench has no CUDA backend (regen_cuda.node was not built: the CUDA backend is built when asked, with nvcc on PATH: ' +
        '`REGEN_CUDA=ON npm rebuild regen-bench`, or `REGEN_CUDA=ON npm run build:native` in a checkout; the linux-x64 package ships it prebuilt)',
  };
  return cudaCached;
}

let cached: NativeCpuBinding | undefined;

/**
 * REGEN_SPIN_US: how long idle engine threads (and a caller waiting for them) spin, yielding the
 * CPU, before they sleep; null when unset (the addon's default, 200). 0 sleeps at once, for machines
 * shared with other busy work.
 */
export function spinMicrosecondsFromEnv(): number | null {
  const env = process.env.REGEN_SPIN_US;
  if (env === undefined || env === '') return null;
  if (!/^\d{1,7}$/.test(env) || Number(env) > 1_000_000)
    throw new RangeError(
      `Expected the REGEN_SPIN_US environment variable to be an integer number of microseconds in [0, 1000000] ` +
        `(0: idle engine threads sleep at once) but received ${JSON.stringify(env)}`,
    );
  return Number(env);
}

/** Loads the CPU addon once (lazily, so `--help` works without it), and applies REGEN_SPIN_US to it. */
export function loadCpuBinding(): NativeCpuBinding {
  if (cached) return cached;
  const spin = spinMicrosecondsFromEnv(); // a bad value stops here, before anything runs
  const require = createRequire(import.meta.url);
  const tried: string[] = [];
  for (const file of cpuBinaryCandidates()) {
    if (!existsSync(file)) {
      tried.push(`${file} (not found)`);
      continue;
    }
    let binding: NativeCpuBinding;
    try {
      binding = require(file) as NativeCpuBinding;
    } catch (e) {
      tried.push(`${file} (${(e as Error).message.split('\n')[0]})`);
      continue;
    }
    if (spin !== null) binding.setSpinMicroseconds?.(spin);
    cached = binding;
    return cached;
  }
  throw new Error(
    'regen-bench: the native CPU addon could not be loaded.\n' +
      `  Tried: ${tried.join('; ')}\n` +
      `  No prebuilt binary ships for ${process.platform}-${process.arch}, or it does not load here. Fixes, in order:\n` +
      '  1. install cmake (3.15+) and a C++17 compiler (g++ or clang++), then run `npm rebuild regen-bench`\n' +
      '     (npm 12 blocks dependencies\' install scripts: run `npm install-scripts approve regen-bench` first;\n' +
      '     in a checkout of regen-bench: `npm run build:native`);\n' +
      '  2. or install on a platform with a prebuilt binary (linux-x64, linux-arm64, darwin-arm64, win32-x64).',
  );
}
