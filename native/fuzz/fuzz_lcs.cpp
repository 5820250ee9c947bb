// libFuzzer target, differential: ROUGE-L and ROUGE-Lsum from the kernel (whose LCS table is built in
// bands when it would be large: run with REGEN_LCS_BAND_CELLS=16, as npm run fuzz does, to split
// even small tables) against a plain implementation of rouge-score's _lcs_table, _backtrack_norec and
// _summary_level_lcs written here from the reference. Tokens are words of a small alphabet, so that
// ties, repeats and several sentences are common.
#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <map>
#include <string>
#include <vector>

#include "regen/text_stats.h"

namespace {
using Sentences = std::vector<std::vector<int>>;

int lcs_table_len(const std::vector<int>& r, const std::vector<int>& c) {
  std::vector<std::vector<int>> t(r.size() + 1, std::vector<int>(c.size() + 1, 0));
  for (size_t i = 1; i <= r.size(); i++)
    for (size_t j = 1; j <= c.size(); j++) t[i][j] = r[i - 1] == c[j - 1] ? t[i - 1][j - 1] + 1 : std::max(t[i - 1][j], t[i][j - 1]);
  return t[r.size()][c.size()];
}

// lcs_ind: indices of ref on the backtracked LCS.
std::vector<size_t> lcs_ind(const std::vector<int>& r, const std::vector<int>& c) {
  std::vector<std::vector<int>> t(r.size() + 1, std::vector<int>(c.size() + 1, 0));
  for (size_t i = 1; i <= r.size(); i++)
    for (size_t j = 1; j <= c.size(); j++) t[i][j] = r[i - 1] == c[j - 1] ? t[i - 1][j - 1] + 1 : std::max(t[i - 1][j], t[i][j - 1]);
  std::vector<size_t> out;
  size_t i = r.size(), j = c.size();
  while (i > 0 && j > 0) {
    if (r[i - 1] == c[j - 1]) {
      out.push_back(i - 1);
      i--;
      j--;
    } else if (t[i][j - 1] > t[i - 1][j]) {
      j--;
    } else {
      i--;
    }
  }
  return out;
}

int summary_hits(const Sentences& ref, const Sentences& hyp) {
  std::map<int, int> cnt_r, cnt_c;
  for (const auto& s : ref)
    for (int t : s) cnt_r[t]++;
  for (const auto& s : hyp)
    for (int t : s) cnt_c[t]++;
  int hits = 0;
  for (const auto& r : ref) {
    std::vector<bool> in_union(r.size(), false);
    for (const auto& c : hyp)
      for (size_t k : lcs_ind(r, c)) in_union[k] = true;
    for (size_t k = 0; k < r.size(); k++) {
      if (!in_union[k]) continue;
      int t = r[k];
      if (cnt_c[t] > 0 && cnt_r[t] > 0) {
        hits++;
        cnt_c[t]--;
        cnt_r[t]--;
      }
    }
  }
  return hits;
}

Sentences parse(const uint8_t* d, size_t n, std::u16string& text) {
  Sentences out(1);
  for (size_t i = 0; i < n; i++) {
    const uint8_t b = d[i] % 8;
    if (b == 7 && !out.back().empty()) {
      out.emplace_back();
      text += u'\n';
      continue;
    }
    const int tok = b % 7;
    if (!text.empty() && text.back() != u'\n') text += u' ';
    text += static_cast<char16_t>(u'a' + tok);
    out.back().push_back(tok);
  }
  if (out.back().empty()) out.pop_back();
  return out;
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 2) return 0;
  const size_t cut = 1 + data[0] % (size - 1);
  std::u16string hyp_text, ref_text;
  const Sentences hyp = parse(data + 1, cut, hyp_text);
  const Sentences ref = parse(data + 1 + cut, size - 1 - cut, ref_text);
  std::u16string text = hyp_text + ref_text;
  const int32_t layout[] = {1, static_cast<int32_t>(hyp_text.size()), static_cast<int32_t>(ref_text.size())};
  const int32_t types[] = {0, -1};
  int32_t out[6];
  if (regen::rouge_chunk_stats(text.data(), text.size(), layout, 3, types, 2, false, out, 6) != 1) std::abort();
  std::vector<int> h, r;
  for (const auto& s : hyp) h.insert(h.end(), s.begin(), s.end());
  for (const auto& s : ref) r.insert(r.end(), s.begin(), s.end());
  if (out[0] != lcs_table_len(r, h)) std::abort();
  const int hits = (h.empty() || r.empty()) ? 0 : (hyp.size() == 1 && ref.size() == 1) ? lcs_table_len(r, h) : summary_hits(ref, hyp);
  if (out[3] != hits) std::abort();
  return 0;
}
