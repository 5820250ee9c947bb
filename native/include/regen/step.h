// One step of batched dual-vocabulary decoding (LUMEN): every row's hidden state is scored against
// the table its mode names (the text head, or the item table) in the scoring engine's fused pass
// (softmax statistics and top-k in one streaming pass, per-row exclusion), and one token is chosen
// per row: greedy, or sampled with temperature, top-k and top-p.
//
// Sampling is Gumbel-max: token = argmax over the allowed tokens of score / T + G, with G a
// standard Gumbel variable from a counter-based hash of (seed, stream, step, token). A row's draw
// therefore depends only on its own scores and (seed, stream, step): not on the batch it is in,
// the thread count or the order of rows. Without top-k and top-p every token is allowed; the pass
// keeps the best `candidates` tokens and the rest of the vocabulary (the tail) is drawn exactly
// and lazily: a tail token can only win if its Gumbel variable exceeds gamma = (best key among
// the candidates) - (lowest candidate score) / T, so the tail tokens whose variable does are
// chosen by geometric skips with probability P(G > gamma), given a variable drawn above gamma,
// and scored one by one (score_items). The result has exactly the distribution softmax(score / T).
//
// Plain C++ over raw pointers: callers validate their inputs (see the preconditions below).
#pragma once

#include <cstdint>

#include "regen/search.h"

namespace regen {

struct SamplingConfig {
  // 0: greedy (the best token; ties to the lower id). Otherwise > 0 and finite.
  float temperature = 0.0f;
  // Sampling only: keep the top_k best tokens (0: no limit) ...
  int32_t top_k = 0;
  // ... then the smallest best-first prefix whose probability (renormalised over the top_k kept,
  // as Hugging Face's warpers do) reaches top_p (1: no limit); in (0, 1].
  float top_p = 1.0f;
  uint64_t seed = 0;
  // Sampling without top_k: tokens kept from the fused pass before the tail draw (>= 1). More
  // candidates make tail draws rarer for flat distributions; the result is exact either way.
  int32_t candidates = 64;
};

// Preconditions (checked by the caller): rows >= 0; dim matches every table's; every table[r] in
// [0, table_count); k >= 1; exclude_offsets, when given, rows + 1 non-decreasing offsets into
// exclude_ids, every id valid for the row's table.
struct StepRequest {
  const float* hidden = nullptr;             // rows x dim, row-major
  int64_t rows = 0;
  const int32_t* table = nullptr;            // rows: the table that scores each row (its mode)
  int32_t k = 1;                             // best tokens returned per row
  const int32_t* exclude_offsets = nullptr;  // rows + 1, or null: ids never chosen for the row
  const int32_t* exclude_ids = nullptr;
  const uint32_t* streams = nullptr;         // rows: the row's random stream (e.g. its example), or null: 0
  const uint32_t* steps = nullptr;           // rows: the step within the stream, or null: 0
  SamplingConfig sampling;
};

// Caller-owned outputs, rows entries each (ids and scores: rows x k, padded with -1 / -Infinity).
struct StepResult {
  int32_t* token = nullptr;   // the chosen id in the row's table; -1 when every token is excluded
  float* log_prob = nullptr;  // log-probability of the token under softmax(score / T) over the
                              // non-excluded tokens of the whole table (T = 1 when greedy)
  float* log_z = nullptr;     // log sum exp(score / T) over the non-excluded tokens
  int32_t* ids = nullptr;     // the k best tokens by score, best first (as search())
  float* scores = nullptr;
};

// What a step needs of a table: its size, the fused search, and the exact scores of a few listed
// tokens (the tail draw), each bit-identical to the search's. The CPU engine (below) and the CUDA
// backend (regen/search_cuda.h) provide one.
class StepTable {
 public:
  virtual ~StepTable() = default;
  virtual int64_t count() const = 0;
  virtual int32_t dim() const = 0;
  virtual void search(const SearchRequest& request, const SearchResult& result) const = 0;
  virtual void score_items(const float* query, const int32_t* ids, int64_t n, float* out) const = 0;
};

// tables[t] scores the rows whose table[r] == t; all tables have the same dim.
void decode_step(const StepTable* const* tables, int32_t table_count, const StepRequest& request,
                 const StepResult& result);

// The same on the CPU engine's tables, searched with `config`.
void decode_step(const ItemMatrix* const* tables, int32_t table_count, const StepRequest& request,
                 const StepResult& result, const SearchConfig& config);

}  // namespace regen
