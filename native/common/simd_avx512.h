// AVX-512 (F, BW, DQ, VL) traits for scan_kernel.inl: 16 query rows per vector. Include inside
// an anonymous namespace, within a REGEN_TARGET_BEGIN region that enables AVX-512.
#pragma once

struct V {
  static constexpr int L = 16;
  using F = __m512;
  using I = __m512i;
  using M = __mmask16;
  static F zero() { return _mm512_setzero_ps(); }
  static F set1(float x) { return _mm512_set1_ps(x); }
  static I set1_i(int32_t x) { return _mm512_set1_epi32(x); }
  static F load(const float* p) { return _mm512_loadu_ps(p); }
  static void store(float* p, F v) { _mm512_storeu_ps(p, v); }
  static I load_i(const int32_t* p) { return _mm512_loadu_si512(p); }
  static void store_i(int32_t* p, I v) { _mm512_storeu_si512(p, v); }
  static F bcast(const float* p) { return _mm512_set1_ps(*p); }
  static F fma(F a, F b, F c) { return _mm512_fmadd_ps(a, b, c); }
  static F add(F a, F b) { return _mm512_add_ps(a, b); }
  static F sub(F a, F b) { return _mm512_sub_ps(a, b); }
  static F mul(F a, F b) { return _mm512_mul_ps(a, b); }
  static F max(F a, F b) { return _mm512_max_ps(a, b); }  // NaN in a: returns b
  static F min(F a, F b) { return _mm512_min_ps(a, b); }
  static M cmp_gt(F a, F b) { return _mm512_cmp_ps_mask(a, b, _CMP_GT_OQ); }
  static M cmp_ge(F a, F b) { return _mm512_cmp_ps_mask(a, b, _CMP_GE_OQ); }
  static M cmp_eq(F a, F b) { return _mm512_cmp_ps_mask(a, b, _CMP_EQ_OQ); }
  static M lt_i(I a, I b) { return _mm512_cmplt_epi32_mask(a, b); }
  static M and_(M a, M b) { return static_cast<M>(a & b); }
  static M or_(M a, M b) { return static_cast<M>(a | b); }
  static bool any(M m) { return m != 0; }
  static uint32_t bits(M m) { return m; }
  static M from_bits(uint32_t b) { return static_cast<M>(b); }
  static F blend(M m, F a, F b) { return _mm512_mask_blend_ps(m, a, b); }
  static I count(I c, M m) { return _mm512_mask_sub_epi32(c, m, c, _mm512_set1_epi32(-1)); }
  // 2^x = 2^n * 2^f with n = round(x), |f| <= 1/2; 2^f by a degree-5 minimax polynomial (relative
  // error 2.1e-7 in float arithmetic); vscalefps applies 2^n. Lanes below 2^-126 (and -Infinity) give 0.
  static F exp2(F x) {
    const M keep = _mm512_cmp_ps_mask(x, _mm512_set1_ps(-126.0f), _CMP_NLT_UQ);
    const F n = _mm512_roundscale_ps(x, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    const F f = _mm512_sub_ps(x, n);
    F p = _mm512_set1_ps(1.327647129073739e-3f);
    p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(9.675540961325169e-3f));
    p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(5.550713092088699e-2f));
    p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(2.4022120237350464e-1f));
    p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(6.931469440460205e-1f));
    p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(1.0000001192092896f));
    return _mm512_maskz_scalef_ps(keep, p, n);
  }
  // Top-k as a sorted list of 16 (score, id) entries, best first (lower id first among equal
  // scores), empty entries (-Infinity, INT32_MAX): inserting (x, id) is a compare and two expands,
  // no branch. Returns the k-th entry's score, the admission threshold (-Infinity until k are kept).
  static constexpr bool kSortedTopK = true;
  static float topk_insert(float* scores, int32_t* ids, int32_t k, float x, int32_t id) {
    const F s = _mm512_loadu_ps(scores);
    const I d = _mm512_loadu_si512(ids);
    const F xv = _mm512_set1_ps(x);
    const I iv = _mm512_set1_epi32(id);
    const M ahead = _mm512_cmp_ps_mask(s, xv, _CMP_GT_OQ) | _mm512_mask_cmplt_epi32_mask(_mm512_cmp_ps_mask(s, xv, _CMP_EQ_OQ), d, iv);
    // The entries ahead of (x, id) are a prefix: (x, id) goes to lane p, the rest move up one lane
    // and the last falls off (p = 16: nothing changes).
    const M keep = static_cast<M>(~(1u << __builtin_popcount(ahead)));
    const F next = _mm512_mask_expand_ps(xv, keep, s);
    _mm512_storeu_ps(scores, next);
    _mm512_storeu_si512(ids, _mm512_mask_expand_epi32(iv, keep, d));
    // The k-th entry from the register: a load right after the 64-byte store waited for it.
    return _mm512_cvtss_f32(_mm512_permutexvar_ps(_mm512_set1_epi32(k - 1), next));
  }
};
