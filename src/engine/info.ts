// What this installation runs on: version, CPU features and kernels, threads, the CUDA addon, driver
// and devices (`regen-bench info`).
import { readFileSync } from 'node:fs';
import os from 'node:os';

import type { CpuFeatures, CudaDevice, IsaName } from './binding.js';
import { cudaState } from './device.js';
import { cpuCapabilities, defaultEngine } from './engine.js';
import { VERSION } from '../version.js';

export interface Info {
  version: string;
  node: string;
  platform: string;
  backend: 'cpu';
  isa: IsaName;
  supportedIsas: IsaName[];
  cpu: { model: string; features: CpuFeatures };
  /** idleSpinMicroseconds: how long idle engine threads spin before sleeping (REGEN_SPIN_US); null from an older addon. */
  threads: { perSearch: number; hardware: number; idleSpinMicroseconds: number | null };
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

export function collectInfo(): Info {
  // The default engine resolves the kernel and thread count exactly as searches will (REGEN_ISA, REGEN_THREADS).
  const engine = defaultEngine();
  const cpu = cpuCapabilities();
  const cuda = cudaState();
  return {
    version: VERSION,
    node: process.version,
    platform: `${process.platform}-${process.arch}`,
    backend: 'cpu',
    isa: engine.isa as IsaName,
    supportedIsas: cpu.supportedIsas,
    cpu: { model: os.cpus()[0]?.model ?? 'unknown', features: cpu.features },
    threads: { perSearch: engine.threads, hardware: cpu.hardwareThreads, idleSpinMicroseconds: cpu.spinMicroseconds },
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

