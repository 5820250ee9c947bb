// A small ONNX writer for tests and benchmarks: protobuf bytes built from Buffers, so graphs with
// large weights (tens of MB) can be written without ONNX tooling. Covers what a decoder needs:
// nodes with int / ints / float attributes, float32 and int64 initializers, typed inputs and outputs.
const varint = (n: number | bigint): Buffer => {
  let v = BigInt.asUintN(64, BigInt(n));
  const out: number[] = [];
  do {
    let b = Number(v & 0x7fn);
    v >>= 7n;
    if (v > 0n) b |= 0x80;
    out.push(b);
  } while (v > 0n);
  return Buffer.from(out);
};
const key = (field: number, wire: number) => varint((field << 3) | wire);
const int = (field: number, n: number | bigint) => Buffer.concat([key(field, 0), varint(n)]);
const bytes = (field: number, b: Uint8Array) => Buffer.concat([key(field, 2), varint(b.length), b]);
const str = (field: number, s: string) => bytes(field, Buffer.from(s, 'utf8'));
const msg = (field: number, parts: Buffer[]) => bytes(field, Buffer.concat(parts));
const f32 = (field: number, x: number) => {
  const b = Buffer.alloc(4);
  b.writeFloatLE(x);
  return Buffer.concat([key(field, 5), b]);
};

export const FLOAT = 1;
export const INT64 = 7;
export const BOOL = 9;

export type Attr = { name: string } & ({ i: number } | { ints: number[] } | { f: number });

function attribute(a: Attr): Buffer {
  if ('i' in a) return msg(5, [str(1, a.name), int(3, a.i), int(20, 2)]);
  if ('f' in a) return msg(5, [str(1, a.name), f32(2, a.f), int(20, 1)]);
  return msg(5, [str(1, a.name), ...a.ints.map((v) => int(8, v)), int(20, 7)]);
}

export class OnnxGraph {
  private readonly nodes: Buffer[] = [];
  private readonly inits: Buffer[] = [];
  private readonly inputs: Buffer[] = [];
  private readonly outputs: Buffer[] = [];
  private counter = 0;

  /** A fresh intermediate name. */
  tmp(hint = 't'): string {
    return `${hint}_${this.counter++}`;
  }

  /** Adds a node; returns its (first) output name. */
  node(op: string, inputs: string[], attrs: Attr[] = [], output?: string): string {
    const out = output ?? this.tmp(op.toLowerCase());
    this.nodes.push(msg(1, [...inputs.map((i) => str(1, i)), str(2, out), str(3, `${op}_${out}`), str(4, op), ...attrs.map(attribute)]));
    return out;
  }

  /** A float32 initializer (raw little-endian data). */
  floats(name: string, dims: number[], data: Float32Array): string {
    this.inits.push(msg(5, [...dims.map((d) => int(1, d)), int(2, FLOAT), str(8, name), bytes(9, new Uint8Array(data.buffer, data.byteOffset, data.byteLength))]));
    return name;
  }

  /** An int64 initializer; dims [] for a scalar. */
  int64s(name: string, dims: number[], values: number[]): string {
    const data = new BigInt64Array(values.map((v) => BigInt(v)));
    this.inits.push(msg(5, [...dims.map((d) => int(1, d)), int(2, INT64), str(8, name), bytes(9, new Uint8Array(data.buffer))]));
    return name;
  }

  private static valueInfo(field: number, name: string, elemType: number, dims: (number | string)[]): Buffer {
    const dimMsgs = dims.map((d) => msg(1, [typeof d === 'number' ? int(1, d) : str(2, d)]));
    return msg(field, [str(1, name), msg(2, [msg(1, [int(1, elemType), msg(2, dimMsgs)])])]);
  }

  input(name: string, elemType: number, dims: (number | string)[]): string {
    this.inputs.push(OnnxGraph.valueInfo(11, name, elemType, dims));
    return name;
  }

  output(name: string, elemType: number, dims: (number | string)[]): string {
    this.outputs.push(OnnxGraph.valueInfo(12, name, elemType, dims));
    return name;
  }

  /** The serialized ModelProto (IR version 8, the default domain at `opset`). */
  serialize(graphName: string, opset = 17): Buffer {
    const graph = msg(7, [...this.nodes, str(2, graphName), ...this.inits, ...this.inputs, ...this.outputs]);
    return Buffer.concat([int(1, 8), str(2, 'regen-bench-tests'), graph, msg(8, [str(1, ''), int(2, opset)])]);
  }
}
