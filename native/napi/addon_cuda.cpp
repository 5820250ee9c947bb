// The N-API glue of the CUDA backend (regen_cuda.node): device listing, item tables resident on a
// GPU, searches on worker threads settling promises. The kernels' API is regen/search_cuda.h;
// this file knows N-API, nothing of the math. It loads without an NVIDIA driver: devices() then
// says why no GPU can be used.
#include <napi.h>

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "glue.h"
#include "regen/search_cuda.h"

namespace {

using regen::napi::Pins;
using regen::napi::PromiseWorker;
using regen::napi::typed_array_data;
using Table = std::shared_ptr<regen::cuda::DeviceTable>;

struct AddonData {
  Napi::FunctionReference table_constructor;
};

class NativeCudaTable : public Napi::ObjectWrap<NativeCudaTable> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "NativeCudaTable",
                       {InstanceMethod<&NativeCudaTable::Search>("search"),
                        InstanceMethod<&NativeCudaTable::CrossEntropy>("crossEntropy"),
                        InstanceMethod<&NativeCudaTable::SetItems>("setItems"),
                        InstanceMethod<&NativeCudaTable::Dispose>("dispose"),
                        InstanceMethod<&NativeCudaTable::MaxK>("maxK")});
  }

  explicit NativeCudaTable(const Napi::CallbackInfo& info) : Napi::ObjectWrap<NativeCudaTable>(info) {
    if (info.Length() != 1 || !info[0].IsExternal())
      throw Napi::TypeError::New(info.Env(), "NativeCudaTable is made by createTable(), not by new");
    table_ = *info[0].As<Napi::External<Table>>().Data();
  }

  Table table() const { return table_; }

 private:
  class SearchWorker : public PromiseWorker {
   public:
    SearchWorker(Napi::Env env, Table table) : PromiseWorker(env, "regen-bench:cuda-search"), table_(std::move(table)) {}
    regen::SearchRequest request;
    regen::SearchResult result;
    Pins pins;

   private:
    void Run() override { table_->search(request, result); }
    void OnOK() override { deferred_.Resolve(Env().Undefined()); }
    Table table_;
  };

  // search({queries, rows, k, excludeOffsets, excludeIds, targets, bias, ids, scores, logZ,
  //         targetRank, targetLogProb}) -> Promise<void>; outputs filled in place.
  Napi::Value Search(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (!table_) throw Napi::Error::New(env, "ItemTable has been disposed");
    if (info.Length() != 1 || !info[0].IsObject()) throw Napi::TypeError::New(env, "native binding: search(options)");
    auto* worker = new SearchWorker(env, table_);
    std::unique_ptr<SearchWorker> guard(worker);
    regen::napi::read_search_args(info[0].As<Napi::Object>(), table_->count(), table_->dim(), worker->request,
                                  worker->result, worker->pins);
    Napi::Promise promise = worker->promise();
    guard.release()->Queue();
    return promise;
  }

  class XentWorker : public PromiseWorker {
   public:
    XentWorker(Napi::Env env, Table table) : PromiseWorker(env, "regen-bench:cuda-crossEntropy"), table_(std::move(table)) {}
    regen::napi::XentInputs inputs;
    regen::napi::XentGrads grads;
    regen::XentResult result;
    Pins pins;

   private:
    void Run() override {
      grads.allocate(table_->count(), table_->dim());
      result.grad_items = grads.items.get();
      result.grad_bias = grads.bias.get();
      result.assign_grads = true;
      stats_ = table_->cross_entropy(inputs.request(), result);
    }
    void OnOK() override {
      Napi::Env env = Env();
      const std::string error = grads.add_into_caller();
      if (!error.empty()) {
        deferred_.Reject(Napi::Error::New(env, error).Value());
        return;
      }
      Napi::Object out = Napi::Object::New(env);
      out.Set("scratchBytes", static_cast<double>(stats_.scratch_bytes + 4 * (grads.items_size + grads.bias_size)));
      deferred_.Resolve(out);
    }
    Table table_;
    regen::XentStats stats_;
  };

  // crossEntropy({queries, rows, targets, excludeOffsets, excludeIds, bias, rowWeights, gradItems,
  //               gradBias, loss, gradQueries, ...}) -> Promise<{scratchBytes}>, as the CPU addon's.
  Napi::Value CrossEntropy(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (!table_) throw Napi::Error::New(env, "ItemTable has been disposed");
    if (info.Length() != 1 || !info[0].IsObject()) throw Napi::TypeError::New(env, "native binding: crossEntropy(options)");
    auto* worker = new XentWorker(env, table_);
    std::unique_ptr<XentWorker> guard(worker);
    regen::napi::read_xent_args(info[0].As<Napi::Object>(), table_->count(), table_->dim(), worker->inputs, worker->grads,
                                &worker->result.loss, &worker->result.grad_queries, worker->pins);
    Napi::Promise promise = worker->promise();
    guard.release()->Queue();
    return promise;
  }

  // setItems(items: Float32Array count x dim): uploaded now; calls already running keep the old
  // values (the table is overwritten when none is running, else replaced by a new one).
  Napi::Value SetItems(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (!table_) throw Napi::Error::New(env, "ItemTable has been disposed");
    size_t len = 0;
    const float* items = typed_array_data<const float>(info[0], napi_float32_array, "items", &len);
    if (static_cast<int64_t>(len) != table_->count() * table_->dim())
      throw Napi::RangeError::New(env, "native binding: items length must be count * dim");
    try {
      if (table_.use_count() == 1) table_->set_items(items);
      else table_ = std::make_shared<regen::cuda::DeviceTable>(table_->device(), items, table_->count(), table_->dim(), table_->precision());
    } catch (const std::exception& e) {
      throw Napi::Error::New(env, e.what());
    }
    return env.Undefined();
  }

  // maxK() -> the largest k this GPU's shared memory allows (256 on current data-centre GPUs).
  Napi::Value MaxK(const Napi::CallbackInfo& info) {
    if (!table_) throw Napi::Error::New(info.Env(), "ItemTable has been disposed");
    return Napi::Number::New(info.Env(), table_->max_k());
  }

  // Searches already running keep the table alive until they settle.
  Napi::Value Dispose(const Napi::CallbackInfo& info) {
    table_.reset();
    return info.Env().Undefined();
  }

  Table table_;
};

class CreateTableWorker : public PromiseWorker {
 public:
  CreateTableWorker(Napi::Env env, int device, const float* items, int64_t count, int32_t dim, regen::Precision precision)
      : PromiseWorker(env, "regen-bench:cuda-createTable"),
        device_(device), items_(items), count_(count), dim_(dim), precision_(precision) {}
  Pins pins;

 private:
  void Run() override { table_ = std::make_shared<regen::cuda::DeviceTable>(device_, items_, count_, dim_, precision_); }
  void OnOK() override {
    Napi::Env env = Env();
    auto* data = env.GetInstanceData<AddonData>();
    Table table = std::move(table_);
    auto external = Napi::External<Table>::New(env, &table);
    deferred_.Resolve(data->table_constructor.New({external}));
  }
  int device_;
  const float* items_;
  int64_t count_;
  int32_t dim_;
  regen::Precision precision_;
  Table table_;
};

// createTable(items: Float32Array, count, dim, precision, device) -> Promise<NativeCudaTable>
Napi::Value CreateTable(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  size_t len = 0;
  const float* items = typed_array_data<const float>(info[0], napi_float32_array, "items", &len);
  const int64_t count = info[1].As<Napi::Number>().Int64Value();
  const int64_t dim = info[2].As<Napi::Number>().Int64Value();
  const std::string precision_name = info[3].As<Napi::String>().Utf8Value();
  const int device = info[4].As<Napi::Number>().Int32Value();
  if (count < 1 || dim < 1 || dim > INT32_MAX || static_cast<int64_t>(len) != count * dim)
    throw Napi::RangeError::New(env, "native binding: items length must be count * dim");
  if (precision_name != "fp32" && precision_name != "bf16")
    throw Napi::TypeError::New(env, "native binding: unknown precision '" + precision_name + "'");
  const regen::Precision precision = precision_name == "bf16" ? regen::Precision::Bf16 : regen::Precision::Fp32;
  auto* worker = new CreateTableWorker(env, device, items, count, static_cast<int32_t>(dim), precision);
  worker->pins.add(info[0]);
  Napi::Promise promise = worker->promise();
  worker->Queue();
  return promise;
}

class DecodeStepWorker : public PromiseWorker {
 public:
  explicit DecodeStepWorker(Napi::Env env) : PromiseWorker(env, "regen-bench:cuda-decodeStep") {}
  std::vector<Table> tables;  // held until the step settles
  regen::StepRequest request;
  regen::StepResult result;
  Pins pins;

 private:
  void Run() override {
    std::vector<regen::cuda::DeviceStepTable> adapters;
    adapters.reserve(tables.size());
    std::vector<const regen::StepTable*> raw;
    for (const Table& t : tables) {
      adapters.emplace_back(*t);
      raw.push_back(&adapters.back());
    }
    regen::decode_step(raw.data(), static_cast<int32_t>(raw.size()), request, result);
  }
  void OnOK() override { deferred_.Resolve(Env().Undefined()); }
};

// decodeStep({tables: NativeCudaTable[], hidden, rows, table, k, ...}) -> Promise<void>: the
// decoding step (regen/step.h) over GPU tables; outputs filled in place.
Napi::Value DecodeStep(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() != 1 || !info[0].IsObject()) throw Napi::TypeError::New(env, "native binding: decodeStep(options)");
  Napi::Object o = info[0].As<Napi::Object>();
  auto* data = env.GetInstanceData<AddonData>();
  auto* worker = new DecodeStepWorker(env);
  std::unique_ptr<DecodeStepWorker> guard(worker);
  Napi::Value list = o.Get("tables");
  if (!list.IsArray() || list.As<Napi::Array>().Length() == 0)
    throw Napi::TypeError::New(env, "native binding: tables must be a non-empty array");
  Napi::Array tables = list.As<Napi::Array>();
  for (uint32_t i = 0; i < tables.Length(); ++i) {
    Napi::Value t = tables.Get(i);
    if (!t.IsObject() || !t.As<Napi::Object>().InstanceOf(data->table_constructor.Value()))
      throw Napi::TypeError::New(env, "native binding: tables must hold GPU tables");
    Table table = NativeCudaTable::Unwrap(t.As<Napi::Object>())->table();
    if (!table) throw Napi::Error::New(env, "a table of the step has been disposed");
    if (!worker->tables.empty() && table->dim() != worker->tables[0]->dim())
      throw Napi::RangeError::New(env, "native binding: the tables of a step must have the same dim");
    worker->tables.push_back(std::move(table));
  }
  regen::napi::read_step_args(o, worker->tables[0]->dim(), static_cast<int64_t>(worker->tables.size()), worker->request,
                              worker->result, worker->pins);
  Napi::Promise promise = worker->promise();
  guard.release()->Queue();
  return promise;
}

// devices() -> {driverVersion, runtimeVersion, error, devices: [{index, name, computeCapability, memoryBytes, multiprocessors}]}
Napi::Value Devices(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const regen::cuda::DeviceStatus st = regen::cuda::query_devices();
  Napi::Object o = Napi::Object::New(env);
  o.Set("driverVersion", st.driver_version);
  o.Set("runtimeVersion", st.runtime_version);
  o.Set("error", st.error.empty() ? env.Null() : Napi::String::New(env, st.error));
  Napi::Array list = Napi::Array::New(env, st.devices.size());
  for (size_t i = 0; i < st.devices.size(); ++i) {
    const regen::cuda::DeviceInfo& d = st.devices[i];
    Napi::Object x = Napi::Object::New(env);
    x.Set("index", d.index);
    x.Set("name", d.name);
    x.Set("computeCapability", std::to_string(d.major) + "." + std::to_string(d.minor));
    x.Set("memoryBytes", static_cast<double>(d.memory_bytes));
    x.Set("multiprocessors", d.multiprocessors);
    list.Set(static_cast<uint32_t>(i), x);
  }
  o.Set("devices", list);
  return o;
}

// scoreItems(table, query: Float32Array dim, ids: Int32Array) -> Float32Array: search()'s scores, bit for bit.
Napi::Value ScoreItems(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto* data = env.GetInstanceData<AddonData>();
  if (info.Length() != 3 || !info[0].IsObject() || !info[0].As<Napi::Object>().InstanceOf(data->table_constructor.Value()))
    throw Napi::TypeError::New(env, "native binding: scoreItems(table, query, ids)");
  Table table = NativeCudaTable::Unwrap(info[0].As<Napi::Object>())->table();
  if (!table) throw Napi::Error::New(env, "ItemTable has been disposed");
  const float* query = nullptr;
  const int32_t* ids = nullptr;
  size_t n = 0;
  regen::napi::read_score_items_args(info, table->count(), table->dim(), &query, &ids, &n);
  Napi::Float32Array out = Napi::Float32Array::New(env, n);
  try {
    table->score_items(query, ids, static_cast<int64_t>(n), nullptr, out.Data());
  } catch (const std::exception& e) {
    throw Napi::Error::New(env, e.what());
  }
  return out;
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  auto* data = new AddonData();
  data->table_constructor = Napi::Persistent(NativeCudaTable::Define(env));
  env.SetInstanceData(data);
  exports.Set("backend", "cuda");
  exports.Set("devices", Napi::Function::New(env, Devices));
  exports.Set("createTable", Napi::Function::New(env, CreateTable));
  exports.Set("scoreItems", Napi::Function::New(env, ScoreItems));
  exports.Set("decodeStep", Napi::Function::New(env, DecodeStep));
  return exports;
}

}  // namespace

NODE_API_MODULE(regen_cuda, Init)
