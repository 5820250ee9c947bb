// AVX512-BF16 scan kernels for Bf16 tables: 16 query rows per vector, two dimensions per
// VDPBF16PS (products of bfloat16 pairs accumulated into float32 lanes).
#include "scan.h"
#include "xent_kernel.h"

#if defined(__x86_64__)
#include <immintrin.h>

#include <cstdint>
#include <cstring>

#include "common/isa_target.h"

#if defined(__GNUC__) && !defined(__clang__)
// GCC 12's AVX-512 headers trip these warnings on their own _mm512_undefined_ps() (__Y = __Y).
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"
#endif

REGEN_TARGET_BEGIN("avx512f,avx512bw,avx512dq,avx512vl,avx512bf16,avx2,fma")
namespace regen::detail {
namespace {

#include "common/simd_avx512.h"

#include "scan_kernel.inl"

// Two bfloat16 values as one 32-bit lane, broadcast to all 16 lanes.
inline __m512bh broadcast_pair(const uint16_t* p) {
  int32_t bits;
  std::memcpy(&bits, p, sizeof bits);
  return reinterpret_cast<__m512bh>(_mm512_set1_epi32(bits));
}

struct Bf16Products {
  static constexpr int kItemsPerVector = 1;
  // kPairs: the dimension pairs when known at compile time, else 0. With a run-time count the C item
  // rows need C pointers: at C = 16 GCC kept some in vector registers and moved one back per
  // broadcast (vmovq, which takes an FMA slot on Zen 4: 6 per 16 VDPBF16PS).
  template <int R, int C, int kPairs>
  static REGEN_ALWAYS_INLINE void tile_pairs(const ScanBatch& bt, int64_t block, int64_t n0, __m512 (&acc)[R][C]) {
    constexpr int kLinesPerStep = (C * 4 + 63) / 64;  // C items x 4 bytes per dimension pair
    const int64_t pairs = kPairs ? kPairs : bt.pairs;
    const uint16_t* q = bt.packed_queries_bf16 + block * pairs * bt.block_rows * 2;
    const uint16_t* e = bt.items_bf16 + n0 * pairs * 2;
    const char* next = reinterpret_cast<const char*>(bt.items_bf16 + (n0 + C < bt.count ? n0 + C : n0) * pairs * 2);
    for (int r = 0; r < R; ++r)
      for (int c = 0; c < C; ++c) acc[r][c] = _mm512_setzero_ps();
    for (int64_t p = 0; p < pairs; ++p) {
      for (int l = 0; l < kLinesPerStep; ++l) __builtin_prefetch(next + (p * kLinesPerStep + l) * 64);
      __m512bh qv[R];
      for (int r = 0; r < R; ++r)
        qv[r] = reinterpret_cast<__m512bh>(_mm512_loadu_si512(q + (p * R + r) * V::L * 2));
      for (int c = 0; c < C; ++c) {
        const __m512bh b = broadcast_pair(e + (c * pairs + p) * 2);
        for (int r = 0; r < R; ++r) acc[r][c] = _mm512_dpbf16_ps(acc[r][c], qv[r], b);
      }
    }
  }

  template <int R, int C>
  static REGEN_ALWAYS_INLINE void tile(const ScanBatch& bt, int64_t block, int64_t n0, __m512 (&acc)[R][C]) {
    switch (bt.pairs) {  // d = 32, 64, 128, 256
      case 16: return tile_pairs<R, C, 16>(bt, block, n0, acc);
      case 32: return tile_pairs<R, C, 32>(bt, block, n0, acc);
      case 64: return tile_pairs<R, C, 64>(bt, block, n0, acc);
      case 128: return tile_pairs<R, C, 128>(bt, block, n0, acc);
      default: return tile_pairs<R, C, 0>(bt, block, n0, acc);
    }
  }

  // The same instruction on the same pairs, in the same order: every lane equals the kernel's lane.
  static float score(const ScanBatch& bt, int64_t slot, int64_t item) {
    const int64_t pairs = bt.pairs;
    const int64_t block = slot / bt.block_rows;
    const uint16_t* q = bt.packed_queries_bf16 + (block * pairs * bt.block_rows + slot % bt.block_rows) * 2;
    const uint16_t* e = bt.items_bf16 + item * pairs * 2;
    __m512 acc = _mm512_setzero_ps();
    for (int64_t p = 0; p < pairs; ++p)
      acc = _mm512_dpbf16_ps(acc, broadcast_pair(q + p * bt.block_rows * 2), broadcast_pair(e + p * 2));
    const float dot = _mm512_cvtss_f32(acc);
    return bt.bias ? dot + bt.bias[item] : dot;
  }
};

// Batches of at most 8 rows, two items per vector (ScanKernel::paired): lanes 0-7 are the rows
// against item n0 + 2c, lanes 8-15 the same rows (packed twice) against n0 + 2c + 1. Per pair of
// items and dimension pair: two broadcasts, a blend and one 512-bit VDPBF16PS, where the 256-bit
// kernel it replaced took two VDPBF16PS and ran its epilogue once per item. Each lane is the same
// instruction sequence as Bf16Products::score, so the same bits.
struct Bf16PairProducts {
  static constexpr int kItemsPerVector = 2;

  // kPairs: the dimension pairs when known at compile time (the tile's 2C item rows are then
  // constant offsets from one pointer; with a run-time count, 24 row pointers did not fit in
  // registers), or 0.
  template <int C, int kPairs>
  static void tile_pairs(const ScanBatch& bt, int64_t block, int64_t n0, __m512 (&acc)[1][C]) {
    constexpr int kLinesPerStep = (2 * C * 4 + 63) / 64;  // 2C items x 4 bytes per dimension pair
    const int64_t pairs = kPairs ? kPairs : bt.pairs;
    const uint16_t* q = bt.packed_queries_bf16 + block * pairs * bt.block_rows * 2;
    const uint16_t* e = bt.items_bf16 + n0 * pairs * 2;
    // The table's last item, alone in its pair, is read twice (its scores in the high half are dropped).
    const int64_t odd_step = C == 1 && n0 + 1 >= bt.count ? 0 : pairs;
    const char* next = reinterpret_cast<const char*>(bt.items_bf16 + (n0 + 2 * C < bt.count ? n0 + 2 * C : n0) * pairs * 2);
    for (int c = 0; c < C; ++c) acc[0][c] = _mm512_setzero_ps();
    for (int64_t p = 0; p < pairs; ++p) {
      for (int l = 0; l < kLinesPerStep; ++l) __builtin_prefetch(next + (p * kLinesPerStep + l) * 64);
      const __m512bh qv = reinterpret_cast<__m512bh>(_mm512_loadu_si512(q + p * V::L * 2));
      for (int c = 0; c < C; ++c) {
        const uint16_t* even = e + (2 * c * pairs + p) * 2;
        const uint16_t* odd = even + (C == 1 ? odd_step : pairs) * 2;
        int32_t lo, hi;  // a dimension pair of each item (memcpy: the table is uint16_t)
        std::memcpy(&lo, even, sizeof lo);
        std::memcpy(&hi, odd, sizeof hi);
        const __m512i b = _mm512_mask_blend_epi32(0xFF00, _mm512_set1_epi32(lo), _mm512_set1_epi32(hi));
        acc[0][c] = _mm512_dpbf16_ps(acc[0][c], qv, reinterpret_cast<__m512bh>(b));
      }
    }
  }

  template <int R, int C>
  static void tile(const ScanBatch& bt, int64_t block, int64_t n0, __m512 (&acc)[R][C]) {
    static_assert(R == 1, "one block of rows");
    switch (bt.pairs) {
      case 16: return tile_pairs<C, 16>(bt, block, n0, acc);
      case 32: return tile_pairs<C, 32>(bt, block, n0, acc);
      case 64: return tile_pairs<C, 64>(bt, block, n0, acc);
      case 128: return tile_pairs<C, 128>(bt, block, n0, acc);
      default: return tile_pairs<C, 0>(bt, block, n0, acc);
    }
  }
  static float score(const ScanBatch& bt, int64_t slot, int64_t item) { return Bf16Products::score(bt, slot, item); }
};

#include "xent_kernel.inl"

#include "scan_blocked.inl"

// Items in the lanes of the blocked copy (scan_blocked.inl): per dimension pair, one load of 16
// items' pairs and one VDPBF16PS per row against the row's broadcast pair (the two products of a
// pair are exact, so which operand holds the query does not matter: Bf16Products::score's bits).
struct Bf16Blocked {
  static int64_t values(const ScanBatch& bt) { return bt.pairs; }
  template <int ROWS, bool kPrefetch>
  static void block(const ScanBatch& bt, int64_t b, __m512 (&acc)[ROWS]) {
    const int64_t pairs = bt.pairs;
    const uint32_t* e = bt.items_blocked + b * pairs * 16;
    const uint16_t* q = bt.packed_queries_bf16;  // block_rows = 1: row r's pair p at (r * pairs + p) * 2
    const uint32_t* ahead = e + blocked_ahead(pairs) * pairs * 16;
#pragma GCC unroll 8
    for (int r = 0; r < ROWS; ++r) acc[r] = _mm512_setzero_ps();
    for (int64_t p = 0; p < pairs; ++p) {
      if (kPrefetch) __builtin_prefetch(ahead + p * 16, 0, 2);
      const __m512bh ev = reinterpret_cast<__m512bh>(_mm512_load_si512(e + p * 16));
#pragma GCC unroll 8
      for (int r = 0; r < ROWS; ++r) acc[r] = _mm512_dpbf16_ps(acc[r], broadcast_pair(q + (r * pairs + p) * 2), ev);
    }
  }
  static float score(const ScanBatch& bt, int64_t slot, int64_t item) { return Bf16Products::score(bt, slot, item); }
  static void score_list(const ScanBatch& bt, int64_t slot, const int32_t* ids, int64_t n, float* out) {
    score_list_each<Bf16Products>(bt, slot, ids, n, out);
  }
};

// Batches of at most 8 rows when asked (REGEN_SMALL_BATCH_KERNEL=lanes; the default reads the blocked
// copy) scan with items in the lanes of 256-bit vectors (scan_lanes.inl, which needs the AVX2 traits
// and the scan code instantiated over them), two groups of 8 items per query broadcast in
// AVX-512VL's 32 registers.
namespace narrow {

#include "common/simd_avx2.h"

#include "scan_kernel.inl"

inline __m256bh broadcast_pair8(const uint16_t* p) {
  int32_t bits;
  std::memcpy(&bits, p, sizeof bits);
  return reinterpret_cast<__m256bh>(_mm256_set1_epi32(bits));
}

#include "scan_lanes.inl"

// Items in lanes for the smallest batches (scan_lanes.inl): the item rows' dimension pairs are
// transposed as 32-bit values; each lane is the same VDPBF16PS sequence as Bf16Products::score
// (the two products of a pair are exact, so which operand holds the query does not matter).
struct Bf16Lanes {
  template <int ROWS, int G>
  static void group(const ScanBatch& bt, int64_t n0, __m256 (&acc)[G][ROWS], int64_t ahead) {
    const int64_t pairs = bt.pairs;
    const float* e = reinterpret_cast<const float*>(bt.items_bf16 + n0 * pairs * 2);
    for (int g = 0; g < G; ++g)
      for (int r = 0; r < ROWS; ++r) acc[g][r] = _mm256_setzero_ps();
    __m256 t[G][4];
    int64_t p0 = 0;
    for (; p0 + 4 <= pairs; p0 += 4) {
      for (int g = 0; g < G; ++g) load_group<false, G>(e + 8 * g * pairs, pairs, p0, 4, t[g], ahead);
      for (int pp = 0; pp < 4; ++pp)
        for (int r = 0; r < ROWS; ++r) {
          const __m256bh b = broadcast_pair8(bt.packed_queries_bf16 + (r * pairs + p0 + pp) * 2);
          for (int g = 0; g < G; ++g) acc[g][r] = _mm256_dpbf16_ps(acc[g][r], reinterpret_cast<__m256bh>(t[g][pp]), b);
        }
    }
    if (p0 < pairs) {
      const int width = static_cast<int>(pairs - p0);
      for (int g = 0; g < G; ++g) load_group<true, G>(e + 8 * g * pairs, pairs, p0, width, t[g], ahead);
      for (int pp = 0; pp < width; ++pp)
        for (int r = 0; r < ROWS; ++r) {
          const __m256bh b = broadcast_pair8(bt.packed_queries_bf16 + (r * pairs + p0 + pp) * 2);
          for (int g = 0; g < G; ++g) acc[g][r] = _mm256_dpbf16_ps(acc[g][r], reinterpret_cast<__m256bh>(t[g][pp]), b);
        }
    }
  }
  static int64_t row_values(const ScanBatch& bt) { return bt.pairs; }
  static float score(const ScanBatch& bt, int64_t slot, int64_t item) { return Bf16Products::score(bt, slot, item); }
  static void score_list(const ScanBatch& bt, int64_t slot, const int32_t* ids, int64_t n, float* out) {
    score_list_each<Bf16Lanes>(bt, slot, ids, n, out);
  }
};

}  // namespace narrow


// The gradient products of a tile on AVX512-BF16: G is rounded to bfloat16 and each VDPBF16PS
// lane adds two exact products in float32, twice the float32 FMA rate.
//   dQ (rows in lanes): lane pairs (G[row][c], G[row][c + 1]) times broadcast item pairs
//      (e[c][j], e[c + 1][j]); dE (dimensions in lanes): query row pairs (q[s][j], q[s + 1][j])
//      times broadcast (G[s][c], G[s + 1][c]).
struct Bf16Grad {
  static constexpr bool kPairs = true;

  // p = 2^x for G, which is rounded to bfloat16 (relative 2^-8) before the products: a degree-3
  // polynomial (relative error 7.5e-5, well under that rounding) saves two FMAs per lane vector.
  // Lanes below 2^-126 (and -Infinity) give 0; NaN stays NaN. x <= 0 here.
  static __m512 exp2(__m512 x) {
    const __mmask16 keep = _mm512_cmp_ps_mask(x, _mm512_set1_ps(-126.0f), _CMP_NLT_UQ);
    const __m512 n = _mm512_roundscale_ps(x, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    const __m512 f = _mm512_sub_ps(x, n);
    __m512 p = _mm512_set1_ps(0.0551716573536396f);
    p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(0.2426111251115799f));
    p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(0.6932609677314758f));
    p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(0.9999280571937561f));
    return _mm512_maskz_scalef_ps(keep, p, n);
  }

  // The tile's items as pairs: out[(c / 2) * dim + j] = (e[c][j], e[c + 1][j]), 0 past the last item.
  static const void* prepare(const ScanBatch& bt, XentState& st, int64_t n0, int n) {
    uint32_t* out = reinterpret_cast<uint32_t*>(st.e_f32);
    const int64_t padded = int64_t{bt.pairs} * 2;
    for (int cp = 0; cp < (n + 1) / 2; ++cp) {
      const uint16_t* a = bt.items_bf16 + (n0 + 2 * cp) * padded;
      const uint16_t* b = 2 * cp + 1 < n ? a + padded : nullptr;
      for (int32_t j = 0; j < bt.dim; ++j)
        out[cp * bt.dim + j] = static_cast<uint32_t>(a[j]) | (b ? static_cast<uint32_t>(b[j]) << 16 : 0u);
    }
    return out;
  }

  // dq (lane layout) += sum over item pairs of G pairs x item pairs, dimensions j0 .. j0 + J.
  template <int R, int CP, int J>
  static void dq_block(const uint32_t* gp, const uint32_t* ep, int32_t dim, float* dq, int32_t j0) {
    __m512 a[R][J];
    for (int jj = 0; jj < J; ++jj)
      for (int r = 0; r < R; ++r) a[r][jj] = _mm512_loadu_ps(dq + (static_cast<int64_t>(j0 + jj) * R + r) * 16);
    for (int cp = 0; cp < CP; ++cp) {
      __m512bh gv[R];
      for (int r = 0; r < R; ++r) gv[r] = reinterpret_cast<__m512bh>(_mm512_loadu_si512(gp + (cp * R + r) * 16));
      for (int jj = 0; jj < J; ++jj) {
        const __m512bh b = reinterpret_cast<__m512bh>(_mm512_set1_epi32(static_cast<int32_t>(ep[cp * dim + j0 + jj])));
        for (int r = 0; r < R; ++r) a[r][jj] = _mm512_dpbf16_ps(a[r][jj], gv[r], b);
      }
    }
    for (int jj = 0; jj < J; ++jj)
      for (int r = 0; r < R; ++r) _mm512_storeu_ps(dq + (static_cast<int64_t>(j0 + jj) * R + r) * 16, a[r][jj]);
  }

  // grad_items rows [0, NI) (stride dim), dimension vectors j0 .. + NV: += sum over row pairs.
  template <int NI, int NV, bool kTail>
  static void de_block(const uint32_t* gr, int64_t gr_stride, const uint32_t* q, int64_t q_stride, int64_t row_pairs,
                       float* rows, int64_t dim, int64_t j0) {
    __m512 a[NI][NV];
    alignas(64) float tail[NI][16];
    for (int i = 0; i < NI; ++i)
      for (int v = 0; v < NV; ++v) {
        const int64_t j = j0 + int64_t{v} * 16;
        if (!kTail || j + 16 <= dim) {
          a[i][v] = _mm512_loadu_ps(rows + i * dim + j);
        } else {
          for (int l = 0; l < 16; ++l) tail[i][l] = j + l < dim ? rows[i * dim + j + l] : 0.0f;
          a[i][v] = _mm512_load_ps(tail[i]);
        }
      }
    for (int64_t p = 0; p < row_pairs; ++p) {
      __m512bh qv[NV];
      for (int v = 0; v < NV; ++v) qv[v] = reinterpret_cast<__m512bh>(_mm512_loadu_si512(q + p * q_stride + j0 + int64_t{v} * 16));
      for (int i = 0; i < NI; ++i) {
        const __m512bh gv = reinterpret_cast<__m512bh>(_mm512_set1_epi32(static_cast<int32_t>(gr[i * gr_stride + p])));
        for (int v = 0; v < NV; ++v) a[i][v] = _mm512_dpbf16_ps(a[i][v], qv[v], gv);
      }
    }
    for (int i = 0; i < NI; ++i)
      for (int v = 0; v < NV; ++v) {
        const int64_t j = j0 + int64_t{v} * 16;
        if (!kTail || j + 16 <= dim) {
          _mm512_storeu_ps(rows + i * dim + j, a[i][v]);
        } else {
          _mm512_store_ps(tail[i], a[i][v]);
          for (int l = 0; l < 16 && j + l < dim; ++l) rows[i * dim + j + l] = tail[i][l];
        }
      }
  }

  template <int NI>
  static void de_items_all(const uint32_t* gr, int64_t gr_stride, const uint32_t* q, int64_t q_stride, int64_t row_pairs,
                           float* rows, int64_t dim) {
    const int64_t full = dim / 16, vectors = (dim + 15) / 16;
    int64_t v0 = 0;
    for (; v0 + kDeVectors <= full; v0 += kDeVectors)
      de_block<NI, kDeVectors, false>(gr, gr_stride, q, q_stride, row_pairs, rows, dim, v0 * 16);
    switch (vectors - v0) {
      case 1: de_block<NI, 1, true>(gr, gr_stride, q, q_stride, row_pairs, rows, dim, v0 * 16); break;
      case 2: de_block<NI, 2, true>(gr, gr_stride, q, q_stride, row_pairs, rows, dim, v0 * 16); break;
      case 3: de_block<NI, 3, true>(gr, gr_stride, q, q_stride, row_pairs, rows, dim, v0 * 16); break;
      case 4: de_block<NI, 4, true>(gr, gr_stride, q, q_stride, row_pairs, rows, dim, v0 * 16); break;
      default: break;
    }
  }

  template <int R, int C>
  static void apply(const XentBatch& xb, XentState& st, int64_t block, const void* tile, __m512 (&g)[R][C], bool want_de) {
    const ScanBatch& bt = xb.scan;
    constexpr int CP = (C + 1) / 2;
    // G as lane pairs of items: (G[row][2cp], G[row][2cp + 1]) in each 32-bit lane.
    uint32_t* gp = reinterpret_cast<uint32_t*>(st.g);
    const __m512i interleave = _mm512_set_epi16(31, 15, 30, 14, 29, 13, 28, 12, 27, 11, 26, 10, 25, 9, 24, 8, 23, 7, 22, 6,
                                                21, 5, 20, 4, 19, 3, 18, 2, 17, 1, 16, 0);
    for (int cp = 0; cp < CP; ++cp)
      for (int r = 0; r < R; ++r) {
        const __m512 hi = 2 * cp + 1 < C ? g[r][2 * cp + 1] : _mm512_setzero_ps();
        const __m512i halves = reinterpret_cast<__m512i>(_mm512_cvtne2ps_pbh(hi, g[r][2 * cp]));
        _mm512_storeu_si512(gp + (cp * R + r) * 16, _mm512_permutexvar_epi16(interleave, halves));
      }
    const int32_t dim = bt.dim;
    const uint32_t* ep = static_cast<const uint32_t*>(tile);
    float* dq = st.dq + block * dim * bt.block_rows;
    int32_t j0 = 0;
    for (; j0 + kDqDims <= dim; j0 += kDqDims) dq_block<R, CP, kDqDims>(gp, ep, dim, dq, j0);
    for (; j0 < dim; ++j0) dq_block<R, CP, 1>(gp, ep, dim, dq, j0);

    // G as row pairs per item for the dE step: gt[c * (rows_padded / 2) + p] = (G[2p][c], G[2p + 1][c]).
    if (want_de) {
      uint32_t* gt = reinterpret_cast<uint32_t*>(st.gt);
      const int64_t gt_stride = bt.row_blocks * bt.block_rows / 2;
      for (int c = 0; c < C; ++c)
        for (int r = 0; r < R; ++r)
          _mm256_storeu_si256(reinterpret_cast<__m256i*>(gt + c * gt_stride + block * (bt.block_rows / 2) + r * 8),
                              reinterpret_cast<__m256i>(_mm512_cvtneps_pbh(g[r][c])));
    }
  }

  // dE_tile += G^T Q over every row pair of the batch, in order, once per tile.
  template <int C>
  static void finish(const XentBatch& xb, XentState& st, int64_t n0, float* grad_items) {
    const ScanBatch& bt = xb.scan;
    const uint32_t* gt = reinterpret_cast<const uint32_t*>(st.gt);
    const int64_t gt_stride = bt.row_blocks * bt.block_rows / 2;
    constexpr int NI = de_items<C>();
    for (int c = 0; c < C; c += NI)
      de_items_all<NI>(gt + c * gt_stride, gt_stride, xb.q_pairs, xb.q_stride, (bt.rows + 1) / 2,
                       grad_items + (n0 + c) * bt.dim, bt.dim);
  }
};

// fma_peak_gflops's loop for bf16: 12 independent chains of VDPBF16PS (each lane adds two exact
// products of bfloat16 pairs: 4 flops). The products are tiny, so the sums stay far from overflow.
inline float dot_loop(int64_t iterations, double* flops_per_round) {
  constexpr int kChains = 12;
  __m512 a[kChains];
  for (int i = 0; i < kChains; ++i) a[i] = _mm512_set1_ps(static_cast<float>(i));
  const __m512bh x = reinterpret_cast<__m512bh>(_mm512_set1_epi32(0x33803380));  // bfloat16 pairs of 2^-24
  for (int64_t it = 0; it < iterations; ++it)
    for (int i = 0; i < kChains; ++i) a[i] = _mm512_dpbf16_ps(a[i], x, x);
  __m512 total = a[0];
  for (int i = 1; i < kChains; ++i) total = _mm512_add_ps(total, a[i]);
  *flops_per_round = 4.0 * kChains * V::L;
  return _mm512_cvtss_f32(total);
}

}  // namespace

XentKernel xent_kernel_avx512_bf16(int64_t rows) {
  return rows <= V::L ? make_xent_kernel<Bf16Products, Bf16Grad, 1, 16>() : make_xent_kernel<Bf16Products, Bf16Grad, 2, 12>();
}

float fma_loop_avx512_bf16(int64_t iterations, double* flops_per_round) { return dot_loop(iterations, flops_per_round); }

ScanKernel scan_kernel_avx512_bf16(int64_t rows, bool lanes) {
  // At most 8 rows (search.cpp picks): items in lanes, one vector per row and group of 8 items, or
  // two items per 512-bit vector.
  if (lanes) return narrow::make_lanes_kernel_two_groups<narrow::Bf16Lanes>(rows);
  if (rows <= V::L / 2) return make_kernel<Bf16PairProducts, 1, 12>();
  // 2 x 8 rather than 2 x 12: the epilogue holds fewer score vectors at once (one thread, Office d = 64,
  // 256 rows: 9% fewer cycles per score in bf16, 4% in fp32; the same at d = 256).
  return rows <= V::L ? make_kernel<Bf16Products, 1, 16>() : make_kernel<Bf16Products, 2, 8>();
}

ScanKernel scan_kernel_avx512_bf16_blocked(int64_t rows) { return make_blocked_kernel_for<Bf16Blocked>(rows); }

}  // namespace regen::detail
REGEN_TARGET_END

#else
namespace regen::detail {
ScanKernel scan_kernel_avx512_bf16(int64_t, bool) { return ScanKernel{nullptr, nullptr, 0, 0}; }
ScanKernel scan_kernel_avx512_bf16_blocked(int64_t) { return ScanKernel{nullptr, nullptr, 0, 0}; }
XentKernel xent_kernel_avx512_bf16(int64_t) { return XentKernel{nullptr, 0, 0, 0}; }
float fma_loop_avx512_bf16(int64_t, double* flops_per_round) { *flops_per_round = 0.0; return 0.0f; }
}  // namespace regen::detail
#endif
