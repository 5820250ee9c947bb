import { describe, expect, it } from 'vitest';

import { bootstrapMeans, bootstrapSums, pairedSums, pairedSumsReference, pairedTest, quantile } from '../src/eval/bootstrap.js';
import { cpuCapabilities, defaultEngine, Engine } from '../src/engine/engine.js';
import { rng } from '../src/util/random.js';

describe('bootstrapMeans', () => {
  it('brackets the mean, is reproducible from its seed, and narrows with more data', async () => {
    const r = rng(1);
    const small = Float64Array.from({ length: 100 }, () => (r() < 0.3 ? 1 : 0));
    const large = Float64Array.from({ length: 10_000 }, () => (r() < 0.3 ? 1 : 0));
    const a = await bootstrapMeans({ hit: small }, { seed: 7 });
    const b = await bootstrapMeans({ hit: small }, { seed: 7 });
    expect(a).toEqual(b);
    expect(a.hit.low).toBeLessThan(a.hit.mean);
    expect(a.hit.high).toBeGreaterThan(a.hit.mean);
    const big = (await bootstrapMeans({ hit: large }, { seed: 7 })).hit;
    expect(big.high - big.low).toBeLessThan((a.hit.high - a.hit.low) / 5);
    // The normal approximation for a proportion: half-width 1.96 sqrt(p (1 - p) / n).
    const p = big.mean;
    expect((big.high - big.low) / 2).toBeCloseTo(1.96 * Math.sqrt((p * (1 - p)) / 10_000), 2);
  });

  it('gives a point interval for constant data and NaN for none', async () => {
    expect((await bootstrapMeans({ x: [2, 2, 2] })).x).toEqual({ mean: 2, low: 2, high: 2 });
    expect(Number.isNaN((await bootstrapMeans({ x: [] })).x.mean)).toBe(true);
  });

  it('rejects metrics of different lengths', async () => {
    await expect(bootstrapMeans({ a: [1, 2], b: [1] })).rejects.toThrow(/b has 1/);
  });

  it('does not depend on the thread count, and sums exactly the drawn rows', async () => {
    const { loadCpuBinding } = await import('../src/engine/binding.js');
    const values = Float64Array.from({ length: 3000 }, (_, i) => (i % 7) * 0.5);
    const one = await loadCpuBinding().bootstrapSums(values, 3, 64, 9, 1);
    const two = await loadCpuBinding().bootstrapSums(values, 3, 64, 9, 2);
    expect(two).toEqual(one);
    // Column 0 holds 0, 1.5, 3, 0.5, ... per row: every resample sum is a multiple of 0.5 within bounds.
    for (let s = 0; s < 64; s++) {
      const v = one[s * 3];
      expect(v * 2).toBe(Math.round(v * 2));
      expect(v).toBeGreaterThanOrEqual(0);
      expect(v).toBeLessThanOrEqual(1000 * 3);
    }
  });
});

describe('bootstrapSums against a reference of its generator', () => {
  // splitmix64 seeding and xoshiro256** with Lemire's bounded draw, in BigInt: the rows each resample
  // must draw, added in draw order. The native loop draws rows in blocks and prefetches them; its sums
  // must equal these bit for bit (float addition is not associative: the order is part of the result).
  const M = (1n << 64n) - 1n;
  const splitmix = (x: bigint) => {
    x = (x + 0x9e3779b97f4a7c15n) & M;
    x = ((x ^ (x >> 30n)) * 0xbf58476d1ce4e5b9n) & M;
    x = ((x ^ (x >> 27n)) * 0x94d049bb133111ebn) & M;
    return x ^ (x >> 31n);
  };
  const rotl = (x: bigint, k: bigint) => ((x << k) | (x >> (64n - k))) & M;
  function reference(values: Float64Array, n: number, columns: number, samples: number, seed: number): Float64Array {
    const out = new Float64Array(samples * columns);
    for (let s = 0; s < samples; s++) {
      // Xoshiro(seed): for each of 4 words, seed = splitmix64(seed), word = seed.
      let x = splitmix((BigInt(seed) << 32n) ^ BigInt(s));
      const st: bigint[] = [];
      for (let i = 0; i < 4; i++) st.push((x = splitmix(x)));
      const next = () => {
        const result = (rotl((st[1] * 5n) & M, 7n) * 9n) & M;
        const t = (st[1] << 17n) & M;
        st[2] ^= st[0];
        st[3] ^= st[1];
        st[1] ^= st[2];
        st[0] ^= st[3];
        st[2] ^= t;
        st[3] = rotl(st[3], 45n);
        return result;
      };
      const sum = new Float64Array(columns);
      for (let i = 0; i < n; i++) {
        const row = Number((next() * BigInt(n)) >> 64n);
        for (let c = 0; c < columns; c++) sum[c] += values[row * columns + c];
      }
      out.set(sum, s * columns);
    }
    return out;
  }

  it('sums exactly the rows the generator draws, in draw order, for sizes around the prefetch block', async () => {
    const { loadCpuBinding } = await import('../src/engine/binding.js');
    for (const n of [1, 31, 32, 33, 77, 200]) {
      const columns = 3;
      const values = Float64Array.from({ length: n * columns }, (_, i) => Math.sin(i * 12.9898) * 43758.5453);
      const got = await loadCpuBinding().bootstrapSums(values, columns, 5, 9, 2);
      expect(Array.from(got), `n = ${n}`).toEqual(Array.from(reference(values, n, columns, 5, 9)));
    }
  });

  it('sums in draw order at every row width: padded to 8 or 16 columns in registers, or wider in memory', async () => {
    const { loadCpuBinding } = await import('../src/engine/binding.js');
    for (const columns of [1, 7, 8, 9, 15, 16, 17, 40])
      for (const n of [0, 1, 33]) {
        // Magnitudes far apart, so that another addition order would show in the sums.
        const values = Float64Array.from({ length: n * columns }, (_, i) => Math.sin(i * 12.9898) * 10 ** ((i % 7) * 3 - 6));
        const got = await loadCpuBinding().bootstrapSums(values, columns, 4, 3, 2);
        const want = n === 0 ? new Float64Array(4 * columns) : reference(values, n, columns, 4, 3);
        expect(Array.from(got), `columns = ${columns}, n = ${n}`).toEqual(Array.from(want));
      }
  });
});

describe('pairedSums (the native loops of the paired tests)', () => {
  // The loops pairedTest ran in TypeScript before they moved to native code, as they were.
  function pairedTestLoops(diff: Float64Array, samples: number, seed: number): { flipped: number[]; drawn: number[] } {
    const n = diff.length;
    const random = rng(seed);
    const flipped: number[] = [];
    for (let s = 0; s < samples; s++) {
      let sum = 0;
      for (let i = 0; i < n; i++) sum += random() < 0.5 ? -diff[i] : diff[i];
      flipped.push(sum);
    }
    const drawn: number[] = [];
    for (let s = 0; s < samples; s++) {
      let sum = 0;
      for (let i = 0; i < n; i++) sum += diff[Math.floor(random() * n)];
      drawn.push(sum);
    }
    return { flipped, drawn };
  }

  it('gives the sums of the old TypeScript loops bit for bit, whatever the thread count', () => {
    for (const n of [1, 2, 31, 1000])
      for (const seed of [0, 7, 2 ** 32 - 1]) {
        // Magnitudes far apart: another addition order would show.
        const diff = Float64Array.from({ length: n }, (_, i) => Math.sin(i * 78.233 + seed) * 10 ** ((i % 5) * 4 - 8));
        const old = pairedTestLoops(diff, 37, seed);
        expect(Array.from(pairedSums(diff, 1, 37, seed, 0, 'negate')), `n ${n} seed ${seed}`).toEqual(old.flipped);
        expect(Array.from(pairedSums(diff, 1, 37, seed, 37 * n, 'draw')), `n ${n} seed ${seed}`).toEqual(old.drawn);
      }
    const diff = Float64Array.from({ length: 500 }, (_, i) => Math.cos(i) * 1e-3);
    const one = defaultEngine().pairedSums(diff, 1, 64, 3, 0, 'negate');
    const many = Engine.open({ device: 'cpu', threads: 4 }).pairedSums(diff, 1, 64, 3, 0, 'negate');
    expect(one).not.toBeNull();
    expect(Array.from(many!)).toEqual(Array.from(one!));
  });

  it('agrees with its TypeScript reference in every mode and kernel, for rows of several columns, integer rows, and far into the stream', () => {
    const isas = cpuCapabilities().supportedIsas;
    const fractional = (i: number) => Math.sin(i * 12.9898) * 10 ** ((i % 7) * 3 - 6);
    // Integer rows (corpus BLEU's statistics) are counted rather than added in draw order: the same sums while they stay exact.
    const integral = (i: number) => Math.floor(Math.abs(Math.sin(i * 4.1)) * 60) - (i % 3 === 0 ? 7 : 0);
    for (const [n, columns, value] of [
      [0, 2, fractional],
      [1, 1, fractional],
      [33, 20, fractional],
      [77, 3, fractional],
      [50, 1, integral],
      [1, 20, integral],
      [301, 20, integral],
      [64, 2, integral],
      [40, 4, (i: number) => (i === 9 ? 2 ** 40 : integral(i))], // an integer beyond int32: the draw-order loop
    ] as const) {
      const values = Float64Array.from({ length: n * columns }, (_, i) => value(i));
      for (const isa of isas) {
        const engine = Engine.open({ device: 'cpu', isa });
        for (const mode of ['negate', 'swap', 'draw'] as const) {
          if (mode === 'swap' && columns % 2) continue;
          for (const skip of [0, 5, 3 * 2 ** 32 + 11]) {
            const got = engine.pairedSums(values, columns, 19, 11, skip, mode);
            expect(got).not.toBeNull();
            expect(Array.from(got!), `${isa} ${mode} n ${n} columns ${columns} skip ${skip}`).toEqual(Array.from(pairedSumsReference(values, columns, 19, 11, skip, mode)));
          }
        }
      }
    }
    // The reference itself: from draw `skip` it is the seed's stream after `skip` draws.
    const random = rng(4);
    for (let i = 0; i < 10; i++) random();
    const next = random();
    expect(pairedSumsReference(Float64Array.of(1), 1, 1, 4, 10, 'negate')[0]).toBe(next < 0.5 ? -1 : 1);
  });

  it('bootstrapSums serves the same values again from memory, and new values fresh', async () => {
    const values = Float64Array.from({ length: 300 }, (_, i) => Math.sin(i));
    const first = await bootstrapSums(values, 3, { samples: 20, seed: 1 });
    const again = await bootstrapSums(values, 3, { samples: 20, seed: 1 });
    expect(Array.from(again)).toEqual(Array.from(first));
    again[0] = 99; // a caller's copy: the memory is not changed through it
    expect((await bootstrapSums(values, 3, { samples: 20, seed: 1 }))[0]).toBe(first[0]);
    const changed = values.slice();
    changed[5] += 1;
    const fresh = await bootstrapSums(changed, 3, { samples: 20, seed: 1 });
    expect(Array.from(fresh)).toEqual(Array.from(await defaultEngine().bootstrapSums(changed, 3, 20, 1)));
    expect(Array.from(fresh)).not.toEqual(Array.from(first));
  });
});

describe('pairedTest', () => {
  it('finds a consistent improvement significant and noise not', () => {
    const r = rng(3);
    const a = Float64Array.from({ length: 500 }, () => r());
    const better = a.map((x) => x + 0.05 + (r() - 0.5) * 0.01);
    const noisy = a.map((x) => x + (r() - 0.5) * 0.2);
    const sig = pairedTest(a, better, { seed: 1 });
    expect(sig.delta).toBeCloseTo(0.05, 2);
    expect(sig.pRandomisation).toBeLessThan(0.01);
    expect(sig.pBootstrap).toBeLessThan(0.01);
    expect(sig.low).toBeGreaterThan(0);
    const ns = pairedTest(a, noisy, { seed: 1 });
    expect(ns.pRandomisation).toBeGreaterThan(0.05);
    expect(ns.low).toBeLessThan(0);
    expect(ns.high).toBeGreaterThan(0);
  });

  it('gives p = 1 for identical systems', () => {
    const x = [0.1, 0.5, 0.9];
    const t = pairedTest(x, x);
    expect(t.delta).toBe(0);
    expect(t.pRandomisation).toBe(1);
    expect(t.pBootstrap).toBe(1);
    expect([t.low, t.high]).toEqual([0, 0]);
  });
});

describe('quantile', () => {
  it('interpolates like numpy', () => {
    expect(quantile([1, 2, 3, 4], 0.5)).toBe(2.5);
    expect(quantile([1, 2, 3, 4], 0.025)).toBeCloseTo(1.075, 12);
    expect(quantile([5], 0.9)).toBe(5);
  });
});
