// Compiles the code between REGEN_TARGET_BEGIN(...) and REGEN_TARGET_END for an instruction set
// the build machine's default flags do not assume. Only functions defined inside the region get
// the target, so no inline library function compiled for it can leak into the rest of the binary
// (a risk of per-file -mavx512f flags). Callers reach the region only after a CPUID check.
#pragma once

#if defined(__clang__)
#define REGEN_PRAGMA(x) _Pragma(#x)
#define REGEN_TARGET_BEGIN(isa) REGEN_PRAGMA(clang attribute push(__attribute__((target(isa))), apply_to = function))
#define REGEN_TARGET_END REGEN_PRAGMA(clang attribute pop)
#elif defined(__GNUC__)
#define REGEN_PRAGMA(x) _Pragma(#x)
#define REGEN_TARGET_BEGIN(isa) REGEN_PRAGMA(GCC push_options) REGEN_PRAGMA(GCC target(isa))
#define REGEN_TARGET_END REGEN_PRAGMA(GCC pop_options)
#else
#error "regen-bench's CPU kernels need GCC or Clang (for per-function instruction-set targets)"
#endif

// For the product loops: a tile's accumulators stay in registers only when the loop is inlined into
// the epilogue that reads them; an out-of-line call passes them through memory.
#define REGEN_ALWAYS_INLINE inline __attribute__((always_inline))
