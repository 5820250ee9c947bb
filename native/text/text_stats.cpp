// BLEU segment statistics exactly as sacrebleu 2.x computes them; the same rules as
// src/metrics/text/pair-stats.ts (whose comments explain the one-pass 13a tokenizer), run here
// because this is the hot loop of corpus BLEU. The TypeScript tests hold both to the references.
#include "regen/text_stats.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace regen {
namespace {

constexpr bool is_py_whitespace(uint32_t c) {
  if (c <= 0x20) return c == 0x20 || (c >= 0x09 && c <= 0x0d) || (c >= 0x1c && c <= 0x1f);
  if (c < 0x85) return false;
  return c == 0x85 || c == 0xa0 || c == 0x1680 || (c >= 0x2000 && c <= 0x200a) || c == 0x2028 || c == 0x2029 ||
         c == 0x202f || c == 0x205f || c == 0x3000;
}
constexpr bool is_digit(uint32_t c) { return c >= 0x30 && c <= 0x39; }
constexpr bool is_dot_comma(uint32_t c) { return c == 0x2e || c == 0x2c; }
// The characters of 13a's first regex.
constexpr bool is_p1(uint32_t c) {
  return (c >= 0x20 && c <= 0x26) || (c >= 0x28 && c <= 0x2b) || c == 0x2f || (c >= 0x3a && c <= 0x40) ||
         (c >= 0x5b && c <= 0x60) || (c >= 0x7b && c <= 0x7e);
}

// Character classes of 13a for ASCII, so the common case is one table load.
constexpr uint8_t kOther = 0, kSpace = 1, kSymbol = 2, kDotComma = 3, kDigit = 4, kDash = 5;
struct AsciiClasses {
  uint8_t c[128];
  constexpr AsciiClasses() : c() {
    for (int i = 0; i < 128; i++) {
      uint32_t u = static_cast<uint32_t>(i);
      c[i] = is_py_whitespace(u) ? kSpace
             : is_p1(u)          ? kSymbol
             : is_dot_comma(u)   ? kDotComma
             : is_digit(u)       ? kDigit
             : u == 0x2d         ? kDash
                                 : kOther;
    }
  }
};
constexpr AsciiClasses kAscii;
inline uint8_t class_13a(uint32_t c) { return c < 128 ? kAscii.c[c] : (is_py_whitespace(c) ? kSpace : kOther); }

constexpr uint32_t kFnvBasis = 0x811c9dc5u;
inline uint32_t fnv(uint32_t h, uint32_t c) { return (h ^ c) * 0x01000193u; }

void replace_all(std::u16string& s, const std::u16string& from, const std::u16string& to) {
  size_t pos = 0;
  std::u16string out;
  bool any = false;
  for (;;) {
    size_t hit = s.find(from, pos);
    if (hit == std::u16string::npos) break;
    if (!any) out.reserve(s.size());
    any = true;
    out.append(s, pos, hit - pos);
    out.append(to);
    pos = hit + from.size();
  }
  if (!any) return;
  out.append(s, pos, std::u16string::npos);
  s.swap(out);
}

// Token interner over code-unit ranges; ids are only compared within a pair.
class Interner {
 public:
  Interner() { table_.assign(1 << 12, 0); }
  void clear() {
    arena_.clear();
    start_.clear();
    len_.clear();
    hash_.clear();
    stem_of_.clear();
    std::fill(table_.begin(), table_.end(), 0);
  }
  size_t size() const { return start_.size(); }
  // The token as ASCII (rouge tokens are [a-z0-9]).
  std::string ascii(int32_t id) const {
    std::string out(len_[id], '\0');
    for (uint32_t k = 0; k < len_[id]; k++) out[k] = static_cast<char>(arena_[start_[id] + k]);
    return out;
  }
  // Cached Porter stem of token id (-2: stems to nothing).
  int32_t stemmed(int32_t id) {
    if (stem_of_.size() < start_.size()) stem_of_.resize(start_.size(), -1);
    int32_t s = stem_of_[id];
    if (s != -1) return s;
    std::string word = ascii(id);
    std::string st = porter_stem(word);
    if (st == word) s = id;
    else if (st.empty()) s = -2;
    else {
      std::u16string w(st.begin(), st.end());
      uint32_t h = kFnvBasis;
      for (char16_t c : w) h = fnv(h, c);
      s = intern(w.data(), static_cast<uint32_t>(w.size()), h);
    }
    if (stem_of_.size() < start_.size()) stem_of_.resize(start_.size(), -1);
    stem_of_[id] = s;
    return s;
  }
  int32_t intern(const char16_t* s, uint32_t len, uint32_t h) {
    size_t mask = table_.size() - 1;
    size_t slot = h & mask;
    for (;;) {
      int32_t e = table_[slot];
      if (e == 0) break;
      int32_t id = e - 1;
      if (hash_[id] == h && len_[id] == len) {
        const char16_t* a = arena_.data() + start_[id];
        uint32_t k = 0;
        while (k < len && a[k] == s[k]) k++;
        if (k == len) return id;
      }
      slot = (slot + 1) & mask;
    }
    int32_t id = static_cast<int32_t>(start_.size());
    start_.push_back(static_cast<uint32_t>(arena_.size()));
    len_.push_back(len);
    hash_.push_back(h);
    arena_.insert(arena_.end(), s, s + len);
    table_[slot] = id + 1;
    if (start_.size() * 2 > table_.size()) rehash();
    return id;
  }

 private:
  void rehash() {
    table_.assign(table_.size() * 2, 0);
    size_t mask = table_.size() - 1;
    for (size_t id = 0; id < start_.size(); id++) {
      size_t slot = hash_[id] & mask;
      while (table_[slot] != 0) slot = (slot + 1) & mask;
      table_[slot] = static_cast<int32_t>(id) + 1;
    }
  }
  std::vector<char16_t> arena_;
  std::vector<uint32_t> start_, len_, hash_;
  std::vector<int32_t> table_;
  std::vector<int32_t> stem_of_;
};

// n-gram trie of one pair: node = (parent node, token id), counters per node. Open addressing
// with Fibonacci hashing (the high bits of a 64-bit product: ids are small consecutive integers).
class Trie {
 public:
  void reset(size_t expected) {
    size_t size = 1 << 10;
    int bits = 10;
    while (size < expected * 2 + 2) size *= 2, bits++;
    if (size > slots_.size()) {
      slots_.assign(size, Slot{});
      epoch_ = 0;
      shift_ = 64 - bits;
    }
    mask_ = slots_.size() - 1;
    epoch_++;
    nodes_ = 0;
    // Every node is created from a reference n-gram: at most `expected` of them.
    if (nodes_cap_ < expected) {
      nodes_cap_ = expected;
      counters_.resize(expected);
    }
  }
  // Node for (parent, tok); created when create, else -1 when absent.
  int32_t child(int32_t parent, int32_t tok, bool create) {
    uint64_t key = (static_cast<uint64_t>(static_cast<uint32_t>(parent + 1)) << 32) | static_cast<uint32_t>(tok);
    size_t slot = static_cast<size_t>((key * 0x9E3779B97F4A7C15ull) >> shift_);
    for (;;) {
      Slot& e = slots_[slot];
      if (e.stamp != epoch_) break;
      if (e.parent == parent && e.tok == tok) return e.node;
      slot = (slot + 1) & mask_;
    }
    if (!create) return -1;
    int32_t node = nodes_++;
    slots_[slot] = Slot{parent, tok, node, epoch_};
    counters_[node] = Counters{0, 0, -1, 0};
    return node;
  }
  void add_ref(const int32_t* ids, size_t len, int32_t ref_index, size_t max_order = kBleuMaxOrder) {
    for (size_t i = 0; i < len; i++) {
      int32_t node = -1;
      size_t top = std::min<size_t>(max_order, len - i);
      for (size_t n = 1; n <= top; n++) {
        node = child(node, ids[i + n - 1], true);
        Counters& c = counters_[node];
        if (c.ref_stamp != ref_index) {
          c.ref_stamp = ref_index;
          c.ref_cur = 0;
        }
        if (++c.ref_cur > c.ref_max) c.ref_max = c.ref_cur;
      }
    }
  }
  void match_hyp(const int32_t* ids, size_t len, int32_t* matches, size_t max_order = kBleuMaxOrder) {
    for (size_t i = 0; i < len; i++) {
      int32_t node = -1;
      size_t top = std::min<size_t>(max_order, len - i);
      for (size_t n = 1; n <= top; n++) {
        node = child(node, ids[i + n - 1], false);
        if (node < 0) break;
        Counters& c = counters_[node];
        if (++c.hyp <= c.ref_max) matches[n - 1]++;
      }
    }
  }

 private:
  struct Slot {
    int32_t parent = 0, tok = 0, node = 0;
    uint32_t stamp = 0;
  };
  struct Counters {
    int32_t ref_max, ref_cur, ref_stamp, hyp;
  };
  std::vector<Slot> slots_;
  std::vector<Counters> counters_;
  size_t nodes_cap_ = 0;
  uint32_t epoch_ = 0;
  size_t mask_ = 0;
  int shift_ = 54;
  int32_t nodes_ = 0;
};

// Whether 13a's string replacements could change the tokens: "<skipped>", "-\n" or an entity.
// ("\n" -> " " alone never does: both are whitespace to every later step.)
bool starts_with(const char16_t* s, size_t avail, const char16_t* lit) {
  size_t k = 0;
  for (; lit[k]; k++)
    if (k >= avail || s[k] != lit[k]) return false;
  return true;
}

// Whether the '<', '\n' or '&' at s[i] starts one of 13a's replacements (above).
bool special_at(const char16_t* s, size_t i, size_t end) {
  const char16_t c = s[i];
  if (c == u'\n') return i > 0 && s[i - 1] == u'-';
  if (c == u'<') return starts_with(s + i, end - i, u"<skipped>");
  return c == u'&' && (starts_with(s + i, end - i, u"&quot;") || starts_with(s + i, end - i, u"&amp;") ||
                       starts_with(s + i, end - i, u"&lt;") || starts_with(s + i, end - i, u"&gt;"));
}

// Eight code units per step where SSE2 is there (every x86-64): this scan of every text was about
// a third of the 13a tokenizer's time one unit at a time.
bool needs_preprocessing(const char16_t* s, size_t end) {
  size_t i = 0;
#if defined(__SSE2__)
  const __m128i lt = _mm_set1_epi16(u'<'), nl = _mm_set1_epi16(u'\n'), amp = _mm_set1_epi16(u'&');
  for (; i + 8 <= end; i += 8) {
    const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(s + i));
    const __m128i hit = _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi16(v, lt), _mm_cmpeq_epi16(v, nl)), _mm_cmpeq_epi16(v, amp));
    unsigned m = static_cast<unsigned>(_mm_movemask_epi8(hit));
    while (m != 0) {
      const unsigned byte = static_cast<unsigned>(__builtin_ctz(m));  // even: two mask bits per code unit
      m &= ~(3u << byte);
      if (special_at(s, i + byte / 2, end)) return true;
    }
  }
#endif
  for (; i < end; i++) {
    const char16_t c = s[i];
    if ((c == u'<' || c == u'\n' || c == u'&') && special_at(s, i, end)) return true;
  }
  return false;
}

class BleuTokenizer {
 public:
  // sacrebleu's _preprocess_segment (without lower-casing) and 13a (or no) tokenization.
  size_t tokenize(const char16_t* s, size_t length, bool t13a, Interner& interner, std::vector<int32_t>& ids) {
    ids.clear();
    size_t end = length;
    while (end > 0 && is_py_whitespace(s[end - 1])) end--;  // rstrip()
    if (t13a && needs_preprocessing(s, end)) {
      work_.assign(s, s + end);
      replace_all(work_, u"<skipped>", u"");
      replace_all(work_, u"-\n", u"");
      replace_all(work_, u"\n", u" ");
      if (work_.find(u'&') != std::u16string::npos) {
        replace_all(work_, u"&quot;", u"\"");
        replace_all(work_, u"&amp;", u"&");
        replace_all(work_, u"&lt;", u"<");
        replace_all(work_, u"&gt;", u">");
      }
      s = work_.data();
      end = work_.size();
    }
    size_t start = 0;
    uint32_t h = kFnvBasis;
    bool prev_sel2 = false, prev_sel3 = false;
    for (size_t i = 0; i < end; i++) {
      const uint32_t c = s[i];
      const uint8_t cls = class_13a(c);
      if (cls == kOther || cls == kDigit || (!t13a && cls != kSpace)) {
        prev_sel2 = prev_sel3 = false;
        h = fnv(h, c);
        continue;
      }
      if (cls == kSpace) {
        prev_sel2 = prev_sel3 = false;
        if (i > start) ids.push_back(interner.intern(s + start, static_cast<uint32_t>(i - start), h));
        start = i + 1;
        h = kFnvBasis;
        continue;
      }
      bool alone = false;
      if (cls == kSymbol) {
        alone = true;
        prev_sel2 = prev_sel3 = false;
      } else if (cls == kDotComma) {
        // Neighbours as pass 1 leaves them: whitespace and symbols read as a space.
        const uint8_t pcls = i == 0 ? kSpace : class_13a(s[i - 1]);
        const uint8_t ncls = i + 1 >= end ? kSpace : class_13a(s[i + 1]);
        const bool prev_dc = pcls == kDotComma;
        const bool sel2 = pcls != kDigit && !(prev_dc && prev_sel2);
        const bool next_sel2 = ncls == kDotComma && !sel2;
        const bool sel3 = (sel2 || next_sel2 || ncls != kDigit) && !(!sel2 && prev_dc && !prev_sel2 && prev_sel3);
        alone = sel2 || sel3;
        prev_sel2 = sel2;
        prev_sel3 = sel3;
      } else {  // kDash
        prev_sel2 = prev_sel3 = false;
        alone = i > 0 && class_13a(s[i - 1]) == kDigit;
      }
      if (alone) {
        if (i > start) ids.push_back(interner.intern(s + start, static_cast<uint32_t>(i - start), h));
        ids.push_back(interner.intern(s + i, 1, fnv(kFnvBasis, c)));
        start = i + 1;
        h = kFnvBasis;
        continue;
      }
      h = fnv(h, c);
    }
    if (end > start) ids.push_back(interner.intern(s + start, static_cast<uint32_t>(end - start), h));
    return ids.size();
  }

 private:
  std::u16string work_;
};

// rouge-score's tokenizer: Python lower(), [^a-z0-9]+ -> ' ', split, stem tokens longer than 3.
// Only A-Z, the Kelvin sign and dotted I lower-case into [a-z0-9]; line numbers feed rougeLsum.
size_t rouge_tokenize(const char16_t* s, size_t length, bool stem, Interner& interner, std::vector<int32_t>& ids,
                      std::vector<int32_t>& lines, std::u16string& word) {
  ids.clear();
  lines.clear();
  int32_t line = 0;
  uint32_t h = kFnvBasis;
  word.clear();
  auto flush = [&]() {
    if (word.empty()) return;
    int32_t id = interner.intern(word.data(), static_cast<uint32_t>(word.size()), h);
    if (stem && word.size() > 3) id = interner.stemmed(id);
    word.clear();
    h = kFnvBasis;
    if (id < 0) return;
    ids.push_back(id);
    lines.push_back(line);
  };
  for (size_t i = 0; i < length; i++) {
    uint32_t c = s[i];
    if ((c >= 0x61 && c <= 0x7a) || (c >= 0x30 && c <= 0x39)) {
    } else if (c >= 0x41 && c <= 0x5a) {
      c += 0x20;
    } else if (c == 0x212a) {
      c = 0x6b;
    } else if (c == 0x130) {
      word.push_back(u'i');
      h = fnv(h, 0x69);
      flush();
      continue;
    } else {
      flush();
      if (c == 0x0a) line++;
      continue;
    }
    word.push_back(static_cast<char16_t>(c));
    h = fnv(h, c);
  }
  flush();
  return ids.size();
}

// LCS length, bit-parallel (Hyyro 2004): one bit per position of a, V' = (V + (V & M)) | (V & ~M)
// with carries across 64-bit words; the LCS is the number of zero bits among the first an. The match
// masks M take distinct symbols x words; past kMaskWords (long segments with many distinct tokens,
// where they grew to gigabytes) each step's mask is built from a's positions of that symbol instead:
// memory linear in the segment, the same result.
struct LcsBits {
  std::vector<uint64_t> masks, v, scratch;
  std::vector<int32_t> local, stamp, pos_start, pos;
  int32_t epoch = 0;
};

constexpr size_t kMaskWords = size_t{1} << 20;  // 8 MiB of per-symbol masks

inline uint64_t lcs_step(uint64_t* v, const uint64_t* m, size_t words) {
  uint64_t carry = 0;
  for (size_t w = 0; w < words; w++) {
    uint64_t vw = v[w], u = vw & m[w];
    uint64_t sum = vw + u;
    uint64_t c1 = sum < vw;
    uint64_t sum2 = sum + carry;
    uint64_t c2 = sum2 < sum;
    v[w] = sum2 | (vw & ~m[w]);
    carry = c1 | c2;
  }
  return carry;
}

int32_t lcs_length_bits(const int32_t* a, size_t an, const int32_t* b, size_t bn, size_t n_ids, LcsBits& L) {
  if (an == 0 || bn == 0) return 0;
  const size_t words = (an + 63) / 64;
  if (L.stamp.size() < n_ids) {
    L.stamp.resize(n_ids, 0);
    L.local.resize(n_ids, 0);
  }
  const int32_t epoch = ++L.epoch;
  int32_t distinct = 0;
  for (size_t i = 0; i < an; i++)
    if (L.stamp[a[i]] != epoch) {
      L.stamp[a[i]] = epoch;
      L.local[a[i]] = distinct++;
    }
  L.v.assign(words, ~uint64_t{0});
  if (static_cast<size_t>(distinct) * words <= kMaskWords) {
    L.masks.assign(static_cast<size_t>(distinct) * words, 0);
    for (size_t i = 0; i < an; i++) L.masks[static_cast<size_t>(L.local[a[i]]) * words + i / 64] |= uint64_t{1} << (i % 64);
    for (size_t j = 0; j < bn; j++) {
      if (L.stamp[b[j]] != epoch) continue;  // no match anywhere: V unchanged
      lcs_step(L.v.data(), &L.masks[static_cast<size_t>(L.local[b[j]]) * words], words);
    }
  } else {
    // a's positions per symbol (CSR), and one mask built and cleared per step.
    L.pos_start.assign(static_cast<size_t>(distinct) + 1, 0);
    for (size_t i = 0; i < an; i++) L.pos_start[L.local[a[i]] + 1]++;
    for (int32_t s = 0; s < distinct; s++) L.pos_start[s + 1] += L.pos_start[s];
    L.pos.resize(an);
    {
      std::vector<int32_t> next(L.pos_start.begin(), L.pos_start.end() - 1);
      for (size_t i = 0; i < an; i++) L.pos[next[L.local[a[i]]]++] = static_cast<int32_t>(i);
    }
    L.scratch.assign(words, 0);
    for (size_t j = 0; j < bn; j++) {
      if (L.stamp[b[j]] != epoch) continue;
      const int32_t s = L.local[b[j]];
      for (int32_t k = L.pos_start[s]; k < L.pos_start[s + 1]; k++) L.scratch[L.pos[k] / 64] |= uint64_t{1} << (L.pos[k] % 64);
      lcs_step(L.v.data(), L.scratch.data(), words);
      for (int32_t k = L.pos_start[s]; k < L.pos_start[s + 1]; k++) L.scratch[L.pos[k] / 64] = 0;
    }
    std::vector<int32_t>().swap(L.pos);
  }
  int32_t ones = 0;
  for (size_t w = 0; w < words; w++) {
    uint64_t vw = L.v[w];
    if (w == words - 1 && an % 64) vw &= (uint64_t{1} << (an % 64)) - 1;
    ones += __builtin_popcountll(vw);
  }
  return static_cast<int32_t>(an) - ones;
}

// rouge-score's lcs_ind: the LCS table _lcs_table builds, and _backtrack_norec's walk back from the
// corner (diagonal on a match; else left when left is strictly larger, else up), marking the
// reference indices it passes. The full (rn + 1) x (cn + 1) table is only built when it has at most
// kBandCells cells; beyond that the walk is found band by band: the row at the middle of a band of
// reference rows is computed forward from the band's top row (two rows of memory), the walk is
// followed through the lower half first (it enters there), then through the upper half from where it
// left, each half split again until it fits. The walk depends only on the table's values, which the
// split does not change, so the marks are the table backtrack's, bit for bit; memory stays
// O(kBandCells + cn log rn), time O(rn cn log rn) in the worst case (only past the budget).
// 16 MiB of int32 table; REGEN_LCS_BAND_CELLS lowers it so that tests reach the split on small inputs.
const size_t kBandCells = [] {
  const char* env = std::getenv("REGEN_LCS_BAND_CELLS");
  const long long v = env ? std::atoll(env) : 0;
  return v >= 4 ? static_cast<size_t>(v) : size_t{1} << 22;
}();

// L(to, 0..J) from L(from, 0..J) in `row` (in place), over reference rows from+1..to.
void advance_rows(const int32_t* r, const int32_t* c, size_t from, size_t to, int32_t* row, size_t J) {
  for (size_t i = from + 1; i <= to; i++) {
    const int32_t x = r[i - 1];
    int32_t diag = row[0];
    for (size_t j = 1; j <= J; j++) {
      const int32_t up = row[j];
      const int32_t left = row[j - 1];
      row[j] = x == c[j - 1] ? diag + 1 : (up > left ? up : left);
      diag = up;
    }
  }
}

// The walk through rows top..bottom, entering at (bottom, J) with row `top` of the table given;
// returns the column where it reaches row `top` (0: the walk has ended).
size_t lcs_walk(const int32_t* r, const int32_t* c, size_t top, size_t bottom, const int32_t* top_row, size_t J, int32_t* mark,
                int32_t epoch, std::vector<int32_t>& table) {
  if (J == 0 || bottom == top) return J;
  const size_t w = J + 1, h = bottom - top + 1;
  if (h <= 2 || h * w <= kBandCells) {
    table.resize(h * w);
    int32_t* t = table.data();
    std::copy(top_row, top_row + w, t);
    for (size_t i = 1; i < h; i++) {
      std::copy(t + (i - 1) * w, t + i * w, t + i * w);
      advance_rows(r, c, top + i - 1, top + i, t + i * w, J);
    }
    size_t i = bottom, j = J;
    while (i > top && j > 0) {
      if (r[i - 1] == c[j - 1]) {
        mark[i - 1] = epoch;
        i--;
        j--;
      } else if (t[(i - top) * w + j - 1] > t[(i - 1 - top) * w + j]) {
        j--;
      } else {
        i--;
      }
    }
    return j;
  }
  const size_t mid = top + (bottom - top) / 2;
  std::vector<int32_t> mid_row(top_row, top_row + w);
  advance_rows(r, c, top, mid, mid_row.data(), J);
  const size_t j1 = lcs_walk(r, c, mid, bottom, mid_row.data(), J, mark, epoch, table);
  std::vector<int32_t>().swap(mid_row);
  return j1 == 0 ? 0 : lcs_walk(r, c, top, mid, top_row, j1, mark, epoch, table);
}

void mark_lcs(const int32_t* r, size_t rn, const int32_t* c, size_t cn, std::vector<int32_t>& table, int32_t* mark,
              int32_t epoch) {
  if (rn == 0 || cn == 0) return;
  const std::vector<int32_t> zeros(cn + 1, 0);
  lcs_walk(r, c, 0, rn, zeros.data(), cn, mark, epoch, table);
  if (table.size() > kBandCells) std::vector<int32_t>().swap(table);
}

std::vector<size_t> sentences(const std::vector<int32_t>& lines) {
  std::vector<size_t> bounds;
  for (size_t k = 0; k < lines.size(); k++)
    if (k == 0 || lines[k] != lines[k - 1]) bounds.push_back(k);
  bounds.push_back(lines.size());
  return bounds;
}

struct RougeScratch {
  std::vector<int32_t> table, mark, cnt_r, cnt_c, cnt_stamp;
  int32_t cnt_epoch = 0;
  LcsBits bits;
};

// _summary_level_lcs: union LCS per reference sentence, hits clipped by token counts.
int32_t summary_lcs_hits(const std::vector<int32_t>& ref, const std::vector<int32_t>& ref_lines,
                         const std::vector<int32_t>& hyp, const std::vector<int32_t>& hyp_lines, int32_t single_lcs,
                         size_t n_tokens, RougeScratch& sc) {
  size_t m = ref.size(), n = hyp.size();
  if (m == 0 || n == 0) return 0;
  std::vector<size_t> rb = sentences(ref_lines), cb = sentences(hyp_lines);
  if (rb.size() == 2 && cb.size() == 2) return single_lcs;  // one sentence each: hits = LCS length
  if (sc.cnt_r.size() < n_tokens) {
    sc.cnt_r.resize(n_tokens);
    sc.cnt_c.resize(n_tokens);
    sc.cnt_stamp.resize(n_tokens, 0);
  }
  int32_t epoch = ++sc.cnt_epoch;
  auto touch = [&](int32_t t) {
    if (sc.cnt_stamp[t] != epoch) {
      sc.cnt_stamp[t] = epoch;
      sc.cnt_r[t] = 0;
      sc.cnt_c[t] = 0;
    }
  };
  for (int32_t t : ref) touch(t), sc.cnt_r[t]++;
  for (int32_t t : hyp) touch(t), sc.cnt_c[t]++;
  sc.mark.assign(m, 0);
  int32_t hits = 0;
  for (size_t s = 0; s + 1 < rb.size(); s++) {
    size_t rs = rb[s], rl = rb[s + 1] - rs;
    int32_t mark_epoch = static_cast<int32_t>(s) + 1;
    for (size_t q = 0; q + 1 < cb.size(); q++)
      mark_lcs(ref.data() + rs, rl, hyp.data() + cb[q], cb[q + 1] - cb[q], sc.table, sc.mark.data() + rs, mark_epoch);
    for (size_t k = rs; k < rs + rl; k++) {
      if (sc.mark[k] != mark_epoch) continue;
      int32_t t = ref[k];
      if (sc.cnt_c[t] > 0 && sc.cnt_r[t] > 0) {
        hits++;
        sc.cnt_c[t]--;
        sc.cnt_r[t]--;
      }
    }
  }
  return hits;
}

// rouge-score's precision, recall, F-measure: the same operations as the TypeScript and Python.
double rouge_f(int32_t matches, int32_t pred, int32_t target) {
  double precision = pred > 0 ? static_cast<double>(matches) / pred : 0.0;
  double recall = target > 0 ? static_cast<double>(matches) / target : 0.0;
  return precision + recall > 0 ? (2 * precision * recall) / (precision + recall) : 0.0;
}

// What each kernel call reuses between calls, one per thread (Piscina workers each call the kernels
// on their own thread).
struct RougeThreadState {
  Interner interner;
  Trie trie;
  RougeScratch sc;
  std::vector<int32_t> hyp, hyp_lines, ref, ref_lines;
  std::u16string word;
};

struct BleuThreadState {
  Interner interner;
  Trie trie;
  BleuTokenizer tokenizer;
  std::vector<int32_t> hyp;
  std::vector<std::vector<int32_t>> refs;
  std::vector<size_t> ref_lens;
};

// This thread's T, on the heap behind one thread_local pointer: every use of a thread_local object in
// a shared library is a __tls_get_addr call, and GCC had propagated such addresses into the tokenizer
// (4% of BLEU's time).
template <class T>
T& per_thread() {
  thread_local std::unique_ptr<T> state;
  if (!state) state = std::make_unique<T>();
  return *state;
}

}  // namespace

long rouge_chunk_stats(const char16_t* text, size_t text_length, const int32_t* layout, size_t layout_length,
                       const int32_t* types, int n_types, bool stem, int32_t* out, size_t out_capacity) {
  RougeThreadState& t = per_thread<RougeThreadState>();
  Interner& interner = t.interner;
  Trie& trie = t.trie;
  RougeScratch& sc = t.sc;
  std::vector<int32_t>& hyp = t.hyp;
  std::vector<int32_t>& hyp_lines = t.hyp_lines;
  std::vector<int32_t>& ref = t.ref;
  std::vector<int32_t>& ref_lines = t.ref_lines;
  std::u16string& word = t.word;
  int max_n = 0;
  bool need_lcs = false;
  for (int k = 0; k < n_types; k++) {
    if (types[k] > 9 || types[k] < -1) return -1;
    if (types[k] > max_n) max_n = types[k];
    if (types[k] <= 0) need_lcs = true;
  }
  std::vector<int32_t> matches(std::max(max_n, 1));
  std::vector<int32_t> cand(3 * n_types);
  std::vector<double> best(n_types);
  size_t pos = 0, k = 0;
  long pairs = 0;
  const size_t per_pair = static_cast<size_t>(kRougeStats) * n_types;
  while (k < layout_length) {
    if (k + 2 > layout_length) return -1;
    int32_t nrefs = layout[k++];
    int32_t hyp_len = layout[k++];
    if (nrefs < 1 || hyp_len < 0 || k + nrefs > layout_length || pos + hyp_len > text_length) return -1;
    if (static_cast<size_t>(pairs + 1) * per_pair > out_capacity) return -1;
    if (interner.size() > (1u << 21)) interner.clear();
    rouge_tokenize(text + pos, hyp_len, stem, interner, hyp, hyp_lines, word);
    pos += hyp_len;
    std::fill(best.begin(), best.end(), -1.0);
    for (int32_t r = 0; r < nrefs; r++) {
      int32_t len = layout[k++];
      if (len < 0 || pos + len > text_length) return -1;
      rouge_tokenize(text + pos, len, stem, interner, ref, ref_lines, word);
      pos += len;
      if (max_n > 0) {
        trie.reset(ref.size() * max_n + 16);
        trie.add_ref(ref.data(), ref.size(), 0, max_n);
        std::fill(matches.begin(), matches.end(), 0);
        trie.match_hyp(hyp.data(), hyp.size(), matches.data(), max_n);
      }
      int32_t lcs = -1;
      for (int t = 0; t < n_types; t++) {
        int32_t type = types[t];
        int32_t m;
        if (type > 0) {
          m = matches[type - 1];
        } else {
          if (lcs < 0) lcs = need_lcs ? lcs_length_bits(ref.data(), ref.size(), hyp.data(), hyp.size(), interner.size(), sc.bits) : 0;
          m = type == 0 ? lcs : summary_lcs_hits(ref, ref_lines, hyp, hyp_lines, lcs, interner.size(), sc);
        }
        int32_t hn = static_cast<int32_t>(hyp.size()), rn = static_cast<int32_t>(ref.size());
        int32_t pred = type > 0 ? std::max(0, hn - type + 1) : hn;
        int32_t target = type > 0 ? std::max(0, rn - type + 1) : rn;
        double f = rouge_f(m, pred, target);
        if (f > best[t]) {
          best[t] = f;
          cand[3 * t] = m;
          cand[3 * t + 1] = pred;
          cand[3 * t + 2] = target;
        }
      }
    }
    std::copy(cand.begin(), cand.end(), out + pairs * per_pair);
    pairs++;
  }
  return pos == text_length ? pairs : -1;
}

long bleu_chunk_stats(const char16_t* text, size_t text_length, const int32_t* layout, size_t layout_length,
                      bool tokenize_13a, int32_t* out, size_t out_capacity) {
  BleuThreadState& b = per_thread<BleuThreadState>();
  Interner& interner = b.interner;
  Trie& trie = b.trie;
  BleuTokenizer& tokenizer = b.tokenizer;
  std::vector<int32_t>& hyp = b.hyp;
  std::vector<std::vector<int32_t>>& refs = b.refs;
  std::vector<size_t>& ref_lens = b.ref_lens;
  size_t pos = 0, k = 0;
  long pairs = 0;
  while (k < layout_length) {
    if (k + 2 > layout_length) return -1;
    int32_t nrefs = layout[k++];
    int32_t hyp_len = layout[k++];
    if (nrefs < 1 || hyp_len < 0 || k + nrefs > layout_length || pos + hyp_len > text_length) return -1;
    if (static_cast<size_t>(pairs + 1) * kBleuStats > out_capacity) return -1;
    if (interner.size() > (1u << 21)) interner.clear();  // ids are only compared within a pair
    const char16_t* hyp_text = text + pos;
    pos += hyp_len;
    if (refs.size() < static_cast<size_t>(nrefs)) refs.resize(nrefs);
    ref_lens.assign(static_cast<size_t>(nrefs), 0);
    size_t ref_tokens = 0;
    for (int32_t r = 0; r < nrefs; r++) {
      int32_t len = layout[k++];
      if (len < 0 || pos + len > text_length) return -1;
      ref_lens[r] = tokenizer.tokenize(text + pos, len, tokenize_13a, interner, refs[r]);
      ref_tokens += ref_lens[r];
      pos += len;
    }
    size_t hyp_tokens = tokenizer.tokenize(hyp_text, hyp_len, tokenize_13a, interner, hyp);
    trie.reset(ref_tokens * kBleuMaxOrder + 16);
    for (int32_t r = 0; r < nrefs; r++) trie.add_ref(refs[r].data(), ref_lens[r], r);
    int32_t* o = out + pairs * kBleuStats;
    std::fill(o, o + kBleuStats, 0);
    trie.match_hyp(hyp.data(), hyp_tokens, o + 2);
    // _get_closest_ref_len: the closest length; the shorter one on ties.
    long closest_diff = -1, closest_len = -1;
    for (size_t len : ref_lens) {
      long diff = std::labs(static_cast<long>(hyp_tokens) - static_cast<long>(len));
      if (closest_diff == -1 || diff < closest_diff) {
        closest_diff = diff;
        closest_len = static_cast<long>(len);
      } else if (diff == closest_diff && static_cast<long>(len) < closest_len) {
        closest_len = static_cast<long>(len);
      }
    }
    o[0] = static_cast<int32_t>(hyp_tokens);
    o[1] = static_cast<int32_t>(closest_len);
    for (int n = 0; n < kBleuMaxOrder; n++) o[2 + kBleuMaxOrder + n] = static_cast<int32_t>(std::max<long>(0, static_cast<long>(hyp_tokens) - n));
    pairs++;
  }
  return pos == text_length ? pairs : -1;
}

}  // namespace regen
