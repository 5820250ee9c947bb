// AVX2 + FMA training kernels: 8 floats per vector, 6 x 16 matrix-product tiles.
#include <cmath>
#include <cstdint>
#include <utility>

#include "kernels.h"
#include "regen/train.h"

#if defined(__x86_64__)
#include <immintrin.h>

#include "common/isa_target.h"

REGEN_TARGET_BEGIN("avx2,fma")
namespace regen::train::detail {
namespace {

struct TV {
  static constexpr int L = 8;
  using F = __m256;
  static __m256i mask(int n) { return _mm256_cmpgt_epi32(_mm256_set1_epi32(n), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7)); }
  static F zero() { return _mm256_setzero_ps(); }
  static F set1(float x) { return _mm256_set1_ps(x); }
  static F load(const float* p) { return _mm256_loadu_ps(p); }
  static void store(float* p, F v) { _mm256_storeu_ps(p, v); }
  static F load_n(const float* p, int n) { return _mm256_maskload_ps(p, mask(n)); }
  static void store_n(float* p, F v, int n) { _mm256_maskstore_ps(p, mask(n), v); }
  static F bcast(const float* p) { return _mm256_broadcast_ss(p); }
  static F fma(F a, F b, F c) { return _mm256_fmadd_ps(a, b, c); }
  static F add(F a, F b) { return _mm256_add_ps(a, b); }
  static F sub(F a, F b) { return _mm256_sub_ps(a, b); }
  static F mul(F a, F b) { return _mm256_mul_ps(a, b); }
  static F div(F a, F b) { return _mm256_div_ps(a, b); }
  static F sqrt(F a) { return _mm256_sqrt_ps(a); }
  // e^x = 2^(x log2 e) = 2^n 2^f, |f| <= 1/2, 2^f by a degree-5 polynomial (relative error 2e-7);
  // below 2^-126 gives 0, above 2^128 +Infinity.
  static F exp(F x) {
    const F t0 = _mm256_mul_ps(x, _mm256_set1_ps(1.44269504088896341f));
    const F keep = _mm256_cmp_ps(t0, _mm256_set1_ps(-126.0f), _CMP_NLT_UQ);
    const F t = _mm256_min_ps(_mm256_set1_ps(128.0f), t0);
    const F n = _mm256_round_ps(t, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    const F f = _mm256_sub_ps(t, n);
    F p = _mm256_set1_ps(1.327647129073739e-3f);
    p = _mm256_fmadd_ps(p, f, _mm256_set1_ps(9.675540961325169e-3f));
    p = _mm256_fmadd_ps(p, f, _mm256_set1_ps(5.550713092088699e-2f));
    p = _mm256_fmadd_ps(p, f, _mm256_set1_ps(2.4022120237350464e-1f));
    p = _mm256_fmadd_ps(p, f, _mm256_set1_ps(6.931469440460205e-1f));
    p = _mm256_fmadd_ps(p, f, _mm256_set1_ps(1.0000001192092896f));
    // 2^n in two factors so that n = 128 (and 2^127 p) stay representable until the product.
    const __m256i ni = _mm256_cvtps_epi32(n);
    const __m256i h = _mm256_srai_epi32(ni, 1);
    const F s1 = _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(h, _mm256_set1_epi32(127)), 23));
    const F s2 = _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(_mm256_sub_epi32(ni, h), _mm256_set1_epi32(127)), 23));
    return _mm256_and_ps(_mm256_mul_ps(_mm256_mul_ps(p, s1), s2), keep);
  }
  static float hsum(F v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
  }
  static float first(F v) { return _mm256_cvtss_f32(v); }
  static __m256i mix(__m256i x) {
    x = _mm256_xor_si256(x, _mm256_srli_epi32(x, 16));
    x = _mm256_mullo_epi32(x, _mm256_set1_epi32(0x7feb352d));
    x = _mm256_xor_si256(x, _mm256_srli_epi32(x, 15));
    x = _mm256_mullo_epi32(x, _mm256_set1_epi32(static_cast<int32_t>(0x846ca68bu)));
    return _mm256_xor_si256(x, _mm256_srli_epi32(x, 16));
  }
  // regen/train.h's dropout_keep on 8 consecutive indices: (mix32(mix32(i) + key) >> 8) >= threshold.
  static F keep_mul(F x, uint32_t index, uint32_t key, uint32_t threshold, F scale) {
    const __m256i idx = _mm256_add_epi32(_mm256_set1_epi32(static_cast<int32_t>(index)), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
    const __m256i h = _mm256_srli_epi32(mix(_mm256_add_epi32(mix(idx), _mm256_set1_epi32(static_cast<int32_t>(key)))), 8);
    const __m256i keep = _mm256_cmpgt_epi32(h, _mm256_set1_epi32(static_cast<int32_t>(threshold) - 1));
    return _mm256_and_ps(_mm256_mul_ps(x, scale), _mm256_castsi256_ps(keep));
  }
};
constexpr int MR = 6;
constexpr int NV = 2;

#include "kernels.inl"

}  // namespace

Kernels kernels_avx2() { return make_kernels(); }

}  // namespace regen::train::detail
REGEN_TARGET_END

#else
namespace regen::train::detail {
Kernels kernels_avx2() { return Kernels{}; }
}  // namespace regen::train::detail
#endif
