// Python `str` semantics that the reference metrics lean on. JavaScript's `\s`, `trim()` and
// `toLowerCase()` differ from Python's `str.split()`, `rstrip()` and `lower()`; a text metric that
// used them would tokenise some inputs differently from sacrebleu and rouge-score.

/**
 * Python's whitespace (`str.split()` with no argument, `str.strip()`): Unicode White_Space plus the
 * information separators \x1c-\x1f. Not U+200B (zero-width space), not U+FEFF (BOM), not U+180E.
 * All of these are in the BMP, so a UTF-16 code unit test is exact.
 */
export function isPyWhitespace(c: number): boolean {
  if (c <= 0x20) return c === 0x20 || (c >= 0x09 && c <= 0x0d) || (c >= 0x1c && c <= 0x1f);
  if (c < 0x85) return false;
  return (
    c === 0x85 ||
    c === 0xa0 ||
    c === 0x1680 ||
    (c >= 0x2000 && c <= 0x200a) ||
    c === 0x2028 ||
    c === 0x2029 ||
    c === 0x202f ||
    c === 0x205f ||
    c === 0x3000
  );
}

/** Python `s.split()`: runs of Python whitespace separate words; no empty words. */
export function pySplit(s: string): string[] {
  const out: string[] = [];
  let start = -1;
  for (let i = 0; i < s.length; i++) {
    if (isPyWhitespace(s.charCodeAt(i))) {
      if (start >= 0) {
        out.push(s.slice(start, i));
        start = -1;
      }
    } else if (start < 0) start = i;
  }
  if (start >= 0) out.push(s.slice(start));
  return out;
}

/** Python `s.rstrip()`. */
export function pyRstrip(s: string): string {
  let end = s.length;
  while (end > 0 && isPyWhitespace(s.charCodeAt(end - 1))) end--;
  return end === s.length ? s : s.slice(0, end);
}

// Code points that this Node's Unicode database (15.1+) lower-cases but Python 3.11-3.13's
// (Unicode 14-15.1) leaves alone: letters added in Unicode 16 and 17. Python keeps them as they are.
const NEWER_THAN_PYTHON = /[\u{1c89}\u{a7cb}-\u{a7cc}\u{a7ce}\u{a7d2}\u{a7d4}\u{a7da}\u{a7dc}\u{10d50}-\u{10d65}\u{16ea0}-\u{16eb8}]/u;
// The same class plus U+10FFFF, the placeholder used below, so that one in the input survives too.
const PLACEHOLDER_OR_NEWER = /[\u{1c89}\u{a7cb}-\u{a7cc}\u{a7ce}\u{a7d2}\u{a7d4}\u{a7da}\u{a7dc}\u{10d50}-\u{10d65}\u{16ea0}-\u{16eb8}\u{10ffff}]/gu;

/**
 * Python 3.11 `s.lower()`: full Unicode lower-casing, Final_Sigma included (the Kelvin sign becomes
 * `k`, `İ` becomes `i` + U+0307, so the length can change). Differs from `toLowerCase()` only for
 * characters newer than Python's Unicode database, which are kept as they are.
 */
export function pyLower(s: string): string {
  if (!NEWER_THAN_PYTHON.test(s)) return s.toLowerCase();
  // Lower-case the text around the newer characters as one string (Final_Sigma looks at context).
  const marks: string[] = [];
  const lowered = s.replace(PLACEHOLDER_OR_NEWER, (m) => {
    marks.push(m);
    return '\u{10ffff}'; // a noncharacter: caseless, so Final_Sigma sees what Python sees
  });
  let k = 0;
  return lowered.toLowerCase().replace(/\u{10ffff}/gu, () => marks[k++]);
}
