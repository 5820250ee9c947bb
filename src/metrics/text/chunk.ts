// One chunk of pairs -> their sufficient statistics. Shared by the worker and the in-process path,
// so both compute with the same code.
import { BLEU_STATS } from './bleu.js';
import { PairStatsEngine } from './pair-stats.js';
import { ROUGE_STATS, parseRougeType } from './rouge.js';
import { defaultThreads, textKernels, type TextKernels } from '../../engine/engine.js';
import { pyLower } from './python-text.js';
import type { BleuTokenizerName } from './bleu.js';

export type TextBackend = 'native' | 'js';

/**
 * Where the statistics are computed: the native addon (default, when it has the text kernels) or
 * TypeScript (REGEN_TEXT_BACKEND=js, or an addon built before them). Both give identical numbers.
 */
export function textBackend(): { backend: TextBackend; kernels: TextKernels | null } {
  if (process.env.REGEN_TEXT_BACKEND === 'js') return { backend: 'js', kernels: null };
  const kernels = textKernels();
  return kernels ? { backend: 'native', kernels } : { backend: 'js', kernels: null };
}

export interface ChunkSettings {
  bleuTokenize: BleuTokenizerName;
  bleuLowercase: boolean;
  rougeTypes: string[];
  stem: boolean;
  /** false: ROUGE only (the BLEU statistics stay zero). */
  bleu: boolean;
}

export interface ChunkTask {
  settings: ChunkSettings;
  hyps: string[];
  refs: string[][];
}

export interface ChunkStats {
  /** n x 10: [sys_len, ref_len, correct_1..4, total_1..4] per pair. */
  bleu: Int32Array;
  /** n x 3T: [matches, prediction count, target count] per ROUGE type per pair. */
  rouge: Int32Array;
}

/**
 * A chunk as it crosses to a worker: every text of the chunk in one string (structured clone copies
 * one string at memory speed instead of thousands of small ones) and the layout
 * [nrefs, hyp length, ref lengths...] per pair.
 */
export interface PackedChunkTask {
  settings: ChunkSettings;
  text: string;
  layout: Int32Array;
}

export function packChunk(settings: ChunkSettings, hyps: string[], refs: string[][], start: number, end: number): PackedChunkTask {
  let size = 0;
  for (let i = start; i < end; i++) size += 2 + refs[i].length;
  const layout = new Int32Array(size);
  const parts: string[] = [];
  let k = 0;
  for (let i = start; i < end; i++) {
    const rs = refs[i];
    layout[k++] = rs.length;
    layout[k++] = hyps[i].length;
    parts.push(hyps[i]);
    for (let r = 0; r < rs.length; r++) {
      layout[k++] = rs[r].length;
      parts.push(rs[r]);
    }
  }
  return { settings, text: parts.join(''), layout };
}

export function unpackChunk(task: PackedChunkTask): ChunkTask {
  const { text, layout } = task;
  const hyps: string[] = [];
  const refs: string[][] = [];
  let pos = 0;
  for (let k = 0; k < layout.length; ) {
    const nrefs = layout[k++];
    const hl = layout[k++];
    hyps.push(text.slice(pos, pos + hl));
    pos += hl;
    const rs: string[] = [];
    for (let r = 0; r < nrefs; r++) {
      const rl = layout[k++];
      rs.push(text.slice(pos, pos + rl));
      pos += rl;
    }
    refs.push(rs);
  }
  return { settings: task.settings, hyps, refs };
}

let engine: PairStatsEngine | null = null;

/** Statistics of a packed chunk (in a worker): the native kernels read it as it is. */
export function computePackedChunk(task: PackedChunkTask): ChunkStats {
  const { kernels } = textBackend();
  if (kernels && !task.settings.bleuLowercase) return computeNative(kernels, task, task);
  return computeChunk(unpackChunk(task), task);
}

function computeNative(kernels: TextKernels, p: PackedChunkTask, task: ChunkTask | PackedChunkTask): ChunkStats {
  const settings = task.settings;
  const types = settings.rougeTypes.map(parseRougeType);
  const n = 'hyps' in task ? task.hyps.length : countPairs(p.layout);
  let bleu: Int32Array = new Int32Array(n * BLEU_STATS);
  let rouge: Int32Array = new Int32Array(n * ROUGE_STATS * types.length);
  if (settings.bleu) {
    let q = p;
    if (settings.bleuLowercase) {
      // Lower-casing needs Python's case tables (python-text.ts), so it happens here, before packing.
      const { hyps, refs } = 'hyps' in task ? task : unpackChunk(p);
      q = packChunk(settings, hyps.map(pyLower), refs.map((r) => r.map(pyLower)), 0, n);
    }
    bleu = kernels.bleuChunkStats(q.text, q.layout, settings.bleuTokenize === '13a');
  }
  if (types.length > 0) rouge = kernels.rougeChunkStats(p.text, p.layout, Int32Array.from(types), settings.stem);
  return { bleu, rouge };
}

/**
 * Statistics of one chunk computed off the calling thread where the addon can (eval narrates the next
 * kind meanwhile), else on it: also with one thread for native work (REGEN_THREADS=1). The same kernels
 * either way, so the same numbers.
 */
export async function computeChunkInBackground(task: ChunkTask): Promise<ChunkStats> {
  const { kernels } = textBackend();
  const { settings, hyps, refs } = task;
  if (!kernels?.textChunkStats || settings.bleuLowercase || defaultThreads() < 2) return computeChunk(task);
  const p = packChunk(settings, hyps, refs, 0, hyps.length);
  const bleu = settings.bleu ? (settings.bleuTokenize === '13a' ? 1 : 2) : 0;
  return kernels.textChunkStats(p.text, p.layout, bleu, Int32Array.from(settings.rougeTypes.map(parseRougeType)), settings.stem);
}

function countPairs(layout: Int32Array): number {
  let n = 0;
  for (let k = 0; k + 1 < layout.length; n++) k += 2 + layout[k];
  return n;
}

/** Statistics of one chunk; `packed` (the same pairs, packed) saves re-packing for the native path. */
export function computeChunk(task: ChunkTask, packed?: PackedChunkTask): ChunkStats {
  engine ??= new PairStatsEngine();
  const { hyps, refs, settings } = task;
  const types = settings.rougeTypes.map(parseRougeType);
  const n = hyps.length;
  const bleu = new Int32Array(n * BLEU_STATS);
  const rouge = new Int32Array(n * ROUGE_STATS * types.length);
  const { kernels } = textBackend();
  if (kernels) return computeNative(kernels, packed ?? packChunk(settings, hyps, refs, 0, n), task);
  for (let i = 0; i < n; i++) {
    if (settings.bleu) engine.bleuStats(hyps[i], refs[i], bleu, i * BLEU_STATS, settings.bleuTokenize, settings.bleuLowercase);
    if (types.length > 0) engine.rougeStats(hyps[i], refs[i], rouge, i * ROUGE_STATS * types.length, types, settings.stem);
  }
  return { bleu, rouge };
}
