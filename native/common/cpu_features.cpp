#include "regen/cpu_features.h"

#if defined(__x86_64__) || defined(_M_X64)
#define REGEN_X86_64 1
#if defined(_MSC_VER)
#include <intrin.h>
#else
#include <cpuid.h>
#endif
#include <cstdint>
#endif

namespace regen {
namespace {

#if REGEN_X86_64
void cpuid(unsigned leaf, unsigned subleaf, unsigned regs[4]) {
#if defined(_MSC_VER)
  int r[4];
  __cpuidex(r, static_cast<int>(leaf), static_cast<int>(subleaf));
  for (int i = 0; i < 4; ++i) regs[i] = static_cast<unsigned>(r[i]);
#else
  __cpuid_count(leaf, subleaf, regs[0], regs[1], regs[2], regs[3]);
#endif
}

uint64_t xgetbv0() {
#if defined(_MSC_VER)
  return _xgetbv(0);
#else
  uint32_t lo, hi;
  __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
  return (static_cast<uint64_t>(hi) << 32) | lo;
#endif
}
#endif

CpuFeatures detect() {
  CpuFeatures f;
#if REGEN_X86_64
  f.x86_64 = true;
  unsigned r[4];
  cpuid(0, 0, r);
  const unsigned max_leaf = r[0];
  const bool amd = r[1] == 0x68747541u && r[3] == 0x69746e65u && r[2] == 0x444d4163u;  // "AuthenticAMD"
  cpuid(1, 0, r);
  const unsigned base_family = (r[0] >> 8) & 0xF;
  const unsigned family = base_family == 0xF ? base_family + ((r[0] >> 20) & 0xFF) : base_family;
  const bool osxsave = (r[2] >> 27) & 1;
  const bool has_fma = (r[2] >> 12) & 1;
  if (!osxsave || max_leaf < 7) return f;
  // The OS must save the wider registers on context switch, or the instructions are unusable.
  const uint64_t xcr0 = xgetbv0();
  const bool os_ymm = (xcr0 & 0x6) == 0x6;            // SSE + AVX state
  const bool os_zmm = os_ymm && (xcr0 & 0xE0) == 0xE0;  // opmask + ZMM_Hi256 + Hi16_ZMM
  const bool os_tile = (xcr0 & 0x60000) == 0x60000;    // XTILECFG + XTILEDATA
  cpuid(7, 0, r);
  const unsigned ebx = r[1], edx = r[3], max_subleaf = r[0];
  f.fma = has_fma && os_ymm;
  f.avx2 = os_ymm && ((ebx >> 5) & 1);
  f.avx512f = os_zmm && ((ebx >> 16) & 1);
  f.avx512dq = f.avx512f && ((ebx >> 17) & 1);
  f.avx512bw = f.avx512f && ((ebx >> 30) & 1);
  f.avx512vl = f.avx512f && ((ebx >> 31) & 1);
  f.amx_bf16 = os_tile && ((edx >> 22) & 1);
  f.amx_tile = os_tile && ((edx >> 24) & 1);
  f.zmm_split = f.avx512f && amd && family == 0x19;
  if (max_subleaf >= 1) {
    cpuid(7, 1, r);
    f.avx512bf16 = f.avx512f && ((r[0] >> 5) & 1);
  }
#endif
  return f;
}

}  // namespace

const CpuFeatures& cpu_features() {
  static const CpuFeatures features = detect();
  return features;
}

}  // namespace regen
