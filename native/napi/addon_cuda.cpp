// The N-API glue of the CUDA backend (regen_cuda.node): device listing, item tables resident on a
// GPU, searches and decoding steps on worker threads settling promises, over copies of their inputs
// (glue.h). The kernels' API is regen/search_cuda.h;
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

using regen::napi::PromiseWorker;
using regen::napi::queue_job;
using regen::napi::run_now;
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
  struct SearchJob {
    Table table;
    regen::napi::SearchArgs args;
    void run() { table->search(args.request, args.result); }
    void settle() { args.settle(); }
  };

  // search({queries, rows, k, excludeOffsets, excludeIds, targets, bias, ids, scores, logZ,
  //         targetRank, targetLogProb}) -> Promise<void>; outputs filled when it settles.
  Napi::Value Search(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (!table_) throw Napi::Error::New(env, "ItemTable has been disposed");
    if (info.Length() != 1 || !info[0].IsObject()) throw Napi::TypeError::New(env, "native binding: search(options)");
    auto job = std::make_unique<SearchJob>();
    job->table = table_;
    job->args.read(info[0].As<Napi::Object>(), table_->count(), table_->dim());
    return queue_job(env, "regen-bench:cuda-search", std::move(job));
  }

  // crossEntropy({queries, rows, targets, excludeOffsets, excludeIds, bias, rowWeights, gradItems,
  //               gradBias, loss, gradQueries}) -> Promise<{scratchBytes}>, as the CPU addon's.
  Napi::Value CrossEntropy(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (!table_) throw Napi::Error::New(env, "ItemTable has been disposed");
    if (info.Length() != 1 || !info[0].IsObject()) throw Napi::TypeError::New(env, "native binding: crossEntropy(options)");
    Table table = table_;
    if (!pool_) pool_ = std::make_shared<regen::napi::BufferPool>();
    return regen::napi::queue_xent(info[0].As<Napi::Object>(), table->count(), table->dim(), "regen-bench:cuda-crossEntropy", pool_,
                                   [table](regen::napi::XentArgs& a) { return table->cross_entropy(a.request, a.result); });
  }

  // setItems(items: Float32Array count x dim): uploaded now; calls already running keep the old
  // values (the table is overwritten when none is running, else replaced by a new one).
  Napi::Value SetItems(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (!table_) throw Napi::Error::New(env, "ItemTable has been disposed");
    size_t len = 0;
    const float* items = regen::napi::typed_array_data<const float>(info[0], napi_float32_array, "items", &len);
    if (static_cast<int64_t>(len) != table_->count() * table_->dim()) throw regen::napi::range_error(env, "items length must be count * dim");
    run_now(env, [&] {
      if (table_.use_count() == 1) table_->set_items(items);  // no job holds it: nothing reads it now
      else table_ = std::make_shared<regen::cuda::DeviceTable>(table_->device(), items, table_->count(), table_->dim(), table_->precision());
    });
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
    pool_.reset();
    return info.Env().Undefined();
  }

  Table table_;
  std::shared_ptr<regen::napi::BufferPool> pool_;  // crossEntropy's gradient buffers, kept for the next call
};

Table unwrap(const Napi::Object& o) { return NativeCudaTable::Unwrap(o)->table(); }

class CreateTableWorker : public PromiseWorker {
 public:
  CreateTableWorker(Napi::Env env, int device, regen::napi::TableArgs args)
      : PromiseWorker(env, "regen-bench:cuda-createTable"), device_(device), args_(std::move(args)) {}

 private:
  void Run() override {
    table_ = std::make_shared<regen::cuda::DeviceTable>(device_, args_.items.data(), args_.count, args_.dim, args_.precision);
    std::vector<float>().swap(args_.items);  // the device holds the table now
  }
  void OnOK() override {
    Napi::Env env = Env();
    auto external = Napi::External<Table>::New(env, &table_);
    deferred_.Resolve(env.GetInstanceData<AddonData>()->table_constructor.New({external}));
  }
  int device_;
  regen::napi::TableArgs args_;
  Table table_;
};

// createTable(items: Float32Array, count, dim, precision, device) -> Promise<NativeCudaTable>
Napi::Value CreateTable(const Napi::CallbackInfo& info) {
  const int device = info[4].As<Napi::Number>().Int32Value();
  auto* worker = new CreateTableWorker(info.Env(), device, regen::napi::read_table_args(info, 1));
  Napi::Promise promise = worker->promise();
  worker->Queue();
  return promise;
}

struct StepJob {
  std::vector<Table> tables;  // held until the step settles
  regen::napi::StepArgs args;

  void run() {
    std::vector<regen::cuda::DeviceStepTable> adapters;
    adapters.reserve(tables.size());
    std::vector<const regen::StepTable*> raw;
    for (const Table& t : tables) {
      adapters.emplace_back(*t);
      raw.push_back(&adapters.back());
    }
    regen::decode_step(raw.data(), static_cast<int32_t>(raw.size()), args.request, args.result);
  }
  void settle() { args.settle(); }
};

// decodeStep({tables: NativeCudaTable[], hidden, rows, table, k, ...}) -> Promise<void>: the
// decoding step (regen/step.h) over GPU tables; outputs filled when it settles.
Napi::Value DecodeStep(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() != 1 || !info[0].IsObject()) throw Napi::TypeError::New(env, "native binding: decodeStep(options)");
  Napi::Object o = info[0].As<Napi::Object>();
  auto job = std::make_unique<StepJob>();
  job->tables = regen::napi::read_step_tables<Table>(o, env.GetInstanceData<AddonData>()->table_constructor, unwrap);
  job->args.read(o, job->tables[0]->dim(), static_cast<int64_t>(job->tables.size()));
  return queue_job(env, "regen-bench:cuda-decodeStep", std::move(job));
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
  Table table = unwrap(info[0].As<Napi::Object>());
  if (!table) throw Napi::Error::New(env, "ItemTable has been disposed");
  const float* query = nullptr;
  const int32_t* ids = nullptr;
  size_t n = 0;
  regen::napi::read_score_items_args(info, table->count(), table->dim(), &query, &ids, &n);
  Napi::Float32Array out = Napi::Float32Array::New(env, n);
  run_now(env, [&] { table->score_items(query, ids, static_cast<int64_t>(n), nullptr, out.Data()); });
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
