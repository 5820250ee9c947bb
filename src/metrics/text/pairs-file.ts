// Reads the pairs file of `score-text`: JSON Lines, one {"hyp": ..., "ref": ...} or
// {"hyp": ..., "refs": [...]} per line. The first bad line stops the run with its line number.
// (metrics/ reads files through data/lines.ts: the one line reader, with its limits and gzip checks.)
import { readLines } from '../../data/lines.js';
import { DataError, Issues } from '../../data/report.js';
import { describe } from '../../engine/validate.js';
import { parseJsonLine } from '../../util/json.js';
import { LimitError } from '../../util/limits.js';
import type { TextPair } from './score.js';
import { OptionError, type OptionMessage } from '../../util/option-error.js';

export interface PairsFile {
  pairs: TextPair[];
  /** 1-based line number of each pair. */
  lines: number[];
  /** Blank lines that were skipped (reported, never silently). */
  blankLines: number;
  /** Problems that lost nothing (bytes after the last gzip member), as file:line: message. */
  notes: string[];
}

/** A pairs file that cannot be read (the message names the option that gave it, options.input or --input). */
export class PairsFileError extends OptionError {
  constructor(message: string | OptionMessage) {
    super('input', typeof message === 'string' ? () => message : message);
  }
}

/**
 * Reads a pairs file, streaming (gzip or plain), in memory bounded by the line limit: the first bad
 * line stops the run with file:line and the fix.
 */
export async function readPairsFile(file: string): Promise<PairsFile> {
  const pairs: TextPair[] = [];
  const lines: number[] = [];
  const issues = new Issues(false);
  let read: { blank: number };
  try {
    read = await readLines(file, (line, lineNo) => parseLine(file, line, lineNo, pairs, lines), { issues });
  } catch (e) {
    if (e instanceof PairsFileError || e instanceof LimitError) throw e;
    if (e instanceof DataError) throw new PairsFileError((l) => e.as(l).replace(/^/, `${l('input')} `));
    throw new PairsFileError((l) => `cannot read ${l('input')} ${file}: ${(e as Error).message}`);
  }
  // A damaged gzip loses lines: stop. Trailing bytes after complete members lose nothing: say so.
  const notes: string[] = [];
  for (const s of issues.report().issues) {
    if (s.kind === 'truncated-gzip') throw new PairsFileError(`${s.samples[0]}. Fix: compress the file again (pairs after the damage cannot be read)`);
    notes.push(...s.samples);
  }
  if (pairs.length === 0) throw new PairsFileError(`${file}: no pairs found (expected one JSON object per line)`);
  return { pairs, lines, blankLines: read.blank, notes };
}

function parseLine(file: string, line: string, lineNo: number, pairs: TextPair[], lines: number[]): void {
  const where = `${file}:${lineNo}`;
  let obj: unknown;
  try {
    obj = parseJsonLine(line, where);
  } catch (e) {
    if (e instanceof LimitError) throw e;
    throw new PairsFileError(`${where}: invalid JSON (${(e as Error).message}). Fix: one JSON object per line, e.g. {"hyp": "...", "ref": "..."}`);
  }
  if (typeof obj !== 'object' || obj === null || Array.isArray(obj))
    throw new PairsFileError(`${where}: expected a JSON object {"hyp": ..., "ref": ...} but found ${describe(obj)}`);
  const o = obj as Record<string, unknown>;
  const has = (k: string) => Object.prototype.hasOwnProperty.call(o, k);
  if (!has('hyp')) throw new PairsFileError(`${where}: missing "hyp" (the model's text). Fix: add "hyp": "..."`);
  if (typeof o.hyp !== 'string') throw new PairsFileError(`${where}: "hyp" must be a string but is ${describe(o.hyp)}`);
  let refs: string[];
  if (has('ref') && has('refs')) throw new PairsFileError(`${where}: has both "ref" and "refs"; keep one`);
  if (has('ref')) {
    if (typeof o.ref !== 'string') throw new PairsFileError(`${where}: "ref" must be a string but is ${describe(o.ref)}`);
    refs = [o.ref];
  } else if (has('refs')) {
    if (!Array.isArray(o.refs) || o.refs.length === 0)
      throw new PairsFileError(`${where}: "refs" must be a non-empty array of strings but is ${describe(o.refs)}`);
    o.refs.forEach((r, k) => {
      if (typeof r !== 'string') throw new PairsFileError(`${where}: "refs"[${k}] must be a string but is ${describe(r)}`);
    });
    refs = o.refs as string[];
  } else throw new PairsFileError(`${where}: missing "ref" (or "refs"), the reference text. Fix: add "ref": "..." or "refs": ["...", "..."]`);
  pairs.push({ hyp: o.hyp, refs });
  lines.push(lineNo);
}
