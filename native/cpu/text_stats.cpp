// BLEU segment statistics exactly as sacrebleu 2.x computes them; the same rules as
// src/metrics/text/pair-stats.ts (whose comments explain the one-pass 13a tokenizer), run here
// because this is the hot loop of corpus BLEU. The TypeScript tests hold both to the references.
#include "regen/text_stats.h"

#include <algorithm>
#include <cstring>
#include <string>
#include <vector>

namespace regen {
namespace {

inline bool is_py_whitespace(uint32_t c) {
  if (c <= 0x20) return c == 0x20 || (c >= 0x09 && c <= 0x0d) || (c >= 0x1c && c <= 0x1f);
  if (c < 0x85) return false;
  return c == 0x85 || c == 0xa0 || c == 0x1680 || (c >= 0x2000 && c <= 0x200a) || c == 0x2028 || c == 0x2029 ||
         c == 0x202f || c == 0x205f || c == 0x3000;
}
inline bool is_digit(uint32_t c) { return c >= 0x30 && c <= 0x39; }
inline bool is_dot_comma(uint32_t c) { return c == 0x2e || c == 0x2c; }
// The characters of 13a's first regex.
inline bool is_p1(uint32_t c) {
  return (c >= 0x20 && c <= 0x26) || (c >= 0x28 && c <= 0x2b) || c == 0x2f || (c >= 0x3a && c <= 0x40) ||
         (c >= 0x5b && c <= 0x60) || (c >= 0x7b && c <= 0x7e);
}

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
    std::fill(table_.begin(), table_.end(), 0);
  }
  size_t size() const { return start_.size(); }
  int32_t intern(const char16_t* s, uint32_t len, uint32_t h) {
    size_t mask = table_.size() - 1;
    size_t slot = h & mask;
    for (;;) {
      int32_t e = table_[slot];
      if (e == 0) break;
      int32_t id = e - 1;
      if (hash_[id] == h && len_[id] == len && std::memcmp(arena_.data() + start_[id], s, len * sizeof(char16_t)) == 0)
        return id;
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
};

// n-gram trie of one pair: node = (parent node, token id), counters per node.
class Trie {
 public:
  void reset(size_t expected) {
    size_t size = 1 << 10;
    while (size < expected * 2 + 2) size *= 2;
    if (size > parent_.size()) {
      parent_.assign(size, 0);
      tok_.assign(size, 0);
      node_.assign(size, 0);
      stamp_.assign(size, 0);
      epoch_ = 0;
    }
    mask_ = parent_.size() - 1;
    epoch_++;
    nodes_ = 0;
    ref_max_.clear();
    ref_cur_.clear();
    ref_stamp_.clear();
    hyp_.clear();
  }
  // Node for (parent, tok); created when create, else -1 when absent.
  int32_t child(int32_t parent, int32_t tok, bool create) {
    uint32_t h = (static_cast<uint32_t>(parent + 1) * 0x9e3779b1u) ^ (static_cast<uint32_t>(tok) * 0x85ebca77u);
    h ^= h >> 15;
    size_t slot = h & mask_;
    while (stamp_[slot] == epoch_) {
      if (parent_[slot] == parent && tok_[slot] == tok) return node_[slot];
      slot = (slot + 1) & mask_;
    }
    if (!create) return -1;
    int32_t node = nodes_++;
    stamp_[slot] = epoch_;
    parent_[slot] = parent;
    tok_[slot] = tok;
    node_[slot] = node;
    ref_max_.push_back(0);
    ref_cur_.push_back(0);
    ref_stamp_.push_back(-1);
    hyp_.push_back(0);
    return node;
  }
  void add_ref(const int32_t* ids, size_t len, int32_t ref_index) {
    for (size_t i = 0; i < len; i++) {
      int32_t node = -1;
      size_t top = std::min<size_t>(kBleuMaxOrder, len - i);
      for (size_t n = 1; n <= top; n++) {
        node = child(node, ids[i + n - 1], true);
        if (ref_stamp_[node] != ref_index) {
          ref_stamp_[node] = ref_index;
          ref_cur_[node] = 0;
        }
        int32_t c = ++ref_cur_[node];
        if (c > ref_max_[node]) ref_max_[node] = c;
      }
    }
  }
  void match_hyp(const int32_t* ids, size_t len, int32_t* matches) {
    for (size_t i = 0; i < len; i++) {
      int32_t node = -1;
      size_t top = std::min<size_t>(kBleuMaxOrder, len - i);
      for (size_t n = 1; n <= top; n++) {
        node = child(node, ids[i + n - 1], false);
        if (node < 0) break;
        if (++hyp_[node] <= ref_max_[node]) matches[n - 1]++;
      }
    }
  }

 private:
  std::vector<int32_t> parent_, tok_, node_;
  std::vector<uint32_t> stamp_;
  uint32_t epoch_ = 0;
  size_t mask_ = 0;
  int32_t nodes_ = 0;
  std::vector<int32_t> ref_max_, ref_cur_, ref_stamp_, hyp_;
};

class BleuTokenizer {
 public:
  // sacrebleu's _preprocess_segment (without lower-casing) and 13a (or no) tokenization.
  size_t tokenize(const char16_t* s, size_t length, bool t13a, Interner& interner, std::vector<int32_t>& ids) {
    ids.clear();
    size_t end = length;
    while (end > 0 && is_py_whitespace(s[end - 1])) end--;  // rstrip()
    if (t13a) {
      bool special = false;
      for (size_t i = 0; i < end; i++)
        if (s[i] == u'<' || s[i] == u'\n' || s[i] == u'&') {
          special = true;
          break;
        }
      if (special) {
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
    }
    size_t start = 0;
    uint32_t h = kFnvBasis;
    bool prev_sel2 = false, prev_sel3 = false;
    for (size_t i = 0; i < end; i++) {
      uint32_t c = s[i];
      if (is_py_whitespace(c)) {
        prev_sel2 = prev_sel3 = false;
        if (i > start) ids.push_back(interner.intern(s + start, static_cast<uint32_t>(i - start), h));
        start = i + 1;
        h = kFnvBasis;
        continue;
      }
      bool alone = false;
      if (t13a) {
        if (is_p1(c)) {
          alone = true;
          prev_sel2 = prev_sel3 = false;
        } else if (is_dot_comma(c)) {
          uint32_t pc = i == 0 ? 0x20 : s[i - 1];
          uint32_t prev = is_py_whitespace(pc) || is_p1(pc) ? 0x20 : pc;
          uint32_t nc = i + 1 >= end ? 0x20 : s[i + 1];
          uint32_t next = is_py_whitespace(nc) || is_p1(nc) ? 0x20 : nc;
          bool prev_dc = is_dot_comma(prev);
          bool sel2 = !is_digit(prev) && !(prev_dc && prev_sel2);
          bool next_sel2 = is_dot_comma(next) && !sel2;
          bool sel3 = (sel2 || next_sel2 || !is_digit(next)) && !(!sel2 && prev_dc && !prev_sel2 && prev_sel3);
          alone = sel2 || sel3;
          prev_sel2 = sel2;
          prev_sel3 = sel3;
        } else {
          prev_sel2 = prev_sel3 = false;
          if (c == 0x2d && i > 0 && is_digit(s[i - 1])) alone = true;
        }
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

}  // namespace

long bleu_chunk_stats(const char16_t* text, size_t text_length, const int32_t* layout, size_t layout_length,
                      bool tokenize_13a, int32_t* out, size_t out_capacity) {
  // One per thread: Piscina workers each call this on their own thread.
  thread_local Interner interner;
  thread_local Trie trie;
  thread_local BleuTokenizer tokenizer;
  thread_local std::vector<int32_t> hyp;
  thread_local std::vector<std::vector<int32_t>> refs;
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
    std::vector<size_t> ref_lens(nrefs);
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
