// The fused cross-entropy driver (API and semantics: regen/xent.h).
//
// Pass 1 is search() (k = 1, with targets) over the rows that have a target: logZ and the loss,
// bit for bit the search's. Pass 2 runs the per-ISA backward kernels (xent_kernel.inl) over the
// rows that contribute a gradient, in row batches; within a batch the items are split into fixed
// units (their size depends on the number of items only) that threads take from a shared counter:
//   - dE and dBias of a unit's items are written only by the thread on that unit, and summed over
//     rows in a fixed order (batches, then row blocks, in order): no cross-thread reduction;
//   - dQ is summed per unit into its own partial, and the partials are added in unit order.
// So the results are the same bits for any number of threads. Nothing of size rows x items is
// ever stored; the largest scratch is the pool of dQ partials (2 per thread, each rows of a batch x dim).
#include "regen/xent.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <cstring>
#include <ctime>
#include <limits>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <vector>

#include "common/thread_pool.h"
#include "xent_kernel.h"

namespace regen {

namespace {

using detail::Exclusion;
using detail::XentBatch;
using detail::XentKernel;
using detail::XentState;

constexpr int64_t kTargetUnits = 128;           // units per batch: load balance for up to ~16 threads
constexpr int64_t kUnitAlign = 48;              // unit sizes are multiples of every kernel's tile width
constexpr int64_t kBatchBytes = 512 << 10;     // a batch's queries (twice) and dQ partial: 12 x rows x dim bytes, in L2
constexpr int64_t kMaxBatchRows = 4096;
constexpr int64_t kSerialWork = 1 << 21;        // multiply-adds below which one thread is faster
constexpr float kInf = std::numeric_limits<float>::infinity();
constexpr float kNaN = std::numeric_limits<float>::quiet_NaN();

XentKernel pick_xent_kernel(Isa isa, Precision precision, int64_t rows) {
  if (precision == Precision::Bf16) return detail::xent_kernel_avx512_bf16(rows);
  switch (isa) {
    case Isa::Avx512: return detail::xent_kernel_avx512(rows);
    case Isa::Avx2: return detail::xent_kernel_avx2(rows);
    case Isa::Scalar: break;
  }
  return detail::xent_kernel_scalar(rows);
}

// A vector whose bytes count towards the call's scratch.
struct Scratch {
  int64_t now = 0, peak = 0;
  void add(int64_t bytes) {
    now += bytes;
    peak = std::max(peak, now);
  }
  void sub(int64_t bytes) { now -= bytes; }
};

template <typename T>
int64_t bytes_of(const std::vector<T>& v) {
  return static_cast<int64_t>(v.capacity() * sizeof(T));
}

// One row batch of pass 2: rows[i] (indices into the request) with logZ, weight and target.
struct Pass2Rows {
  std::vector<int64_t> row;
  std::vector<float> log_z, weight;
  std::vector<int32_t> target;
};

void run_batch(const ItemMatrix& items, const XentRequest& req, const XentResult& res, const XentKernel& kernel,
               int threads, const Pass2Rows& all, int64_t first, int64_t rows, int64_t unit_items, Scratch& scratch) {
  const bool overwrite_items = res.assign_grads;
  const int64_t count = items.count();
  const int32_t dim = items.dim();
  const bool bf16 = items.precision() == Precision::Bf16;
  const int32_t pairs = items.padded_dim() / 2;
  const int64_t block_rows = kernel.block_rows;
  const int64_t row_blocks = (rows + block_rows - 1) / block_rows;
  const int64_t rows_padded = row_blocks * block_rows;
  const int64_t q_stride = (dim + kernel.lanes - 1) / kernel.lanes * kernel.lanes;
  const int64_t dim64 = dim;

  // Queries twice: rows in lanes (the score tiles), and row-major (the dE step; pairs of rows
  // for kernels with bf16 products), both from the values the scores use (bf16 tables: rounded).
  std::vector<float> packed, q_rows(kernel.pairs ? 0 : static_cast<size_t>(rows_padded * q_stride), 0.0f);
  std::vector<uint32_t> q_pairs(kernel.pairs ? static_cast<size_t>(rows_padded / 2 * q_stride) : 0, 0u);
  std::vector<uint16_t> packed_bf16;
  if (bf16) packed_bf16.assign(static_cast<size_t>(rows_padded * pairs * 2), 0);
  else packed.assign(static_cast<size_t>(rows_padded * dim64), 0.0f);
  std::vector<float> lz(static_cast<size_t>(rows_padded), 0.0f), weight(static_cast<size_t>(rows_padded), 0.0f);
  std::vector<int32_t> target(static_cast<size_t>(rows_padded), -1);
  for (int64_t i = 0; i < rows; ++i) {
    const int64_t b = all.row[static_cast<size_t>(first + i)];
    const float* q = req.queries + b * dim64;
    const int64_t block = i / block_rows, slot = i % block_rows;
    if (bf16) {
      uint16_t* out = packed_bf16.data() + (block * pairs * block_rows + slot) * 2;
      for (int32_t j = 0; j < dim; ++j) {
        const uint16_t h = to_bf16(q[j]);
        out[(j / 2) * block_rows * 2 + (j & 1)] = h;
        if (kernel.pairs) {
          q_pairs[static_cast<size_t>((i / 2) * q_stride + j)] |= static_cast<uint32_t>(h) << (16 * (i & 1));
        } else {
          const uint32_t bits = static_cast<uint32_t>(h) << 16;
          std::memcpy(&q_rows[static_cast<size_t>(i * q_stride + j)], &bits, sizeof(float));
        }
      }
    } else {
      float* row_major = q_rows.data() + i * q_stride;
      float* out = packed.data() + block * dim64 * block_rows + slot;
      for (int32_t j = 0; j < dim; ++j) out[j * block_rows] = q[j];
      std::memcpy(row_major, q, sizeof(float) * static_cast<size_t>(dim));
    }
    lz[static_cast<size_t>(i)] = all.log_z[static_cast<size_t>(first + i)];
    weight[static_cast<size_t>(i)] = all.weight[static_cast<size_t>(first + i)];
    target[static_cast<size_t>(i)] = all.target[static_cast<size_t>(first + i)];
  }

  // Exclusions per row block, sorted by (item, slot), without duplicates (the scan's form).
  std::vector<Exclusion> exclusions;
  std::vector<int64_t> exclusion_offsets(static_cast<size_t>(row_blocks + 1), 0);
  if (req.exclude_offsets) {
    const auto by_item = [](const Exclusion& a, const Exclusion& b) { return a.item != b.item ? a.item < b.item : a.slot < b.slot; };
    const auto same = [](const Exclusion& a, const Exclusion& b) { return a.item == b.item && a.slot == b.slot; };
    for (int64_t blk = 0; blk < row_blocks; ++blk) {
      const size_t start = exclusions.size();
      for (int64_t i = blk * block_rows; i < std::min(rows, (blk + 1) * block_rows); ++i) {
        const int64_t b = all.row[static_cast<size_t>(first + i)];
        for (int32_t p = req.exclude_offsets[b]; p < req.exclude_offsets[b + 1]; ++p)
          exclusions.push_back(Exclusion{req.exclude_ids[p], static_cast<int32_t>(i - blk * block_rows)});
      }
      const auto begin = exclusions.begin() + static_cast<std::ptrdiff_t>(start);
      std::sort(begin, exclusions.end(), by_item);
      exclusions.erase(std::unique(begin, exclusions.end(), same), exclusions.end());
      exclusion_offsets[static_cast<size_t>(blk + 1)] = static_cast<int64_t>(exclusions.size());
    }
  }

  XentBatch xb{};
  detail::ScanBatch& bt = xb.scan;
  bt.items = bf16 ? nullptr : items.data();
  bt.items_bf16 = bf16 ? items.data_bf16() : nullptr;
  bt.count = count;
  bt.dim = dim;
  bt.pairs = pairs;
  bt.bias = req.bias;
  bt.packed_queries = bf16 ? nullptr : packed.data();
  bt.packed_queries_bf16 = bf16 ? packed_bf16.data() : nullptr;
  bt.block_rows = static_cast<int32_t>(block_rows);
  bt.row_blocks = row_blocks;
  bt.rows = rows;
  bt.exclusions = exclusions.data();
  bt.exclusion_offsets = exclusion_offsets.data();
  const bool want_items = res.grad_items != nullptr || res.grad_bias != nullptr;
  bt.chunk_items = kernel.tile_items;  // bf16 tables: one tile of items is decoded at a time
  xb.q_rows = q_rows.data();
  xb.q_pairs = q_pairs.data();
  xb.q_stride = static_cast<int32_t>(q_stride);
  xb.log_z = lz.data();
  xb.weight = weight.data();
  xb.target = target.data();
  xb.want_items = want_items;

  const int64_t units = (count + unit_items - 1) / unit_items;
  const int64_t part = rows_padded * dim64;  // one unit's dQ partial
  const int used_threads = static_cast<int>(std::max<int64_t>(1, std::min<int64_t>(threads, units)));
  struct ThreadBuffers {
    std::vector<float> g, gt, e_f32;
    std::vector<int64_t> cursor;
  };
  std::vector<ThreadBuffers> buffers(static_cast<size_t>(used_threads));
  for (ThreadBuffers& tb : buffers) {
    tb.g.resize(static_cast<size_t>(2 * kernel.tile_items * block_rows));
    if (want_items) tb.gt.resize(static_cast<size_t>(kernel.tile_items * rows_padded));
    if (bf16) tb.e_f32.resize(static_cast<size_t>(bt.chunk_items * dim64));
    tb.cursor.resize(static_cast<size_t>(row_blocks));
  }
  // dQ partials: a pool of 2 per thread. A thread takes a free partial, then the next unit; when
  // it is done, the finished partials are added into `sum` strictly in unit order (whoever finds
  // the next one ready adds it), so the order of additions never depends on the threads. A thread
  // that runs ahead of the oldest unfinished unit by a pool's worth waits for it.
  const int64_t pool_size = 2 * used_threads;
  std::unique_ptr<float[]> pool(new float[static_cast<size_t>(pool_size * part)]);
  std::vector<double> sum(static_cast<size_t>(part), 0.0);
  int64_t batch_bytes = bytes_of(packed) + bytes_of(packed_bf16) + bytes_of(q_rows) + bytes_of(q_pairs) + bytes_of(lz) + bytes_of(weight) +
                        bytes_of(target) + bytes_of(exclusions) + bytes_of(exclusion_offsets) + bytes_of(sum) +
                        pool_size * part * 4;
  for (const ThreadBuffers& tb : buffers) batch_bytes += bytes_of(tb.g) + bytes_of(tb.gt) + bytes_of(tb.e_f32) + bytes_of(tb.cursor);
  scratch.add(batch_bytes);

  std::mutex mutex;
  std::condition_variable freed;
  std::vector<int64_t> free_slots;
  for (int64_t i = pool_size - 1; i >= 0; --i) free_slots.push_back(i);
  std::vector<int64_t> ready(static_cast<size_t>(units), -1);  // unit -> its finished partial's slot
  int64_t next_unit = 0, next_add = 0;
  detail::run_parallel(used_threads, [&](int t) {
    ThreadBuffers& tb = buffers[static_cast<size_t>(t)];
    XentState st{};
    st.g = tb.g.data();
    st.gt = tb.gt.data();
    st.e_f32 = tb.e_f32.data();
    st.exclusion_cursor = tb.cursor.data();
    for (;;) {
      int64_t u, slot;
      {
        std::unique_lock<std::mutex> lock(mutex);
        if (next_unit >= units) return;
        freed.wait(lock, [&] { return !free_slots.empty(); });
        if (next_unit >= units) return;
        slot = free_slots.back();
        free_slots.pop_back();
        u = next_unit++;
      }
      const int64_t begin = u * unit_items, end = std::min(count, begin + unit_items);
      st.dq = pool.get() + slot * part;
      std::fill(st.dq, st.dq + part, 0.0f);
      if (first == 0 && res.grad_items && overwrite_items)
        std::fill(res.grad_items + begin * dim64, res.grad_items + end * dim64, 0.0f);
      if (first == 0 && res.grad_bias && overwrite_items) std::fill(res.grad_bias + begin, res.grad_bias + end, 0.0f);
      for (int64_t blk = 0; blk < row_blocks; ++blk) {
        const Exclusion* lo = exclusions.data() + exclusion_offsets[static_cast<size_t>(blk)];
        const Exclusion* hi = exclusions.data() + exclusion_offsets[static_cast<size_t>(blk + 1)];
        st.exclusion_cursor[blk] =
            std::lower_bound(lo, hi, begin, [](const Exclusion& x, int64_t v) { return x.item < v; }) - exclusions.data();
      }
      kernel.run(xb, st, begin, end, res.grad_items, res.grad_bias);
      std::lock_guard<std::mutex> lock(mutex);
      ready[static_cast<size_t>(u)] = slot;
      bool released = false;
      for (; next_add < units && ready[static_cast<size_t>(next_add)] >= 0; ++next_add) {
        const int64_t done = ready[static_cast<size_t>(next_add)];
        const float* p = pool.get() + done * part;
        for (int64_t x = 0; x < part; ++x) sum[static_cast<size_t>(x)] += p[x];
        free_slots.push_back(done);
        released = true;
      }
      if (released) freed.notify_all();
    }
  });

  // dQ back to the rows' places.
  for (int64_t i = 0; i < rows; ++i) {
    const int64_t b = all.row[static_cast<size_t>(first + i)];
    const int64_t block = i / block_rows, slot = i % block_rows;
    const double* s = sum.data() + block * dim64 * block_rows + slot;
    float* out = res.grad_queries + b * dim64;
    for (int32_t j = 0; j < dim; ++j) out[j] = static_cast<float>(s[j * block_rows]);
  }
  scratch.sub(batch_bytes);
}

}  // namespace

XentStats cross_entropy(const ItemMatrix& items, const XentRequest& req, const XentResult& res, const SearchConfig& cfg) {
  XentStats stats;
  const int64_t rows = req.rows;
  if (rows <= 0) return stats;
  if (!req.targets) throw std::invalid_argument("cross_entropy needs targets");
  if (!precision_supported(items.precision(), cfg.isa, cpu_features()))
    throw std::runtime_error(std::string("this CPU cannot run the ") + isa_name(cfg.isa) + " kernels at " +
                             precision_name(items.precision()) + " precision");
  const int64_t count = items.count();
  const int64_t dim = items.dim();
  Scratch scratch;

  // Pass 1: the rows with a target, in order, through search().
  std::vector<int64_t> searched;
  for (int64_t b = 0; b < rows; ++b)
    if (req.targets[b] >= 0) searched.push_back(b);
  const int64_t m = static_cast<int64_t>(searched.size());
  std::fill(res.loss, res.loss + rows, 0.0f);
  std::fill(res.grad_queries, res.grad_queries + rows * dim, 0.0f);
  auto zero_grads = [&] {
    if (!res.assign_grads) return;
    if (res.grad_items) std::fill(res.grad_items, res.grad_items + count * dim, 0.0f);
    if (res.grad_bias) std::fill(res.grad_bias, res.grad_bias + count, 0.0f);
  };
  if (m == 0) {
    zero_grads();
    return stats;
  }
  const bool all_rows = m == rows;
  std::vector<float> s_queries;
  std::vector<int32_t> s_targets, s_offsets, s_ids;
  if (!all_rows) {
    s_queries.resize(static_cast<size_t>(m * dim));
    s_targets.resize(static_cast<size_t>(m));
    if (req.exclude_offsets) s_offsets.assign(1, 0);
    for (int64_t i = 0; i < m; ++i) {
      const int64_t b = searched[static_cast<size_t>(i)];
      std::memcpy(s_queries.data() + i * dim, req.queries + b * dim, sizeof(float) * static_cast<size_t>(dim));
      s_targets[static_cast<size_t>(i)] = req.targets[b];
      if (req.exclude_offsets) {
        s_ids.insert(s_ids.end(), req.exclude_ids + req.exclude_offsets[b], req.exclude_ids + req.exclude_offsets[b + 1]);
        s_offsets.push_back(static_cast<int32_t>(s_ids.size()));
      }
    }
  }
  std::vector<int32_t> top_id(static_cast<size_t>(m)), rank(static_cast<size_t>(m));
  std::vector<float> top_score(static_cast<size_t>(m)), log_z(static_cast<size_t>(m)), log_prob(static_cast<size_t>(m));
  scratch.add(bytes_of(searched) + bytes_of(s_queries) + bytes_of(s_targets) + bytes_of(s_offsets) + bytes_of(s_ids) +
              bytes_of(top_id) + bytes_of(rank) + bytes_of(top_score) + bytes_of(log_z) + bytes_of(log_prob));
  SearchRequest sr;
  sr.queries = all_rows ? req.queries : s_queries.data();
  sr.rows = m;
  sr.k = 1;
  sr.exclude_offsets = req.exclude_offsets ? (all_rows ? req.exclude_offsets : s_offsets.data()) : nullptr;
  sr.exclude_ids = req.exclude_offsets ? (all_rows ? req.exclude_ids : s_ids.data()) : nullptr;
  sr.targets = all_rows ? req.targets : s_targets.data();
  sr.bias = req.bias;
  SearchResult out;
  out.ids = top_id.data();
  out.scores = top_score.data();
  out.log_z = log_z.data();
  out.target_rank = rank.data();
  out.target_log_prob = log_prob.data();
  search(items, sr, out, cfg);

  // Losses, and the rows that contribute a gradient: weight != 0 and a loss other than +Infinity.
  Pass2Rows active;
  for (int64_t i = 0; i < m; ++i) {
    const int64_t b = searched[static_cast<size_t>(i)];
    const float loss = -log_prob[static_cast<size_t>(i)];
    res.loss[b] = loss;
    const float w = req.row_weights ? req.row_weights[b] : 1.0f;
    if (w == 0.0f || loss == kInf) continue;
    active.row.push_back(b);
    active.log_z.push_back(std::isnan(loss) ? kNaN : log_z[static_cast<size_t>(i)]);
    active.weight.push_back(w);
    active.target.push_back(req.targets[b]);
  }
  scratch.add(bytes_of(active.row) + bytes_of(active.log_z) + bytes_of(active.weight) + bytes_of(active.target));
  const int64_t n_active = static_cast<int64_t>(active.row.size());

  // Pass 2, in row batches whose queries and dQ partial stay in L2 (kBatchBytes). (Nothing here
  // depends on the thread count: the batches, units and kernels are the same for any.)
  if (n_active == 0) zero_grads();
  if (n_active > 0) {
    int threads = std::max(1, cfg.threads);
    if (static_cast<double>(n_active) * static_cast<double>(count) * static_cast<double>(dim) < kSerialWork) threads = 1;
    const int64_t unit_items = std::max<int64_t>(kUnitAlign, ((count + kTargetUnits - 1) / kTargetUnits + kUnitAlign - 1) / kUnitAlign * kUnitAlign);
    const int64_t units = (count + unit_items - 1) / unit_items;
    const XentKernel widest = pick_xent_kernel(cfg.isa, items.precision(), n_active);
    const int64_t block = widest.block_rows;
    int64_t batch = kBatchBytes / (dim * 12) / block * block;
    batch = std::max(block, std::min(batch, kMaxBatchRows / block * block));
    (void)units;
    for (int64_t first = 0; first < n_active; first += batch) {
      const int64_t n = std::min(batch, n_active - first);
      run_batch(items, req, res, pick_xent_kernel(cfg.isa, items.precision(), n), threads, active, first, n, unit_items,
                scratch);
    }
  }
  stats.scratch_bytes = scratch.peak;
  return stats;
}

namespace {
double thread_cpu_seconds() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}
}  // namespace

FmaPeak fma_peak(Isa isa, Precision precision, int threads, double seconds) {
  if (!precision_supported(precision, isa, cpu_features()))
    throw std::runtime_error(std::string("this CPU cannot run the ") + isa_name(isa) + " kernels at " +
                             precision_name(precision) + " precision");
  auto loop = [&](int64_t iterations, double* flops) {
    if (precision == Precision::Bf16) return detail::fma_loop_avx512_bf16(iterations, flops);
    switch (isa) {
      case Isa::Avx512: return detail::fma_loop_avx512(iterations, flops);
      case Isa::Avx2: return detail::fma_loop_avx2(iterations, flops);
      case Isa::Scalar: break;
    }
    return detail::fma_loop_scalar(iterations, flops);
  };
  // Calibrate on one thread, then every thread runs the same count; the slowest sets the time.
  using Clock = std::chrono::steady_clock;
  double flops_per_round = 0.0;
  int64_t iterations = 1 << 16;
  for (;;) {
    const auto t0 = Clock::now();
    volatile float keep = loop(iterations, &flops_per_round);
    (void)keep;
    const double s = std::chrono::duration<double>(Clock::now() - t0).count();
    if (s > 0.02 || iterations > (int64_t{1} << 40)) {
      iterations = static_cast<int64_t>(static_cast<double>(iterations) * std::max(1.0, seconds / s));
      break;
    }
    iterations *= 4;
  }
  threads = std::max(1, threads);
  std::vector<double> took(static_cast<size_t>(threads), 0.0), cpu(static_cast<size_t>(threads), 0.0);
  std::atomic<int> next{0};
  detail::run_parallel(threads, [&](int) {
    const int slot = next.fetch_add(1);
    double flops = 0.0;
    const auto t0 = Clock::now();
    const double c0 = thread_cpu_seconds();
    volatile float keep = loop(iterations, &flops);
    (void)keep;
    cpu[static_cast<size_t>(slot)] = thread_cpu_seconds() - c0;
    took[static_cast<size_t>(slot)] = std::chrono::duration<double>(Clock::now() - t0).count();
  });
  const double work = static_cast<double>(iterations) * flops_per_round * threads / 1e9;
  FmaPeak peak;
  peak.wall_gflops = work / *std::max_element(took.begin(), took.end());
  peak.cpu_gflops = work / std::max(1e-9, *std::max_element(cpu.begin(), cpu.end()));
  return peak;
}

ReadBandwidth read_bandwidth(int threads, size_t bytes, double seconds) {
  using Clock = std::chrono::steady_clock;
  threads = std::max(1, threads);
  const size_t lanes = 8;  // independent accumulators, so the adds never limit the stream
  const size_t per_thread = std::max<size_t>(lanes, bytes / sizeof(uint64_t) / static_cast<size_t>(threads) / lanes * lanes);
  // Written first so every page is resident before timing (an untouched page would be a zero-page read).
  std::vector<uint64_t> buffer(per_thread * static_cast<size_t>(threads));
  for (size_t i = 0; i < buffer.size(); ++i) buffer[i] = i * 0x9E3779B97F4A7C15ull;
  auto pass = [&](int slot) {
    const uint64_t* p = buffer.data() + per_thread * static_cast<size_t>(slot);
    uint64_t acc[lanes] = {};
    for (size_t i = 0; i < per_thread; i += lanes)
      for (size_t l = 0; l < lanes; ++l) acc[l] += p[i + l];
    uint64_t sum = 0;
    for (size_t l = 0; l < lanes; ++l) sum += acc[l];
    return sum;
  };
  // Calibrate the pass count on one thread's slice, then every thread reads its slice that many times.
  const auto c0 = Clock::now();
  volatile uint64_t keep = pass(0);
  const double one = std::max(1e-6, std::chrono::duration<double>(Clock::now() - c0).count());
  const int passes = std::max(1, static_cast<int>(seconds / one));
  std::vector<double> took(static_cast<size_t>(threads), 0.0), cpu(static_cast<size_t>(threads), 0.0);
  std::vector<uint64_t> sums(static_cast<size_t>(threads), 0);
  std::atomic<int> next{0};
  detail::run_parallel(threads, [&](int) {
    const int slot = next.fetch_add(1);
    const auto t0 = Clock::now();
    const double cpu0 = thread_cpu_seconds();
    uint64_t sum = 0;
    for (int r = 0; r < passes; ++r) sum += pass(slot);
    sums[static_cast<size_t>(slot)] = sum;  // kept, so the reads cannot be optimised away
    cpu[static_cast<size_t>(slot)] = thread_cpu_seconds() - cpu0;
    took[static_cast<size_t>(slot)] = std::chrono::duration<double>(Clock::now() - t0).count();
  });
  for (uint64_t sum : sums) keep = keep + sum;
  const double gb = static_cast<double>(per_thread * sizeof(uint64_t)) * threads * passes / 1e9;
  ReadBandwidth bw;
  bw.wall_gbps = gb / *std::max_element(took.begin(), took.end());
  bw.cpu_gbps = gb / std::max(1e-9, *std::max_element(cpu.begin(), cpu.end()));
  return bw;
}

}  // namespace regen
