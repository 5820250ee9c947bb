// The fused full-catalogue cross-entropy: the loss of a softmax over every item, and its
// gradients with respect to the queries, the items and the bias, without the rows x items score
// matrix (Cut Cross-Entropy's idea: log-sum-exp first, then recompute score tiles in the backward).
//
// For each row b with a target t_b >= 0:
//   s_bi  = dot(q_b, e_i) (+ bias_i), the engine's scores (regen/search.h)
//   logZ_b = log sum_{i not excluded for b} exp(s_bi)
//   loss_b = logZ_b - s_{b,t_b}
// and the gradients are those of sum_b w_b loss_b, with G_bi = w_b (p_bi - [i = t_b]),
// p_bi = exp(s_bi - logZ_b) (0 for excluded items):
//   dQ_b = sum_i G_bi e_i,   dE_i += sum_b G_bi q_b,   dBias_i += sum_b G_bi.
//
// Pass 1 is search() itself (k = 1, with the targets) over the rows that have a target, in order:
// loss_b is bit for bit -target_log_prob of that search. Pass 2 recomputes the score tiles and
// accumulates the gradients; its order of summation is fixed (items in fixed units, row blocks in
// order), so results are bit-identical for any thread count.
//
// Special rows:
//   - target -1: ignored; loss 0 and no gradient.
//   - weight 0: its loss is returned; it contributes no gradient.
//   - excluded target (or any loss of +Infinity): loss +Infinity, and no gradient (the loss is
//     +Infinity in a whole neighbourhood of the inputs).
//   - NaN loss (a NaN score among the row's items, or an infinite logZ with an infinite target):
//     dQ_b is NaN and every item the row does not exclude gets NaN in dE and dBias.
// Gradients are the products G E and G^T Q in IEEE arithmetic over the rows that contribute: a
// non-finite item value can give NaN where its G is 0 (0 x Infinity), as an unfused computation would.
#pragma once

#include <cstddef>
#include <cstdint>

#include "regen/search.h"

namespace regen {

// Preconditions (checked by the caller): rows >= 0; targets holds rows values in [-1, count);
// exclude_offsets, when given, rows + 1 non-decreasing offsets into exclude_ids, every id in
// [0, count); bias, when given, count values; row_weights, when given, rows finite values.
struct XentRequest {
  const float* queries = nullptr;            // rows x dim, row-major
  int64_t rows = 0;
  const int32_t* targets = nullptr;          // rows: item id, or -1 (row ignored)
  const int32_t* exclude_offsets = nullptr;  // rows + 1, or null
  const int32_t* exclude_ids = nullptr;      // duplicates allowed
  const float* bias = nullptr;               // count, or null
  const float* row_weights = nullptr;        // rows, or null (every weight 1)
};

// Caller-owned outputs. loss and grad_queries are written; grad_items and grad_bias, when given,
// are ACCUMULATED into (+=). Leaving both null skips their work (a quarter of the arithmetic).
struct XentResult {
  float* loss = nullptr;          // rows
  float* grad_queries = nullptr;  // rows x dim
  float* grad_items = nullptr;    // count x dim, or null
  float* grad_bias = nullptr;     // count, or null
  // Write grad_items and grad_bias (=) instead of adding to them: they may hold garbage on entry
  // (each thread zeroes the items it owns before it adds, so fresh memory is first touched in parallel).
  bool assign_grads = false;
};

struct XentStats {
  // The largest scratch memory the call held at once (bytes), beside its inputs and outputs.
  int64_t scratch_bytes = 0;
};

XentStats cross_entropy(const ItemMatrix& items, const XentRequest& request, const XentResult& result,
                        const SearchConfig& config);

// The fp32 FMA throughput of `threads` threads running independent chains on the isa's widest
// registers for about `seconds` (bf16: AVX512-BF16 dot products, 4 flops per lane): the hardware
// ceiling the cross-entropy benchmark compares against. wall_gflops: over the slowest thread's
// elapsed time; cpu_gflops: over its CPU time, i.e. what the threads reach with their cores to
// themselves (on a machine shared with other work the two differ).
struct FmaPeak {
  double wall_gflops = 0.0;
  double cpu_gflops = 0.0;
};
FmaPeak fma_peak(Isa isa, Precision precision, int threads, double seconds);

// The memory read bandwidth of `threads` threads summing a `bytes` buffer (much larger than the
// last-level cache) over and over for about `seconds`: the floor of a scan that must stream its
// whole item table (small batches). GB/s over elapsed time and over CPU time, as FmaPeak.
struct ReadBandwidth {
  double wall_gbps = 0.0;
  double cpu_gbps = 0.0;
};
ReadBandwidth read_bandwidth(int threads, size_t bytes, double seconds);

}  // namespace regen
