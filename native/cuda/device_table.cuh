// DeviceTable's state (regen/search_cuda.h): the items on the device, their bf16 copy, the
// stream, and the scratch buffers searches reuse. Shared by the host files of the CUDA backend.
#pragma once

#include <cuda_bf16.h>

#include <mutex>

#include "cuda/cuda_common.cuh"
#include "regen/search_cuda.h"

namespace regen::cuda {

struct DeviceTable::Impl {
  int device = 0;
  int64_t count = 0;
  int32_t dim = 0;
  int32_t dpad = 0;
  Precision precision = Precision::Fp32;
  int multiprocessors = 1;
  size_t max_shared = 48 * 1024;
  Buffer<float> items;
  Buffer<__nv_bfloat16> items_h;
  std::mutex mutex;  // one search at a time per table: the scratch buffers below are shared
  cudaStream_t stream = nullptr;
  ~Impl() {
    cudaSetDevice(device);
    if (stream) {
      cudaStreamSynchronize(stream);
      cudaStreamDestroy(stream);
    }
  }
  Buffer<float> queries, bias, target_score, p_shift, p_sum, p_scores, scores, log_z, target_log_prob;
  Buffer<__nv_bfloat16> queries_h;
  Buffer<int> ex_off, ex_ids, targets, p_flags, p_count, p_ids, ids, target_rank;
  // cross_entropy's pass 2 (xent.cu): the contributing rows, their exclusions, dQ partials, dE, dBias.
  Buffer<float> x_queries, x_rows_f, x_dq_part, x_dq, x_de, x_db;
  Buffer<__nv_bfloat16> x_queries_h;
  Buffer<int> x_rows_i, x_ex_off, x_ex_ids;

  void activate() const { CUDA_CHECK(cudaSetDevice(device)); }
  void run_chunk(const SearchRequest& req, const SearchResult& res, int64_t first, int rows, int64_t bias_ready);
};

}  // namespace regen::cuda
