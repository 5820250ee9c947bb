// The Office-scale synthetic set the eval and baselines benchmarks share: written once into a work
// folder (default: the OS temp folder), with its dataset cache beside it.
import { existsSync, mkdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { synthConfig, writeSynthetic } from '../src/data/synth/generate.js';

export async function officeSynthetic(work = path.join(os.tmpdir(), 'regen-bench-bench-eval')): Promise<{ work: string; jsonl: string; cacheDir: string }> {
  mkdirSync(work, { recursive: true });
  const jsonl = path.join(work, 'office.jsonl');
  if (!existsSync(jsonl)) {
    console.log('writing the synthetic office preset (once) ...');
    await writeSynthetic(synthConfig('office', 1), work, { resume: true });
  }
  return { work, jsonl, cacheDir: path.join(work, 'cache') };
}
