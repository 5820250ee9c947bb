// Fuzzy title matching, the hot loop of answers by title: for each query (a set of trigram ranks),
// every catalogue title whose trigram set has a Dice coefficient 2 |A ∩ B| / (|A| + |B|) of at least
// `floor` with it. Plain C++: no N-API here.
#pragma once

#include <cstdint>

namespace regen {

// The catalogue: per title its distinct trigram ranks in ascending order (CSR: title_offsets has
// titles + 1 entries), and per trigram rank the titles holding it in ascending order (CSR:
// post_offsets has grams + 1 entries). Ranks order trigrams by document frequency, rarest first.
struct DiceIndex {
  int32_t titles;
  const int32_t* title_offsets;
  const int32_t* title_grams;
  int32_t grams;
  const int32_t* post_offsets;
  const int32_t* post_titles;
};

// Queries: CSR of their known trigram ranks in ascending order (query_offsets has queries + 1
// entries) and per query its size |A| (known plus trigrams no title has). Per query, among the titles
// scoring at least `floor`, the best and every title within `margin` of it (what deciding between a
// match and an ambiguous answer needs): at most max_matches of them written to out_titles /
// out_scores at query * max_matches, best first (ties to the lower title); out_counts[query] is how
// many there are (it may exceed max_matches). Exact: a count filter over the query's rarest trigrams
// keeps every title that can reach a floor, and each is scored in full. Deterministic for any thread
// count.
void dice_search(const DiceIndex& index, const int32_t* query_offsets, const int32_t* query_grams, const int32_t* query_sizes,
                 int32_t queries, double floor, double margin, int32_t max_matches, int32_t* out_titles, double* out_scores,
                 int32_t* out_counts, int threads);

}  // namespace regen
