// BLEU segment statistics (sacrebleu 2.x: 13a or no tokenization, 4-grams) for a chunk of
// hypothesis/reference pairs given as UTF-16 code units. Plain C++: no N-API here.
#pragma once

#include <cstddef>
#include <cstdint>

namespace regen {

constexpr int kBleuMaxOrder = 4;
constexpr int kBleuStats = 2 + 2 * kBleuMaxOrder;  // sys_len, ref_len, correct_1..4, total_1..4

// text holds every text of the chunk back to back; layout holds per pair
// [nrefs, hypothesis length, reference lengths...] (lengths in code units). Writes kBleuStats
// values per pair to out (room for out_capacity values). Returns the number of pairs, or -1 when
// the layout does not fit the text or out is too small. Lower-casing, when wanted, is done by the
// caller (it needs Python's Unicode case tables).
long bleu_chunk_stats(const char16_t* text, size_t text_length, const int32_t* layout, size_t layout_length,
                      bool tokenize_13a, int32_t* out, size_t out_capacity);

}  // namespace regen
