// The training loss on the engine: the item table's fused full-catalogue cross-entropy
// (ItemTable.crossEntropy; no rows x items matrix), on the CPU or a GPU. The table's items are
// replaced by the current output table before every step.
import { ItemTable, type Device } from '../engine/item-table.js';
import type { LossHead, LossResult } from './loss.js';

/** The part of ItemTable the loss uses (the fused cross-entropy and in-place item updates). */
interface CrossEntropyTable {
  setItems(items: Float32Array): Promise<void> | void;
  crossEntropy(
    queries: Float32Array,
    targets: Int32Array,
    opts: { rowWeights?: Float32Array; gradItems?: Float32Array },
  ): Promise<{ loss: Float32Array; gradQueries: Float32Array }>;
}

export class EngineLossHead implements LossHead {
  readonly name: string;
  #table: ItemTable;
  #dRows: Float32Array;

  private constructor(
    table: ItemTable,
    private readonly items: number,
    private readonly dim: number,
  ) {
    this.#table = table;
    this.#dRows = new Float32Array(items * dim);
    this.name = table.backend === 'cuda' ? `engine ${table.deviceName} ${table.precision}` : `engine cpu ${table.isa} ${table.precision}`;
  }

  static async create(items: number, dim: number, device: Device = 'cpu'): Promise<EngineLossHead> {
    const table = await ItemTable.create(new Float32Array(items * dim), { dim, device });
    const t = table as unknown as Partial<CrossEntropyTable>;
    if (typeof t.crossEntropy !== 'function' || typeof t.setItems !== 'function') {
      table.dispose();
      throw new Error(
        'training needs the fused full-catalogue cross-entropy of the item table (ItemTable.crossEntropy and setItems), which this build lacks',
      );
    }
    return new EngineLossHead(table, items, dim);
  }

  async compute(hidden: Float32Array, rows: Float32Array, targets: Int32Array): Promise<LossResult> {
    const t = this.#table as unknown as CrossEntropyTable;
    await t.setItems(rows);
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
