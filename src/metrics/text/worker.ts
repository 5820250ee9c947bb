// Piscina worker: scores one chunk and moves its statistics back without copying: BLEU's n x 10
// values, then ROUGE's n x 3T, in one Int32Array.
import { move } from 'piscina';

import { computePackedChunk, type PackedChunkTask } from './chunk.js';

export default function scoreChunk(task: PackedChunkTask): unknown {
  const { bleu, rouge } = computePackedChunk(task);
  const packed = new Int32Array(bleu.length + rouge.length);
  packed.set(bleu);
  packed.set(rouge, bleu.length);
  return move(packed);
}
