import { closeSync, openSync, renameSync, rmSync, writeFileSync, writeSync } from 'node:fs';

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

/**
 * A file written in pieces and published atomically: writes go to a temporary name in the same
 * folder; commit() renames it over the target, abort() removes it (for outputs too large for one string).
 */
export class AtomicFileWriter {
  private readonly tmp: string;
  private fd: number | null;

  constructor(readonly file: string) {
    this.tmp = `${file}.tmp-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
    try {
      this.fd = openSync(this.tmp, 'w');
    } catch (e) {
      throw new Error(`cannot write ${file}: ${(e as Error).message}`);
    }
  }

  write(text: string): void {
    if (this.fd === null) throw new Error(`internal: ${this.file} was already committed or aborted`);
    writeSync(this.fd, text);
  }

  commit(): void {
    if (this.fd === null) return;
    closeSync(this.fd);
    this.fd = null;
    try {
      renameSync(this.tmp, this.file);
    } catch (e) {
      rmSync(this.tmp, { force: true });
      throw new Error(`cannot write ${this.file}: ${(e as Error).message}`);
    }
  }

  abort(): void {
    if (this.fd !== null) closeSync(this.fd);
    this.fd = null;
    rmSync(this.tmp, { force: true });
  }
}
