// N-API helpers shared by the CPU addon (addon_cpu.cpp) and the CUDA addon (addon_cuda.cpp): typed
// arrays read and written, promise-settling workers, and the argument objects of the engine's calls
// (createTable, search, decodeStep, scoreItems) read into the kernels' plain request structs. Knows
// N-API, nothing of the math.
//
// Native work never reads caller memory after a call returns its promise: inputs are copied into the
// job before it is queued (a caller may change or detach an argument the moment the call returns),
// and outputs are written into owned buffers on the worker thread, then copied into the caller's
// arrays on the main thread when the job settles.
#pragma once

#include <napi.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <cstdlib>
#include <memory>
#include <mutex>
#include <new>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#if defined(__linux__)
#include <sys/mman.h>
#endif

#include "regen/search.h"
#include "regen/step.h"
#include "regen/xent.h"

namespace regen::napi {

inline Napi::RangeError range_error(Napi::Env env, const std::string& what) {
  return Napi::RangeError::New(env, "native binding: " + what);
}

template <typename T>
T* typed_array_data(const Napi::Value& value, napi_typedarray_type type, const char* name, size_t* length) {
  if (!value.IsTypedArray() || value.As<Napi::TypedArray>().TypedArrayType() != type)
    throw Napi::TypeError::New(value.Env(), std::string("native binding: ") + name + " has the wrong array type");
  Napi::TypedArray array = value.As<Napi::TypedArray>();
  *length = array.ElementLength();
  return reinterpret_cast<T*>(static_cast<uint8_t*>(array.ArrayBuffer().Data()) + array.ByteOffset());
}

template <typename T>
constexpr napi_typedarray_type array_type();
template <>
constexpr napi_typedarray_type array_type<float>() { return napi_float32_array; }
template <>
constexpr napi_typedarray_type array_type<double>() { return napi_float64_array; }
template <>
constexpr napi_typedarray_type array_type<int32_t>() { return napi_int32_array; }
template <>
constexpr napi_typedarray_type array_type<uint32_t>() { return napi_uint32_array; }

// A copy of a typed array's elements [first, first + length) (the whole array when length < 0); the
// array must hold at least that many.
template <typename T>
std::vector<T> copy_array(const Napi::Value& value, const char* name, int64_t length = -1, int64_t first = 0) {
  size_t n = 0;
  const T* data = typed_array_data<const T>(value, array_type<T>(), name, &n);
  if (length < 0) length = static_cast<int64_t>(n) - first;
  if (first < 0 || length < 0 || static_cast<uint64_t>(first + length) > n)
    throw range_error(value.Env(), std::string(name) + " has the wrong length");
  return std::vector<T>(data + first, data + first + length);
}

// An output the caller passed: filled on the worker thread into `data`, copied into the caller's
// array when the job settles (skipped if the caller detached or shrank it meanwhile).
template <typename T>
class Output {
 public:
  void bind(const Napi::Value& value, const char* name, int64_t length) {
    size_t n = 0;
    typed_array_data<T>(value, array_type<T>(), name, &n);
    if (static_cast<int64_t>(n) != length) throw range_error(value.Env(), std::string(name) + " has the wrong length");
    ref_ = Napi::Persistent(value.As<Napi::Object>());
    data_.assign(static_cast<size_t>(length), T{});
  }
  bool bound() const { return !ref_.IsEmpty(); }
  T* data() { return bound() ? data_.data() : nullptr; }
  void write_back() {
    if (!bound()) return;
    size_t n = 0;
    T* out = typed_array_data<T>(ref_.Value(), array_type<T>(), "output", &n);
    if (n == data_.size()) std::copy(data_.begin(), data_.end(), out);
  }

 private:
  Napi::ObjectReference ref_;
  std::vector<T> data_;
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

// A worker that runs `Job::run()` and, on success, `Job::settle(env)` on the main thread (outputs
// copied back), resolving the promise with undefined.
template <typename Job>
class JobWorker final : public PromiseWorker {
 public:
  JobWorker(Napi::Env env, const char* name, std::unique_ptr<Job> job) : PromiseWorker(env, name), job_(std::move(job)) {}

 private:
  void Run() override { job_->run(); }
  void OnOK() override {
    job_->settle();
    deferred_.Resolve(Env().Undefined());
  }
  std::unique_ptr<Job> job_;
};

// Queues a job's worker and returns its promise.
template <typename Job>
Napi::Promise queue_job(Napi::Env env, const char* name, std::unique_ptr<Job> job) {
  auto* worker = new JobWorker<Job>(env, name, std::move(job));
  Napi::Promise promise = worker->promise();
  worker->Queue();
  return promise;
}

// Runs a job now, on the calling thread, and returns its promise already settled, as queue_job's
// would be: for jobs shorter than the hop to a worker thread and back.
template <typename Job>
Napi::Promise run_job_now(Napi::Env env, std::unique_ptr<Job> job) {
  auto deferred = Napi::Promise::Deferred::New(env);
  std::string error;
  try {
    job->run();
  } catch (const std::bad_alloc&) {
    error = "out of memory";
  } catch (const std::exception& e) {
    error = e.what();
  }
  if (error.empty()) {
    job->settle();
    deferred.Resolve(env.Undefined());
  } else {
    deferred.Reject(Napi::Error::New(env, error).Value());
  }
  return deferred.Promise();
}

inline Precision parse_precision(Napi::Env env, const Napi::Value& value) {
  const std::string name = value.As<Napi::String>().Utf8Value();
  if (name == "fp32") return Precision::Fp32;
  if (name == "bf16") return Precision::Bf16;
  throw Napi::TypeError::New(env, "native binding: unknown precision '" + name + "'");
}

// createTable(items: Float32Array, count, dim, precision, ...): the items copied, the shape checked.
struct TableArgs {
  std::vector<float> items;
  int64_t count = 0;
  int32_t dim = 0;
  Precision precision = Precision::Fp32;
};

inline TableArgs read_table_args(const Napi::CallbackInfo& info, int64_t min_count) {
  Napi::Env env = info.Env();
  TableArgs a;
  a.count = info[1].As<Napi::Number>().Int64Value();
  const int64_t dim = info[2].As<Napi::Number>().Int64Value();
  if (a.count < min_count || dim < 1 || dim > INT32_MAX) throw range_error(env, "items length must be count * dim");
  a.dim = static_cast<int32_t>(dim);
  a.precision = parse_precision(env, info[3]);
  a.items = copy_array<float>(info[0], "items");
  if (static_cast<int64_t>(a.items.size()) != a.count * dim) throw range_error(env, "items length must be count * dim");
  return a;
}

// An optional property: undefined and null read as absent.
inline Napi::Value optional(const Napi::Object& o, const char* key) {
  Napi::Value v = o.Get(key);
  return v.IsNull() || v.IsUndefined() ? Napi::Value() : v;
}

// The {excludeOffsets (rows + 1), excludeIds} CSR pair of a search or step, copied: only the ids the
// rows reference (offsets may index a larger shared array), with the offsets rebased to them.
struct Exclusions {
  std::vector<int32_t> offsets, ids;
  void read(const Napi::Object& o, int64_t rows) {
    Napi::Value off = optional(o, "excludeOffsets");
    if (off.IsEmpty()) return;
    offsets = copy_array<int32_t>(off, "excludeOffsets");
    if (static_cast<int64_t>(offsets.size()) != rows + 1) throw range_error(o.Env(), "excludeOffsets has the wrong length");
    const int32_t first = offsets.front();
    for (int64_t r = 0; r < rows; ++r)
      if (offsets[r] > offsets[r + 1] || offsets[r] < 0) throw range_error(o.Env(), "excludeOffsets must be non-decreasing");
    ids = copy_array<int32_t>(o.Get("excludeIds"), "excludeIds", offsets.back() - first, first);
    for (int32_t& x : offsets) x -= first;
  }
  const int32_t* offsets_or_null() const { return offsets.empty() ? nullptr : offsets.data(); }
  const int32_t* ids_or_null() const { return offsets.empty() ? nullptr : ids.data(); }
};

// search({queries, rows, k, excludeOffsets, excludeIds, targets, bias, ids, scores, logZ, targetRank,
// targetLogProb}) over a table of count x dim items: inputs copied, outputs owned until settle().
struct SearchArgs {
  std::vector<float> queries, bias;
  std::vector<int32_t> targets;
  Exclusions exclude;
  Output<int32_t> ids, target_rank;
  Output<float> scores, log_z, target_log_prob;
  SearchRequest request;
  SearchResult result;

  void read(const Napi::Object& o, int64_t count, int64_t dim) {
    Napi::Env env = o.Env();
    const int64_t rows = o.Get("rows").As<Napi::Number>().Int64Value();
    const int32_t k = o.Get("k").As<Napi::Number>().Int32Value();
    if (rows < 0 || k < 1) throw range_error(env, "rows >= 0 and k >= 1");
    queries = copy_array<float>(o.Get("queries"), "queries");
    if (static_cast<int64_t>(queries.size()) != rows * dim) throw range_error(env, "queries has the wrong length");
    exclude.read(o, rows);
    if (Napi::Value t = optional(o, "targets"); !t.IsEmpty()) {
      targets = copy_array<int32_t>(t, "targets", rows);
      target_rank.bind(o.Get("targetRank"), "targetRank", rows);
      target_log_prob.bind(o.Get("targetLogProb"), "targetLogProb", rows);
    }
    if (Napi::Value b = optional(o, "bias"); !b.IsEmpty()) bias = copy_array<float>(b, "bias", count);
    ids.bind(o.Get("ids"), "ids", rows * k);
    scores.bind(o.Get("scores"), "scores", rows * k);
    log_z.bind(o.Get("logZ"), "logZ", rows);
    // withLogZ false: a ranking-only search (the CPU kernels skip the log-sum-exp; logZ comes back NaN).
    if (Napi::Value w = optional(o, "withLogZ"); !w.IsEmpty()) request.log_z = w.ToBoolean().Value();

    request.queries = queries.data();
    request.rows = rows;
    request.k = k;
    request.exclude_offsets = exclude.offsets_or_null();
    request.exclude_ids = exclude.ids_or_null();
    request.targets = targets.empty() ? nullptr : targets.data();
    request.bias = bias.empty() ? nullptr : bias.data();
    result.ids = ids.data();
    result.scores = scores.data();
    result.log_z = log_z.data();
    result.target_rank = target_rank.data();
    result.target_log_prob = target_log_prob.data();
  }

  void settle() {
    ids.write_back();
    scores.write_back();
    log_z.write_back();
    target_rank.write_back();
    target_log_prob.write_back();
  }
};

// Large float buffers a table keeps for its next calls (crossEntropy's gradient buffers). Fresh
// pages cost a fault each on first touch (about 14 us per 4 KiB page in a VM: a third of a second
// for a Clothing-sized gradient), so a trainer calling once per step would pay that every step.
// Buffers of 4 MiB and more are allocated on 2 MiB boundaries with transparent huge pages asked
// for. A buffer goes back to the pool when its last holder lets go (or is freed if the pool has
// gone: dispose() drops the pool, calls in flight keep theirs).
class BufferPool : public std::enable_shared_from_this<BufferPool> {
 public:
  std::shared_ptr<float> take(size_t n) {
    float* p = nullptr;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      for (size_t i = 0; i < free_.size(); ++i)
        if (free_[i].first == n) {
          p = free_[i].second;
          free_.erase(free_.begin() + static_cast<std::ptrdiff_t>(i));
          break;
        }
    }
    if (!p) p = allocate(n);
    std::weak_ptr<BufferPool> pool = weak_from_this();
    return std::shared_ptr<float>(p, [pool, n](float* q) {
      if (auto live = pool.lock()) live->give_back(n, q);
      else std::free(q);
    });
  }
  ~BufferPool() {
    for (auto& f : free_) std::free(f.second);
  }

 private:
  static constexpr size_t kKeep = 2;  // buffers kept per pool
  static float* allocate(size_t n) {
    const size_t bytes = std::max<size_t>(n, 1) * sizeof(float);
    void* p = nullptr;
    if (bytes >= (size_t{4} << 20)) {
      const size_t huge = size_t{2} << 20, rounded = (bytes + huge - 1) / huge * huge;
      p = std::aligned_alloc(huge, rounded);
#if defined(__linux__) && defined(MADV_HUGEPAGE)
      if (p) madvise(p, rounded, MADV_HUGEPAGE);
#endif
    } else {
      p = std::malloc(bytes);
    }
    if (!p) throw std::bad_alloc();
    return static_cast<float*>(p);
  }
  void give_back(size_t n, float* p) {
    std::lock_guard<std::mutex> lock(mutex_);
    if (free_.size() < kKeep) free_.emplace_back(n, p);
    else std::free(p);
  }
  std::mutex mutex_;
  std::vector<std::pair<size_t, float*>> free_;
};

// An accumulation target the caller passed (crossEntropy's gradItems and gradBias): the worker
// writes the call's contribution into an owned buffer (allocated on the worker thread, not zeroed:
// the kernels write every value), and settle adds it into the caller's array (+=) on the main
// thread. Unlike an Output, an array detached or resized meanwhile is an error, not a silent skip:
// a gradient must not vanish.
template <typename T>
class Accumulation {
 public:
  void bind(const Napi::Value& value, const char* name, int64_t length) {
    size_t n = 0;
    typed_array_data<T>(value, array_type<T>(), name, &n);
    if (static_cast<int64_t>(n) != length) throw range_error(value.Env(), std::string(name) + " has the wrong length");
    ref_ = Napi::Persistent(value.As<Napi::Object>());
    name_ = name;
    length_ = static_cast<size_t>(length);
  }
  bool bound() const { return !ref_.IsEmpty(); }
  // The buffer, from `pool` (a table's, reused across calls) or fresh.
  void allocate(const std::shared_ptr<BufferPool>& pool) {
    static_assert(std::is_same_v<T, float>, "pooled buffers hold floats");
    if (!bound()) return;
    if (pool) data_ = pool->take(length_);
    else data_ = std::shared_ptr<T>(new T[length_], std::default_delete<T[]>());
  }
  T* data() { return data_.get(); }
  size_t bytes() const { return data_ ? length_ * sizeof(T) : 0; }
  // "" when added, else what went wrong.
  std::string add_back() {
    if (!bound()) return "";
    Napi::Value v = ref_.Value();
    if (!v.IsTypedArray() || v.As<Napi::TypedArray>().TypedArrayType() != array_type<T>() ||
        v.As<Napi::TypedArray>().ElementLength() != length_)
      return name_ + " was transferred or resized while crossEntropy ran; its gradient was not added";
    size_t n = 0;
    T* out = typed_array_data<T>(v, array_type<T>(), name_.c_str(), &n);
    for (size_t i = 0; i < length_; ++i) out[i] += data_.get()[i];
    return "";
  }

 private:
  Napi::ObjectReference ref_;
  std::string name_;
  size_t length_ = 0;
  std::shared_ptr<T> data_;
};

// crossEntropy({queries, rows, targets, excludeOffsets, excludeIds, bias, rowWeights, gradItems,
// gradBias, loss, gradQueries}) over a table of count x dim items: inputs copied, loss and
// gradQueries owned until settle(), gradItems and gradBias added to then.
struct XentArgs {
  std::vector<float> queries, bias, weights;
  std::vector<int32_t> targets;
  Exclusions exclude;
  Output<float> loss, grad_queries;
  Accumulation<float> grad_items, grad_bias;
  XentRequest request;
  XentResult result;
  std::shared_ptr<BufferPool> pool;  // the table's, for the gradient buffers (or null)

  void read(const Napi::Object& o, int64_t count, int64_t dim) {
    Napi::Env env = o.Env();
    const int64_t rows = o.Get("rows").As<Napi::Number>().Int64Value();
    if (rows < 0) throw range_error(env, "rows >= 0");
    queries = copy_array<float>(o.Get("queries"), "queries");
    if (static_cast<int64_t>(queries.size()) != rows * dim) throw range_error(env, "queries has the wrong length");
    targets = copy_array<int32_t>(o.Get("targets"), "targets", rows);
    for (int32_t t : targets)
      if (t < -1 || t >= count) throw range_error(env, "a target is out of range");
    exclude.read(o, rows);
    if (Napi::Value b = optional(o, "bias"); !b.IsEmpty()) bias = copy_array<float>(b, "bias", count);
    if (Napi::Value w = optional(o, "rowWeights"); !w.IsEmpty()) weights = copy_array<float>(w, "rowWeights", rows);
    if (Napi::Value g = optional(o, "gradItems"); !g.IsEmpty()) grad_items.bind(g, "gradItems", count * dim);
    if (Napi::Value g = optional(o, "gradBias"); !g.IsEmpty()) grad_bias.bind(g, "gradBias", count);
    loss.bind(o.Get("loss"), "loss", rows);
    grad_queries.bind(o.Get("gradQueries"), "gradQueries", rows * dim);

    request.queries = queries.data();
    request.rows = rows;
    request.targets = targets.data();
    request.exclude_offsets = exclude.offsets_or_null();
    request.exclude_ids = exclude.ids_or_null();
    request.bias = bias.empty() ? nullptr : bias.data();
    request.row_weights = weights.empty() ? nullptr : weights.data();
    result.loss = loss.data();
    result.grad_queries = grad_queries.data();
  }

  // On the worker thread, before the kernels: the gradient buffers, written (not added to) by them.
  void prepare() {
    grad_items.allocate(pool);
    grad_bias.allocate(pool);
    result.grad_items = grad_items.data();
    result.grad_bias = grad_bias.data();
    result.assign_grads = true;
  }

  // Bytes this call holds beside its outputs: the input copies and the gradient buffers.
  int64_t held_bytes() const {
    return static_cast<int64_t>(sizeof(float) * (queries.size() + bias.size() + weights.size()) +
                                sizeof(int32_t) * (targets.size() + exclude.offsets.size() + exclude.ids.size()) +
                                grad_items.bytes() + grad_bias.bytes());
  }

  // On the main thread: "" when the outputs are written and the gradients added, else what went wrong.
  std::string settle() {
    loss.write_back();
    grad_queries.write_back();
    std::string error = grad_items.add_back();
    return error.empty() ? grad_bias.add_back() : error;
  }
};

// A crossEntropy call on a worker thread: `run(args)` computes (returning the kernels' stats), then
// the outputs are settled on the main thread; the promise resolves with {scratchBytes}.
template <typename Fn>
class XentWorker final : public PromiseWorker {
 public:
  XentWorker(Napi::Env env, const char* name, Fn run) : PromiseWorker(env, name), run_(std::move(run)) {}
  XentArgs args;

 private:
  void Run() override {
    args.prepare();
    stats_ = run_(args);
  }
  void OnOK() override {
    Napi::Env env = Env();
    const std::string error = args.settle();
    if (!error.empty()) {
      deferred_.Reject(Napi::Error::New(env, error).Value());
      return;
    }
    Napi::Object out = Napi::Object::New(env);
    out.Set("scratchBytes", static_cast<double>(stats_.scratch_bytes + args.held_bytes()));
    deferred_.Resolve(out);
  }
  Fn run_;
  XentStats stats_;
};

// Reads a crossEntropy call's arguments and queues it: `run(XentArgs&) -> XentStats` on a worker
// thread, its gradient buffers from `pool`.
template <typename Fn>
Napi::Promise queue_xent(const Napi::Object& o, int64_t count, int64_t dim, const char* name, std::shared_ptr<BufferPool> pool,
                         Fn run) {
  auto worker = std::make_unique<XentWorker<Fn>>(o.Env(), name, std::move(run));
  worker->args.read(o, count, dim);
  worker->args.pool = std::move(pool);
  Napi::Promise promise = worker->promise();
  worker.release()->Queue();
  return promise;
}

// decodeStep's options after its tables: {hidden, rows, table, k, excludeOffsets, excludeIds, streams,
// steps, temperature, topK, topP, seed, candidates, token, logProb, logZ, ids, scores}.
struct StepArgs {
  std::vector<float> hidden;
  std::vector<int32_t> table;
  std::vector<uint32_t> streams, steps;
  Exclusions exclude;
  Output<int32_t> token, ids;
  Output<float> log_prob, log_z, scores;
  StepRequest request;
  StepResult result;

  void read(const Napi::Object& o, int64_t dim, int64_t table_count) {
    Napi::Env env = o.Env();
    const int64_t rows = o.Get("rows").As<Napi::Number>().Int64Value();
    const int32_t k = o.Get("k").As<Napi::Number>().Int32Value();
    if (rows < 0 || k < 1) throw range_error(env, "rows >= 0 and k >= 1");
    hidden = copy_array<float>(o.Get("hidden"), "hidden");
    if (static_cast<int64_t>(hidden.size()) != rows * dim) throw range_error(env, "hidden has the wrong length");
    table = copy_array<int32_t>(o.Get("table"), "table", rows);
    for (int32_t t : table)
      if (t < 0 || t >= table_count) throw range_error(env, "a table index is out of range");
    exclude.read(o, rows);
    if (Napi::Value v = optional(o, "streams"); !v.IsEmpty()) streams = copy_array<uint32_t>(v, "streams", rows);
    if (Napi::Value v = optional(o, "steps"); !v.IsEmpty()) steps = copy_array<uint32_t>(v, "steps", rows);
    request.sampling.temperature = o.Get("temperature").As<Napi::Number>().FloatValue();
    request.sampling.top_k = o.Get("topK").As<Napi::Number>().Int32Value();
    request.sampling.top_p = o.Get("topP").As<Napi::Number>().FloatValue();
    request.sampling.seed = static_cast<uint64_t>(o.Get("seed").As<Napi::Number>().Int64Value());
    request.sampling.candidates = o.Get("candidates").As<Napi::Number>().Int32Value();
    token.bind(o.Get("token"), "token", rows);
    log_prob.bind(o.Get("logProb"), "logProb", rows);
    log_z.bind(o.Get("logZ"), "logZ", rows);
    ids.bind(o.Get("ids"), "ids", rows * k);
    scores.bind(o.Get("scores"), "scores", rows * k);

    request.hidden = hidden.data();
    request.rows = rows;
    request.table = table.data();
    request.k = k;
    request.exclude_offsets = exclude.offsets_or_null();
    request.exclude_ids = exclude.ids_or_null();
    request.streams = streams.empty() ? nullptr : streams.data();
    request.steps = steps.empty() ? nullptr : steps.data();
    result.token = token.data();
    result.log_prob = log_prob.data();
    result.log_z = log_z.data();
    result.ids = ids.data();
    result.scores = scores.data();
  }

  void settle() {
    token.write_back();
    log_prob.write_back();
    log_z.write_back();
    ids.write_back();
    scores.write_back();
  }
};

// The native tables of a decodeStep's `tables` list (instances of `constructor`), unwrapped by
// `unwrap`; every one live and of the same dim.
template <typename Handle, typename Unwrap>
std::vector<Handle> read_step_tables(const Napi::Object& o, const Napi::FunctionReference& constructor, Unwrap unwrap) {
  Napi::Env env = o.Env();
  Napi::Value list = o.Get("tables");
  if (!list.IsArray() || list.As<Napi::Array>().Length() == 0) throw Napi::TypeError::New(env, "native binding: tables must be a non-empty array");
  Napi::Array tables = list.As<Napi::Array>();
  std::vector<Handle> out;
  for (uint32_t i = 0; i < tables.Length(); ++i) {
    Napi::Value t = tables.Get(i);
    if (!t.IsObject() || !t.As<Napi::Object>().InstanceOf(constructor.Value()))
      throw Napi::TypeError::New(env, "native binding: tables must hold tables of this addon");
    Handle table = unwrap(t.As<Napi::Object>());
    if (!table) throw Napi::Error::New(env, "a table of the step has been disposed");
    if (!out.empty() && table->dim() != out[0]->dim()) throw range_error(env, "the tables of a step must have the same dim");
    out.push_back(std::move(table));
  }
  return out;
}

// scoreItems(table, query: Float32Array dim, ids: Int32Array, ...): the query and ids (each in
// [0, count)) at info[1] and info[2]. Synchronous: read in place.
inline void read_score_items_args(const Napi::CallbackInfo& info, int64_t count, int64_t dim, const float** query,
                                  const int32_t** ids, size_t* n) {
  Napi::Env env = info.Env();
  size_t query_length = 0;
  *query = typed_array_data<const float>(info[1], napi_float32_array, "query", &query_length);
  *ids = typed_array_data<const int32_t>(info[2], napi_int32_array, "ids", n);
  if (static_cast<int64_t>(query_length) != dim) throw range_error(env, "query has the wrong length");
  for (size_t i = 0; i < *n; ++i)
    if ((*ids)[i] < 0 || (*ids)[i] >= count) throw range_error(env, "an id is out of range");
}

// Runs `fn` (a synchronous kernel call), turning C++ exceptions into JS errors.
template <typename Fn>
void run_now(Napi::Env env, Fn&& fn) {
  try {
    fn();
  } catch (const Napi::Error&) {
    throw;  // already a JS error (TypeError, RangeError) with its message
  } catch (const std::bad_alloc&) {
    throw Napi::Error::New(env, "out of memory");
  } catch (const std::exception& e) {
    throw Napi::Error::New(env, e.what());
  }
}

}  // namespace regen::napi
