// JSON from input files, within the nesting limit: JSON.parse itself copes with any depth, but code
// that walks a parsed value (the REGEN reader's key report, score flattening, JSON.stringify) recurses,
// so a value nested deeper than the limit is refused here, at the line that holds it, instead of
// overflowing the stack later.
import { checkLimit, limit } from './limits.js';

// Structural characters and the quote that opens a string; inside a string, its end or an escape.
const STRUCTURE = /["[\]{}]/g;
const IN_STRING = /["\\]/g;

/** The deepest nesting of arrays and objects in JSON text (strings skipped); stops counting past `stopAt`. */
export function jsonDepth(text: string, stopAt = Infinity): number {
  let depth = 0;
  let max = 0;
  STRUCTURE.lastIndex = 0;
  for (;;) {
    const m = STRUCTURE.exec(text);
    if (!m) return max;
    const c = m[0];
    if (c === '"') {
      IN_STRING.lastIndex = m.index + 1;
      for (;;) {
        const e = IN_STRING.exec(text);
        if (!e) return max; // unterminated: JSON.parse reports it
        if (e[0] === '"') {
          STRUCTURE.lastIndex = e.index + 1;
          break;
        }
        IN_STRING.lastIndex = e.index + 2; // skip the escaped character
      }
    } else if (c === '[' || c === '{') {
      if (++depth > max) {
        max = depth;
        if (max > stopAt) return max;
      }
    } else depth--;
  }
}

/** How many '[' and '{' the text holds, counting stopped once past `stopAt`. */
function openingBrackets(text: string, stopAt: number): number {
  let count = 0;
  for (const c of ['{', '[']) {
    for (let i = text.indexOf(c); i >= 0; i = text.indexOf(c, i + 1)) if (++count > stopAt) return count;
  }
  return count;
}

/** JSON.parse of one input line (or file), after checking its nesting against the limit; `where` is "file:line". */
export function parseJsonLine(text: string, where: string): unknown {
  const max = limit('jsonDepth');
  // Nesting deeper than the limit needs at least that many opening brackets: short texts cannot.
  // Nor can a text with at most that many '[' and '{' (strings included): counted with indexOf,
  // which is several times faster than jsonDepth's scan on the usual one-object lines.
  if (text.length > max && openingBrackets(text, max) > max) {
    const depth = jsonDepth(text, max);
    if (depth > max) checkLimit('jsonDepth', depth, where, `a JSON value nested more than ${max} levels deep`);
  }
  return JSON.parse(text);
}

/** Own enumerable property lookup: input keys such as "constructor" or "__proto__" are data, never Object.prototype's. */
export function own<T>(record: Readonly<Record<string, T>>, key: string): T | undefined {
  return Object.prototype.hasOwnProperty.call(record, key) ? record[key] : undefined;
}

/**
 * A short rendering of any input value for a message (at most about `max` characters, however large
 * or deeply nested the value): JSON for small values, elided otherwise. Never recurses past depth 3.
 */
export function preview(value: unknown, max = 60): string {
  const out = render(value, 0, max);
  return out.length > max ? `${out.slice(0, max - 1)}…` : out;
}

function render(v: unknown, depth: number, budget: number): string {
  if (typeof v === 'string') return JSON.stringify(v.length > budget ? v.slice(0, budget) : v);
  if (v === null || typeof v !== 'object') return typeof v === 'bigint' ? `${v}` : String(JSON.stringify(v) ?? typeof v);
  if (depth >= 3) return Array.isArray(v) ? '[…]' : '{…}';
  const parts: string[] = [];
  let used = 2;
  if (Array.isArray(v)) {
    for (let i = 0; i < v.length && used < budget; i++) {
      const s = render(v[i], depth + 1, budget - used);
      parts.push(s);
      used += s.length + 1;
    }
    return `[${parts.join(',')}${parts.length < v.length ? ',…' : ''}]`;
  }
  let n = 0;
  for (const k in v) {
    if (!Object.prototype.hasOwnProperty.call(v, k)) continue;
    if (used >= budget) {
      parts.push('…');
      break;
    }
    const s = `${JSON.stringify(k)}:${render((v as Record<string, unknown>)[k], depth + 1, budget - used)}`;
    parts.push(s);
    used += s.length + 1;
    n++;
  }
  return `{${parts.join(',')}}`;
}
