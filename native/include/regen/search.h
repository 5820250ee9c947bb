// The fused scoring engine: one streaming pass over an item table per batch of queries.
//
// For each query row b it computes scores s[b][n] = dot(q_b, e_n) (+ bias[n]) for every item n
// and, without ever storing the rows x items score matrix, returns
//   - the top-k items (score descending, ties broken by the lower item id),
//   - logZ = log sum_n exp(s[b][n]) over the items not excluded for that row,
//   - the target's rank: the number of non-excluded items that beat the target
//     (a higher score, or an equal score and a lower id).
//
// Plain C++ over raw pointers: callers validate their inputs (see the preconditions below).
#pragma once

#include <cstdint>
#include <memory>

#include "regen/cpu_features.h"

namespace regen {

// Kernel variants chosen at run time. Every variant computes bit-identical scores, ids and ranks:
// each score is the same sequence of fused multiply-adds over the dimensions, in order.
enum class Isa : int { Scalar = 0, Avx2 = 1, Avx512 = 2 };

const char* isa_name(Isa isa);
bool isa_supported(Isa isa, const CpuFeatures& features);

// How scores are computed. Fp32: float32 inputs, one FMA per dimension. Bf16: queries and items
// rounded to bfloat16 (round to nearest even), products exact, summed in float32 two dimensions
// per AVX512-BF16 dot-product instruction; twice the arithmetic rate and half the table memory.
enum class Precision : int { Fp32 = 0, Bf16 = 1 };

const char* precision_name(Precision precision);
// Bf16 runs on the AVX-512 kernel of CPUs with AVX512-BF16; Fp32 on every kernel.
bool precision_supported(Precision precision, Isa isa, const CpuFeatures& features);

// float32 -> bfloat16, round to nearest even (as VCVTNEPS2BF16); NaN stays a (quiet) NaN.
uint16_t to_bf16(float x);

// The item table the engine owns (copied in once): row-major count x dim float32, or for Bf16
// row-major count x padded_dim() bfloat16 (dim rounded up to even, zero padded).
class ItemMatrix {
 public:
  ItemMatrix(const float* items, int64_t count, int32_t dim, Precision precision = Precision::Fp32);
  ~ItemMatrix();
  ItemMatrix(ItemMatrix&&) noexcept;
  ItemMatrix& operator=(ItemMatrix&&) noexcept;
  // Overwrites every item with new values (count x dim float32, converted as the constructor does)
  // and drops the blocked copy. The caller makes sure nothing reads the table meanwhile.
  void assign(const float* items);
  // The table again in blocks of 16 items, for the small-batch kernel that keeps items in lanes
  // (SmallBatchKernel::Blocked): value j of items 16 b .. 16 b + 15 side by side at
  // [(b * row_values() + j) * 16 + lane], a value being a float32 (Fp32) or a dimension pair of
  // bfloat16 (Bf16, the row's 32-bit words); items past count are zero. Built by the first search
  // that asks for it, on that search's threads (one build at a time; later calls wait for it), kept
  // until assign(): the table's memory twice over from then on.
  const uint32_t* blocked(int threads = 1) const;
  // 32-bit values per item row: dim (Fp32) or padded_dim() / 2 (Bf16).
  int32_t row_values() const { return precision_ == Precision::Bf16 ? padded_dim() / 2 : dim_; }
  Precision precision() const { return precision_; }
  const float* data() const { return static_cast<const float*>(data_.get()); }
  const uint16_t* data_bf16() const { return static_cast<const uint16_t*>(data_.get()); }
  int64_t count() const { return count_; }
  int32_t dim() const { return dim_; }
  int32_t padded_dim() const { return precision_ == Precision::Bf16 ? dim_ + (dim_ & 1) : dim_; }
  int64_t bytes() const;

 private:
  struct FreeAligned { void operator()(void* p) const; };
  struct Blocked;  // the blocked copy and its lock (search.cpp)
  std::unique_ptr<void, FreeAligned> data_;
  std::unique_ptr<Blocked> blocked_;
  int64_t count_;
  int32_t dim_;
  Precision precision_;
};

// Preconditions (checked by the caller): rows >= 0; k >= 1; exclude_offsets, when given, holds
// rows + 1 non-decreasing values indexing exclude_ids; every id in [0, count); every target in
// [0, count) or -1; bias, when given, holds count values.
struct SearchRequest {
  const float* queries = nullptr;          // rows x dim, row-major
  int64_t rows = 0;
  int32_t k = 1;
  const int32_t* exclude_offsets = nullptr;  // rows + 1 offsets into exclude_ids, or null
  const int32_t* exclude_ids = nullptr;      // duplicates allowed
  const int32_t* targets = nullptr;          // rows ids, -1 for none; or null
  const float* bias = nullptr;               // count values, or null
  // logZ (and target_log_prob) are those of softmax(score / temperature); > 0. Scores, ids and
  // ranks do not depend on it. 1 gives the plain softmax, bit for bit as before it existed.
  float temperature = 1.0f;
  // false: a ranking-only search (ids, scores, ranks) without the log-sum-exp: log_z and
  // target_log_prob come back NaN (for a target that is given and not excluded). Ids, scores and
  // ranks are the same bits either way.
  bool log_z = true;
};

// Caller-owned outputs. ids/scores: rows x k, padded with id -1 and score -Infinity when fewer
// than k items are candidates. target_rank/target_log_prob are written only when targets are given.
//
// Special values: a NaN score never enters the top-k and never beats the target; a NaN target
// score is beaten by every non-NaN item (the worst rank). logZ is NaN when any non-excluded score
// is NaN, +Infinity when one is +Infinity, and -Infinity when no item is left. target_rank is -1
// when the target is -1 or excluded; target_log_prob is NaN for no target and -Infinity for an
// excluded one (its probability among the remaining items is zero).
struct SearchResult {
  int32_t* ids = nullptr;
  float* scores = nullptr;
  float* log_z = nullptr;
  int32_t* target_rank = nullptr;
  float* target_log_prob = nullptr;
};

// The AVX-512 kernel of batches of at most 8 rows: items in lanes, transposed from the rows as they
// are read (Lanes); two items per 512-bit vector (Paired); or items in the lanes of 512-bit vectors
// read from the table's blocked copy (Blocked, ItemMatrix::blocked()). Auto picks Blocked. All give
// the same scores, ids and ranks; logZ agrees to float rounding.
enum class SmallBatchKernel { Auto, Lanes, Paired, Blocked };

struct SearchConfig {
  Isa isa = Isa::Scalar;
  int threads = 1;  // worker threads, including the calling thread
  SmallBatchKernel small_batch = SmallBatchKernel::Auto;
};

void search(const ItemMatrix& items, const SearchRequest& request, const SearchResult& result,
            const SearchConfig& config);

// The kind of scan kernel search() runs on a batch of `rows` rows of a table of dimension `dim`:
// "lanes" (items in lanes), "paired" (two items per 512-bit vector), "blocked" (items in lanes, from
// the blocked copy) or "rows" (rows in lanes). For tests and benchmarks. (dim no longer changes the
// choice; it stays in the signature for the callers that pass it.)
const char* scan_kernel_kind(Isa isa, Precision precision, int64_t rows, int64_t dim, SmallBatchKernel small_batch);

// The scores of one query (dim values) against n listed items (ids in [0, count)), each
// bit-identical to the score search() computes for that pair with the same isa (+ bias[id] when
// bias is given). For the few items a caller needs beyond a search's top-k.
void score_items(const ItemMatrix& items, const float* query, const int32_t* ids, int64_t n, const float* bias,
                 float* out, Isa isa);

}  // namespace regen
