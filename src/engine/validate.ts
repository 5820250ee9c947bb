// Argument checks for the public API. Messages say what was expected, for which argument, and
// what was received, so the caller can fix the call without reading the source.

type TypedArrayCtor = Float32ArrayConstructor | Float64ArrayConstructor | Int32ArrayConstructor | Uint32ArrayConstructor;

/** A short description of a value for error messages. */
export function describe(value: unknown): string {
  if (value === null) return 'null';
  if (value === undefined) return 'undefined';
  if (ArrayBuffer.isView(value)) {
    const name = value.constructor?.name ?? 'typed array';
    return 'length' in value ? `${name}(${(value as { length: number }).length})` : name;
  }
  if (Array.isArray(value)) return `an Array(${value.length})`;
  switch (typeof value) {
    case 'number':
      return `the number ${value}`;
    case 'string':
      return `the string ${JSON.stringify(value.length > 40 ? value.slice(0, 40) + '…' : value)}`;
    case 'object':
      return `an object (${value.constructor?.name ?? 'Object'})`;
    default:
      return `a ${typeof value}`;
  }
}

export function expectTypedArray<C extends TypedArrayCtor>(value: unknown, ctor: C, name: string): InstanceType<C> {
  if (!(value instanceof ctor)) {
    const hint = Array.isArray(value) ? ` (convert it with ${ctor.name}.from(...))` : '';
    throw new TypeError(`Expected a ${ctor.name} for ${name} but received ${describe(value)}${hint}`);
  }
  return value as InstanceType<C>;
}

export function expectLength(array: ArrayLike<unknown>, length: number, name: string, why: string): void {
  if (array.length !== length)
    throw new RangeError(`Expected ${name} to have length ${length} (${why}) but received length ${array.length}`);
}

export function expectInteger(value: unknown, name: string, min: number, max = Number.MAX_SAFE_INTEGER): number {
  if (typeof value !== 'number' || !Number.isInteger(value))
    throw new TypeError(`Expected an integer for ${name} but received ${describe(value)}`);
  if (value < min || value > max) {
    const range = max === Number.MAX_SAFE_INTEGER ? `>= ${min}` : `in [${min}, ${max}]`;
    throw new RangeError(`Expected ${name} ${range} but received ${value}`);
  }
  return value;
}

/** Every value in [0, count), or -1 where allowMissing. */
export function expectIds(ids: Int32Array, count: number, name: string, allowMissing: boolean): void {
  const low = allowMissing ? -1 : 0;
  for (let i = 0; i < ids.length; i++) {
    const id = ids[i];
    if (id < low || id >= count) {
      const allowed = allowMissing ? `-1 (none) or an item id in [0, ${count})` : `item ids in [0, ${count})`;
      throw new RangeError(`Expected ${name} to hold ${allowed} but ${name}[${i}] is ${id}`);
    }
  }
}

/** CSR offsets: rows + 1 non-decreasing values inside [0, idsLength]. */
export function expectOffsets(offsets: Int32Array, rows: number, idsLength: number, name: string): void {
  expectLength(offsets, rows + 1, name, 'one more than the number of query rows');
  for (let i = 0; i <= rows; i++) {
    const o = offsets[i];
    if (o < 0 || o > idsLength)
      throw new RangeError(`Expected ${name}[${i}] in [0, ${idsLength}] (the length of the ids array) but received ${o}`);
    if (i > 0 && o < offsets[i - 1])
      throw new RangeError(
        `Expected ${name} to be non-decreasing but ${name}[${i}] = ${o} < ${name}[${i - 1}] = ${offsets[i - 1]}`,
      );
  }
}
