// The scoring kernels alone, on one thread, against the hardware floor measured in the same run:
// regen::search (no JavaScript, no worker hand-off) at the REGEN shapes of `npm run bench -- scoring`
// (k = 10, 50 excluded ids per row, targets on), timed by the thread's CPU time, best of many calls,
// so that other work on a shared machine moves the figures far less than the npm bench's medians.
// Floors: compute 2 B N d / FMA peak (fp32 FMA or bf16 VDPBF16PS chains, one thread); memory table
// bytes / one thread's read bandwidth (512 MiB buffer); the floor is the larger. Cycles per score
// vector assume the clock the fp32 peak implies (one 512-bit FMA per cycle).
//
// Build and run (after `node scripts/build-native.mjs`, which leaves build/libregen_kernels_cpu.a):
//   g++ -O2 -std=c++17 -Inative/include bench/native/scoring-kernel.cpp build/libregen_kernels_cpu.a
//       -lpthread -o /tmp/scoring-kernel && /tmp/scoring-kernel [fp32|bf16] [clothing]
//       [lanes|paired|compare] [threads=N] [rows=R] [dim=D] [items=N] [reps=M] [nolse] [notargets]
//       [noexclusions]
// lanes|paired: the kernel of batches of at most 8 rows (default: blocked, as search() picks; the
// kernel of each shape is printed). compare: for batches of at most 8 rows, calls alternate between
// the blocked, lanes and paired kernels in turn (so that the machine's drift falls on all three), and
// a line per shape gives each one's min / median ms (at least 3 x reps calls). threads=N: N threads, timed by wall time, against one
// thread's floors divided by N. rows=R / dim=D / items=N: only that row count (any, not only the
// listed ones), dimension or table size. reps=M: at least M calls per shape (for perf record).
// nolse / notargets / noexclusions: leave out the log-sum-exp (a ranking-only search), the targets'
// ranks or the 50 history exclusions per row, so that each part's cost is the difference it makes.
// The FMA peak is sampled again (0.1 s) before each shape: this VM's peak drifts within a run.
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <random>
#include <string>
#include <vector>

#include "regen/search.h"
#include "regen/xent.h"

namespace {

double thread_cpu_seconds() {
  timespec t;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
  return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_nsec) * 1e-9;
}

double wall_seconds() {
  timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_nsec) * 1e-9;
}

struct Shape {
  int64_t items;
  int dim;
  int rows;
};

}  // namespace

int main(int argc, char** argv) {
  using namespace regen;
  std::string only;
  bool clothing = false;
  SmallBatchKernel small_batch = SmallBatchKernel::Auto;
  int threads = 1, only_rows = 0, only_dim = 0, min_reps = 5;
  int64_t only_items = 0;
  bool compare = false;
  bool want_log_z = true, with_targets = true, with_exclusions = true;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "clothing") clothing = true;
    else if (a.rfind("threads=", 0) == 0) threads = std::max(1, std::atoi(a.c_str() + 8));
    else if (a.rfind("rows=", 0) == 0) only_rows = std::atoi(a.c_str() + 5);
    else if (a.rfind("dim=", 0) == 0) only_dim = std::atoi(a.c_str() + 4);
    else if (a.rfind("reps=", 0) == 0) min_reps = std::max(1, std::atoi(a.c_str() + 5));
    else if (a.rfind("items=", 0) == 0) only_items = std::max<int64_t>(1, std::atoll(a.c_str() + 6));
    else if (a == "nolse") want_log_z = false;
    else if (a == "notargets") with_targets = false;
    else if (a == "noexclusions") with_exclusions = false;
    else if (a == "lanes") small_batch = SmallBatchKernel::Lanes;
    else if (a == "paired") small_batch = SmallBatchKernel::Paired;
    else if (a == "compare") compare = true;
    else only = a;
  }
  const Isa isa = isa_supported(Isa::Avx512, cpu_features()) ? Isa::Avx512 : Isa::Avx2;
  const FmaPeak fp32 = fma_peak(isa, Precision::Fp32, 1, 0.3);
  const bool has_bf16 = precision_supported(Precision::Bf16, Isa::Avx512, cpu_features());
  const FmaPeak bf16 = has_bf16 ? fma_peak(Isa::Avx512, Precision::Bf16, 1, 0.3) : FmaPeak{};
  const ReadBandwidth bw = read_bandwidth(1, size_t{512} << 20, 0.5);
  std::printf("one thread, over CPU time: fp32 peak %.0f GFLOP/s, bf16 %.0f, read %.1f GB/s (%s kernels)\n",
              fp32.cpu_gflops, bf16.cpu_gflops, bw.cpu_gbps, isa_name(isa));
  std::vector<Shape> shapes;
  const int64_t n = only_items ? only_items : clothing ? 376847 : 27887;
  for (int dim : {64, 256})
    for (int rows : {1, 2, 4, 8, 32, 256})
      if ((only_rows == 0 || rows == only_rows) && (only_dim == 0 || dim == only_dim)) shapes.push_back({n, dim, rows});
  if (only_rows != 0 && shapes.empty())  // a row count of its own
    for (int dim : {64, 256})
      if (only_dim == 0 || dim == only_dim) shapes.push_back({n, dim, only_rows});
  std::mt19937 rng(12345);
  std::uniform_real_distribution<float> uniform(-1.0f, 1.0f);
  std::printf("precision  items  dim rows       ms   floor ms  bound  x floor  cycles/vector  GFLOP/s  GB/s  kernel\n");
  for (Precision precision : {Precision::Fp32, Precision::Bf16}) {
    if (precision == Precision::Bf16 && !has_bf16) continue;
    if (!only.empty() && only != precision_name(precision)) continue;
    int last_dim = 0;
    std::vector<float> items;
    std::unique_ptr<ItemMatrix> table;
    for (const Shape& s : shapes) {
      if (s.dim != last_dim) {
        items.resize(static_cast<size_t>(s.items * s.dim));
        for (float& x : items) x = uniform(rng);
        table = std::make_unique<ItemMatrix>(items.data(), s.items, s.dim, precision);
        last_dim = s.dim;
      }
      std::vector<float> queries(static_cast<size_t>(s.rows * s.dim));
      for (float& x : queries) x = uniform(rng);
      std::vector<int32_t> offsets(s.rows + 1), ids(static_cast<size_t>(s.rows) * 50), targets(s.rows);
      for (int b = 0; b <= s.rows; ++b) offsets[b] = b * 50;
      for (int32_t& x : ids) x = static_cast<int32_t>(rng() % s.items);
      for (int32_t& x : targets) x = static_cast<int32_t>(rng() % s.items);
      SearchRequest req;
      req.queries = queries.data();
      req.rows = s.rows;
      req.k = 10;
      if (with_exclusions) {
        req.exclude_offsets = offsets.data();
        req.exclude_ids = ids.data();
      }
      if (with_targets) req.targets = targets.data();
      req.log_z = want_log_z;
      std::vector<int32_t> out_ids(static_cast<size_t>(s.rows) * 10), rank(s.rows);
      std::vector<float> out_scores(static_cast<size_t>(s.rows) * 10), log_z(s.rows), log_prob(s.rows);
      const SearchResult res{out_ids.data(), out_scores.data(), log_z.data(), rank.data(), log_prob.data()};
      const double flops = 2.0 * s.rows * static_cast<double>(s.items) * s.dim;
      const int reps = std::max(min_reps, std::min(60, static_cast<int>(4e9 / flops)));
      if (compare && s.rows <= 8) {
        const SmallBatchKernel kernels[3] = {SmallBatchKernel::Blocked, SmallBatchKernel::Lanes, SmallBatchKernel::Paired};
        std::vector<double> times[3];
        for (int r = 0; r < 3 * std::max(reps, 30); ++r) {
          const double t0 = threads == 1 ? thread_cpu_seconds() : wall_seconds();
          search(*table, req, res, SearchConfig{isa, threads, kernels[r % 3]});
          times[r % 3].push_back((threads == 1 ? thread_cpu_seconds() : wall_seconds()) - t0);
        }
        std::printf("%-9s %6lld %4d %4d  alternating, min / median ms:", precision_name(precision), static_cast<long long>(s.items),
                    s.dim, s.rows);
        for (int k = 0; k < 3; ++k) {
          std::sort(times[k].begin(), times[k].end());
          std::printf("  %s %.3f / %.3f", k == 0 ? "blocked" : k == 1 ? "lanes" : "paired", times[k][0] * 1e3,
                      times[k][times[k].size() / 2] * 1e3);
        }
        std::printf("\n");
        continue;
      }
      double best = 1e30;
      for (int r = 0; r < reps; ++r) {
        const double t0 = threads == 1 ? thread_cpu_seconds() : wall_seconds();
        search(*table, req, res, SearchConfig{isa, threads, small_batch});
        best = std::min(best, (threads == 1 ? thread_cpu_seconds() : wall_seconds()) - t0);
      }
      // The shape's own floors, sampled right after it (the start-of-run figures drift on this VM;
      // GFLOP/s and GB/s columns): the FMA peak of its precision, the fp32 one for the clock, and
      // for batches of at most 8 rows the read bandwidth.
      const FmaPeak shape_fp32 = fma_peak(isa, Precision::Fp32, 1, 0.1);
      const double peak = precision == Precision::Fp32 ? shape_fp32.cpu_gflops : fma_peak(Isa::Avx512, Precision::Bf16, 1, 0.1).cpu_gflops;
      const double gbps = s.rows <= 8 ? read_bandwidth(1, size_t{256} << 20, 0.1).cpu_gbps : bw.cpu_gbps;
      const double ghz = shape_fp32.cpu_gflops / 32.0;
      // With threads > 1: wall time, against one thread's floors divided by the thread count.
      const double compute = flops / peak / 1e9 / threads;
      const double memory = static_cast<double>(table->bytes()) / gbps / 1e9 / threads;
      const double floor = std::max(compute, memory);
      const double vectors = static_cast<double>(s.items) * ((s.rows + 15) / 16);
      std::printf("%-9s %6lld %4d %4d %8.3f %10.3f  %s %8.2f %14.1f %8.0f %5.1f  %s\n", precision_name(precision),
                  static_cast<long long>(s.items), s.dim, s.rows, best * 1e3, floor * 1e3,
                  compute >= memory ? "fma" : "mem", best / floor, best * ghz * 1e9 / vectors, peak, gbps,
                  scan_kernel_kind(precision == Precision::Bf16 ? Isa::Avx512 : isa, precision, s.rows, s.dim, small_batch));
    }
  }
  return 0;
}
