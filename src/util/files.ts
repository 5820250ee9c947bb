// Writing outputs. A regular file is written atomically: to a temporary name beside it, renamed over
// it when complete, so a reader, a resumed run or an interrupted one never sees half a file. Through
// a symlink, the link's target is written (the link stays a link). Devices, pipes and the process's
// own streams (/dev/stdout, /dev/fd/N, a FIFO, /dev/null) are written directly: renaming over them
// would replace the device node or lose the output. Every write says what it did (created,
// replaced, wrote through a link, wrote to a device) so a command can tell its user.
//
// Temporary names carry this run's random token (.<name>.tmp-<token>-<n>) and are tracked while they
// exist, so an interrupt handler (the CLI's) removes exactly the ones this run made, and nothing
// ever deletes a temporary file or folder that another process (or another tool) made.
import { randomBytes } from 'node:crypto';
import { closeSync, fstatSync, lstatSync, openSync, readlinkSync, renameSync, rmSync, statSync, write as writeCallback, writeSync } from 'node:fs';
import { promisify } from 'node:util';
import path from 'node:path';

/** This run's token: in every temporary name it makes (and only in those). */
export const RUN_TOKEN = randomBytes(6).toString('hex');
let sequence = 0;
const inFlight = new Set<string>();

/** A temporary name beside `file` (hidden, with this run's token), tracked until released. */
export function tempPathFor(file: string): string {
  const resolved = path.resolve(file);
  const tmp = path.join(path.dirname(resolved), `.${path.basename(resolved)}.tmp-${RUN_TOKEN}-${++sequence}`);
  inFlight.add(tmp);
  return tmp;
}

/** Whether a name is a temporary name of some regen-bench run (this one or another). */
export function isTempName(name: string): boolean {
  return /^\..+\.tmp-[0-9a-f]{12}-\d+(\.old)?$/.test(name);
}

/** Stops tracking a temporary path (renamed into place, or removed). */
export function releaseTempPath(tmp: string): void {
  inFlight.delete(tmp);
}

/** Removes every temporary file or folder this run is still writing (for an interrupt handler). */
export function removeTempsInFlight(): void {
  for (const tmp of inFlight) {
    rmSync(tmp, { recursive: true, force: true });
    rmSync(`${tmp}.old`, { recursive: true, force: true });
  }
  inFlight.clear();
}

/** What a write did. */
export interface WriteOutcome {
  /** The path as given. */
  file: string;
  /** The file written: the symlink's target for a link, else `file`. */
  target: string;
  /** 'created' a new file; 'replaced' an existing one (atomically); 'direct': written to a device or pipe as it is. */
  how: 'created' | 'replaced' | 'direct';
  replaced: boolean;
  /** One line for the user: "replaced out.jsonl (12,345 bytes)", "wrote to the pipe /dev/stdout directly". */
  note: string;
}

/** How an output path will be written. */
interface OutputPlan {
  target: string;
  /** For a direct write: the descriptor to write to (one the process already has), or null to open `file`. */
  direct: { fd: number | null; kind: string } | null;
  existing: { bytes: number } | null;
  via: string | null;
}

/** The process's own descriptors as paths: /dev/stdout, /dev/stderr, /dev/fd/N, /proc/self/fd/N. */
function ownDescriptor(file: string): number | null {
  const p = path.resolve(file);
  if (p === '/dev/stdout') return 1;
  if (p === '/dev/stderr') return 2;
  const m = /^\/(?:dev\/fd|proc\/self\/fd|proc\/\d+\/fd)\/(\d+)$/.exec(p);
  if (m && (p.startsWith('/proc/self') || p.startsWith('/dev/fd') || p.startsWith(`/proc/${process.pid}/`))) return Number(m[1]);
  return null;
}

function kindOf(st: { isFIFO(): boolean; isCharacterDevice(): boolean; isBlockDevice(): boolean; isSocket(): boolean }): string {
  return st.isFIFO() ? 'pipe' : st.isCharacterDevice() ? 'device' : st.isBlockDevice() ? 'block device' : st.isSocket() ? 'socket' : 'special file';
}

/** Follows symlinks (up to 40) to the path they end at (which may not exist yet). */
function followLinks(file: string): { target: string; via: string | null } {
  let p = path.resolve(file);
  let via: string | null = null;
  for (let hops = 0; hops < 40; hops++) {
    let st;
    try {
      st = lstatSync(p);
    } catch {
      return { target: p, via };
    }
    if (!st.isSymbolicLink()) return { target: p, via };
    via ??= p;
    p = path.resolve(path.dirname(p), readlinkSync(p));
  }
  throw new Error(`cannot write ${file}: too many levels of symbolic links`);
}

function plan(file: string): OutputPlan {
  const own = ownDescriptor(file);
  if (own !== null) {
    let kind = 'stream';
    try {
      kind = fstatSync(own).isFile() ? 'file' : kindOf(fstatSync(own));
    } catch {
      throw new Error(`cannot write ${file}: descriptor ${own} is not open in this process`);
    }
    return { target: file, direct: { fd: own, kind }, existing: null, via: null };
  }
  let st;
  try {
    st = statSync(file); // follows links
  } catch {
    st = null;
  }
  if (st && st.isDirectory()) throw new Error(`cannot write ${file}: it is a folder; give a file name`);
  if (st && !st.isFile()) return { target: file, direct: { fd: null, kind: kindOf(st) }, existing: null, via: null };
  const { target, via } = followLinks(file);
  return { target, direct: null, existing: st ? { bytes: st.size } : null, via };
}

function noteFor(file: string, p: OutputPlan): WriteOutcome {
  if (p.direct) return { file, target: file, how: 'direct', replaced: false, note: `wrote to the ${p.direct.kind} ${file} directly (no temporary file)` };
  const through = p.via ? ` through the symlink ${file}` : '';
  const shown = p.via ? p.target : file;
  if (p.existing)
    return { file, target: p.target, how: 'replaced', replaced: true, note: `replaced ${shown}${through} (it held ${p.existing.bytes.toLocaleString('en-US')} bytes)` };
  return { file, target: p.target, how: 'created', replaced: false, note: `created ${shown}${through}` };
}

/** Writes all of `data` to `fd`, waiting out a full non-blocking pipe (stdout may be one). */
function writeAll(fd: number, data: string | Uint8Array): void {
  const bytes = typeof data === 'string' ? Buffer.from(data) : data;
  let done = 0;
  const pause = new Int32Array(new SharedArrayBuffer(4));
  while (done < bytes.length) {
    try {
      done += writeSync(fd, bytes, done, bytes.length - done);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EAGAIN') throw e;
      Atomics.wait(pause, 0, 0, 2);
    }
  }
}

/**
 * Writes a file: atomically for regular files (a temporary name in the target's folder, renamed over
 * it; removed on failure), through symlinks to their target, and directly to devices and pipes.
 */
export function writeFileAtomic(file: string, data: string | Uint8Array): WriteOutcome {
  let p: OutputPlan;
  try {
    p = plan(file);
  } catch (e) {
    throw new Error((e as Error).message.startsWith('cannot write') ? (e as Error).message : `cannot write ${file}: ${(e as Error).message}`);
  }
  if (p.direct) {
    const fd = p.direct.fd ?? openSync(file, 'w');
    try {
      writeAll(fd, data);
    } catch (e) {
      throw new Error(`cannot write ${file}: ${(e as Error).message}`);
    } finally {
      if (p.direct.fd === null) closeSync(fd);
    }
    return noteFor(file, p);
  }
  const tmp = tempPathFor(p.target);
  try {
    const fd = openSync(tmp, 'wx');
    try {
      writeAll(fd, data);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, p.target);
  } catch (e) {
    rmSync(tmp, { force: true });
    throw new Error(`cannot write ${file}: ${(e as Error).message}`);
  } finally {
    releaseTempPath(tmp);
  }
  return noteFor(file, p);
}

const writeAsync = promisify(writeCallback);

/**
 * A file written in pieces and published atomically: writes go to a temporary name beside the target
 * (through symlinks); commit() renames it over the target, abort() removes it (for outputs too large
 * for one string). A device or pipe is written directly as the pieces come.
 */
export class AtomicFileWriter {
  private readonly tmp: string | null;
  private fd: number | null;
  private readonly plan: OutputPlan;

  constructor(readonly file: string) {
    try {
      this.plan = plan(file);
    } catch (e) {
      throw new Error((e as Error).message.startsWith('cannot write') ? (e as Error).message : `cannot write ${file}: ${(e as Error).message}`);
    }
    if (this.plan.direct) {
      this.tmp = null;
      try {
        this.fd = this.plan.direct.fd ?? openSync(file, 'w');
      } catch (e) {
        throw new Error(`cannot write ${file}: ${(e as Error).message}`);
      }
      return;
    }
    this.tmp = tempPathFor(this.plan.target);
    try {
      this.fd = openSync(this.tmp, 'wx');
    } catch (e) {
      releaseTempPath(this.tmp);
      throw new Error(`cannot write ${file}: ${(e as Error).message}`);
    }
  }

  /** Appends text (or bytes); returns the bytes written. */
  write(data: string | Uint8Array): number {
    if (this.fd === null) throw new Error(`internal: ${this.file} was already committed or aborted`);
    const n = typeof data === 'string' ? Buffer.byteLength(data) : data.length;
    writeAll(this.fd, data);
    return n;
  }

  /**
   * Appends bytes from libuv's thread pool, so that the caller can prepare the next piece meanwhile (a
   * device or pipe is written synchronously, as by write()). Until the promise settles the caller
   * leaves `data` alone and calls neither write, commit nor abort.
   */
  async writeAsync(data: Uint8Array): Promise<number> {
    if (this.fd === null) throw new Error(`internal: ${this.file} was already committed or aborted`);
    if (this.plan.direct) return this.write(data);
    let done = 0;
    try {
      while (done < data.length) done += (await writeAsync(this.fd, data, done, data.length - done)).bytesWritten;
    } catch (e) {
      throw new Error(`cannot write ${this.file}: ${(e as Error).message}`);
    }
    return data.length;
  }

  commit(): WriteOutcome {
    const outcome = noteFor(this.file, this.plan);
    if (this.fd === null) return outcome;
    if (this.plan.direct?.fd == null) closeSync(this.fd);
    this.fd = null;
    if (this.tmp === null) return outcome;
    try {
      renameSync(this.tmp, this.plan.target);
    } catch (e) {
      rmSync(this.tmp, { force: true });
      throw new Error(`cannot write ${this.file}: ${(e as Error).message}`);
    } finally {
      releaseTempPath(this.tmp);
    }
    return outcome;
  }

  abort(): void {
    if (this.fd !== null && this.plan.direct?.fd == null) closeSync(this.fd);
    this.fd = null;
    if (this.tmp === null) return; // what went to a device or pipe cannot be taken back
    rmSync(this.tmp, { force: true });
    releaseTempPath(this.tmp);
  }
}
