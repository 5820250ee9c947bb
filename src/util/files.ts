import { renameSync, rmSync, writeFileSync } from 'node:fs';

/**
 * Writes a file atomically: to a temporary name in the same folder, then renamed over the target,
 * so a reader (or a resumed run) never sees half a file. The temporary file is removed on failure.
 */
export function writeFileAtomic(file: string, data: string | Uint8Array): void {
  const tmp = `${file}.tmp-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
  try {
    writeFileSync(tmp, data);
    renameSync(tmp, file);
  } catch (e) {
    rmSync(tmp, { force: true });
    throw new Error(`cannot write ${file}: ${(e as Error).message}`);
  }
}
