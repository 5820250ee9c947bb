// Portable scan kernels (any CPU): one query row per "vector". The same algorithm as the SIMD
// kernels, and bit-identical scores: std::fma rounds exactly as the vector FMA instructions.
#include <cmath>
#include <cstdint>

#include "scan.h"
#include "xent_kernel.h"

namespace regen::detail {
namespace {

struct V {
  static constexpr bool kSortedTopK = false;  // top-k by heap (topk_offer)
  static constexpr int L = 1;
  using F = float;
  using I = int32_t;
  using M = bool;
  static F zero() { return 0.0f; }
  static F set1(float x) { return x; }
  static I set1_i(int32_t x) { return x; }
  static F load(const float* p) { return *p; }
  static void store(float* p, F v) { *p = v; }
  static I load_i(const int32_t* p) { return *p; }
  static void store_i(int32_t* p, I v) { *p = v; }
  static F bcast(const float* p) { return *p; }
  static F fma(F a, F b, F c) { return std::fma(a, b, c); }
  static F add(F a, F b) { return a + b; }
  static F sub(F a, F b) { return a - b; }
  static F mul(F a, F b) { return a * b; }
  static F max(F a, F b) { return a > b ? a : b; }  // NaN in a: returns b
  static F min(F a, F b) { return a < b ? a : b; }
  static M cmp_gt(F a, F b) { return a > b; }
  static M cmp_ge(F a, F b) { return a >= b; }
  static M cmp_eq(F a, F b) { return a == b; }
  static M lt_i(I a, I b) { return a < b; }
  static M and_(M a, M b) { return a && b; }
  static M or_(M a, M b) { return a || b; }
  static bool any(M m) { return m; }
  static uint32_t bits(M m) { return m ? 1u : 0u; }
  static M from_bits(uint32_t b) { return (b & 1u) != 0; }
  static F blend(M m, F a, F b) { return m ? b : a; }
  static I count(I c, M m) { return c + (m ? 1 : 0); }
  static F exp2(F x) { return std::exp2(x); }
};

#include "scan_kernel.inl"

#include "xent_kernel.inl"

}  // namespace

ScanKernel scan_kernel_scalar(int64_t rows) {
  return rows <= 1 ? make_kernel<Fp32Products, 1, 8>() : make_kernel<Fp32Products, 4, 4>();
}

XentKernel xent_kernel_scalar(int64_t rows) {
  return rows <= 1 ? make_xent_kernel<Fp32Products, Fp32Grad, 1, 8>() : make_xent_kernel<Fp32Products, Fp32Grad, 4, 4>();
}

float fma_loop_scalar(int64_t iterations, double* flops_per_round) { return fma_loop(iterations, flops_per_round); }

float fp32_score(const ScanBatch& bt, int64_t slot, int64_t item) {
  const int64_t block = slot / bt.block_rows;
  const float* q = bt.packed_queries + block * bt.dim * bt.block_rows + slot % bt.block_rows;
  const float* e = bt.items + item * bt.dim;
  float acc = 0.0f;
  for (int32_t j = 0; j < bt.dim; ++j) acc = std::fma(q[static_cast<int64_t>(j) * bt.block_rows], e[j], acc);
  return bt.bias ? acc + bt.bias[item] : acc;
}

}  // namespace regen::detail
