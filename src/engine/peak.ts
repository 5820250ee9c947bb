// The hardware floor benchmarks compare against: the FMA throughput (bf16: AVX512-BF16 dot-product
// throughput) of an engine's CPU kernel on its threads, measured by the native fmaPeak loop.
import { loadCpuBinding, type Precision } from './binding.js';
import type { Engine } from './engine.js';

/**
 * GFLOP/s of independent FMA chains on `engine`'s kernel and threads for about `seconds` (bf16:
 * VDPBF16PS chains, 4 flops per lane). Null on GPU engines, or when the addon predates fmaPeak.
 */
export async function fmaPeakGflops(engine: Engine, precision: Precision, seconds = 0.5): Promise<number | null> {
  if (engine.backend !== 'cpu' || engine.isa === 'cuda') return null;
  const binding = loadCpuBinding();
  if (!binding.fmaPeak) return null;
  return binding.fmaPeak(precision === 'bf16' ? 'avx512' : engine.isa, precision, engine.threads, seconds);
}
