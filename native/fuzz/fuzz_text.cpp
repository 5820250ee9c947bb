// libFuzzer target: BLEU and ROUGE statistics of arbitrary chunks (npm run fuzz). The input is cut
// into a settings byte, a layout of lengths (valid or not: the kernels must reject a layout that
// does not fit the text, never read past it) and UTF-16 text; the statistics must respect their
// invariants (matches never exceed the counts they are drawn from).
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "regen/text_stats.h"

namespace {
void check(bool ok, const char* what) {
  if (!ok) {
    __builtin_printf("invariant broken: %s\n", what);
    std::abort();
  }
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 2) return 0;
  const uint8_t flags = data[0];
  const size_t n_layout = data[1] % 12;
  size_t pos = 2;
  std::vector<int32_t> layout;
  for (size_t i = 0; i < n_layout && pos + 2 <= size; i++, pos += 2) {
    // Small lengths mostly, now and then a negative or huge one.
    int32_t v = static_cast<int32_t>(data[pos]) | (static_cast<int32_t>(data[pos + 1]) << 8);
    if (flags & 0x80) v = static_cast<int16_t>(v);
    layout.push_back(v % 512 - ((flags & 0x40) ? 3 : 0));
  }
  std::vector<char16_t> text;
  for (; pos + 1 < size; pos += 2) {
    char16_t c = static_cast<char16_t>(data[pos] | (data[pos + 1] << 8));
    // Bias towards ASCII letters, spaces, newlines and the characters 13a treats specially.
    if (!(flags & 0x20)) c = static_cast<char16_t>("ab cd\n.,-&;<>0123 xyzAB\u212a\u0130"[c % 27]);
    text.push_back(c);
  }
  const size_t pairs_max = layout.size() + 1;
  std::vector<int32_t> bleu(pairs_max * regen::kBleuStats + 1);
  const long nb = regen::bleu_chunk_stats(text.data(), text.size(), layout.data(), layout.size(), flags & 1, bleu.data(), bleu.size());
  check(nb >= -1 && static_cast<size_t>(nb + 1) <= pairs_max + 1, "bleu pair count");
  for (long p = 0; p < nb; p++) {
    const int32_t* s = &bleu[p * regen::kBleuStats];
    for (int n = 0; n < regen::kBleuMaxOrder; n++) check(s[2 + n] >= 0 && s[2 + n] <= s[2 + regen::kBleuMaxOrder + n], "bleu matches <= totals");
  }
  const int32_t all_types[] = {1, 2, 4, 0, -1};
  const int n_types = 1 + (flags >> 1) % 5;
  std::vector<int32_t> rouge(pairs_max * regen::kRougeStats * n_types + 1);
  const long nr = regen::rouge_chunk_stats(text.data(), text.size(), layout.data(), layout.size(), all_types + (5 - n_types), n_types,
                                           flags & 0x10, rouge.data(), rouge.size());
  check(nr == nb || nr == -1 || nb == -1, "bleu and rouge agree on the layout");
  for (long p = 0; p < nr; p++)
    for (int t = 0; t < n_types; t++) {
      const int32_t* s = &rouge[(p * n_types + t) * regen::kRougeStats];
      check(s[0] >= 0 && s[0] <= s[1] && s[0] <= s[2], "rouge matches <= both counts");
    }
  return 0;
}
