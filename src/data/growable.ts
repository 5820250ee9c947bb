// Typed arrays that grow by doubling: numeric columns are built in place, then handed out as exact-size views.

type NumericArray = Int32Array | Uint8Array | Float32Array | Float64Array;
type Ctor<T extends NumericArray> = { new (length: number): T };

export class Growable<T extends NumericArray> {
  private data: T;
  length = 0;

  constructor(
    private readonly ctor: Ctor<T>,
    initial = 1024,
    private readonly fill?: number,
  ) {
    this.data = new ctor(initial);
    if (fill !== undefined) this.data.fill(fill);
  }

  private grow(min: number): void {
    let size = this.data.length * 2;
    while (size < min) size *= 2;
    const next = new this.ctor(size);
    if (this.fill !== undefined) next.fill(this.fill, this.data.length);
    next.set(this.data);
    this.data = next;
  }

  push(value: number): void {
    if (this.length === this.data.length) this.grow(this.length + 1);
    this.data[this.length++] = value;
  }

  /** Sets index i (growing and filling the gap with the fill value, or 0). */
  set(i: number, value: number): void {
    if (i >= this.data.length) this.grow(i + 1);
    this.data[i] = value;
    if (i >= this.length) this.length = i + 1;
  }

  get(i: number): number {
    return this.data[i];
  }

  /** Pads to `length` with the fill value (columns that start late, such as a score seen first on row 1000). */
  padTo(length: number): void {
    if (length > this.data.length) this.grow(length);
    if (length > this.length) this.length = length;
  }

  /** An exact-size array (a copy only when the buffer is larger). */
  finish(): T {
    if (this.data.length === this.length) return this.data;
    return this.data.slice(0, this.length) as T;
  }
}
