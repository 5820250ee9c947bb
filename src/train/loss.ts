// The loss of a training step: softmax cross-entropy over the whole catalogue, averaged over the
// batch's output rows, with its gradients for the hidden states and for the output table. The
// trainer asks a LossHead for it: the engine's fused cross-entropy (no rows x items matrix; CPU or
// GPU), or the float64 reference (tests and tiny configurations).
import { crossEntropyReference } from './reference.js';

export interface LossResult {
  /** Mean loss over the rows. */
  loss: number;
  /** rows x dim */
  dHidden: Float32Array;
  /** items x dim: the gradient for the output table. */
  dRows: Float32Array;
}

export interface LossHead {
  /** What computes the loss, for logs and config.json ("engine cpu avx512", "reference"). */
  readonly name: string;
  /** The mean cross-entropy of hidden (targets.length x dim) against the output table rows (items x dim). */
  compute(hidden: Float32Array, rows: Float32Array, targets: Int32Array): Promise<LossResult>;
  dispose(): void;
}

/** The unfused float64 reference: memory and time O(rows x items). Tests and tiny data only. */
export class ReferenceLossHead implements LossHead {
  readonly name = 'reference (float64, unfused)';

  constructor(
    private readonly items: number,
    private readonly dim: number,
  ) {}

  async compute(hidden: Float32Array, rows: Float32Array, targets: Int32Array): Promise<LossResult> {
    const R = targets.length;
    const w = new Float64Array(R).fill(R ? 1 / R : 0);
    const r = crossEntropyReference(hidden, rows, targets, this.items, this.dim, w);
    return { loss: r.loss, dHidden: Float32Array.from(r.dHidden), dRows: Float32Array.from(r.dRows) };
  }

  dispose(): void {}
}
