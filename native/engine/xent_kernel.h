// Internal contract between the cross-entropy driver (xent.cpp) and its per-ISA backward kernels
// (xent_kernel.inl, included by each isa_*.cpp). Plain structs over raw pointers, as scan.h.
#pragma once

#include <cstdint>

#include "scan.h"

namespace regen::detail {

// One batch of the rows that take part in the backward pass, laid out for the kernels.
struct XentBatch {
  // Items, packed queries, bias, row blocks, live rows, per-block exclusions and chunk size, as
  // for the scan (the target fields are unused).
  ScanBatch scan;
  // Row-major queries for dE: rows_padded x q_stride floats (bf16 tables: the bf16-rounded
  // values), zero past dim and on padding rows. q_stride is dim rounded up to the kernel's lanes.
  const float* q_rows;
  // Kernels with pairs (bf16 gradient products): the same, as bfloat16 pairs of rows (2p, 2p + 1)
  // per dimension: (rows_padded / 2) x q_stride 32-bit values, instead of q_rows.
  const uint32_t* q_pairs;
  int32_t q_stride;
  const float* log_z;     // rows_padded: the row's logZ; NaN makes the row's gradient NaN
  const float* weight;    // rows_padded: w_b (0 on padding)
  const int32_t* target;  // rows_padded: t_b (-1 on padding)
  bool want_items;        // accumulate dE (grad_items) and dBias (grad_bias)
};

// What one thread writes for the unit it is on.
struct XentState {
  float* dq;                  // row_blocks x dim x block_rows: the unit's dQ partial, lane layout
  float* g;                   // 2 x tile_items x block_rows: the current tile's G, as the kernel lays it out
  float* gt;                  // tile_items x rows_padded: the tile's G over the whole batch, for dE
  float* e_f32;               // bf16 tables: tile_items x dim values (the tile's items, decoded or paired)
  int64_t* exclusion_cursor;  // row_blocks: next exclusion to meet
};

// Items [begin, end) against every row of the batch: adds G E to state.dq and, with want_items,
// G^T Q to grad_items (count x dim) and column sums of G to grad_bias (count, or null).
using XentFn = void (*)(const XentBatch& batch, XentState& state, int64_t begin, int64_t end, float* grad_items,
                        float* grad_bias);

struct XentKernel {
  XentFn run;
  int32_t block_rows;
  int32_t tile_items;
  int32_t lanes;  // q_stride must be a multiple of this
  bool pairs;     // dE reads q_pairs (bf16 products) instead of q_rows
};

XentKernel xent_kernel_scalar(int64_t rows);
XentKernel xent_kernel_avx2(int64_t rows);
XentKernel xent_kernel_avx512(int64_t rows);
XentKernel xent_kernel_avx512_bf16(int64_t rows);

// Independent FMA chains for about `iterations` rounds (fma_peak_gflops's loop); returns a value
// the caller keeps so the work is not optimised away. flops_per_round: flops one round does.
float fma_loop_scalar(int64_t iterations, double* flops_per_round);
float fma_loop_avx2(int64_t iterations, double* flops_per_round);
float fma_loop_avx512(int64_t iterations, double* flops_per_round);
float fma_loop_avx512_bf16(int64_t iterations, double* flops_per_round);

}  // namespace regen::detail
