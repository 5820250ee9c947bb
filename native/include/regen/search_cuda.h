// The CUDA backend of the scoring engine: the same request, result and semantics as search()
// (regen/search.h), run on one NVIDIA GPU. Plain C++: no CUDA types leak into this header, so the
// N-API glue compiles with any C++ compiler.
//
// Precision:
//   Fp32: float32 inputs, each score the same in-order chain of fused multiply-adds as the CPU
//         kernels (plus the bias), so scores, top-k ids and ranks are bit-identical to the CPU's.
//   Bf16: queries and items rounded to bfloat16 (round to nearest even), products on the tensor
//         cores with float32 accumulation (compute capability 8.0 or newer). The order of the float32
//         sums is the hardware's, so scores differ from the CPU bf16 kernel's in the last bits.
// The target's score is computed by the same arithmetic as every other item's, so a target's rank
// always agrees with its place in the top-k.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "regen/search.h"
#include "regen/step.h"
#include "regen/xent.h"

namespace regen::cuda {

// The largest k a GPU search returns (each block keeps its rows' top-k lists in shared memory).
constexpr int32_t kMaxK = 256;

struct DeviceInfo {
  int index = 0;
  std::string name;
  int major = 0;  // compute capability
  int minor = 0;
  int64_t memory_bytes = 0;
  int multiprocessors = 0;
};

struct DeviceStatus {
  int driver_version = 0;   // e.g. 13000; 0 when no NVIDIA driver could be loaded
  int runtime_version = 0;  // the CUDA runtime this binary was built with
  std::string error;        // empty when the device list could be read; else why not
  std::vector<DeviceInfo> devices;
};

// Never throws: what went wrong is in .error.
DeviceStatus query_devices();

// An item table resident on one GPU. Searches on one table run one at a time (in the order they
// arrive); tables on different devices, or several tables, can be searched concurrently.
class DeviceTable {
 public:
  // Copies count x dim float32 items (row-major) to the device. Throws std::runtime_error (with
  // the CUDA error text) when the device cannot be used or memory runs out.
  DeviceTable(int device, const float* items, int64_t count, int32_t dim, Precision precision);
  ~DeviceTable();
  DeviceTable(const DeviceTable&) = delete;
  DeviceTable& operator=(const DeviceTable&) = delete;

  // request.k must be in [1, max_k()]; everything else as search() (regen/search.h).
  void search(const SearchRequest& request, const SearchResult& result);

  // The scores of one query against listed items, each bit-identical to the score search()
  // computes for that pair (+ bias[id] when given). For tests and for the few items beyond a top-k.
  void score_items(const float* query, const int32_t* ids, int64_t n, const float* bias, float* out);

  // The fused cross-entropy (regen/xent.h) on this GPU: the same semantics; pass 1 is search(),
  // so the loss is bit for bit -target_log_prob of search() over the rows with a target. The
  // backward runs without atomics: results are the same bits run to run. Gradient products are
  // float32 on CUDA cores (bf16 tables: over the bf16 values); config's isa and threads are unused.
  XentStats cross_entropy(const XentRequest& request, const XentResult& result);

  // New values for every item (count x dim float32, rounded to bf16 for bf16 tables). The caller
  // makes sure no call on this table is running.
  void set_items(const float* items);

  // The largest k this device's shared memory allows (kMaxK on GPUs with 160 KB or more per block).
  int32_t max_k() const;

  int device() const;
  int64_t count() const;
  int32_t dim() const;
  Precision precision() const;
  int64_t bytes() const;  // device memory held by the table itself

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// A DeviceTable as a decoding-step table (regen/step.h): the fused pass runs on the GPU, and so do
// the sampler's tail scores; the per-row choice runs on the host. With fp32 tables the draws are
// the CPU's, token for token (same scores, same candidates, same Gumbel variables).
class DeviceStepTable final : public StepTable {
 public:
  explicit DeviceStepTable(DeviceTable& table) : table_(&table) {}
  int64_t count() const override { return table_->count(); }
  int32_t dim() const override { return table_->dim(); }
  void search(const SearchRequest& request, const SearchResult& result) const override { table_->search(request, result); }
  void score_items(const float* query, const int32_t* ids, int64_t n, float* out) const override {
    table_->score_items(query, ids, n, nullptr, out);
  }

 private:
  DeviceTable* table_;
};

}  // namespace regen::cuda
