// Internal contract between the search driver (search.cpp) and the per-ISA scan kernels
// (isa_*.cpp). Plain structs over raw pointers: the ISA files are compiled for instruction sets
// the host may lack, so they must not share inline library code with the rest of the binary.
#pragma once

#include <cstdint>
#include <type_traits>

#include "regen/search.h"

namespace regen::detail {

// One history exclusion inside a row block: the item and the row's position in the block.
struct Exclusion {
  int32_t item;
  int32_t slot;
};

// Per-row top-k kept by one thread, `stride` entries per row, sizes[row] of them kept. Either a
// min-heap whose root is the worst kept item (lowest score; among equal scores, the highest id),
// stride k; or, where the kernel offers it (ScanKernel::sorted_topk) and k <= 16, a sorted list of
// 16 entries, best first, stride 16, empty entries (-Infinity, INT32_MAX): inserting into it takes
// no data-dependent branch (see offer_candidates in scan_kernel.inl).
struct TopKHeaps {
  float* scores;   // rows_padded x stride
  int32_t* ids;    // rows_padded x stride
  int32_t* sizes;  // rows_padded
  int32_t k;
  int32_t stride;
  bool sorted;
};

// Offers (score, id) to a row's heap (not a sorted list); returns the row's new admission
// threshold: the root's score once the heap is full, -Infinity before. Defined out of line in
// search.cpp (the rare path).
float topk_offer(TopKHeaps& heaps, int64_t row, float score, int32_t id);

// One batch of query rows, laid out for the kernels; read-only while threads scan.
struct ScanBatch {
  const float* items;   // Fp32 tables: count x dim, row-major
  const uint16_t* items_bf16;  // Bf16 tables: count x (2 * pairs), row-major
  int64_t count;
  int32_t dim;
  int32_t pairs;        // Bf16: dimensions taken two at a time (dim rounded up to even, over 2)
  const float* bias;    // count values, or null
  float lse_scale;      // log2(e) / temperature: the log-sum-exp is over score / temperature
  bool skip_lse;        // a ranking-only search: no log-sum-exp (its exp2 per score is a third of a
                        // d = 64 score's cost); logZ comes back NaN
  // Queries packed per block of `block_rows` rows: block b, dimension j, row slot s is at
  // packed_queries[(b * dim + j) * block_rows + s]; padding slots are zero.
  const float* packed_queries;
  // Bf16: block b, dimension pair p, slot s holds two bfloat16 at
  // packed_queries_bf16[((b * pairs + p) * block_rows + s) * 2 + {0, 1}].
  const uint16_t* packed_queries_bf16;
  int32_t block_rows;
  int64_t row_blocks;
  int64_t rows;                   // live rows; slots at or beyond are padding
  const float* target_score;      // rows_padded: +Infinity where there is no target
  const float* target_score_below;  // rows_padded: the next float below target_score
  const int32_t* target_id;       // rows_padded: -1 where there is no target
  const Exclusion* exclusions;    // per row block, sorted by (item, slot), no duplicates
  const int64_t* exclusion_offsets;  // row_blocks + 1
  int64_t chunk_items;            // items scanned per row block before moving to the next block
  const uint32_t* items_blocked;  // the blocked kernels: ItemMatrix::blocked()
};

// What one thread accumulates. shift/sum/pos_inf are the online log-sum-exp of the current unit,
// in base 2: sum = sum over scanned items of 2^(score log2(e) - shift), and pos_inf is set when a
// score is +Infinity.
struct ScanState {
  TopKHeaps heaps;
  float* threshold;       // rows_padded
  int32_t* rank_count;    // rows_padded: items that beat the target so far
  float* shift;           // rows_padded
  float* sum;             // rows_padded
  int32_t* pos_inf;       // rows_padded
  int64_t* exclusion_cursor;  // row_blocks: next exclusion to meet in the current unit
  int64_t block_begin;        // the row blocks [block_begin, block_end) of the current work item
  int64_t block_end;          // (block kernels; the lane kernels scan their rows whole)
};

// Scans items [begin, end) for the rows of the state's row blocks [block_begin, block_end) (the
// lane kernels: every row), updating state.
using ScanFn = void (*)(const ScanBatch& batch, ScanState& state, int64_t begin, int64_t end);
// The score of one (row slot, item) pair, bit-identical to what the scan computes for it.
using ScoreFn = float (*)(const ScanBatch& batch, int64_t slot, int64_t item);
// The scores of one row slot against n listed items, each bit-identical to ScoreFn's.
using ScoreListFn = void (*)(const ScanBatch& batch, int64_t slot, const int32_t* ids, int64_t n, float* out);

struct ScanKernel {
  ScanFn scan;
  ScoreFn score;
  int32_t block_rows;
  int32_t tile_items;
  ScoreListFn score_list;
  bool sorted_topk;  // can keep top-k as sorted lists (TopKHeaps::sorted) when k <= 16
  // Two items per vector: one block of at most block_rows / 2 rows, each packed twice (slots r and
  // r + block_rows / 2); slot r scores the even items, slot r + block_rows / 2 the odd ones, and an
  // exclusion of item x goes to slot r + (x odd ? block_rows / 2 : 0). search.cpp merges the two.
  bool paired = false;
  bool lanes = false;  // items in lanes (scan_lanes.inl): block_rows = 1, one vector per row
  bool blocked = false;  // items in lanes from the blocked copy (scan_blocked.inl); lanes is set too
};

// Picks the register tiling for the number of rows (fewer rows: a narrower block).
ScanKernel scan_kernel_scalar(int64_t rows);
ScanKernel scan_kernel_avx2(int64_t rows);
ScanKernel scan_kernel_avx512(int64_t rows);
ScanKernel scan_kernel_avx512_paired(int64_t rows);  // at most 8 rows, two items per vector
ScanKernel scan_kernel_avx512_lanes(int64_t rows);  // at most 8 rows, items in lanes
ScanKernel scan_kernel_avx512_bf16(int64_t rows, bool lanes);  // lanes: at most 8 rows, items in lanes
ScanKernel scan_kernel_avx512_blocked(int64_t rows);       // at most 8 rows, from ItemMatrix::blocked()
ScanKernel scan_kernel_avx512_bf16_blocked(int64_t rows);  // the same, bf16

// The Fp32 score every Fp32 kernel computes: fused multiply-adds in dimension order from 0, then
// the bias when there is one (IEEE FMA rounds identically in every instruction set).
float fp32_score(const ScanBatch& batch, int64_t slot, int64_t item);

}  // namespace regen::detail
