// Reads embedding matrices that models hand in: NumPy .npy (float32, float16, float64) and
// safetensors (F32, BF16, F16, F64). Everything arrives as float32 (bf16 and f16 exactly; f64
// rounded, and said so), row-major rows x dim. Headers are checked against the file's size and the
// limits before anything is allocated; the data is read a slice at a time into the result.
import { createHash } from 'node:crypto';
import { closeSync, fstatSync, openSync, readSync, statSync } from 'node:fs';
import { readFile } from 'node:fs/promises';

import { readLines } from '../data/lines.js';
import { Issues } from '../data/report.js';
import { own, parseJsonLine, preview } from '../util/json.js';
import { checkLimit, LimitError } from '../util/limits.js';

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

/** Decodes `count` values of `dtype` from `bytes` into `out` at `at`. */
function decodeInto(bytes: Uint8Array, dtype: EmbeddingDtype, littleEndian: boolean, count: number, out: Float32Array, at: number): void {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (dtype === 'float32') for (let i = 0; i < count; i++) out[at + i] = view.getFloat32(i * 4, littleEndian);
  else if (dtype === 'float64') for (let i = 0; i < count; i++) out[at + i] = view.getFloat64(i * 8, littleEndian);
  else if (dtype === 'float16') for (let i = 0; i < count; i++) out[at + i] = f16Table[view.getUint16(i * 2, littleEndian)];
  else {
    const bits = new Uint32Array(out.buffer, out.byteOffset + at * 4, count);
    for (let i = 0; i < count; i++) bits[i] = view.getUint16(i * 2, littleEndian) << 16; // bf16 is the top half of a float32
  }
}

const itemSize: Record<EmbeddingDtype, number> = { float32: 4, bfloat16: 2, float16: 2, float64: 8 };

function countNonFinite(data: Float32Array): number {
  let n = 0;
  for (let i = 0; i < data.length; i++) if (!Number.isFinite(data[i])) n++;
  return n;
}

/** An open file read at offsets: what is asked for must be inside it, or the message says so. */
class FileReader {
  readonly fd: number;
  readonly size: number;
  constructor(readonly file: string) {
    // Checked before opening: opening a FIFO for reading would wait for a writer.
    let kind: string | null = null;
    try {
      const st = statSync(file);
      if (!st.isFile()) kind = st.isDirectory() ? 'a folder' : 'a device or pipe';
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      throw new EmbeddingFileError(file, code === 'ENOENT' ? 'no such file' : `cannot be read (${(e as Error).message})`);
    }
    if (kind) throw new EmbeddingFileError(file, `is not a regular file (${kind}); give a .npy or .safetensors file`);
    try {
      this.fd = openSync(file, 'r');
    } catch (e) {
      throw new EmbeddingFileError(file, `cannot be read (${(e as Error).message})`);
    }
    this.size = fstatSync(this.fd).size;
  }
  /** Exactly `length` bytes at `position` (the caller checked they are inside the file). */
  read(position: number, length: number, into = Buffer.allocUnsafe(length)): Buffer {
    let done = 0;
    while (done < length) {
      const n = readSync(this.fd, into, done, length - done, position + done);
      if (n === 0) throw new EmbeddingFileError(this.file, `ended at byte ${position + done} while ${length} bytes at ${position} were read (the file changed?)`);
      done += n;
    }
    return into;
  }
  close(): void {
    closeSync(this.fd);
  }
}

/** Reads rows x dim values of `dtype` at `start` into a new Float32Array, a slice at a time. */
function readMatrix(r: FileReader, start: number, rows: number, dim: number, dtype: EmbeddingDtype, littleEndian: boolean): Float32Array {
  const count = rows * dim;
  const out = new Float32Array(count);
  const size = itemSize[dtype];
  if (dtype === 'float32' && littleEndian) {
    // Straight into the result's memory (little-endian hosts).
    const bytes = Buffer.from(out.buffer, out.byteOffset, out.byteLength);
    for (let done = 0; done < bytes.length; done += READ_SLICE) r.read(start + done, Math.min(READ_SLICE, bytes.length - done), bytes.subarray(done));
    return out;
  }
  const per = Math.floor(READ_SLICE / size);
  const scratch = Buffer.allocUnsafe(per * size);
  for (let at = 0; at < count; at += per) {
    const n = Math.min(per, count - at);
    decodeInto(r.read(start + at * size, n * size, scratch), dtype, littleEndian, n, out, at);
  }
  return out;
}

const READ_SLICE = 1 << 24;

/** A dimension from a header: a non-negative safe integer, or the message says what it is. */
function dimension(file: string, value: unknown, what: string): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0)
    throw new EmbeddingFileError(file, `${what} must be a non-negative integer but is ${preview(value)}`);
  return value;
}

function checkValues(file: string, rows: number, dim: number, tensor?: string): void {
  checkLimit('tableValues', rows * dim, file, `${tensor ? `tensor '${tensor}' ` : ''}shape (${rows}, ${dim}) = ${(rows * dim).toLocaleString('en-US')} values`);
}

function readNpy(file: string, r: FileReader): EmbeddingMatrix {
  if (r.size < 10 || r.read(0, 6).toString('latin1') !== '\x93NUMPY') throw new EmbeddingFileError(file, 'not a NumPy .npy file (no \\x93NUMPY magic)');
  const major = r.read(6, 1)[0];
  if (major < 1 || major > 3) throw new EmbeddingFileError(file, `NumPy format version ${major} is not one regen-bench reads (1, 2 or 3)`);
  const headerStart = major === 1 ? 10 : 12;
  if (r.size < headerStart) throw new EmbeddingFileError(file, 'truncated inside its header');
  const headerLength = major === 1 ? r.read(8, 2).readUInt16LE(0) : r.read(8, 4).readUInt32LE(0);
  checkLimit('headerBytes', headerLength, file, `the .npy header of ${headerLength.toLocaleString('en-US')} bytes`);
  if (headerStart + headerLength > r.size) throw new EmbeddingFileError(file, `truncated: its header says ${headerLength} bytes but the file ends first`);
  const header = r.read(headerStart, headerLength).toString(major === 3 ? 'utf8' : 'latin1');
  const descr = /'descr'\s*:\s*'([<>|=])([a-zA-Z])(\d+)'/.exec(header);
  const fortran = /'fortran_order'\s*:\s*(True|False)/.exec(header);
  const shape = /'shape'\s*:\s*\(([^)]*)\)/.exec(header);
  if (!descr || !fortran || !shape) throw new EmbeddingFileError(file, `unreadable .npy header: ${preview(header.trim(), 120)}`);
  const kind = `${descr[2]}${descr[3]}`;
  const dtype: EmbeddingDtype | undefined = ({ f4: 'float32', f2: 'float16', f8: 'float64' } as const)[kind as 'f4'];
  if (!dtype) throw new EmbeddingFileError(file, `dtype '${descr[1]}${kind}' is not supported; save float32 (np.float32), float16 or float64`);
  if (fortran[1] === 'True') throw new EmbeddingFileError(file, 'Fortran-ordered array; save it with np.save(f, np.ascontiguousarray(x))');
  const parts = shape[1].split(',').map((s) => s.trim()).filter(Boolean);
  const dims = parts.map((p) => (/^\d+$/.test(p) ? dimension(file, Number(p), 'every dimension of the shape') : dimension(file, p, 'every dimension of the shape')));
  if (dims.length !== 2) throw new EmbeddingFileError(file, `expected a 2-D array (rows, dim) but the shape is (${dims.join(', ')})`);
  const [rows, dim] = dims;
  checkValues(file, rows, dim);
  const start = headerStart + headerLength;
  const bytes = rows * dim * itemSize[dtype];
  if (r.size - start !== bytes)
    throw new EmbeddingFileError(
      file,
      `${r.size - start < bytes ? 'truncated' : 'has extra bytes'}: ${r.size - start} data bytes for shape (${rows}, ${dim}) ${dtype} (${bytes} expected); save it again with np.save`,
    );
  const data = readMatrix(r, start, rows, dim, dtype, descr[1] !== '>');
  return { data, rows, dim, dtype, file, nonFinite: countNonFinite(data) };
}

const safetensorsDtypes: Record<string, EmbeddingDtype> = { F32: 'float32', BF16: 'bfloat16', F16: 'float16', F64: 'float64' };

export interface SafetensorsEntry {
  dtype: string;
  shape: number[];
  /** [begin, end) within the data section (after the 8-byte length and the header). */
  offsets: [number, number];
}

/** A safetensors header, checked: every entry's shape and offsets inside the file. */
export interface SafetensorsHeader {
  /** Bytes before the data section (8 + the header's length). */
  dataStart: number;
  tensors: Map<string, SafetensorsEntry>;
}

function readHeader(file: string, r: FileReader): SafetensorsHeader {
  if (r.size < 8) throw new EmbeddingFileError(file, 'not a safetensors file (shorter than its 8-byte header length)');
  const n = r.read(0, 8).readBigUInt64LE(0);
  if (n > BigInt(r.size - 8)) throw new EmbeddingFileError(file, `not a safetensors file (header length ${n} exceeds the file)`);
  const headerLength = Number(n);
  checkLimit('headerBytes', headerLength, file, `the safetensors header of ${headerLength.toLocaleString('en-US')} bytes`);
  let header: unknown;
  try {
    header = parseJsonLine(r.read(8, headerLength).toString('utf8'), `${file} (header)`);
  } catch (e) {
    if (e instanceof LimitError) throw e;
    throw new EmbeddingFileError(file, 'not a safetensors file (its header is not JSON)');
  }
  if (header === null || typeof header !== 'object' || Array.isArray(header)) throw new EmbeddingFileError(file, `not a safetensors file (its header is ${preview(header)}, not a JSON object)`);
  const dataStart = 8 + headerLength;
  const dataBytes = r.size - dataStart;
  const tensors = new Map<string, SafetensorsEntry>();
  for (const [name, value] of Object.entries(header as Record<string, unknown>)) {
    if (name === '__metadata__') continue;
    const t = value as { dtype?: unknown; shape?: unknown; data_offsets?: unknown } | null;
    const bad = (why: string) => new EmbeddingFileError(file, `tensor '${name}': ${why}`);
    if (t === null || typeof t !== 'object' || Array.isArray(t)) throw bad(`its entry is ${preview(t)}, not an object with dtype, shape and data_offsets`);
    if (typeof t.dtype !== 'string') throw bad(`dtype is ${preview(t.dtype)}, not a string`);
    if (!Array.isArray(t.shape)) throw bad(`shape is ${preview(t.shape)}, not an array`);
    const shape = t.shape.map((d, k) => dimension(file, d, `tensor '${name}' shape[${k}]`));
    if (!Array.isArray(t.data_offsets) || t.data_offsets.length !== 2) throw bad(`data_offsets is ${preview(t.data_offsets)}, not [begin, end]`);
    const begin = dimension(file, t.data_offsets[0], `tensor '${name}' data_offsets[0]`);
    const end = dimension(file, t.data_offsets[1], `tensor '${name}' data_offsets[1]`);
    if (begin > end || end > dataBytes) throw bad(`data [${begin}, ${end}) is not inside the ${dataBytes} bytes of data after the header`);
    tensors.set(name, { dtype: t.dtype, shape, offsets: [begin, end] });
  }
  return { dataStart, tensors };
}

/** The header of a safetensors file (entries checked against the file's size). */
export function readSafetensorsHeader(file: string): SafetensorsHeader {
  const r = new FileReader(file);
  try {
    return readHeader(file, r);
  } finally {
    r.close();
  }
}

function readSafetensors(file: string, r: FileReader, wanted?: string): EmbeddingMatrix {
  const { dataStart, tensors } = readHeader(file, r);
  const names = [...tensors.keys()];
  const name = wanted ?? (names.length === 1 ? names[0] : undefined);
  if (name === undefined) throw new EmbeddingFileError(file, `holds ${names.length} tensors (${names.join(', ')}); choose one with --tensor`);
  const t = tensors.get(name);
  if (!t) throw new EmbeddingFileError(file, `has no tensor '${name}' (it holds: ${names.join(', ')})`);
  const dtype = own(safetensorsDtypes, t.dtype);
  if (!dtype) throw new EmbeddingFileError(file, `tensor '${name}' has dtype ${t.dtype.slice(0, 40)}; supported: ${Object.keys(safetensorsDtypes).join(', ')}`);
  if (t.shape.length !== 2) throw new EmbeddingFileError(file, `tensor '${name}' must be 2-D (rows, dim) but has shape [${t.shape.join(', ')}]`);
  const [rows, dim] = t.shape;
  checkValues(file, rows, dim, name);
  const [begin, end] = t.offsets;
  if (end - begin !== rows * dim * itemSize[dtype])
    throw new EmbeddingFileError(file, `tensor '${name}' data [${begin}, ${end}) does not hold [${rows}, ${dim}] ${t.dtype} (${rows * dim * itemSize[dtype]} bytes)`);
  const data = readMatrix(r, dataStart + begin, rows, dim, dtype, true);
  return { data, rows, dim, dtype, file, tensor: name, nonFinite: countNonFinite(data) };
}

/** Reads a .npy or .safetensors embedding matrix (by extension; `tensor` picks a safetensors entry). */
export async function readEmbeddings(file: string, options: { tensor?: string } = {}): Promise<EmbeddingMatrix> {
  if (!file.endsWith('.npy') && !file.endsWith('.safetensors')) throw new EmbeddingFileError(file, 'unknown format: expected a .npy or .safetensors file');
  const r = new FileReader(file);
  try {
    return file.endsWith('.npy') ? readNpy(file, r) : readSafetensors(file, r, options.tensor);
  } finally {
    r.close();
  }
}

/** An id list with where each id came from ("ids.txt:17" or "ids.json[16]"), for messages. */
export interface IdList {
  ids: string[];
  where(row: number): string;
  /** sha256 of the file's bytes (hashed as read: the list may come from a pipe). */
  sha256: string;
}

/** Reads an id list: one id per line (blank lines ignored), or a JSON array of strings (numbers are taken as their decimal text). */
export async function readIdListLines(file: string): Promise<IdList> {
  // A JSON list is told apart by its first character (.json lists from a pipe are not supported).
  let json = false;
  if (statSync(file).isFile()) {
    const r = new FileReader(file);
    try {
      json = r.read(0, Math.min(r.size, 4096)).toString('utf8').trimStart().startsWith('[');
    } finally {
      r.close();
    }
  }
  if (json) {
    checkLimit('fileBytes', statSync(file).size, file, `a JSON id list of ${statSync(file).size.toLocaleString('en-US')} bytes`);
    let ids: unknown;
    const text = await readFile(file, 'utf8');
    const sha256 = createHash('sha256').update(text).digest('hex');
    try {
      ids = parseJsonLine(text, file);
    } catch (e) {
      if (e instanceof LimitError) throw e;
      throw new EmbeddingFileError(file, `not a JSON array of ids (${(e as Error).message.slice(0, 100)})`);
    }
    if (!Array.isArray(ids)) throw new EmbeddingFileError(file, 'expected a JSON array of ids (strings)');
    const bad = ids.findIndex((x) => typeof x !== 'string' && !(typeof x === 'number' && Number.isSafeInteger(x)));
    if (bad >= 0) throw new EmbeddingFileError(file, `expected a JSON array of ids (strings) but entry ${bad} is ${preview(ids[bad])}`);
    return { ids: ids.map(String), where: (row) => `${file}[${row}]`, sha256 };
  }
  const ids: string[] = [];
  const lines: number[] = [];
  const issues = new Issues(false);
  const read = await readLines(
    file,
    (line, lineNo) => {
      const id = line.trim();
      if (id.length === 0) return;
      ids.push(id);
      lines.push(lineNo);
    },
    { issues, hash: true },
  );
  const damage = issues.report().issues.find((s) => s.kind === 'truncated-gzip');
  if (damage) throw new EmbeddingFileError(file, damage.samples[0].replace(`${file}:`, 'line '));
  return { ids, where: (row) => `${file}:${lines[row]}`, sha256: read.sha256! };
}

/** Reads an id list: one id per line (blank lines ignored), or a JSON array of strings. */
export async function readIdList(file: string): Promise<string[]> {
  return (await readIdListLines(file)).ids;
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
