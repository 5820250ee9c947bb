// Parses Python literals (what `repr()` of a dict prints): some Amazon dumps (2014 metadata, parts of
// 2018) hold one per line instead of JSON, and MiniOneRec's CSVs hold Python lists in cells.
// Covers dicts, lists, tuples, sets, str (single/double/triple quotes, escapes, r/u/b prefixes), int,
// float, True, False, None, nan/inf. Anything else is an error with its offset.
import { limit } from '../util/limits.js';

export class PyLiteralError extends Error {}

const WS = new Set([32, 9, 10, 13]);

export function parsePyLiteral(text: string): unknown {
  let i = 0;
  const n = text.length;
  const fail = (what: string): never => {
    throw new PyLiteralError(`${what} at offset ${i}: ${JSON.stringify(text.slice(Math.max(0, i - 15), i + 15))}`);
  };
  const ws = () => {
    while (i < n && WS.has(text.charCodeAt(i))) i++;
  };

  const string = (): string => {
    let raw = false;
    while (i < n && /[rRuUbB]/.test(text[i])) {
      if (text[i] === 'r' || text[i] === 'R') raw = true;
      i++;
    }
    const q = text[i];
    if (q !== "'" && q !== '"') fail('expected a string');
    const triple = text.startsWith(q.repeat(3), i);
    const close = triple ? q.repeat(3) : q;
    i += close.length;
    let out = '';
    let start = i;
    for (;;) {
      if (i >= n) fail('unterminated string');
      const c = text[i];
      if (c === '\\') {
        out += text.slice(start, i);
        const e = text[i + 1];
        if (raw) {
          out += '\\' + (e ?? '');
          i += 2;
        } else {
          i += 2;
          switch (e) {
            case 'n': out += '\n'; break;
            case 't': out += '\t'; break;
            case 'r': out += '\r'; break;
            case '0': out += '\0'; break;
            case 'a': out += '\x07'; break;
            case 'b': out += '\b'; break;
            case 'f': out += '\f'; break;
            case 'v': out += '\v'; break;
            case '\\': case "'": case '"': out += e; break;
            case '\n': break; // line continuation
            case 'x': case 'u': case 'U': {
              const len = e === 'x' ? 2 : e === 'u' ? 4 : 8;
              const hex = text.slice(i, i + len);
              if (!/^[0-9a-fA-F]+$/.test(hex) || hex.length !== len) fail(`bad \\${e} escape`);
              out += String.fromCodePoint(parseInt(hex, 16));
              i += len;
              break;
            }
            default:
              out += '\\' + (e ?? '');
          }
        }
        start = i;
        continue;
      }
      if (c === q && text.startsWith(close, i)) {
        out += text.slice(start, i);
        i += close.length;
        return out;
      }
      i++;
    }
  };

  // Nesting is limited like JSON's (src/util/limits.ts jsonDepth): the parser recurses per level.
  const maxDepth = limit('jsonDepth');
  let depth = 0;
  const value = (): unknown => {
    ws();
    const c = text[i];
    if (c !== '{' && c !== '[' && c !== '(') return scalar(c);
    if (++depth > maxDepth) fail(`nested more than ${maxDepth} levels deep (the limit REGEN_MAX_JSON_DEPTH)`);
    const v = container(c);
    depth--;
    return v;
  };

  // Keys such as "__proto__" are data: defined as own properties, never the prototype setter.
  const set = (obj: Record<string, unknown>, key: unknown, v: unknown) =>
    Object.defineProperty(obj, String(key), { value: v, enumerable: true, writable: true, configurable: true });

  const container = (c: string): unknown => {
    if (c === '{') {
      i++;
      ws();
      if (text[i] === '}') {
        i++;
        return {};
      }
      const first = value();
      ws();
      if (text[i] === ':') {
        const obj: Record<string, unknown> = {};
        i++;
        set(obj, first, value());
        for (;;) {
          ws();
          if (text[i] === '}') {
            i++;
            return obj;
          }
          if (text[i] !== ',') fail("expected ',' or '}'");
          i++;
          ws();
          if (text[i] === '}') {
            i++;
            return obj;
          }
          const k = value();
          ws();
          if (text[i] !== ':') fail("expected ':'");
          i++;
          set(obj, k, value());
        }
      }
      return seq('}', [first]); // a set
    }
    if (c === '[') {
      i++;
      return seq(']', []);
    }
    i++;
    return seq(')', []);
  };

  const scalar = (c: string): unknown => {
    if (c === "'" || c === '"' || (/[rRuUbB]/.test(c ?? '') && /['"rRbBuU]/.test(text[i + 1] ?? ''))) {
      let s = string();
      // Adjacent literals concatenate ('a' 'b').
      for (;;) {
        const save = i;
        ws();
        if (text[i] === "'" || text[i] === '"') s += string();
        else {
          i = save;
          return s;
        }
      }
    }
    const m = /^(?:True|False|None|-?(?:inf|nan)|[-+]?(?:\d[\d_]*\.?[\d_]*|\.\d[\d_]*)(?:[eE][-+]?\d+)?)/.exec(text.slice(i, i + 64));
    if (!m) fail('unexpected character');
    i += m![0].length;
    switch (m![0]) {
      case 'True': return true;
      case 'False': return false;
      case 'None': return null;
      case 'inf': return Infinity;
      case '-inf': return -Infinity;
      case 'nan': case '-nan': return NaN;
    }
    return Number(m![0].replace(/_/g, ''));
  };

  const seq = (end: string, items: unknown[]): unknown[] => {
    ws();
    if (items.length > 0) {
      if (text[i] === end) {
        i++;
        return items;
      }
      if (text[i] !== ',') fail(`expected ',' or '${end}'`);
      i++;
      ws();
    }
    for (;;) {
      if (text[i] === end) {
        i++;
        return items;
      }
      items.push(value());
      ws();
      if (text[i] === end) {
        i++;
        return items;
      }
      if (text[i] !== ',') fail(`expected ',' or '${end}'`);
      i++;
      ws();
    }
  };

  const v = value();
  ws();
  if (i < n) fail('unexpected text after the value');
  return v;
}

/** JSON first (fast, and what most dumps are), then a Python literal. */
export function parseJsonOrPython(text: string): unknown {
  const c = text.charCodeAt(0) === 0xfeff ? text.charCodeAt(1) : text.charCodeAt(0);
  // A dict repr starts with {' ; JSON with {" : try the likely one first.
  if (c === 123 && /^\s*\{\s*'/.test(text.slice(0, 8))) return parsePyLiteral(text);
  try {
    return JSON.parse(text);
  } catch (e) {
    try {
      return parsePyLiteral(text);
    } catch {
      throw e;
    }
  }
}
