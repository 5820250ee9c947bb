{
  "targets": [
    {
      "target_name": "regen_cpu",
      "sources": [
        "native/napi/addon_cpu.cpp",
        "native/napi/train_glue.cpp",
        "native/common/cpu_features.cpp",
        "native/common/thread_pool.cpp",
        "native/engine/search.cpp",
        "native/engine/xent.cpp",
        "native/engine/isa_scalar.cpp",
        "native/engine/isa_avx2.cpp",
        "native/engine/isa_avx512.cpp",
        "native/engine/isa_avx512_bf16.cpp",
        "native/decode/step.cpp",
        "native/text/text_stats.cpp",
        "native/text/porter.cpp",
        "native/text/dice_search.cpp",
        "native/stats/bootstrap.cpp",
        "native/stats/paired.cpp",
        "native/train/model.cpp",
        "native/train/isa_scalar.cpp",
        "native/train/isa_avx2.cpp",
        "native/train/isa_avx512.cpp"
      ],
      "include_dirs": ["native/include", "native"],
      "dependencies": ["<!(node -p \"require('node-addon-api').targets\"):node_addon_api_except_all"],
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
