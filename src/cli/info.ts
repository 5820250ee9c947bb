// `regen-bench info`: what this installation runs on (collected by src/engine/info.ts), formatted.
import type { Info } from '../engine/info.js';

const yes = (b: boolean) => (b ? 'yes' : 'no');

export function formatInfo(info: Info): string {
  const f = info.cpu.features;
  const avx512 = f.avx512f
    ? `yes (${['F', f.avx512bw && 'BW', f.avx512dq && 'DQ', f.avx512vl && 'VL'].filter(Boolean).join(' ')}${f.zmmSplit ? '; 512-bit as two halves' : ''})`
    : 'no';
  const kernels = info.supportedIsas.map((i) => (i === info.isa ? `${i} (selected)` : i)).join(', ');
  return [
    `regen-bench ${info.version} (node ${info.node}, ${info.platform})`,
    `backend:  ${info.backend}`,
    `kernels:  ${kernels}   [set REGEN_ISA=scalar|avx2|avx512 to force one]`,
    `cpu:      ${info.cpu.model}`,
    `          AVX2 ${yes(f.avx2)} · FMA ${yes(f.fma)} · AVX-512 ${avx512} · AVX512-BF16 ${yes(f.avx512bf16)} · AMX ${yes(f.amxTile)}${f.amxBf16 ? ' (BF16)' : ''}`,
    `threads:  ${info.threads.perSearch} per search, ${info.threads.hardware} in hardware   [REGEN_THREADS]` +
      (info.threads.idleSpinMicroseconds === null ? '' : `\n          idle ones spin ${info.threads.idleSpinMicroseconds} us before they sleep   [REGEN_SPIN_US]`),
    ...formatCuda(info.cuda),
  ].join('\n');
}

const cudaVersion = (v: number) => `${Math.floor(v / 1000)}.${Math.floor((v % 1000) / 10)}`;

function formatCuda(c: Info['cuda']): string[] {
  if (!c.binary) return [`cuda:     not available: ${c.unavailable}`];
  const lines = [`cuda:     addon ${c.binary} (CUDA runtime ${cudaVersion(c.runtimeVersion)})`];
  lines.push(`          driver: ${c.driverVersion ? `CUDA ${cudaVersion(c.driverVersion)}` : 'none'}${c.driver ? ` (${c.driver})` : ''}`);
  if (c.unavailable) lines.push(`          no GPU usable: ${c.unavailable}; --gpu auto runs on the CPU`);
  for (const d of c.devices)
    lines.push(
      `          GPU ${d.index}: ${d.name}, compute capability ${d.computeCapability}, ${(d.memoryBytes / 2 ** 30).toFixed(1)} GiB, ${d.multiprocessors} multiprocessors   [--gpu ${d.index}]`,
    );
  return lines;
}
