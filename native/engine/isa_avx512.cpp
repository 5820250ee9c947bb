// AVX-512 (F, BW, DQ, VL) scan kernels: 16 query rows per vector.
#include "scan.h"
#include "xent_kernel.h"

#if defined(__x86_64__)
#include <immintrin.h>

#include <cstdint>

#include "common/isa_target.h"

#if defined(__GNUC__) && !defined(__clang__)
// GCC 12's AVX-512 headers trip this warning on their own _mm512_undefined_ps().
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif

REGEN_TARGET_BEGIN("avx512f,avx512bw,avx512dq,avx512vl,avx2,fma")
namespace regen::detail {
namespace {

#include "common/simd_avx512.h"

#include "scan_kernel.inl"

#include "xent_kernel.inl"

}  // namespace

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
XentKernel xent_kernel_avx512(int64_t) { return XentKernel{nullptr, 0, 0, 0}; }
float fma_loop_avx512(int64_t, double* flops_per_round) { *flops_per_round = 0.0; return 0.0f; }
}  // namespace regen::detail
#endif
