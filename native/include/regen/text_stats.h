// BLEU segment statistics (sacrebleu 2.x: 13a or no tokenization, 4-grams) for a chunk of
// hypothesis/reference pairs given as UTF-16 code units. Plain C++: no N-API here.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

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

namespace regen {

constexpr int kRougeStats = 3;  // matches, prediction count, target count

// rouge-score 0.1.2 statistics for a chunk laid out as for bleu_chunk_stats. types[k] is n for
// rougeN (1..9), 0 for rougeL, -1 for rougeLsum; stem applies NLTK's Porter stemmer to tokens
// longer than 3 characters. With several references, per type the one with the highest
// F-measure (the first on ties), as score_multi. Writes 3 * n_types values per pair. Returns the
// number of pairs, or -1 when the layout does not fit the text or out is too small.
long rouge_chunk_stats(const char16_t* text, size_t text_length, const int32_t* layout, size_t layout_length,
                       const int32_t* types, int n_types, bool stem, int32_t* out, size_t out_capacity);

// NLTK PorterStemmer().stem(word) (NLTK_EXTENSIONS) for a lower-case ASCII word.
std::string porter_stem(const std::string& word);

}  // namespace regen
