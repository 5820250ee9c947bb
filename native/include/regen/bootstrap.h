// Bootstrap resampling of per-example values, the hot loop of confidence intervals: for each of
// `samples` resamples (n draws with replacement), the column sums of the drawn rows. Plain C++.
#pragma once

#include <cstdint>

namespace regen {

// values: n x columns, row-major. out: samples x columns. Resample s draws its rows from a
// generator seeded by (seed, s), so the result does not depend on the thread count.
void bootstrap_sums(const double* values, int64_t n, int32_t columns, int32_t samples, uint32_t seed, double* out,
                    int threads);

}  // namespace regen
