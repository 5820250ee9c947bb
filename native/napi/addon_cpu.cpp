// The N-API glue: the only file that knows N-API. It unwraps typed arrays without copying, runs
// every long call on a worker thread (Napi::AsyncWorker, settling a promise) and turns C++
// exceptions into JS errors. Argument validation lives in TypeScript (src/engine/validate.ts);
// here only the shapes that would otherwise crash the process are checked.
#include <napi.h>

#include <algorithm>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "regen/bootstrap.h"
#include "regen/cpu_features.h"
#include "regen/search.h"
#include "regen/step.h"
#include "regen/text_stats.h"
#include "regen/xent.h"
#include "glue.h"

namespace regen::napi {
void register_train(Napi::Env env, Napi::Object exports);  // train_glue.cpp
}  // namespace regen::napi

namespace {

using regen::napi::Pins;
using regen::napi::PromiseWorker;
using regen::napi::typed_array_data;

struct AddonData {
  Napi::FunctionReference table_constructor;
};

regen::Isa parse_isa(Napi::Env env, const std::string& name) {
  if (name == "scalar") return regen::Isa::Scalar;
  if (name == "avx2") return regen::Isa::Avx2;
  if (name == "avx512") return regen::Isa::Avx512;
  throw Napi::TypeError::New(env, "native binding: unknown isa '" + name + "'");
}

class NativeItemTable : public Napi::ObjectWrap<NativeItemTable> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "NativeItemTable",
                       {InstanceMethod<&NativeItemTable::Search>("search"),
                        InstanceMethod<&NativeItemTable::CrossEntropy>("crossEntropy"),
                        InstanceMethod<&NativeItemTable::SetItems>("setItems"),
                        InstanceMethod<&NativeItemTable::Dispose>("dispose")});
  }

  explicit NativeItemTable(const Napi::CallbackInfo& info) : Napi::ObjectWrap<NativeItemTable>(info) {
    if (info.Length() != 1 || !info[0].IsExternal())
      throw Napi::TypeError::New(info.Env(), "NativeItemTable is made by createTable(), not by new");
    matrix_ = *info[0].As<Napi::External<std::shared_ptr<regen::ItemMatrix>>>().Data();
    external_bytes_ = matrix_->bytes();
    Napi::MemoryManagement::AdjustExternalMemory(info.Env(), external_bytes_);
  }

  ~NativeItemTable() override { Release(Env()); }

  // The table, or null once disposed (decodeStep holds its own reference while it runs).
  std::shared_ptr<const regen::ItemMatrix> matrix() const { return matrix_; }

 private:
  class SearchWorker : public PromiseWorker {
   public:
    SearchWorker(Napi::Env env, std::shared_ptr<const regen::ItemMatrix> matrix)
        : PromiseWorker(env, "regen-bench:search"), matrix_(std::move(matrix)) {}
    regen::SearchRequest request;
    regen::SearchResult result;
    regen::SearchConfig config;
    Pins pins;

   private:
    void Run() override { regen::search(*matrix_, request, result, config); }
    void OnOK() override { deferred_.Resolve(Env().Undefined()); }
    std::shared_ptr<const regen::ItemMatrix> matrix_;
  };

  // search({queries, rows, k, excludeOffsets, excludeIds, targets, bias, isa, threads,
  //         ids, scores, logZ, targetRank, targetLogProb}) -> Promise<void>; outputs filled in place.
  Napi::Value Search(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (!matrix_) throw Napi::Error::New(env, "ItemTable has been disposed");
    if (info.Length() != 1 || !info[0].IsObject()) throw Napi::TypeError::New(env, "native binding: search(options)");
    Napi::Object o = info[0].As<Napi::Object>();
    const int64_t n = matrix_->count();
    const int64_t dim = matrix_->dim();
    auto* worker = new SearchWorker(env, matrix_);
    std::unique_ptr<SearchWorker> guard(worker);
    regen::napi::read_search_args(o, n, dim, worker->request, worker->result, worker->pins);

    worker->config.isa = parse_isa(env, o.Get("isa").As<Napi::String>().Utf8Value());
    worker->config.threads = o.Get("threads").As<Napi::Number>().Int32Value();
    if (!regen::precision_supported(matrix_->precision(), worker->config.isa, regen::cpu_features()))
      throw Napi::Error::New(env, std::string("this CPU cannot run the ") + regen::isa_name(worker->config.isa) +
                                      " kernels at " + regen::precision_name(matrix_->precision()) + " precision");

    Napi::Promise promise = worker->promise();
    guard.release()->Queue();
    return promise;
  }

  class XentWorker : public PromiseWorker {
   public:
    XentWorker(Napi::Env env, std::shared_ptr<const regen::ItemMatrix> matrix)
        : PromiseWorker(env, "regen-bench:crossEntropy"), matrix_(std::move(matrix)) {}
    regen::napi::XentInputs inputs;
    regen::napi::XentGrads grads;
    regen::XentResult result;
    regen::SearchConfig config;
    Pins pins;

   private:
    void Run() override {
      grads.allocate(matrix_->count(), matrix_->dim());
      result.grad_items = grads.items.get();
      result.grad_bias = grads.bias.get();
      result.assign_grads = true;
      stats_ = regen::cross_entropy(*matrix_, inputs.request(), result, config);
    }
    void OnOK() override {
      Napi::Env env = Env();
      const std::string error = grads.add_into_caller();
      if (!error.empty()) {
        deferred_.Reject(Napi::Error::New(env, error).Value());
        return;
      }
      Napi::Object out = Napi::Object::New(env);
      out.Set("scratchBytes", static_cast<double>(stats_.scratch_bytes + 4 * (grads.items_size + grads.bias_size) +
                                                   4 * (inputs.queries.size() + inputs.bias.size() + inputs.weights.size() +
                                                        inputs.targets.size() + inputs.ex_off.size() + inputs.ex_ids.size())));
      deferred_.Resolve(out);
    }
    std::shared_ptr<const regen::ItemMatrix> matrix_;
    regen::XentStats stats_;
  };

  // crossEntropy({queries, rows, targets, excludeOffsets, excludeIds, bias, rowWeights, gradItems,
  //               gradBias, isa, threads, loss, gradQueries}) -> Promise<{scratchBytes}>; loss and
  // gradQueries filled in place, gradItems and gradBias accumulated into when the promise settles.
  Napi::Value CrossEntropy(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (!matrix_) throw Napi::Error::New(env, "ItemTable has been disposed");
    if (info.Length() != 1 || !info[0].IsObject()) throw Napi::TypeError::New(env, "native binding: crossEntropy(options)");
    Napi::Object o = info[0].As<Napi::Object>();
    auto* worker = new XentWorker(env, matrix_);
    std::unique_ptr<XentWorker> guard(worker);
    regen::napi::read_xent_args(o, matrix_->count(), matrix_->dim(), worker->inputs, worker->grads, &worker->result.loss,
                                &worker->result.grad_queries, worker->pins);
    worker->config.isa = parse_isa(env, o.Get("isa").As<Napi::String>().Utf8Value());
    worker->config.threads = o.Get("threads").As<Napi::Number>().Int32Value();
    if (!regen::precision_supported(matrix_->precision(), worker->config.isa, regen::cpu_features()))
      throw Napi::Error::New(env, std::string("this CPU cannot run the ") + regen::isa_name(worker->config.isa) +
                                      " kernels at " + regen::precision_name(matrix_->precision()) + " precision");
    Napi::Promise promise = worker->promise();
    guard.release()->Queue();
    return promise;
  }

  // setItems(items: Float32Array count x dim): new values for every item, copied now. Calls
  // already running keep the values they started with: the table is overwritten in place when
  // none is running, else replaced by a new copy.
  Napi::Value SetItems(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (!matrix_) throw Napi::Error::New(env, "ItemTable has been disposed");
    size_t len = 0;
    const float* items = typed_array_data<const float>(info[0], napi_float32_array, "items", &len);
    if (static_cast<int64_t>(len) != matrix_->count() * matrix_->dim())
      throw Napi::RangeError::New(env, "native binding: items length must be count * dim");
    try {
      if (matrix_.use_count() == 1) matrix_->assign(items);  // only this object holds it: nothing reads it now
      else matrix_ = std::make_shared<regen::ItemMatrix>(items, matrix_->count(), matrix_->dim(), matrix_->precision());
    } catch (const std::bad_alloc&) {
      throw Napi::Error::New(env, "out of memory");
    }
    return env.Undefined();
  }

  Napi::Value Dispose(const Napi::CallbackInfo& info) {
    Release(info.Env());
    return info.Env().Undefined();
  }

  // In-flight searches hold their own reference, so the memory goes when the last one settles.
  void Release(Napi::Env env) {
    if (!matrix_) return;
    matrix_.reset();
    Napi::MemoryManagement::AdjustExternalMemory(env, -external_bytes_);
  }

  std::shared_ptr<regen::ItemMatrix> matrix_;  // mutable for setItems; every reader takes a const view
  int64_t external_bytes_ = 0;
};

class CreateTableWorker : public PromiseWorker {
 public:
  CreateTableWorker(Napi::Env env, const float* items, int64_t count, int32_t dim, regen::Precision precision)
      : PromiseWorker(env, "regen-bench:createTable"), items_(items), count_(count), dim_(dim), precision_(precision) {}
  Pins pins;

 private:
  void Run() override { matrix_ = std::make_shared<regen::ItemMatrix>(items_, count_, dim_, precision_); }
  void OnOK() override {
    Napi::Env env = Env();
    auto* data = env.GetInstanceData<AddonData>();
    std::shared_ptr<regen::ItemMatrix> matrix = std::move(matrix_);
    auto external = Napi::External<std::shared_ptr<regen::ItemMatrix>>::New(env, &matrix);
    deferred_.Resolve(data->table_constructor.New({external}));
  }
  const float* items_;
  int64_t count_;
  int32_t dim_;
  regen::Precision precision_;
  std::shared_ptr<regen::ItemMatrix> matrix_;
};

// createTable(items: Float32Array, count, dim, precision) -> Promise<NativeItemTable>; the table
// copies items (rounding them to bfloat16 for 'bf16').
Napi::Value CreateTable(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  size_t len = 0;
  const float* items = typed_array_data<const float>(info[0], napi_float32_array, "items", &len);
  const int64_t count = info[1].As<Napi::Number>().Int64Value();
  const int64_t dim = info[2].As<Napi::Number>().Int64Value();
  const std::string precision_name = info[3].As<Napi::String>().Utf8Value();
  if (count < 0 || dim < 1 || dim > INT32_MAX || static_cast<int64_t>(len) != count * dim)
    throw Napi::RangeError::New(env, "native binding: items length must be count * dim");
  if (precision_name != "fp32" && precision_name != "bf16")
    throw Napi::TypeError::New(env, "native binding: unknown precision '" + precision_name + "'");
  const regen::Precision precision = precision_name == "bf16" ? regen::Precision::Bf16 : regen::Precision::Fp32;
  auto* worker = new CreateTableWorker(env, items, count, static_cast<int32_t>(dim), precision);
  worker->pins.add(info[0]);
  Napi::Promise promise = worker->promise();
  worker->Queue();
  return promise;
}

Napi::Value CpuFeatures(const Napi::CallbackInfo& info) {
  const regen::CpuFeatures& f = regen::cpu_features();
  Napi::Object o = Napi::Object::New(info.Env());
  o.Set("x86_64", f.x86_64);
  o.Set("fma", f.fma);
  o.Set("avx2", f.avx2);
  o.Set("avx512f", f.avx512f);
  o.Set("avx512bw", f.avx512bw);
  o.Set("avx512dq", f.avx512dq);
  o.Set("avx512vl", f.avx512vl);
  o.Set("avx512bf16", f.avx512bf16);
  o.Set("amxTile", f.amx_tile);
  o.Set("amxBf16", f.amx_bf16);
  return o;
}

Napi::Value SupportedIsas(const Napi::CallbackInfo& info) {
  Napi::Array a = Napi::Array::New(info.Env());
  uint32_t i = 0;
  for (regen::Isa isa : {regen::Isa::Avx512, regen::Isa::Avx2, regen::Isa::Scalar})
    if (regen::isa_supported(isa, regen::cpu_features())) a.Set(i++, regen::isa_name(isa));
  return a;  // best first
}

Napi::Value Bf16Supported(const Napi::CallbackInfo& info) {
  return Napi::Boolean::New(info.Env(), regen::precision_supported(regen::Precision::Bf16, regen::Isa::Avx512,
                                                                   regen::cpu_features()));
}

Napi::Value HardwareThreads(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), std::thread::hardware_concurrency());
}

// A JS string's UTF-16 code units (the text kernels work on code units, as JavaScript does).
std::u16string utf16_text(Napi::Env env, const Napi::Value& value) {
  size_t length = 0;
  if (napi_get_value_string_utf16(env, value, nullptr, 0, &length) != napi_ok)
    throw Napi::TypeError::New(env, "native binding: cannot read the text");
  std::u16string text(length + 1, u'\0');
  if (napi_get_value_string_utf16(env, value, text.data(), length + 1, &length) != napi_ok)
    throw Napi::TypeError::New(env, "native binding: cannot read the text");
  text.resize(length);
  return text;
}

// bleuChunkStats(text, layout, tokenize13a): BLEU segment statistics of a chunk of pairs, synchronous
// (it runs inside the text-metrics worker threads; in-process only for small inputs).
Napi::Value BleuChunkStats(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 3 || !info[0].IsString() || !info[2].IsBoolean())
    throw Napi::TypeError::New(env, "native binding: bleuChunkStats(text, layout, tokenize13a)");
  const std::u16string text = utf16_text(env, info[0]);
  const size_t length = text.size();
  size_t layout_length = 0;
  const int32_t* layout = typed_array_data<int32_t>(info[1], napi_int32_array, "layout", &layout_length);
  size_t pairs = 0;
  for (size_t k = 0; k + 1 < layout_length; pairs++) k += 2 + static_cast<size_t>(std::max(0, layout[k]));
  Napi::Int32Array out = Napi::Int32Array::New(env, pairs * regen::kBleuStats);
  long n = regen::bleu_chunk_stats(text.data(), length, layout, layout_length, info[2].As<Napi::Boolean>().Value(),
                                   out.Data(), out.ElementLength());
  if (n < 0 || static_cast<size_t>(n) != pairs)
    throw Napi::RangeError::New(env, "native binding: the layout does not match the text");
  return out;
}

// rougeChunkStats(text, layout, types, stem): rouge-score statistics of a chunk of pairs.
Napi::Value RougeChunkStats(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 4 || !info[0].IsString() || !info[3].IsBoolean())
    throw Napi::TypeError::New(env, "native binding: rougeChunkStats(text, layout, types, stem)");
  const std::u16string text = utf16_text(env, info[0]);
  const size_t length = text.size();
  size_t layout_length = 0, n_types = 0;
  const int32_t* layout = typed_array_data<int32_t>(info[1], napi_int32_array, "layout", &layout_length);
  const int32_t* types = typed_array_data<int32_t>(info[2], napi_int32_array, "types", &n_types);
  size_t pairs = 0;
  for (size_t k = 0; k + 1 < layout_length; pairs++) k += 2 + static_cast<size_t>(std::max(0, layout[k]));
  Napi::Int32Array out = Napi::Int32Array::New(env, pairs * regen::kRougeStats * n_types);
  long n = regen::rouge_chunk_stats(text.data(), length, layout, layout_length, types, static_cast<int>(n_types),
                                    info[3].As<Napi::Boolean>().Value(), out.Data(), out.ElementLength());
  if (n < 0 || static_cast<size_t>(n) != pairs)
    throw Napi::RangeError::New(env, "native binding: the layout does not match the text");
  return out;
}

Napi::Value PorterStem(const Napi::CallbackInfo& info) {
  if (info.Length() < 1 || !info[0].IsString()) throw Napi::TypeError::New(info.Env(), "native binding: porterStem(word)");
  return Napi::String::New(info.Env(), regen::porter_stem(info[0].As<Napi::String>().Utf8Value()));
}

class BootstrapWorker : public PromiseWorker {
 public:
  BootstrapWorker(Napi::Env env, const double* values, int64_t n, int32_t columns, int32_t samples, uint32_t seed,
                  int threads)
      : PromiseWorker(env, "regen-bench:bootstrap"),
        values_(values), n_(n), columns_(columns), samples_(samples), seed_(seed), threads_(threads),
        out_(static_cast<size_t>(samples) * static_cast<size_t>(columns)) {}
  Pins pins;

 private:
  void Run() override { regen::bootstrap_sums(values_, n_, columns_, samples_, seed_, out_.data(), threads_); }
  void OnOK() override {
    Napi::Float64Array result = Napi::Float64Array::New(Env(), out_.size());
    std::copy(out_.begin(), out_.end(), result.Data());
    deferred_.Resolve(result);
  }
  const double* values_;
  int64_t n_;
  int32_t columns_, samples_;
  uint32_t seed_;
  int threads_;
  std::vector<double> out_;
};

// bootstrapSums(values: Float64Array n x columns, columns, samples, seed, threads) -> Promise<Float64Array samples x columns>
Napi::Value BootstrapSums(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  size_t len = 0;
  const double* values = typed_array_data<const double>(info[0], napi_float64_array, "values", &len);
  const int32_t columns = info[1].As<Napi::Number>().Int32Value();
  const int32_t samples = info[2].As<Napi::Number>().Int32Value();
  const uint32_t seed = info[3].As<Napi::Number>().Uint32Value();
  const int threads = info[4].As<Napi::Number>().Int32Value();
  if (columns < 1 || samples < 1 || len % static_cast<size_t>(columns) != 0)
    throw Napi::RangeError::New(env, "native binding: bootstrapSums needs columns >= 1, samples >= 1 and n x columns values");
  auto* worker = new BootstrapWorker(env, values, static_cast<int64_t>(len / columns), columns, samples, seed, threads);
  worker->pins.add(info[0]);
  Napi::Promise promise = worker->promise();
  worker->Queue();
  return promise;
}

class FmaPeakWorker : public PromiseWorker {
 public:
  FmaPeakWorker(Napi::Env env, regen::Isa isa, regen::Precision precision, int threads, double seconds)
      : PromiseWorker(env, "regen-bench:fmaPeak"), isa_(isa), precision_(precision), threads_(threads), seconds_(seconds) {}

 private:
  void Run() override { gflops_ = regen::fma_peak_gflops(isa_, precision_, threads_, seconds_); }
  void OnOK() override { deferred_.Resolve(Napi::Number::New(Env(), gflops_)); }
  regen::Isa isa_;
  regen::Precision precision_;
  int threads_;
  double seconds_;
  double gflops_ = 0.0;
};

// fmaPeak(isa, precision, threads, seconds) -> Promise<GFLOP/s>: the FMA (bf16: dot-product)
// throughput of independent register chains on `threads` threads, the benchmarks' hardware ceiling.
Napi::Value FmaPeak(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() != 4 || !info[0].IsString() || !info[1].IsString() || !info[2].IsNumber() || !info[3].IsNumber())
    throw Napi::TypeError::New(env, "native binding: fmaPeak(isa, precision, threads, seconds)");
  const regen::Isa isa = parse_isa(env, info[0].As<Napi::String>().Utf8Value());
  const regen::Precision precision =
      info[1].As<Napi::String>().Utf8Value() == "bf16" ? regen::Precision::Bf16 : regen::Precision::Fp32;
  if (!regen::precision_supported(precision, isa, regen::cpu_features()))
    throw Napi::Error::New(env, std::string("this CPU cannot run the ") + regen::isa_name(isa) + " kernels at " +
                                    regen::precision_name(precision) + " precision");
  auto* worker = new FmaPeakWorker(env, isa, precision, std::max(1, info[2].As<Napi::Number>().Int32Value()),
                                   std::min(10.0, std::max(0.01, info[3].As<Napi::Number>().DoubleValue())));
  Napi::Promise promise = worker->promise();
  worker->Queue();
  return promise;
}

// One decoding step's arguments, unwrapped from JS (the arrays pinned while the step runs).
struct StepJob {
  std::vector<std::shared_ptr<const regen::ItemMatrix>> tables;
  regen::StepRequest request;
  regen::StepResult result;
  regen::SearchConfig config;
  Pins pins;

  void Run() const {
    std::vector<const regen::ItemMatrix*> raw;
    for (const auto& t : tables) raw.push_back(t.get());
    regen::decode_step(raw.data(), static_cast<int32_t>(raw.size()), request, result, config);
  }
};

class DecodeStepWorker : public PromiseWorker {
 public:
  explicit DecodeStepWorker(Napi::Env env) : PromiseWorker(env, "regen-bench:decodeStep") {}
  StepJob job;

 private:
  void Run() override { job.Run(); }
  void OnOK() override { deferred_.Resolve(Env().Undefined()); }
};

// Reads decodeStep's options object: {tables: NativeItemTable[], hidden, rows, table, k, excludeOffsets,
// excludeIds, streams, steps, temperature, topK, topP, seed, candidates, isa, threads, token, logProb,
// logZ, ids, scores}; outputs are filled in place.
void ParseStep(const Napi::CallbackInfo& info, StepJob& job) {
  Napi::Env env = info.Env();
  if (info.Length() != 1 || !info[0].IsObject()) throw Napi::TypeError::New(env, "native binding: decodeStep(options)");
  Napi::Object o = info[0].As<Napi::Object>();
  auto* data = env.GetInstanceData<AddonData>();
  Napi::Value tables_value = o.Get("tables");
  if (!tables_value.IsArray()) throw Napi::TypeError::New(env, "native binding: tables must be an array");
  Napi::Array tables = tables_value.As<Napi::Array>();
  if (tables.Length() == 0) throw Napi::RangeError::New(env, "native binding: no tables");
  for (uint32_t i = 0; i < tables.Length(); ++i) {
    Napi::Value t = tables.Get(i);
    if (!t.IsObject() || !t.As<Napi::Object>().InstanceOf(data->table_constructor.Value()))
      throw Napi::TypeError::New(env, "native binding: tables must hold native tables");
    auto matrix = NativeItemTable::Unwrap(t.As<Napi::Object>())->matrix();
    if (!matrix) throw Napi::Error::New(env, "a table of the step has been disposed");
    if (!job.tables.empty() && matrix->dim() != job.tables[0]->dim())
      throw Napi::RangeError::New(env, "native binding: the tables of a step must have the same dim");
    job.tables.push_back(std::move(matrix));
  }
  regen::napi::read_step_args(o, job.tables[0]->dim(), static_cast<int64_t>(job.tables.size()), job.request, job.result,
                              job.pins);

  job.config.isa = parse_isa(env, o.Get("isa").As<Napi::String>().Utf8Value());
  job.config.threads = o.Get("threads").As<Napi::Number>().Int32Value();
  for (const auto& t : job.tables)
    if (!regen::precision_supported(t->precision(), job.config.isa, regen::cpu_features()))
      throw Napi::Error::New(env, std::string("this CPU cannot run the ") + regen::isa_name(job.config.isa) +
                                      " kernels at " + regen::precision_name(t->precision()) + " precision");
}

// decodeStep(options) -> Promise<void>: the step on a worker thread.
Napi::Value DecodeStep(const Napi::CallbackInfo& info) {
  auto* worker = new DecodeStepWorker(info.Env());
  std::unique_ptr<DecodeStepWorker> guard(worker);
  ParseStep(info, worker->job);
  Napi::Promise promise = worker->promise();
  guard.release()->Queue();
  return promise;
}

// decodeStepSync(options): the same on the calling thread, for steps too small to be worth a
// thread handoff (the caller decides; see src/models/lumen/sampler.ts).
Napi::Value DecodeStepSync(const Napi::CallbackInfo& info) {
  StepJob job;
  ParseStep(info, job);
  try {
    job.Run();
  } catch (const std::bad_alloc&) {
    throw Napi::Error::New(info.Env(), "out of memory");
  } catch (const std::exception& e) {
    throw Napi::Error::New(info.Env(), e.what());
  }
  return info.Env().Undefined();
}

// scoreItems(table, query, ids, isa) -> Float32Array: search()'s scores of one query against listed
// items, bit for bit (synchronous; for the tests).
Napi::Value ScoreItems(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto* data = env.GetInstanceData<AddonData>();
  if (info.Length() != 4 || !info[0].IsObject() || !info[0].As<Napi::Object>().InstanceOf(data->table_constructor.Value()) ||
      !info[3].IsString())
    throw Napi::TypeError::New(env, "native binding: scoreItems(table, query, ids, isa)");
  auto matrix = NativeItemTable::Unwrap(info[0].As<Napi::Object>())->matrix();
  if (!matrix) throw Napi::Error::New(env, "ItemTable has been disposed");
  const float* query = nullptr;
  const int32_t* ids = nullptr;
  size_t n = 0;
  regen::napi::read_score_items_args(info, matrix->count(), matrix->dim(), &query, &ids, &n);
  Napi::Float32Array out = Napi::Float32Array::New(env, n);
  try {
    regen::score_items(*matrix, query, ids, static_cast<int64_t>(n), nullptr, out.Data(), parse_isa(env, info[3].As<Napi::String>().Utf8Value()));
  } catch (const std::exception& e) {
    throw Napi::Error::New(env, e.what());
  }
  return out;
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  auto* data = new AddonData();
  data->table_constructor = Napi::Persistent(NativeItemTable::Define(env));
  env.SetInstanceData(data);  // one per environment: the addon works in worker threads
  exports.Set("backend", "cpu");
  exports.Set("createTable", Napi::Function::New(env, CreateTable));
  exports.Set("cpuFeatures", Napi::Function::New(env, CpuFeatures));
  exports.Set("supportedIsas", Napi::Function::New(env, SupportedIsas));
  exports.Set("hardwareThreads", Napi::Function::New(env, HardwareThreads));
  exports.Set("bf16Supported", Napi::Function::New(env, Bf16Supported));
  exports.Set("bleuChunkStats", Napi::Function::New(env, BleuChunkStats));
  exports.Set("rougeChunkStats", Napi::Function::New(env, RougeChunkStats));
  exports.Set("porterStem", Napi::Function::New(env, PorterStem));
  exports.Set("bootstrapSums", Napi::Function::New(env, BootstrapSums));
  exports.Set("decodeStep", Napi::Function::New(env, DecodeStep));
  exports.Set("decodeStepSync", Napi::Function::New(env, DecodeStepSync));
  exports.Set("scoreItems", Napi::Function::New(env, ScoreItems));
  exports.Set("fmaPeak", Napi::Function::New(env, FmaPeak));
  regen::napi::register_train(env, exports);
  return exports;
}

}  // namespace

NODE_API_MODULE(regen_cpu, Init)
