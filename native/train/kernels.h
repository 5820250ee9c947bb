// Internal contract between the training driver (model.cpp) and the per-ISA kernels (isa_*.cpp):
// the few loops where the time goes (matrix products, attention, GELU, AdamW). Plain structs over
// raw pointers: the ISA files are compiled for instruction sets the host may lack, so they share
// no inline library code with the rest of the binary.
#pragma once

#include <cstdint>

namespace regen::train::detail {

// C[M, N] = A[M, K] @ B[K, N] (+ bias[N]) when !accumulate, C += A @ B when accumulate.
// A is strided both ways (A[m, k] = A[m * a_m + k * a_k]) so that A^T needs no copy; B and C are
// row-major. Work is cut in tiles of mr x nr entries of C; each tile is one thread's, summed over k
// in order, so results do not depend on the thread count.
struct GemmArgs {
  int64_t M = 0, N = 0, K = 0;
  const float* A = nullptr;
  int64_t a_m = 0, a_k = 0;
  const float* B = nullptr;
  int64_t ldb = 0;
  float* C = nullptr;
  int64_t ldc = 0;
  const float* bias = nullptr;
  bool accumulate = false;
};

// Multi-head attention over packed sequences: sequence s holds positions offsets[s] ..
// offsets[s + 1]; its probabilities for head h are the l x l block at att + att_offsets[s] + h l l
// (row i: query i; causal rows use j <= i only). qkv rows are [q | k | v], head h at h hs.
struct AttnArgs {
  const int32_t* offsets = nullptr;
  const int64_t* att_offsets = nullptr;
  int32_t C = 0, heads = 1, hs = 0;
  bool causal = true;
  float scale = 1.0f;        // 1 / sqrt(hs)
  const float* qkv = nullptr;  // T x 3C
  float* att = nullptr;        // probabilities before dropout
  float* out = nullptr;        // T x C (forward)
  // Dropout of the probabilities (see regen/train.h): element index = its offset in att.
  bool dropout = false;
  uint32_t key = 0, threshold = 0;
  float keep_scale = 1.0f;
  // Backward: dout (T x C) in, dqkv (T x 3C) accumulated into.
  const float* dout = nullptr;
  float* dqkv = nullptr;
};

struct AdamWScalars {
  float lr, beta1, beta2, eps, weight_decay;
  float bc1, bc2;  // 1 - beta^t
};

struct Kernels {
  int32_t mr, nr;
  // Tiles [begin, end) of C, numbered tile = tm * tiles_n + tn.
  void (*gemm_tiles)(const GemmArgs& g, int64_t begin, int64_t end);
  // One (sequence, head); scratch holds max_len floats.
  void (*attention_forward)(const AttnArgs& a, int32_t seq, int32_t head, float* scratch);
  void (*attention_backward)(const AttnArgs& a, int32_t seq, int32_t head, float* scratch);
  // GELU, tanh approximation: out = 0.5 x (1 + tanh(sqrt(2 / pi) (x + 0.044715 x^3))).
  void (*gelu_forward)(float* out, const float* in, int64_t n);
  // din = dout * gelu'(in) (overwrites din; din may be dout).
  void (*gelu_backward)(float* din, const float* in, const float* dout, int64_t n);
  void (*adamw)(float* p, const float* g, float* m, float* v, int64_t n, const AdamWScalars& s);
  // x[i] = keep(index0 + i) ? x[i] * scale : 0 (regen/train.h's mask), in place.
  void (*dropout)(float* x, int64_t n, uint32_t index0, uint32_t key, uint32_t threshold, float scale);
};

Kernels kernels_scalar();
Kernels kernels_avx2();
Kernels kernels_avx512();

}  // namespace regen::train::detail
