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
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
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
  template <int R, int C>
  static void tile(const ScanBatch& bt, int64_t block, int64_t n0, __m512 (&acc)[R][C]) {
    constexpr int kLinesPerStep = (C * 4 + 63) / 64;  // C items x 4 bytes per dimension pair
    const int64_t pairs = bt.pairs;
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

#include "xent_kernel.inl"

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
  return rows <= V::L ? make_xent_kernel<Bf16Products, 1, 16>() : make_xent_kernel<Bf16Products, 2, 12>();
}

float fma_loop_avx512_bf16(int64_t iterations, double* flops_per_round) { return dot_loop(iterations, flops_per_round); }

ScanKernel scan_kernel_avx512_bf16(int64_t rows) {
  return rows <= V::L ? make_kernel<Bf16Products, 1, 16>() : make_kernel<Bf16Products, 2, 12>();
}

}  // namespace regen::detail
REGEN_TARGET_END

#else
namespace regen::detail {
ScanKernel scan_kernel_avx512_bf16(int64_t) { return ScanKernel{nullptr, nullptr, 0, 0}; }
XentKernel xent_kernel_avx512_bf16(int64_t) { return XentKernel{nullptr, 0, 0, 0}; }
float fma_loop_avx512_bf16(int64_t, double* flops_per_round) { *flops_per_round = 0.0; return 0.0f; }
}  // namespace regen::detail
#endif
