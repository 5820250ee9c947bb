// AVX2 + FMA traits for scan_kernel.inl: 8 query rows per vector. Include inside an anonymous
// namespace, within a REGEN_TARGET_BEGIN region that enables AVX2 and FMA. (The AVX512-BF16 file
// includes it too, for its 256-bit kernel of small batches.)
#pragma once

struct V {
  static constexpr bool kSortedTopK = false;  // top-k by heap (topk_offer)
  static constexpr int L = 8;
  using F = __m256;
  using I = __m256i;
  using M = __m256;  // all-ones lanes
  static F zero() { return _mm256_setzero_ps(); }
  static F set1(float x) { return _mm256_set1_ps(x); }
  static I set1_i(int32_t x) { return _mm256_set1_epi32(x); }
  static F load(const float* p) { return _mm256_loadu_ps(p); }
  static void store(float* p, F v) { _mm256_storeu_ps(p, v); }
  static I load_i(const int32_t* p) { return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)); }
  static void store_i(int32_t* p, I v) { _mm256_storeu_si256(reinterpret_cast<__m256i*>(p), v); }
  static F bcast(const float* p) { return _mm256_broadcast_ss(p); }
  static F fma(F a, F b, F c) { return _mm256_fmadd_ps(a, b, c); }
  static F add(F a, F b) { return _mm256_add_ps(a, b); }
  static F sub(F a, F b) { return _mm256_sub_ps(a, b); }
  static F mul(F a, F b) { return _mm256_mul_ps(a, b); }
  static F max(F a, F b) { return _mm256_max_ps(a, b); }  // NaN in a: returns b
  static F min(F a, F b) { return _mm256_min_ps(a, b); }
  static M cmp_gt(F a, F b) { return _mm256_cmp_ps(a, b, _CMP_GT_OQ); }
  static M cmp_ge(F a, F b) { return _mm256_cmp_ps(a, b, _CMP_GE_OQ); }
  static M cmp_eq(F a, F b) { return _mm256_cmp_ps(a, b, _CMP_EQ_OQ); }
  static M lt_i(I a, I b) { return _mm256_castsi256_ps(_mm256_cmpgt_epi32(b, a)); }
  static M and_(M a, M b) { return _mm256_and_ps(a, b); }
  static M or_(M a, M b) { return _mm256_or_ps(a, b); }
  static bool any(M m) { return !_mm256_testz_ps(m, m); }
  static uint32_t bits(M m) { return static_cast<uint32_t>(_mm256_movemask_ps(m)); }
  static M from_bits(uint32_t b) {
    const I lane_bit = _mm256_setr_epi32(1, 2, 4, 8, 16, 32, 64, 128);
    const I v = _mm256_and_si256(_mm256_set1_epi32(static_cast<int32_t>(b)), lane_bit);
    return _mm256_castsi256_ps(_mm256_cmpeq_epi32(v, lane_bit));
  }
  static F blend(M m, F a, F b) { return _mm256_blendv_ps(a, b, m); }
  static I count(I c, M m) { return _mm256_sub_epi32(c, _mm256_castps_si256(m)); }
  // As the AVX-512 version, with 2^n built in the exponent field: n is in [-126, 128] for every
  // lane kept (128 gives +Infinity; larger x is clamped there).
  static F exp2(F x) {
    const F keep = _mm256_cmp_ps(x, _mm256_set1_ps(-126.0f), _CMP_NLT_UQ);
    const F t = _mm256_min_ps(_mm256_set1_ps(128.0f), x);
    const F n = _mm256_round_ps(t, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    const F f = _mm256_sub_ps(t, n);
    F p = _mm256_set1_ps(1.327647129073739e-3f);
    p = _mm256_fmadd_ps(p, f, _mm256_set1_ps(9.675540961325169e-3f));
    p = _mm256_fmadd_ps(p, f, _mm256_set1_ps(5.550713092088699e-2f));
    p = _mm256_fmadd_ps(p, f, _mm256_set1_ps(2.4022120237350464e-1f));
    p = _mm256_fmadd_ps(p, f, _mm256_set1_ps(6.931469440460205e-1f));
    p = _mm256_fmadd_ps(p, f, _mm256_set1_ps(1.0000001192092896f));
    const I e = _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127)), 23);
    return _mm256_and_ps(_mm256_mul_ps(p, _mm256_castsi256_ps(e)), keep);
  }
};
