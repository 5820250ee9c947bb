// `regen-bench info`: what this installation runs on.
import { readFileSync } from 'node:fs';
import os from 'node:os';

import { cudaState } from '../engine/device.js';
import { ItemTable } from '../engine/item-table.js';
import { loadCpuBinding, type CpuFeatures, type CudaDevice, type IsaName } from '../native/binding.js';
import { VERSION } from '../version.js';

export interface Info {
  version: string;
  node: string;
  platform: string;
  backend: 'cpu';
  isa: IsaName;
  supportedIsas: IsaName[];
  cpu: { model: string; features: CpuFeatures };
  threads: { perSearch: number; hardware: number };
  cuda: {
    /** The CUDA addon that loaded, or null. */
    binary: string | null;
    /** /proc/driver/nvidia/version's first line, or null. */
    driver: string | null;
    /** CUDA driver / runtime versions as the addon reads them (e.g. 13000), 0 when absent. */
    driverVersion: number;
    runtimeVersion: number;
    devices: CudaDevice[];
    /** `--gpu N` works when this is null; else why not. */
    unavailable: string | null;
  };
}

function nvidiaDriver(): string | null {
  try {
    const text = readFileSync('/proc/driver/nvidia/version', 'utf8');
    return text.split('\n')[0].trim() || 'present';
  } catch {
    return null;
  }
}

export async function collectInfo(): Promise<Info> {
  const binding = loadCpuBinding();
  // A one-item table resolves the kernel and thread count exactly as searches will (REGEN_ISA, REGEN_THREADS).
  const probe = await ItemTable.create(new Float32Array(1), { dim: 1 });
  probe.dispose();
  const cuda = cudaState();
  return {
    version: VERSION,
    node: process.version,
    platform: `${process.platform}-${process.arch}`,
    backend: 'cpu',
    isa: probe.isa as IsaName,
    supportedIsas: binding.supportedIsas(),
    cpu: { model: os.cpus()[0]?.model ?? 'unknown', features: binding.cpuFeatures() },
    threads: { perSearch: probe.threads, hardware: binding.hardwareThreads() },
    cuda: {
      binary: cuda.file,
      driver: nvidiaDriver(),
      driverVersion: cuda.status?.driverVersion ?? 0,
      runtimeVersion: cuda.status?.runtimeVersion ?? 0,
      devices: cuda.status?.devices ?? [],
      unavailable: cuda.unavailable,
    },
  };
}

const yes = (b: boolean) => (b ? 'yes' : 'no');

export function formatInfo(info: Info): string {
  const f = info.cpu.features;
  const avx512 = f.avx512f ? `yes (${['F', f.avx512bw && 'BW', f.avx512dq && 'DQ', f.avx512vl && 'VL'].filter(Boolean).join(' ')})` : 'no';
  const kernels = info.supportedIsas.map((i) => (i === info.isa ? `${i} (selected)` : i)).join(', ');
  return [
    `regen-bench ${info.version} (node ${info.node}, ${info.platform})`,
    `backend:  ${info.backend}`,
    `kernels:  ${kernels}   [set REGEN_ISA=scalar|avx2|avx512 to force one]`,
    `cpu:      ${info.cpu.model}`,
    `          AVX2 ${yes(f.avx2)} · FMA ${yes(f.fma)} · AVX-512 ${avx512} · AVX512-BF16 ${yes(f.avx512bf16)} · AMX ${yes(f.amxTile)}${f.amxBf16 ? ' (BF16)' : ''}`,
    `threads:  ${info.threads.perSearch} per search, ${info.threads.hardware} in hardware   [REGEN_THREADS]`,
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
