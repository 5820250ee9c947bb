// The training loss on the engine: the item table's fused full-catalogue cross-entropy
// (ItemTable.crossEntropy; no rows x items matrix), on the CPU or a GPU. The table's items are
// replaced by the current output table before every step.
import { defaultEngine, type Engine } from '../engine/engine.js';
import type { ItemTable } from '../engine/item-table.js';
import type { LossHead, LossResult } from './loss.js';

export class EngineLossHead implements LossHead {
  readonly name: string;
  #table: ItemTable;
  #dRows: Float32Array;

  private constructor(
    table: ItemTable,
    items: number,
    dim: number,
  ) {
    this.#table = table;
    this.#dRows = new Float32Array(items * dim);
    this.name = table.backend === 'cuda' ? `engine ${table.deviceName} ${table.precision}` : `engine cpu ${table.isa} ${table.precision}`;
  }

  /** The loss on `engine`'s device (its kernel, threads; fp32). */
  static async create(items: number, dim: number, engine: Engine = defaultEngine(), precision: 'fp32' | 'bf16' = 'fp32'): Promise<EngineLossHead> {
    return new EngineLossHead(await engine.createTable(new Float32Array(items * dim), { dim, precision }), items, dim);
  }

  async compute(hidden: Float32Array, rows: Float32Array, targets: Int32Array): Promise<LossResult> {
    const t = this.#table;
    t.setItems(rows);
    const R = targets.length;
    const weights = new Float32Array(R).fill(R ? 1 / R : 0);
    this.#dRows.fill(0);
    const r = await t.crossEntropy(hidden, targets, { rowWeights: weights, gradItems: this.#dRows });
    let loss = 0;
    for (let i = 0; i < R; i++) loss += r.loss[i];
    return { loss: R ? loss / R : 0, dHidden: r.gradQueries, dRows: this.#dRows };
  }

  dispose(): void {
    this.#table.dispose();
  }
}
