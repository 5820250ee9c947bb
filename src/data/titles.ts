// The normalised form product titles (and texts searched for them) are compared in: NFKC, lower case,
// every run of characters other than letters and digits one space. "12-Pack" = "12 pack".
const NON_ALNUM = /[^\p{L}\p{N}]+/gu;

const ASCII = /^[\x00-\x7f]*$/;

export function normalizeTitle(s: string): string {
  return (ASCII.test(s) ? s : s.normalize('NFKC')).toLowerCase().replace(NON_ALNUM, ' ').trim();
}
