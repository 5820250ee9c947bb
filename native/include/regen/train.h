// Training of sequential recommenders (SASRec, BERT4Rec, FLARE-style): the transformer body's
// forward and backward over packed variable-length sequences, and AdamW. The loss (full-catalogue
// softmax cross-entropy) is not here: the body hands its hidden states to the item table's fused
// cross-entropy (ItemTable.crossEntropy) and takes back their gradient and the item table's.
//
// In the style of llm.c's train_gpt2.c: one forward/backward pair per layer, parameters (and
// gradients, AdamW moments) in one allocation each with named offsets, the backward in reverse
// order of the forward. Plain C++ over raw pointers: no N-API here; callers validate their inputs.
//
// The model, per position t of a sequence of length l (index i in [0, l), oldest first):
//   x_t = rows[input_t] + pos[l - 1 - i] (+ critique_t @ critique_proj + critique_bias)
//   rows = item_emb (+ content @ content_proj): the item representations, also the output table
//   x = dropout(x); then per layer (pre-LN):
//     x = x + dropout(attn(ln1(x)) @ attn_proj)      multi-head, causal or bidirectional, within a sequence
//     x = x + dropout(gelu(ln2(x) @ fc) @ fc_proj)
//   hidden_t = ln_f(x_t), returned for the requested output positions.
// Positions count back from the sequence's last item (0 = most recent), as SASRec's left-padded
// input aligns them; padding positions are never stored or computed (sequences are packed).
// Weights are stored [in, out] (y = x @ W + b).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "regen/search.h"  // Isa

namespace regen::train {

struct ModelConfig {
  int32_t items = 0;         // catalogue size N: output rows, item ids in [0, N)
  int32_t dim = 64;          // C
  int32_t layers = 2;
  int32_t heads = 1;         // dim % heads == 0
  int32_t ffn_dim = 256;
  int32_t max_len = 50;      // longest sequence (positions)
  bool causal = true;        // false: bidirectional attention
  bool mask_token = false;   // one more input row after the items (id N), BERT4Rec's [MASK]
  int32_t content_dim = 0;   // > 0: rows[i] = item_emb[i] + content[i] @ content_proj (FLARE-style)
  int32_t critique_dim = 0;  // > 0: positions may carry critique features
  float dropout = 0.2f;      // embeddings, attention output, feed-forward output
  float attn_dropout = 0.2f; // attention probabilities
  float init_std = 0.02f;
};

// A named tensor inside the flat parameter array.
struct TensorInfo {
  std::string name;
  int64_t offset;
  std::vector<int64_t> shape;
  bool decay;  // AdamW weight decay applies (matrices and embeddings; not biases or layer norms)
  int64_t size() const;
};

// One batch of packed sequences. Preconditions (the caller checks): sequences >= 0; offsets holds
// sequences + 1 non-decreasing values from 0, each sequence 1..max_len long; inputs[t] in
// [0, N + mask_token); out_index values in [0, T); critique positions in [0, T), distinct.
struct Batch {
  int32_t sequences = 0;
  const int32_t* offsets = nullptr;     // sequences + 1
  const int32_t* inputs = nullptr;      // T = offsets[sequences] input row ids
  int32_t out_rows = 0;
  const int32_t* out_index = nullptr;   // positions whose hidden state is returned, in this order
  int32_t critiques = 0;
  const int32_t* critique_pos = nullptr;     // positions carrying a critique
  const float* critique_feats = nullptr;     // critiques x critique_dim
  bool training = false;                // dropout on
  uint32_t dropout_seed = 0;
  uint32_t step = 0;                    // dropout masks are a function of (seed, step, site, index)
};

struct AdamW {
  float lr = 1e-3f;
  float beta1 = 0.9f;
  float beta2 = 0.999f;
  float eps = 1e-8f;
  float weight_decay = 0.0f;
  int64_t t = 1;  // step number, from 1 (bias correction)
};

struct RunConfig {
  Isa isa = Isa::Scalar;
  int threads = 1;
  // The loss's scores (loss_backward): Fp32, or Bf16 (items and hidden states rounded to bfloat16,
  // products summed in float32; AVX-512 with AVX512-BF16 only) at twice the arithmetic rate.
  Precision loss_precision = Precision::Fp32;
};

class Model {
 public:
  // Parameters initialised from seed: normal(0, init_std) for matrices and embeddings, residual
  // projections scaled by 1/sqrt(2 layers), layer norms 1 and 0, biases 0.
  Model(const ModelConfig& config, uint64_t seed);
  ~Model();
  Model(const Model&) = delete;
  Model& operator=(const Model&) = delete;

  const ModelConfig& config() const { return config_; }
  const std::vector<TensorInfo>& tensors() const { return tensors_; }
  int64_t num_params() const { return num_params_; }
  float* params() { return params_.get(); }
  float* grads() { return grads_.get(); }
  float* adam_m() { return m_.get(); }
  float* adam_v() { return v_.get(); }
  // Bytes held: parameters, gradients, moments, item rows, content, activations.
  int64_t bytes() const;

  // Item content features, N x content_dim (copied).
  void set_content(const float* content);
  // To call after writing params() directly (the item rows are recomputed on next use).
  void params_changed();

  // Brings the item representations (rows) up to date with the parameters: N x dim, the table
  // the output scores use. forward() refreshes them too.
  void refresh_rows(const RunConfig& run);
  const float* rows() const;

  // Forward over a batch; writes out_rows x dim hidden states. Keeps the activations for backward.
  void forward(const Batch& batch, float* hidden, const RunConfig& run);
  bool has_forward() const;
  int64_t out_rows() const;  // of the last forward
  // Backward of the last forward: d_hidden (out_rows x dim), and d_rows (N x dim, the gradient of
  // the loss with respect to the output table, or null). Gradients are overwritten, not accumulated.
  void backward(const float* d_hidden, const float* d_rows, const RunConfig& run);
  // The loss of the last forward and its backward, in one: the mean full-catalogue softmax
  // cross-entropy of the output rows (targets: out_rows item ids, -1 for none) against rows(),
  // by the engine's fused cross-entropy (regen/xent.h; no rows x items matrix), then backward()
  // with its gradients. Returns the mean loss over the output rows (-1 rows count as 0).
  double loss_backward(const int32_t* targets, const RunConfig& run);
  // One AdamW step from the gradients.
  void step(const AdamW& opt, const RunConfig& run);

 private:
  struct Impl;
  ModelConfig config_;
  std::vector<TensorInfo> tensors_;
  int64_t num_params_ = 0;
  struct FreeAligned { void operator()(float* p) const; };
  std::unique_ptr<float, FreeAligned> params_, grads_, m_, v_;
  std::unique_ptr<Impl> impl_;
};

// The dropout mask (shared with the TypeScript reference, src/train/reference.ts): element `index`
// of site `site` at step `step` is kept when (hash >> 8) >= round(p 2^24), and scaled by 1 / (1 - p).
// Sites: 0 the embeddings; per layer l, 1 + 3 l the attention probabilities, 2 + 3 l the attention
// output, 3 + 3 l the feed-forward output.
uint32_t dropout_key(uint32_t seed, uint32_t step, uint32_t site);
inline uint32_t mix32(uint32_t x) {
  x ^= x >> 16;
  x *= 0x7feb352dU;
  x ^= x >> 15;
  x *= 0x846ca68bU;
  x ^= x >> 16;
  return x;
}
inline bool dropout_keep(uint32_t key, uint32_t index, uint32_t threshold) {
  return (mix32(mix32(index) + key) >> 8) >= threshold;
}
uint32_t dropout_threshold(float p);

}  // namespace regen::train
