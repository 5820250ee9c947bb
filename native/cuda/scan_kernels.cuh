// The device side of the fused scan (host planning: search.cu). Included by search.cu only.
//
// One launch scans the item table for a chunk of query rows. Each block owns kRows query rows and
// one contiguous split of the items; per tile of kTileItems items it
//   1. computes the kRows x kTileItems scores into shared memory (float32 FMA chains, or bf16
//      tensor cores with float32 accumulation),
//   2. runs the epilogue over the tile, one warp per row: online log-sum-exp (base 2), the count
//      of items that beat the target, and the top-k threshold test; the few candidates that pass
//      are inserted into the row's sorted top-k list in shared memory.
// The rows x items score matrix never leaves the multiprocessor. A second kernel merges the
// per-split partials (log-sum-exp in float64, rank counts, top-k lists) one warp per row.
#pragma once

#include "cuda/cuda_common.cuh"

namespace regen::cuda {
namespace {


constexpr int kRows = 64;         // query rows per block
constexpr int kTileItems = 128;   // items per tile
constexpr int kChunkDims = 32;    // dimensions staged in shared memory at a time
constexpr int kThreads = 256;     // 8 warps
constexpr int kWarps = kThreads / 32;
constexpr int kRowsPerWarp = kRows / kWarps;
constexpr int kScoreStride = kTileItems + 4;  // floats per score-tile row (16-byte aligned rows)
constexpr int kHalfStride = kChunkDims + 8;   // bf16 per staged row (keeps wmma pointers 32-byte aligned)
constexpr int kSentinelId = INT_MAX;          // an empty top-k slot: (-Infinity, INT_MAX) beats nothing
constexpr float kLog2e = 1.44269504088896341f;
constexpr unsigned kNanBit = 1u << 30, kPosInfBit = 1u << 31, kCountMask = kNanBit - 1;  // scan state bits

// ---------------------------------------------------------------------------------------------
// Device helpers

__device__ __forceinline__ bool beats(float s, int id, float s2, int id2) {
  return s > s2 || (s == s2 && id < id2);
}

__device__ __forceinline__ float fast_exp2(float x) {
  float y;
  asm("ex2.approx.ftz.f32 %0, %1;" : "=f"(y) : "f"(x));
  return y;
}

// Inserts (s, id) into a sorted list of k entries (best first) in shared memory, cooperatively
// by one warp; a candidate that no longer beats the last entry is dropped. All lanes call it.
__device__ __noinline__ void warp_insert(float* ls, int* li, int k, float s, int id, int lane) {
  if (k <= 32) {  // one entry per lane: one read, one vote, one shuffle, one write
    const float es = lane < k ? ls[lane] : -INFINITY;
    const int ei = lane < k ? li[lane] : kSentinelId;
    const int pos = __popc(__ballot_sync(0xffffffffu, lane < k && beats(es, ei, s, id)));
    const float us = __shfl_up_sync(0xffffffffu, es, 1);
    const int ui = __shfl_up_sync(0xffffffffu, ei, 1);
    if (pos < k && lane >= pos && lane < k) {
      ls[lane] = lane == pos ? s : us;
      li[lane] = lane == pos ? id : ui;
    }
    __syncwarp();
    return;
  }
  int pos = 0;
  for (int base = 0; base < k; base += 32) {
    const int i = base + lane;
    const bool ahead = i < k && beats(ls[i], li[i], s, id);
    pos += __popc(__ballot_sync(0xffffffffu, ahead));
  }
  if (pos >= k) return;
  // Shift [pos, k - 1) one place down, highest window first: each window reads before it writes.
  for (int high = k - 1; high > pos; high -= 32) {
    const int i = high - lane;
    float vs = 0.0f;
    int vi = 0;
    const bool move = i > pos;
    if (move) {
      vs = ls[i - 1];
      vi = li[i - 1];
    }
    __syncwarp();
    if (move) {
      ls[i] = vs;
      li[i] = vi;
    }
    __syncwarp();
  }
  if (lane == 0) {
    ls[pos] = s;
    li[pos] = id;
  }
  __syncwarp();
}

// Fills an empty list from one tile row in one go: a warp bitonic sort of the row's 128 values
// (non-candidates as empty slots), best first, then the first min(k, 128) written out. Element
// e = 4 * lane + c holds item n0 + lane + 32c (any placement works: the order is by (score, id)).
__device__ __noinline__ void fill_empty_list(float* ls, int* li, int k, const float (&x)[kTileItems / 32],
                                             const bool (&cand)[kTileItems / 32], int n0, int lane) {
  constexpr int kPer = kTileItems / 32;
  float s[kPer];
  int id[kPer];
#pragma unroll
  for (int c = 0; c < kPer; ++c) {
    s[c] = cand[c] ? x[c] : -INFINITY;
    id[c] = cand[c] ? n0 + lane + 32 * c : kSentinelId;
  }
#pragma unroll
  for (int size = 2; size <= kTileItems; size *= 2) {
#pragma unroll
    for (int d = size / 2; d > 0; d /= 2) {
#pragma unroll
      for (int c = 0; c < kPer; ++c) {
        const int e = kPer * lane + c;
        float os;
        int oi;
        if (d < kPer) {  // partner in this lane
          os = s[c ^ d];
          oi = id[c ^ d];
        } else {
          os = __shfl_xor_sync(0xffffffffu, s[c], d / kPer);
          oi = __shfl_xor_sync(0xffffffffu, id[c], d / kPer);
        }
        const bool first = (e & d) == 0;               // the lower index of the pair
        const bool best_first = (e & size) == 0;       // this run is sorted best first
        const bool mine_better = beats(s[c], id[c], os, oi);
        const bool keep_mine = (first == best_first) == mine_better;
        // In-lane pairs: both elements update from the values before this step.
        if (d < kPer) {
          if (c < (c ^ d)) {
            if (!keep_mine) {
              s[c ^ d] = s[c];
              id[c ^ d] = id[c];
              s[c] = os;
              id[c] = oi;
            }
          }
        } else if (!keep_mine) {
          s[c] = os;
          id[c] = oi;
        }
      }
    }
  }
#pragma unroll
  for (int c = 0; c < kPer; ++c) {
    const int e = kPer * lane + c;
    if (e < k) {
      ls[e] = s[c];
      li[e] = id[c];
    }
  }
  __syncwarp();
}

// Inserts a tile row's candidates (lane l holds items n0 + l + 32c) one at a time, out of line:
// rare once the list is full. All lanes call it.
__device__ __noinline__ void insert_candidates(float* ls, int* li, int k, const float (&x)[kTileItems / 32],
                                               const bool (&cand)[kTileItems / 32], int n0, int lane) {
  if (li[0] == kSentinelId) {  // empty list (a split's first tile): sort the tile row instead
    fill_empty_list(ls, li, k, x, cand, n0, lane);
    return;
  }
#pragma unroll
  for (int c = 0; c < kTileItems / 32; ++c) {
    unsigned mask = __ballot_sync(0xffffffffu, cand[c]);
    while (mask) {
      const int src = __ffs(mask) - 1;
      mask &= mask - 1;
      warp_insert(ls, li, k, __shfl_sync(0xffffffffu, x[c], src), n0 + src + 32 * c, lane);
    }
  }
}

struct ScanParams {
  const float* items;               // count x dim (Fp32)
  const __nv_bfloat16* items_h;     // count x dpad (Bf16)
  int64_t count;
  int dim;
  int dpad;                         // Bf16 row length: dim rounded up to kChunkDims
  const float* queries;             // rows x dim (Fp32)
  const __nv_bfloat16* queries_h;   // rows_padded x dpad (Bf16)
  int rows;
  const float* bias;                // count, or null
  float scale;                      // log2(e) / temperature
  const int* ex_off;                // rows + 1, or null
  const int* ex_ids;                // sorted within each row
  const int* targets;               // rows, or null
  const float* target_score;        // rows (when targets)
  int k;
  int splits;
  int64_t split_items;              // a multiple of kTileItems
  float* p_shift;                   // splits x rows
  float* p_sum;
  int* p_flags;                     // bit 0: NaN seen, bit 1: +Infinity seen
  int* p_count;                     // items beating the target
  float* p_scores;                  // rows x splits x k
  int* p_ids;
};

// Dynamic shared memory of a scan block: the score tile (which the staged inputs share, in turn),
// the rows' top-k lists, this tile's exclusion bits, and per-row scalars.
constexpr size_t kScoreTileBytes = sizeof(float) * kRows * kScoreStride;
constexpr size_t kStageFp32Bytes = sizeof(float) * kChunkDims * ((kRows + 4) + (kTileItems + 4));
constexpr size_t kStageBf16Bytes = 2 * kHalfStride * (kRows + kTileItems);
constexpr size_t kTileBytes =
    ((kScoreTileBytes > kStageFp32Bytes ? (kScoreTileBytes > kStageBf16Bytes ? kScoreTileBytes : kStageBf16Bytes)
                                        : (kStageFp32Bytes > kStageBf16Bytes ? kStageFp32Bytes : kStageBf16Bytes)) +
     127) / 128 * 128;

struct SharedLayout {
  size_t lists_offset, masks_offset, rows_offset, total;
  __host__ __device__ explicit SharedLayout(int k) {
    lists_offset = kTileBytes;
    masks_offset = lists_offset + (sizeof(float) + sizeof(int)) * kRows * static_cast<size_t>(k);
    rows_offset = masks_offset + sizeof(unsigned) * kRows * (kTileItems / 32);
    total = rows_offset + sizeof(int) * kRows * 2;  // target id, target score
  }
};

// Fp32 tile: thread (ty, tx) owns rows ty*4..+4 and items tx*4..+4, 64+tx*4..+4; every score is
// fma(q_j, e_j, acc) over j = 0..dim-1 in order, from acc = 0 (the CPU kernels' chain).
__device__ void tile_scores_fp32(const ScanParams& p, unsigned char* smem, int row0, int64_t n0, float* S) {
  float* qs = reinterpret_cast<float*>(smem);          // kChunkDims x (kRows + 4)
  float* es = qs + kChunkDims * (kRows + 4);           // kChunkDims x (kTileItems + 4)
  const int tid = threadIdx.x, ty = tid / 16, tx = tid % 16;
  float acc[4][8];
#pragma unroll
  for (int r = 0; r < 4; ++r)
#pragma unroll
    for (int c = 0; c < 8; ++c) acc[r][c] = 0.0f;
  for (int j0 = 0; j0 < p.dim; j0 += kChunkDims) {
    const int width = min(kChunkDims, p.dim - j0);
#pragma unroll
    for (int i = 0; i < kRows * kChunkDims / kThreads; ++i) {
      const int idx = tid + i * kThreads, r = idx / kChunkDims, j = idx % kChunkDims;
      const int row = row0 + r;
      qs[j * (kRows + 4) + r] = (row < p.rows && j < width) ? p.queries[static_cast<int64_t>(row) * p.dim + j0 + j] : 0.0f;
    }
#pragma unroll
    for (int i = 0; i < kTileItems * kChunkDims / kThreads; ++i) {
      const int idx = tid + i * kThreads, n = idx / kChunkDims, j = idx % kChunkDims;
      const int64_t item = n0 + n;
      es[j * (kTileItems + 4) + n] = (item < p.count && j < width) ? p.items[item * p.dim + j0 + j] : 0.0f;
    }
    __syncthreads();
#pragma unroll 1
    for (int j = 0; j < width; ++j) {
      const float4 a = *reinterpret_cast<const float4*>(qs + j * (kRows + 4) + ty * 4);
      const float4 b0 = *reinterpret_cast<const float4*>(es + j * (kTileItems + 4) + tx * 4);
      const float4 b1 = *reinterpret_cast<const float4*>(es + j * (kTileItems + 4) + 64 + tx * 4);
      const float av[4] = {a.x, a.y, a.z, a.w};
      const float bv[8] = {b0.x, b0.y, b0.z, b0.w, b1.x, b1.y, b1.z, b1.w};
#pragma unroll
      for (int r = 0; r < 4; ++r)
#pragma unroll
        for (int c = 0; c < 8; ++c) acc[r][c] = __fmaf_rn(av[r], bv[c], acc[r][c]);
    }
    __syncthreads();
  }
  // The staging area is the score tile's memory: every thread is past the last read above.
#pragma unroll
  for (int r = 0; r < 4; ++r) {
    float* row = S + (ty * 4 + r) * kScoreStride;
    *reinterpret_cast<float4*>(row + tx * 4) = make_float4(acc[r][0], acc[r][1], acc[r][2], acc[r][3]);
    *reinterpret_cast<float4*>(row + 64 + tx * 4) = make_float4(acc[r][4], acc[r][5], acc[r][6], acc[r][7]);
  }
}

// Bf16 tile: warp w computes rows (w / 4) * 32..+32 x items (w % 4) * 32..+32 as 2 x 2 wmma
// 16x16x16 fragments, k-steps in order of the dimensions.
__device__ void tile_scores_bf16(const ScanParams& p, unsigned char* smem, int row0, int64_t n0, float* S) {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 800
  using namespace nvcuda;
  __nv_bfloat16* qh = reinterpret_cast<__nv_bfloat16*>(smem);  // kRows x kHalfStride
  __nv_bfloat16* eh = qh + kRows * kHalfStride;                 // kTileItems x kHalfStride
  const int tid = threadIdx.x, warp = tid / 32, wr = warp / 4, wc = warp % 4;
  wmma::fragment<wmma::accumulator, 16, 16, 16, float> acc[2][2];
#pragma unroll
  for (int i = 0; i < 2; ++i)
#pragma unroll
    for (int j = 0; j < 2; ++j) wmma::fill_fragment(acc[i][j], 0.0f);
  constexpr int kVecs = kChunkDims / 8;  // 16-byte vectors per staged row
  constexpr int kItemVecs = kTileItems * kVecs / kThreads;
  // The next chunk's loads are issued before this chunk's products (registers, then shared memory).
  uint4 q_next, e_next[kItemVecs];
  auto load = [&](int j0) {
    const int r = tid / kVecs, v = tid % kVecs;  // kRows * kVecs == kThreads
    q_next = *reinterpret_cast<const uint4*>(p.queries_h + static_cast<int64_t>(row0 + r) * p.dpad + j0 + v * 8);
#pragma unroll
    for (int i = 0; i < kItemVecs; ++i) {
      const int idx = tid + i * kThreads, n = idx / kVecs, vv = idx % kVecs;
      const int64_t item = n0 + n;
      e_next[i] = item < p.count ? *reinterpret_cast<const uint4*>(p.items_h + item * p.dpad + j0 + vv * 8) : make_uint4(0, 0, 0, 0);
    }
  };
  load(0);
  for (int j0 = 0; j0 < p.dpad; j0 += kChunkDims) {
    {
      const int r = tid / kVecs, v = tid % kVecs;
      *reinterpret_cast<uint4*>(qh + r * kHalfStride + v * 8) = q_next;
#pragma unroll
      for (int i = 0; i < kItemVecs; ++i) {
        const int idx = tid + i * kThreads, n = idx / kVecs, vv = idx % kVecs;
        *reinterpret_cast<uint4*>(eh + n * kHalfStride + vv * 8) = e_next[i];
      }
    }
    __syncthreads();
    if (j0 + kChunkDims < p.dpad) load(j0 + kChunkDims);
#pragma unroll
    for (int kk = 0; kk < kChunkDims; kk += 16) {
      wmma::fragment<wmma::matrix_a, 16, 16, 16, __nv_bfloat16, wmma::row_major> a[2];
      wmma::fragment<wmma::matrix_b, 16, 16, 16, __nv_bfloat16, wmma::col_major> b[2];
#pragma unroll
      for (int i = 0; i < 2; ++i) wmma::load_matrix_sync(a[i], qh + (wr * 32 + i * 16) * kHalfStride + kk, kHalfStride);
#pragma unroll
      for (int j = 0; j < 2; ++j) wmma::load_matrix_sync(b[j], eh + (wc * 32 + j * 16) * kHalfStride + kk, kHalfStride);
#pragma unroll
      for (int i = 0; i < 2; ++i)
#pragma unroll
        for (int j = 0; j < 2; ++j) wmma::mma_sync(acc[i][j], a[i], b[j], acc[i][j]);
    }
    __syncthreads();
  }
#pragma unroll
  for (int i = 0; i < 2; ++i)
#pragma unroll
    for (int j = 0; j < 2; ++j)
      wmma::store_matrix_sync(S + (wr * 32 + i * 16) * kScoreStride + wc * 32 + j * 16, acc[i][j], kScoreStride,
                              wmma::mem_row_major);
#else
  __trap();  // bf16 tables are refused on devices below compute capability 8.0 (host check)
#endif
}

template <bool kBf16>
__global__ void __launch_bounds__(kThreads, 2) scan_kernel(ScanParams p) {
  extern __shared__ __align__(128) unsigned char smem[];
  const SharedLayout layout(p.k);
  float* S = reinterpret_cast<float*>(smem);
  float* list_s = reinterpret_cast<float*>(smem + layout.lists_offset);
  int* list_i = reinterpret_cast<int*>(list_s + kRows * p.k);
  unsigned* masks = reinterpret_cast<unsigned*>(smem + layout.masks_offset);
  int* t_id = reinterpret_cast<int*>(smem + layout.rows_offset);
  float* t_score = reinterpret_cast<float*>(t_id + kRows);

  const int tid = threadIdx.x, lane = tid % 32, warp = tid / 32;
  const int row0 = blockIdx.x * kRows;
  const int split = blockIdx.y;
  const int64_t begin = split * p.split_items;
  const int64_t end = min(p.count, begin + p.split_items);
  if (begin >= end) return;  // uniform across the block

  for (int i = tid; i < kRows * p.k; i += kThreads) {
    list_s[i] = -INFINITY;
    list_i[i] = kSentinelId;
  }
  // Thread tid < kRows walks row tid's sorted exclusions; the next one stays in a register, so
  // tiles without an exclusion (nearly all) cost one compare.
  int ex_pos = 0, ex_stop = 0, ex_next = INT_MAX;
  if (tid < kRows) {
    const int row = row0 + tid;
    const bool live = row < p.rows;
    t_id[tid] = live && p.targets ? p.targets[row] : -1;
    t_score[tid] = live && p.targets ? p.target_score[row] : 0.0f;
    if (live && p.ex_off) {
      ex_pos = p.ex_off[row];
      ex_stop = p.ex_off[row + 1];
      int b = ex_stop;  // first exclusion >= begin
      while (ex_pos < b) {
        const int m = (ex_pos + b) / 2;
        if (p.ex_ids[m] < begin) ex_pos = m + 1; else b = m;
      }
      if (ex_pos < ex_stop) ex_next = p.ex_ids[ex_pos];
    }
  }

  // Per-lane running state for the warp's rows (rows warp, warp + 8, ...).
  // beaten: the count of items beating the target in bits 0-29 (at most count / 32 per lane),
  // NaN seen in bit 30, +Infinity seen in bit 31.
  float shift[kRowsPerWarp], sum[kRowsPerWarp];
  unsigned beaten[kRowsPerWarp];
#pragma unroll
  for (int i = 0; i < kRowsPerWarp; ++i) {
    shift[i] = -FLT_MAX;
    sum[i] = 0.0f;
    beaten[i] = 0u;
  }
  __syncthreads();

  for (int64_t n0 = begin; n0 < end; n0 += kTileItems) {
    if (tid < kRows) {  // this tile's exclusions of row tid, as bits (read after the scores' barriers)
      unsigned m[kTileItems / 32] = {};
      while (ex_next < n0 + kTileItems) {
        const int64_t off = ex_next - n0;
        if (off >= 0) {
#pragma unroll
          for (int w = 0; w < kTileItems / 32; ++w)
            if (off / 32 == w) m[w] |= 1u << (off % 32);
        }
        ex_next = ++ex_pos < ex_stop ? p.ex_ids[ex_pos] : INT_MAX;
      }
#pragma unroll
      for (int w = 0; w < kTileItems / 32; ++w) masks[tid * (kTileItems / 32) + w] = m[w];
    }
    if constexpr (kBf16) tile_scores_bf16(p, smem, row0, n0, S);
    else tile_scores_fp32(p, smem, row0, n0, S);
    __syncthreads();

    float bias[kTileItems / 32];
    bool valid[kTileItems / 32];
#pragma unroll
    for (int c = 0; c < kTileItems / 32; ++c) {
      const int64_t n = n0 + lane + 32 * c;
      valid[c] = n < end;
      bias[c] = (p.bias && valid[c]) ? p.bias[n] : 0.0f;
    }
    // The hot path has no data-dependent branches; the rare rows with a top-k candidate take the
    // out-of-line insert (keeping this loop small enough for the instruction cache).
#pragma unroll
    for (int i = 0; i < kRowsPerWarp; ++i) {
      const int r = warp + kWarps * i;
      if (row0 + r >= p.rows) continue;  // uniform across the warp
      const float ts = t_score[r];
      const int tg = t_id[r];
      const bool ts_nan = isnan(ts);
      const float last_s = list_s[r * p.k + p.k - 1];
      const int last_i = list_i[r * p.k + p.k - 1];
      float x[kTileItems / 32], y[kTileItems / 32];
      bool cand[kTileItems / 32], finite[kTileItems / 32];
      float top = shift[i];
      bool any = false;
#pragma unroll
      for (int c = 0; c < kTileItems / 32; ++c) {
        const int id = static_cast<int>(n0) + lane + 32 * c;
        x[c] = S[r * kScoreStride + lane + 32 * c];
        if (p.bias) x[c] = x[c] + bias[c];
        const bool live = valid[c] && !((masks[r * (kTileItems / 32) + c] >> lane) & 1u);
        const bool nan = isnan(x[c]);
        beaten[i] |= (live && nan ? kNanBit : 0u) | (live && x[c] == INFINITY ? kPosInfBit : 0u);
        finite[c] = live && !nan && fabsf(x[c]) != INFINITY;
        // Not contracted into the fma(x, scale, -top) below: for scores near 1e30 that fma keeps
        // the product's rounding error (about 1e23), and exp2 of it is +Infinity.
        y[c] = __fmul_rn(x[c], p.scale);
        if (finite[c]) top = fmaxf(top, y[c]);
        beaten[i] += (live && tg >= 0 && !nan && (ts_nan || beats(x[c], id, ts, tg))) ? 1u : 0u;
        cand[c] = live && !nan && beats(x[c], id, last_s, last_i);
        any = any || cand[c];
      }
      float add = 0.0f;
#pragma unroll
      for (int c = 0; c < kTileItems / 32; ++c) add += finite[c] ? fast_exp2(y[c] - top) : 0.0f;
      sum[i] = sum[i] * fast_exp2(shift[i] - top) + add;
      shift[i] = top;
      if (__any_sync(0xffffffffu, any))
        insert_candidates(list_s + r * p.k, list_i + r * p.k, p.k, x, cand, static_cast<int>(n0), lane);
    }
    __syncthreads();  // the next tile overwrites the score tile
  }

  // Per row: combine the lanes, then write this split's partials.
#pragma unroll
  for (int i = 0; i < kRowsPerWarp; ++i) {
    const int r = warp + kWarps * i;
    const int row = row0 + r;
    if (row >= p.rows) continue;
    float m = shift[i];
    for (int o = 16; o > 0; o /= 2) m = fmaxf(m, __shfl_xor_sync(0xffffffffu, m, o));
    float s = sum[i] == 0.0f ? 0.0f : sum[i] * fast_exp2(shift[i] - m);
    int f = static_cast<int>(beaten[i] >> 30), cnt = static_cast<int>(beaten[i] & kCountMask);
    for (int o = 16; o > 0; o /= 2) {
      s += __shfl_xor_sync(0xffffffffu, s, o);
      f |= __shfl_xor_sync(0xffffffffu, f, o);
      cnt += __shfl_xor_sync(0xffffffffu, cnt, o);
    }
    const size_t at = static_cast<size_t>(split) * p.rows + row;
    if (lane == 0) {
      p.p_shift[at] = m;
      p.p_sum[at] = s;
      p.p_flags[at] = f;
      p.p_count[at] = cnt;
    }
    const size_t list_at = (static_cast<size_t>(row) * p.splits + split) * p.k;
    for (int j = lane; j < p.k; j += 32) {
      p.p_scores[list_at + j] = list_s[r * p.k + j];
      p.p_ids[list_at + j] = list_i[r * p.k + j];
    }
  }
}

struct MergeParams {
  int rows;
  int k;
  int splits;
  float temperature;
  const float* p_shift;
  const float* p_sum;
  const int* p_flags;
  const int* p_count;
  const float* p_scores;
  const int* p_ids;
  const int* targets;       // or null
  const float* target_score;
  const int* ex_off;        // or null
  const int* ex_ids;
  int* ids;                 // rows x k
  float* scores;
  float* log_z;
  int* target_rank;
  float* target_log_prob;
};

// One warp per row: log-sum-exp over splits in float64 (as the CPU), ranks summed, lists merged.
__global__ void __launch_bounds__(kThreads) merge_kernel(MergeParams p) {
  extern __shared__ __align__(128) unsigned char smem[];
  const int lane = threadIdx.x % 32, warp = threadIdx.x / 32;
  const int row = blockIdx.x * kWarps + warp;
  if (row >= p.rows) return;  // whole warps only: no block-wide barrier below
  float* ls = reinterpret_cast<float*>(smem) + warp * p.k;
  int* li = reinterpret_cast<int*>(reinterpret_cast<float*>(smem) + kWarps * p.k) + warp * p.k;

  double shift = -INFINITY, sum = 0.0;
  int flags = 0;
  long long beaten = 0;
  for (int s = lane; s < p.splits; s += 32) {
    const size_t at = static_cast<size_t>(s) * p.rows + row;
    flags |= p.p_flags[at];
    beaten += p.p_count[at];
    const float ps = p.p_sum[at];
    if (ps == 0.0f) continue;
    const double sh = p.p_shift[at];
    if (sh > shift) {
      sum = sum * exp2(shift - sh) + ps;
      shift = sh;
    } else {
      sum += ps * exp2(sh - shift);
    }
  }
  for (int o = 16; o > 0; o /= 2) {
    const double osh = __shfl_xor_sync(0xffffffffu, shift, o);
    const double osum = __shfl_xor_sync(0xffffffffu, sum, o);
    const double m = fmax(shift, osh);
    sum = (sum == 0.0 ? 0.0 : sum * exp2(shift - m)) + (osum == 0.0 ? 0.0 : osum * exp2(osh - m));
    shift = m;
    flags |= __shfl_xor_sync(0xffffffffu, flags, o);
    beaten += __shfl_xor_sync(0xffffffffu, beaten, o);
  }
  constexpr double kLn2 = 0.693147180559945309417232121458;
  double log_z;
  if (flags & 1) log_z = NAN;
  else if (flags & 2) log_z = INFINITY;
  else if (sum == 0.0) log_z = -INFINITY;  // every item excluded or -Infinity
  else log_z = shift * kLn2 + log(sum);

  for (int j = lane; j < p.k; j += 32) {
    ls[j] = -INFINITY;
    li[j] = kSentinelId;
  }
  __syncwarp();
  for (int s = 0; s < p.splits; ++s) {
    const float* ss = p.p_scores + (static_cast<size_t>(row) * p.splits + s) * p.k;
    const int* si = p.p_ids + (static_cast<size_t>(row) * p.splits + s) * p.k;
    for (int base = 0; base < p.k; base += 32) {
      const int j = base + lane;
      const float cs = j < p.k ? ss[j] : -INFINITY;
      const int ci = j < p.k ? si[j] : kSentinelId;
      // Lists are sorted: once an entry fails against the current last, the rest fail too.
      const bool cand = j < p.k && beats(cs, ci, ls[p.k - 1], li[p.k - 1]);
      const unsigned all = __ballot_sync(0xffffffffu, j < p.k);
      unsigned mask = __ballot_sync(0xffffffffu, cand);
      const bool done = mask != all;
      while (mask) {
        const int src = __ffs(mask) - 1;
        mask &= mask - 1;
        warp_insert(ls, li, p.k, __shfl_sync(0xffffffffu, cs, src), __shfl_sync(0xffffffffu, ci, src), lane);
      }
      if (done) break;
    }
  }
  for (int j = lane; j < p.k; j += 32) {
    const bool have = li[j] != kSentinelId;
    p.ids[static_cast<size_t>(row) * p.k + j] = have ? li[j] : -1;
    p.scores[static_cast<size_t>(row) * p.k + j] = have ? ls[j] : -INFINITY;
  }
  if (lane == 0) p.log_z[row] = static_cast<float>(log_z);
  if (!p.targets) return;
  const int t = p.targets[row];
  bool excluded = false;
  if (t >= 0 && p.ex_off)
    for (int q = p.ex_off[row] + lane; q < p.ex_off[row + 1]; q += 32) excluded = excluded || p.ex_ids[q] == t;
  excluded = __any_sync(0xffffffffu, excluded);
  if (lane != 0) return;
  if (t < 0 || excluded) {
    p.target_rank[row] = -1;
    p.target_log_prob[row] = t < 0 ? NAN : -INFINITY;  // probability 0 among the remaining items
  } else {
    p.target_rank[row] = static_cast<int>(beaten);
    p.target_log_prob[row] = static_cast<float>(static_cast<double>(p.target_score[row]) / p.temperature - log_z);
  }
}

// Fp32 pair scores: the same FMA chain as the tiles (row i: query i against item ids[i]).
__global__ void pair_scores_fp32(const float* queries, int query_stride, const float* items, int dim, const int* ids,
                                 int n, const float* bias, float* out) {
  const int i = blockIdx.x * blockDim.x + threadIdx.x;
  if (i >= n) return;
  const int id = ids[i];
  if (id < 0) {
    out[i] = 0.0f;
    return;
  }
  const float* q = queries + static_cast<int64_t>(i) * query_stride;
  const float* e = items + static_cast<int64_t>(id) * dim;
  float acc = 0.0f;
  for (int j = 0; j < dim; ++j) acc = __fmaf_rn(q[j], e[j], acc);
  out[i] = bias ? acc + bias[id] : acc;
}

// Bf16 pair scores with the tiles' own arithmetic: one warp per 16 pairs runs the same wmma
// k-steps on (query rows) x (gathered items) and keeps the diagonal.
__global__ void pair_scores_bf16(const __nv_bfloat16* queries_h, int query_stride, const __nv_bfloat16* items_h, int dpad,
                                 const int* ids, int n, const float* bias, float* out) {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 800
  using namespace nvcuda;
  __shared__ __align__(32) __nv_bfloat16 a_s[kWarps][16 * 16];
  __shared__ __align__(32) __nv_bfloat16 b_s[kWarps][16 * 16];
  __shared__ __align__(32) float c_s[kWarps][16 * 16];
  const int lane = threadIdx.x % 32, warp = threadIdx.x / 32;
  const int first = (blockIdx.x * kWarps + warp) * 16;
  if (first >= n) return;
  wmma::fragment<wmma::accumulator, 16, 16, 16, float> acc;
  wmma::fill_fragment(acc, 0.0f);
  for (int j0 = 0; j0 < dpad; j0 += 16) {
    for (int e = lane; e < 256; e += 32) {
      const int r = e / 16, j = e % 16, i = first + r;
      const int id = i < n ? ids[i] : -1;
      a_s[warp][e] = i < n ? queries_h[static_cast<int64_t>(i) * query_stride + j0 + j] : __float2bfloat16_rn(0.0f);
      b_s[warp][e] = id >= 0 ? items_h[static_cast<int64_t>(id) * dpad + j0 + j] : __float2bfloat16_rn(0.0f);
    }
    __syncwarp();
    wmma::fragment<wmma::matrix_a, 16, 16, 16, __nv_bfloat16, wmma::row_major> a;
    wmma::fragment<wmma::matrix_b, 16, 16, 16, __nv_bfloat16, wmma::col_major> b;
    wmma::load_matrix_sync(a, a_s[warp], 16);
    wmma::load_matrix_sync(b, b_s[warp], 16);
    wmma::mma_sync(acc, a, b, acc);
    __syncwarp();
  }
  wmma::store_matrix_sync(c_s[warp], acc, 16, wmma::mem_row_major);
  __syncwarp();
  if (lane < 16 && first + lane < n) {
    const int id = ids[first + lane];
    const float s = c_s[warp][lane * 16 + lane];
    out[first + lane] = id < 0 ? 0.0f : (bias ? s + bias[id] : s);
  }
#else
  __trap();
#endif
}

// float32 rows (stride dim) -> bfloat16 rows (stride dpad, zero padded; rows_padded rows, zero rows past rows).
__global__ void to_bf16_rows(const float* in, int64_t rows, int dim, int64_t rows_padded, int dpad, __nv_bfloat16* out) {
  const int64_t total = rows_padded * dpad;
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < total;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    const int64_t r = i / dpad;
    const int j = static_cast<int>(i % dpad);
    out[i] = __float2bfloat16_rn(r < rows && j < dim ? in[r * dim + j] : 0.0f);
  }
}

// Sorts each row's exclusion list of at most kDeviceSortMax ids in place (insertion sort: lists
// are short, and already sorted ones cost one pass).
constexpr int kDeviceSortMax = 256;
__global__ void sort_short_rows(const int* offsets, int* ids, int rows) {
  const int r = blockIdx.x * blockDim.x + threadIdx.x;
  if (r >= rows) return;
  const int lo = offsets[r], hi = offsets[r + 1];
  if (hi - lo > kDeviceSortMax) return;
  for (int i = lo + 1; i < hi; ++i) {
    const int v = ids[i];
    int j = i - 1;
    while (j >= lo && ids[j] > v) {
      ids[j + 1] = ids[j];
      --j;
    }
    ids[j + 1] = v;
  }
}

}  // namespace
}  // namespace regen::cuda
