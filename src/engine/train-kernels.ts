// The training body held by the native engine (native/include/regen/train.h): a transformer over
// packed variable-length sequences whose forward, backward and AdamW steps run on worker threads.
// Arguments are checked here (messages "Expected X for Y but received Z"); the native side copies
// every input, so arrays may be reused as soon as a call returns its promise.
import {
  loadCpuBinding,
  type IsaName,
  type NativeAdamW,
  type NativeTensorInfo,
  type NativeTrainConfig,
  type NativeTrainModel,
  type NativeTrainState,
  type Precision,
} from './binding.js';
import { Engine } from './engine.js';
import { describe, expectInteger, expectLength, expectTypedArray } from './validate.js';

export type { NativeTensorInfo as TensorInfo, NativeTrainConfig as BodyConfig, NativeAdamW as AdamWSettings } from './binding.js';

export interface BodyOptions {
  /** Parameter initialisation seed (uint32). */
  seed: number;
  /** A CPU engine whose kernel and threads the body uses (default: Engine.open({ isa, threads })). */
  engine?: Engine;
  /** CPU kernel: 'auto' (default; or REGEN_ISA) picks the best this CPU runs. */
  isa?: IsaName | 'auto';
  /** Threads, the calling worker included (default REGEN_THREADS, or every core). */
  threads?: number;
}

/** A batch of packed sequences: sequence s is positions offsets[s] .. offsets[s + 1] of inputs. */
export interface BodyBatch {
  offsets: Int32Array;
  /** Input row per position: an item id, or `items` for the mask token. */
  inputs: Int32Array;
  /** Positions whose hidden state forward() returns, in this order (distinct). */
  outIndex: Int32Array;
  /** Positions that carry a critique (distinct), and their features (critiquePos.length x critiqueDim). */
  critiquePos?: Int32Array;
  critiqueFeats?: Float32Array;
  /** Dropout on (and its masks drawn for seed and step). */
  training: boolean;
  seed?: number;
  step?: number;
}

function expectUnit(value: unknown, name: string, max: number): number {
  if (typeof value !== 'number' || !(value >= 0 && value < max))
    throw new RangeError(`Expected ${name} in [0, ${max}) but received ${describe(value)}`);
  return value;
}

/** Checks a body configuration; returns it with defaults filled in. */
export function checkBodyConfig(c: Partial<NativeTrainConfig> & { items: number; dim: number }): NativeTrainConfig {
  const items = expectInteger(c.items, 'config.items', 1, 2 ** 31 - 2);
  const dim = expectInteger(c.dim, 'config.dim', 1, 65536);
  const heads = expectInteger(c.heads ?? 1, 'config.heads', 1, dim);
  if (dim % heads !== 0) throw new RangeError(`Expected config.dim (${dim}) to be a multiple of config.heads (${heads}) but received heads = ${heads}`);
  return {
    items,
    dim,
    layers: expectInteger(c.layers ?? 2, 'config.layers', 0, 64),
    heads,
    ffnDim: expectInteger(c.ffnDim ?? 4 * dim, 'config.ffnDim', 1, 1 << 20),
    maxLen: expectInteger(c.maxLen ?? 50, 'config.maxLen', 1, 4096),
    causal: c.causal ?? true,
    maskToken: c.maskToken ?? false,
    contentDim: expectInteger(c.contentDim ?? 0, 'config.contentDim', 0, 1 << 16),
    critiqueDim: expectInteger(c.critiqueDim ?? 0, 'config.critiqueDim', 0, 1 << 16),
    dropout: expectUnit(c.dropout ?? 0.2, 'config.dropout', 1),
    attnDropout: expectUnit(c.attnDropout ?? c.dropout ?? 0.2, 'config.attnDropout', 1),
    initStd: typeof c.initStd === 'number' && c.initStd > 0 ? c.initStd : 0.02,
  };
}

export class TransformerBody {
  readonly config: NativeTrainConfig;
  readonly isa: IsaName;
  readonly threads: number;
  readonly tensors: NativeTensorInfo[];
  readonly numParams: number;
  #native: NativeTrainModel | null;
  #forwardRows = -1;

  private constructor(native: NativeTrainModel, config: NativeTrainConfig, isa: IsaName, threads: number) {
    this.#native = native;
    this.config = config;
    this.isa = isa;
    this.threads = threads;
    this.tensors = native.tensors();
    this.numParams = native.numParams();
  }

  static async create(config: Partial<NativeTrainConfig> & { items: number; dim: number }, options: BodyOptions): Promise<TransformerBody> {
    const c = checkBodyConfig(config);
    const seed = expectInteger(options.seed, 'options.seed', 0, 2 ** 32 - 1);
    const binding = loadCpuBinding();
    if (!binding.createTrainModel)
      throw new Error('this build of the native addon has no training kernels; rebuild it (`npm run build:native`)');
    // The body runs on the CPU: a GPU engine lends it nothing, so its kernel and threads come from a CPU engine.
    const engine = options.engine && options.engine.backend === 'cpu' ? options.engine : Engine.open({ isa: options.isa, threads: options.threads });
    const isa = engine.isa as IsaName;
    return new TransformerBody(await binding.createTrainModel(c, seed), c, isa, engine.threads);
  }

  private get native(): NativeTrainModel {
    if (!this.#native) throw new TypeError('This TransformerBody has been disposed');
    return this.#native;
  }

  /** Bytes of native memory held (parameters, gradients, moments, activations). */
  get bytes(): number {
    return this.native.bytes();
  }

  /** A copy of the parameters, their gradients or AdamW's moments (numParams floats, the tensors' layout). */
  getState(which: NativeTrainState): Float32Array {
    return this.native.getState(which);
  }

  setState(which: NativeTrainState, values: Float32Array): void {
    expectTypedArray(values, Float32Array, which);
    expectLength(values, this.numParams, which, 'one value per parameter');
    this.native.setState(which, values);
  }

  /** Item content features (items x contentDim), copied. */
  setContent(content: Float32Array): void {
    expectTypedArray(content, Float32Array, 'content');
    if (this.config.contentDim === 0) throw new RangeError('Expected a body with config.contentDim > 0 for setContent but this one has none');
    expectLength(content, this.config.items * this.config.contentDim, 'content', 'items x contentDim');
    this.native.setContent(content);
  }

  /** The output table for the current parameters: items x dim (item_emb + content projection). */
  rows(): Promise<Float32Array> {
    return this.native.rows({ isa: this.isa, threads: this.threads });
  }

  /** Checks a batch; returns the native call's arguments. */
  private batchArgs(b: BodyBatch) {
    const c = this.config;
    expectTypedArray(b.offsets, Int32Array, 'batch.offsets');
    expectTypedArray(b.inputs, Int32Array, 'batch.inputs');
    expectTypedArray(b.outIndex, Int32Array, 'batch.outIndex');
    if (b.offsets.length < 1 || b.offsets[0] !== 0) throw new RangeError(`Expected batch.offsets to start at 0 but received ${describe(b.offsets)}`);
    const T = b.inputs.length;
    for (let s = 1; s < b.offsets.length; s++) {
      const l = b.offsets[s] - b.offsets[s - 1];
      if (l < 1 || l > c.maxLen)
        throw new RangeError(`Expected every sequence to hold 1 to maxLen (${c.maxLen}) positions but sequence ${s - 1} holds ${l} (batch.offsets[${s - 1}..${s}])`);
    }
    if (b.offsets[b.offsets.length - 1] !== T)
      throw new RangeError(`Expected batch.offsets to end at batch.inputs.length (${T}) but it ends at ${b.offsets[b.offsets.length - 1]}`);
    const rows = c.items + (c.maskToken ? 1 : 0);
    for (let t = 0; t < T; t++)
      if (b.inputs[t] < 0 || b.inputs[t] >= rows)
        throw new RangeError(`Expected batch.inputs to hold ids in [0, ${rows}) but batch.inputs[${t}] is ${b.inputs[t]}`);
    const seen = new Uint8Array(T);
    for (let r = 0; r < b.outIndex.length; r++) {
      const t = b.outIndex[r];
      if (t < 0 || t >= T || seen[t]) throw new RangeError(`Expected batch.outIndex to hold distinct positions in [0, ${T}) but batch.outIndex[${r}] is ${t}`);
      seen[t] = 1;
    }
    let critiquePos: Int32Array | null = null;
    let critiqueFeats: Float32Array | null = null;
    if (b.critiquePos && b.critiquePos.length > 0) {
      if (c.critiqueDim === 0) throw new RangeError('Expected no batch.critiquePos for a body without critique inputs (config.critiqueDim = 0)');
      critiquePos = expectTypedArray(b.critiquePos, Int32Array, 'batch.critiquePos');
      critiqueFeats = expectTypedArray(b.critiqueFeats, Float32Array, 'batch.critiqueFeats');
      expectLength(critiqueFeats, critiquePos.length * c.critiqueDim, 'batch.critiqueFeats', 'critiquePos.length x critiqueDim');
      seen.fill(0);
      for (let k = 0; k < critiquePos.length; k++) {
        const t = critiquePos[k];
        if (t < 0 || t >= T || seen[t]) throw new RangeError(`Expected batch.critiquePos to hold distinct positions in [0, ${T}) but batch.critiquePos[${k}] is ${t}`);
        seen[t] = 1;
      }
    }
    return {
      offsets: b.offsets,
      inputs: b.inputs,
      outIndex: b.outIndex,
      critiquePos,
      critiqueFeats,
      training: b.training,
      seed: expectInteger(b.seed ?? 0, 'batch.seed', 0, 2 ** 32 - 1),
      step: expectInteger(b.step ?? 0, 'batch.step', 0, 2 ** 32 - 1),
      isa: this.isa,
      threads: this.threads,
    };
  }

  /** Hidden states (outIndex.length x dim) of a batch. */
  async forward(b: BodyBatch): Promise<Float32Array> {
    const args = this.batchArgs(b);
    const outRows = b.outIndex.length; // read now: the caller may reuse or detach the array once the call returns
    const h = await this.native.forward(args);
    this.#forwardRows = outRows;
    return h;
  }

  /**
   * One training step on the CPU: forward, the mean full-catalogue softmax cross-entropy of the
   * outIndex rows against `targets` (one item id per row, or -1) over every item (the engine's fused
   * cross-entropy, no rows x items matrix), backward and one AdamW step. Resolves with the mean loss.
   */
  async trainStep(b: BodyBatch, targets: Int32Array, adam: NativeAdamW, precision: Precision = 'fp32'): Promise<number> {
    if (precision !== 'fp32' && precision !== 'bf16') throw new TypeError(`Expected precision 'fp32' or 'bf16' but received ${describe(precision)}`);
    if (precision === 'bf16' && (this.isa !== 'avx512' || !loadCpuBinding().bf16Supported()))
      throw new RangeError(`precision 'bf16' needs the avx512 kernels of a CPU with AVX512-BF16; this body runs ${this.isa}${loadCpuBinding().bf16Supported() ? '' : ' on a CPU without AVX512-BF16'}. Use 'fp32'.`);
    const args = this.batchArgs(b);
    expectTypedArray(targets, Int32Array, 'targets');
    expectLength(targets, b.outIndex.length, 'targets', 'one per batch.outIndex entry');
    for (let r = 0; r < targets.length; r++)
      if (targets[r] < -1 || targets[r] >= this.config.items)
        throw new RangeError(`Expected targets to hold -1 (none) or item ids in [0, ${this.config.items}) but targets[${r}] is ${targets[r]}`);
    const outRows = b.outIndex.length;
    const loss = await this.native.trainStep({ ...args, targets, adam, precision });
    this.#forwardRows = outRows;
    return loss;
  }

  /** Gradients of the last forward from dHidden (its rows x dim) and dRows (items x dim, or null); then one AdamW step when `adam` is given. */
  backward(dHidden: Float32Array, dRows: Float32Array | null, adam?: NativeAdamW): Promise<void> {
    if (this.#forwardRows < 0) throw new Error('backward() needs a forward() first');
    expectTypedArray(dHidden, Float32Array, 'dHidden');
    expectLength(dHidden, this.#forwardRows * this.config.dim, 'dHidden', "the last forward's output rows x dim");
    if (dRows !== null) {
      expectTypedArray(dRows, Float32Array, 'dRows');
      expectLength(dRows, this.config.items * this.config.dim, 'dRows', 'items x dim');
    }
    return this.native.backward({ dHidden, dRows, adam, isa: this.isa, threads: this.threads });
  }

  dispose(): void {
    this.#native?.dispose();
    this.#native = null;
  }
}
