// The search driver: splits queries into batches and the item table into fixed units, runs the
// per-ISA scan kernels on all threads, then merges the per-thread and per-unit states.
//
// Results do not depend on the thread count: top-k and rank merge exactly (a total order and a
// sum), and the log-sum-exp is accumulated per fixed unit of items and combined in unit order.
#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <memory>
#include <mutex>
#include <new>
#include <stdexcept>
#include <utility>
#if defined(__linux__)
#include <sys/mman.h>
#endif
#include <vector>

#include "regen/search.h"
#include "scan.h"
#include "common/thread_pool.h"

namespace regen {

namespace {
constexpr int64_t kUnitItems = 8192;             // log-sum-exp partials are kept per unit (at most)
constexpr int64_t kChunkBytes = 256 << 10;       // item rows re-read from L2 across row blocks
constexpr int64_t kQueryBatchBytes = 512 << 10;  // packed queries per batch
constexpr int64_t kHeapBatchBytes = 256 << 20;   // per-thread top-k heaps per batch, all threads
constexpr int64_t kSerialWork = 1 << 21;         // multiply-adds below which one thread is faster,
constexpr int64_t kSerialBytes = 2 << 20;        // unless the table is larger than this (a few rows
                                                 // read it at memory speed: Office d = 64, one row,
                                                 // 0.21 -> 0.13 ms fp32 on 2 threads)
constexpr float kInf = std::numeric_limits<float>::infinity();
constexpr float kFloatMax = std::numeric_limits<float>::max();
constexpr float kLog2e = 1.44269504088896341f;
}  // namespace

const char* isa_name(Isa isa) {
  switch (isa) {
    case Isa::Scalar: return "scalar";
    case Isa::Avx2: return "avx2";
    case Isa::Avx512: return "avx512";
  }
  return "unknown";
}

bool isa_supported(Isa isa, const CpuFeatures& f) {
  switch (isa) {
    case Isa::Scalar: return true;
    case Isa::Avx2: return f.avx2 && f.fma;
    case Isa::Avx512: return f.avx512f && f.avx512bw && f.avx512dq && f.avx512vl && f.fma;
  }
  return false;
}

const char* precision_name(Precision precision) {
  return precision == Precision::Bf16 ? "bf16" : "fp32";
}

bool precision_supported(Precision precision, Isa isa, const CpuFeatures& f) {
  if (!isa_supported(isa, f)) return false;
  return precision == Precision::Fp32 || (isa == Isa::Avx512 && f.avx512bf16);
}

namespace {
// Round to nearest even; NaN stays a quiet NaN. Inline here so that loops over it vectorise.
inline uint16_t bf16_of(float x) {
  uint32_t u;
  std::memcpy(&u, &x, sizeof u);
  if ((u & 0x7FFFFFFFu) > 0x7F800000u) return static_cast<uint16_t>((u >> 16) | 0x40u);  // quiet NaN
  u += 0x7FFFu + ((u >> 16) & 1u);
  return static_cast<uint16_t>(u >> 16);
}
}  // namespace

uint16_t to_bf16(float x) { return bf16_of(x); }

void ItemMatrix::FreeAligned::operator()(void* p) const { std::free(p); }

// The blocked copy (ItemMatrix::blocked()): built once under the lock, then read without it.
struct ItemMatrix::Blocked {
  std::mutex lock;
  std::atomic<const uint32_t*> ready{nullptr};
  std::unique_ptr<void, FreeAligned> data;
};

ItemMatrix::ItemMatrix(const float* items, int64_t count, int32_t dim, Precision precision)
    : blocked_(std::make_unique<Blocked>()), count_(count), dim_(dim), precision_(precision) {
  const size_t rounded = (static_cast<size_t>(bytes()) + 63) / 64 * 64;
  void* p = std::aligned_alloc(64, rounded == 0 ? 64 : rounded);
  if (!p) throw std::bad_alloc();
  data_.reset(p);
  assign(items);
}

ItemMatrix::~ItemMatrix() = default;
ItemMatrix::ItemMatrix(ItemMatrix&&) noexcept = default;
ItemMatrix& ItemMatrix::operator=(ItemMatrix&&) noexcept = default;

const uint32_t* ItemMatrix::blocked(int threads) const {
  if (const uint32_t* p = blocked_->ready.load(std::memory_order_acquire)) return p;
  std::lock_guard<std::mutex> guard(blocked_->lock);
  if (const uint32_t* p = blocked_->ready.load(std::memory_order_relaxed)) return p;
  const int64_t values = row_values(), blocks = (count_ + 15) / 16;
  const size_t bytes = static_cast<size_t>(std::max<int64_t>(1, blocks * values)) * 16 * sizeof(uint32_t);
  // Large copies in 2 MB pages where the kernel allows, for fewer page faults (this VM's are slow: the
  // 386 MB copy of Clothing d = 256 fp32 took 1.17 s to build without the advice, 1.06 s with it,
  // most of either the kernel clearing fresh pages).
  const size_t align = bytes >= (size_t{4} << 20) ? size_t{2} << 20 : 64;
  const size_t rounded = (bytes + align - 1) / align * align;
  uint32_t* out = static_cast<uint32_t*>(std::aligned_alloc(align, rounded));
  if (!out) throw std::bad_alloc();
#if defined(__linux__) && defined(MADV_HUGEPAGE)
  if (align > 64) madvise(out, rounded, MADV_HUGEPAGE);
#endif
  blocked_->data.reset(out);
  // Rows are read in order; each block (values x 64 bytes) is written while it sits in cache. The
  // threads take runs of 64 blocks from a shared counter (run_parallel's tasks may start late): the
  // first touch of each page, which the kernel clears, is most of the time (Clothing d = 256 fp32:
  // 1.06 s on one thread, 0.46-0.52 s on two; Office d = 64 fp32: 4.7 ms on one, 2.4-6.2 on two).
  const uint32_t* rows = static_cast<const uint32_t*>(data_.get());
  constexpr int64_t kRun = 64;
  const int64_t runs = (blocks + kRun - 1) / kRun;
  std::atomic<int64_t> next{0};
  detail::run_parallel(static_cast<int>(std::max<int64_t>(1, std::min<int64_t>(threads, runs))), [&](int) {
    for (int64_t run; (run = next.fetch_add(1, std::memory_order_relaxed)) < runs;)
      for (int64_t b = run * kRun; b < std::min(blocks, (run + 1) * kRun); ++b) {
        uint32_t* block = out + b * values * 16;
        for (int64_t l = 0; l < 16; ++l) {
          const int64_t item = b * 16 + l;
          for (int64_t j = 0; j < values; ++j) block[j * 16 + l] = item < count_ ? rows[item * values + j] : 0u;
        }
      }
  });
  blocked_->ready.store(out, std::memory_order_release);
  return out;
}

void ItemMatrix::assign(const float* items) {
  blocked_->ready.store(nullptr, std::memory_order_relaxed);  // nothing reads the table now (see search.h)
  blocked_->data.reset();
  void* p = data_.get();
  if (precision_ == Precision::Fp32) {
    if (count_) std::memcpy(p, items, static_cast<size_t>(count_) * static_cast<size_t>(dim_) * sizeof(float));
    return;
  }
  uint16_t* out = static_cast<uint16_t*>(p);
  const int32_t padded = padded_dim();
  for (int64_t n = 0; n < count_; ++n) {
    for (int32_t j = 0; j < dim_; ++j) out[n * padded + j] = bf16_of(items[n * dim_ + j]);
    if (padded != dim_) out[n * padded + dim_] = 0;
  }
}

int64_t ItemMatrix::bytes() const {
  return count_ * padded_dim() * (precision_ == Precision::Bf16 ? 2 : 4);
}

namespace detail {

namespace {
// a is worse than b: lower score, or the same score and a higher id.
inline bool worse(float sa, int32_t ia, float sb, int32_t ib) { return sa < sb || (sa == sb && ia > ib); }
}  // namespace

float topk_offer(TopKHeaps& h, int64_t row, float score, int32_t id) {
  const int32_t k = h.k;
  float* s = h.scores + row * k;
  int32_t* ids = h.ids + row * k;
  int32_t& size = h.sizes[row];
  if (size < k) {
    int32_t i = size++;
    while (i > 0) {  // sift up
      const int32_t parent = (i - 1) / 2;
      if (!worse(score, id, s[parent], ids[parent])) break;
      s[i] = s[parent];
      ids[i] = ids[parent];
      i = parent;
    }
    s[i] = score;
    ids[i] = id;
    return size == k ? s[0] : -kInf;
  }
  if (!worse(s[0], ids[0], score, id)) return s[0];
  int32_t i = 0;
  for (;;) {  // sift down from the root
    const int32_t l = 2 * i + 1;
    if (l >= k) break;
    int32_t w = l;
    if (l + 1 < k && worse(s[l + 1], ids[l + 1], s[l], ids[l])) w = l + 1;
    if (!worse(s[w], ids[w], score, id)) break;
    s[i] = s[w];
    ids[i] = ids[w];
    i = w;
  }
  s[i] = score;
  ids[i] = id;
  return s[0];
}

}  // namespace detail

namespace {

using detail::Exclusion;
using detail::ScanBatch;
using detail::ScanKernel;
using detail::ScanState;

ScanKernel pick_kernel(Isa isa, Precision precision, int64_t rows, SmallBatchKernel small_batch = SmallBatchKernel::Auto) {
  // Up to 8 rows on AVX-512, by default items in the lanes of 512-bit vectors, read from the table's
  // blocked copy: no transposition and no idle lanes, so the products run at the FMA rate. One
  // thread, Zen 4, calls alternating between the kernels, median ms blocked / lanes / paired: Office
  // d = 64 fp32 1 row 0.18 / 0.21 / 0.70, 8 rows 0.60 / 0.89 / 0.79; bf16 8 rows 0.31 / 0.40 / 0.30;
  // Clothing d = 64 fp32 8 rows 5.9 / 9.4 / 10.1, d = 256 8 rows 20.0 / 29.5 / 46.4. Where the
  // table fits the L3 only once (Office d = 256), alternating calls favour the lanes kernel (1 row
  // 1.55 / 1.39 ms); the blocked kernel alone ran 0.57-0.66 ms there, the lanes one 0.81-0.84 (README).
  const bool blocked = rows <= 8 && (small_batch == SmallBatchKernel::Auto || small_batch == SmallBatchKernel::Blocked);
  if (precision == Precision::Bf16) {
    if (blocked) return detail::scan_kernel_avx512_bf16_blocked(rows);
    return detail::scan_kernel_avx512_bf16(rows, rows <= 8 && small_batch == SmallBatchKernel::Lanes);
  }
  switch (isa) {
    case Isa::Avx512:
      // With few rows most of a 16-row vector would idle: up to 8 rows, items in lanes (from the
      // blocked copy, or transposed as they are read: Lanes) or two items per vector (Paired).
      if (blocked) return detail::scan_kernel_avx512_blocked(rows);
      if (rows <= 8)
        return small_batch == SmallBatchKernel::Lanes ? detail::scan_kernel_avx512_lanes(rows) : detail::scan_kernel_avx512_paired(rows);
      return detail::scan_kernel_avx512(rows);
    case Isa::Avx2: return detail::scan_kernel_avx2(rows);
    case Isa::Scalar: break;
  }
  return detail::scan_kernel_scalar(rows);
}

// One thread's scan state, in cache lines of its own: the scan writes shift, sum, threshold, rank
// counts and exclusion cursors on every tile, and small vectors allocated one after another put two
// threads' arrays in the same lines (false sharing: a 32-row Office search took 40% more CPU time on
// 2 threads than on 1).
struct ThreadBuffers {
  struct Free {
    void operator()(void* p) const { std::free(p); }
  };
  std::unique_ptr<char, Free> arena;
  ScanState state{};  // its arrays live in the arena

  ThreadBuffers(int64_t rows_padded, int64_t row_blocks, int32_t k, bool sorted) {
    const int32_t stride = sorted ? 16 : k;
    const auto lines = [](int64_t bytes) { return static_cast<size_t>((bytes + 63) / 64 * 64); };
    const size_t heap_bytes = lines(rows_padded * stride * 4), row_bytes = lines(rows_padded * 4);
    const size_t total = 2 * heap_bytes + 6 * row_bytes + lines(row_blocks * 8);
    arena.reset(static_cast<char*>(std::aligned_alloc(64, total)));
    if (!arena) throw std::bad_alloc();
    char* p = arena.get();
    const auto take = [&p](size_t bytes) {
      char* at = p;
      p += bytes;
      return at;
    };
    float* heap_scores = reinterpret_cast<float*>(take(heap_bytes));
    int32_t* heap_ids = reinterpret_cast<int32_t*>(take(heap_bytes));
    int32_t* heap_sizes = reinterpret_cast<int32_t*>(take(row_bytes));
    state.heaps = detail::TopKHeaps{heap_scores, heap_ids, heap_sizes, k, stride, sorted};
    state.threshold = reinterpret_cast<float*>(take(row_bytes));
    state.shift = reinterpret_cast<float*>(take(row_bytes));
    state.sum = reinterpret_cast<float*>(take(row_bytes));
    state.rank_count = reinterpret_cast<int32_t*>(take(row_bytes));
    state.pos_inf = reinterpret_cast<int32_t*>(take(row_bytes));
    state.exclusion_cursor = reinterpret_cast<int64_t*>(take(lines(row_blocks * 8)));
    std::fill(state.threshold, state.threshold + rows_padded, -kInf);
    std::fill(heap_sizes, heap_sizes + rows_padded, 0);
    std::fill(state.rank_count, state.rank_count + rows_padded, 0);
    std::fill(state.pos_inf, state.pos_inf + rows_padded, 0);
    if (sorted) {  // empty entries, behind every real one
      std::fill(heap_scores, heap_scores + rows_padded * stride, -kInf);
      std::fill(heap_ids, heap_ids + rows_padded * stride, std::numeric_limits<int32_t>::max());
    }
  }
};

// One unit's log-sum-exp for one row, in base 2 (see ScanState).
struct LsePartial {
  float shift;
  float sum;
  bool pos_inf;
};

// Packs queries [first, first + rows) so that one dimension (Bf16: one pair of dimensions) of a
// block of rows is one contiguous run of lanes; padding slots stay zero.
void pack_queries(const SearchRequest& req, int64_t first, int64_t rows, int32_t dim, int64_t block_rows,
                  int64_t rows_padded, int32_t pairs, bool bf16, std::vector<float>& packed,
                  std::vector<uint16_t>& packed_bf16) {
  if (bf16) {
    packed_bf16.assign(static_cast<size_t>(rows_padded * pairs * 2), 0);
    for (int64_t i = 0; i < rows; ++i) {
      const float* q = req.queries + (first + i) * dim;
      uint16_t* out = packed_bf16.data() + ((i / block_rows) * pairs * block_rows + i % block_rows) * 2;
      int32_t j = 0;
      for (; j + 1 < dim; j += 2) {  // a pair at a time (a call per value was most of a 32-row batch's packing)
        out[(j / 2) * block_rows * 2] = bf16_of(q[j]);
        out[(j / 2) * block_rows * 2 + 1] = bf16_of(q[j + 1]);
      }
      if (j < dim) out[(j / 2) * block_rows * 2] = bf16_of(q[j]);
    }
    return;
  }
  packed.assign(static_cast<size_t>(rows_padded * dim), 0.0f);
  for (int64_t i = 0; i < rows; ++i) {
    const float* q = req.queries + (first + i) * dim;
    float* out = packed.data() + (i / block_rows) * dim * block_rows + i % block_rows;
    for (int32_t j = 0; j < dim; ++j) out[j * block_rows] = q[j];
  }
}

// Sorts keys by their bits [low, low + bits), stably: a least-significant-digit radix sort of at most
// 11 bits a pass, its digits as even as the passes allow (Office ids: 2 passes of 8 bits, 256
// counters each); short lists: std::sort of the whole key. Random ids make a comparison sort
// mispredict about every other comparison (the sort was 2-4% of a B = 32 search with 50 exclusions
// per row), and 2048-counter passes over a 20-bit key took most of what was left of it.
void sort_keys(std::vector<uint64_t>& keys, std::vector<uint64_t>& scratch, std::vector<uint32_t>& counts, int low, int bits) {
  if (keys.size() < 512) {
    std::sort(keys.begin(), keys.end());
    return;
  }
  if (bits <= 0) return;  // one item: every key has the same sort bits, and the order stays
  const int passes = (bits + 10) / 11;
  const int digit = (bits + passes - 1) / passes;
  const size_t buckets = size_t{1} << digit;
  const uint64_t mask = buckets - 1;
  scratch.resize(keys.size());
  counts.assign(buckets * static_cast<size_t>(passes), 0u);
  for (const uint64_t k : keys)  // every pass's counts in one read
    for (int p = 0; p < passes; ++p) ++counts[static_cast<size_t>(p) * buckets + ((k >> (low + p * digit)) & mask)];
  for (int p = 0; p < passes; ++p) {
    uint32_t* c = counts.data() + static_cast<size_t>(p) * buckets;
    uint32_t total = 0;
    for (size_t b = 0; b < buckets; ++b) {
      const uint32_t n = c[b];
      c[b] = total;
      total += n;
    }
    const int shift = low + p * digit;
    for (const uint64_t k : keys) scratch[c[(k >> shift) & mask]++] = k;
    keys.swap(scratch);
  }
}

// The exclusions of rows [first, first + rows), per row block, sorted by (item, slot) so the scan
// meets them in order, without duplicates. offsets gets row_blocks + 1 entries.
void collect_exclusions(const SearchRequest& req, int64_t first, int64_t rows, int64_t block_rows, int64_t row_blocks,
                        int64_t count, bool paired, std::vector<Exclusion>& out, std::vector<int64_t>& offsets) {
  offsets.assign(static_cast<size_t>(row_blocks + 1), 0);
  if (!req.exclude_offsets) return;
  // Keys item * 2^slot_bits + slot: ids lie in [0, count), so the integer order is the pair order.
  // Paired kernels: block_rows real rows per block, each in two slots (ScanKernel::paired).
  const int64_t slots = paired ? 2 * block_rows : block_rows;
  int slot_bits = 0, item_bits = 0;
  while ((int64_t{1} << slot_bits) < slots) ++slot_bits;
  while ((int64_t{1} << item_bits) < count) ++item_bits;
  // Every buffer sized once: grown exclusion by exclusion, they took more time than the sort (a
  // 256-row Office search with 50 exclusions per row: 0.15 ms of 4 on one thread, much of it
  // faulting in fresh pages).
  out.reserve(static_cast<size_t>(req.exclude_offsets[first + rows] - req.exclude_offsets[first]));
  int64_t most = 0;
  for (int64_t b = 0; b < row_blocks; ++b) {
    const int64_t end = first + std::min(rows, (b + 1) * block_rows);
    most = std::max<int64_t>(most, req.exclude_offsets[end] - req.exclude_offsets[first + b * block_rows]);
  }
  std::vector<uint64_t> keys, scratch;
  std::vector<uint32_t> counts;
  keys.reserve(static_cast<size_t>(most));
  for (int64_t b = 0; b < row_blocks; ++b) {
    keys.clear();
    for (int64_t i = b * block_rows; i < std::min(rows, (b + 1) * block_rows); ++i)
      for (int32_t p = req.exclude_offsets[first + i]; p < req.exclude_offsets[first + i + 1]; ++p)
        keys.push_back(static_cast<uint64_t>(req.exclude_ids[p]) << slot_bits |
                       static_cast<uint64_t>(i - b * block_rows + (paired && (req.exclude_ids[p] & 1) ? block_rows : 0)));
    // By item only: the keys go in row order, so within an item the slots already ascend (a paired
    // row's slot offset depends on the item's parity alone), and a stable sort leaves the (item, slot)
    // order, duplicates side by side.
    sort_keys(keys, scratch, counts, slot_bits, item_bits);
    keys.erase(std::unique(keys.begin(), keys.end()), keys.end());
    const uint64_t slot_mask = (uint64_t{1} << slot_bits) - 1;
    // Written in place: push_back built each entry on the stack with two 32-bit stores and copied it
    // with one 64-bit load, a store-forwarding stall per exclusion (in perf, the largest cost left
    // outside the kernels once the merge no longer sorted).
    const size_t at = out.size();
    out.resize(at + keys.size());
    Exclusion* dst = out.data() + at;
    for (const uint64_t key : keys) {
      dst->item = static_cast<int32_t>(key >> slot_bits);
      dst->slot = static_cast<int32_t>(key & slot_mask);
      ++dst;
    }
    offsets[static_cast<size_t>(b + 1)] = static_cast<int64_t>(out.size());
  }
}

// Per-row target data for the kernels. Scores come from the kernel's own arithmetic, so that the
// target ties with itself. Rows without a target compare against +Infinity (nothing beats it); a
// NaN target compares as -Infinity placed after every id (every non-NaN item beats it).
struct Targets {
  std::vector<float> score, below, true_score;
  std::vector<int32_t> id;

  Targets(const SearchRequest& req, const ScanKernel& kernel, const ScanBatch& batch, int64_t first, int64_t rows,
          int64_t rows_padded)
      : score(static_cast<size_t>(rows_padded), kInf),
        below(static_cast<size_t>(rows_padded), kFloatMax),
        true_score(static_cast<size_t>(rows), std::numeric_limits<float>::quiet_NaN()),
        id(static_cast<size_t>(rows_padded), -1) {
    for (int64_t i = 0; i < rows; ++i) {
      const int32_t t = req.targets[first + i];
      if (t < 0) continue;
      const size_t r = static_cast<size_t>(i);
      true_score[r] = kernel.score(batch, i, t);
      const bool nan = std::isnan(true_score[r]);
      score[r] = nan ? -kInf : true_score[r];
      id[r] = nan ? std::numeric_limits<int32_t>::max() : t;
      below[r] = std::nextafter(score[r], -kInf);
      if (kernel.paired) {  // the row's second slot (its queries are the same, so is the score)
        const size_t r2 = static_cast<size_t>(i + kernel.block_rows / 2);
        score[r2] = score[r];
        id[r2] = id[r];
        below[r2] = below[r];
      }
    }
  }
};

// Combines one row's per-unit partials, in unit order, in double precision, back from base 2.
// A paired kernel's row has two slots (row, second): per unit, row's partial, then second's.
double merge_log_z(const std::vector<LsePartial>& partials, int64_t units, int64_t rows_padded, int64_t row,
                   int64_t second = -1) {
  bool nan = false, pos_inf = false;
  double shift = -std::numeric_limits<double>::infinity(), sum = 0.0;
  for (int64_t w = 0; w < units * (second < 0 ? 1 : 2); ++w) {
    const int64_t u = second < 0 ? w : w / 2;
    const LsePartial p = partials[static_cast<size_t>(u * rows_padded + (second < 0 || w % 2 == 0 ? row : second))];
    nan = nan || std::isnan(p.sum);
    pos_inf = pos_inf || p.pos_inf;
    if (nan || p.sum == 0.0f) continue;
    if (p.shift > shift) {
      sum = sum * std::exp2(shift - p.shift) + p.sum;
      shift = p.shift;
    } else {
      sum += p.sum * std::exp2(static_cast<double>(p.shift) - shift);
    }
  }
  constexpr double kLn2 = 0.693147180559945309417232121458;
  if (nan) return std::numeric_limits<double>::quiet_NaN();
  if (pos_inf) return std::numeric_limits<double>::infinity();
  if (sum == 0.0) return -std::numeric_limits<double>::infinity();  // every item excluded or -Infinity
  return shift * kLn2 + std::log(sum);
}

// Queries [first, first + rows) of the request, as one batch: prepare, scan on all threads, merge.
void search_batch(const ItemMatrix& items, const SearchRequest& req, const SearchResult& res,
                  const ScanKernel& kernel, int threads, int64_t first, int64_t rows) {
  const int64_t count = items.count();
  const int32_t dim = items.dim();
  const int32_t k = req.k;
  const int32_t heap_k = static_cast<int32_t>(std::min<int64_t>(k, count));  // no row has more candidates
  const int64_t block_rows = kernel.block_rows;  // slots per block
  const bool paired = kernel.paired;               // one block: rows <= block_rows / 2, two slots each
  const int64_t half = block_rows / 2;
  const int64_t row_blocks = paired ? 1 : (rows + block_rows - 1) / block_rows;
  const int64_t rows_padded = row_blocks * block_rows;
  const bool bf16 = items.precision() == Precision::Bf16;
  const int32_t pairs = items.padded_dim() / 2;

  std::vector<float> packed;
  std::vector<uint16_t> packed_bf16;
  pack_queries(req, first, rows, dim, block_rows, rows_padded, pairs, bf16, packed, packed_bf16);
  if (paired) {  // slot r + half: row r again
    if (bf16)
      for (int64_t p = 0; p < pairs; ++p)
        std::copy_n(packed_bf16.data() + p * block_rows * 2, half * 2, packed_bf16.data() + (p * block_rows + half) * 2);
    else
      for (int64_t j = 0; j < dim; ++j) std::copy_n(packed.data() + j * block_rows, half, packed.data() + j * block_rows + half);
  }
  std::vector<Exclusion> exclusions;
  std::vector<int64_t> exclusion_offsets;
  collect_exclusions(req, first, rows, paired ? half : block_rows, row_blocks, count, paired, exclusions, exclusion_offsets);

  ScanBatch batch{};
  batch.items = bf16 ? nullptr : items.data();
  batch.items_bf16 = bf16 ? items.data_bf16() : nullptr;
  batch.count = count;
  batch.dim = dim;
  batch.pairs = pairs;
  batch.bias = req.bias;
  batch.lse_scale = req.temperature == 1.0f ? kLog2e : static_cast<float>(1.4426950408889634074 / req.temperature);
  batch.skip_lse = !req.log_z;
  batch.packed_queries = bf16 ? nullptr : packed.data();
  batch.packed_queries_bf16 = bf16 ? packed_bf16.data() : nullptr;
  batch.block_rows = static_cast<int32_t>(block_rows);
  batch.row_blocks = row_blocks;
  batch.rows = rows;
  batch.exclusions = exclusions.data();
  batch.exclusion_offsets = exclusion_offsets.data();
  batch.items_blocked = kernel.blocked ? items.blocked(threads) : nullptr;
  const int64_t item_bytes = bf16 ? int64_t{pairs} * 4 : int64_t{dim} * 4;
  batch.chunk_items = std::max<int64_t>(1, kChunkBytes / item_bytes / kernel.tile_items) * kernel.tile_items;
  std::unique_ptr<Targets> targets;
  if (req.targets) {
    targets = std::make_unique<Targets>(req, kernel, batch, first, rows, rows_padded);
    batch.target_score = targets->score.data();
    batch.target_score_below = targets->below.data();
    batch.target_id = targets->id.data();
  }

  // Scan: threads take work items from a shared counter: a fixed unit of items for a group of row
  // blocks. Each row's log-sum-exp partial of a unit is scanned by one thread in item order, so
  // the results do not depend on the thread count. Units are of equal size, their number a multiple
  // of 4 once there are several, and depend on the item count only (Office: 4 of 6,976 items, where
  // 4 of 8,192 had left one of 2 threads 16,384 items and the other 11,503). With few units the row
  // blocks are split into groups as well, so that the threads end together; a lone block, or the
  // one-row-per-block lane kernels, is not.
  int64_t units = (count + kUnitItems - 1) / kUnitItems;  // 0 for an empty table
  if (units > 1) units = (units + 3) / 4 * 4;
  const int64_t unit_items = units == 0 ? kUnitItems : ((count + units - 1) / units + 63) / 64 * 64;
  units = (count + unit_items - 1) / unit_items;
  std::vector<LsePartial> partials(static_cast<size_t>(units * rows_padded));
  const int64_t groups = threads > 1 && block_rows >= 8
                             ? std::max<int64_t>(1, std::min<int64_t>(row_blocks, (4 * threads + units - 1) / units))
                             : 1;
  const int64_t blocks_per_group = (row_blocks + groups - 1) / groups;
  const int64_t groups_used = (row_blocks + blocks_per_group - 1) / blocks_per_group;  // <= groups
  const int64_t work_items = units * groups_used;
  const int used_threads = static_cast<int>(std::max<int64_t>(1, std::min<int64_t>(threads, work_items)));
  const bool sorted_topk = kernel.sorted_topk && heap_k <= 16;
  std::vector<ThreadBuffers> buffers;
  buffers.reserve(static_cast<size_t>(used_threads));
  for (int t = 0; t < used_threads; ++t) buffers.emplace_back(rows_padded, row_blocks, heap_k, sorted_topk);
  std::atomic<int64_t> next_item{0};
  detail::run_parallel(used_threads, [&](int t) {
    ScanState& st = buffers[static_cast<size_t>(t)].state;
    for (int64_t w; (w = next_item.fetch_add(1, std::memory_order_relaxed)) < work_items;) {
      const int64_t u = w / groups_used, g = w % groups_used;
      const int64_t begin = u * unit_items, end = std::min(count, begin + unit_items);
      st.block_begin = g * blocks_per_group;
      st.block_end = std::min(row_blocks, st.block_begin + blocks_per_group);
      const int64_t row0 = st.block_begin * block_rows, row1 = st.block_end * block_rows;
      std::fill(st.shift + row0, st.shift + row1, -kFloatMax);
      std::fill(st.sum + row0, st.sum + row1, 0.0f);
      std::fill(st.pos_inf + row0, st.pos_inf + row1, 0);
      for (int64_t b = st.block_begin; b < st.block_end; ++b) {
        const Exclusion* lo = exclusions.data() + exclusion_offsets[static_cast<size_t>(b)];
        const Exclusion* hi = exclusions.data() + exclusion_offsets[static_cast<size_t>(b + 1)];
        st.exclusion_cursor[b] =
            std::lower_bound(lo, hi, begin, [](const Exclusion& x, int64_t v) { return x.item < v; }) -
            exclusions.data();
      }
      kernel.scan(batch, st, begin, end);
      LsePartial* out = partials.data() + u * rows_padded;
      for (int64_t i = row0; i < row1; ++i) out[i] = LsePartial{st.shift[i], st.sum[i], st.pos_inf[i] != 0};
    }
  });

  // Merge per row: log-sum-exp over units, top-k over threads, rank counts over threads.
  std::vector<std::pair<float, int32_t>> candidates;
  const auto better = [](const std::pair<float, int32_t>& a, const std::pair<float, int32_t>& b) {
    return a.first > b.first || (a.first == b.first && a.second < b.second);
  };
  struct SortedList {  // the rest of one thread's sorted list for one slot
    const float* scores;
    const int32_t* ids;
    int32_t left;
  };
  std::vector<SortedList> lists;
  for (int64_t i = 0; i < rows; ++i) {
    const int64_t g = first + i;
    const int64_t second = paired ? i + half : -1;  // the row's odd-item slot
    const double log_z =
        req.log_z ? merge_log_z(partials, units, rows_padded, i, second) : std::numeric_limits<double>::quiet_NaN();
    res.log_z[g] = static_cast<float>(log_z);

    if (sorted_topk) {
      // Each thread's list is sorted best first: take the best head k times (a sort of all the
      // candidates was most of the merge, which followed a 32-row Office search by 12-30 us).
      lists.clear();
      for (const ThreadBuffers& tb : buffers) {
        const detail::TopKHeaps& h = tb.state.heaps;
        for (const int64_t slot : {i, second})
          if (slot >= 0 && h.sizes[slot] > 0) lists.push_back(SortedList{h.scores + slot * h.stride, h.ids + slot * h.stride, h.sizes[slot]});
      }
      for (int32_t j = 0; j < k; ++j) {
        SortedList* best = nullptr;
        for (SortedList& l : lists)
          if (l.left > 0 && (!best || better({*l.scores, *l.ids}, {*best->scores, *best->ids}))) best = &l;
        res.ids[g * k + j] = best ? *best->ids : -1;
        res.scores[g * k + j] = best ? *best->scores : -kInf;
        if (best) {
          ++best->scores;
          ++best->ids;
          --best->left;
        }
      }
    } else {
      candidates.clear();
      for (const ThreadBuffers& tb : buffers) {
        const detail::TopKHeaps& h = tb.state.heaps;
        for (const int64_t slot : {i, second}) {
          if (slot < 0) continue;
          for (int32_t j = 0; j < h.sizes[slot]; ++j)
            candidates.emplace_back(h.scores[slot * h.stride + j], h.ids[slot * h.stride + j]);
        }
      }
      const size_t kept = std::min(candidates.size(), static_cast<size_t>(k));
      std::partial_sort(candidates.begin(), candidates.begin() + static_cast<std::ptrdiff_t>(kept), candidates.end(), better);
      for (int32_t j = 0; j < k; ++j) {
        const bool have = static_cast<size_t>(j) < kept;
        res.ids[g * k + j] = have ? candidates[static_cast<size_t>(j)].second : -1;
        res.scores[g * k + j] = have ? candidates[static_cast<size_t>(j)].first : -kInf;
      }
    }

    if (!req.targets) continue;
    const int32_t t = req.targets[g];
    bool excluded = false;
    if (t >= 0 && req.exclude_offsets)
      for (int32_t p = req.exclude_offsets[g]; p < req.exclude_offsets[g + 1] && !excluded; ++p)
        excluded = req.exclude_ids[p] == t;
    if (t < 0 || excluded) {
      res.target_rank[g] = -1;
      res.target_log_prob[g] = t < 0 ? std::numeric_limits<float>::quiet_NaN() : -kInf;  // probability 0
      continue;
    }
    int64_t beaten_by = 0;
    for (const ThreadBuffers& tb : buffers) beaten_by += tb.state.rank_count[i] + (paired ? tb.state.rank_count[second] : 0);
    res.target_rank[g] = static_cast<int32_t>(beaten_by);
    res.target_log_prob[g] =
        static_cast<float>(static_cast<double>(targets->true_score[static_cast<size_t>(i)]) / req.temperature - log_z);
  }
}

}  // namespace

void search(const ItemMatrix& items, const SearchRequest& req, const SearchResult& res, const SearchConfig& cfg) {
  if (req.rows <= 0) return;
  if (req.k < 1) throw std::invalid_argument("k must be at least 1");
  if (!(req.temperature > 0.0f) || std::isinf(req.temperature)) throw std::invalid_argument("temperature must be positive and finite");
  if (!precision_supported(items.precision(), cfg.isa, cpu_features()))
    throw std::runtime_error(std::string("this CPU cannot run the ") + isa_name(cfg.isa) + " kernels at " +
                             precision_name(items.precision()) + " precision");
  const int64_t dim = items.dim();
  int threads = std::max(1, cfg.threads);
  if (static_cast<double>(req.rows) * static_cast<double>(items.count()) * static_cast<double>(dim) < kSerialWork &&
      items.bytes() < kSerialBytes)
    threads = 1;

  // Batch size: packed queries stay cache-sized and per-thread heaps stay bounded.
  const ScanKernel widest = pick_kernel(cfg.isa, items.precision(), req.rows, cfg.small_batch);
  const int64_t block = widest.block_rows;
  int64_t batch = std::max<int64_t>(1, kQueryBatchBytes / (dim * 4) / block) * block;
  const int64_t heap_k = std::max<int64_t>(1, std::min<int64_t>(req.k, items.count()));
  const int64_t heap_stride = std::max<int64_t>(heap_k, 16);  // at most: sorted lists hold 16
  batch = std::min(batch, std::max<int64_t>(block, kHeapBatchBytes / (int64_t{threads} * heap_stride * 8) / block * block));
  for (int64_t first = 0; first < req.rows; first += batch) {
    const int64_t rows = std::min(batch, req.rows - first);
    search_batch(items, req, res, pick_kernel(cfg.isa, items.precision(), rows, cfg.small_batch), threads, first, rows);
  }
}

const char* scan_kernel_kind(Isa isa, Precision precision, int64_t rows, int64_t /*dim*/, SmallBatchKernel small_batch) {
  const ScanKernel kernel = pick_kernel(isa, precision, rows, small_batch);
  return kernel.blocked ? "blocked" : kernel.lanes ? "lanes" : kernel.paired ? "paired" : "rows";
}

void score_items(const ItemMatrix& items, const float* query, const int32_t* ids, int64_t n, const float* bias,
                 float* out, Isa isa) {
  if (n <= 0) return;
  if (!precision_supported(items.precision(), isa, cpu_features()))
    throw std::runtime_error(std::string("this CPU cannot run the ") + isa_name(isa) + " kernels at " +
                             precision_name(items.precision()) + " precision");
  const ScanKernel kernel = pick_kernel(isa, items.precision(), 1);
  const bool bf16 = items.precision() == Precision::Bf16;
  const int32_t dim = items.dim();
  const int32_t pairs = items.padded_dim() / 2;
  SearchRequest req;
  req.queries = query;
  req.rows = 1;
  std::vector<float> packed;
  std::vector<uint16_t> packed_bf16;
  pack_queries(req, 0, 1, dim, kernel.block_rows, kernel.block_rows, pairs, bf16, packed, packed_bf16);
  ScanBatch batch{};
  batch.items = bf16 ? nullptr : items.data();
  batch.items_bf16 = bf16 ? items.data_bf16() : nullptr;
  batch.count = items.count();
  batch.dim = dim;
  batch.pairs = pairs;
  batch.bias = bias;
  batch.lse_scale = kLog2e;
  batch.packed_queries = bf16 ? nullptr : packed.data();
  batch.packed_queries_bf16 = bf16 ? packed_bf16.data() : nullptr;
  batch.block_rows = kernel.block_rows;
  batch.row_blocks = 1;
  batch.rows = 1;
  kernel.score_list(batch, 0, ids, n, out);
}

}  // namespace regen
