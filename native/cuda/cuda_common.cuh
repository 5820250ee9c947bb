// What every CUDA file of the backend shares: error checks that throw with the CUDA error text,
// device buffers that only grow, and a grid size for elementwise kernels. Host code; no N-API.
#pragma once

#include <cuda_bf16.h>
#include <cuda_runtime.h>
#include <mma.h>

#include <algorithm>
#include <cfloat>
#include <climits>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <mutex>
#include <stdexcept>
#include <string>
#include <vector>

#include "regen/search_cuda.h"

namespace regen::cuda {

inline void check(cudaError_t e, const char* what, const char* file, int line) {
  if (e != cudaSuccess)
    throw std::runtime_error(std::string("CUDA error in ") + what + " (" + file + ":" + std::to_string(line) +
                             "): " + cudaGetErrorString(e));
}
#define CUDA_CHECK(call) ::regen::cuda::check((call), #call, __FILE__, __LINE__)

// Device buffer that only grows (searches reuse it).
template <typename T>
struct Buffer {
  T* ptr = nullptr;
  size_t size = 0;
  void reserve(size_t n) {
    if (n <= size) return;
    if (ptr) cudaFree(ptr);
    ptr = nullptr;
    size = 0;
    CUDA_CHECK(cudaMalloc(&ptr, std::max<size_t>(n, 1) * sizeof(T)));
    size = n;
  }
  ~Buffer() {
    if (ptr) cudaFree(ptr);
  }
};

inline int grid_for(int64_t work) { return static_cast<int>(std::min<int64_t>((work + 255) / 256, 4096)); }

}  // namespace regen::cuda
