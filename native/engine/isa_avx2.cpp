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
