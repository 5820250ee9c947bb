// AVX2 + FMA scan kernels: 8 query rows per vector.
#include "scan.h"
#include "xent_kernel.h"

#if defined(__x86_64__)
#include <immintrin.h>

#include <cstdint>

#include "common/isa_target.h"

REGEN_TARGET_BEGIN("avx2,fma")
namespace regen::detail {
namespace {

#include "common/simd_avx2.h"

#include "scan_kernel.inl"

#include "xent_kernel.inl"

#include "scan_lanes.inl"

// Items in lanes for the smallest batches (scan_lanes.inl): each lane is fp32_score's chain of
// fused multiply-adds (the product commutes exactly), then + bias.
struct Fp32Lanes {
  template <int ROWS>
  static void group(const ScanBatch& bt, int64_t n0, __m256 (&acc)[ROWS]) {
    const int64_t dim = bt.dim;
    const float* e = bt.items + n0 * dim;
    for (int r = 0; r < ROWS; ++r) acc[r] = _mm256_setzero_ps();
    __m256 t[4];
    int64_t j0 = 0;
    for (; j0 + 4 <= dim; j0 += 4) {
      load_8x4<false>(e, dim, j0, 4, t);
      for (int jj = 0; jj < 4; ++jj)
        for (int r = 0; r < ROWS; ++r)
          acc[r] = _mm256_fmadd_ps(t[jj], _mm256_broadcast_ss(bt.packed_queries + r * dim + j0 + jj), acc[r]);
    }
    if (j0 < dim) {
      const int width = static_cast<int>(dim - j0);
      load_8x4<true>(e, dim, j0, width, t);
      for (int jj = 0; jj < width; ++jj)
        for (int r = 0; r < ROWS; ++r)
          acc[r] = _mm256_fmadd_ps(t[jj], _mm256_broadcast_ss(bt.packed_queries + r * dim + j0 + jj), acc[r]);
    }
  }
  static float score(const ScanBatch& bt, int64_t slot, int64_t item) { return fp32_score(bt, slot, item); }
  static void score_list(const ScanBatch& bt, int64_t slot, const int32_t* ids, int64_t n, float* out) {
    Fp32Products::score_list(bt, slot, ids, n, out);
  }
};

}  // namespace

ScanKernel scan_kernel_avx2(int64_t rows) {
  switch (rows) {  // at most 4 rows: items in lanes, one vector per row (more: rows in lanes is faster)
    case 1: return make_lanes_kernel<Fp32Lanes, 1>();
    case 2: return make_lanes_kernel<Fp32Lanes, 2>();
    case 3: return make_lanes_kernel<Fp32Lanes, 3>();
    case 4: return make_lanes_kernel<Fp32Lanes, 4>();
    default: break;
  }
  return rows <= V::L ? make_kernel<Fp32Products, 1, 12>() : make_kernel<Fp32Products, 2, 6>();
}

XentKernel xent_kernel_avx2(int64_t rows) {
  return rows <= V::L ? make_xent_kernel<Fp32Products, Fp32Grad, 1, 12>() : make_xent_kernel<Fp32Products, Fp32Grad, 2, 6>();
}

float fma_loop_avx2(int64_t iterations, double* flops_per_round) { return fma_loop(iterations, flops_per_round); }

}  // namespace regen::detail
REGEN_TARGET_END

#else
namespace regen::detail {
ScanKernel scan_kernel_avx2(int64_t) { return ScanKernel{nullptr, nullptr, 0, 0}; }
XentKernel xent_kernel_avx2(int64_t) { return XentKernel{nullptr, 0, 0, 0}; }
float fma_loop_avx2(int64_t, double* flops_per_round) { *flops_per_round = 0.0; return 0.0f; }
}  // namespace regen::detail
#endif
