// CPU feature detection for run-time kernel dispatch. Plain C++: no N-API here.
#pragma once

namespace regen {

struct CpuFeatures {
  bool x86_64 = false;
  bool fma = false;
  bool avx2 = false;         // with OS support for YMM state
  bool avx512f = false;      // with OS support for ZMM and opmask state
  bool avx512bw = false;
  bool avx512dq = false;
  bool avx512vl = false;
  bool avx512bf16 = false;
  bool amx_tile = false;     // with OS support for tile state
  bool amx_bf16 = false;
  // 512-bit operations run as two 256-bit halves (AMD family 19h, Zen 4): a 512-bit FMA costs two
  // 256-bit ones, so the small-batch kernels that pair items in 512-bit vectors gain nothing there.
  bool zmm_split = false;
};

// Reads CPUID and XGETBV once; later calls return the cached answer.
const CpuFeatures& cpu_features();

}  // namespace regen
