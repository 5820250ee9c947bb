// ItemTable: an item embedding table held by the native engine, searched in one fused pass per
// batch of queries (scores, top-k, log-sum-exp, target rank; no rows x items matrix is stored).
import os from 'node:os';

import { ISA_NAMES, PRECISIONS, loadCpuBinding, type IsaName, type NativeTable, type Precision } from '../native/binding.js';
import { resolveDevice, type Device } from './device.js';
import {
  describe,
  expectIds,
  expectInteger,
  expectLength,
  expectOffsets,
  expectTypedArray,
} from './validate.js';

export type { Device } from './device.js';

export interface ItemTableOptions {
  /** Embedding dimension: items.length must be a multiple of it. */
  dim: number;
  /** 'cpu' (default), { gpu: N } (CUDA device N; an error naming what was found when it cannot be used), or 'auto' (GPU 0 when usable, else the CPU, said in deviceNote). */
  device?: Device;
  /** CPU kernel: 'auto' (default; or the REGEN_ISA environment variable) picks the best this CPU runs. */
  isa?: IsaName | 'auto';
  /** Threads per search, the calling worker included (default: REGEN_THREADS, or every core). */
  threads?: number;
  /**
   * 'fp32' (default): float32 scores. 'bf16': queries and items rounded to bfloat16 (round to
   * nearest even), products summed in float32; twice as fast and half the memory, with each score
   * off by at most about 2^-8 sum_j |q_j e_j| from the fp32 one. Needs AVX512-BF16 on the CPU, or a
   * GPU of compute capability 8.0+ (tensor cores). On a GPU, 'fp32' scores are bit-identical to the CPU's.
   */
  precision?: Precision;
}

export interface SearchOptions {
  /** Items to return per row, best first; rows with fewer candidates are padded with id -1. */
  k: number;
  /** Per-row items to skip (CSR): ids[offsets[b]..offsets[b+1]) are excluded for row b. */
  exclude?: { offsets: Int32Array; ids: Int32Array };
  /** One item id per row, or -1 for none: its rank and log-probability are returned. */
  targets?: Int32Array;
  /** Per-item additive score (length = number of items). */
  bias?: Float32Array;
}

export interface SearchResult {
  /** rows x k item ids, best first; ties broken by the lower id; -1 pads. */
  ids: Int32Array;
  /** rows x k scores matching ids; -Infinity pads. */
  scores: Float32Array;
  /** Per row: log sum exp(score) over the non-excluded items. */
  logZ: Float32Array;
  /** Per row (when targets are given): non-excluded items that beat the target; -1 for none or excluded. */
  targetRank?: Int32Array;
  /** Per row (when targets are given): score(target) - logZ; NaN for no target, -Infinity if excluded. */
  targetLogProb?: Float32Array;
}

export type SearchResultWithTargets = SearchResult & { targetRank: Int32Array; targetLogProb: Float32Array };

export interface CrossEntropyOptions {
  /**
   * Per-row items given probability 0 (CSR, as in search()): ids[offsets[b]..offsets[b+1]) for row b.
   * A row whose target is excluded gets loss +Infinity and contributes no gradient.
   */
  exclude?: { offsets: Int32Array; ids: Int32Array };
  /** Per-item additive score (length = number of items), as in search(). */
  bias?: Float32Array;
  /** Per-row weight w_b of the loss in the gradients (finite; default 1). loss itself is unweighted. */
  rowWeights?: Float32Array;
  /** count x dim: the items' gradient is ADDED to it (+=) when the call resolves. */
  gradItems?: Float32Array;
  /** count: the bias gradient is ADDED to it (+=) when the call resolves. */
  gradBias?: Float32Array;
}

export interface CrossEntropyResult {
  /** Per row: logZ_b - score(b, target_b); 0 for ignored rows (target -1); +Infinity when the target is excluded. */
  loss: Float32Array;
  /** rows x dim: the gradient of sum_b w_b loss_b with respect to each query row (0 for rows that contribute none). */
  gradQueries: Float32Array;
  /** The most scratch memory the call held at once (bytes), beside the table, the inputs and these results. */
  scratchBytes: number;
}

/** The largest typed array the engine fills (rows x k). */
const MAX_OUTPUT = 2 ** 31 - 1;

/** The kernel to use: options.isa, else REGEN_ISA, else the best of `supported` (best first). */
function resolveIsa(requested: unknown, supported: IsaName[], limitedBy: string): IsaName {
  const fromEnv = requested === undefined && process.env.REGEN_ISA !== undefined && process.env.REGEN_ISA !== '';
  const value = requested ?? (fromEnv ? process.env.REGEN_ISA : 'auto');
  const source = fromEnv ? 'the REGEN_ISA environment variable' : 'options.isa';
  if (value === 'auto') return supported[0];
  if (typeof value !== 'string' || !(ISA_NAMES as readonly string[]).includes(value))
    throw new TypeError(`Expected ${source} to be one of auto, ${ISA_NAMES.join(', ')} but received ${describe(value)}`);
  if (!supported.includes(value as IsaName))
    throw new RangeError(
      `${source} asks for the ${value} kernels, but ${limitedBy} runs only: ${supported.join(', ')}. ` +
        `Use one of those, or 'auto'.`,
    );
  return value as IsaName;
}

/** Threads for native work: the given number, else REGEN_THREADS, else every core. */
export function resolveThreads(requested?: unknown): number {
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

export class ItemTable {
  /** Number of items. */
  readonly count: number;
  readonly dim: number;
  readonly backend: 'cpu' | 'cuda';
  /** The kernels this table's searches run: a CPU kernel, or 'cuda'. */
  readonly isa: IsaName | 'cuda';
  readonly threads: number;
  readonly precision: Precision;
  /** 'cpu', or 'cuda:N <name>'. */
  readonly deviceName: string;
  /** What device resolution decided and the user should know ('auto' falling back to the CPU). */
  readonly deviceNote?: string;
  /** The largest k one search returns (the CUDA backend keeps top-k lists in shared memory). */
  readonly maxK: number;
  #native: NativeTable | null;

  private constructor(
    native: NativeTable,
    count: number,
    dim: number,
    isa: IsaName | 'cuda',
    threads: number,
    precision: Precision,
    device: { name: string; note?: string; maxK: number },
  ) {
    this.#native = native;
    this.count = count;
    this.dim = dim;
    this.backend = isa === 'cuda' ? 'cuda' : 'cpu';
    this.isa = isa;
    this.threads = threads;
    this.precision = precision;
    this.deviceName = device.name;
    this.deviceNote = device.note;
    this.maxK = device.maxK;
  }

  /**
   * Copies `items` (count x dim float32, row-major) into the native engine. The array can be reused
   * or changed afterwards; the table keeps its own copy until dispose().
   */
  static async create(items: Float32Array, options: ItemTableOptions): Promise<ItemTable> {
    expectTypedArray(items, Float32Array, 'items');
    if (typeof options !== 'object' || options === null)
      throw new TypeError(`Expected an options object { dim } for ItemTable.create but received ${describe(options)}`);
    const dim = expectInteger(options.dim, 'options.dim', 1, 2 ** 31 - 1);
    if (items.length === 0) throw new RangeError('Expected items to hold at least one item but received an empty Float32Array');
    if (items.length % dim !== 0)
      throw new RangeError(
        `Expected items.length to be a multiple of options.dim (${dim}) but received length ${items.length} ` +
          `(${Math.floor(items.length / dim)} items and ${items.length % dim} values over)`,
      );
    const count = items.length / dim;
    if (count > 2 ** 31 - 1) throw new RangeError(`Expected at most 2^31 - 1 items (int32 ids) but received ${count}`);
    const precision = options.precision ?? 'fp32';
    if (!(PRECISIONS as readonly unknown[]).includes(precision))
      throw new TypeError(`Expected options.precision to be one of ${PRECISIONS.join(', ')} but received ${describe(precision)}`);
    const device = resolveDevice(options.device);
    if (device.kind === 'cuda') {
      const cc = Number(device.info.computeCapability);
      if (precision === 'bf16' && cc < 8)
        throw new RangeError(
          `options.precision 'bf16' needs a GPU of compute capability 8.0 or newer; GPU ${device.index} (${device.info.name}) is ${device.info.computeCapability}. Use precision: 'fp32'.`,
        );
      const native = await device.binding.createTable(items, count, dim, precision, device.index);
      return new ItemTable(native, count, dim, 'cuda', 1, precision, {
        name: `cuda:${device.index} ${device.info.name}`,
        note: device.note,
        maxK: native.maxK(),
      });
    }
    const binding = loadCpuBinding();
    let isa: IsaName;
    if (precision === 'bf16') {
      if (!binding.bf16Supported())
        throw new RangeError(
          "options.precision 'bf16' needs a CPU with AVX-512 and AVX512-BF16, which this one lacks " +
            "(see `regen-bench info`). Use precision: 'fp32'.",
        );
      isa = resolveIsa(options.isa, ['avx512'], "precision 'bf16'");
    } else isa = resolveIsa(options.isa, binding.supportedIsas(), 'this CPU');
    const threads = resolveThreads(options.threads);
    const native = await binding.createTable(items, count, dim, precision);
    return new ItemTable(native, count, dim, isa, threads, precision, { name: 'cpu', note: device.note, maxK: MAX_OUTPUT });
  }

  /** Whether dispose() has been called. */
  get disposed(): boolean {
    return this.#native === null;
  }

  /**
   * Scores every row of `queries` (rows x dim float32, row-major) against every item, on worker
   * threads. Resolves with the top-k, logZ and (with targets) the target's rank and log-probability.
   */
  search(queries: Float32Array, options: SearchOptions & { targets: Int32Array }): Promise<SearchResultWithTargets>;
  search(queries: Float32Array, options: SearchOptions): Promise<SearchResult>;
  async search(queries: Float32Array, options: SearchOptions): Promise<SearchResult> {
    const native = this.#native;
    if (native === null) throw new TypeError('This ItemTable has been disposed; create a new one with ItemTable.create()');
    expectTypedArray(queries, Float32Array, 'queries');
    if (typeof options !== 'object' || options === null)
      throw new TypeError(`Expected an options object { k } for search but received ${describe(options)}`);
    if (queries.length % this.dim !== 0)
      throw new RangeError(
        `Expected queries.length to be a multiple of the table's dim (${this.dim}) but received length ${queries.length}`,
      );
    const rows = queries.length / this.dim;
    const k = expectInteger(options.k, 'options.k', 1, MAX_OUTPUT);
    if (k > this.maxK)
      throw new RangeError(
        `Expected options.k to be at most ${this.maxK} on ${this.deviceName} but received ${k}: ` +
          `search a table with device 'cpu' for longer lists.`,
      );
    if (rows * k > MAX_OUTPUT)
      throw new RangeError(`Expected rows x k <= ${MAX_OUTPUT} but received ${rows} x ${k}: search fewer rows at a time`);

    let excludeOffsets: Int32Array | null = null;
    let excludeIds: Int32Array | null = null;
    if (options.exclude !== undefined) {
      const ex = options.exclude;
      if (typeof ex !== 'object' || ex === null)
        throw new TypeError(`Expected options.exclude to be { offsets: Int32Array, ids: Int32Array } but received ${describe(ex)}`);
      excludeOffsets = expectTypedArray(ex.offsets, Int32Array, 'options.exclude.offsets');
      excludeIds = expectTypedArray(ex.ids, Int32Array, 'options.exclude.ids');
      expectOffsets(excludeOffsets, rows, excludeIds.length, 'options.exclude.offsets');
      expectIds(excludeIds, this.count, 'options.exclude.ids', false);
    }
    let targets: Int32Array | null = null;
    if (options.targets !== undefined) {
      targets = expectTypedArray(options.targets, Int32Array, 'options.targets');
      expectLength(targets, rows, 'options.targets', 'one per query row');
      expectIds(targets, this.count, 'options.targets', true);
    }
    let bias: Float32Array | null = null;
    if (options.bias !== undefined) {
      bias = expectTypedArray(options.bias, Float32Array, 'options.bias');
      expectLength(bias, this.count, 'options.bias', 'one per item');
    }

    const result: SearchResult = {
      ids: new Int32Array(rows * k),
      scores: new Float32Array(rows * k),
      logZ: new Float32Array(rows),
    };
    if (targets) {
      result.targetRank = new Int32Array(rows);
      result.targetLogProb = new Float32Array(rows);
    }
    if (rows === 0) return result;
    await native.search({
      queries,
      rows,
      k,
      excludeOffsets,
      excludeIds,
      targets,
      bias,
      isa: this.isa === 'cuda' ? 'scalar' : this.isa, // the CUDA addon ignores isa and threads
      threads: this.threads,
      ids: result.ids,
      scores: result.scores,
      logZ: result.logZ,
      targetRank: result.targetRank ?? null,
      targetLogProb: result.targetLogProb ?? null,
    });
    return result;
  }

  /**
   * The softmax cross-entropy of every row of `queries` (rows x dim) over the whole catalogue, and
   * its gradients, in two fused passes that never hold the rows x items scores (see the README,
   * "Cross-entropy (training)"). `targets[b]` is row b's item, or -1 to ignore the row (loss 0, no
   * gradient). The arrays are copied when the call is made; `gradItems` and `gradBias` are added
   * to when it resolves. Gradients are those of sum_b w_b loss_b:
   *   dQ_b = w_b (sum_i p_bi e_i - e_target),  dE_i += sum_b w_b (p_bi - [i = target_b]) q_b,  dBias likewise.
   */
  async crossEntropy(queries: Float32Array, targets: Int32Array, options: CrossEntropyOptions = {}): Promise<CrossEntropyResult> {
    const native = this.#native;
    if (native === null) throw new TypeError('This ItemTable has been disposed; create a new one with ItemTable.create()');
    expectTypedArray(queries, Float32Array, 'queries');
    if (queries.length % this.dim !== 0)
      throw new RangeError(
        `Expected queries.length to be a multiple of the table's dim (${this.dim}) but received length ${queries.length}`,
      );
    const rows = queries.length / this.dim;
    expectTypedArray(targets, Int32Array, 'targets');
    expectLength(targets, rows, 'targets', 'one per query row');
    expectIds(targets, this.count, 'targets', true);
    if (typeof options !== 'object' || options === null)
      throw new TypeError(`Expected an options object for crossEntropy but received ${describe(options)}`);
    let excludeOffsets: Int32Array | null = null;
    let excludeIds: Int32Array | null = null;
    if (options.exclude !== undefined) {
      const ex = options.exclude;
      if (typeof ex !== 'object' || ex === null)
        throw new TypeError(`Expected options.exclude to be { offsets: Int32Array, ids: Int32Array } but received ${describe(ex)}`);
      excludeOffsets = expectTypedArray(ex.offsets, Int32Array, 'options.exclude.offsets');
      excludeIds = expectTypedArray(ex.ids, Int32Array, 'options.exclude.ids');
      expectOffsets(excludeOffsets, rows, excludeIds.length, 'options.exclude.offsets');
      expectIds(excludeIds, this.count, 'options.exclude.ids', false);
    }
    let bias: Float32Array | null = null;
    if (options.bias !== undefined) {
      bias = expectTypedArray(options.bias, Float32Array, 'options.bias');
      expectLength(bias, this.count, 'options.bias', 'one per item');
    }
    let rowWeights: Float32Array | null = null;
    if (options.rowWeights !== undefined) {
      rowWeights = expectTypedArray(options.rowWeights, Float32Array, 'options.rowWeights');
      expectLength(rowWeights, rows, 'options.rowWeights', 'one per query row');
      for (let b = 0; b < rows; b++)
        if (!Number.isFinite(rowWeights[b]))
          throw new RangeError(`Expected options.rowWeights to hold finite numbers but options.rowWeights[${b}] is ${rowWeights[b]}`);
    }
    let gradItems: Float32Array | null = null;
    if (options.gradItems !== undefined) {
      gradItems = expectTypedArray(options.gradItems, Float32Array, 'options.gradItems');
      expectLength(gradItems, this.count * this.dim, 'options.gradItems', `count x dim = ${this.count} x ${this.dim}, like the items`);
    }
    let gradBias: Float32Array | null = null;
    if (options.gradBias !== undefined) {
      gradBias = expectTypedArray(options.gradBias, Float32Array, 'options.gradBias');
      expectLength(gradBias, this.count, 'options.gradBias', 'one per item');
    }
    const result: CrossEntropyResult = { loss: new Float32Array(rows), gradQueries: new Float32Array(rows * this.dim), scratchBytes: 0 };
    if (rows === 0) return result;
    if (!native.crossEntropy)
      throw new Error('This build of the native addon has no crossEntropy; rebuild it (`npm run build:native`).');
    const { scratchBytes } = await native.crossEntropy({
      queries,
      rows,
      targets,
      excludeOffsets,
      excludeIds,
      bias,
      rowWeights,
      gradItems,
      gradBias,
      isa: this.isa === 'cuda' ? 'scalar' : this.isa, // the CUDA addon ignores isa and threads
      threads: this.threads,
      loss: result.loss,
      gradQueries: result.gradQueries,
    });
    result.scratchBytes = scratchBytes;
    return result;
  }

  /**
   * Replaces every item's values (count x dim float32, as at create()) without a new table: for a
   * trainer that updates the item embeddings every step. Copied now (bf16 tables round them);
   * calls already running finish with the values they started with.
   */
  setItems(items: Float32Array): void {
    const native = this.#native;
    if (native === null) throw new TypeError('This ItemTable has been disposed; create a new one with ItemTable.create()');
    expectTypedArray(items, Float32Array, 'items');
    expectLength(items, this.count * this.dim, 'items', `count x dim = ${this.count} x ${this.dim}, as at create()`);
    if (!native.setItems) throw new Error('This build of the native addon has no setItems; rebuild it (`npm run build:native`).');
    native.setItems(items);
  }

  /** @internal The native table, for other native calls over it (LUMEN's decoding step). */
  nativeHandle(): NativeTable {
    if (this.#native === null) throw new TypeError('This ItemTable has been disposed; create a new one with ItemTable.create()');
    return this.#native;
  }

  /** Frees the native table (searches already running finish first). Further searches throw. */
  dispose(): void {
    this.#native?.dispose();
    this.#native = null;
  }
}
