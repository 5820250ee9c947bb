#include "regen/dice_search.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <utility>
#include <vector>

#include "common/thread_pool.h"

namespace regen {
namespace {

// Trigrams beyond the |A| - o + 1 that prefix filtering needs, probed so that a candidate must hold
// at least kExtra + 1 of them: more probing (sequential reads), far fewer titles to score (random
// reads of their trigrams). 10 measured best on the Office-scale synthetic catalogue, whose titles
// share most of their words (3: 3x slower, 30: 2x slower).
constexpr int32_t kExtra = 10;
// A first, cheaper search at this floor settles most answers that are close to a title (typos):
// when its best scores at least kFirstFloor + margin, every title within the margin of it is there.
constexpr double kFirstFloor = 0.9;

struct Scratch {
  std::vector<int32_t> counts;     // per title: probed trigrams it holds
  std::vector<int32_t> touched;    // titles with a count
  std::vector<uint64_t> bits;      // the query's trigram ranks as a bitset
  std::vector<std::pair<double, int32_t>> found;
};

void search_one(const DiceIndex& ix, const int32_t* grams, int32_t known, int32_t size, double floor, Scratch& s,
                std::vector<std::pair<double, int32_t>>& found) {
  found.clear();
  if (size <= 0 || known <= 0) return;
  const int32_t unknown = size - known;
  // Any title B at the floor shares at least ceil(floor |A| / (2 - floor)) trigrams with A.
  const int32_t min_overlap = static_cast<int32_t>(std::ceil(floor * size / (2.0 - floor) - 1e-9));
  if (min_overlap > known) return;
  // Of A's unknown trigrams and its `probe` rarest known ones, at most |A| - min_overlap are missing
  // from such a B: it holds at least `need` of the probed ones.
  const int32_t probe = std::min(known, size - min_overlap + kExtra - unknown);
  const int32_t need = std::max(1, unknown + probe - (size - min_overlap));
  int32_t n_touched = 0;
  for (int32_t q = 0; q < probe; ++q) {
    const int32_t g = grams[q];
    for (int32_t p = ix.post_offsets[g]; p < ix.post_offsets[g + 1]; ++p) {
      const int32_t t = ix.post_titles[p];
      // Branch-free: the title is appended always and kept only on its first count.
      s.touched[static_cast<size_t>(n_touched)] = t;
      n_touched += s.counts[static_cast<size_t>(t)]++ == 0;
    }
  }
  for (int32_t q = 0; q < known; ++q) s.bits[static_cast<size_t>(grams[q]) >> 6] |= uint64_t{1} << (grams[q] & 63);
  const double min_len = floor * size / (2.0 - floor) - 1e-9;
  const double max_len = (2.0 - floor) * size / floor + 1e-9;
  // Every trigram of A up to the last probed rank was probed: a title's trigrams up to that rank that
  // the count does not cover are certainly missing from A, which bounds the title before scoring it.
  const int32_t last = grams[probe - 1];
  for (int32_t k = 0; k < n_touched; ++k) {
    const int32_t t = s.touched[static_cast<size_t>(k)];
    const int32_t count = s.counts[static_cast<size_t>(t)];
    s.counts[static_cast<size_t>(t)] = 0;
    if (count < need) continue;
    const int32_t b0 = ix.title_offsets[t];
    const int32_t b1 = ix.title_offsets[t + 1];
    const int32_t b = b1 - b0;
    if (b < min_len || b > max_len) continue;
    const double allowed = b - floor * (size + b) / 2.0 + 1e-9;  // misses of B's trigrams the floor allows
    const int32_t settled = static_cast<int32_t>(std::upper_bound(ix.title_grams + b0, ix.title_grams + b1, last) - (ix.title_grams + b0));
    int32_t misses = settled - count;
    if (misses > allowed) continue;
    int32_t overlap = count;
    for (int32_t j = b0 + settled; j < b1; ++j) {
      const int32_t x = ix.title_grams[j];
      if ((s.bits[static_cast<size_t>(x) >> 6] >> (x & 63)) & 1) ++overlap;
      else if (++misses > allowed) break;
    }
    if (misses > allowed) continue;
    const double dice = 2.0 * overlap / (size + b);
    if (dice >= floor) found.emplace_back(dice, t);
  }
  for (int32_t q = 0; q < known; ++q) s.bits[static_cast<size_t>(grams[q]) >> 6] = 0;
  std::sort(found.begin(), found.end(), [](const auto& a, const auto& b) { return a.first > b.first || (a.first == b.first && a.second < b.second); });
}

}  // namespace

void dice_search(const DiceIndex& index, const int32_t* query_offsets, const int32_t* query_grams, const int32_t* query_sizes,
                 int32_t queries, double floor, double margin, int32_t max_matches, int32_t* out_titles, double* out_scores,
                 int32_t* out_counts, int threads) {
  std::atomic<int32_t> next{0};
  constexpr int32_t kBlock = 64;
  detail::run_parallel(std::max(1, std::min(threads, (queries + kBlock - 1) / kBlock)), [&](int) {
    Scratch s;
    s.counts.assign(static_cast<size_t>(index.titles), 0);
    s.bits.assign(static_cast<size_t>(index.grams) / 64 + 1, 0);
    s.touched.assign(static_cast<size_t>(index.titles) + 1, 0);
    std::vector<std::pair<double, int32_t>> found;
    for (int32_t q0; (q0 = next.fetch_add(kBlock, std::memory_order_relaxed)) < queries;) {
      for (int32_t q = q0; q < std::min(queries, q0 + kBlock); ++q) {
        const int32_t begin = query_offsets[q];
        const int32_t known = query_offsets[q + 1] - begin;
        found.clear();
        if (floor < kFirstFloor) {
          search_one(index, query_grams + begin, known, query_sizes[q], kFirstFloor, s, found);
          if (found.empty() || found[0].first - margin < kFirstFloor) found.clear();
        }
        if (found.empty()) search_one(index, query_grams + begin, known, query_sizes[q], floor, s, found);
        // The best and the titles within the margin of it: what the decision reads.
        size_t keep = 0;
        while (keep < found.size() && found[0].first - found[keep].first <= margin + 1e-12) ++keep;
        out_counts[q] = static_cast<int32_t>(keep);
        const int64_t at = static_cast<int64_t>(q) * max_matches;
        for (int32_t j = 0; j < max_matches; ++j) {
          const bool has = static_cast<size_t>(j) < keep;
          out_titles[at + j] = has ? found[static_cast<size_t>(j)].second : -1;
          out_scores[at + j] = has ? found[static_cast<size_t>(j)].first : 0.0;
        }
      }
    }
  });
}

}  // namespace regen
