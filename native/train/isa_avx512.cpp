// AVX-512 training kernels: 16 floats per vector, 6 x 64 matrix-product tiles.
#include <cmath>
#include <cstdint>
#include <utility>

#include "kernels.h"
#include "regen/train.h"

#if defined(__x86_64__)
#include <immintrin.h>

#include "common/isa_target.h"

#if defined(__GNUC__) && !defined(__clang__)
// GCC 12's AVX-512 headers trip this warning on their own _mm512_undefined_ps().
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif

REGEN_TARGET_BEGIN("avx512f,avx512bw,avx512dq,avx512vl,avx2,fma")
namespace regen::train::detail {
namespace {

struct TV {
  static constexpr int L = 16;
  using F = __m512;
  static __mmask16 mask(int n) { return static_cast<__mmask16>((1u << n) - 1u); }
  static F zero() { return _mm512_setzero_ps(); }
  static F set1(float x) { return _mm512_set1_ps(x); }
  static F load(const float* p) { return _mm512_loadu_ps(p); }
  static void store(float* p, F v) { _mm512_storeu_ps(p, v); }
  static F load_n(const float* p, int n) { return _mm512_maskz_loadu_ps(mask(n), p); }
  static void store_n(float* p, F v, int n) { _mm512_mask_storeu_ps(p, mask(n), v); }
  static F bcast(const float* p) { return _mm512_set1_ps(*p); }
  static F fma(F a, F b, F c) { return _mm512_fmadd_ps(a, b, c); }
  static F add(F a, F b) { return _mm512_add_ps(a, b); }
  static F sub(F a, F b) { return _mm512_sub_ps(a, b); }
  static F mul(F a, F b) { return _mm512_mul_ps(a, b); }
  static F div(F a, F b) { return _mm512_div_ps(a, b); }
  static F sqrt(F a) { return _mm512_sqrt_ps(a); }
  // e^x = 2^(x log2 e) = 2^n 2^f, |f| <= 1/2, 2^f by a degree-5 polynomial (relative error 2e-7);
  // vscalefps applies 2^n. Below 2^-126 gives 0, above 2^128 +Infinity.
  static F exp(F x) {
    const F t0 = _mm512_mul_ps(x, _mm512_set1_ps(1.44269504088896341f));
    const __mmask16 keep = _mm512_cmp_ps_mask(t0, _mm512_set1_ps(-126.0f), _CMP_NLT_UQ);
    const F t = _mm512_min_ps(_mm512_set1_ps(128.0f), t0);
    const F n = _mm512_roundscale_ps(t, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    const F f = _mm512_sub_ps(t, n);
    F p = _mm512_set1_ps(1.327647129073739e-3f);
    p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(9.675540961325169e-3f));
    p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(5.550713092088699e-2f));
    p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(2.4022120237350464e-1f));
    p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(6.931469440460205e-1f));
    p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(1.0000001192092896f));
    return _mm512_maskz_scalef_ps(keep, p, n);
  }
  static float hsum(F v) { return _mm512_reduce_add_ps(v); }
  static float first(F v) { return _mm512_cvtss_f32(v); }
  static __m512i mix(__m512i x) {
    x = _mm512_xor_si512(x, _mm512_srli_epi32(x, 16));
    x = _mm512_mullo_epi32(x, _mm512_set1_epi32(0x7feb352d));
    x = _mm512_xor_si512(x, _mm512_srli_epi32(x, 15));
    x = _mm512_mullo_epi32(x, _mm512_set1_epi32(static_cast<int32_t>(0x846ca68bu)));
    return _mm512_xor_si512(x, _mm512_srli_epi32(x, 16));
  }
  // regen/train.h's dropout_keep on 16 consecutive indices: (mix32(mix32(i) + key) >> 8) >= threshold.
  static F keep_mul(F x, uint32_t index, uint32_t key, uint32_t threshold, F scale) {
    const __m512i idx = _mm512_add_epi32(_mm512_set1_epi32(static_cast<int32_t>(index)),
                                         _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15));
    const __m512i h = _mm512_srli_epi32(mix(_mm512_add_epi32(mix(idx), _mm512_set1_epi32(static_cast<int32_t>(key)))), 8);
    const __mmask16 keep = _mm512_cmpge_epu32_mask(h, _mm512_set1_epi32(static_cast<int32_t>(threshold)));
    return _mm512_maskz_mul_ps(keep, x, scale);
  }
};
constexpr int MR = 6;
constexpr int NV = 4;

#include "kernels.inl"

}  // namespace

Kernels kernels_avx512() { return make_kernels(); }

}  // namespace regen::train::detail
REGEN_TARGET_END

#else
namespace regen::train::detail {
Kernels kernels_avx512() { return Kernels{}; }
}  // namespace regen::train::detail
#endif
