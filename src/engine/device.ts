// Where an item table lives: the CPU, or one GPU through the CUDA addon. Resolves `device`
// options ('cpu', 'auto', { gpu: N }) into a usable device, or an error that names what was found.
import { loadCudaBinding, type CudaDevice, type CudaDeviceStatus, type NativeCudaBinding } from './binding.js';
import { checkOption, OptionError, OptionRangeError, OptionTypeError, type OptionLabel } from '../util/option-error.js';
import { describe, expectInteger } from './validate.js';

/** 'cpu'; { gpu: N } for CUDA device N (an error when it cannot be used); 'auto': GPU 0 when usable, else the CPU. */
export type Device = 'cpu' | 'auto' | { gpu: number };

export type ResolvedDevice =
  | { kind: 'cpu'; note?: string }
  | { kind: 'cuda'; index: number; info: CudaDevice; binding: NativeCudaBinding; note?: string };

function formatDevice(d: CudaDevice): string {
  return `${d.index}: ${d.name} (compute capability ${d.computeCapability}, ${(d.memoryBytes / 2 ** 30).toFixed(0)} GiB)`;
}

/** The CUDA addon and its device list, read once per call, with why no GPU is usable (null when one is). */
export function cudaState(): { binding: NativeCudaBinding | null; file: string | null; status: CudaDeviceStatus | null; unavailable: string | null } {
  const loaded = loadCudaBinding();
  if (!loaded.binding) return { binding: null, file: null, status: null, unavailable: loaded.reason };
  const status = loaded.binding.devices();
  const unavailable = status.error ?? (status.devices.length === 0 ? 'no CUDA device found' : null);
  return { binding: loaded.binding, file: loaded.file, status, unavailable };
}

/** Why no GPU can be used here, or null when at least one can. */
export function gpuUnavailableReason(): string | null {
  return cudaState().unavailable;
}

/** How to run without a GPU, in the caller's terms: a library option, or the --gpu flag. */
const cpuFix = (label: OptionLabel, cli: boolean) =>
  cli
    ? `Leave out ${label('device')} to run on the CPU, or use ${label('device')} auto to fall back to it when no GPU is usable.`
    : `Use device 'cpu', or 'auto' to fall back to the CPU when no GPU is usable.`;

export function resolveDevice(device: unknown): ResolvedDevice {
  if (device === undefined || device === 'cpu') return { kind: 'cpu' };
  if (device === 'auto') {
    const state = cudaState();
    if (state.unavailable) return { kind: 'cpu', note: `no usable GPU (${state.unavailable}); running on the CPU` };
    const info = state.status!.devices[0];
    return { kind: 'cuda', index: info.index, info, binding: state.binding!, note: `using GPU ${formatDevice(info)}` };
  }
  if (typeof device !== 'object' || device === null)
    throw new OptionTypeError('device', (label, cli) =>
      cli ? `Expected ${label('device')} to be a GPU index or auto but received ${describe(device)}` : `Expected options.device to be 'cpu', 'auto' or { gpu: N } but received ${describe(device)}`,
    );
  const index = checkOption('device', (name) => expectInteger((device as { gpu: unknown }).gpu, `${name}.gpu`, 0, 1024));
  const loaded = loadCudaBinding();
  if (!loaded.binding)
    throw new OptionError(
      'device',
      (label, cli) =>
        `${label('device')} asks for GPU ${index}, but ${loaded.reason}. ${cpuFix(label, cli)} To build it, install the CUDA toolkit (nvcc) and run \`npm rebuild regen-bench\`.`,
    );
  const status = loaded.binding.devices();
  if (status.error) throw new OptionError('device', (label, cli) => `${label('device')} asks for GPU ${index}, but ${status.error}. ${cpuFix(label, cli)}`);
  const info = status.devices.find((d) => d.index === index);
  if (!info) {
    const found = status.devices.length
      ? `found ${status.devices.length} CUDA device${status.devices.length > 1 ? 's' : ''}: ${status.devices.map(formatDevice).join('; ')}`
      : 'found no CUDA device';
    throw new OptionRangeError('device', (label, cli) => {
      const fix = cpuFix(label, cli);
      return `${label('device')} asks for GPU ${index}, but ${found}. Pick one of those, or ${fix.charAt(0).toLowerCase()}${fix.slice(1)}`;
    });
  }
  return { kind: 'cuda', index, info, binding: loaded.binding };
}
