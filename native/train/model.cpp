// The transformer body of the sequential recommenders: parameters, activations, forward, backward
// and AdamW (see regen/train.h for the model). The per-ISA kernels (matrix products, attention,
// GELU, AdamW) are in isa_*.cpp; everything here is plain C++ over the packed positions.
//
// Determinism: every output element is written by one thread, and every sum over positions runs in
// position order on one thread (column sums, scatters into embedding rows) or inside one matrix
// tile; so a seed gives the same bits for any thread count.
#include "regen/train.h"

#include <algorithm>
#include <atomic>
#include <cassert>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <new>
#include <stdexcept>
#include <vector>

#include "common/thread_pool.h"
#include "regen/xent.h"
#include "train/kernels.h"

namespace regen::train {

using detail::AttnArgs;
using detail::GemmArgs;
using detail::Kernels;

int64_t TensorInfo::size() const {
  int64_t n = 1;
  for (int64_t s : shape) n *= s;
  return n;
}

uint32_t dropout_key(uint32_t seed, uint32_t step, uint32_t site) {
  return mix32(seed ^ mix32(step * 0x9E3779B9u + mix32(site + 0x632BE5ABu)));
}

uint32_t dropout_threshold(float p) {
  return static_cast<uint32_t>(std::lround(static_cast<double>(p) * 16777216.0));
}

namespace {

constexpr float kLnEps = 1e-5f;

const Kernels& kernels_for(Isa isa) {
  static const Kernels scalar = detail::kernels_scalar();
  static const Kernels avx2 = detail::kernels_avx2();
  static const Kernels avx512 = detail::kernels_avx512();
  switch (isa) {
    case Isa::Avx512: return avx512;
    case Isa::Avx2: return avx2;
    case Isa::Scalar: break;
  }
  return scalar;
}

// fn(begin, end, worker) over [0, n) in chunks of `grain`, taken from a shared counter.
template <typename Fn>
void parallel_for(int64_t n, int64_t grain, int threads, Fn&& fn) {
  if (n <= 0) return;
  grain = std::max<int64_t>(1, grain);
  const int64_t chunks = (n + grain - 1) / grain;
  const int workers = static_cast<int>(std::min<int64_t>(std::max(threads, 1), chunks));
  if (workers <= 1) {
    fn(int64_t{0}, n, 0);
    return;
  }
  std::atomic<int64_t> next{0};
  regen::detail::run_parallel(workers, [&](int w) {
    for (;;) {
      const int64_t c = next.fetch_add(1, std::memory_order_relaxed);
      if (c >= chunks) break;
      fn(c * grain, std::min(n, (c + 1) * grain), w);
    }
  });
}

void gemm(const Kernels& k, const GemmArgs& g, int threads) {
  if (g.M <= 0 || g.N <= 0) return;
  const int64_t tiles = ((g.M + k.mr - 1) / k.mr) * ((g.N + k.nr - 1) / k.nr);
  const int64_t work = g.M * g.N * std::max<int64_t>(g.K, 1);
  const int t = work < (int64_t{1} << 17) ? 1 : threads;
  parallel_for(tiles, std::max<int64_t>(1, tiles / (16 * static_cast<int64_t>(t))), t,
               [&](int64_t b, int64_t e, int) { k.gemm_tiles(g, b, e); });
}

// out[T, OC] = inp[T, C] @ w[C, OC] (+ b)
void matmul_forward(const Kernels& k, float* out, const float* inp, const float* w, const float* b, int64_t T, int64_t C,
                    int64_t OC, int threads) {
  GemmArgs g;
  g.M = T, g.N = OC, g.K = C;
  g.A = inp, g.a_m = C, g.a_k = 1;
  g.B = w, g.ldb = OC;
  g.C = out, g.ldc = OC;
  g.bias = b;
  gemm(k, g, threads);
}

// dinp = dout @ w^T (overwritten), dw += inp^T @ dout, db += column sums of dout. wt: C x OC scratch.
void matmul_backward(const Kernels& k, float* dinp, float* dw, float* db, const float* dout, const float* inp,
                     const float* w, float* wt, int64_t T, int64_t C, int64_t OC, int threads) {
  if (dinp) {
    for (int64_t c = 0; c < C; ++c)
      for (int64_t o = 0; o < OC; ++o) wt[o * C + c] = w[c * OC + o];
    GemmArgs g;
    g.M = T, g.N = C, g.K = OC;
    g.A = dout, g.a_m = OC, g.a_k = 1;
    g.B = wt, g.ldb = C;
    g.C = dinp, g.ldc = C;
    gemm(k, g, threads);
  }
  GemmArgs g;
  g.M = C, g.N = OC, g.K = T;
  g.A = inp, g.a_m = 1, g.a_k = C;
  g.B = dout, g.ldb = OC;
  g.C = dw, g.ldc = OC;
  g.accumulate = true;
  gemm(k, g, threads);
  if (db)
    for (int64_t t = 0; t < T; ++t)
      for (int64_t o = 0; o < OC; ++o) db[o] += dout[t * OC + o];
}

// Rows r in [0, R): input row idx ? idx[r] : r. mean / rstd per output row.
void layernorm_forward(float* out, float* mean, float* rstd, const float* inp, const int32_t* idx, const float* w,
                       const float* b, int64_t R, int64_t C, int threads) {
  parallel_for(R, 256, threads, [&](int64_t r0, int64_t r1, int) {
    for (int64_t r = r0; r < r1; ++r) {
      const float* x = inp + (idx ? idx[r] : r) * C;
      float m = 0.0f;
      for (int64_t i = 0; i < C; ++i) m += x[i];
      m /= static_cast<float>(C);
      float v = 0.0f;
      for (int64_t i = 0; i < C; ++i) v += (x[i] - m) * (x[i] - m);
      v /= static_cast<float>(C);
      const float s = 1.0f / std::sqrt(v + kLnEps);
      float* o = out + r * C;
      for (int64_t i = 0; i < C; ++i) o[i] = (x[i] - m) * s * w[i] + b[i];
      mean[r] = m;
      rstd[r] = s;
    }
  });
}

// dinp[idx[r]] += d/dx of row r; dw, db += column sums. Rows' idx values are distinct.
void layernorm_backward(float* dinp, float* dw, float* db, const float* dout, const float* inp, const int32_t* idx,
                        const float* w, const float* mean, const float* rstd, int64_t R, int64_t C, int threads) {
  parallel_for(R, 256, threads, [&](int64_t r0, int64_t r1, int) {
    for (int64_t r = r0; r < r1; ++r) {
      const int64_t row = idx ? idx[r] : r;
      const float* x = inp + row * C;
      const float* d = dout + r * C;
      float* dx = dinp + row * C;
      const float m = mean[r], s = rstd[r];
      float dnorm_mean = 0.0f, dnorm_norm_mean = 0.0f;
      for (int64_t i = 0; i < C; ++i) {
        const float dn = w[i] * d[i];
        dnorm_mean += dn;
        dnorm_norm_mean += dn * (x[i] - m) * s;
      }
      dnorm_mean /= static_cast<float>(C);
      dnorm_norm_mean /= static_cast<float>(C);
      for (int64_t i = 0; i < C; ++i) {
        const float norm = (x[i] - m) * s;
        dx[i] += (w[i] * d[i] - dnorm_mean - norm * dnorm_norm_mean) * s;
      }
    }
  });
  for (int64_t r = 0; r < R; ++r) {
    const float* x = inp + (idx ? idx[r] : r) * C;
    const float* d = dout + r * C;
    const float m = mean[r], s = rstd[r];
    for (int64_t i = 0; i < C; ++i) {
      dw[i] += (x[i] - m) * s * d[i];
      db[i] += d[i];
    }
  }
}

// x[i] = keep(i) ? x[i] / (1 - p) : 0 for the n elements of a site; the same call is its backward.
void dropout(const Kernels& k, float* x, int64_t n, uint32_t key, uint32_t threshold, float scale, int threads) {
  parallel_for(n, 1 << 14, threads, [&](int64_t b, int64_t e, int) { k.dropout(x + b, e - b, static_cast<uint32_t>(b), key, threshold, scale); });
}

// Deterministic normal(0, 1) for element i of a seeded stream (Box-Muller on a counter hash).
uint64_t splitmix64(uint64_t x) {
  x += 0x9E3779B97F4A7C15ull;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}

double normal_at(uint64_t seed, uint64_t i) {
  const double u1 = (static_cast<double>(splitmix64(seed ^ splitmix64(2 * i)) >> 11) + 0.5) * 0x1.0p-53;
  const double u2 = (static_cast<double>(splitmix64(seed ^ splitmix64(2 * i + 1)) >> 11) + 0.5) * 0x1.0p-53;
  return std::sqrt(-2.0 * std::log(u1)) * std::cos(6.283185307179586 * u2);
}

}  // namespace

// Pointers to each tensor inside a flat array (parameters or gradients): llm.c's ParameterTensors.
struct Ptrs {
  float *item_emb, *pos_emb, *content_proj, *critique_proj, *critique_bias;
  float *ln1w, *ln1b, *qkvw, *qkvb, *apw, *apb, *ln2w, *ln2b, *fcw, *fcb, *fpw, *fpb;
  float *lnfw, *lnfb;
};

struct Model::Impl {
  Ptrs p{}, g{};
  const float* rows = nullptr;       // item_emb, or rows_buf when there is content
  std::vector<float> rows_buf;       // (N + mask) x C
  std::vector<float> d_rows_buf;     // (N + mask) x C, with content
  std::vector<float> content;        // N x content_dim

  // The last forward's batch (copied) and its shape.
  std::vector<int32_t> offsets, inputs, out_index, critique_pos;
  std::vector<float> critique_feats;
  std::vector<int64_t> att_offsets;
  int64_t S = 0, T = 0, R = 0, K = 0, A = 0;
  bool training = false, have_forward = false;
  bool rows_current = false;         // rows_buf matches the parameters and content
  uint32_t seed = 0, step = 0;

  // Activations (llm.c's ActivationTensors): one allocation, named offsets, sized for T / A / R / K.
  std::vector<float> acts;
  int64_t cap_T = -1, cap_A = -1, cap_R = -1, cap_K = -1;
  float *x0, *ln1, *ln1_mean, *ln1_rstd, *qkv, *att, *atty, *res2, *ln2, *ln2_mean, *ln2_rstd, *fch, *fch_gelu, *res3;
  float *lnf, *lnf_mean, *lnf_rstd, *tmp, *dres, *dln, *dqkv, *dfch, *crit_tmp, *wt, *attn_scratch;
  int attn_scratch_threads = 0;

  // The loss (loss_backward): the output table as the engine's item matrix, and the fused
  // cross-entropy's outputs; kept between steps so no step touches fresh memory.
  std::unique_ptr<ItemMatrix> table;
  std::vector<float> loss_rows, loss_weights, d_hidden, d_table;
};

namespace {

void bind_tensors(Ptrs& q, float* base, const std::vector<TensorInfo>& t) {
  auto at = [&](const char* name) -> float* {
    for (const auto& x : t)
      if (x.name == name) return base + x.offset;
    return nullptr;
  };
  q.item_emb = at("item_emb");
  q.pos_emb = at("pos_emb");
  q.content_proj = at("content_proj");
  q.critique_proj = at("critique_proj");
  q.critique_bias = at("critique_bias");
  q.ln1w = at("blocks.ln1.weight");
  q.ln1b = at("blocks.ln1.bias");
  q.qkvw = at("blocks.qkv.weight");
  q.qkvb = at("blocks.qkv.bias");
  q.apw = at("blocks.attn_proj.weight");
  q.apb = at("blocks.attn_proj.bias");
  q.ln2w = at("blocks.ln2.weight");
  q.ln2b = at("blocks.ln2.bias");
  q.fcw = at("blocks.fc.weight");
  q.fcb = at("blocks.fc.bias");
  q.fpw = at("blocks.fc_proj.weight");
  q.fpb = at("blocks.fc_proj.bias");
  q.lnfw = at("ln_f.weight");
  q.lnfb = at("ln_f.bias");
}

float* alloc_floats(int64_t n) {
  const size_t bytes = (static_cast<size_t>(std::max<int64_t>(n, 1)) * sizeof(float) + 63) / 64 * 64;
  void* p = std::aligned_alloc(64, bytes);
  if (!p) throw std::bad_alloc();
  std::memset(p, 0, bytes);
  return static_cast<float*>(p);
}

}  // namespace

void Model::FreeAligned::operator()(float* p) const { std::free(p); }

Model::Model(const ModelConfig& c, uint64_t seed) : config_(c), impl_(std::make_unique<Impl>()) {
  assert(c.items >= 1 && c.dim >= 1 && c.layers >= 0 && c.heads >= 1 && c.dim % c.heads == 0 && c.ffn_dim >= 1 &&
         c.max_len >= 1 && c.content_dim >= 0 && c.critique_dim >= 0);
  const int64_t N = c.items, C = c.dim, L = c.layers, F = c.ffn_dim;
  int64_t off = 0;
  auto add = [&](const char* name, std::vector<int64_t> shape, bool decay) {
    TensorInfo t{name, off, std::move(shape), decay};
    off += t.size();
    tensors_.push_back(std::move(t));
  };
  add("item_emb", {N + (c.mask_token ? 1 : 0), C}, true);
  add("pos_emb", {c.max_len, C}, true);
  if (c.content_dim > 0) add("content_proj", {c.content_dim, C}, true);
  if (c.critique_dim > 0) {
    add("critique_proj", {c.critique_dim, C}, true);
    add("critique_bias", {C}, false);
  }
  add("blocks.ln1.weight", {L, C}, false);
  add("blocks.ln1.bias", {L, C}, false);
  add("blocks.qkv.weight", {L, C, 3 * C}, true);
  add("blocks.qkv.bias", {L, 3 * C}, false);
  add("blocks.attn_proj.weight", {L, C, C}, true);
  add("blocks.attn_proj.bias", {L, C}, false);
  add("blocks.ln2.weight", {L, C}, false);
  add("blocks.ln2.bias", {L, C}, false);
  add("blocks.fc.weight", {L, C, F}, true);
  add("blocks.fc.bias", {L, F}, false);
  add("blocks.fc_proj.weight", {L, F, C}, true);
  add("blocks.fc_proj.bias", {L, C}, false);
  add("ln_f.weight", {C}, false);
  add("ln_f.bias", {C}, false);
  num_params_ = off;
  params_.reset(alloc_floats(off));
  grads_.reset(alloc_floats(off));
  m_.reset(alloc_floats(off));
  v_.reset(alloc_floats(off));

  // Initialisation: matrices and embeddings normal(0, init_std); the projections into the residual
  // stream scaled by 1 / sqrt(2 L) (GPT-2); layer norm weights 1; biases 0.
  float* p = params_.get();
  const double residual_scale = L > 0 ? 1.0 / std::sqrt(2.0 * static_cast<double>(L)) : 1.0;
  for (size_t ti = 0; ti < tensors_.size(); ++ti) {
    const TensorInfo& t = tensors_[ti];
    const bool is_ln_weight = t.name == "blocks.ln1.weight" || t.name == "blocks.ln2.weight" || t.name == "ln_f.weight";
    if (is_ln_weight) {
      std::fill(p + t.offset, p + t.offset + t.size(), 1.0f);
    } else if (t.decay) {
      const bool residual = t.name == "blocks.attn_proj.weight" || t.name == "blocks.fc_proj.weight";
      const double std_dev = c.init_std * (residual ? residual_scale : 1.0);
      const uint64_t stream = splitmix64(seed ^ (0x5EEDull + ti));
      for (int64_t i = 0; i < t.size(); ++i) p[t.offset + i] = static_cast<float>(std_dev * normal_at(stream, static_cast<uint64_t>(i)));
    }
  }
  bind_tensors(impl_->p, params_.get(), tensors_);
  bind_tensors(impl_->g, grads_.get(), tensors_);
  impl_->rows = impl_->p.item_emb;
  if (c.content_dim > 0) {
    impl_->rows_buf.assign(static_cast<size_t>((N + (c.mask_token ? 1 : 0)) * C), 0.0f);
    impl_->d_rows_buf.assign(impl_->rows_buf.size(), 0.0f);
    impl_->content.assign(static_cast<size_t>(N * c.content_dim), 0.0f);
    impl_->rows = impl_->rows_buf.data();
  }
}

Model::~Model() = default;

int64_t Model::bytes() const {
  const Impl& s = *impl_;
  return 4 * num_params_ * static_cast<int64_t>(sizeof(float)) + (s.table ? s.table->bytes() : 0) +
         static_cast<int64_t>((s.rows_buf.size() + s.d_rows_buf.size() + s.content.size() + s.acts.size() + s.loss_rows.size() +
                               s.loss_weights.size() + s.d_hidden.size() + s.d_table.size()) *
                              sizeof(float));
}

void Model::set_content(const float* content) {
  assert(config_.content_dim > 0);
  std::memcpy(impl_->content.data(), content, impl_->content.size() * sizeof(float));
  impl_->rows_current = false;
}

void Model::params_changed() { impl_->rows_current = false; }

const float* Model::rows() const { return impl_->rows; }
bool Model::has_forward() const { return impl_->have_forward; }
int64_t Model::out_rows() const { return impl_->R; }

void Model::refresh_rows(const RunConfig& run) {
  const ModelConfig& c = config_;
  Impl& s = *impl_;
  if (c.content_dim == 0 || s.rows_current) return;
  s.rows_current = true;
  std::memcpy(s.rows_buf.data(), s.p.item_emb, s.rows_buf.size() * sizeof(float));
  GemmArgs g;
  g.M = c.items, g.N = c.dim, g.K = c.content_dim;
  g.A = s.content.data(), g.a_m = c.content_dim, g.a_k = 1;
  g.B = s.p.content_proj, g.ldb = c.dim;
  g.C = s.rows_buf.data(), g.ldc = c.dim;
  g.accumulate = true;
  gemm(kernels_for(run.isa), g, run.threads);
}

void Model::forward(const Batch& b, float* hidden, const RunConfig& run) {
  const ModelConfig& c = config_;
  Impl& s = *impl_;
  const Kernels& k = kernels_for(run.isa);
  const int threads = std::max(run.threads, 1);
  const int64_t C = c.dim, C3 = 3 * C, F = c.ffn_dim, L = c.layers, NH = c.heads;

  // Copy the batch: backward reads it after the caller's arrays may be gone.
  s.S = b.sequences;
  s.offsets.assign(b.offsets, b.offsets + b.sequences + 1);
  s.T = s.offsets[s.S];
  s.inputs.assign(b.inputs, b.inputs + s.T);
  s.R = b.out_rows;
  s.out_index.assign(b.out_index, b.out_index + s.R);
  s.K = c.critique_dim > 0 ? b.critiques : 0;
  s.critique_pos.assign(b.critique_pos, b.critique_pos + s.K);
  s.critique_feats.assign(b.critique_feats, b.critique_feats + s.K * c.critique_dim);
  s.training = b.training;
  s.seed = b.dropout_seed;
  s.step = b.step;
  s.att_offsets.assign(static_cast<size_t>(s.S + 1), 0);
  for (int64_t q = 0; q < s.S; ++q) {
    const int64_t l = s.offsets[q + 1] - s.offsets[q];
    assert(l >= 1 && l <= c.max_len);
    s.att_offsets[q + 1] = s.att_offsets[q] + NH * l * l;
  }
  s.A = s.att_offsets[s.S];
  const int64_t T = s.T, R = s.R, K = s.K, A = s.A;

  // Activations for this shape (grown, never shrunk).
  if (T > s.cap_T || A > s.cap_A || R > s.cap_R || K > s.cap_K || threads > s.attn_scratch_threads) {
    // Grown by half again at least, so that batches of varying size settle after a few steps
    // (a new allocation's pages are first-touched again, which is slow on some virtual machines).
    auto grow = [](int64_t need, int64_t cap) { return need <= cap ? cap : std::max(need, cap + cap / 2); };
    s.cap_T = grow(T, s.cap_T);
    s.cap_A = grow(A, s.cap_A);
    s.cap_R = grow(R, s.cap_R);
    s.cap_K = grow(K, s.cap_K);
    s.attn_scratch_threads = std::max(threads, s.attn_scratch_threads);
    const int64_t Tc = s.cap_T, Ac = s.cap_A, Rc = s.cap_R, Kc = s.cap_K;
    const int64_t sizes[] = {Tc * C,  L * Tc * C, L * Tc, L * Tc, L * Tc * C3, L * Ac,    L * Tc * C,
                             L * Tc * C, L * Tc * C, L * Tc, L * Tc, L * Tc * F, L * Tc * F, L * Tc * C,
                             Rc * C,  Rc,         Rc,     Tc * C, Tc * C,      Tc * C,    Tc * C3,
                             Tc * F,  Kc * C,     std::max({C3, F, static_cast<int64_t>(c.critique_dim)}) * C,
                             s.attn_scratch_threads * static_cast<int64_t>(c.max_len)};
    float** ptrs[] = {&s.x0,  &s.ln1,  &s.ln1_mean, &s.ln1_rstd, &s.qkv,  &s.att,      &s.atty,
                      &s.res2, &s.ln2, &s.ln2_mean, &s.ln2_rstd, &s.fch,  &s.fch_gelu, &s.res3,
                      &s.lnf,  &s.lnf_mean, &s.lnf_rstd, &s.tmp, &s.dres, &s.dln,      &s.dqkv,
                      &s.dfch, &s.crit_tmp, &s.wt, &s.attn_scratch};
    static_assert(sizeof(sizes) / sizeof(sizes[0]) == sizeof(ptrs) / sizeof(ptrs[0]), "one size per activation");
    int64_t total = 0;
    for (int64_t n : sizes) total += (n + 15) / 16 * 16;
    s.acts.assign(static_cast<size_t>(total), 0.0f);
    int64_t off = 0;
    for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); ++i) {
      *ptrs[i] = s.acts.data() + off;
      off += (sizes[i] + 15) / 16 * 16;
    }
  }

  const bool drop = s.training && c.dropout > 0.0f;
  const bool attn_drop = s.training && c.attn_dropout > 0.0f;
  const uint32_t thr = dropout_threshold(c.dropout), attn_thr = dropout_threshold(c.attn_dropout);
  const float scale = 1.0f / (1.0f - c.dropout), attn_scale = 1.0f / (1.0f - c.attn_dropout);

  // Embeddings: item rows + positions (counted back from the last item) + critiques; dropout.
  refresh_rows(run);
  const float* rows = s.rows;
  parallel_for(s.S, 64, threads, [&](int64_t q0, int64_t q1, int) {
    for (int64_t q = q0; q < q1; ++q) {
      const int64_t o = s.offsets[q], l = s.offsets[q + 1] - o;
      for (int64_t i = 0; i < l; ++i) {
        const float* e = rows + static_cast<int64_t>(s.inputs[o + i]) * C;
        const float* pe = s.p.pos_emb + (l - 1 - i) * C;
        float* x = s.x0 + (o + i) * C;
        for (int64_t j = 0; j < C; ++j) x[j] = e[j] + pe[j];
      }
    }
  });
  if (K > 0) {
    matmul_forward(k, s.crit_tmp, s.critique_feats.data(), s.p.critique_proj, s.p.critique_bias, K, c.critique_dim, C, threads);
    for (int64_t q = 0; q < K; ++q) {
      float* x = s.x0 + static_cast<int64_t>(s.critique_pos[q]) * C;
      for (int64_t j = 0; j < C; ++j) x[j] += s.crit_tmp[q * C + j];
    }
  }
  if (drop) dropout(k, s.x0, T * C, dropout_key(s.seed, s.step, 0), thr, scale, threads);

  AttnArgs at;
  at.offsets = s.offsets.data();
  at.att_offsets = s.att_offsets.data();
  at.C = static_cast<int32_t>(C);
  at.heads = static_cast<int32_t>(NH);
  at.hs = static_cast<int32_t>(C / NH);
  at.causal = c.causal;
  at.scale = 1.0f / std::sqrt(static_cast<float>(C / NH));
  at.dropout = attn_drop;
  at.threshold = attn_thr;
  at.keep_scale = attn_scale;

  for (int64_t l = 0; l < L; ++l) {
    const float* x = l == 0 ? s.x0 : s.res3 + (l - 1) * T * C;
    float* ln1 = s.ln1 + l * T * C;
    float* qkv = s.qkv + l * T * C3;
    float* atty = s.atty + l * T * C;
    float* res2 = s.res2 + l * T * C;
    float* ln2 = s.ln2 + l * T * C;
    float* fch = s.fch + l * T * F;
    float* fch_gelu = s.fch_gelu + l * T * F;
    float* res3 = s.res3 + l * T * C;
    layernorm_forward(ln1, s.ln1_mean + l * T, s.ln1_rstd + l * T, x, nullptr, s.p.ln1w + l * C, s.p.ln1b + l * C, T, C, threads);
    matmul_forward(k, qkv, ln1, s.p.qkvw + l * C * C3, s.p.qkvb + l * C3, T, C, C3, threads);
    at.qkv = qkv;
    at.att = s.att + l * A;
    at.out = atty;
    at.key = dropout_key(s.seed, s.step, static_cast<uint32_t>(1 + 3 * l));
    parallel_for(s.S * NH, 8, threads, [&](int64_t b0, int64_t b1, int w) {
      for (int64_t i = b0; i < b1; ++i)
        k.attention_forward(at, static_cast<int32_t>(i / NH), static_cast<int32_t>(i % NH), s.attn_scratch + w * c.max_len);
    });
    matmul_forward(k, s.tmp, atty, s.p.apw + l * C * C, s.p.apb + l * C, T, C, C, threads);
    if (drop) dropout(k, s.tmp, T * C, dropout_key(s.seed, s.step, static_cast<uint32_t>(2 + 3 * l)), thr, scale, threads);
    parallel_for(T * C, 1 << 14, threads, [&](int64_t b0, int64_t b1, int) {
      for (int64_t i = b0; i < b1; ++i) res2[i] = x[i] + s.tmp[i];
    });
    layernorm_forward(ln2, s.ln2_mean + l * T, s.ln2_rstd + l * T, res2, nullptr, s.p.ln2w + l * C, s.p.ln2b + l * C, T, C, threads);
    matmul_forward(k, fch, ln2, s.p.fcw + l * C * F, s.p.fcb + l * F, T, C, F, threads);
    parallel_for(T * F, 1 << 14, threads, [&](int64_t b0, int64_t b1, int) { k.gelu_forward(fch_gelu + b0, fch + b0, b1 - b0); });
    matmul_forward(k, s.tmp, fch_gelu, s.p.fpw + l * F * C, s.p.fpb + l * C, T, F, C, threads);
    if (drop) dropout(k, s.tmp, T * C, dropout_key(s.seed, s.step, static_cast<uint32_t>(3 + 3 * l)), thr, scale, threads);
    parallel_for(T * C, 1 << 14, threads, [&](int64_t b0, int64_t b1, int) {
      for (int64_t i = b0; i < b1; ++i) res3[i] = res2[i] + s.tmp[i];
    });
  }
  const float* last = L == 0 ? s.x0 : s.res3 + (L - 1) * T * C;
  layernorm_forward(s.lnf, s.lnf_mean, s.lnf_rstd, last, s.out_index.data(), s.p.lnfw, s.p.lnfb, R, C, threads);
  std::memcpy(hidden, s.lnf, static_cast<size_t>(R * C) * sizeof(float));
  s.have_forward = true;
}

void Model::backward(const float* d_hidden, const float* d_rows, const RunConfig& run) {
  const ModelConfig& c = config_;
  Impl& s = *impl_;
  if (!s.have_forward) throw std::logic_error("backward() needs a forward() first");
  const Kernels& k = kernels_for(run.isa);
  const int threads = std::max(run.threads, 1);
  const int64_t C = c.dim, C3 = 3 * C, F = c.ffn_dim, L = c.layers, NH = c.heads, N = c.items;
  const int64_t T = s.T, R = s.R, K = s.K, A = s.A;
  const bool drop = s.training && c.dropout > 0.0f;
  const uint32_t thr = dropout_threshold(c.dropout);
  const float scale = 1.0f / (1.0f - c.dropout);
  std::memset(grads_.get(), 0, static_cast<size_t>(num_params_) * sizeof(float));

  // Final layer norm, at the output rows only.
  std::memset(s.dres, 0, static_cast<size_t>(T * C) * sizeof(float));
  const float* last = L == 0 ? s.x0 : s.res3 + (L - 1) * T * C;
  layernorm_backward(s.dres, s.g.lnfw, s.g.lnfb, d_hidden, last, s.out_index.data(), s.p.lnfw, s.lnf_mean, s.lnf_rstd, R, C, threads);

  AttnArgs at;
  at.offsets = s.offsets.data();
  at.att_offsets = s.att_offsets.data();
  at.C = static_cast<int32_t>(C);
  at.heads = static_cast<int32_t>(NH);
  at.hs = static_cast<int32_t>(C / NH);
  at.causal = c.causal;
  at.scale = 1.0f / std::sqrt(static_cast<float>(C / NH));
  at.dropout = s.training && c.attn_dropout > 0.0f;
  at.threshold = dropout_threshold(c.attn_dropout);
  at.keep_scale = 1.0f / (1.0f - c.attn_dropout);

  for (int64_t l = L - 1; l >= 0; --l) {
    const float* x = l == 0 ? s.x0 : s.res3 + (l - 1) * T * C;
    const float* ln1 = s.ln1 + l * T * C;
    const float* qkv = s.qkv + l * T * C3;
    const float* atty = s.atty + l * T * C;
    const float* res2 = s.res2 + l * T * C;
    const float* ln2 = s.ln2 + l * T * C;
    const float* fch = s.fch + l * T * F;
    const float* fch_gelu = s.fch_gelu + l * T * F;

    // res3 = res2 + dropout(fch_gelu @ fc_proj): dres flows to res2 unchanged.
    std::memcpy(s.tmp, s.dres, static_cast<size_t>(T * C) * sizeof(float));
    if (drop) dropout(k, s.tmp, T * C, dropout_key(s.seed, s.step, static_cast<uint32_t>(3 + 3 * l)), thr, scale, threads);
    matmul_backward(k, s.dfch, s.g.fpw + l * F * C, s.g.fpb + l * C, s.tmp, fch_gelu, s.p.fpw + l * F * C, s.wt, T, F, C, threads);
    parallel_for(T * F, 1 << 14, threads, [&](int64_t b0, int64_t b1, int) { k.gelu_backward(s.dfch + b0, fch + b0, s.dfch + b0, b1 - b0); });
    matmul_backward(k, s.dln, s.g.fcw + l * C * F, s.g.fcb + l * F, s.dfch, ln2, s.p.fcw + l * C * F, s.wt, T, C, F, threads);
    layernorm_backward(s.dres, s.g.ln2w + l * C, s.g.ln2b + l * C, s.dln, res2, nullptr, s.p.ln2w + l * C, s.ln2_mean + l * T,
                       s.ln2_rstd + l * T, T, C, threads);

    // res2 = x + dropout(atty @ attn_proj)
    std::memcpy(s.tmp, s.dres, static_cast<size_t>(T * C) * sizeof(float));
    if (drop) dropout(k, s.tmp, T * C, dropout_key(s.seed, s.step, static_cast<uint32_t>(2 + 3 * l)), thr, scale, threads);
    matmul_backward(k, s.dln, s.g.apw + l * C * C, s.g.apb + l * C, s.tmp, atty, s.p.apw + l * C * C, s.wt, T, C, C, threads);
    std::memset(s.dqkv, 0, static_cast<size_t>(T * C3) * sizeof(float));
    at.qkv = qkv;
    at.att = s.att + l * A;
    at.dout = s.dln;
    at.dqkv = s.dqkv;
    at.key = dropout_key(s.seed, s.step, static_cast<uint32_t>(1 + 3 * l));
    parallel_for(s.S * NH, 8, threads, [&](int64_t b0, int64_t b1, int w) {
      for (int64_t i = b0; i < b1; ++i)
        k.attention_backward(at, static_cast<int32_t>(i / NH), static_cast<int32_t>(i % NH), s.attn_scratch + w * c.max_len);
    });
    matmul_backward(k, s.dln, s.g.qkvw + l * C * C3, s.g.qkvb + l * C3, s.dqkv, ln1, s.p.qkvw + l * C * C3, s.wt, T, C, C3, threads);
    layernorm_backward(s.dres, s.g.ln1w + l * C, s.g.ln1b + l * C, s.dln, x, nullptr, s.p.ln1w + l * C, s.ln1_mean + l * T,
                       s.ln1_rstd + l * T, T, C, threads);
  }

  // Embeddings: dres is d(x0) after dropout.
  if (drop) dropout(k, s.dres, T * C, dropout_key(s.seed, s.step, 0), thr, scale, threads);
  float* d_item = c.content_dim > 0 ? s.d_rows_buf.data() : s.g.item_emb;
  if (c.content_dim > 0) std::fill(s.d_rows_buf.begin(), s.d_rows_buf.end(), 0.0f);
  for (int64_t q = 0; q < s.S; ++q) {
    const int64_t o = s.offsets[q], l = s.offsets[q + 1] - o;
    for (int64_t i = 0; i < l; ++i) {
      const float* d = s.dres + (o + i) * C;
      float* de = d_item + static_cast<int64_t>(s.inputs[o + i]) * C;
      float* dp = s.g.pos_emb + (l - 1 - i) * C;
      for (int64_t j = 0; j < C; ++j) {
        de[j] += d[j];
        dp[j] += d[j];
      }
    }
  }
  if (K > 0) {
    for (int64_t q = 0; q < K; ++q)
      std::memcpy(s.crit_tmp + q * C, s.dres + static_cast<int64_t>(s.critique_pos[q]) * C, static_cast<size_t>(C) * sizeof(float));
    matmul_backward(k, nullptr, s.g.critique_proj, s.g.critique_bias, s.crit_tmp, s.critique_feats.data(), s.p.critique_proj, s.wt, K,
                    c.critique_dim, C, threads);
  }
  if (d_rows)
    parallel_for(N * C, 1 << 15, threads, [&](int64_t b0, int64_t b1, int) {
      for (int64_t i = b0; i < b1; ++i) d_item[i] += d_rows[i];
    });
  if (c.content_dim > 0) {
    std::memcpy(s.g.item_emb, s.d_rows_buf.data(), s.d_rows_buf.size() * sizeof(float));
    GemmArgs g;
    g.M = c.content_dim, g.N = C, g.K = N;
    g.A = s.content.data(), g.a_m = 1, g.a_k = c.content_dim;
    g.B = s.d_rows_buf.data(), g.ldb = C;
    g.C = s.g.content_proj, g.ldc = C;
    g.accumulate = true;
    gemm(k, g, threads);
  }
}

double Model::loss_backward(const int32_t* targets, const RunConfig& run) {
  const ModelConfig& c = config_;
  Impl& s = *impl_;
  if (!s.have_forward) throw std::logic_error("loss_backward() needs a forward() first");
  const int64_t R = s.R, C = c.dim, N = c.items;
  refresh_rows(run);
  if (!s.table || s.table->precision() != run.loss_precision)
    s.table = std::make_unique<ItemMatrix>(s.rows, N, static_cast<int32_t>(C), run.loss_precision);
  else s.table->assign(s.rows);
  s.loss_rows.resize(static_cast<size_t>(R));
  s.loss_weights.assign(static_cast<size_t>(R), R > 0 ? 1.0f / static_cast<float>(R) : 0.0f);
  s.d_hidden.resize(static_cast<size_t>(R * C));
  s.d_table.resize(static_cast<size_t>(N * C));
  XentRequest req;
  req.queries = s.lnf;
  req.rows = R;
  req.targets = targets;
  req.row_weights = s.loss_weights.data();
  XentResult res;
  res.loss = s.loss_rows.data();
  res.grad_queries = s.d_hidden.data();
  res.grad_items = s.d_table.data();
  res.assign_grads = true;
  SearchConfig sc;
  sc.isa = run.isa;
  sc.threads = std::max(run.threads, 1);
  cross_entropy(*s.table, req, res, sc);
  double sum = 0.0;
  for (int64_t r = 0; r < R; ++r) sum += s.loss_rows[static_cast<size_t>(r)];
  backward(s.d_hidden.data(), s.d_table.data(), run);
  return R > 0 ? sum / static_cast<double>(R) : 0.0;
}

void Model::step(const AdamW& opt, const RunConfig& run) {
  const Kernels& k = kernels_for(run.isa);
  impl_->rows_current = false;
  const double t = static_cast<double>(opt.t);
  for (const TensorInfo& ti : tensors_) {
    detail::AdamWScalars sc{opt.lr, opt.beta1, opt.beta2, opt.eps, ti.decay ? opt.weight_decay : 0.0f,
                            static_cast<float>(1.0 - std::pow(static_cast<double>(opt.beta1), t)),
                            static_cast<float>(1.0 - std::pow(static_cast<double>(opt.beta2), t))};
    float* p = params_.get() + ti.offset;
    const float* g = grads_.get() + ti.offset;
    float* m = m_.get() + ti.offset;
    float* v = v_.get() + ti.offset;
    parallel_for(ti.size(), 1 << 15, run.threads, [&](int64_t b, int64_t e, int) { k.adamw(p + b, g + b, m + b, v + b, e - b, sc); });
  }
}

}  // namespace regen::train
