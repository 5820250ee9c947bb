#include "regen/paired.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstring>
#include <vector>

#include "common/thread_pool.h"
#include "regen/cpu_features.h"

#if defined(__x86_64__)
#include <immintrin.h>

#include "common/isa_target.h"
#endif

namespace regen {
namespace {

constexpr uint32_t kStep = 0x6D2B79F5u;

// mulberry32 as src/util/random.ts writes it: Math.imul is the low 32 bits of the product, and the
// additions wrap as the ^= and >>> 0 there do.
// The state before draw m: seed + m * kStep (mod 2^32).
uint32_t state_at(uint32_t seed, uint64_t m) { return seed + static_cast<uint32_t>(m) * kStep; }

// mulberry32's output for state a (after the step), as an integer: the draw is out / 2^32, exactly.
inline uint32_t mix(uint32_t a) {
  uint32_t t = a;
  t = (t ^ (t >> 15)) * (t | 1u);
  t ^= t + (t ^ (t >> 7)) * (t | 61u);
  return t ^ (t >> 14);
}

// The row a draw picks: floor(u * n) with u = t / 2^32, in doubles as the TypeScript loop computes it.
// The product is never negative, so truncation is the floor (and no libm call on a baseline x86-64).
inline int64_t drawn_row(uint32_t t, double dn) { return static_cast<int64_t>(static_cast<double>(t) / 4294967296.0 * dn); }

// Resamples run kLanes at a time, each lane its own resample and stream: one resample's sums are a
// chain of dependent additions, and interleaving lanes keeps the core busy while each chain waits.
constexpr int kLanes = 8;

// The sums of up to kLanes resamples (lanes), each from its own start state. C: the columns when known
// at compile time (1 for per-example scores, 20 for two systems' BLEU statistics), 0 for any.
template <PairedMode M, int C>
void resample_lanes(const double* values, int64_t n, int32_t columns_rt, const uint32_t* start, int lanes, double* out) {
  const int32_t columns = C > 0 ? C : columns_rt;
  const int32_t half = columns / 2;
  uint32_t a[kLanes];
  std::vector<double> acc(static_cast<size_t>(kLanes) * static_cast<size_t>(columns), 0.0);
  double* sum = acc.data();
  for (int l = 0; l < kLanes; ++l) a[l] = l < lanes ? start[l] : start[0];
  const double dn = static_cast<double>(n);
  for (int64_t i = 0; i < n; ++i) {
    const double* row = values + i * columns;
    for (int l = 0; l < kLanes; ++l) {
      a[l] += kStep;
      const uint32_t t = mix(a[l]);
      double* s = sum + l * columns;
      if constexpr (M == PairedMode::kDraw) {
        const double* drawn = values + drawn_row(t, dn) * columns;
        for (int32_t c = 0; c < columns; ++c) s[c] += drawn[c];
      } else if constexpr (M == PairedMode::kNegate) {
        // u < 0.5 exactly when t < 2^31; the negation is the sign bit flipped, without a branch.
        const uint64_t sign = static_cast<uint64_t>(t < 0x80000000u) << 63;
        for (int32_t c = 0; c < columns; ++c) {
          uint64_t bits;
          std::memcpy(&bits, row + c, sizeof bits);
          bits ^= sign;
          double x;
          std::memcpy(&x, &bits, sizeof x);
          s[c] += x;
        }
      } else {
        const bool flip = t < 0x80000000u;
        const double* first = flip ? row + half : row;
        const double* second = flip ? row : row + half;
        for (int32_t c = 0; c < half; ++c) s[c] += first[c];
        for (int32_t c = 0; c < half; ++c) s[half + c] += second[c];
      }
    }
  }
  std::copy(sum, sum + static_cast<int64_t>(lanes) * columns, out);
}

#if defined(__x86_64__)
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
// GCC 12's AVX-512 headers trip this warning on their own undefined-vector helpers.
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
REGEN_TARGET_BEGIN("avx512f,avx512dq,avx512vl,avx2")
// One-column rows (per-example scores), 16 resamples per pass: the generator's 32-bit lanes in one
// register, the sums in two registers of 8 doubles. Per lane the same operations as resample_lanes,
// in the same order: bit-identical.
void resample16_one_column(const double* values, int64_t n, PairedMode mode, const uint32_t* start, int lanes, double* out) {
  alignas(64) uint32_t init[16];
  for (int l = 0; l < 16; ++l) init[l] = l < lanes ? start[l] : start[0];
  __m512i a = _mm512_load_si512(init);
  const __m512i step = _mm512_set1_epi32(static_cast<int>(kStep));
  const __m512i one = _mm512_set1_epi32(1);
  const __m512i sixty_one = _mm512_set1_epi32(61);
  const __m512i half = _mm512_set1_epi32(static_cast<int>(0x80000000u));
  const __m512d scale = _mm512_set1_pd(1.0 / 4294967296.0);  // a power of two: u = t * scale exactly
  const __m512d dn = _mm512_set1_pd(static_cast<double>(n));
  __m512d lo = _mm512_setzero_pd();
  __m512d hi = _mm512_setzero_pd();
  for (int64_t i = 0; i < n; ++i) {
    a = _mm512_add_epi32(a, step);
    __m512i t = _mm512_mullo_epi32(_mm512_xor_si512(a, _mm512_srli_epi32(a, 15)), _mm512_or_si512(a, one));
    t = _mm512_xor_si512(t, _mm512_add_epi32(t, _mm512_mullo_epi32(_mm512_xor_si512(t, _mm512_srli_epi32(t, 7)), _mm512_or_si512(t, sixty_one))));
    t = _mm512_xor_si512(t, _mm512_srli_epi32(t, 14));
    if (mode == PairedMode::kNegate) {
      const __mmask16 flip = _mm512_cmplt_epu32_mask(t, half);
      const __m512d x = _mm512_set1_pd(values[i]);
      const __m512d negated = _mm512_set1_pd(-values[i]);
      lo = _mm512_add_pd(lo, _mm512_mask_mov_pd(x, static_cast<__mmask8>(flip), negated));
      hi = _mm512_add_pd(hi, _mm512_mask_mov_pd(x, static_cast<__mmask8>(flip >> 8), negated));
    } else {
      const __m512d u_lo = _mm512_mul_pd(_mm512_cvtepu32_pd(_mm512_castsi512_si256(t)), scale);
      const __m512d u_hi = _mm512_mul_pd(_mm512_cvtepu32_pd(_mm512_extracti64x4_epi64(t, 1)), scale);
      const __m512i r_lo = _mm512_cvttpd_epi64(_mm512_roundscale_pd(_mm512_mul_pd(u_lo, dn), _MM_FROUND_TO_NEG_INF | _MM_FROUND_NO_EXC));
      const __m512i r_hi = _mm512_cvttpd_epi64(_mm512_roundscale_pd(_mm512_mul_pd(u_hi, dn), _MM_FROUND_TO_NEG_INF | _MM_FROUND_NO_EXC));
      lo = _mm512_add_pd(lo, _mm512_i64gather_pd(r_lo, values, 8));
      hi = _mm512_add_pd(hi, _mm512_i64gather_pd(r_hi, values, 8));
    }
  }
  alignas(64) double sums[16];
  _mm512_store_pd(sums, lo);
  _mm512_store_pd(sums + 8, hi);
  std::copy(sums, sums + lanes, out);
}

// Integer rows (see integer_rows below), 'swap', 8 resamples per pass: per resample the sum over its
// flipped rows of (second half - first half), half <= 16 columns as two registers of doubles. The
// values are integers and every partial sum is below 2^53, so the order of the additions does not
// matter and the sums are exact.
void swap_integers_avx512(const double* diff, int64_t n, const uint32_t* start, int lanes, double* flipped) {
  alignas(32) uint32_t init[8];
  for (int l = 0; l < 8; ++l) init[l] = l < lanes ? start[l] : start[0];
  __m256i a = _mm256_load_si256(reinterpret_cast<const __m256i*>(init));
  const __m256i step = _mm256_set1_epi32(static_cast<int>(kStep));
  const __m256i one = _mm256_set1_epi32(1);
  const __m256i sixty_one = _mm256_set1_epi32(61);
  const __m256i half = _mm256_set1_epi32(static_cast<int>(0x80000000u));
  __m512d acc[8][2];
  for (int l = 0; l < 8; ++l) acc[l][0] = acc[l][1] = _mm512_setzero_pd();
  for (int64_t i = 0; i < n; ++i) {
    a = _mm256_add_epi32(a, step);
    __m256i t = _mm256_mullo_epi32(_mm256_xor_si256(a, _mm256_srli_epi32(a, 15)), _mm256_or_si256(a, one));
    t = _mm256_xor_si256(t, _mm256_add_epi32(t, _mm256_mullo_epi32(_mm256_xor_si256(t, _mm256_srli_epi32(t, 7)), _mm256_or_si256(t, sixty_one))));
    t = _mm256_xor_si256(t, _mm256_srli_epi32(t, 14));
    const unsigned flip = _mm256_cmplt_epu32_mask(t, half);
    const __m512d d0 = _mm512_loadu_pd(diff + i * 16);
    const __m512d d1 = _mm512_loadu_pd(diff + i * 16 + 8);
#pragma GCC unroll 8
    for (int l = 0; l < 8; ++l) {
      const __mmask8 m = static_cast<__mmask8>(-static_cast<int>((flip >> l) & 1u));
      acc[l][0] = _mm512_mask_add_pd(acc[l][0], m, acc[l][0], d0);
      acc[l][1] = _mm512_mask_add_pd(acc[l][1], m, acc[l][1], d1);
    }
  }
  for (int l = 0; l < lanes; ++l) {
    _mm512_storeu_pd(flipped + l * 16, acc[l][0]);
    _mm512_storeu_pd(flipped + l * 16 + 8, acc[l][1]);
  }
}

// Integer rows, 'draw': count x row over the rows (int32, `width` a multiple of 8, at most 32), one
// resample's counts; exact for the same reason.
void weigh_integers_avx512(const int32_t* rows, int32_t width, int64_t n, const uint32_t* counts, double* sums) {
  __m512d acc[4] = {_mm512_setzero_pd(), _mm512_setzero_pd(), _mm512_setzero_pd(), _mm512_setzero_pd()};
  const int32_t blocks = width / 8;
  for (int64_t i = 0; i < n; ++i) {
    const __m512d c = _mm512_set1_pd(static_cast<double>(counts[i]));
    const int32_t* row = rows + i * width;
    for (int32_t b = 0; b < blocks; ++b)
      acc[b] = _mm512_add_pd(acc[b], _mm512_mul_pd(c, _mm512_cvtepi32_pd(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(row + 8 * b)))));
  }
  for (int32_t b = 0; b < blocks; ++b) _mm512_storeu_pd(sums + 8 * b, acc[b]);
}
REGEN_TARGET_END
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif
#endif

// Whether resample16_one_column runs here.
bool one_column_avx512() {
#if defined(__x86_64__)
  const CpuFeatures& f = cpu_features();
  return f.avx512f && f.avx512dq && f.avx512vl;
#else
  return false;
#endif
}

template <PairedMode M>
void resample_lanes_for(const double* values, int64_t n, int32_t columns, const uint32_t* start, int lanes, double* out) {
  if (columns == 1)
    resample_lanes<M, 1>(values, n, columns, start, lanes, out);
  else if (columns == 20)
    resample_lanes<M, 20>(values, n, columns, start, lanes, out);
  else
    resample_lanes<M, 0>(values, n, columns, start, lanes, out);
}

// Integer rows (corpus BLEU's statistics) whose sums cannot leave the integers a double holds
// exactly (n x the largest |value| below 2^52): every partial sum of the draw-order loop is exact, so a
// resample's sums are the same whatever order its rows are added in. They are counted in integers
// instead: 'draw' counts how often each row is drawn and adds count x row in one pass over the rows (no
// random access to rows that do not fit in cache), 'swap' adds the flipped rows' differences to the
// unflipped sums. Bit-identical to the draw-order loop by that bound.
bool integer_rows(const double* values, int64_t n, int32_t columns, std::vector<int32_t>& out) {
  const size_t size = static_cast<size_t>(n) * static_cast<size_t>(columns);
  out.resize(size);
  double largest = 0;
  for (size_t k = 0; k < size; ++k) {
    const double v = values[k];
    if (!(std::fabs(v) <= 2147483647.0) || v != std::trunc(v)) return false;
    out[k] = static_cast<int32_t>(v);
    largest = std::max(largest, std::fabs(v));
  }
  return largest * static_cast<double>(n) < 4503599627370496.0;  // 2^52
}

void resample_integers(const int32_t* rows, int64_t n, int32_t columns, PairedMode mode, uint32_t start, std::vector<uint32_t>& counts,
                       std::vector<int64_t>& acc, double* out) {
  acc.assign(static_cast<size_t>(columns), 0);
  int64_t* sum = acc.data();
  uint32_t a = start;
  if (mode == PairedMode::kDraw) {
    counts.assign(static_cast<size_t>(n), 0);
    const double dn = static_cast<double>(n);
    for (int64_t i = 0; i < n; ++i) {
      a += kStep;
      ++counts[static_cast<size_t>(drawn_row(mix(a), dn))];
    }
    for (int64_t i = 0; i < n; ++i) {
      const int64_t c = counts[static_cast<size_t>(i)];
      if (c == 0) continue;
      const int32_t* row = rows + i * columns;
      for (int32_t k = 0; k < columns; ++k) sum[k] += c * row[k];
    }
  } else if (mode == PairedMode::kSwap) {
    const int32_t half = columns / 2;
    for (int64_t i = 0; i < n; ++i)
      for (int32_t k = 0; k < columns; ++k) sum[k] += rows[i * columns + k];
    for (int64_t i = 0; i < n; ++i) {
      a += kStep;
      const int64_t keep = -static_cast<int64_t>(mix(a) < 0x80000000u);  // all ones for a flip
      const int32_t* row = rows + i * columns;
      for (int32_t k = 0; k < half; ++k) {
        const int64_t d = (static_cast<int64_t>(row[half + k]) - row[k]) & keep;
        sum[k] += d;
        sum[half + k] -= d;
      }
    }
  } else {
    for (int64_t i = 0; i < n; ++i) {
      a += kStep;
      const int64_t sign = mix(a) < 0x80000000u ? -1 : 1;
      const int32_t* row = rows + i * columns;
      for (int32_t k = 0; k < columns; ++k) sum[k] += sign * row[k];
    }
  }
  for (int32_t k = 0; k < columns; ++k) out[k] = static_cast<double>(sum[k]);
}

#if defined(__x86_64__)
// Integer rows on AVX-512: 'swap' as the unflipped sums plus each resample's flipped differences
// (swap_integers_avx512), 'draw' as counts weighed in one pass over the rows (weigh_integers_avx512).
void integer_sums_avx512(const int32_t* ints, int64_t n, int32_t columns, int32_t samples, uint32_t seed, uint64_t skip, PairedMode mode,
                         double* out, int threads) {
  const auto start_of = [&](int64_t s) { return state_at(seed, skip + static_cast<uint64_t>(s) * static_cast<uint64_t>(n)); };
  if (mode == PairedMode::kSwap) {
    const int32_t half = columns / 2;
    std::vector<double> diff(static_cast<size_t>(n) * 16, 0.0);
    std::vector<int64_t> base(static_cast<size_t>(columns), 0);
    for (int64_t i = 0; i < n; ++i)
      for (int32_t k = 0; k < columns; ++k) {
        const int32_t v = ints[i * columns + k];
        base[static_cast<size_t>(k)] += v;
        if (k < half) diff[static_cast<size_t>(i * 16 + k)] = static_cast<double>(static_cast<int64_t>(ints[i * columns + half + k]) - v);
      }
    const int32_t groups = (samples + 7) / 8;
    std::atomic<int32_t> next{0};
    detail::run_parallel(std::max(1, std::min(threads, groups)), [&](int) {
      double flipped[8 * 16];
      for (int32_t g; (g = next.fetch_add(1, std::memory_order_relaxed)) < groups;) {
        const int32_t first = g * 8;
        const int lanes = static_cast<int>(std::min<int32_t>(8, samples - first));
        uint32_t start[8];
        for (int l = 0; l < lanes; ++l) start[l] = start_of(first + l);
        swap_integers_avx512(diff.data(), n, start, lanes, flipped);
        for (int l = 0; l < lanes; ++l) {
          double* o = out + static_cast<int64_t>(first + l) * columns;
          for (int32_t k = 0; k < half; ++k) {
            const int64_t f = static_cast<int64_t>(flipped[l * 16 + k]);
            o[k] = static_cast<double>(base[static_cast<size_t>(k)] + f);
            o[half + k] = static_cast<double>(base[static_cast<size_t>(half + k)] - f);
          }
        }
      }
    });
    return;
  }
  const int32_t width = (columns + 7) / 8 * 8;
  std::vector<int32_t> rows(static_cast<size_t>(n) * static_cast<size_t>(width), 0);
  for (int64_t i = 0; i < n; ++i) std::copy(ints + i * columns, ints + (i + 1) * columns, rows.begin() + i * width);
  std::atomic<int32_t> next{0};
  detail::run_parallel(std::max(1, std::min(threads, samples)), [&](int) {
    std::vector<uint32_t> counts(static_cast<size_t>(n));
    double sums[32];
    const double dn = static_cast<double>(n);
    for (int32_t s; (s = next.fetch_add(1, std::memory_order_relaxed)) < samples;) {
      std::fill(counts.begin(), counts.end(), 0u);
      uint32_t a = start_of(s);
      for (int64_t i = 0; i < n; ++i) {
        a += kStep;
        ++counts[static_cast<size_t>(drawn_row(mix(a), dn))];
      }
      weigh_integers_avx512(rows.data(), width, n, counts.data(), sums);
      std::copy(sums, sums + columns, out + static_cast<int64_t>(s) * columns);
    }
  });
}
#endif

}  // namespace

void paired_sums(const double* values, int64_t n, int32_t columns, int32_t samples, uint32_t seed, uint64_t skip, PairedMode mode,
                 double* out, int threads, bool allow_avx512) {
  std::vector<int32_t> ints;
  // One-column scores (the common case) are fastest in the lanes below; wider integer rows are counted.
  const bool integers = columns > 1 && integer_rows(values, n, columns, ints);
#if defined(__x86_64__)
  if (integers && allow_avx512 && one_column_avx512() && mode != PairedMode::kNegate && columns <= 32) {
    integer_sums_avx512(ints.data(), n, columns, samples, seed, skip, mode, out, threads);
    return;
  }
#endif
  if (integers) {
    std::atomic<int32_t> next{0};
    detail::run_parallel(std::max(1, std::min(threads, samples)), [&](int) {
      std::vector<uint32_t> counts;
      std::vector<int64_t> acc;
      for (int32_t s; (s = next.fetch_add(1, std::memory_order_relaxed)) < samples;)
        resample_integers(ints.data(), n, columns, mode, state_at(seed, skip + static_cast<uint64_t>(s) * static_cast<uint64_t>(n)), counts, acc,
                          out + static_cast<int64_t>(s) * columns);
    });
    return;
  }
  const bool wide = allow_avx512 && columns == 1 && mode != PairedMode::kSwap && one_column_avx512();
  const int width = wide ? 16 : kLanes;
  const int32_t groups = (samples + width - 1) / width;
  std::atomic<int32_t> next{0};
  detail::run_parallel(std::max(1, std::min(threads, groups)), [&](int) {
    for (int32_t g; (g = next.fetch_add(1, std::memory_order_relaxed)) < groups;) {
      const int32_t first = g * width;
      const int lanes = static_cast<int>(std::min<int32_t>(width, samples - first));
      uint32_t start[16];
      for (int l = 0; l < lanes; ++l) start[l] = state_at(seed, skip + static_cast<uint64_t>(first + l) * static_cast<uint64_t>(n));
      double* o = out + static_cast<int64_t>(first) * columns;
#if defined(__x86_64__)
      if (wide) {
        resample16_one_column(values, n, mode, start, lanes, o);
        continue;
      }
#endif
      if (mode == PairedMode::kNegate)
        resample_lanes_for<PairedMode::kNegate>(values, n, columns, start, lanes, o);
      else if (mode == PairedMode::kSwap)
        resample_lanes_for<PairedMode::kSwap>(values, n, columns, start, lanes, o);
      else
        resample_lanes_for<PairedMode::kDraw>(values, n, columns, start, lanes, o);
    }
  });
}

}  // namespace regen
