// The N-API glue of the CPU engine (regen_cpu.node): item tables, searches, the decoding step,
// bootstrap resampling and the text kernels. Every long call runs on a worker thread
// (Napi::AsyncWorker, settling a promise) over copies of its inputs (glue.h), and C++ exceptions
// become JS errors. Argument validation lives in TypeScript (src/engine/); here only the shapes that
// would otherwise crash the process are checked. Knows N-API, nothing of the math.
#include <napi.h>

#include <algorithm>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "glue.h"
#include "regen/bootstrap.h"
#include "regen/cpu_features.h"
#include "regen/dice_search.h"
#include "regen/paired.h"
#include "regen/search.h"
#include "regen/step.h"
#include "regen/text_stats.h"
#include "regen/threads.h"
#include "regen/xent.h"

namespace regen::napi {
void register_train(Napi::Env env, Napi::Object exports);  // train_glue.cpp
}  // namespace regen::napi

namespace {

using regen::napi::copy_array;
using regen::napi::PromiseWorker;
using regen::napi::queue_job;
using regen::napi::run_job_now;
using regen::napi::run_now;
using regen::napi::typed_array_data;
using Matrix = std::shared_ptr<const regen::ItemMatrix>;
using MutableMatrix = std::shared_ptr<regen::ItemMatrix>;  // the table's own handle (setItems writes through it)

struct AddonData {
  Napi::FunctionReference table_constructor;
};

// The kernel and thread count of a CPU call ({isa, threads, smallBatchKernel?} in its options),
// checked once against the precision of every table it reads.
regen::SearchConfig read_kernel(Napi::Env env, const Napi::Object& o, const std::vector<Matrix>& tables) {
  regen::SearchConfig config;
  const std::string isa = o.Get("isa").As<Napi::String>().Utf8Value();
  if (isa == "scalar") config.isa = regen::Isa::Scalar;
  else if (isa == "avx2") config.isa = regen::Isa::Avx2;
  else if (isa == "avx512") config.isa = regen::Isa::Avx512;
  else throw Napi::TypeError::New(env, "native binding: unknown isa '" + isa + "'");
  config.threads = o.Get("threads").As<Napi::Number>().Int32Value();
  if (o.Has("smallBatchKernel") && !o.Get("smallBatchKernel").IsUndefined()) {
    const std::string small = o.Get("smallBatchKernel").As<Napi::String>().Utf8Value();
    if (small == "lanes") config.small_batch = regen::SmallBatchKernel::Lanes;
    else if (small == "paired") config.small_batch = regen::SmallBatchKernel::Paired;
    else if (small == "blocked") config.small_batch = regen::SmallBatchKernel::Blocked;
    else if (small != "auto") throw Napi::TypeError::New(env, "native binding: unknown smallBatchKernel '" + small + "'");
  }
  for (const Matrix& t : tables)
    if (!regen::precision_supported(t->precision(), config.isa, regen::cpu_features()))
      throw Napi::Error::New(env, std::string("this CPU cannot run the ") + regen::isa_name(config.isa) + " kernels at " +
                                      regen::precision_name(t->precision()) + " precision");
  return config;
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
    matrix_ = *info[0].As<Napi::External<MutableMatrix>>().Data();
    external_bytes_ = matrix_->bytes();
    Napi::MemoryManagement::AdjustExternalMemory(info.Env(), external_bytes_);
  }

  ~NativeItemTable() override { Release(Env()); }

  // The table, or null once disposed (jobs hold their own reference while they run).
  Matrix matrix() const { return matrix_; }

 private:
  struct SearchJob {
    Matrix matrix;
    regen::napi::SearchArgs args;
    regen::SearchConfig config;
    void run() { regen::search(*matrix, args.request, args.result, config); }
    void settle() { args.settle(); }
  };

  // search({queries, rows, k, excludeOffsets, excludeIds, targets, bias, isa, threads,
  //         ids, scores, logZ, targetRank, targetLogProb}) -> Promise<void>; outputs filled when it settles.
  Napi::Value Search(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (!matrix_) throw Napi::Error::New(env, "ItemTable has been disposed");
    if (info.Length() != 1 || !info[0].IsObject()) throw Napi::TypeError::New(env, "native binding: search(options)");
    Napi::Object o = info[0].As<Napi::Object>();
    auto job = std::make_unique<SearchJob>();
    job->matrix = matrix_;
    job->args.read(o, matrix_->count(), matrix_->dim());
    job->config = read_kernel(env, o, {matrix_});
    // A search this small takes a few times the hop to a libuv worker thread and back (0.1 ms on a
    // 2-core VM, and two thread wake-ups): it runs now, from the calling thread (with the engine's
    // own threads), and the promise comes back settled. The event loop waits for it, at most about
    // 0.3 ms on 2 threads. One-row lookups at Office size are such searches (d = 64: 1.8 million
    // multiply-adds; 0.15 ms this way, 0.3 ms through the worker), and so are 32-row ones (57
    // million; bf16 wall 0.34 -> 0.31 ms, CPU 0.59 -> 0.55 ms).
    constexpr double kInlineMultiplyAdds = 1 << 26;
    if (static_cast<double>(job->args.request.rows) * static_cast<double>(matrix_->count()) * matrix_->dim() <= kInlineMultiplyAdds) {
      return run_job_now(env, std::move(job));
    }
    return queue_job(env, "regen-bench:search", std::move(job));
  }

  // crossEntropy({queries, rows, targets, excludeOffsets, excludeIds, bias, rowWeights, gradItems,
  //               gradBias, isa, threads, loss, gradQueries}) -> Promise<{scratchBytes}>: loss and
  // gradQueries filled, gradItems and gradBias added to (+=) when it settles.
  Napi::Value CrossEntropy(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (!matrix_) throw Napi::Error::New(env, "ItemTable has been disposed");
    if (info.Length() != 1 || !info[0].IsObject()) throw Napi::TypeError::New(env, "native binding: crossEntropy(options)");
    Napi::Object o = info[0].As<Napi::Object>();
    Matrix matrix = matrix_;
    const regen::SearchConfig config = read_kernel(env, o, {matrix});
    if (!pool_) pool_ = std::make_shared<regen::napi::BufferPool>();
    return regen::napi::queue_xent(o, matrix->count(), matrix->dim(), "regen-bench:crossEntropy", pool_,
                                   [matrix, config](regen::napi::XentArgs& a) {
                                     return regen::cross_entropy(*matrix, a.request, a.result, config);
                                   });
  }

  // setItems(items: Float32Array count x dim): new values for every item, copied now. Calls
  // already running keep the values they started with: the table is overwritten in place when no
  // job holds it, else replaced by a new copy.
  Napi::Value SetItems(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (!matrix_) throw Napi::Error::New(env, "ItemTable has been disposed");
    size_t len = 0;
    const float* items = typed_array_data<const float>(info[0], napi_float32_array, "items", &len);
    if (static_cast<int64_t>(len) != matrix_->count() * matrix_->dim()) throw regen::napi::range_error(env, "items length must be count * dim");
    run_now(env, [&] {
      if (matrix_.use_count() == 1) matrix_->assign(items);  // only this object holds it: nothing reads it now
      else matrix_ = std::make_shared<regen::ItemMatrix>(items, matrix_->count(), matrix_->dim(), matrix_->precision());
    });
    return env.Undefined();
  }

  Napi::Value Dispose(const Napi::CallbackInfo& info) {
    Release(info.Env());
    return info.Env().Undefined();
  }

  // In-flight jobs hold their own reference, so the memory goes when the last one settles.
  void Release(Napi::Env env) {
    if (!matrix_) return;
    matrix_.reset();
    pool_.reset();
    Napi::MemoryManagement::AdjustExternalMemory(env, -external_bytes_);
  }

  MutableMatrix matrix_;
  int64_t external_bytes_ = 0;
  std::shared_ptr<regen::napi::BufferPool> pool_;  // crossEntropy's gradient buffers, kept for the next call
};

Matrix unwrap(const Napi::Object& o) { return NativeItemTable::Unwrap(o)->matrix(); }

class CreateTableWorker : public PromiseWorker {
 public:
  CreateTableWorker(Napi::Env env, regen::napi::TableArgs args) : PromiseWorker(env, "regen-bench:createTable"), args_(std::move(args)) {}

 private:
  void Run() override {
    matrix_ = std::make_shared<regen::ItemMatrix>(args_.items.data(), args_.count, args_.dim, args_.precision);
    std::vector<float>().swap(args_.items);  // the table holds its own copy now
  }
  void OnOK() override {
    Napi::Env env = Env();
    auto external = Napi::External<MutableMatrix>::New(env, &matrix_);
    deferred_.Resolve(env.GetInstanceData<AddonData>()->table_constructor.New({external}));
  }
  regen::napi::TableArgs args_;
  MutableMatrix matrix_;
};

// createTable(items: Float32Array, count, dim, precision) -> Promise<NativeItemTable>; the table
// copies items (rounding them to bfloat16 for 'bf16').
Napi::Value CreateTable(const Napi::CallbackInfo& info) {
  auto* worker = new CreateTableWorker(info.Env(), regen::napi::read_table_args(info, 0));
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
  o.Set("zmmSplit", f.zmm_split);
  return o;
}

// scanKernelKind(isa, precision, rows, dim, smallBatchKernel) -> 'lanes' | 'paired' | 'blocked' | 'rows': the
// scan kernel a search of `rows` rows runs on a table of dimension dim (tests check the small-batch
// choice and its override).
Napi::Value ScanKernelKind(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() != 5 || !info[0].IsString() || !info[1].IsString() || !info[2].IsNumber() || !info[3].IsNumber() ||
      !info[4].IsString())
    throw Napi::TypeError::New(env, "native binding: scanKernelKind(isa, precision, rows, dim, smallBatchKernel)");
  Napi::Object o = Napi::Object::New(env);
  o.Set("isa", info[0]);
  o.Set("threads", Napi::Number::New(env, 1));
  o.Set("smallBatchKernel", info[4]);
  const regen::SearchConfig config = read_kernel(env, o, {});
  const std::string precision = info[1].As<Napi::String>().Utf8Value();
  if (precision != "fp32" && precision != "bf16") throw Napi::TypeError::New(env, "native binding: unknown precision '" + precision + "'");
  const int64_t rows = info[2].As<Napi::Number>().Int64Value();
  const int64_t dim = info[3].As<Napi::Number>().Int64Value();
  return Napi::String::New(env, regen::scan_kernel_kind(config.isa, precision == "bf16" ? regen::Precision::Bf16 : regen::Precision::Fp32, rows,
                                                        dim, config.small_batch));
}

Napi::Value SupportedIsas(const Napi::CallbackInfo& info) {
  Napi::Array a = Napi::Array::New(info.Env());
  uint32_t i = 0;
  for (regen::Isa isa : {regen::Isa::Avx512, regen::Isa::Avx2, regen::Isa::Scalar})
    if (regen::isa_supported(isa, regen::cpu_features())) a.Set(i++, regen::isa_name(isa));
  return a;  // best first
}

Napi::Value Bf16Supported(const Napi::CallbackInfo& info) {
  return Napi::Boolean::New(info.Env(), regen::precision_supported(regen::Precision::Bf16, regen::Isa::Avx512, regen::cpu_features()));
}

Napi::Value HardwareThreads(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), std::thread::hardware_concurrency());
}

// spinMicroseconds() / setSpinMicroseconds(us): how long idle engine threads spin before sleeping
// (regen/threads.h; the JavaScript side checks REGEN_SPIN_US and passes an integer in [0, 1e6]).
Napi::Value SpinMicroseconds(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), regen::spin_microseconds()); }
Napi::Value SetSpinMicroseconds(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() != 1 || !info[0].IsNumber()) throw Napi::TypeError::New(env, "native binding: setSpinMicroseconds(us)");
  const double us = info[0].As<Napi::Number>().DoubleValue();
  if (!(us >= 0 && us <= 1e6) || us != static_cast<double>(static_cast<int>(us)))
    throw Napi::RangeError::New(env, "native binding: setSpinMicroseconds expects an integer in [0, 1000000]");
  regen::set_spin_microseconds(static_cast<int>(us));
  return env.Undefined();
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

// The pairs a text-kernel layout describes ([nrefs, hyp length, ref lengths...] per pair).
size_t layout_pairs(const int32_t* layout, size_t layout_length) {
  size_t pairs = 0;
  for (size_t k = 0; k + 1 < layout_length; pairs++) k += 2 + static_cast<size_t>(std::max(0, layout[k]));
  return pairs;
}

// The common part of the text kernels: the chunk's text and layout read, room for `per_pair` values
// per pair, the kernel run synchronously (inside the text-metrics worker threads), the pair count checked.
template <typename Kernel>
Napi::Value text_chunk(const Napi::CallbackInfo& info, size_t per_pair, Kernel kernel) {
  Napi::Env env = info.Env();
  std::u16string text;
  run_now(env, [&] { text = utf16_text(env, info[0]); });  // a copy: an allocation that can fail
  size_t layout_length = 0;
  const int32_t* layout = typed_array_data<int32_t>(info[1], napi_int32_array, "layout", &layout_length);
  const size_t pairs = layout_pairs(layout, layout_length);
  Napi::Int32Array out = Napi::Int32Array::New(env, pairs * per_pair);
  long n = 0;
  run_now(env, [&] { n = kernel(text, layout, layout_length, out); });
  if (n < 0 || static_cast<size_t>(n) != pairs) throw regen::napi::range_error(env, "the layout does not match the text");
  return out;
}

// bleuChunkStats(text, layout, tokenize13a): BLEU segment statistics of a chunk of pairs.
Napi::Value BleuChunkStats(const Napi::CallbackInfo& info) {
  if (info.Length() < 3 || !info[0].IsString() || !info[2].IsBoolean())
    throw Napi::TypeError::New(info.Env(), "native binding: bleuChunkStats(text, layout, tokenize13a)");
  const bool tokenize_13a = info[2].As<Napi::Boolean>().Value();
  return text_chunk(info, regen::kBleuStats, [&](const std::u16string& text, const int32_t* layout, size_t layout_length, Napi::Int32Array& out) {
    return regen::bleu_chunk_stats(text.data(), text.size(), layout, layout_length, tokenize_13a, out.Data(), out.ElementLength());
  });
}

// rougeChunkStats(text, layout, types, stem): rouge-score statistics of a chunk of pairs.
Napi::Value RougeChunkStats(const Napi::CallbackInfo& info) {
  if (info.Length() < 4 || !info[0].IsString() || !info[3].IsBoolean())
    throw Napi::TypeError::New(info.Env(), "native binding: rougeChunkStats(text, layout, types, stem)");
  size_t n_types = 0;
  const int32_t* types = typed_array_data<int32_t>(info[2], napi_int32_array, "types", &n_types);
  const bool stem = info[3].As<Napi::Boolean>().Value();
  return text_chunk(info, regen::kRougeStats * n_types, [&](const std::u16string& text, const int32_t* layout, size_t layout_length, Napi::Int32Array& out) {
    return regen::rouge_chunk_stats(text.data(), text.size(), layout, layout_length, types, static_cast<int>(n_types), stem, out.Data(),
                                    out.ElementLength());
  });
}

// textChunkStats(text, layout, bleu: 0 none | 1 13a tokenizer | 2 'none' tokenizer, types, stem)
//   -> Promise<{ bleu: Int32Array, rouge: Int32Array }>: both kernels of bleuChunkStats and
// rougeChunkStats on a libuv thread, so the caller's thread goes on (eval narrates the next kind
// meanwhile). The text is copied on the calling thread; the numbers are those of the two sync calls.
class TextChunkWorker : public PromiseWorker {
 public:
  TextChunkWorker(Napi::Env env, std::u16string text, std::vector<int32_t> layout, int bleu, std::vector<int32_t> types, bool stem)
      : PromiseWorker(env, "regen-bench:textChunkStats"), text_(std::move(text)), layout_(std::move(layout)), bleu_mode_(bleu),
        types_(std::move(types)), stem_(stem) {}

 private:
  void Run() override {
    const size_t pairs = layout_pairs(layout_.data(), layout_.size());
    bleu_.assign(pairs * regen::kBleuStats, 0);
    rouge_.assign(pairs * regen::kRougeStats * types_.size(), 0);
    if (bleu_mode_ != 0) {
      const long n = regen::bleu_chunk_stats(text_.data(), text_.size(), layout_.data(), layout_.size(), bleu_mode_ == 1, bleu_.data(), bleu_.size());
      if (n < 0 || static_cast<size_t>(n) != pairs) throw std::runtime_error("the layout does not match the text");
    }
    if (!types_.empty()) {
      const long n = regen::rouge_chunk_stats(text_.data(), text_.size(), layout_.data(), layout_.size(), types_.data(),
                                              static_cast<int>(types_.size()), stem_, rouge_.data(), rouge_.size());
      if (n < 0 || static_cast<size_t>(n) != pairs) throw std::runtime_error("the layout does not match the text");
    }
  }
  void OnOK() override {
    Napi::Env env = Env();
    Napi::Int32Array bleu = Napi::Int32Array::New(env, bleu_.size());
    std::copy(bleu_.begin(), bleu_.end(), bleu.Data());
    Napi::Int32Array rouge = Napi::Int32Array::New(env, rouge_.size());
    std::copy(rouge_.begin(), rouge_.end(), rouge.Data());
    Napi::Object o = Napi::Object::New(env);
    o.Set("bleu", bleu);
    o.Set("rouge", rouge);
    deferred_.Resolve(o);
  }
  std::u16string text_;
  std::vector<int32_t> layout_;
  int bleu_mode_;
  std::vector<int32_t> types_;
  bool stem_;
  std::vector<int32_t> bleu_, rouge_;
};

Napi::Value TextChunkStats(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 5 || !info[0].IsString() || !info[2].IsNumber() || !info[4].IsBoolean())
    throw Napi::TypeError::New(env, "native binding: textChunkStats(text, layout, bleu, types, stem)");
  const int bleu = info[2].As<Napi::Number>().Int32Value();
  if (bleu < 0 || bleu > 2) throw regen::napi::range_error(env, "textChunkStats: bleu is 0 (none), 1 (13a) or 2 (none tokenizer)");
  std::u16string text;
  run_now(env, [&] { text = utf16_text(env, info[0]); });
  std::vector<int32_t> layout = copy_array<int32_t>(info[1], "layout");
  std::vector<int32_t> types = copy_array<int32_t>(info[3], "types");
  auto* worker = new TextChunkWorker(env, std::move(text), std::move(layout), bleu, std::move(types), info[4].As<Napi::Boolean>().Value());
  Napi::Promise promise = worker->promise();
  worker->Queue();
  return promise;
}

Napi::Value PorterStem(const Napi::CallbackInfo& info) {
  if (info.Length() < 1 || !info[0].IsString()) throw Napi::TypeError::New(info.Env(), "native binding: porterStem(word)");
  std::string stem;
  run_now(info.Env(), [&] { stem = regen::porter_stem(info[0].As<Napi::String>().Utf8Value()); });
  return Napi::String::New(info.Env(), stem);
}

class BootstrapWorker : public PromiseWorker {
 public:
  BootstrapWorker(Napi::Env env, std::vector<double> values, int32_t columns, int32_t samples, uint32_t seed, int threads)
      : PromiseWorker(env, "regen-bench:bootstrap"), values_(std::move(values)), columns_(columns), samples_(samples), seed_(seed), threads_(threads) {}

 private:
  void Run() override {
    out_.assign(static_cast<size_t>(samples_) * static_cast<size_t>(columns_), 0.0);
    regen::bootstrap_sums(values_.data(), static_cast<int64_t>(values_.size() / columns_), columns_, samples_, seed_, out_.data(), threads_);
  }
  void OnOK() override {
    Napi::Float64Array result = Napi::Float64Array::New(Env(), out_.size());
    std::copy(out_.begin(), out_.end(), result.Data());
    deferred_.Resolve(result);
  }
  std::vector<double> values_;
  int32_t columns_, samples_;
  uint32_t seed_;
  int threads_;
  std::vector<double> out_;
};

// bootstrapSums(values: Float64Array n x columns, columns, samples, seed, threads) -> Promise<Float64Array samples x columns>
Napi::Value BootstrapSums(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const int32_t columns = info[1].As<Napi::Number>().Int32Value();
  const int32_t samples = info[2].As<Napi::Number>().Int32Value();
  if (columns < 1 || samples < 1) throw regen::napi::range_error(env, "bootstrapSums needs columns >= 1 and samples >= 1");
  std::vector<double> values = copy_array<double>(info[0], "values");
  if (values.size() % static_cast<size_t>(columns) != 0) throw regen::napi::range_error(env, "bootstrapSums needs n x columns values");
  auto* worker = new BootstrapWorker(env, std::move(values), columns, samples, info[3].As<Napi::Number>().Uint32Value(),
                                     info[4].As<Napi::Number>().Int32Value());
  Napi::Promise promise = worker->promise();
  worker->Queue();
  return promise;
}

// pairedSums(values: Float64Array n x columns, columns, samples, seed, skip, mode 0 negate | 1 swap | 2 draw, threads, avx512)
//   -> Float64Array samples x columns: the resampling sums of compare's paired tests, on the calling thread
// (and the pool's): compare and the critique lift are synchronous.
Napi::Value PairedSums(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 8) throw Napi::TypeError::New(env, "native binding: pairedSums(values, columns, samples, seed, skip, mode, threads, avx512)");
  const int32_t columns = info[1].As<Napi::Number>().Int32Value();
  const int32_t samples = info[2].As<Napi::Number>().Int32Value();
  const uint32_t seed = info[3].As<Napi::Number>().Uint32Value();
  const double skip = info[4].As<Napi::Number>().DoubleValue();
  const int32_t mode = info[5].As<Napi::Number>().Int32Value();
  const int threads = info[6].As<Napi::Number>().Int32Value();
  const bool avx512 = info[7].ToBoolean().Value();
  if (columns < 1 || samples < 1) throw regen::napi::range_error(env, "pairedSums needs columns >= 1 and samples >= 1");
  if (mode < 0 || mode > 2) throw regen::napi::range_error(env, "pairedSums: mode is 0 (negate), 1 (swap) or 2 (draw)");
  if (mode == 1 && columns % 2 != 0) throw regen::napi::range_error(env, "pairedSums: swap needs rows of two halves (an even column count)");
  if (!(skip >= 0 && skip <= 9007199254740992.0)) throw regen::napi::range_error(env, "pairedSums: skip is a draw count");
  size_t length = 0;
  const double* values = typed_array_data<double>(info[0], napi_float64_array, "values", &length);
  if (length % static_cast<size_t>(columns) != 0) throw regen::napi::range_error(env, "pairedSums needs n x columns values");
  Napi::Float64Array out = Napi::Float64Array::New(env, static_cast<size_t>(samples) * static_cast<size_t>(columns));
  run_now(env, [&] {
    regen::paired_sums(values, static_cast<int64_t>(length / static_cast<size_t>(columns)), columns, samples, seed, static_cast<uint64_t>(skip),
                       static_cast<regen::PairedMode>(mode), out.Data(), threads, avx512);
  });
  return out;
}

class DiceSearchWorker : public PromiseWorker {
 public:
  DiceSearchWorker(Napi::Env env) : PromiseWorker(env, "regen-bench:diceSearch") {}
  std::vector<int32_t> title_offsets, title_grams, post_offsets, post_titles, query_offsets, query_grams, query_sizes;
  double floor = 1, margin = 0;
  int32_t max_matches = 1;
  int threads = 1;

 private:
  void Run() override {
    const int32_t queries = static_cast<int32_t>(query_sizes.size());
    titles_.assign(static_cast<size_t>(queries) * static_cast<size_t>(max_matches), -1);
    scores_.assign(titles_.size(), 0.0);
    counts_.assign(static_cast<size_t>(queries), 0);
    const regen::DiceIndex index{static_cast<int32_t>(title_offsets.size() - 1), title_offsets.data(), title_grams.data(),
                                 static_cast<int32_t>(post_offsets.size() - 1), post_offsets.data(), post_titles.data()};
    regen::dice_search(index, query_offsets.data(), query_grams.data(), query_sizes.data(), queries, floor, margin, max_matches, titles_.data(),
                       scores_.data(), counts_.data(), threads);
  }
  void OnOK() override {
    Napi::Env env = Env();
    Napi::Object result = Napi::Object::New(env);
    Napi::Int32Array titles = Napi::Int32Array::New(env, titles_.size());
    std::copy(titles_.begin(), titles_.end(), titles.Data());
    Napi::Float64Array scores = Napi::Float64Array::New(env, scores_.size());
    std::copy(scores_.begin(), scores_.end(), scores.Data());
    Napi::Int32Array counts = Napi::Int32Array::New(env, counts_.size());
    std::copy(counts_.begin(), counts_.end(), counts.Data());
    result.Set("titles", titles);
    result.Set("scores", scores);
    result.Set("counts", counts);
    deferred_.Resolve(result);
  }
  std::vector<int32_t> titles_, counts_;
  std::vector<double> scores_;
};

// diceSearch({titleOffsets, titleGrams, postOffsets, postTitles, queryOffsets, queryGrams, querySizes, floor, margin, maxMatches, threads})
//   -> Promise<{titles: Int32Array, scores: Float64Array, counts: Int32Array}>. Contents checked in TypeScript; shapes here.
Napi::Value DiceSearch(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() != 1 || !info[0].IsObject()) throw Napi::TypeError::New(env, "native binding: diceSearch(options)");
  Napi::Object o = info[0].As<Napi::Object>();
  auto* w = new DiceSearchWorker(env);
  try {
    w->title_offsets = copy_array<int32_t>(o.Get("titleOffsets"), "titleOffsets");
    w->title_grams = copy_array<int32_t>(o.Get("titleGrams"), "titleGrams");
    w->post_offsets = copy_array<int32_t>(o.Get("postOffsets"), "postOffsets");
    w->post_titles = copy_array<int32_t>(o.Get("postTitles"), "postTitles");
    w->query_offsets = copy_array<int32_t>(o.Get("queryOffsets"), "queryOffsets");
    w->query_grams = copy_array<int32_t>(o.Get("queryGrams"), "queryGrams");
    w->query_sizes = copy_array<int32_t>(o.Get("querySizes"), "querySizes");
    w->floor = o.Get("floor").As<Napi::Number>().DoubleValue();
    w->margin = o.Get("margin").As<Napi::Number>().DoubleValue();
    w->max_matches = o.Get("maxMatches").As<Napi::Number>().Int32Value();
    w->threads = o.Get("threads").As<Napi::Number>().Int32Value();
    if (w->title_offsets.empty() || w->post_offsets.empty() || w->query_offsets.size() != w->query_sizes.size() + 1 ||
        static_cast<size_t>(w->title_offsets.back()) != w->title_grams.size() || static_cast<size_t>(w->post_offsets.back()) != w->post_titles.size() ||
        static_cast<size_t>(w->query_offsets.back()) != w->query_grams.size() || w->max_matches < 1 || !(w->floor > 0 && w->floor <= 1) || !(w->margin >= 0 && w->margin < 1))
      throw regen::napi::range_error(env, "diceSearch: inconsistent index or query arrays");
  } catch (...) {
    delete w;
    throw;
  }
  Napi::Promise promise = w->promise();
  w->Queue();
  return promise;
}

// One decoding step's arguments, copied from JS.
struct StepJob {
  std::vector<Matrix> tables;
  regen::napi::StepArgs args;
  regen::SearchConfig config;

  void run() {
    std::vector<const regen::ItemMatrix*> raw;
    for (const Matrix& t : tables) raw.push_back(t.get());
    regen::decode_step(raw.data(), static_cast<int32_t>(raw.size()), args.request, args.result, config);
  }
  void settle() { args.settle(); }
};

// Reads decodeStep's options: {tables: NativeItemTable[], isa, threads, and the StepArgs fields}.
std::unique_ptr<StepJob> read_step(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() != 1 || !info[0].IsObject()) throw Napi::TypeError::New(env, "native binding: decodeStep(options)");
  Napi::Object o = info[0].As<Napi::Object>();
  auto job = std::make_unique<StepJob>();
  job->tables = regen::napi::read_step_tables<Matrix>(o, env.GetInstanceData<AddonData>()->table_constructor, unwrap);
  job->args.read(o, job->tables[0]->dim(), static_cast<int64_t>(job->tables.size()));
  job->config = read_kernel(env, o, job->tables);
  return job;
}

// decodeStep(options) -> Promise<void>: the step on a worker thread.
Napi::Value DecodeStep(const Napi::CallbackInfo& info) {
  return queue_job(info.Env(), "regen-bench:decodeStep", read_step(info));
}

// decodeStepSync(options): the same on the calling thread, for steps too small to be worth a
// thread handoff (the caller decides; see src/engine/decode-step.ts).
Napi::Value DecodeStepSync(const Napi::CallbackInfo& info) {
  std::unique_ptr<StepJob> job = read_step(info);
  run_now(info.Env(), [&] { job->run(); });
  job->settle();
  return info.Env().Undefined();
}

// fmaPeak(isa, precision, threads, seconds) -> Promise<{wallGflops, cpuGflops}>: the FMA (bf16:
// dot-product) throughput of independent register chains on `threads` threads (regen::fma_peak),
// the benchmarks' hardware ceiling.
Napi::Value FmaPeak(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() != 4 || !info[0].IsString() || !info[1].IsString() || !info[2].IsNumber() || !info[3].IsNumber())
    throw Napi::TypeError::New(env, "native binding: fmaPeak(isa, precision, threads, seconds)");
  struct PeakJob {
    regen::SearchConfig config;
    regen::Precision precision;
    double seconds = 0.0;
    regen::FmaPeak peak;
  };
  class PeakWorker final : public PromiseWorker {
   public:
    PeakWorker(Napi::Env env, PeakJob job) : PromiseWorker(env, "regen-bench:fmaPeak"), job_(job) {}

   private:
    void Run() override { job_.peak = regen::fma_peak(job_.config.isa, job_.precision, job_.config.threads, job_.seconds); }
    void OnOK() override {
      Napi::Object out = Napi::Object::New(Env());
      out.Set("wallGflops", job_.peak.wall_gflops);
      out.Set("cpuGflops", job_.peak.cpu_gflops);
      deferred_.Resolve(out);
    }
    PeakJob job_;
  };
  PeakJob job;
  Napi::Object kernel = Napi::Object::New(env);
  kernel.Set("isa", info[0]);
  kernel.Set("threads", std::max(1, info[2].As<Napi::Number>().Int32Value()));
  job.config = read_kernel(env, kernel, {});
  job.precision = regen::napi::parse_precision(env, info[1]);
  if (!regen::precision_supported(job.precision, job.config.isa, regen::cpu_features()))
    throw Napi::Error::New(env, std::string("this CPU cannot run the ") + regen::isa_name(job.config.isa) + " kernels at " +
                                    regen::precision_name(job.precision) + " precision");
  job.seconds = std::min(10.0, std::max(0.01, info[3].As<Napi::Number>().DoubleValue()));
  auto* worker = new PeakWorker(env, job);
  Napi::Promise promise = worker->promise();
  worker->Queue();
  return promise;
}

// readBandwidth(threads, bytes, seconds) -> Promise<{wallGbps, cpuGbps}>: the memory read bandwidth
// of `threads` threads streaming a `bytes` buffer (regen::read_bandwidth), the small-batch floor.
Napi::Value ReadBandwidth(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() != 3 || !info[0].IsNumber() || !info[1].IsNumber() || !info[2].IsNumber())
    throw Napi::TypeError::New(env, "native binding: readBandwidth(threads, bytes, seconds)");
  struct BandwidthJob {
    int threads = 1;
    size_t bytes = 0;
    double seconds = 0.0;
    regen::ReadBandwidth bw;
  };
  class BandwidthWorker final : public PromiseWorker {
   public:
    BandwidthWorker(Napi::Env env, BandwidthJob job) : PromiseWorker(env, "regen-bench:readBandwidth"), job_(job) {}

   private:
    void Run() override { job_.bw = regen::read_bandwidth(job_.threads, job_.bytes, job_.seconds); }
    void OnOK() override {
      Napi::Object out = Napi::Object::New(Env());
      out.Set("wallGbps", job_.bw.wall_gbps);
      out.Set("cpuGbps", job_.bw.cpu_gbps);
      deferred_.Resolve(out);
    }
    BandwidthJob job_;
  };
  BandwidthJob job;
  job.threads = std::max(1, std::min(1024, info[0].As<Napi::Number>().Int32Value()));
  const double bytes = info[1].As<Napi::Number>().DoubleValue();
  if (!(bytes >= 1 << 20 && bytes <= 64.0 * (1ull << 30)))
    throw Napi::RangeError::New(env, "readBandwidth: bytes must be between 1 MiB and 64 GiB (use a buffer much larger than the last-level cache, e.g. 512 MiB)");
  job.bytes = static_cast<size_t>(bytes);
  job.seconds = std::min(10.0, std::max(0.01, info[2].As<Napi::Number>().DoubleValue()));
  auto* worker = new BandwidthWorker(env, job);
  Napi::Promise promise = worker->promise();
  worker->Queue();
  return promise;
}

// scoreItems(table, query, ids, isa) -> Float32Array: search()'s scores of one query against listed
// items, bit for bit (synchronous; for the tests and the exact tail draw's checks).
Napi::Value ScoreItems(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto* data = env.GetInstanceData<AddonData>();
  if (info.Length() != 4 || !info[0].IsObject() || !info[0].As<Napi::Object>().InstanceOf(data->table_constructor.Value()) ||
      !info[3].IsString())
    throw Napi::TypeError::New(env, "native binding: scoreItems(table, query, ids, isa)");
  Matrix matrix = unwrap(info[0].As<Napi::Object>());
  if (!matrix) throw Napi::Error::New(env, "ItemTable has been disposed");
  const float* query = nullptr;
  const int32_t* ids = nullptr;
  size_t n = 0;
  regen::napi::read_score_items_args(info, matrix->count(), matrix->dim(), &query, &ids, &n);
  Napi::Object kernel = Napi::Object::New(env);
  kernel.Set("isa", info[3]);
  kernel.Set("threads", 1);
  const regen::SearchConfig config = read_kernel(env, kernel, {matrix});
  Napi::Float32Array out = Napi::Float32Array::New(env, n);
  run_now(env, [&] { regen::score_items(*matrix, query, ids, static_cast<int64_t>(n), nullptr, out.Data(), config.isa); });
  return out;
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  auto* data = new AddonData();
  data->table_constructor = Napi::Persistent(NativeItemTable::Define(env));
  env.SetInstanceData(data);  // one per environment: the addon works in worker threads
  exports.Set("backend", "cpu");
  exports.Set("createTable", Napi::Function::New(env, CreateTable));
  exports.Set("cpuFeatures", Napi::Function::New(env, CpuFeatures));
  exports.Set("scanKernelKind", Napi::Function::New(env, ScanKernelKind));
  exports.Set("supportedIsas", Napi::Function::New(env, SupportedIsas));
  exports.Set("hardwareThreads", Napi::Function::New(env, HardwareThreads));
  exports.Set("spinMicroseconds", Napi::Function::New(env, SpinMicroseconds));
  exports.Set("setSpinMicroseconds", Napi::Function::New(env, SetSpinMicroseconds));
  exports.Set("bf16Supported", Napi::Function::New(env, Bf16Supported));
  exports.Set("bleuChunkStats", Napi::Function::New(env, BleuChunkStats));
  exports.Set("rougeChunkStats", Napi::Function::New(env, RougeChunkStats));
  exports.Set("textChunkStats", Napi::Function::New(env, TextChunkStats));
  exports.Set("porterStem", Napi::Function::New(env, PorterStem));
  exports.Set("bootstrapSums", Napi::Function::New(env, BootstrapSums));
  exports.Set("pairedSums", Napi::Function::New(env, PairedSums));
  exports.Set("diceSearch", Napi::Function::New(env, DiceSearch));
  exports.Set("decodeStep", Napi::Function::New(env, DecodeStep));
  exports.Set("decodeStepSync", Napi::Function::New(env, DecodeStepSync));
  exports.Set("scoreItems", Napi::Function::New(env, ScoreItems));
  exports.Set("fmaPeak", Napi::Function::New(env, FmaPeak));
  exports.Set("readBandwidth", Napi::Function::New(env, ReadBandwidth));
  regen::napi::register_train(env, exports);
  return exports;
}

}  // namespace

NODE_API_MODULE(regen_cpu, Init)
