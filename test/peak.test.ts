// The hardware floors the benchmarks divide by: the native FMA peak and the memory read bandwidth.
// Their values depend on the machine, so these check what they must be anywhere: finite, positive,
// and CPU-time rates no lower than the elapsed-time ones; bad arguments are refused by name.
import { describe, expect, it } from 'vitest';

import { loadCpuBinding } from '../src/engine/binding.js';
import { Engine } from '../src/engine/engine.js';
import { fmaPeak, readBandwidth } from '../src/engine/peak.js';

describe('hardware floors', () => {
  it('readBandwidth gives finite positive GB/s on 1 and 2 threads', async () => {
    for (const threads of [1, 2]) {
      const bw = await readBandwidth(threads, 64 * 2 ** 20, 0.05);
      expect(bw).not.toBeNull();
      expect(Number.isFinite(bw!.wallGbps) && bw!.wallGbps > 0).toBe(true);
      // CPU time never exceeds elapsed time (1% slack for clock granularity), so the CPU-time rate is no lower.
      expect(bw!.cpuGbps).toBeGreaterThanOrEqual(bw!.wallGbps * 0.99);
    }
  });

  it('readBandwidth refuses a buffer under 1 MiB, naming the argument', async () => {
    expect(() => loadCpuBinding().readBandwidth!(1, 1000, 0.05)).toThrow(/bytes must be between 1 MiB/);
  });

  it('fmaPeak gives finite positive GFLOP/s on the default engine', async () => {
    const peak = await fmaPeak(Engine.open({ threads: 1 }), 'fp32', 0.05);
    expect(peak).not.toBeNull();
    expect(Number.isFinite(peak!.wallGflops) && peak!.wallGflops > 0).toBe(true);
  });
});
