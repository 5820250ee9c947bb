{
  "targets": [
    {
      "target_name": "regen_cpu",
      "sources": [
        "native/napi/addon.cpp",
        "native/cpu/cpu_features.cpp",
        "native/cpu/bootstrap.cpp",
        "native/cpu/search.cpp",
        "native/cpu/step.cpp",
        "native/cpu/thread_pool.cpp",
        "native/cpu/isa_scalar.cpp",
        "native/cpu/isa_avx2.cpp",
        "native/cpu/isa_avx512.cpp",
        "native/cpu/isa_avx512_bf16.cpp",
        "native/cpu/text_stats.cpp",
        "native/cpu/porter.cpp"
      ],
      "include_dirs": ["native/include"],
      "dependencies": ["<!(node -p \"require('node-addon-api').targets\"):node_addon_api_except"],
      "defines": ["NAPI_VERSION=8"],
      "cflags_cc": ["-std=c++17", "-O3", "-ffp-contract=off"],
      "cflags_cc!": ["-std=gnu++17", "-std=gnu++20", "-fno-exceptions"],
      "xcode_settings": {
        "CLANG_CXX_LANGUAGE_STANDARD": "c++17",
        "GCC_ENABLE_CPP_EXCEPTIONS": "YES",
        "OTHER_CPLUSPLUSFLAGS": ["-O3", "-ffp-contract=off"]
      }
    }
  ]
}
