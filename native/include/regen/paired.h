// The resampling loops of compare's paired tests (src/eval/bootstrap.ts pairedTest, and corpus BLEU's
// in src/eval/compare.ts), on the random stream the TypeScript loops drew from: mulberry32 seeded with
// `seed` (src/util/random.ts), each resample taking n draws in turn. Sums are added in draw order, so
// they are bit-identical to the TypeScript loops. Plain C++.
#pragma once

#include <cstdint>

namespace regen {

enum class PairedMode : int32_t {
  // Approximate randomisation: draw u per row; u < 0.5 flips the row (negates every column).
  kNegate = 0,
  // The same with rows of two halves [a, b]: a flip swaps the halves (corpus BLEU's statistics).
  kSwap = 1,
  // Paired bootstrap: n rows drawn with replacement, row floor(u * n).
  kDraw = 2,
};

// values: n x columns, row-major. out: samples x columns, the sums of each resample. Resample s starts
// at draw `skip + s * n` of the stream (mulberry32's state is a counter: any draw is reached at once),
// so the result does not depend on the thread count. allow_avx512: one-column rows may take the AVX-512
// loop where the CPU has it (the same sums; false runs the portable loop, for tests).
void paired_sums(const double* values, int64_t n, int32_t columns, int32_t samples, uint32_t seed, uint64_t skip, PairedMode mode,
                 double* out, int threads, bool allow_avx512 = true);

}  // namespace regen
