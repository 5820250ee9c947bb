// ItemTable: an item embedding table held by the native engine, searched in one fused pass per
// batch of queries (scores, top-k, log-sum-exp, target rank; no rows x items matrix is stored).
import {
  SMALL_BATCH_KERNELS,
  loadCpuBinding,
  loadCudaBinding,
  type IsaName,
  type NativeCpuTable,
  type NativeCudaTable,
  type NativeTable,
  type Precision,
  type SmallBatchKernel,
} from './binding.js';
import type { Device } from './device.js';
import { Engine } from './engine.js';
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
  /**
   * false: a ranking-only search, for callers that need ids, scores and ranks alone (the recommenders):
   * the log-sum-exp is skipped (on the CPU its exp2 per score is a third of a d = 64 score's cost), and
   * logZ, and targetLogProb where the target is not excluded, are NaN. Ids, scores and ranks are the
   * same bits either way. Default true.
   */
  logZ?: boolean;
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

/** The native tables behind ItemTables, for the engine's other kernels (the decoding step); never exported from the package. */
const natives = new WeakMap<ItemTable, NativeTable>();

/** @internal The native table of `table` (engine folder only); throws once it is disposed. */
export function nativeTable(table: ItemTable): NativeTable {
  const native = natives.get(table);
  if (!native) throw new TypeError('This ItemTable has been disposed; create a new one with ItemTable.create()');
  return native;
}

/**
 * The AVX-512 kernel of searches of at most 8 rows: REGEN_SMALL_BATCH_KERNEL (lanes, paired or blocked, for
 * tests and benchmarks), else 'auto' (by CPU).
 */
function resolveSmallBatchKernel(): SmallBatchKernel {
  const env = process.env.REGEN_SMALL_BATCH_KERNEL;
  if (env === undefined || env === '') return 'auto';
  if (!(SMALL_BATCH_KERNELS as readonly string[]).includes(env))
    throw new RangeError(`Expected the REGEN_SMALL_BATCH_KERNEL environment variable to be one of ${SMALL_BATCH_KERNELS.join(', ')} but received ${JSON.stringify(env)}`);
  return env as SmallBatchKernel;
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
  /** @internal The AVX-512 kernel of searches of at most 8 rows (REGEN_SMALL_BATCH_KERNEL, else 'auto'). */
  readonly smallBatchKernel: SmallBatchKernel;

  private constructor(
    native: NativeTable,
    count: number,
    dim: number,
    isa: IsaName | 'cuda',
    threads: number,
    precision: Precision,
    device: { name: string; note?: string; maxK: number; smallBatchKernel?: SmallBatchKernel },
  ) {
    natives.set(this, native);
    this.count = count;
    this.dim = dim;
    this.backend = isa === 'cuda' ? 'cuda' : 'cpu';
    this.isa = isa;
    this.threads = threads;
    this.precision = precision;
    this.deviceName = device.name;
    this.deviceNote = device.note;
    this.maxK = device.maxK;
    this.smallBatchKernel = device.smallBatchKernel ?? 'auto';
  }

  /**
   * Copies `items` (count x dim float32, row-major) into the native engine. The array can be reused
   * or changed afterwards; the table keeps its own copy until dispose(). Shorthand for
   * `Engine.open(options).createTable(items, options)`.
   */
  static async create(items: Float32Array, options: ItemTableOptions): Promise<ItemTable> {
    if (typeof options !== 'object' || options === null)
      throw new TypeError(`Expected an options object { dim } for ItemTable.create but received ${describe(options)}`);
    expectTypedArray(items, Float32Array, 'items');
    return Engine.open(options).createTable(items, { dim: options.dim });
  }

  /** @internal A table on `engine` (Engine.createTable resolves precision and kernel). */
  static async createOn(engine: Engine, items: Float32Array, dimOption: number, precision: Precision, isa: IsaName | 'cuda'): Promise<ItemTable> {
    expectTypedArray(items, Float32Array, 'items');
    const dim = expectInteger(dimOption, 'options.dim', 1, 2 ** 31 - 1);
    if (items.length === 0) throw new RangeError('Expected items to hold at least one item but received an empty Float32Array');
    if (items.length % dim !== 0)
      throw new RangeError(
        `Expected items.length to be a multiple of options.dim (${dim}) but received length ${items.length} ` +
          `(${Math.floor(items.length / dim)} items and ${items.length % dim} values over)`,
      );
    const count = items.length / dim;
    if (count > 2 ** 31 - 1) throw new RangeError(`Expected at most 2^31 - 1 items (int32 ids) but received ${count}`);
    const device = engine.device;
    if (device.kind === 'cuda') {
      const native = await device.binding.createTable(items, count, dim, precision, device.index);
      return new ItemTable(native, count, dim, 'cuda', 1, precision, { name: engine.deviceName, note: device.note, maxK: native.maxK() });
    }
    const smallBatchKernel = resolveSmallBatchKernel();
    const native = await loadCpuBinding().createTable(items, count, dim, precision);
    return new ItemTable(native, count, dim, isa, engine.threads, precision, { name: 'cpu', note: device.note, maxK: MAX_OUTPUT, smallBatchKernel });
  }

  /** Whether dispose() has been called. */
  get disposed(): boolean {
    return !natives.has(this);
  }

  /**
   * Scores every row of `queries` (rows x dim float32, row-major) against every item, on worker
   * threads. Resolves with the top-k, logZ and (with targets) the target's rank and log-probability.
   */
  search(queries: Float32Array, options: SearchOptions & { targets: Int32Array }): Promise<SearchResultWithTargets>;
  search(queries: Float32Array, options: SearchOptions): Promise<SearchResult>;
  async search(queries: Float32Array, options: SearchOptions): Promise<SearchResult> {
    const native = nativeTable(this);
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

    const { excludeOffsets, excludeIds } = this.checkedExclusions(options.exclude, rows);
    let targets: Int32Array | null = null;
    if (options.targets !== undefined) {
      targets = expectTypedArray(options.targets, Int32Array, 'options.targets');
      expectLength(targets, rows, 'options.targets', 'one per query row');
      expectIds(targets, this.count, 'options.targets', true);
    }
    const bias = this.checkedBias(options.bias);
    if (options.logZ !== undefined && typeof options.logZ !== 'boolean')
      throw new TypeError(`Expected options.logZ to be a boolean (false: a ranking-only search) but received ${describe(options.logZ)}`);
    const withLogZ = options.logZ ?? true;

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
    const args = {
      queries,
      rows,
      k,
      excludeOffsets,
      excludeIds,
      targets,
      bias,
      ids: result.ids,
      scores: result.scores,
      logZ: result.logZ,
      targetRank: result.targetRank ?? null,
      targetLogProb: result.targetLogProb ?? null,
      withLogZ,
    };
    if (this.isa === 'cuda') {
      await (native as NativeCudaTable).search(args);
      // The GPU kernels compute the log-sum-exp anyway: the result says what a ranking-only search says.
      if (!withLogZ) {
        result.logZ.fill(NaN);
        if (result.targetLogProb) for (let i = 0; i < rows; i++) if (result.targetLogProb[i] !== -Infinity) result.targetLogProb[i] = NaN;
      }
    } else await (native as NativeCpuTable).search({ ...args, isa: this.isa, threads: this.threads, smallBatchKernel: this.smallBatchKernel });
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
    const native = nativeTable(this);
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
    const { excludeOffsets, excludeIds } = this.checkedExclusions(options.exclude, rows);
    const bias = this.checkedBias(options.bias);
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
      throw new Error('regen-bench: this build of the native addon has no crossEntropy; rebuild it with `npm run build:native`');
    const args = { queries, rows, targets, excludeOffsets, excludeIds, bias, rowWeights, gradItems, gradBias, loss: result.loss, gradQueries: result.gradQueries };
    const { scratchBytes } =
      this.isa === 'cuda'
        ? await (native as NativeCudaTable).crossEntropy!(args)
        : await (native as NativeCpuTable).crossEntropy!({ ...args, isa: this.isa, threads: this.threads });
    result.scratchBytes = scratchBytes;
    return result;
  }

  /**
   * Replaces every item's values (count x dim float32, as at create()) without a new table: for a
   * trainer that updates the item embeddings every step. Copied now (bf16 tables round them);
   * calls already running finish with the values they started with.
   */
  setItems(items: Float32Array): void {
    const native = nativeTable(this);
    expectTypedArray(items, Float32Array, 'items');
    expectLength(items, this.count * this.dim, 'items', `count x dim = ${this.count} x ${this.dim}, as at create()`);
    if (!native.setItems) throw new Error('regen-bench: this build of the native addon has no setItems; rebuild it with `npm run build:native`');
    native.setItems(items);
  }

  /** Frees the native table (searches already running finish first). Further searches throw. */
  /** options.exclude of search and crossEntropy: CSR history lists over `rows`, checked. */
  private checkedExclusions(ex: unknown, rows: number): { excludeOffsets: Int32Array | null; excludeIds: Int32Array | null } {
    if (ex === undefined) return { excludeOffsets: null, excludeIds: null };
    if (typeof ex !== 'object' || ex === null)
      throw new TypeError(`Expected options.exclude to be { offsets: Int32Array, ids: Int32Array } but received ${describe(ex)}`);
    const { offsets, ids } = ex as { offsets?: unknown; ids?: unknown };
    const excludeOffsets = expectTypedArray(offsets, Int32Array, 'options.exclude.offsets');
    const excludeIds = expectTypedArray(ids, Int32Array, 'options.exclude.ids');
    expectOffsets(excludeOffsets, rows, excludeIds.length, 'options.exclude.offsets');
    expectIds(excludeIds, this.count, 'options.exclude.ids', false);
    return { excludeOffsets, excludeIds };
  }

  /** options.bias of search and crossEntropy: one float per item, checked. */
  private checkedBias(bias: unknown): Float32Array | null {
    if (bias === undefined) return null;
    const b = expectTypedArray(bias, Float32Array, 'options.bias');
    expectLength(b, this.count, 'options.bias', 'one per item');
    return b;
  }

  dispose(): void {
    natives.get(this)?.dispose();
    natives.delete(this);
  }
}

/**
 * search()'s scores of one query (dim values) against listed items, bit for bit (without the bias):
 * the exact scores the decoding step's tail draw uses, exposed for the tests and the GPU selftest.
 */
export function scoreItems(table: ItemTable, query: Float32Array, ids: Int32Array): Float32Array {
  const native = nativeTable(table);
  expectTypedArray(query, Float32Array, 'query');
  expectLength(query, table.dim, 'query', "the table's dim");
  expectTypedArray(ids, Int32Array, 'ids');
  expectIds(ids, table.count, 'ids', false);
  if (table.isa === 'cuda') return loadCudaBinding().binding!.scoreItems(native as NativeCudaTable, query, ids);
  const binding = loadCpuBinding();
  if (!binding.scoreItems) throw new Error('regen-bench: this build of the native addon has no scoreItems; rebuild it with `npm run build:native`');
  return binding.scoreItems(native as NativeCpuTable, query, ids, table.isa);
}
