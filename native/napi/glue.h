// N-API helpers shared by the CPU addon (addon_cpu.cpp) and the CUDA addon (addon_cuda.cpp): typed
// arrays read in place, promise-settling workers, and the JS search({...}) argument object read
// into the kernels' plain SearchRequest / SearchResult. Knows N-API, nothing of the math.
#pragma once

#include <napi.h>

#include <cstdint>
#include <memory>
#include <new>
#include <stdexcept>
#include <string>
#include <vector>

#include "regen/search.h"
#include "regen/step.h"
#include "regen/xent.h"

namespace regen::napi {

template <typename T>
T* typed_array_data(const Napi::Value& value, napi_typedarray_type type, const char* name, size_t* length) {
  if (!value.IsTypedArray() || value.As<Napi::TypedArray>().TypedArrayType() != type)
    throw Napi::TypeError::New(value.Env(), std::string("native binding: ") + name + " has the wrong array type");
  Napi::TypedArray array = value.As<Napi::TypedArray>();
  *length = array.ElementLength();
  return reinterpret_cast<T*>(static_cast<uint8_t*>(array.ArrayBuffer().Data()) + array.ByteOffset());
}

// Keeps the JS arrays a worker reads or writes alive until it settles.
class Pins {
 public:
  void add(const Napi::Value& v) {
    if (v.IsObject()) refs_.push_back(Napi::Persistent(v.As<Napi::Object>()));
  }

 private:
  std::vector<Napi::ObjectReference> refs_;
};

class PromiseWorker : public Napi::AsyncWorker {
 public:
  explicit PromiseWorker(Napi::Env env, const char* name)
      : Napi::AsyncWorker(env, name), deferred_(Napi::Promise::Deferred::New(env)) {}
  Napi::Promise promise() const { return deferred_.Promise(); }

 protected:
  void Execute() final {
    try {
      Run();
    } catch (const std::bad_alloc&) {
      SetError("out of memory");
    } catch (const std::exception& e) {
      SetError(e.what());
    }
  }
  virtual void Run() = 0;
  void OnError(const Napi::Error& e) override { deferred_.Reject(e.Value()); }
  Napi::Promise::Deferred deferred_;
};

// Reads scoreItems' query (Float32Array, dim values) and ids (Int32Array, each in [0, count)) at
// info[1] and info[2].
inline void read_score_items_args(const Napi::CallbackInfo& info, int64_t count, int64_t dim, const float** query,
                                  const int32_t** ids, size_t* n) {
  Napi::Env env = info.Env();
  size_t query_length = 0;
  *query = typed_array_data<const float>(info[1], napi_float32_array, "query", &query_length);
  *ids = typed_array_data<const int32_t>(info[2], napi_int32_array, "ids", n);
  if (static_cast<int64_t>(query_length) != dim) throw Napi::RangeError::New(env, "native binding: query has the wrong length");
  for (size_t i = 0; i < *n; ++i)
    if ((*ids)[i] < 0 || (*ids)[i] >= count) throw Napi::RangeError::New(env, "native binding: an id is out of range");
}

// Reads the optional {excludeOffsets (rows + 1), excludeIds} CSR pair of a search or step.
inline void read_exclusions(const Napi::Object& o, int64_t rows, const int32_t** offsets_out, const int32_t** ids_out,
                            Pins& pins) {
  Napi::Value offsets = o.Get("excludeOffsets");
  if (offsets.IsNull() || offsets.IsUndefined()) return;
  size_t len = 0;
  *offsets_out = typed_array_data<const int32_t>(offsets, napi_int32_array, "excludeOffsets", &len);
  if (static_cast<int64_t>(len) != rows + 1) throw Napi::RangeError::New(o.Env(), "native binding: excludeOffsets has the wrong length");
  Napi::Value ids = o.Get("excludeIds");
  *ids_out = typed_array_data<const int32_t>(ids, napi_int32_array, "excludeIds", &len);
  pins.add(offsets);
  pins.add(ids);
}

// Reads search({queries, rows, k, excludeOffsets, excludeIds, targets, bias, ids, scores, logZ,
// targetRank, targetLogProb}) over a table of count x dim items into req / res, pinning every array.
inline void read_search_args(const Napi::Object& o, int64_t count, int64_t dim, SearchRequest& req, SearchResult& res,
                             Pins& pins) {
  Napi::Env env = o.Env();
  const int64_t rows = o.Get("rows").As<Napi::Number>().Int64Value();
  const int32_t k = o.Get("k").As<Napi::Number>().Int32Value();
  if (rows < 0 || k < 1) throw Napi::RangeError::New(env, "native binding: rows >= 0 and k >= 1");
  size_t len = 0;
  auto need = [&](bool ok, const char* what) {
    if (!ok) throw Napi::RangeError::New(env, std::string("native binding: ") + what + " has the wrong length");
  };
  auto optional = [&](const char* key) {
    Napi::Value v = o.Get(key);
    return v.IsNull() || v.IsUndefined() ? Napi::Value() : v;
  };

  Napi::Value queries = o.Get("queries");
  req.queries = typed_array_data<const float>(queries, napi_float32_array, "queries", &len);
  need(static_cast<int64_t>(len) == rows * dim, "queries");
  pins.add(queries);
  req.rows = rows;
  req.k = k;
  read_exclusions(o, rows, &req.exclude_offsets, &req.exclude_ids, pins);
  if (Napi::Value targets = optional("targets"); !targets.IsEmpty()) {
    req.targets = typed_array_data<const int32_t>(targets, napi_int32_array, "targets", &len);
    need(static_cast<int64_t>(len) == rows, "targets");
    pins.add(targets);
    Napi::Value rank = o.Get("targetRank"), log_prob = o.Get("targetLogProb");
    res.target_rank = typed_array_data<int32_t>(rank, napi_int32_array, "targetRank", &len);
    need(static_cast<int64_t>(len) == rows, "targetRank");
    res.target_log_prob = typed_array_data<float>(log_prob, napi_float32_array, "targetLogProb", &len);
    need(static_cast<int64_t>(len) == rows, "targetLogProb");
    pins.add(rank);
    pins.add(log_prob);
  }
  if (Napi::Value bias = optional("bias"); !bias.IsEmpty()) {
    req.bias = typed_array_data<const float>(bias, napi_float32_array, "bias", &len);
    need(static_cast<int64_t>(len) == count, "bias");
    pins.add(bias);
  }
  Napi::Value ids = o.Get("ids"), scores = o.Get("scores"), log_z = o.Get("logZ");
  res.ids = typed_array_data<int32_t>(ids, napi_int32_array, "ids", &len);
  need(static_cast<int64_t>(len) == rows * k, "ids");
  res.scores = typed_array_data<float>(scores, napi_float32_array, "scores", &len);
  need(static_cast<int64_t>(len) == rows * k, "scores");
  res.log_z = typed_array_data<float>(log_z, napi_float32_array, "logZ", &len);
  need(static_cast<int64_t>(len) == rows, "logZ");
  pins.add(ids);
  pins.add(scores);
  pins.add(log_z);
}


// crossEntropy's inputs, COPIED out of the JS arrays when the call is made: the worker reads only
// these, so a caller may change or transfer its arrays as soon as the call returns.
struct XentInputs {
  int64_t rows = 0;
  std::vector<float> queries, bias, weights;
  std::vector<int32_t> targets, ex_off, ex_ids;
  bool has_bias = false, has_weights = false, has_exclusions = false;

  XentRequest request() const {
    XentRequest r;
    r.queries = queries.data();
    r.rows = rows;
    r.targets = targets.data();
    r.exclude_offsets = has_exclusions ? ex_off.data() : nullptr;
    r.exclude_ids = has_exclusions ? ex_ids.data() : nullptr;
    r.bias = has_bias ? bias.data() : nullptr;
    r.row_weights = has_weights ? weights.data() : nullptr;
    return r;
  }
};

// gradItems / gradBias: the worker accumulates into its own zeroed buffers; when it settles, they
// are added into the caller's arrays on the main thread (which may have been transferred meanwhile:
// then the call fails, saying so).
struct XentGrads {
  Napi::ObjectReference items_ref, bias_ref;
  bool want_items = false, want_bias = false;
  std::unique_ptr<float[]> items, bias;  // left uninitialised: the kernels write them (assign_grads)
  size_t items_size = 0, bias_size = 0;

  // In the worker, before the kernels run.
  void allocate(int64_t count, int64_t dim) {
    if (want_items) items.reset(new float[items_size = static_cast<size_t>(count * dim)]);
    if (want_bias) bias.reset(new float[bias_size = static_cast<size_t>(count)]);
  }

  // On the main thread, after the worker: caller's arrays += the buffers. Returns an error text or "".
  std::string add_into_caller() {
    auto add = [](Napi::ObjectReference& ref, const float* from, size_t size, const char* name) -> std::string {
      Napi::Value v = ref.Value();
      if (!v.IsTypedArray() || v.As<Napi::TypedArray>().TypedArrayType() != napi_float32_array)
        return std::string(name) + " is no longer a Float32Array";
      Napi::TypedArray array = v.As<Napi::TypedArray>();
      if (array.ElementLength() != size || array.ArrayBuffer().Data() == nullptr)
        return std::string(name) + " was transferred or resized while crossEntropy ran; its gradient was not added";
      float* to = reinterpret_cast<float*>(static_cast<uint8_t*>(array.ArrayBuffer().Data()) + array.ByteOffset());
      for (size_t i = 0; i < size; ++i) to[i] += from[i];
      return "";
    };
    if (want_items) {
      std::string e = add(items_ref, items.get(), items_size, "gradItems");
      if (!e.empty()) return e;
    }
    if (want_bias) return add(bias_ref, bias.get(), bias_size, "gradBias");
    return "";
  }
};

// Reads crossEntropy({queries, rows, targets, excludeOffsets, excludeIds, bias, rowWeights,
// gradItems, gradBias, loss, gradQueries}) over a table of count x dim items: inputs copied into
// `in`, the accumulation targets referenced in `grads`, the outputs (fresh arrays the caller made
// for this call) pinned and returned in loss / grad_queries.
inline void read_xent_args(const Napi::Object& o, int64_t count, int64_t dim, XentInputs& in, XentGrads& grads,
                           float** loss, float** grad_queries, Pins& pins) {
  Napi::Env env = o.Env();
  const int64_t rows = o.Get("rows").As<Napi::Number>().Int64Value();
  if (rows < 0) throw Napi::RangeError::New(env, "native binding: rows >= 0");
  size_t len = 0;
  auto need = [&](bool ok, const char* what) {
    if (!ok) throw Napi::RangeError::New(env, std::string("native binding: ") + what + " has the wrong length");
  };
  auto optional = [&](const char* key) {
    Napi::Value v = o.Get(key);
    return v.IsNull() || v.IsUndefined() ? Napi::Value() : v;
  };
  auto copy_f32 = [&](const Napi::Value& v, const char* name, size_t expected, std::vector<float>& out) {
    const float* p = typed_array_data<const float>(v, napi_float32_array, name, &len);
    need(len == expected, name);
    out.assign(p, p + len);
  };
  auto copy_i32 = [&](const Napi::Value& v, const char* name, std::vector<int32_t>& out) {
    const int32_t* p = typed_array_data<const int32_t>(v, napi_int32_array, name, &len);
    out.assign(p, p + len);
  };
  in.rows = rows;
  copy_f32(o.Get("queries"), "queries", static_cast<size_t>(rows * dim), in.queries);
  copy_i32(o.Get("targets"), "targets", in.targets);
  need(static_cast<int64_t>(in.targets.size()) == rows, "targets");
  for (int32_t t : in.targets)
    if (t < -1 || t >= count) throw Napi::RangeError::New(env, "native binding: a target is out of range");
  if (Napi::Value offsets = optional("excludeOffsets"); !offsets.IsEmpty()) {
    copy_i32(offsets, "excludeOffsets", in.ex_off);
    need(static_cast<int64_t>(in.ex_off.size()) == rows + 1, "excludeOffsets");
    copy_i32(o.Get("excludeIds"), "excludeIds", in.ex_ids);
    const int64_t n_ids = static_cast<int64_t>(in.ex_ids.size());
    for (int64_t r = 0; r <= rows; ++r)
      if (in.ex_off[r] < 0 || in.ex_off[r] > n_ids || (r > 0 && in.ex_off[r] < in.ex_off[r - 1]))
        throw Napi::RangeError::New(env, "native binding: excludeOffsets must be non-decreasing within excludeIds");
    for (int32_t id : in.ex_ids)
      if (id < 0 || id >= count) throw Napi::RangeError::New(env, "native binding: an excluded id is out of range");
    in.has_exclusions = true;
  }
  if (Napi::Value bias = optional("bias"); !bias.IsEmpty()) {
    copy_f32(bias, "bias", static_cast<size_t>(count), in.bias);
    in.has_bias = true;
  }
  if (Napi::Value weights = optional("rowWeights"); !weights.IsEmpty()) {
    copy_f32(weights, "rowWeights", static_cast<size_t>(rows), in.weights);
    in.has_weights = true;
  }
  if (Napi::Value gi = optional("gradItems"); !gi.IsEmpty()) {
    typed_array_data<float>(gi, napi_float32_array, "gradItems", &len);
    need(static_cast<int64_t>(len) == count * dim, "gradItems");
    grads.items_ref = Napi::Persistent(gi.As<Napi::Object>());
    grads.want_items = true;
  }
  if (Napi::Value gb = optional("gradBias"); !gb.IsEmpty()) {
    typed_array_data<float>(gb, napi_float32_array, "gradBias", &len);
    need(static_cast<int64_t>(len) == count, "gradBias");
    grads.bias_ref = Napi::Persistent(gb.As<Napi::Object>());
    grads.want_bias = true;
  }
  Napi::Value loss_v = o.Get("loss"), grad_q = o.Get("gradQueries");
  *loss = typed_array_data<float>(loss_v, napi_float32_array, "loss", &len);
  need(static_cast<int64_t>(len) == rows, "loss");
  *grad_queries = typed_array_data<float>(grad_q, napi_float32_array, "gradQueries", &len);
  need(static_cast<int64_t>(len) == rows * dim, "gradQueries");
  pins.add(loss_v);
  pins.add(grad_q);
}

// Reads decodeStep's options after its tables: {hidden, rows, table, k, excludeOffsets, excludeIds,
// streams, steps, temperature, topK, topP, seed, candidates, token, logProb, logZ, ids, scores}.
inline void read_step_args(const Napi::Object& o, int64_t dim, int64_t table_count, StepRequest& req, StepResult& res,
                           Pins& pins) {
  Napi::Env env = o.Env();
  const int64_t rows = o.Get("rows").As<Napi::Number>().Int64Value();
  const int32_t k = o.Get("k").As<Napi::Number>().Int32Value();
  if (rows < 0 || k < 1) throw Napi::RangeError::New(env, "native binding: rows >= 0 and k >= 1");
  size_t len = 0;
  auto need = [&](bool ok, const char* what) {
    if (!ok) throw Napi::RangeError::New(env, std::string("native binding: ") + what + " has the wrong length");
  };
  auto optional = [&](const char* key) { Napi::Value v = o.Get(key); return v.IsNull() || v.IsUndefined() ? Napi::Value() : v; };

  Napi::Value hidden = o.Get("hidden");
  req.hidden = typed_array_data<const float>(hidden, napi_float32_array, "hidden", &len);
  need(static_cast<int64_t>(len) == rows * dim, "hidden");
  pins.add(hidden);
  Napi::Value table = o.Get("table");
  req.table = typed_array_data<const int32_t>(table, napi_int32_array, "table", &len);
  need(static_cast<int64_t>(len) == rows, "table");
  for (int64_t r = 0; r < rows; ++r)
    if (req.table[r] < 0 || req.table[r] >= table_count) throw Napi::RangeError::New(env, "native binding: a table index is out of range");
  pins.add(table);
  req.rows = rows;
  req.k = k;
  read_exclusions(o, rows, &req.exclude_offsets, &req.exclude_ids, pins);
  if (Napi::Value streams = optional("streams"); !streams.IsEmpty()) {
    req.streams = typed_array_data<const uint32_t>(streams, napi_uint32_array, "streams", &len);
    need(static_cast<int64_t>(len) == rows, "streams");
    pins.add(streams);
  }
  if (Napi::Value steps = optional("steps"); !steps.IsEmpty()) {
    req.steps = typed_array_data<const uint32_t>(steps, napi_uint32_array, "steps", &len);
    need(static_cast<int64_t>(len) == rows, "steps");
    pins.add(steps);
  }
  req.sampling.temperature = o.Get("temperature").As<Napi::Number>().FloatValue();
  req.sampling.top_k = o.Get("topK").As<Napi::Number>().Int32Value();
  req.sampling.top_p = o.Get("topP").As<Napi::Number>().FloatValue();
  req.sampling.seed = static_cast<uint64_t>(o.Get("seed").As<Napi::Number>().Int64Value());
  req.sampling.candidates = o.Get("candidates").As<Napi::Number>().Int32Value();

  Napi::Value token = o.Get("token"), log_prob = o.Get("logProb"), log_z = o.Get("logZ"), ids = o.Get("ids"),
              scores = o.Get("scores");
  res.token = typed_array_data<int32_t>(token, napi_int32_array, "token", &len);
  need(static_cast<int64_t>(len) == rows, "token");
  res.log_prob = typed_array_data<float>(log_prob, napi_float32_array, "logProb", &len);
  need(static_cast<int64_t>(len) == rows, "logProb");
  res.log_z = typed_array_data<float>(log_z, napi_float32_array, "logZ", &len);
  need(static_cast<int64_t>(len) == rows, "logZ");
  res.ids = typed_array_data<int32_t>(ids, napi_int32_array, "ids", &len);
  need(static_cast<int64_t>(len) == rows * k, "ids");
  res.scores = typed_array_data<float>(scores, napi_float32_array, "scores", &len);
  need(static_cast<int64_t>(len) == rows * k, "scores");
  for (const Napi::Value& v : {token, log_prob, log_z, ids, scores}) pins.add(v);

}

}  // namespace regen::napi
