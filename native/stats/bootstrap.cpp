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

}  // namespace

void bootstrap_sums(const double* values, int64_t n, int32_t columns, int32_t samples, uint32_t seed, double* out,
                    int threads) {
  std::atomic<int32_t> next{0};
  detail::run_parallel(std::max(1, std::min(threads, samples)), [&](int) {
    std::vector<double> sum(static_cast<size_t>(columns));
    for (int32_t s; (s = next.fetch_add(1, std::memory_order_relaxed)) < samples;) {
      Xoshiro rng(splitmix64((static_cast<uint64_t>(seed) << 32) ^ static_cast<uint64_t>(s)));
      std::fill(sum.begin(), sum.end(), 0.0);
      // Draws a block of rows ahead and prefetches them: the rows of a large evaluation do not fit in
      // cache, and one random row at a time waits on memory. The rows are still added in draw order,
      // so the sums are bit-identical to adding each row as it is drawn.
      const double* rows[kBlock];
      for (int64_t i = 0; i < n; i += kBlock) {
        const int m = static_cast<int>(std::min<int64_t>(kBlock, n - i));
        for (int j = 0; j < m; ++j) {
          rows[j] = values + static_cast<int64_t>(rng.below(static_cast<uint64_t>(n))) * columns;
          __builtin_prefetch(rows[j]);
          __builtin_prefetch(rows[j] + columns - 1);
        }
        for (int j = 0; j < m; ++j)
          for (int32_t c = 0; c < columns; ++c) sum[static_cast<size_t>(c)] += rows[j][c];
      }
      std::copy(sum.begin(), sum.end(), out + static_cast<int64_t>(s) * columns);
    }
  });
}

}  // namespace regen
