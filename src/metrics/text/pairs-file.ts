// Reads the pairs file of `score-text`: JSON Lines, one {"hyp": ..., "ref": ...} or
// {"hyp": ..., "refs": [...]} per line. The first bad line stops the run with its line number.
import { readFileSync } from 'node:fs';

import { describe } from '../../engine/validate.js';
import type { TextPair } from './score.js';
import { OptionError, type OptionMessage } from '../../util/option-error.js';

export interface PairsFile {
  pairs: TextPair[];
  /** 1-based line number of each pair. */
  lines: number[];
  /** Blank lines that were skipped (reported, never silently). */
  blankLines: number;
}

/** A pairs file that cannot be read (the message names the option that gave it, options.input or --input). */
export class PairsFileError extends OptionError {
  constructor(message: string | OptionMessage) {
    super('input', typeof message === 'string' ? () => message : message);
  }
}

export function readPairsFile(file: string): PairsFile {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new PairsFileError((l) => `cannot read ${l('input')} ${file}: ${(e as Error).message}`);
  }
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1); // a UTF-8 BOM before the first line
  const pairs: TextPair[] = [];
  const lines: number[] = [];
  let blankLines = 0;
  let lineNo = 0;
  let start = 0;
  while (start <= text.length) {
    let end = text.indexOf('\n', start);
    if (end < 0) end = text.length;
    lineNo++;
    const line = text.slice(start, end);
    start = end + 1;
    if (line.trim() === '') {
      if (end < text.length || line.length > 0) blankLines++;
      if (end >= text.length) break;
      continue;
    }
    const where = `${file}:${lineNo}`;
    let obj: unknown;
    try {
      obj = JSON.parse(line);
    } catch (e) {
      throw new PairsFileError(`${where}: invalid JSON (${(e as Error).message}). Fix: one JSON object per line, e.g. {"hyp": "...", "ref": "..."}`);
    }
    if (typeof obj !== 'object' || obj === null || Array.isArray(obj))
      throw new PairsFileError(`${where}: expected a JSON object {"hyp": ..., "ref": ...} but found ${describe(obj)}`);
    const o = obj as Record<string, unknown>;
    if (!('hyp' in o)) throw new PairsFileError(`${where}: missing "hyp" (the model's text). Fix: add "hyp": "..."`);
    if (typeof o.hyp !== 'string') throw new PairsFileError(`${where}: "hyp" must be a string but is ${describe(o.hyp)}`);
    let refs: string[];
    if ('ref' in o && 'refs' in o) throw new PairsFileError(`${where}: has both "ref" and "refs"; keep one`);
    if ('ref' in o) {
      if (typeof o.ref !== 'string') throw new PairsFileError(`${where}: "ref" must be a string but is ${describe(o.ref)}`);
      refs = [o.ref];
    } else if ('refs' in o) {
      if (!Array.isArray(o.refs) || o.refs.length === 0)
        throw new PairsFileError(`${where}: "refs" must be a non-empty array of strings but is ${describe(o.refs)}`);
      o.refs.forEach((r, k) => {
        if (typeof r !== 'string') throw new PairsFileError(`${where}: "refs"[${k}] must be a string but is ${describe(r)}`);
      });
      refs = o.refs as string[];
    } else throw new PairsFileError(`${where}: missing "ref" (or "refs"), the reference text. Fix: add "ref": "..." or "refs": ["...", "..."]`);
    pairs.push({ hyp: o.hyp, refs });
    lines.push(lineNo);
    if (end >= text.length) break;
  }
  if (pairs.length === 0) throw new PairsFileError(`${file}: no pairs found (expected one JSON object per line)`);
  return { pairs, lines, blankLines };
}
