import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

import { describe, expect, it } from 'vitest';

import { EmbeddingFileError, readEmbeddings, readIdList } from '../src/models/embeddings-file.js';

const dir = mkdtempSync(path.join(tmpdir(), 'regen-emb-'));

function npy(descr: string, shape: number[], data: Buffer, fortran = false): Buffer {
  let header = `{'descr': '${descr}', 'fortran_order': ${fortran ? 'True' : 'False'}, 'shape': (${shape.join(', ')}${shape.length === 1 ? ',' : ''}), }`;
  const total = 10 + header.length + 1;
  header += ' '.repeat((64 - (total % 64)) % 64) + '\n';
  const head = Buffer.alloc(10);
  head.write('\x93NUMPY', 0, 'latin1');
  head[6] = 1;
  head[7] = 0;
  head.writeUInt16LE(header.length, 8);
  return Buffer.concat([head, Buffer.from(header, 'latin1'), data]);
}

function safetensors(tensors: Record<string, { dtype: string; shape: number[]; data: Buffer }>): Buffer {
  const header: Record<string, unknown> = { __metadata__: { format: 'pt' } };
  let offset = 0;
  for (const [name, t] of Object.entries(tensors)) {
    header[name] = { dtype: t.dtype, shape: t.shape, data_offsets: [offset, offset + t.data.length] };
    offset += t.data.length;
  }
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - (json.length % 8)) % 8);
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(json.length));
  return Buffer.concat([len, Buffer.from(json), ...Object.values(tensors).map((t) => t.data)]);
}

const values = Float32Array.from([0.5, -1.25, 3, 1e-3, 65504, -0]);
const write = (name: string, data: Buffer) => {
  const file = path.join(dir, name);
  writeFileSync(file, data);
  return file;
};

describe('readEmbeddings', () => {
  it('reads float32 .npy exactly', async () => {
    const m = await readEmbeddings(write('a.npy', npy('<f4', [2, 3], Buffer.from(values.buffer))));
    expect([m.rows, m.dim, m.dtype, m.nonFinite]).toEqual([2, 3, 'float32', 0]);
    expect(Array.from(m.data)).toEqual(Array.from(values));
  });

  it('reads float16 and float64 .npy', async () => {
    const half = Buffer.alloc(12);
    [0x3800, 0xbd00, 0x4200, 0x1419, 0x7bff, 0x8000].forEach((h, i) => half.writeUInt16LE(h, i * 2));
    const m16 = await readEmbeddings(write('h.npy', npy('<f2', [3, 2], half)));
    expect(Array.from(m16.data.subarray(0, 3))).toEqual([0.5, -1.25, 3]);
    expect(m16.data[4]).toBe(65504);
    const m64 = await readEmbeddings(write('d.npy', npy('<f8', [1, 6], Buffer.from(Float64Array.from(values).buffer))));
    expect(m64.dtype).toBe('float64');
    expect(Array.from(m64.data)).toEqual(Array.from(values));
  });

  it('reads big-endian .npy', async () => {
    const be = Buffer.alloc(8);
    be.writeFloatBE(1.5, 0);
    be.writeFloatBE(-2, 4);
    expect(Array.from((await readEmbeddings(write('be.npy', npy('>f4', [1, 2], be)))).data)).toEqual([1.5, -2]);
  });

  it('reads safetensors F32 and BF16, and picks a named tensor', async () => {
    const bf = Buffer.alloc(4);
    bf.writeUInt16LE(0x3fc0, 0); // 1.5
    bf.writeUInt16LE(0xc000, 2); // -2
    const file = write('m.safetensors', safetensors({ items: { dtype: 'F32', shape: [2, 3], data: Buffer.from(values.buffer) }, half: { dtype: 'BF16', shape: [1, 2], data: bf } }));
    const items = await readEmbeddings(file, { tensor: 'items' });
    expect(Array.from(items.data)).toEqual(Array.from(values));
    const half = await readEmbeddings(file, { tensor: 'half' });
    expect([half.dtype, ...half.data]).toEqual(['bfloat16', 1.5, -2]);
    await expect(readEmbeddings(file)).rejects.toThrow(/holds 2 tensors \(items, half\); choose one with --tensor/);
    await expect(readEmbeddings(file, { tensor: 'nope' })).rejects.toThrow(/no tensor 'nope'/);
  });

  it('counts non-finite values', async () => {
    const m = await readEmbeddings(write('nan.npy', npy('<f4', [1, 3], Buffer.from(Float32Array.from([1, NaN, -Infinity]).buffer))));
    expect(m.nonFinite).toBe(2);
  });

  it('explains what is wrong with a bad file', async () => {
    const cases: [string, Buffer, RegExp][] = [
      ['x.npy', Buffer.from('hello world'), /not a NumPy .npy file/],
      ['i.npy', npy('<i8', [1, 1], Buffer.alloc(8)), /dtype '<i8' is not supported/],
      ['f.npy', npy('<f4', [1, 2], Buffer.alloc(8), true), /Fortran-ordered/],
      ['v.npy', npy('<f4', [4], Buffer.alloc(16)), /2-D array/],
      ['t.npy', npy('<f4', [2, 2], Buffer.alloc(8)), /truncated: 8 data bytes/],
      ['s.safetensors', Buffer.from([1, 2, 3]), /not a safetensors file/],
      ['u.safetensors', safetensors({ x: { dtype: 'I32', shape: [1, 1], data: Buffer.alloc(4) } }), /dtype I32/],
    ];
    for (const [name, data, message] of cases) {
      const err = await readEmbeddings(write(name, data)).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(EmbeddingFileError);
      expect((err as Error).message).toMatch(message);
      expect((err as Error).message).toContain(name);
    }
    await expect(readEmbeddings(write('e.bin', Buffer.alloc(4)))).rejects.toThrow(/expected a .npy or .safetensors/);
  });
});

describe('readIdList', () => {
  it('reads lines (CRLF, blank lines) and JSON arrays', async () => {
    expect(await readIdList(write('ids.txt', Buffer.from('B001\r\nB002\n\nB003\n')))).toEqual(['B001', 'B002', 'B003']);
    expect(await readIdList(write('ids.json', Buffer.from('["a", "b", 7]')))).toEqual(['a', 'b', '7']);
  });
});
