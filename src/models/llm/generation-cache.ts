// The narrator's cache of generations: a text per (model, decoding settings, prompt), so that a rerun
// (the other row of Table 2 shares most prompts, an interrupted eval resumes, a report is rebuilt)
// generates nothing it generated before.
//
// Layout: <root>/<key>/ where key = sha256 of the model's content hash and every decoding setting
// that changes the text (max new tokens, temperature, top-k, top-p, seed, chat template, system
// prompt, format version); in it, files of JSON lines {"p": <sha256 of the prompt>, "t": text,
// "stop": "eos" | "length", "n": tokens}, each written atomically (a temporary name, then renamed), so
// an interrupted run loses at most the generations it had not flushed. A line that does not read back
// is skipped and counted; it is generated again.
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';

import { writeFileAtomic } from '../../util/files.js';

export const GENERATION_CACHE_VERSION = 1;

export interface CachedGeneration {
  text: string;
  stop: string;
  tokens: number;
}

/** sha256 (hex) of a string. */
export const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');

export class GenerationCache {
  private readonly entries = new Map<string, CachedGeneration>();
  private pending: string[] = [];
  private loaded = false;
  /** Lines of the cache files that did not read back (generated again). */
  badLines = 0;
  hits = 0;
  misses = 0;

  /** `root` null: a cache in memory only (nothing read or written). */
  constructor(
    readonly root: string | null,
    /** The settings' key (see the header). */
    readonly key: string,
  ) {}

  get dir(): string | null {
    return this.root ? path.join(this.root, this.key) : null;
  }

  private load(): void {
    if (this.loaded) return;
    this.loaded = true;
    const dir = this.dir;
    if (!dir || !existsSync(dir)) return;
    for (const f of readdirSync(dir).sort()) {
      if (!f.endsWith('.jsonl') || f.startsWith('.')) continue; // temporary files of a run in flight
      for (const line of readFileSync(path.join(dir, f), 'utf8').split('\n')) {
        if (!line) continue;
        try {
          const r = JSON.parse(line) as { p?: unknown; t?: unknown; stop?: unknown; n?: unknown };
          if (typeof r.p !== 'string' || typeof r.t !== 'string') throw new Error('not an entry');
          this.entries.set(r.p, { text: r.t, stop: typeof r.stop === 'string' ? r.stop : 'unknown', tokens: typeof r.n === 'number' ? r.n : 0 });
        } catch {
          this.badLines++;
        }
      }
    }
  }

  get(promptHash: string): CachedGeneration | undefined {
    this.load();
    const g = this.entries.get(promptHash);
    if (g) this.hits++;
    else this.misses++;
    return g;
  }

  put(promptHash: string, g: CachedGeneration): void {
    this.load();
    this.entries.set(promptHash, g);
    this.pending.push(JSON.stringify({ p: promptHash, t: g.text, stop: g.stop, n: g.tokens }));
  }

  /** Generations not yet on disk. */
  get unflushed(): number {
    return this.pending.length;
  }

  /** Writes the new generations as one more file (atomically). */
  flush(): void {
    const dir = this.dir;
    if (!dir || this.pending.length === 0) {
      this.pending = [];
      return;
    }
    mkdirSync(dir, { recursive: true });
    const name = `${Date.now().toString(36)}-${process.pid}-${Math.random().toString(36).slice(2, 8)}.jsonl`;
    writeFileAtomic(path.join(dir, name), this.pending.join('\n') + '\n');
    this.pending = [];
  }
}
