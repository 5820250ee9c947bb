// N-API glue for the training body (regen/train.h): a NativeTrainModel object whose forward,
// backward and AdamW steps run on worker threads and settle promises. Every array a worker reads is
// copied before the call returns, so the caller may reuse or change it at once; results come back
// in new arrays. Validation lives in TypeScript (src/engine/train-kernels.ts); here only what would
// otherwise crash the process is checked. Knows N-API, nothing of the math.
#include <napi.h>

#include <atomic>
#include <cstring>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "glue.h"
#include "regen/cpu_features.h"
#include "regen/train.h"

namespace regen::napi {

namespace {

using regen::train::Model;

// Copies a typed array into `out` (its capacity is reused from call to call: no fresh pages).
template <typename T>
void copy_array(const Napi::Value& v, napi_typedarray_type type, const char* name, std::vector<T>& out) {
  size_t n = 0;
  const T* p = typed_array_data<const T>(v, type, name, &n);
  out.assign(p, p + n);
}

bool optional_present(const Napi::Value& v) { return !(v.IsNull() || v.IsUndefined()); }

// Values in [0, limit), no two equal.
void check_distinct(Napi::Env env, const std::vector<int32_t>& v, size_t limit, const char* name) {
  std::vector<uint8_t> seen(limit, 0);
  for (int32_t x : v) {
    if (x < 0 || static_cast<size_t>(x) >= limit || seen[static_cast<size_t>(x)])
      throw Napi::RangeError::New(env, std::string("native binding: ") + name + " must hold distinct positions of the batch");
    seen[static_cast<size_t>(x)] = 1;
  }
}

// What the kernels index with: sequences 1..maxLen long, input rows and output positions in range.
void check_batch(Napi::Env env, const regen::train::ModelConfig& c, const std::vector<int32_t>& offsets,
                 const std::vector<int32_t>& inputs, const std::vector<int32_t>& out_index) {
  if (offsets.empty() || offsets[0] != 0 || offsets.back() != static_cast<int32_t>(inputs.size()))
    throw Napi::RangeError::New(env, "native binding: offsets must run from 0 to inputs.length");
  for (size_t i = 1; i < offsets.size(); ++i) {
    const int32_t l = offsets[i] - offsets[i - 1];
    if (l < 1 || l > c.max_len) throw Napi::RangeError::New(env, "native binding: every sequence must hold 1 to maxLen positions");
  }
  const int32_t rows = c.items + (c.mask_token ? 1 : 0);
  for (int32_t x : inputs)
    if (x < 0 || x >= rows) throw Napi::RangeError::New(env, "native binding: an input id is out of range");
  check_distinct(env, out_index, inputs.size(), "outIndex");
}

regen::train::RunConfig read_run(const Napi::Object& o) {
  Napi::Env env = o.Env();
  const std::string isa = o.Get("isa").As<Napi::String>().Utf8Value();
  regen::train::RunConfig run;
  if (isa == "scalar") run.isa = regen::Isa::Scalar;
  else if (isa == "avx2") run.isa = regen::Isa::Avx2;
  else if (isa == "avx512") run.isa = regen::Isa::Avx512;
  else throw Napi::TypeError::New(env, "native binding: unknown isa '" + isa + "'");
  if (!regen::isa_supported(run.isa, regen::cpu_features()))
    throw Napi::Error::New(env, "this CPU cannot run the " + isa + " kernels");
  run.threads = o.Get("threads").As<Napi::Number>().Int32Value();
  if (run.threads < 1) throw Napi::RangeError::New(env, "native binding: threads >= 1");
  if (Napi::Value p = o.Get("precision"); p.IsString() && p.As<Napi::String>().Utf8Value() == "bf16") {
    run.loss_precision = regen::Precision::Bf16;
    if (!regen::precision_supported(regen::Precision::Bf16, regen::Isa::Avx512, regen::cpu_features()) || run.isa != regen::Isa::Avx512)
      throw Napi::Error::New(env, "bf16 needs the avx512 kernels of a CPU with AVX512-BF16");
  }
  return run;
}

// The model, whether a worker is using it (one call at a time), and the buffers calls copy their
// arrays into (kept between calls).
struct Shared {
  std::unique_ptr<Model> model;
  std::atomic<bool> busy{false};
  std::vector<int32_t> offsets, inputs, out_index, critique_pos, targets;
  std::vector<float> critique_feats, hidden, d_hidden, d_rows, rows;
};

class ModelWorker : public PromiseWorker {
 public:
  ModelWorker(Napi::Env env, const char* name, std::shared_ptr<Shared> shared)
      : PromiseWorker(env, name), shared_(std::move(shared)) {}
  ~ModelWorker() override { shared_->busy = false; }

 protected:
  void OnOK() override { deferred_.Resolve(Env().Undefined()); }
  Model& model() { return *shared_->model; }
  std::shared_ptr<Shared> shared_;
};

class ForwardWorker : public ModelWorker {
 public:
  ForwardWorker(Napi::Env env, const char* name, std::shared_ptr<Shared> shared) : ModelWorker(env, name, std::move(shared)) {}
  using ModelWorker::ModelWorker;
  regen::train::Batch batch;
  regen::train::RunConfig run;

 private:
  void Run() override {
    Shared& s = *shared_;
    batch.offsets = s.offsets.data();
    batch.inputs = s.inputs.data();
    batch.out_index = s.out_index.data();
    batch.critique_pos = s.critique_pos.data();
    batch.critique_feats = s.critique_feats.data();
    s.hidden.resize(static_cast<size_t>(batch.out_rows) * static_cast<size_t>(model().config().dim));
    model().forward(batch, s.hidden.data(), run);
  }
  void OnOK() override {
    const std::vector<float>& h = shared_->hidden;
    Napi::Float32Array out = Napi::Float32Array::New(Env(), h.size());
    std::memcpy(out.Data(), h.data(), h.size() * sizeof(float));
    deferred_.Resolve(out);
  }
};

// forward + the fused loss + backward + AdamW: one training step, resolving with the mean loss.
class StepWorker : public ForwardWorker {
 public:
  using ForwardWorker::ForwardWorker;
  regen::train::AdamW opt;
  double loss = 0.0;

 private:
  void Run() override {
    Shared& s = *shared_;
    batch.offsets = s.offsets.data();
    batch.inputs = s.inputs.data();
    batch.out_index = s.out_index.data();
    batch.critique_pos = s.critique_pos.data();
    batch.critique_feats = s.critique_feats.data();
    s.hidden.resize(static_cast<size_t>(batch.out_rows) * static_cast<size_t>(model().config().dim));
    model().forward(batch, s.hidden.data(), run);
    loss = model().loss_backward(s.targets.data(), run);
    model().step(opt, run);
  }
  void OnOK() override { deferred_.Resolve(Napi::Number::New(Env(), loss)); }
};

class BackwardWorker : public ModelWorker {
 public:
  using ModelWorker::ModelWorker;
  bool has_d_rows = false;
  bool has_step = false;
  regen::train::AdamW opt;
  regen::train::RunConfig run;

 private:
  void Run() override {
    model().backward(shared_->d_hidden.data(), has_d_rows ? shared_->d_rows.data() : nullptr, run);
    if (has_step) model().step(opt, run);
  }
};

class RowsWorker : public ModelWorker {
 public:
  using ModelWorker::ModelWorker;
  regen::train::RunConfig run;

 private:
  void Run() override { model().refresh_rows(run); }
  void OnOK() override {
    const auto& c = model().config();
    const size_t n = static_cast<size_t>(c.items) * static_cast<size_t>(c.dim);
    Napi::Float32Array out = Napi::Float32Array::New(Env(), n);
    std::memcpy(out.Data(), model().rows(), n * sizeof(float));
    deferred_.Resolve(out);
  }
};

class NativeTrainModel : public Napi::ObjectWrap<NativeTrainModel> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "NativeTrainModel",
                       {InstanceMethod<&NativeTrainModel::Tensors>("tensors"),
                        InstanceMethod<&NativeTrainModel::NumParams>("numParams"),
                        InstanceMethod<&NativeTrainModel::Bytes>("bytes"),
                        InstanceMethod<&NativeTrainModel::GetState>("getState"),
                        InstanceMethod<&NativeTrainModel::SetState>("setState"),
                        InstanceMethod<&NativeTrainModel::SetContent>("setContent"),
                        InstanceMethod<&NativeTrainModel::Rows>("rows"),
                        InstanceMethod<&NativeTrainModel::Forward>("forward"),
                        InstanceMethod<&NativeTrainModel::TrainStep>("trainStep"),
                        InstanceMethod<&NativeTrainModel::Backward>("backward"),
                        InstanceMethod<&NativeTrainModel::Dispose>("dispose")});
  }

  explicit NativeTrainModel(const Napi::CallbackInfo& info) : Napi::ObjectWrap<NativeTrainModel>(info) {
    if (info.Length() != 1 || !info[0].IsExternal())
      throw Napi::TypeError::New(info.Env(), "NativeTrainModel is made by createTrainModel(), not by new");
    shared_ = *info[0].As<Napi::External<std::shared_ptr<Shared>>>().Data();
    external_bytes_ = shared_->model->bytes();
    Napi::MemoryManagement::AdjustExternalMemory(info.Env(), external_bytes_);
  }
  ~NativeTrainModel() override { Release(Env()); }

 private:
  Shared& live(Napi::Env env) {
    if (!shared_) throw Napi::Error::New(env, "this training model has been disposed");
    if (shared_->busy) throw Napi::Error::New(env, "native binding: the training model is busy (await the previous call)");
    return *shared_;
  }

  template <typename W>
  Napi::Value queue(std::unique_ptr<W> worker) {
    shared_->busy = true;
    Napi::Promise promise = worker->promise();
    worker.release()->Queue();
    return promise;
  }

  Napi::Value Tensors(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    Shared& s = live(env);
    Napi::Array out = Napi::Array::New(env);
    uint32_t i = 0;
    for (const auto& t : s.model->tensors()) {
      Napi::Object o = Napi::Object::New(env);
      o.Set("name", t.name);
      o.Set("offset", Napi::Number::New(env, static_cast<double>(t.offset)));
      Napi::Array shape = Napi::Array::New(env, t.shape.size());
      for (uint32_t j = 0; j < t.shape.size(); ++j) shape.Set(j, Napi::Number::New(env, static_cast<double>(t.shape[j])));
      o.Set("shape", shape);
      o.Set("decay", t.decay);
      out.Set(i++, o);
    }
    return out;
  }

  Napi::Value NumParams(const Napi::CallbackInfo& info) {
    return Napi::Number::New(info.Env(), static_cast<double>(live(info.Env()).model->num_params()));
  }

  Napi::Value Bytes(const Napi::CallbackInfo& info) {
    return Napi::Number::New(info.Env(), static_cast<double>(live(info.Env()).model->bytes()));
  }

  float* state(Napi::Env env, Model& m, const std::string& which) {
    if (which == "params") return m.params();
    if (which == "grads") return m.grads();
    if (which == "m") return m.adam_m();
    if (which == "v") return m.adam_v();
    throw Napi::TypeError::New(env, "native binding: state is one of params, grads, m, v");
  }

  // getState(which) -> Float32Array copy of params | grads | m | v
  Napi::Value GetState(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    Model& m = *live(env).model;
    const float* p = state(env, m, info[0].As<Napi::String>().Utf8Value());
    Napi::Float32Array out = Napi::Float32Array::New(env, static_cast<size_t>(m.num_params()));
    std::memcpy(out.Data(), p, static_cast<size_t>(m.num_params()) * sizeof(float));
    return out;
  }

  // setState(which, Float32Array numParams)
  Napi::Value SetState(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    Model& m = *live(env).model;
    float* p = state(env, m, info[0].As<Napi::String>().Utf8Value());
    size_t n = 0;
    const float* src = typed_array_data<const float>(info[1], napi_float32_array, "values", &n);
    if (static_cast<int64_t>(n) != m.num_params()) throw Napi::RangeError::New(env, "native binding: values must hold numParams floats");
    std::memcpy(p, src, n * sizeof(float));
    m.params_changed();
    return env.Undefined();
  }

  // setContent(Float32Array items x contentDim)
  Napi::Value SetContent(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    Model& m = *live(env).model;
    size_t n = 0;
    const float* src = typed_array_data<const float>(info[0], napi_float32_array, "content", &n);
    const auto& c = m.config();
    if (c.content_dim == 0 || static_cast<int64_t>(n) != static_cast<int64_t>(c.items) * c.content_dim)
      throw Napi::RangeError::New(env, "native binding: content must hold items x contentDim floats");
    m.set_content(src);
    return env.Undefined();
  }

  // rows({isa, threads}) -> Promise<Float32Array items x dim>: the output table for the current parameters.
  Napi::Value Rows(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    live(env);
    auto w = std::make_unique<RowsWorker>(env, "regen-bench:trainRows", shared_);
    w->run = read_run(info[0].As<Napi::Object>());
    return queue(std::move(w));
  }

  // Copies a batch's arrays into the shared buffers and fills the worker's Batch.
  template <typename W>
  void read_batch(Napi::Env env, Model& m, const Napi::Object& o, W& w) {
    Shared& s = *shared_;
    copy_array<int32_t>(o.Get("offsets"), napi_int32_array, "offsets", s.offsets);
    copy_array<int32_t>(o.Get("inputs"), napi_int32_array, "inputs", s.inputs);
    copy_array<int32_t>(o.Get("outIndex"), napi_int32_array, "outIndex", s.out_index);
    const auto& c = m.config();
    check_batch(env, c, s.offsets, s.inputs, s.out_index);
    s.critique_pos.clear();
    s.critique_feats.clear();
    if (optional_present(o.Get("critiquePos"))) {
      copy_array<int32_t>(o.Get("critiquePos"), napi_int32_array, "critiquePos", s.critique_pos);
      copy_array<float>(o.Get("critiqueFeats"), napi_float32_array, "critiqueFeats", s.critique_feats);
      if (s.critique_feats.size() != s.critique_pos.size() * static_cast<size_t>(c.critique_dim))
        throw Napi::RangeError::New(env, "native binding: critiqueFeats must hold critiquePos.length x critiqueDim floats");
      check_distinct(env, s.critique_pos, s.inputs.size(), "critiquePos");
    }
    w.batch.sequences = static_cast<int32_t>(s.offsets.size() - 1);
    w.batch.out_rows = static_cast<int32_t>(s.out_index.size());
    w.batch.critiques = static_cast<int32_t>(s.critique_pos.size());
    w.batch.training = o.Get("training").As<Napi::Boolean>().Value();
    w.batch.dropout_seed = o.Get("seed").As<Napi::Number>().Uint32Value();
    w.batch.step = o.Get("step").As<Napi::Number>().Uint32Value();
    w.run = read_run(o);
  }

  static regen::train::AdamW read_adam(const Napi::Object& ao) {
    regen::train::AdamW opt;
    opt.lr = ao.Get("lr").As<Napi::Number>().FloatValue();
    opt.beta1 = ao.Get("beta1").As<Napi::Number>().FloatValue();
    opt.beta2 = ao.Get("beta2").As<Napi::Number>().FloatValue();
    opt.eps = ao.Get("eps").As<Napi::Number>().FloatValue();
    opt.weight_decay = ao.Get("weightDecay").As<Napi::Number>().FloatValue();
    opt.t = ao.Get("t").As<Napi::Number>().Int64Value();
    return opt;
  }

  // forward({offsets, inputs, outIndex, critiquePos, critiqueFeats, training, seed, step, isa, threads})
  //   -> Promise<Float32Array outRows x dim>
  Napi::Value Forward(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    Model& m = *live(env).model;
    if (info.Length() != 1 || !info[0].IsObject()) throw Napi::TypeError::New(env, "native binding: forward(options)");
    auto w = std::make_unique<ForwardWorker>(env, "regen-bench:trainForward", shared_);
    read_batch(env, m, info[0].As<Napi::Object>(), *w);
    return queue(std::move(w));
  }

  // trainStep({...forward's batch, targets: Int32Array outRows, adam: {...}}) -> Promise<number>: forward,
  // the mean full-catalogue cross-entropy (regen/xent.h), backward and one AdamW step.
  Napi::Value TrainStep(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    Model& m = *live(env).model;
    if (info.Length() != 1 || !info[0].IsObject()) throw Napi::TypeError::New(env, "native binding: trainStep(options)");
    Napi::Object o = info[0].As<Napi::Object>();
    auto w = std::make_unique<StepWorker>(env, "regen-bench:trainStep", shared_);
    read_batch(env, m, o, *w);
    Shared& s = *shared_;
    copy_array<int32_t>(o.Get("targets"), napi_int32_array, "targets", s.targets);
    if (s.targets.size() != s.out_index.size()) throw Napi::RangeError::New(env, "native binding: targets must hold one id per outIndex entry");
    for (int32_t t : s.targets)
      if (t < -1 || t >= m.config().items) throw Napi::RangeError::New(env, "native binding: a target is out of range");
    w->opt = read_adam(o.Get("adam").As<Napi::Object>());
    return queue(std::move(w));
  }

  // backward({dHidden, dRows, isa, threads, adam?: {lr, beta1, beta2, eps, weightDecay, t}}) -> Promise<void>:
  // the gradients of the last forward, then (with adam) one AdamW step.
  Napi::Value Backward(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    Model& m = *live(env).model;
    if (info.Length() != 1 || !info[0].IsObject()) throw Napi::TypeError::New(env, "native binding: backward(options)");
    Napi::Object o = info[0].As<Napi::Object>();
    auto w = std::make_unique<BackwardWorker>(env, "regen-bench:trainBackward", shared_);
    const auto& c = m.config();
    if (!m.has_forward()) throw Napi::Error::New(env, "native binding: backward() needs a forward() first");
    Shared& s = *shared_;
    copy_array<float>(o.Get("dHidden"), napi_float32_array, "dHidden", s.d_hidden);
    if (s.d_hidden.size() != static_cast<size_t>(m.out_rows()) * static_cast<size_t>(c.dim))
      throw Napi::RangeError::New(env, "native binding: dHidden must hold the forward's outIndex.length x dim floats");
    if (optional_present(o.Get("dRows"))) {
      copy_array<float>(o.Get("dRows"), napi_float32_array, "dRows", s.d_rows);
      w->has_d_rows = true;
      if (s.d_rows.size() != static_cast<size_t>(c.items) * static_cast<size_t>(c.dim))
        throw Napi::RangeError::New(env, "native binding: dRows must hold items x dim floats");
    }
    if (Napi::Value a = o.Get("adam"); optional_present(a)) {
      w->has_step = true;
      w->opt = read_adam(a.As<Napi::Object>());
    }
    w->run = read_run(o);
    return queue(std::move(w));
  }

  Napi::Value Dispose(const Napi::CallbackInfo& info) {
    Release(info.Env());
    return info.Env().Undefined();
  }

  // A running worker holds its own reference, so the memory goes when it settles.
  void Release(Napi::Env env) {
    if (!shared_) return;
    shared_.reset();
    Napi::MemoryManagement::AdjustExternalMemory(env, -external_bytes_);
  }

  std::shared_ptr<Shared> shared_;
  int64_t external_bytes_ = 0;
};

class CreateModelWorker : public PromiseWorker {
 public:
  CreateModelWorker(Napi::Env env, const regen::train::ModelConfig& config, uint64_t seed, Napi::FunctionReference* ctor)
      : PromiseWorker(env, "regen-bench:createTrainModel"), config_(config), seed_(seed), ctor_(ctor) {}

 private:
  void Run() override {
    shared_ = std::make_shared<Shared>();
    shared_->model = std::make_unique<Model>(config_, seed_);
  }
  void OnOK() override {
    auto external = Napi::External<std::shared_ptr<Shared>>::New(Env(), &shared_);
    deferred_.Resolve(ctor_->New({external}));
  }
  regen::train::ModelConfig config_;
  uint64_t seed_;
  Napi::FunctionReference* ctor_;
  std::shared_ptr<Shared> shared_;
};

// createTrainModel({items, dim, layers, heads, ffnDim, maxLen, causal, maskToken, contentDim,
//   critiqueDim, dropout, attnDropout, initStd}, seed) -> Promise<NativeTrainModel>
Napi::Value CreateTrainModel(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() != 2 || !info[0].IsObject() || !info[1].IsNumber())
    throw Napi::TypeError::New(env, "native binding: createTrainModel(config, seed)");
  Napi::Object o = info[0].As<Napi::Object>();
  regen::train::ModelConfig c;
  auto i32 = [&](const char* k) { return o.Get(k).As<Napi::Number>().Int32Value(); };
  c.items = i32("items");
  c.dim = i32("dim");
  c.layers = i32("layers");
  c.heads = i32("heads");
  c.ffn_dim = i32("ffnDim");
  c.max_len = i32("maxLen");
  c.causal = o.Get("causal").As<Napi::Boolean>().Value();
  c.mask_token = o.Get("maskToken").As<Napi::Boolean>().Value();
  c.content_dim = i32("contentDim");
  c.critique_dim = i32("critiqueDim");
  c.dropout = o.Get("dropout").As<Napi::Number>().FloatValue();
  c.attn_dropout = o.Get("attnDropout").As<Napi::Number>().FloatValue();
  c.init_std = o.Get("initStd").As<Napi::Number>().FloatValue();
  if (c.items < 1 || c.dim < 1 || c.layers < 0 || c.heads < 1 || c.dim % c.heads != 0 || c.ffn_dim < 1 || c.max_len < 1 ||
      c.content_dim < 0 || c.critique_dim < 0 || !(c.dropout >= 0.0f && c.dropout < 1.0f) ||
      !(c.attn_dropout >= 0.0f && c.attn_dropout < 1.0f))
    throw Napi::RangeError::New(env, "native binding: invalid model configuration");
  const uint64_t seed = static_cast<uint64_t>(info[1].As<Napi::Number>().Int64Value());
  auto* ctor = static_cast<Napi::FunctionReference*>(info.Data());
  auto* worker = new CreateModelWorker(env, c, seed, ctor);
  Napi::Promise promise = worker->promise();
  worker->Queue();
  return promise;
}

}  // namespace

void register_train(Napi::Env env, Napi::Object exports) {
  auto* ctor = new Napi::FunctionReference(Napi::Persistent(NativeTrainModel::Define(env)));
  env.AddCleanupHook([ctor] { delete ctor; });
  exports.Set("createTrainModel", Napi::Function::New(env, CreateTrainModel, "createTrainModel", ctor));
}

}  // namespace regen::napi
