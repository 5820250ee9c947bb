// `regen-bench info`: what this installation runs on.
import { existsSync, readFileSync } from 'node:fs';
import os from 'node:os';

import { ItemTable } from '../engine/item-table.js';
import { cudaBinaryPath, loadCpuBinding, type CpuFeatures, type IsaName } from '../native/binding.js';
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
  cuda: { binary: string | null; driver: string | null; devices: number | null; note: string };
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
  const cudaBinary = existsSync(cudaBinaryPath()) ? cudaBinaryPath() : null;
  const driver = nvidiaDriver();
  return {
    version: VERSION,
    node: process.version,
    platform: `${process.platform}-${process.arch}`,
    backend: 'cpu',
    isa: probe.isa,
    supportedIsas: binding.supportedIsas(),
    cpu: { model: os.cpus()[0]?.model ?? 'unknown', features: binding.cpuFeatures() },
    threads: { perSearch: probe.threads, hardware: binding.hardwareThreads() },
    cuda: {
      binary: cudaBinary,
      driver,
      devices: null,
      note: cudaBinary
        ? 'CUDA binary present; device enumeration is not available in this build'
        : 'this build has no CUDA backend (regen_cuda.node not built); searches run on the CPU',
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
    `cuda:     ${info.cuda.note}`,
    `          NVIDIA driver: ${info.cuda.driver ?? 'not found'}`,
  ].join('\n');
}
