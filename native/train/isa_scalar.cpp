// Portable training kernels (any CPU): one float per "vector", small register tiles.
#include <cmath>
#include <cstdint>
#include <utility>

#include "kernels.h"
#include "regen/train.h"

namespace regen::train::detail {
namespace {

struct TV {
  static constexpr int L = 1;
  using F = float;
  static F zero() { return 0.0f; }
  static F set1(float x) { return x; }
  static F load(const float* p) { return *p; }
  static void store(float* p, F v) { *p = v; }
  static F load_n(const float* p, int) { return *p; }
  static void store_n(float* p, F v, int) { *p = v; }
  static F bcast(const float* p) { return *p; }
  static F fma(F a, F b, F c) { return a * b + c; }
  static F add(F a, F b) { return a + b; }
  static F sub(F a, F b) { return a - b; }
  static F mul(F a, F b) { return a * b; }
  static F div(F a, F b) { return a / b; }
  static F sqrt(F a) { return std::sqrt(a); }
  static F exp(F x) { return std::exp(x); }
  static float hsum(F v) { return v; }
  static float first(F v) { return v; }
  static F keep_mul(F x, uint32_t index, uint32_t key, uint32_t threshold, F scale) {
    return dropout_keep(key, index, threshold) ? x * scale : 0.0f;
  }
};
constexpr int MR = 4;
constexpr int NV = 4;

#include "kernels.inl"

}  // namespace

Kernels kernels_scalar() { return make_kernels(); }

}  // namespace regen::train::detail
