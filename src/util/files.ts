// Atomic writes: every output goes to a temporary name beside its target and is renamed over it when
// complete, so a reader, a resumed run or an interrupted one never sees half a file. The temporary
// paths this process is writing are tracked, so an interrupt handler (the CLI's) can remove exactly
// those and nothing else.
import { closeSync, openSync, renameSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import path from 'node:path';

const inFlight = new Set<string>();

/** A temporary name beside `file` (hidden, with this process's id and a random token), tracked until released. */
export function tempPathFor(file: string): string {
  const resolved = path.resolve(file);
  const tmp = path.join(path.dirname(resolved), `.${path.basename(resolved)}.tmp-${process.pid}-${Math.random().toString(36).slice(2, 10)}`);
  inFlight.add(tmp);
  return tmp;
}

/** Stops tracking a temporary path (renamed into place, or removed). */
export function releaseTempPath(tmp: string): void {
  inFlight.delete(tmp);
}

/** Removes every temporary file or folder this process is still writing (for an interrupt handler). */
export function removeTempsInFlight(): void {
  for (const tmp of inFlight) rmSync(tmp, { recursive: true, force: true });
  inFlight.clear();
}

/**
 * Writes a file atomically: to a temporary name in the same folder, then renamed over the target,
 * so a reader (or a resumed run) never sees half a file. The temporary file is removed on failure.
 */
export function writeFileAtomic(file: string, data: string | Uint8Array): void {
  const tmp = tempPathFor(file);
  try {
    writeFileSync(tmp, data);
    renameSync(tmp, file);
  } catch (e) {
    rmSync(tmp, { force: true });
    throw new Error(`cannot write ${file}: ${(e as Error).message}`);
  } finally {
    releaseTempPath(tmp);
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
    this.tmp = tempPathFor(file);
    try {
      this.fd = openSync(this.tmp, 'w');
    } catch (e) {
      releaseTempPath(this.tmp);
      throw new Error(`cannot write ${file}: ${(e as Error).message}`);
    }
  }

  /** Appends text (or bytes); returns the bytes written. */
  write(data: string | Uint8Array): number {
    if (this.fd === null) throw new Error(`internal: ${this.file} was already committed or aborted`);
    return typeof data === 'string' ? writeSync(this.fd, data) : writeSync(this.fd, data);
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
    } finally {
      releaseTempPath(this.tmp);
    }
  }

  abort(): void {
    if (this.fd !== null) closeSync(this.fd);
    this.fd = null;
    rmSync(this.tmp, { force: true });
    releaseTempPath(this.tmp);
  }
}
