#include "regen/bootstrap.h"

#include <algorithm>
#include <atomic>
#include <vector>

#include "common/thread_pool.h"

namespace regen {
namespace {

// splitmix64: decorrelated streams from (seed, sample).
uint64_t splitmix64(uint64_t x) {
  x += 0x9E3779B97F4A7C15ull;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}

// xoshiro256** (Blackman and Vigna): fast, 64-bit output.
struct Xoshiro {
  uint64_t s[4];
  explicit Xoshiro(uint64_t seed) {
    for (auto& x : s) x = seed = splitmix64(seed);
  }
  static uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
  uint64_t next() {
    const uint64_t result = rotl(s[1] * 5, 7) * 9;
    const uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
  }
  // Uniform in [0, n): the high half of a 64 x 64-bit product (Lemire); bias below n / 2^64.
  uint64_t below(uint64_t n) { return static_cast<uint64_t>((static_cast<unsigned __int128>(next()) * n) >> 64); }
};

// Rows drawn (and prefetched) ahead of adding them.
constexpr int kBlock = 32;

// One resample's sums: n draws, each drawn row added to the sums in draw order. `stride` doubles per
// row. With W a compile-time width (rows padded to W columns with zeros, 64-byte aligned) the sums
// live in registers, one column per lane; each column is still added one row at a time in draw order,
// so the sums are bit-identical to the plain loop (W = 0: any `columns`, sums in memory).
template <int W>
void resample(const double* values, int64_t n, int32_t columns, int64_t stride, Xoshiro& rng, double* out) {
  double acc[W > 0 ? W : 1] = {};
  std::vector<double> wide(W > 0 ? 0 : static_cast<size_t>(columns), 0.0);
  // Draws a block of rows ahead and prefetches them: the rows of a large evaluation do not fit in
  // cache, and one random row at a time waits on memory.
  const double* rows[kBlock];
  for (int64_t i = 0; i < n; i += kBlock) {
    const int m = static_cast<int>(std::min<int64_t>(kBlock, n - i));
    for (int j = 0; j < m; ++j) {
      rows[j] = values + static_cast<int64_t>(rng.below(static_cast<uint64_t>(n))) * stride;
      __builtin_prefetch(rows[j]);
      __builtin_prefetch(rows[j] + stride - 1);
    }
    if constexpr (W > 0) {
      for (int j = 0; j < m; ++j) {
        const double* row = static_cast<const double*>(__builtin_assume_aligned(rows[j], 64));
        for (int c = 0; c < W; ++c) acc[c] += row[c];
      }
    } else {
      for (int j = 0; j < m; ++j)
        for (int32_t c = 0; c < columns; ++c) wide[static_cast<size_t>(c)] += rows[j][c];
    }
  }
  if constexpr (W > 0)
    std::copy(acc, acc + columns, out);
  else
    std::copy(wide.begin(), wide.end(), out);
}

template <int W>
void run_samples(const double* values, int64_t n, int32_t columns, int64_t stride, int32_t samples, uint32_t seed, double* out,
                 int threads) {
  std::atomic<int32_t> next{0};
  detail::run_parallel(std::max(1, std::min(threads, samples)), [&](int) {
    for (int32_t s; (s = next.fetch_add(1, std::memory_order_relaxed)) < samples;) {
      Xoshiro rng(splitmix64((static_cast<uint64_t>(seed) << 32) ^ static_cast<uint64_t>(s)));
      resample<W>(values, n, columns, stride, rng, out + static_cast<int64_t>(s) * columns);
    }
  });
}

// A copy of the rows padded to W columns of zeros, on 64-byte boundaries (a row of 8 or 16 doubles is
// exactly one or two cache lines).
struct Padded {
  std::vector<double> storage;
  const double* data = nullptr;
  Padded(const double* values, int64_t n, int32_t columns, int W) {
    storage.assign(static_cast<size_t>(n) * static_cast<size_t>(W) + 8, 0.0);
    double* base = storage.data();
    while (reinterpret_cast<uintptr_t>(base) % 64 != 0) ++base;
    for (int64_t r = 0; r < n; ++r) std::copy(values + r * columns, values + (r + 1) * columns, base + r * W);
    data = base;
  }
};

}  // namespace

void bootstrap_sums(const double* values, int64_t n, int32_t columns, int32_t samples, uint32_t seed, double* out,
                    int threads) {
  if (columns <= 8) {
    const Padded p(values, n, columns, 8);
    run_samples<8>(p.data, n, columns, 8, samples, seed, out, threads);
  } else if (columns <= 16) {
    const Padded p(values, n, columns, 16);
    run_samples<16>(p.data, n, columns, 16, samples, seed, out, threads);
  } else {
    run_samples<0>(values, n, columns, columns, samples, seed, out, threads);
  }
}

}  // namespace regen
