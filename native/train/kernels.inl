// The training kernels, written once over a vector traits struct TV (L float lanes: F; load,
// store, load_n / store_n for the first n lanes, bcast, fma, add, sub, mul, div, max, sqrt, exp,
// hsum, first) and a GEMM tile shape (MR rows x NV vectors). Included by isa_scalar.cpp,
// isa_avx2.cpp and isa_avx512.cpp inside an anonymous namespace, within their instruction-set
// region (see native/common/isa_target.h).
//
// Needs: kernels.h, regen/train.h (dropout hash), <cmath>, <cstdint>, <utility>.

using F = typename TV::F;

// ---------------------------------------------------------------------------------------------
// Matrix product tiles.

using TileFn = void (*)(const GemmArgs& g, int64_t m0, int64_t n0, int tail);

// One R x (NV vectors) tile of C at (m0, n0); with Tail the last vector holds `tail` columns.
template <int R, int NV, bool Tail>
void gemm_tile(const GemmArgs& g, int64_t m0, int64_t n0, int tail) {
  F acc[R][NV];
  auto load_v = [&](const float* p, int v) { return Tail && v == NV - 1 ? TV::load_n(p, tail) : TV::load(p); };
  float* c = g.C + m0 * g.ldc + n0;
  for (int r = 0; r < R; ++r)
    for (int v = 0; v < NV; ++v) {
      if (g.accumulate) acc[r][v] = load_v(c + r * g.ldc + v * TV::L, v);
      else if (g.bias) acc[r][v] = load_v(g.bias + n0 + v * TV::L, v);
      else acc[r][v] = TV::zero();
    }
  const float* a = g.A + m0 * g.a_m;
  const float* b = g.B + n0;
  for (int64_t k = 0; k < g.K; ++k, a += g.a_k, b += g.ldb) {
    F bv[NV];
    for (int v = 0; v < NV; ++v) bv[v] = load_v(b + v * TV::L, v);
    for (int r = 0; r < R; ++r) {
      const F ar = TV::bcast(a + r * g.a_m);
      for (int v = 0; v < NV; ++v) acc[r][v] = TV::fma(ar, bv[v], acc[r][v]);
    }
  }
  for (int r = 0; r < R; ++r)
    for (int v = 0; v < NV; ++v) {
      float* p = c + r * g.ldc + v * TV::L;
      if (Tail && v == NV - 1) TV::store_n(p, acc[r][v], tail);
      else TV::store(p, acc[r][v]);
    }
}

template <int R, int NV>
TileFn pick_tail(bool tail) {
  return tail ? &gemm_tile<R, NV, true> : &gemm_tile<R, NV, false>;
}

template <int R, int... Vs>
TileFn pick_nv(int nv, bool tail, std::integer_sequence<int, Vs...>) {
  TileFn f = nullptr;
  ((nv == Vs + 1 ? (f = pick_tail<R, Vs + 1>(tail), 0) : 0), ...);
  return f;
}

template <int... Rs>
TileFn pick_tile(int rows, int nv, bool tail, std::integer_sequence<int, Rs...>) {
  TileFn f = nullptr;
  ((rows == Rs + 1 ? (f = pick_nv<Rs + 1>(nv, tail, std::make_integer_sequence<int, NV>{}), 0) : 0), ...);
  return f;
}

void gemm_tiles(const GemmArgs& g, int64_t begin, int64_t end) {
  constexpr int64_t NR = static_cast<int64_t>(NV) * TV::L;
  const int64_t tiles_n = (g.N + NR - 1) / NR;
  for (int64_t t = begin; t < end; ++t) {
    const int64_t m0 = (t / tiles_n) * MR, n0 = (t % tiles_n) * NR;
    const int rows = static_cast<int>(g.M - m0 < MR ? g.M - m0 : MR);
    const int64_t cols = g.N - n0 < NR ? g.N - n0 : NR;
    const int nv = static_cast<int>((cols + TV::L - 1) / TV::L);
    const int tail = static_cast<int>(cols - static_cast<int64_t>(nv - 1) * TV::L);
    pick_tile(rows, nv, tail != TV::L, std::make_integer_sequence<int, MR>{})(g, m0, n0, tail);
  }
}

// ---------------------------------------------------------------------------------------------
// Vector helpers over n floats (any n >= 0).

float dot(const float* a, const float* b, int32_t n) {
  F acc = TV::zero();
  int32_t i = 0;
  for (; i + TV::L <= n; i += TV::L) acc = TV::fma(TV::load(a + i), TV::load(b + i), acc);
  if (i < n) acc = TV::fma(TV::load_n(a + i, n - i), TV::load_n(b + i, n - i), acc);
  return TV::hsum(acc);
}

// y += s x
void axpy(float* y, float s, const float* x, int32_t n) {
  const F sv = TV::set1(s);
  int32_t i = 0;
  for (; i + TV::L <= n; i += TV::L) TV::store(y + i, TV::fma(sv, TV::load(x + i), TV::load(y + i)));
  if (i < n) TV::store_n(y + i, TV::fma(sv, TV::load_n(x + i, n - i), TV::load_n(y + i, n - i)), n - i);
}

float exp1(float x) { return TV::first(TV::exp(TV::set1(x))); }

// ---------------------------------------------------------------------------------------------
// Attention for one (sequence, head).

void attention_forward(const AttnArgs& a, int32_t s, int32_t h, float* /*scratch*/) {
  const int64_t o = a.offsets[s], l = a.offsets[s + 1] - o;
  const int64_t C3 = 3 * static_cast<int64_t>(a.C);
  const int64_t att0 = a.att_offsets[s] + h * l * l;
  float* att = a.att + att0;
  for (int64_t i = 0; i < l; ++i) {
    const float* q = a.qkv + (o + i) * C3 + h * a.hs;
    float* row = att + i * l;
    const int64_t jn = a.causal ? i + 1 : l;
    float mx = -INFINITY;
    for (int64_t j = 0; j < jn; ++j) {
      const float* k = a.qkv + (o + j) * C3 + a.C + h * a.hs;
      const float sc = dot(q, k, a.hs) * a.scale;
      row[j] = sc;
      mx = sc > mx ? sc : mx;
    }
    float sum = 0.0f;
    for (int64_t j = 0; j < jn; ++j) {
      const float e = exp1(row[j] - mx);
      row[j] = e;
      sum += e;
    }
    const float inv = 1.0f / sum;
    for (int64_t j = 0; j < jn; ++j) row[j] *= inv;
    for (int64_t j = jn; j < l; ++j) row[j] = 0.0f;
    float* y = a.out + (o + i) * a.C + h * a.hs;
    for (int32_t c = 0; c < a.hs; ++c) y[c] = 0.0f;
    for (int64_t j = 0; j < jn; ++j) {
      float p = row[j];
      if (a.dropout)
        p = dropout_keep(a.key, static_cast<uint32_t>(att0 + i * l + j), a.threshold) ? p * a.keep_scale : 0.0f;
      axpy(y, p, a.qkv + (o + j) * C3 + 2 * a.C + h * a.hs, a.hs);
    }
  }
}

void attention_backward(const AttnArgs& a, int32_t s, int32_t h, float* scratch) {
  const int64_t o = a.offsets[s], l = a.offsets[s + 1] - o;
  const int64_t C3 = 3 * static_cast<int64_t>(a.C);
  const int64_t att0 = a.att_offsets[s] + h * l * l;
  const float* att = a.att + att0;
  float* da = scratch;
  for (int64_t i = 0; i < l; ++i) {
    const float* row = att + i * l;
    const int64_t jn = a.causal ? i + 1 : l;
    const float* dy = a.dout + (o + i) * a.C + h * a.hs;
    float sum = 0.0f;
    for (int64_t j = 0; j < jn; ++j) {
      float m = 1.0f;
      if (a.dropout) m = dropout_keep(a.key, static_cast<uint32_t>(att0 + i * l + j), a.threshold) ? a.keep_scale : 0.0f;
      const int64_t vj = (o + j) * C3 + 2 * a.C + h * a.hs;
      da[j] = dot(dy, a.qkv + vj, a.hs) * m;
      axpy(a.dqkv + vj, row[j] * m, dy, a.hs);
      sum += row[j] * da[j];
    }
    const float* q = a.qkv + (o + i) * C3 + h * a.hs;
    float* dq = a.dqkv + (o + i) * C3 + h * a.hs;
    for (int64_t j = 0; j < jn; ++j) {
      const float ds = row[j] * (da[j] - sum) * a.scale;
      const int64_t kj = (o + j) * C3 + a.C + h * a.hs;
      axpy(dq, ds, a.qkv + kj, a.hs);
      axpy(a.dqkv + kj, ds, q, a.hs);
    }
  }
}

// ---------------------------------------------------------------------------------------------
// GELU (tanh approximation) and AdamW.

// tanh(u) = 1 - 2 / (exp(2u) + 1): exact limits at +-Infinity, absolute error near 1e-7.
F tanh_v(F u) {
  const F e = TV::exp(TV::add(u, u));
  return TV::sub(TV::set1(1.0f), TV::div(TV::set1(2.0f), TV::add(e, TV::set1(1.0f))));
}

constexpr float kGeluC = 0.7978845608028654f;  // sqrt(2 / pi)
constexpr float kGeluK = 0.044715f;

F gelu_v(F x) {
  const F x3 = TV::mul(TV::mul(x, x), x);
  const F u = TV::mul(TV::set1(kGeluC), TV::fma(TV::set1(kGeluK), x3, x));
  return TV::mul(TV::mul(TV::set1(0.5f), x), TV::add(TV::set1(1.0f), tanh_v(u)));
}

F gelu_grad_v(F x) {
  const F x2 = TV::mul(x, x);
  const F u = TV::mul(TV::set1(kGeluC), TV::fma(TV::mul(TV::set1(kGeluK), x2), x, x));
  const F t = tanh_v(u);
  const F du = TV::mul(TV::set1(kGeluC), TV::fma(TV::set1(3.0f * kGeluK), x2, TV::set1(1.0f)));
  const F sech2 = TV::sub(TV::set1(1.0f), TV::mul(t, t));
  const F half = TV::set1(0.5f);
  // 0.5 (1 + t) + 0.5 x sech^2(u) u'
  return TV::fma(TV::mul(TV::mul(half, x), sech2), du, TV::mul(half, TV::add(TV::set1(1.0f), t)));
}

void gelu_forward(float* out, const float* in, int64_t n) {
  int64_t i = 0;
  for (; i + TV::L <= n; i += TV::L) TV::store(out + i, gelu_v(TV::load(in + i)));
  if (i < n) TV::store_n(out + i, gelu_v(TV::load_n(in + i, static_cast<int>(n - i))), static_cast<int>(n - i));
}

void gelu_backward(float* din, const float* in, const float* dout, int64_t n) {
  int64_t i = 0;
  for (; i + TV::L <= n; i += TV::L) TV::store(din + i, TV::mul(TV::load(dout + i), gelu_grad_v(TV::load(in + i))));
  if (i < n) {
    const int r = static_cast<int>(n - i);
    TV::store_n(din + i, TV::mul(TV::load_n(dout + i, r), gelu_grad_v(TV::load_n(in + i, r))), r);
  }
}

// m = b1 m + (1 - b1) g; v = b2 v + (1 - b2) g^2; p -= lr (m / bc1 / (sqrt(v / bc2) + eps) + wd p)
void adamw(float* p, const float* g, float* m, float* v, int64_t n, const AdamWScalars& s) {
  const F b1 = TV::set1(s.beta1), c1 = TV::set1(1.0f - s.beta1), b2 = TV::set1(s.beta2), c2 = TV::set1(1.0f - s.beta2);
  const F ibc1 = TV::set1(1.0f / s.bc1), ibc2 = TV::set1(1.0f / s.bc2), eps = TV::set1(s.eps);
  const F lr = TV::set1(s.lr), wd = TV::set1(s.weight_decay);
  auto step = [&](F pv, F gv, F mv, F vv, F* po, F* mo, F* vo) {
    mv = TV::fma(b1, mv, TV::mul(c1, gv));
    vv = TV::fma(b2, vv, TV::mul(TV::mul(c2, gv), gv));
    const F mhat = TV::mul(mv, ibc1);
    const F denom = TV::add(TV::sqrt(TV::mul(vv, ibc2)), eps);
    const F upd = TV::fma(wd, pv, TV::div(mhat, denom));
    *po = TV::sub(pv, TV::mul(lr, upd));
    *mo = mv;
    *vo = vv;
  };
  int64_t i = 0;
  for (; i + TV::L <= n; i += TV::L) {
    F po, mo, vo;
    step(TV::load(p + i), TV::load(g + i), TV::load(m + i), TV::load(v + i), &po, &mo, &vo);
    TV::store(p + i, po);
    TV::store(m + i, mo);
    TV::store(v + i, vo);
  }
  if (i < n) {
    const int r = static_cast<int>(n - i);
    F po, mo, vo;
    step(TV::load_n(p + i, r), TV::load_n(g + i, r), TV::load_n(m + i, r), TV::load_n(v + i, r), &po, &mo, &vo);
    TV::store_n(p + i, po, r);
    TV::store_n(m + i, mo, r);
    TV::store_n(v + i, vo, r);
  }
}

void dropout_apply(float* x, int64_t n, uint32_t index0, uint32_t key, uint32_t threshold, float scale) {
  const F sv = TV::set1(scale);
  int64_t i = 0;
  for (; i + TV::L <= n; i += TV::L)
    TV::store(x + i, TV::keep_mul(TV::load(x + i), index0 + static_cast<uint32_t>(i), key, threshold, sv));
  if (i < n) {
    const int r = static_cast<int>(n - i);
    TV::store_n(x + i, TV::keep_mul(TV::load_n(x + i, r), index0 + static_cast<uint32_t>(i), key, threshold, sv), r);
  }
}

Kernels make_kernels() {
  return Kernels{MR, NV * TV::L, &gemm_tiles, &attention_forward, &attention_backward, &gelu_forward, &gelu_backward, &adamw, &dropout_apply};
}
