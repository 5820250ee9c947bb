// AVX-512 (F, BW, DQ, VL) scan kernels: 16 query rows per vector.
#include "scan.h"
#include "xent_kernel.h"

#if defined(__x86_64__)
#include <immintrin.h>

#include <cstdint>

#include "common/isa_target.h"

#if defined(__GNUC__) && !defined(__clang__)
// GCC 12's AVX-512 headers trip these warnings on their own _mm512_undefined_ps() (__Y = __Y).
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"
#endif

REGEN_TARGET_BEGIN("avx512f,avx512bw,avx512dq,avx512vl,avx2,fma")
namespace regen::detail {
namespace {

#include "common/simd_avx512.h"

#include "scan_kernel.inl"

#include "xent_kernel.inl"

// Batches of at most 8 rows, two items per vector (ScanKernel::paired): lanes 0-7 are the rows
// against item n0 + 2c, lanes 8-15 the same rows (packed twice) against n0 + 2c + 1. Per pair of
// items and dimension: two broadcasts, a blend and one 512-bit FMA, where the 256-bit kernel took
// two FMAs and ran its epilogue once per item. Each lane is fp32_score's chain, so the same bits.
struct Fp32PairProducts {
  static constexpr int kItemsPerVector = 2;

  // kDim: the dimension when known at compile time (the tile's 2C item rows are then constant
  // offsets from one pointer; with a run-time dim, 24 row pointers did not fit in registers), or 0.
  template <int C, int kDim>
  static void tile_dim(const ScanBatch& bt, int64_t block, int64_t n0, __m512 (&acc)[1][C]) {
    constexpr int kLinesPerStep = (2 * C + 15) / 16;  // 2C items x 4 bytes per dimension
    const int64_t dim = kDim ? kDim : bt.dim;
    const float* q = bt.packed_queries + block * dim * bt.block_rows;
    const float* e = bt.items + n0 * dim;
    // The table's last item, alone in its pair, is read twice (its scores in the high half are dropped).
    const int64_t odd_step = C == 1 && n0 + 1 >= bt.count ? 0 : dim;
    const char* next = reinterpret_cast<const char*>(bt.items + (n0 + 2 * C < bt.count ? n0 + 2 * C : n0) * dim);
    for (int c = 0; c < C; ++c) acc[0][c] = _mm512_setzero_ps();
    for (int64_t j = 0; j < dim; ++j) {
      for (int p = 0; p < kLinesPerStep; ++p) __builtin_prefetch(next + (j * kLinesPerStep + p) * 64);
      const __m512 qv = _mm512_loadu_ps(q + j * V::L);
      for (int c = 0; c < C; ++c) {
        const float* even = e + 2 * c * dim + j;
        const __m512 b = _mm512_mask_blend_ps(0xFF00, _mm512_set1_ps(*even), _mm512_set1_ps(even[C == 1 ? odd_step : dim]));
        acc[0][c] = _mm512_fmadd_ps(qv, b, acc[0][c]);
      }
    }
  }

  template <int R, int C>
  static void tile(const ScanBatch& bt, int64_t block, int64_t n0, __m512 (&acc)[R][C]) {
    static_assert(R == 1, "one block of rows");
    switch (bt.dim) {
      case 32: return tile_dim<C, 32>(bt, block, n0, acc);
      case 64: return tile_dim<C, 64>(bt, block, n0, acc);
      case 128: return tile_dim<C, 128>(bt, block, n0, acc);
      case 256: return tile_dim<C, 256>(bt, block, n0, acc);
      default: return tile_dim<C, 0>(bt, block, n0, acc);
    }
  }
  static float score(const ScanBatch& bt, int64_t slot, int64_t item) { return fp32_score(bt, slot, item); }
};

#include "scan_blocked.inl"

// Fp32 items in the lanes of the blocked copy (scan_blocked.inl): per dimension, one load of 16
// items' values and one FMA per row against the row's broadcast value (fp32_score's chain in each
// lane: the product commutes exactly).
struct Fp32Blocked {
  static int64_t values(const ScanBatch& bt) { return bt.dim; }
  template <int ROWS, bool kPrefetch>
  static void block(const ScanBatch& bt, int64_t b, __m512 (&acc)[ROWS]) {
    const int64_t dim = bt.dim;
    const float* e = reinterpret_cast<const float*>(bt.items_blocked) + b * dim * 16;
    const float* q = bt.packed_queries;  // block_rows = 1: row r's value j at r * dim + j
    const float* ahead = e + blocked_ahead(dim) * dim * 16;
#pragma GCC unroll 8
    for (int r = 0; r < ROWS; ++r) acc[r] = _mm512_setzero_ps();
    for (int64_t j = 0; j < dim; ++j) {
      if (kPrefetch) __builtin_prefetch(ahead + j * 16, 0, 2);
      const __m512 ev = _mm512_load_ps(e + j * 16);
#pragma GCC unroll 8
      for (int r = 0; r < ROWS; ++r) acc[r] = _mm512_fmadd_ps(_mm512_set1_ps(q[r * dim + j]), ev, acc[r]);
    }
  }
  static float score(const ScanBatch& bt, int64_t slot, int64_t item) { return fp32_score(bt, slot, item); }
  static void score_list(const ScanBatch& bt, int64_t slot, const int32_t* ids, int64_t n, float* out) {
    Fp32Products::score_list(bt, slot, ids, n, out);
  }
};

}  // namespace

// Batches of at most 8 rows when asked (REGEN_SMALL_BATCH_KERNEL=lanes; the default reads the blocked
// copy): items in the lanes of 256-bit vectors (scan_lanes.inl), compiled here for the 32 vector
// registers of AVX-512VL, which hold two groups of 8 items per query broadcast.
namespace narrow {

#include "common/simd_avx2.h"

#include "scan_kernel.inl"

#include "scan_lanes.inl"

}  // namespace narrow

ScanKernel scan_kernel_avx512_lanes(int64_t rows) { return narrow::make_lanes_kernel_two_groups<narrow::Fp32Lanes>(rows); }

ScanKernel scan_kernel_avx512_paired(int64_t) { return make_kernel<Fp32PairProducts, 1, 12>(); }

ScanKernel scan_kernel_avx512_blocked(int64_t rows) { return make_blocked_kernel_for<Fp32Blocked>(rows); }

ScanKernel scan_kernel_avx512(int64_t rows) {
  // 2 x 8 rather than 2 x 12: the epilogue holds fewer score vectors at once (one thread, Office d = 64,
  // 256 rows: 9% fewer cycles per score in bf16, 4% in fp32; the same at d = 256).
  return rows <= V::L ? make_kernel<Fp32Products, 1, 16>() : make_kernel<Fp32Products, 2, 8>();
}

XentKernel xent_kernel_avx512(int64_t rows) {
  return rows <= V::L ? make_xent_kernel<Fp32Products, Fp32Grad, 1, 16>() : make_xent_kernel<Fp32Products, Fp32Grad, 2, 12>();
}

float fma_loop_avx512(int64_t iterations, double* flops_per_round) { return fma_loop(iterations, flops_per_round); }

}  // namespace regen::detail
REGEN_TARGET_END

#else
namespace regen::detail {
ScanKernel scan_kernel_avx512(int64_t) { return ScanKernel{nullptr, nullptr, 0, 0}; }
ScanKernel scan_kernel_avx512_paired(int64_t) { return ScanKernel{nullptr, nullptr, 0, 0}; }
ScanKernel scan_kernel_avx512_lanes(int64_t) { return ScanKernel{nullptr, nullptr, 0, 0}; }
ScanKernel scan_kernel_avx512_blocked(int64_t) { return ScanKernel{nullptr, nullptr, 0, 0}; }
XentKernel xent_kernel_avx512(int64_t) { return XentKernel{nullptr, 0, 0, 0}; }
float fma_loop_avx512(int64_t, double* flops_per_round) { *flops_per_round = 0.0; return 0.0f; }
}  // namespace regen::detail
#endif
