// The hardware floor benchmarks compare against: the FMA throughput (bf16: AVX512-BF16 dot-product
// throughput) of an engine's CPU kernel on its threads, measured by the native fmaPeak loop.
import { loadCpuBinding, type FmaPeak, type Precision, type ReadBandwidth } from './binding.js';
import type { Engine } from './engine.js';

export type { FmaPeak, ReadBandwidth } from './binding.js';

/**
 * GFLOP/s of independent FMA chains on `engine`'s kernel and threads for about `seconds` (bf16:
 * VDPBF16PS chains, 4 flops per lane): over elapsed time (`wallGflops`) and over CPU time
 * (`cpuGflops`: the rate with the cores to themselves, which on a machine shared with other work is
 * the steadier number). Null on GPU engines, or when the addon predates fmaPeak.
 */
export async function fmaPeak(engine: Engine, precision: Precision, seconds = 0.5): Promise<FmaPeak | null> {
  if (engine.backend !== 'cpu' || engine.isa === 'cuda') return null;
  const binding = loadCpuBinding();
  if (!binding.fmaPeak) return null;
  return binding.fmaPeak(precision === 'bf16' ? 'avx512' : engine.isa, precision, engine.threads, seconds);
}

/**
 * GB/s of `threads` threads summing a buffer of `bytes` (default 512 MiB, much larger than the
 * last-level cache) for about `seconds`: the floor of a scan that streams its whole item table.
 * Null when the addon predates readBandwidth.
 */
export async function readBandwidth(threads: number, bytes = 512 * 2 ** 20, seconds = 0.5): Promise<ReadBandwidth | null> {
  const binding = loadCpuBinding();
  if (!binding.readBandwidth) return null;
  return binding.readBandwidth(threads, bytes, seconds);
}
