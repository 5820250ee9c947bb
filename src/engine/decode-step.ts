// The decoding step (LUMEN's dual vocabulary): argument checks, then one native call (native/decode/step.cpp) that
// scores every row against its table (LUMEN: the text head or the item table) in the scoring
// engine's fused pass and picks one token per row: greedy, or sampled with temperature, top-k and
// top-p. Draws are seeded per (seed, stream, step): a row's token never depends on the batch it is in.
import { loadCpuBinding, loadCudaBinding, type NativeCpuTable, type NativeCudaTable } from './binding.js';
import { ItemTable, nativeTable } from './item-table.js';
import { checkOption, OptionError } from '../util/option-error.js';
import { describe, expectIds, expectInteger, expectLength, expectOffsets, expectTypedArray } from './validate.js';

export interface SamplingOptions {
  /** 0 (default): greedy, the best token (ties to the lower id). Otherwise softmax(score / temperature). */
  temperature?: number;
  /** Sampling: keep only the topK best tokens (0, the default: no limit). */
  topK?: number;
  /** Sampling: then the smallest best-first set whose probability reaches topP (1, the default: no limit). */
  topP?: number;
  /** Seed of the draws, an integer in [0, 2^53) (default 0). */
  seed?: number;
  /**
   * Sampling without topK: best tokens kept from the fused pass before the exact draw over the rest
   * of the vocabulary (default 64). A speed setting only: the distribution is exact for any value.
   */
  candidates?: number;
}

export type ResolvedSampling = Required<SamplingOptions>;

export interface StepInput {
  /** rows x dim hidden states, row-major. */
  hidden: Float32Array;
  /** Per row, the table that scores it: an index into the tables (LUMEN: 0 text, 1 item). */
  table: Int32Array;
  /** Best tokens returned per row (default 1). */
  k?: number;
  /** Per row, ids of its table never chosen (CSR): LUMEN's history in item mode. */
  exclude?: { offsets: Int32Array; ids: Int32Array };
  /** Per row, its random stream (e.g. the example index) and step; default 0. */
  streams?: Uint32Array;
  steps?: Uint32Array;
}

export interface StepOutput {
  /** Per row: the chosen id in its table, -1 when every id was excluded. */
  token: Int32Array;
  /** Per row: log-probability of the token under softmax(score / T) over the row's whole table (T = 1 when greedy). */
  logProb: Float32Array;
  /** Per row: log sum exp(score / T) over the non-excluded ids. */
  logZ: Float32Array;
  /** rows x k best ids by score, best first (ties to the lower id; -1 pads), and their scores. */
  ids: Int32Array;
  scores: Float32Array;
  k: number;
}

/** Multiply-adds below which a step runs on the calling thread (as the engine's search stays on one thread). */
const SYNC_WORK = 1 << 21;

/** Checks sampling options and fills the defaults; errors are OptionErrors naming sampling.<option>. */
export function resolveSampling(o: SamplingOptions = {}): ResolvedSampling {
  if (typeof o !== 'object' || o === null) throw new TypeError(`Expected sampling options (an object) but received ${describe(o)}`);
  const temperature = o.temperature ?? 0;
  if (typeof temperature !== 'number' || !Number.isFinite(temperature) || temperature < 0)
    throw new OptionError('sampling.temperature', (l) => `Expected ${l('sampling.temperature')} to be a finite number >= 0 (0: greedy) but received ${describe(temperature)}`);
  if (temperature > 0 && temperature < 1e-4)
    throw new OptionError(
      'sampling.temperature',
      (l) => `Expected ${l('sampling.temperature')} to be 0 (greedy) or at least 1e-4 but received ${temperature}: use 0 for greedy decoding`,
    );
  const topK = checkOption('sampling.topK', (name) => expectInteger(o.topK ?? 0, name, 0, 2 ** 31 - 1));
  const topP = o.topP ?? 1;
  if (typeof topP !== 'number' || !(topP > 0 && topP <= 1))
    throw new OptionError('sampling.topP', (l) => `Expected ${l('sampling.topP')} in (0, 1] (1: no limit) but received ${describe(topP)}`);
  const seed = checkOption('sampling.seed', (name) => expectInteger(o.seed ?? 0, name, 0, Number.MAX_SAFE_INTEGER));
  const candidates = checkOption('sampling.candidates', (name) => expectInteger(o.candidates ?? 64, name, 1, 1 << 20));
  if (temperature === 0 && (topK !== 0 || topP !== 1))
    throw new OptionError(
      topK !== 0 ? 'sampling.topK' : 'sampling.topP',
      (l) => `${l('sampling.topK')} and ${l('sampling.topP')} apply to sampling: set ${l('sampling.temperature')} above 0 (e.g. 1), or leave them out for greedy decoding`,
    );
  return { temperature, topK, topP, seed, candidates };
}

/**
 * One decoding step: row r of `hidden` is scored against `tables[input.table[r]]` and one token is
 * chosen. The tables must have the same dim and device; the first one's kernel and thread count are
 * used. GPU tables run the fused pass on the GPU (k, top-k and candidates at most 256); with fp32
 * tables the tokens are the CPU's, draw for draw.
 */
export async function decodeStep(tables: readonly ItemTable[], input: StepInput, sampling: SamplingOptions = {}): Promise<StepOutput> {
  if (!Array.isArray(tables) || tables.length === 0) throw new TypeError(`Expected tables to be a non-empty array of ItemTable but received ${describe(tables)}`);
  const dim = tables[0].dim;
  tables.forEach((t, i) => {
    if (!(t instanceof ItemTable)) throw new TypeError(`Expected tables[${i}] to be an ItemTable but received ${describe(t)}`);
    if (t.dim !== dim) throw new RangeError(`Expected every table to have dim ${dim} (that of tables[0]) but tables[${i}] has dim ${t.dim}`);
    if (t.deviceName !== tables[0].deviceName)
      throw new RangeError(
        `Expected every table of a step on one device (${tables[0].deviceName}, that of tables[0]) but tables[${i}] is on ${t.deviceName}`,
      );
  });
  if (typeof input !== 'object' || input === null) throw new TypeError(`Expected the step input { hidden, table } but received ${describe(input)}`);
  const s = resolveSampling(sampling);
  const hidden = expectTypedArray(input.hidden, Float32Array, 'input.hidden');
  if (hidden.length % dim !== 0) throw new RangeError(`Expected input.hidden.length to be a multiple of the tables' dim (${dim}) but received length ${hidden.length}`);
  const rows = hidden.length / dim;
  const table = expectTypedArray(input.table, Int32Array, 'input.table');
  expectLength(table, rows, 'input.table', 'one per hidden row');
  expectIds(table, tables.length, 'input.table', false);
  const k = expectInteger(input.k ?? 1, 'input.k', 1, 1 << 20);
  let excludeOffsets: Int32Array | null = null;
  let excludeIds: Int32Array | null = null;
  if (input.exclude !== undefined) {
    const ex = input.exclude;
    if (typeof ex !== 'object' || ex === null) throw new TypeError(`Expected input.exclude to be { offsets: Int32Array, ids: Int32Array } but received ${describe(ex)}`);
    excludeOffsets = expectTypedArray(ex.offsets, Int32Array, 'input.exclude.offsets');
    excludeIds = expectTypedArray(ex.ids, Int32Array, 'input.exclude.ids');
    expectOffsets(excludeOffsets, rows, excludeIds.length, 'input.exclude.offsets');
    for (let r = 0; r < rows; r++) {
      const count = tables[table[r]].count;
      for (let p = excludeOffsets[r]; p < excludeOffsets[r + 1]; p++)
        if (excludeIds[p] < 0 || excludeIds[p] >= count)
          throw new RangeError(`Expected input.exclude.ids of row ${r} to be ids of its table, in [0, ${count}), but input.exclude.ids[${p}] is ${excludeIds[p]}`);
    }
  }
  const u32 = (v: unknown, name: string): Uint32Array | null => {
    if (v === undefined) return null;
    if (!(v instanceof Uint32Array)) throw new TypeError(`Expected a Uint32Array for ${name} but received ${describe(v)}`);
    expectLength(v, rows, name, 'one per hidden row');
    return v;
  };
  const streams = u32(input.streams, 'input.streams');
  const steps = u32(input.steps, 'input.steps');
  if (rows * k > 2 ** 31 - 1) throw new RangeError(`Expected rows x k <= 2^31 - 1 but received ${rows} x ${k}`);
  if (tables[0].backend === 'cuda') {
    const max = tables[0].maxK;
    if (k > max || s.topK > max || s.candidates > max)
      throw new RangeError(
        `Expected input.k, top-k and candidates to be at most ${max} for tables on ${tables[0].deviceName} but received ` +
          `${k}, ${s.topK} and ${s.candidates}: decode with CPU tables for longer lists.`,
      );
  }

  const out: StepOutput = {
    token: new Int32Array(rows),
    logProb: new Float32Array(rows),
    logZ: new Float32Array(rows),
    ids: new Int32Array(rows * k),
    scores: new Float32Array(rows * k),
    k,
  };
  if (rows === 0) return out;
  const args = {
    hidden,
    rows,
    table,
    k,
    excludeOffsets,
    excludeIds,
    streams,
    steps,
    temperature: s.temperature,
    topK: s.topK,
    topP: s.topP,
    seed: s.seed,
    candidates: s.candidates,
    token: out.token,
    logProb: out.logProb,
    logZ: out.logZ,
    ids: out.ids,
    scores: out.scores,
  };
  const first = tables[0];
  if (first.isa === 'cuda') {
    const cuda = loadCudaBinding().binding!; // a GPU table exists, so the CUDA addon loaded
    await cuda.decodeStep({ ...args, tables: tables.map((t) => nativeTable(t) as NativeCudaTable) });
    return out;
  }
  const binding = loadCpuBinding();
  if (!binding.decodeStep)
    throw new Error('regen-bench: this build of the native addon has no decoding step (built before LUMEN decoding); rebuild it with `npm run build:native`');
  // Small steps (the engine's single-thread threshold) run on the calling thread: a thread handoff
  // would cost more than the work. Larger ones run on a worker thread.
  let work = 0;
  for (let r = 0; r < rows; r++) work += tables[table[r]].count;
  const cpuArgs = { ...args, tables: tables.map((t) => nativeTable(t) as NativeCpuTable), isa: first.isa, threads: first.threads, smallBatchKernel: first.smallBatchKernel };
  if (work * dim < SYNC_WORK && binding.decodeStepSync) binding.decodeStepSync(cpuArgs);
  else await binding.decodeStep(cpuArgs);
  return out;
}
