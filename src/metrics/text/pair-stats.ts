// The fast path: per-pair sufficient statistics for BLEU and ROUGE. One engine per thread holds
// reusable scratch buffers, a token interner (hash table over UTF-16 code units: no substring is
// allocated per token) and an n-gram trie rebuilt per pair (stamped, so clearing is O(1)).
// Every rule here mirrors the Python ports in reference.ts (the tests' yardstick, which this file does
// not import); the tests run both on random and adversarial inputs.
import { BLEU_MAX_ORDER } from './bleu.js';
import { porterStem } from './porter.js';
import { isPyWhitespace, pyLower } from './python-text.js';
import { ROUGE_STATS, rougePrf } from './rouge.js';
import type { BleuTokenizerName } from './bleu.js';
import { fmeasure } from './rouge.js';

export interface PairStatsOptions {
  /** Compute BLEU statistics (default true). */
  bleu?: boolean;
  bleuTokenize?: BleuTokenizerName;
  bleuLowercase?: boolean;
  /** ROUGE types to compute: 'rouge1'..'rouge9', 'rougeL', 'rougeLsum' (default the four of the CLI). */
  rougeTypes?: readonly string[];
  /** Porter-stem ROUGE tokens longer than 3 characters (rouge-score's use_stemmer). */
  stem?: boolean;
}

const PAIRS_RESET = 1 << 21; // intern table entries before it is cleared (between pairs only)
/**
 * Cells of the largest LCS table built whole (16 MiB), as native/text/text_stats.cpp's kBandCells;
 * REGEN_LCS_BAND_CELLS lowers both, so that tests reach the banded walk on small inputs.
 */
export const LCS_BAND_CELLS = Number(process.env.REGEN_LCS_BAND_CELLS) >= 4 ? Number(process.env.REGEN_LCS_BAND_CELLS) : 1 << 22;

class Int32Buf {
  a: Int32Array;
  constructor(n = 1024) {
    this.a = new Int32Array(n);
  }
  ensure(n: number): Int32Array {
    if (n > this.a.length) {
      const b = new Int32Array(Math.max(n, this.a.length * 2));
      b.set(this.a);
      this.a = b;
    }
    return this.a;
  }
}

function grow16(a: Uint16Array<ArrayBuffer>, n: number): Uint16Array<ArrayBuffer> {
  if (n <= a.length) return a;
  const b = new Uint16Array(Math.max(n, a.length * 2));
  b.set(a);
  return b;
}

const isDigit = (c: number) => c >= 0x30 && c <= 0x39;
/** The characters of 13a's first regex: space-!"#$%&, ()*+, :;<=>?@, [\]^_`, {|}~ and /. */
function isP1(c: number): boolean {
  return (
    (c >= 0x20 && c <= 0x26) || (c >= 0x28 && c <= 0x2b) || c === 0x2f || (c >= 0x3a && c <= 0x40) || (c >= 0x5b && c <= 0x60) || (c >= 0x7b && c <= 0x7e)
  );
}

export class PairStatsEngine {
  // --- token interner
  private arena = new Uint16Array(1 << 16);
  private arenaLen = 0;
  private tokStart = new Int32Array(1 << 12);
  private tokLen = new Int32Array(1 << 12);
  private tokHash = new Int32Array(1 << 12);
  private stemOf = new Int32Array(1 << 12); // -1: not computed yet
  private nTok = 0;
  private table = new Int32Array(1 << 13); // id + 1, 0 = empty
  private mask = (1 << 13) - 1;

  // --- scratch for tokenisation
  private word = new Uint16Array(256);
  private hypIds = new Int32Buf();
  private hypLines = new Int32Buf();
  private refIds: Int32Buf[] = [];
  private refLines: Int32Buf[] = [];

  // --- n-gram trie (per pair): node = hash of (parent node, token id)
  private trieParent = new Int32Array(1 << 12);
  private trieTok = new Int32Array(1 << 12);
  private trieStamp = new Int32Array(1 << 12);
  private trieSlots = new Int32Array(1 << 12); // node id at slot
  private trieMask = (1 << 12) - 1;
  private trieEpoch = 0;
  private nodes = 0;
  private nodeRefMax = new Int32Buf();
  private nodeRefCur = new Int32Buf();
  private nodeRefStamp = new Int32Buf();
  private nodeHyp = new Int32Buf();
  private nodeOrder = new Int32Buf();

  // --- LCS
  private row = new Int32Buf();
  private lcsTable = new Int32Buf();
  private cntR = new Int32Buf();
  private cntC = new Int32Buf();
  private cntStamp = new Int32Buf();
  private cntEpoch = 0;
  private unionMark = new Int32Buf();

  // ------------------------------------------------------------------ interner
  private intern(buf: Uint16Array, start: number, len: number, hash: number): number {
    let slot = hash & this.mask;
    for (;;) {
      const e = this.table[slot];
      if (e === 0) break;
      const id = e - 1;
      if (this.tokHash[id] === hash && this.tokLen[id] === len) {
        const s = this.tokStart[id];
        let k = 0;
        while (k < len && this.arena[s + k] === buf[start + k]) k++;
        if (k === len) return id;
      }
      slot = (slot + 1) & this.mask;
    }
    const id = this.nTok++;
    if (id >= this.tokStart.length) {
      const n = this.tokStart.length * 2;
      const grow = (a: Int32Array) => {
        const b = new Int32Array(n);
        b.set(a);
        return b;
      };
      this.tokStart = grow(this.tokStart);
      this.tokLen = grow(this.tokLen);
      this.tokHash = grow(this.tokHash);
      this.stemOf = grow(this.stemOf);
    }
    this.arena = grow16(this.arena, this.arenaLen + len);
    this.arena.set(buf.subarray(start, start + len), this.arenaLen);
    this.tokStart[id] = this.arenaLen;
    this.tokLen[id] = len;
    this.tokHash[id] = hash;
    this.stemOf[id] = -1;
    this.arenaLen += len;
    this.table[slot] = id + 1;
    if (this.nTok * 2 > this.mask) this.rehash();
    return id;
  }

  private rehash(): void {
    const size = (this.mask + 1) * 2;
    this.table = new Int32Array(size);
    this.mask = size - 1;
    for (let id = 0; id < this.nTok; id++) {
      let slot = this.tokHash[id] & this.mask;
      while (this.table[slot] !== 0) slot = (slot + 1) & this.mask;
      this.table[slot] = id + 1;
    }
  }

  private tokenString(id: number): string {
    const s = this.tokStart[id];
    return String.fromCharCode.apply(null, this.arena.subarray(s, s + this.tokLen[id]) as unknown as number[]);
  }

  private internString(str: string): number {
    this.word = grow16(this.word, str.length);
    let h = 0x811c9dc5;
    for (let i = 0; i < str.length; i++) {
      const c = str.charCodeAt(i);
      this.word[i] = c;
      h = Math.imul(h ^ c, 0x01000193);
    }
    return this.intern(this.word, 0, str.length, h);
  }

  /** Interned token ids are only compared within a pair, so the table may be emptied between pairs. */
  private maybeReset(): void {
    if (this.nTok < PAIRS_RESET && this.arenaLen < 1 << 25) return;
    this.nTok = 0;
    this.arenaLen = 0;
    this.table.fill(0);
  }

  // ------------------------------------------------------------------ tokenisers
  /**
   * sacrebleu's preprocessing and 13a tokenizer as token ids, in one pass. The four regex passes
   * only ever insert spaces, so the tokens follow from where spaces end up:
   * - whitespace separates; each symbol of the first regex (!"#$%&()*+/:;<=>?@[\]^_`{|}~) stands alone;
   * - a '-' right after a digit stands alone (pass 4);
   * - a '.' or ',' stands alone when pass 2 or pass 3 matched it. Pass 2, ([^0-9])([.,]), matches
   *   it when the character before it (after pass 1) is not a digit and was not itself matched as
   *   the [.,] of the previous match (matches do not overlap). Pass 3, ([.,])([^0-9]), runs on pass
   *   2's output: it matches when the next character there is not a digit (a space that pass 2
   *   inserted counts) and the [.,] was not the second character of pass 3's previous match.
   * reference.ts runs the regexes literally; the tests hold the two (and Python) together.
   */
  private tokenizeBleu(text: string, tokenize: BleuTokenizerName, lowercase: boolean, out: Int32Buf): number {
    if (lowercase) text = pyLower(text);
    let end = text.length;
    while (end > 0 && isPyWhitespace(text.charCodeAt(end - 1))) end--; // rstrip()
    if (tokenize === '13a') {
      if (end !== text.length) text = text.slice(0, end);
      if (text.includes('<skipped>')) text = text.replaceAll('<skipped>', '');
      if (text.includes('\n')) text = text.replaceAll('-\n', '').replaceAll('\n', ' ');
      if (text.includes('&')) text = text.replaceAll('&quot;', '"').replaceAll('&amp;', '&').replaceAll('&lt;', '<').replaceAll('&gt;', '>');
      end = text.length;
    }
    const plain = tokenize === 'none';
    this.word = grow16(this.word, end + 1);
    const word = this.word;
    let count = 0;
    let len = 0;
    let h = 0x811c9dc5;
    let prevSel2 = false; // the previous character was a [.,] matched by pass 2
    let prevSel3 = false; // ... matched by pass 3
    for (let i = 0; i < end; i++) {
      const c = text.charCodeAt(i);
      let alone = false;
      if (isPyWhitespace(c)) {
        prevSel2 = prevSel3 = false;
        if (len > 0) {
          out.ensure(count + 1)[count++] = this.intern(word, 0, len, h);
          len = 0;
          h = 0x811c9dc5;
        }
        continue;
      }
      if (!plain) {
        if (isP1(c)) {
          alone = true;
          prevSel2 = prevSel3 = false;
        } else if (c === 0x2e || c === 0x2c) {
          // Neighbours as pass 1 leaves them: whitespace and symbols read as a space.
          const pc = i === 0 ? 0x20 : text.charCodeAt(i - 1);
          const prev = isPyWhitespace(pc) || isP1(pc) ? 0x20 : pc;
          const nc = i + 1 >= end ? 0x20 : text.charCodeAt(i + 1);
          const next = isPyWhitespace(nc) || isP1(nc) ? 0x20 : nc;
          const prevIsDC = prev === 0x2e || prev === 0x2c;
          const sel2: boolean = !isDigit(prev) && !(prevIsDC && prevSel2);
          const nextSel2 = (next === 0x2e || next === 0x2c) && !sel2;
          const sel3: boolean = (sel2 || nextSel2 || !isDigit(next)) && !(!sel2 && prevIsDC && !prevSel2 && prevSel3);
          alone = sel2 || sel3;
          prevSel2 = sel2;
          prevSel3 = sel3;
        } else {
          prevSel2 = prevSel3 = false;
          if (c === 0x2d && i > 0 && isDigit(text.charCodeAt(i - 1))) alone = true;
        }
      }
      if (alone) {
        if (len > 0) {
          out.ensure(count + 1)[count++] = this.intern(word, 0, len, h);
          len = 0;
        }
        word[0] = c;
        out.ensure(count + 1)[count++] = this.intern(word, 0, 1, Math.imul(0x811c9dc5 ^ c, 0x01000193));
        h = 0x811c9dc5;
        continue;
      }
      word[len++] = c;
      h = Math.imul(h ^ c, 0x01000193);
    }
    if (len > 0) out.ensure(count + 1)[count++] = this.intern(word, 0, len, h);
    return count;
  }

  /**
   * rouge-score's tokenizer as token ids: Python lower(), [^a-z0-9]+ -> ' ', split, stem tokens
   * longer than 3. Only A-Z, the Kelvin sign (-> k) and dotted İ (-> i + U+0307) lower-case to
   * [a-z0-9] in Python; everything else separates tokens. lines[k] is the newline-separated line
   * of token k (for rougeLsum).
   */
  private tokenizeRouge(text: string, stem: boolean, out: Int32Buf, lines: Int32Buf): number {
    let count = 0;
    let line = 0;
    let len = 0;
    let h = 0x811c9dc5;
    const flush = () => {
      if (len === 0) return;
      let id = this.intern(this.word, 0, len, h);
      if (stem && len > 3) id = this.stemmed(id);
      len = 0;
      h = 0x811c9dc5;
      if (id < 0) return; // stemmed to nothing: rouge-score's final filter drops it
      out.ensure(count + 1)[count] = id;
      lines.ensure(count + 1)[count] = line;
      count++;
    };
    for (let i = 0; i < text.length; i++) {
      let c = text.charCodeAt(i);
      if ((c >= 0x61 && c <= 0x7a) || (c >= 0x30 && c <= 0x39)) {
        /* kept */
      } else if (c >= 0x41 && c <= 0x5a) c += 0x20;
      else if (c === 0x212a) c = 0x6b;
      else if (c === 0x130) {
        if (len === this.word.length) this.word = grow16(this.word, len + 1);
        this.word[len++] = 0x69;
        h = Math.imul(h ^ 0x69, 0x01000193);
        flush();
        continue;
      } else {
        flush();
        if (c === 0x0a) line++;
        continue;
      }
      if (len === this.word.length) this.word = grow16(this.word, len + 1);
      this.word[len++] = c;
      h = Math.imul(h ^ c, 0x01000193);
    }
    flush();
    return count;
  }

  private stemmed(id: number): number {
    const s = this.stemOf[id];
    if (s !== -1) return s;
    const word = this.tokenString(id);
    const st = porterStem(word);
    // internString reuses this.word: safe, tokenizeRouge has finished with the token (flush()).
    const sid = st === word ? id : st.length === 0 ? -2 : this.internString(st);
    this.stemOf[id] = sid;
    return sid;
  }

  // ------------------------------------------------------------------ n-gram trie
  private trieReset(expectedNodes: number): void {
    this.trieEpoch++;
    this.nodes = 0;
    if (expectedNodes * 2 > this.trieMask) {
      let size = this.trieMask + 1;
      while (expectedNodes * 2 > size - 1) size *= 2;
      this.trieParent = new Int32Array(size);
      this.trieTok = new Int32Array(size);
      this.trieStamp = new Int32Array(size);
      this.trieSlots = new Int32Array(size);
      this.trieMask = size - 1;
      this.trieEpoch = 1;
    }
  }

  /** The node for (parent, tok); created (counters zeroed) when create, else -1 if absent. */
  private child(parent: number, tok: number, create: boolean, order: number): number {
    let slot = (Math.imul(parent + 1, 0x9e3779b1) ^ Math.imul(tok, 0x85ebca77)) >>> 0;
    slot = (slot ^ (slot >>> 15)) & this.trieMask;
    const epoch = this.trieEpoch;
    for (;;) {
      if (this.trieStamp[slot] !== epoch) break;
      if (this.trieParent[slot] === parent && this.trieTok[slot] === tok) return this.trieSlots[slot];
      slot = (slot + 1) & this.trieMask;
    }
    if (!create) return -1;
    const node = this.nodes++;
    this.trieStamp[slot] = epoch;
    this.trieParent[slot] = parent;
    this.trieTok[slot] = tok;
    this.trieSlots[slot] = node;
    this.nodeRefMax.ensure(node + 1)[node] = 0;
    this.nodeRefCur.ensure(node + 1)[node] = 0;
    this.nodeRefStamp.ensure(node + 1)[node] = -1;
    this.nodeHyp.ensure(node + 1)[node] = 0;
    this.nodeOrder.ensure(node + 1)[node] = order;
    return node;
  }

  /** Adds a reference's n-grams (orders 1..maxOrder): refMax = max over references of the count. */
  private addRefNgrams(ids: Int32Array, len: number, maxOrder: number, refIndex: number): void {
    for (let i = 0; i < len; i++) {
      let node = -1;
      const top = Math.min(maxOrder, len - i);
      for (let n = 1; n <= top; n++) {
        node = this.child(node, ids[i + n - 1], true, n);
        const cur = this.nodeRefCur.a;
        const stamp = this.nodeRefStamp.a;
        if (stamp[node] !== refIndex) {
          stamp[node] = refIndex;
          cur[node] = 0;
        }
        const c = ++cur[node];
        if (c > this.nodeRefMax.a[node]) this.nodeRefMax.a[node] = c;
      }
    }
  }

  /** Clipped matches per order: each hypothesis occurrence counts while hyp count <= ref max. */
  private matchHyp(ids: Int32Array, len: number, maxOrder: number, matches: Int32Array): void {
    matches.fill(0);
    const refMax = this.nodeRefMax.a;
    const hyp = this.nodeHyp.a;
    for (let i = 0; i < len; i++) {
      let node = -1;
      const top = Math.min(maxOrder, len - i);
      for (let n = 1; n <= top; n++) {
        node = this.child(node, ids[i + n - 1], false, n);
        if (node < 0) break; // no reference n-gram extends this prefix
        if (++hyp[node] <= refMax[node]) matches[n - 1]++;
      }
    }
  }

  // ------------------------------------------------------------------ BLEU
  private bleuMatches = new Int32Array(BLEU_MAX_ORDER);

  /**
   * sacrebleu's segment statistics for one hypothesis and its references, written to
   * out[offset .. offset + 10): [sys_len, ref_len, correct_1..4, total_1..4].
   */
  bleuStats(hyp: string, refs: readonly string[], out: Int32Array | number[], offset: number, tokenize: BleuTokenizerName = '13a', lowercase = false): void {
    this.maybeReset();
    while (this.refIds.length < refs.length) {
      this.refIds.push(new Int32Buf());
      this.refLines.push(new Int32Buf());
    }
    let refTokens = 0;
    const refLens: number[] = [];
    for (let r = 0; r < refs.length; r++) {
      const len = this.tokenizeBleu(refs[r], tokenize, lowercase, this.refIds[r]);
      refLens.push(len);
      refTokens += len;
    }
    const hypLen = this.tokenizeBleu(hyp, tokenize, lowercase, this.hypIds);
    this.trieReset(refTokens * BLEU_MAX_ORDER + 16);
    for (let r = 0; r < refs.length; r++) this.addRefNgrams(this.refIds[r].a, refLens[r], BLEU_MAX_ORDER, r);
    this.matchHyp(this.hypIds.a, hypLen, BLEU_MAX_ORDER, this.bleuMatches);

    // _get_closest_ref_len: the closest length; the shorter one on ties.
    let closestDiff = -1;
    let closestLen = -1;
    for (const refLen of refLens) {
      const diff = Math.abs(hypLen - refLen);
      if (closestDiff === -1 || diff < closestDiff) {
        closestDiff = diff;
        closestLen = refLen;
      } else if (diff === closestDiff && refLen < closestLen) closestLen = refLen;
    }
    out[offset] = hypLen;
    out[offset + 1] = closestLen;
    for (let n = 0; n < BLEU_MAX_ORDER; n++) {
      out[offset + 2 + n] = this.bleuMatches[n];
      out[offset + 2 + BLEU_MAX_ORDER + n] = Math.max(0, hypLen - n);
    }
  }

  // ------------------------------------------------------------------ ROUGE
  private lcsLength(a: Int32Array, aStart: number, aLen: number, b: Int32Array, bStart: number, bLen: number): number {
    if (aLen === 0 || bLen === 0) return 0;
    const row = this.row.ensure(bLen + 1);
    row.fill(0, 0, bLen + 1);
    for (let i = 0; i < aLen; i++) {
      const x = a[aStart + i];
      let diag = 0; // table[i][j-1] of the previous row
      let left = 0;
      for (let j = 1; j <= bLen; j++) {
        const up = row[j];
        const v = x === b[bStart + j - 1] ? diag + 1 : up > left ? up : left;
        diag = up;
        row[j] = v;
        left = v;
      }
    }
    return row[bLen];
  }

  /**
   * rouge-score's `lcs_ind` (`_lcs_table` + `_backtrack_norec`), marking the ref indices in unionMark.
   * The full table is built only up to LCS_BAND_CELLS cells; past that the backtrack is followed band
   * by band (native/text/text_stats.cpp explains it): the same marks in memory linear in the segments.
   */
  private markLcs(r: Int32Array, rStart: number, rLen: number, c: Int32Array, cStart: number, cLen: number, mark: Int32Array, epoch: number): void {
    if (rLen === 0 || cLen === 0) return;
    this.lcsWalk(r, rStart, c, cStart, 0, rLen, new Int32Array(cLen + 1), cLen, mark, epoch);
  }

  /** L(to, 0..J) from L(from, 0..J) in `row`, in place, over reference rows from+1..to. */
  private static advanceRows(r: Int32Array, rStart: number, c: Int32Array, cStart: number, from: number, to: number, row: Int32Array, J: number): void {
    for (let i = from + 1; i <= to; i++) {
      const x = r[rStart + i - 1];
      let diag = row[0];
      for (let j = 1; j <= J; j++) {
        const up = row[j];
        const left = row[j - 1];
        row[j] = x === c[cStart + j - 1] ? diag + 1 : up > left ? up : left;
        diag = up;
      }
    }
  }

  /** The backtrack through rows top..bottom, entering at (bottom, J) with row `top` given; the column where it reaches row `top` (0: ended). */
  private lcsWalk(r: Int32Array, rStart: number, c: Int32Array, cStart: number, top: number, bottom: number, topRow: Int32Array, J: number, mark: Int32Array, epoch: number): number {
    if (J === 0 || bottom === top) return J;
    const w = J + 1;
    const h = bottom - top + 1;
    if (h <= 2 || h * w <= LCS_BAND_CELLS) {
      const t = this.lcsTable.ensure(h * w);
      t.set(topRow.subarray(0, w), 0);
      for (let i = 1; i < h; i++) {
        t.copyWithin(i * w, (i - 1) * w, i * w);
        PairStatsEngine.advanceRows(r, rStart, c, cStart, top + i - 1, top + i, t.subarray(i * w, (i + 1) * w), J);
      }
      let i = bottom;
      let j = J;
      while (i > top && j > 0) {
        if (r[rStart + i - 1] === c[cStart + j - 1]) {
          mark[rStart + i - 1] = epoch;
          i--;
          j--;
        } else if (t[(i - top) * w + j - 1] > t[(i - 1 - top) * w + j]) j--;
        else i--;
      }
      return j;
    }
    const mid = top + ((bottom - top) >> 1);
    const midRow = topRow.slice(0, w);
    PairStatsEngine.advanceRows(r, rStart, c, cStart, top, mid, midRow, J);
    const j1 = this.lcsWalk(r, rStart, c, cStart, mid, bottom, midRow, J, mark, epoch);
    return j1 === 0 ? 0 : this.lcsWalk(r, rStart, c, cStart, top, mid, topRow, j1, mark, epoch);
  }

  /** Sentence ranges [start, end) of consecutive tokens on the same line; empty lines vanish. */
  private static sentences(lines: Int32Array, len: number): number[] {
    const bounds: number[] = [];
    for (let k = 0; k < len; k++) if (k === 0 || lines[k] !== lines[k - 1]) bounds.push(k);
    bounds.push(len);
    return bounds;
  }

  /** `_summary_level_lcs`: union LCS per reference sentence, hits clipped by token counts. */
  private summaryLcsHits(ref: Int32Array, refLines: Int32Array, m: number, hyp: Int32Array, hypLines: Int32Array, n: number, singleLcs: number): number {
    if (m === 0 || n === 0) return 0;
    const rb = PairStatsEngine.sentences(refLines, m);
    const cb = PairStatsEngine.sentences(hypLines, n);
    if (rb.length === 2 && cb.length === 2) return singleLcs; // one sentence each: hits = LCS length
    const cntR = this.cntR.ensure(this.nTok);
    const cntC = this.cntC.ensure(this.nTok);
    const stamp = this.cntStamp.ensure(this.nTok);
    const epoch = ++this.cntEpoch;
    const touch = (t: number) => {
      if (stamp[t] !== epoch) {
        stamp[t] = epoch;
        cntR[t] = 0;
        cntC[t] = 0;
      }
    };
    for (let k = 0; k < m; k++) {
      touch(ref[k]);
      cntR[ref[k]]++;
    }
    for (let k = 0; k < n; k++) {
      touch(hyp[k]);
      cntC[hyp[k]]++;
    }
    const mark = this.unionMark.ensure(m);
    mark.fill(0, 0, m);
    let hits = 0;
    for (let s = 0; s + 1 < rb.length; s++) {
      const rs = rb[s];
      const rl = rb[s + 1] - rs;
      const markEpoch = s + 1;
      for (let q = 0; q + 1 < cb.length; q++) this.markLcs(ref, rs, rl, hyp, cb[q], cb[q + 1] - cb[q], mark, markEpoch);
      for (let k = rs; k < rs + rl; k++) {
        if (mark[k] !== markEpoch) continue;
        const t = ref[k];
        if (cntC[t] > 0 && cntR[t] > 0) {
          hits++;
          cntC[t]--;
          cntR[t]--;
        }
      }
    }
    return hits;
  }

  private rougeMatches = new Int32Array(9);
  private rougeCand = new Int32Array(0);

  /**
   * rouge-score's statistics of one prediction against its references (`score_multi`: per type the
   * reference with the highest F-measure, the first on ties), written to
   * out[offset + 3k .. +3) for the k-th type as [matches, prediction count, target count].
   */
  rougeStats(hyp: string, refs: readonly string[], out: Int32Array | number[], offset: number, types: readonly number[], stem = false): void {
    this.maybeReset();
    while (this.refIds.length < 1) {
      this.refIds.push(new Int32Buf());
      this.refLines.push(new Int32Buf());
    }
    const hypLen = this.tokenizeRouge(hyp, stem, this.hypIds, this.hypLines);
    let maxN = 0;
    let needLcs = false;
    for (const t of types) {
      if (t > maxN) maxN = t;
      else if (t <= 0) needLcs = true;
    }
    if (this.rougeCand.length < types.length * 3) this.rougeCand = new Int32Array(types.length * 3);
    const cand = this.rougeCand;
    const bestF = new Float64Array(types.length).fill(-1);
    for (let r = 0; r < refs.length; r++) {
      // The hypothesis ids stay valid: the interner is only reset at the start of a pair.
      const refBuf = this.refIds[0];
      const refLineBuf = this.refLines[0];
      const refLen = this.tokenizeRouge(refs[r], stem, refBuf, refLineBuf);
      const ref = refBuf.a;
      const hypIds = this.hypIds.a;
      if (maxN > 0) {
        this.trieReset(refLen * maxN + 16);
        this.addRefNgrams(ref, refLen, maxN, 0);
        this.matchHyp(hypIds, hypLen, maxN, this.rougeMatches);
      }
      let lcs = -1;
      for (let k = 0; k < types.length; k++) {
        const t = types[k];
        let m: number;
        if (t > 0) m = this.rougeMatches[t - 1];
        else {
          if (lcs < 0) lcs = needLcs ? this.lcsLength(ref, 0, refLen, hypIds, 0, hypLen) : 0;
          m = t === 0 ? lcs : this.summaryLcsHits(ref, refLineBuf.a, refLen, hypIds, this.hypLines.a, hypLen, lcs);
        }
        const predCount = t > 0 ? Math.max(0, hypLen - t + 1) : hypLen;
        const targetCount = t > 0 ? Math.max(0, refLen - t + 1) : refLen;
        const f = rougePrf(m, predCount, targetCount)[2];
        if (f > bestF[k]) {
          bestF[k] = f;
          cand[3 * k] = m;
          cand[3 * k + 1] = predCount;
          cand[3 * k + 2] = targetCount;
        }
      }
    }
    for (let k = 0; k < 3 * types.length; k++) out[offset + k] = cand[k];
  }
}
