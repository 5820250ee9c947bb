// The normalised form product titles (and texts searched for them) are compared in: NFKC, lower case,
// every run of characters other than letters and digits one space. "12-Pack" = "12 pack".
const NON_ALNUM = /[^\p{L}\p{N}]+/gu;

const ASCII = /^[\x00-\x7f]*$/;

// For ASCII text, \p{L} and \p{N} are [a-z0-9] after lower-casing: the same result without the Unicode
// property tables (consistency normalises every narrative of an eval: seconds at Office scale).
const NON_ALNUM_ASCII = /[^a-z0-9]+/g;

export function normalizeTitle(s: string): string {
  if (ASCII.test(s)) return s.toLowerCase().replace(NON_ALNUM_ASCII, ' ').trim();
  return s.normalize('NFKC').toLowerCase().replace(NON_ALNUM, ' ').trim();
}
