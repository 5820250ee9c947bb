// Reads embedding matrices that models hand in: NumPy .npy (float32, float16, float64) and
// safetensors (F32, BF16, F16, F64). Everything arrives as float32 (bf16 and f16 exactly; f64
// rounded, and said so), row-major rows x dim.
import { readFile } from 'node:fs/promises';

export type EmbeddingDtype = 'float32' | 'bfloat16' | 'float16' | 'float64';

export interface EmbeddingMatrix {
  data: Float32Array;
  rows: number;
  dim: number;
  /** The dtype in the file (data is always float32). */
  dtype: EmbeddingDtype;
  file: string;
  /** The safetensors tensor read. */
  tensor?: string;
  /** NaN or infinite values found (the caller decides whether that is fatal). */
  nonFinite: number;
}

export class EmbeddingFileError extends Error {
  constructor(file: string, message: string) {
    super(`${file}: ${message}`);
    this.name = 'EmbeddingFileError';
  }
}

const f16Table = (() => {
  // Every half-precision value, decoded once (65,536 floats): exact, and faster than bit twiddling.
  const out = new Float32Array(65536);
  for (let h = 0; h < 65536; h++) {
    const sign = h & 0x8000 ? -1 : 1;
    const exp = (h >> 10) & 0x1f;
    const frac = h & 0x3ff;
    out[h] = exp === 0 ? sign * frac * 2 ** -24 : exp === 31 ? (frac ? NaN : sign * Infinity) : sign * (1 + frac / 1024) * 2 ** (exp - 15);
  }
  return out;
})();

function decode(bytes: Uint8Array, dtype: EmbeddingDtype, littleEndian: boolean, count: number): Float32Array {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (dtype === 'float32' && littleEndian && bytes.byteOffset % 4 === 0) return new Float32Array(bytes.buffer, bytes.byteOffset, count).slice();
  const out = new Float32Array(count);
  if (dtype === 'float32') for (let i = 0; i < count; i++) out[i] = view.getFloat32(i * 4, littleEndian);
  else if (dtype === 'float64') for (let i = 0; i < count; i++) out[i] = view.getFloat64(i * 8, littleEndian);
  else if (dtype === 'float16') for (let i = 0; i < count; i++) out[i] = f16Table[view.getUint16(i * 2, littleEndian)];
  else {
    const bits = new Uint32Array(out.buffer);
    for (let i = 0; i < count; i++) bits[i] = view.getUint16(i * 2, littleEndian) << 16; // bf16 is the top half of a float32
  }
  return out;
}

const itemSize: Record<EmbeddingDtype, number> = { float32: 4, bfloat16: 2, float16: 2, float64: 8 };

function countNonFinite(data: Float32Array): number {
  let n = 0;
  for (let i = 0; i < data.length; i++) if (!Number.isFinite(data[i])) n++;
  return n;
}

function readNpy(file: string, buf: Buffer): EmbeddingMatrix {
  if (buf.length < 10 || buf.toString('latin1', 0, 6) !== '\x93NUMPY')
    throw new EmbeddingFileError(file, 'not a NumPy .npy file (no \\x93NUMPY magic)');
  const major = buf[6];
  const headerLength = major === 1 ? buf.readUInt16LE(8) : buf.readUInt32LE(8);
  const headerStart = major === 1 ? 10 : 12;
  const header = buf.toString('latin1', headerStart, headerStart + headerLength);
  const descr = /'descr'\s*:\s*'([<>|=])([a-zA-Z])(\d+)'/.exec(header);
  const fortran = /'fortran_order'\s*:\s*(True|False)/.exec(header);
  const shape = /'shape'\s*:\s*\(([^)]*)\)/.exec(header);
  if (!descr || !fortran || !shape) throw new EmbeddingFileError(file, `unreadable .npy header: ${header.trim()}`);
  const kind = `${descr[2]}${descr[3]}`;
  const dtype: EmbeddingDtype | undefined = ({ f4: 'float32', f2: 'float16', f8: 'float64' } as const)[kind as 'f4'];
  if (!dtype) throw new EmbeddingFileError(file, `dtype '${descr[1]}${kind}' is not supported; save float32 (np.float32), float16 or float64`);
  if (fortran[1] === 'True') throw new EmbeddingFileError(file, 'Fortran-ordered array; save it with np.save(f, np.ascontiguousarray(x))');
  const dims = shape[1].split(',').map((s) => s.trim()).filter(Boolean).map(Number);
  if (dims.length !== 2) throw new EmbeddingFileError(file, `expected a 2-D array (rows, dim) but the shape is (${dims.join(', ')})`);
  const [rows, dim] = dims;
  const start = headerStart + headerLength;
  const bytes = rows * dim * itemSize[dtype];
  if (buf.length - start < bytes) throw new EmbeddingFileError(file, `truncated: ${buf.length - start} data bytes for shape (${rows}, ${dim}) ${dtype} (${bytes} needed)`);
  const data = decode(buf.subarray(start, start + bytes), dtype, descr[1] !== '>', rows * dim);
  return { data, rows, dim, dtype, file, nonFinite: countNonFinite(data) };
}

const safetensorsDtypes: Record<string, EmbeddingDtype> = { F32: 'float32', BF16: 'bfloat16', F16: 'float16', F64: 'float64' };

function readSafetensors(file: string, buf: Buffer, wanted?: string): EmbeddingMatrix {
  if (buf.length < 8) throw new EmbeddingFileError(file, 'not a safetensors file (shorter than its 8-byte header length)');
  const headerLength = Number(buf.readBigUInt64LE(0));
  if (headerLength > buf.length - 8) throw new EmbeddingFileError(file, `not a safetensors file (header length ${headerLength} exceeds the file)`);
  let header: Record<string, { dtype: string; shape: number[]; data_offsets: [number, number] }>;
  try {
    header = JSON.parse(buf.toString('utf8', 8, 8 + headerLength));
  } catch {
    throw new EmbeddingFileError(file, 'not a safetensors file (its header is not JSON)');
  }
  const names = Object.keys(header).filter((k) => k !== '__metadata__');
  const name = wanted ?? (names.length === 1 ? names[0] : undefined);
  if (name === undefined) throw new EmbeddingFileError(file, `holds ${names.length} tensors (${names.join(', ')}); choose one with --tensor`);
  const t = header[name];
  if (!t) throw new EmbeddingFileError(file, `has no tensor '${name}' (it holds: ${names.join(', ')})`);
  const dtype = safetensorsDtypes[t.dtype];
  if (!dtype) throw new EmbeddingFileError(file, `tensor '${name}' has dtype ${t.dtype}; supported: ${Object.keys(safetensorsDtypes).join(', ')}`);
  if (t.shape.length !== 2) throw new EmbeddingFileError(file, `tensor '${name}' must be 2-D (rows, dim) but has shape [${t.shape.join(', ')}]`);
  const [rows, dim] = t.shape;
  const [begin, end] = t.data_offsets;
  const start = 8 + headerLength + begin;
  if (end - begin !== rows * dim * itemSize[dtype] || 8 + headerLength + end > buf.length)
    throw new EmbeddingFileError(file, `tensor '${name}' data [${begin}, ${end}) does not hold [${rows}, ${dim}] ${t.dtype} inside the file`);
  const data = decode(buf.subarray(start, start + (end - begin)), dtype, true, rows * dim);
  return { data, rows, dim, dtype, file, tensor: name, nonFinite: countNonFinite(data) };
}

/** Reads a .npy or .safetensors embedding matrix (by extension; `tensor` picks a safetensors entry). */
export async function readEmbeddings(file: string, options: { tensor?: string } = {}): Promise<EmbeddingMatrix> {
  const buf = await readFile(file);
  if (file.endsWith('.npy')) return readNpy(file, buf);
  if (file.endsWith('.safetensors')) return readSafetensors(file, buf, options.tensor);
  throw new EmbeddingFileError(file, 'unknown format: expected a .npy or .safetensors file');
}

/** Reads an id list: one id per line (blank lines ignored), or a JSON array of strings. */
export async function readIdList(file: string): Promise<string[]> {
  const text = await readFile(file, 'utf8');
  if (text.trimStart().startsWith('[')) {
    const ids: unknown = JSON.parse(text);
    if (!Array.isArray(ids) || ids.some((x) => typeof x !== 'string' && typeof x !== 'number'))
      throw new EmbeddingFileError(file, 'expected a JSON array of ids (strings)');
    return ids.map(String);
  }
  return text.split(/\r?\n/).map((l) => l.trim()).filter((l) => l.length > 0);
}

/** A float32 matrix (rows x dim, row-major) as a NumPy .npy file (format 1.0), for exporting vectors. */
export function encodeNpy(data: Float32Array, rows: number, dim: number): Buffer {
  if (data.length !== rows * dim) throw new RangeError(`Expected ${rows} x ${dim} = ${rows * dim} values but received ${data.length}`);
  let header = `{'descr': '<f4', 'fortran_order': False, 'shape': (${rows}, ${dim}), }`;
  header += ' '.repeat((64 - ((10 + header.length + 1) % 64)) % 64) + '\n'; // data aligned to 64 bytes
  const head = Buffer.alloc(10);
  head.write('\x93NUMPY', 0, 'latin1');
  head[6] = 1;
  head.writeUInt16LE(header.length, 8);
  return Buffer.concat([head, Buffer.from(header, 'latin1'), Buffer.from(data.buffer, data.byteOffset, data.byteLength)]);
}
