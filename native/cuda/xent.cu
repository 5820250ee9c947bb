// The fused cross-entropy on a GPU (API and semantics: regen/xent.h, DeviceTable::cross_entropy in
// regen/search_cuda.h). Pass 1 is the table's own search (k = 1, with targets) over the rows that
// have a target, so the loss is bit for bit the search's -target_log_prob. Pass 2 recomputes the
// score tiles with the scan's tile code (scan_kernels.cuh) in two kernels, each owning what it writes:
//   - xent_dq_kernel: a block per (64-row tile, item split) adds G E over its split's items into its
//     own dQ partial; a merge kernel adds the partials in split order (in double);
//   - xent_de_kernel: a block per 128-item tile walks every row tile in order and adds G^T Q and the
//     column sums of G into its items' dE and dBias rows.
// No atomics: every sum runs in a fixed order, so results are the same bits run to run. The
// gradient products are float32 FMAs on CUDA cores (bf16 tables: over the bf16 values, widened
// exactly); only the scores use the tensor cores. Nothing of size rows x items is stored.
#include "cuda/scan_kernels.cuh"
#include "cuda/device_table.cuh"

namespace regen::cuda {
namespace {

// Dimensions staged per pass: 32 of E's 128 items (dQ kernel), 64 of Q's 64 rows (dE kernel); the
// same 16 KB either way. Staged rows are unpadded: every read of a staged row is a warp reading
// consecutive 16-byte vectors of one row (no bank conflicts), every write consecutive floats.
constexpr int kDqDims = 32;
constexpr int kDeDims = 64;
constexpr size_t kStageBytes = sizeof(float) * kTileItems * kDqDims;
static_assert(kStageBytes == sizeof(float) * kRows * kDeDims, "one stage size for both kernels");
constexpr int kMaskWords = kTileItems / 32;

struct XentParams {
  ScanParams scan;          // items, queries (the active rows), counts, dims: what the tile code reads
  const float* log_z;       // rows: NaN makes the row's gradient NaN
  const float* weight;      // rows
  const int* target;        // rows
  const int* ex_off;        // rows + 1, or null (ids sorted within each row)
  const int* ex_ids;
  int splits;
  int64_t split_items;      // a multiple of kTileItems
  float* dq_part;           // splits x rows x dim
  float* de;                // count x dim (zeroed), or null
  float* db;                // count (zeroed), or null
};

// Shared memory beyond the score tile (whose bytes the tile code also uses for staging, and which
// holds G once the scores are turned into it): the tile's exclusion bits, the staged E or Q chunk,
// per-row scalars. About 51 KB: within the 64 KB a block may have on every supported GPU.
struct XentShared {
  size_t masks, stage, rows, total;
  __host__ __device__ XentShared() {
    masks = kTileBytes;
    stage = masks + sizeof(unsigned) * kRows * kMaskWords;
    rows = stage + kStageBytes;
    total = rows + sizeof(float) * kRows * 3;
  }
};

// Row r's exclusions inside items [n0, n0 + kTileItems), as bits, from its sorted list.
__device__ void tile_mask(const XentParams& p, int row, int64_t n0, unsigned* out) {
  unsigned m[kMaskWords] = {};
  if (p.ex_off && row < p.scan.rows) {
    int lo = p.ex_off[row], hi = p.ex_off[row + 1];
    while (lo < hi) {  // first id >= n0
      const int mid = (lo + hi) / 2;
      if (p.ex_ids[mid] < n0) lo = mid + 1; else hi = mid;
    }
    for (int q = lo; q < p.ex_off[row + 1] && p.ex_ids[q] < n0 + kTileItems; ++q) {
      const int off = static_cast<int>(p.ex_ids[q] - n0);
#pragma unroll
      for (int w = 0; w < kMaskWords; ++w)
        if (off / 32 == w) m[w] |= 1u << (off % 32);
    }
  }
#pragma unroll
  for (int w = 0; w < kMaskWords; ++w) out[w] = m[w];
}

// The score tile S (kRows x kTileItems, in shared memory) into G, in place: w (p - [item = target])
// with p = exp(s + bias - logZ) (exponent clamped at 0, NaN kept), 0 for excluded items, items
// past the table and rows past the batch.
__device__ void scores_to_g(const XentParams& p, float* S, const unsigned* masks, const float* row_lz, const float* row_w,
                            const int* row_t, int row0, int64_t n0) {
  constexpr float kLog2e = 1.44269504088896341f;
  for (int i = threadIdx.x; i < kRows * kTileItems; i += kThreads) {
    const int r = i / kTileItems, c = i % kTileItems;
    const int64_t n = n0 + c;
    float g = 0.0f;
    const bool excluded = (masks[r * kMaskWords + c / 32] >> (c % 32)) & 1u;
    if (row0 + r < p.scan.rows && n < p.scan.count && !excluded) {
      float s = S[r * kScoreStride + c];
      if (p.scan.bias) s = s + p.scan.bias[n];
      const float x = (s - row_lz[r]) * kLog2e;
      const float e = isnan(x) ? x : exp2f(fminf(0.0f, x));  // fminf(0, NaN) would be 0: NaN kept by hand
      g = e * row_w[r];
      if (row_t[r] == n) g = g - row_w[r];
    }
    S[r * kScoreStride + c] = g;
  }
}

// Loads the rows' logZ, weight and target for a row tile into shared memory.
__device__ void load_rows(const XentParams& p, int row0, float* lz, float* w, int* t) {
  for (int r = threadIdx.x; r < kRows; r += kThreads) {
    const int row = row0 + r;
    const bool live = row < p.scan.rows;
    lz[r] = live ? p.log_z[row] : 0.0f;
    w[r] = live ? p.weight[row] : 0.0f;
    t[r] = live ? p.target[row] : -1;
  }
}

// G of one (row tile, item tile) in S, as both backward kernels need it: the tile's exclusion masks,
// its scores (recomputed exactly as the forward pass did), then G. Every thread of the block calls
// it; the row tile's logZ, weights and targets are loaded (load_rows) and the previous readers of S
// and the stage are done (the caller's __syncthreads()).
template <bool kBf16>
__device__ void tile_g(const XentParams& p, unsigned char* smem, float* S, unsigned* masks, const float* row_lz,
                       const float* row_w, const int* row_t, int row0, int64_t n0) {
  if (threadIdx.x < kRows) tile_mask(p, row0 + threadIdx.x, n0, masks + threadIdx.x * kMaskWords);
  if constexpr (kBf16) tile_scores_bf16(p.scan, smem, row0, n0, S);
  else tile_scores_fp32(p.scan, smem, row0, n0, S);
  __syncthreads();
  scores_to_g(p, S, masks, row_lz, row_w, row_t, row0, n0);
}

// Item j of row `item` of the table as float32 (bf16 tables: widened exactly).
template <bool kBf16>
__device__ __forceinline__ float item_value(const XentParams& p, int64_t item, int j) {
  if constexpr (kBf16) return __bfloat162float(p.scan.items_h[item * p.scan.dpad + j]);
  else return p.scan.items[item * p.scan.dim + j];
}

template <bool kBf16>
__device__ __forceinline__ float query_value(const XentParams& p, int row, int j) {
  if constexpr (kBf16) return __bfloat162float(p.scan.queries_h[static_cast<int64_t>(row) * p.scan.dpad + j]);
  else return p.scan.queries[static_cast<int64_t>(row) * p.scan.dim + j];
}

// dQ partial of a (64-row tile, item split): per item tile, G times the tile's E, a chunk of 32
// dimensions at a time. Thread (ty, tx) owns rows ty*2..+2 and dimensions tx*4..+4 of the chunk, in
// registers: per 4 items, 2 + 4 16-byte shared loads feed 32 FMAs. Per output the items of a tile
// are summed in order from 0, and each tile's sum is added to the partial in tile order.
template <bool kBf16>
__global__ void __launch_bounds__(kThreads, 2) xent_dq_kernel(XentParams p) {
  extern __shared__ __align__(128) unsigned char smem[];
  const XentShared layout;
  float* S = reinterpret_cast<float*>(smem);
  unsigned* masks = reinterpret_cast<unsigned*>(smem + layout.masks);
  float* stage = reinterpret_cast<float*>(smem + layout.stage);  // kTileItems x kDqDims
  float* row_lz = reinterpret_cast<float*>(smem + layout.rows);
  float* row_w = row_lz + kRows;
  int* row_t = reinterpret_cast<int*>(row_w + kRows);
  const int tid = threadIdx.x, ty = tid / 8, tx = tid % 8;
  const int row0 = blockIdx.x * kRows;
  const int split = blockIdx.y;
  const int64_t begin = split * p.split_items;
  const int64_t end = min(p.scan.count, begin + p.split_items);
  const int dim = p.scan.dim;
  float* out = p.dq_part + (static_cast<int64_t>(split) * p.scan.rows + row0) * dim;  // row r of the tile: out + r * dim
  for (int r = ty * 2; r < ty * 2 + 2; ++r)
    if (row0 + r < p.scan.rows)
      for (int j0 = 0; j0 < dim; j0 += kDqDims)
        for (int k = 0; k < 4; ++k)
          if (j0 + tx * 4 + k < dim) out[r * dim + j0 + tx * 4 + k] = 0.0f;
  if (begin >= end) return;  // uniform across the block
  load_rows(p, row0, row_lz, row_w, row_t);

  for (int64_t n0 = begin; n0 < end; n0 += kTileItems) {
    __syncthreads();  // the previous tile's readers are done with S (G) and the stage
    tile_g<kBf16>(p, smem, S, masks, row_lz, row_w, row_t, row0, n0);
    for (int j0 = 0; j0 < dim; j0 += kDqDims) {
      __syncthreads();  // G is complete; the stage is free
      for (int i = tid; i < kTileItems * kDqDims; i += kThreads) {
        const int c = i / kDqDims, j = i % kDqDims;
        const int64_t n = n0 + c;
        stage[i] = (n < p.scan.count && j0 + j < dim) ? item_value<kBf16>(p, n, j0 + j) : 0.0f;
      }
      __syncthreads();
      float acc[2][4];
#pragma unroll
      for (int r = 0; r < 2; ++r)
#pragma unroll
        for (int k = 0; k < 4; ++k) acc[r][k] = 0.0f;
#pragma unroll 2
      for (int c = 0; c < kTileItems; c += 4) {
        const float4 g0 = *reinterpret_cast<const float4*>(S + (ty * 2) * kScoreStride + c);
        const float4 g1 = *reinterpret_cast<const float4*>(S + (ty * 2 + 1) * kScoreStride + c);
        const float gv[2][4] = {{g0.x, g0.y, g0.z, g0.w}, {g1.x, g1.y, g1.z, g1.w}};
#pragma unroll
        for (int cc = 0; cc < 4; ++cc) {
          const float4 e = *reinterpret_cast<const float4*>(stage + (c + cc) * kDqDims + tx * 4);
          const float ev[4] = {e.x, e.y, e.z, e.w};
#pragma unroll
          for (int r = 0; r < 2; ++r)
#pragma unroll
            for (int k = 0; k < 4; ++k) acc[r][k] = __fmaf_rn(gv[r][cc], ev[k], acc[r][k]);
        }
      }
#pragma unroll
      for (int r = 0; r < 2; ++r)
        if (row0 + ty * 2 + r < p.scan.rows)
#pragma unroll
          for (int k = 0; k < 4; ++k)
            if (j0 + tx * 4 + k < dim) out[(ty * 2 + r) * dim + j0 + tx * 4 + k] += acc[r][k];
    }
  }
}

// dQ of each row: its split partials added in split order, in double.
__global__ void xent_dq_merge(const float* dq_part, int splits, int rows, int dim, float* dq) {
  const int64_t total = static_cast<int64_t>(rows) * dim;
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < total;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    double s = 0.0;
    for (int k = 0; k < splits; ++k) s += dq_part[static_cast<int64_t>(k) * total + i];
    dq[i] = static_cast<float>(s);
  }
}

// dE and dBias of a 128-item tile: per row tile in order, G^T times the tile's Q, a chunk of 64
// dimensions at a time. Thread (ti, tj) owns items ti*8..+8 and dimensions tj*4..+4 of the chunk:
// per row three 16-byte shared loads feed 32 FMAs. Per output the rows of a tile are summed in
// order from 0, and each tile's sum is added to dE in row-tile order.
template <bool kBf16>
__global__ void __launch_bounds__(kThreads, 2) xent_de_kernel(XentParams p) {
  extern __shared__ __align__(128) unsigned char smem[];
  const XentShared layout;
  float* S = reinterpret_cast<float*>(smem);
  unsigned* masks = reinterpret_cast<unsigned*>(smem + layout.masks);
  float* stage = reinterpret_cast<float*>(smem + layout.stage);  // kRows x kDeDims
  float* row_lz = reinterpret_cast<float*>(smem + layout.rows);
  float* row_w = row_lz + kRows;
  int* row_t = reinterpret_cast<int*>(row_w + kRows);
  const int tid = threadIdx.x, ti = tid / 16, tj = tid % 16;
  const int64_t n0 = static_cast<int64_t>(blockIdx.x) * kTileItems;
  const int dim = p.scan.dim;
  float bias_sum = 0.0f;  // threads tid < kTileItems: item n0 + tid's dBias, rows in order

  for (int row0 = 0; row0 < p.scan.rows; row0 += kRows) {
    __syncthreads();
    load_rows(p, row0, row_lz, row_w, row_t);
    tile_g<kBf16>(p, smem, S, masks, row_lz, row_w, row_t, row0, n0);
    __syncthreads();
    if (p.db && tid < kTileItems)
      for (int r = 0; r < kRows; ++r) bias_sum += S[r * kScoreStride + tid];
    if (!p.de) continue;
    for (int j0 = 0; j0 < dim; j0 += kDeDims) {
      __syncthreads();  // the previous chunk's readers are done with the stage
      for (int i = tid; i < kRows * kDeDims; i += kThreads) {
        const int r = i / kDeDims, j = i % kDeDims;
        stage[i] = (row0 + r < p.scan.rows && j0 + j < dim) ? query_value<kBf16>(p, row0 + r, j0 + j) : 0.0f;
      }
      __syncthreads();
      float acc[8][4];
#pragma unroll
      for (int i = 0; i < 8; ++i)
#pragma unroll
        for (int k = 0; k < 4; ++k) acc[i][k] = 0.0f;
#pragma unroll 4
      for (int r = 0; r < kRows; ++r) {
        const float4 g0 = *reinterpret_cast<const float4*>(S + r * kScoreStride + ti * 8);
        const float4 g1 = *reinterpret_cast<const float4*>(S + r * kScoreStride + ti * 8 + 4);
        const float4 q = *reinterpret_cast<const float4*>(stage + r * kDeDims + tj * 4);
        const float gv[8] = {g0.x, g0.y, g0.z, g0.w, g1.x, g1.y, g1.z, g1.w};
        const float qv[4] = {q.x, q.y, q.z, q.w};
#pragma unroll
        for (int i = 0; i < 8; ++i)
#pragma unroll
          for (int k = 0; k < 4; ++k) acc[i][k] = __fmaf_rn(gv[i], qv[k], acc[i][k]);
      }
#pragma unroll
      for (int i = 0; i < 8; ++i) {
        const int64_t item = n0 + ti * 8 + i;
        if (item < p.scan.count)
#pragma unroll
          for (int k = 0; k < 4; ++k)
            if (j0 + tj * 4 + k < dim) p.de[item * dim + j0 + tj * 4 + k] += acc[i][k];
      }
    }
  }
  if (p.db && tid < kTileItems && n0 + tid < p.scan.count) p.db[n0 + tid] = bias_sum;
}

}  // namespace

XentStats DeviceTable::cross_entropy(const XentRequest& req, const XentResult& res) {
  XentStats stats;
  const int64_t rows = req.rows;
  if (rows <= 0) return stats;
  if (!req.targets) throw std::invalid_argument("cross_entropy needs targets");
  Impl& m = *impl_;
  const int64_t count = m.count, dim = m.dim;
  std::fill(res.loss, res.loss + rows, 0.0f);
  std::fill(res.grad_queries, res.grad_queries + rows * dim, 0.0f);
  auto zero_grads = [&] {
    if (!res.assign_grads) return;
    if (res.grad_items) std::fill(res.grad_items, res.grad_items + count * dim, 0.0f);
    if (res.grad_bias) std::fill(res.grad_bias, res.grad_bias + count, 0.0f);
  };

  // Pass 1: search() over the rows with a target, in order.
  std::vector<int64_t> searched;
  for (int64_t b = 0; b < rows; ++b)
    if (req.targets[b] >= 0) searched.push_back(b);
  const int64_t n_searched = static_cast<int64_t>(searched.size());
  if (n_searched == 0) {
    zero_grads();
    return stats;
  }
  std::vector<float> s_queries(static_cast<size_t>(n_searched * dim));
  std::vector<int32_t> s_targets(static_cast<size_t>(n_searched)), s_offsets, s_ids;
  if (req.exclude_offsets) s_offsets.assign(1, 0);
  for (int64_t i = 0; i < n_searched; ++i) {
    const int64_t b = searched[static_cast<size_t>(i)];
    std::memcpy(s_queries.data() + i * dim, req.queries + b * dim, sizeof(float) * static_cast<size_t>(dim));
    s_targets[static_cast<size_t>(i)] = req.targets[b];
    if (req.exclude_offsets) {
      s_ids.insert(s_ids.end(), req.exclude_ids + req.exclude_offsets[b], req.exclude_ids + req.exclude_offsets[b + 1]);
      s_offsets.push_back(static_cast<int32_t>(s_ids.size()));
    }
  }
  std::vector<int32_t> top_id(static_cast<size_t>(n_searched)), rank(static_cast<size_t>(n_searched));
  std::vector<float> top_score(static_cast<size_t>(n_searched)), log_z(static_cast<size_t>(n_searched)),
      log_prob(static_cast<size_t>(n_searched));
  SearchRequest sr;
  sr.queries = s_queries.data();
  sr.rows = n_searched;
  sr.k = 1;
  sr.exclude_offsets = req.exclude_offsets ? s_offsets.data() : nullptr;
  sr.exclude_ids = req.exclude_offsets ? s_ids.data() : nullptr;
  sr.targets = s_targets.data();
  sr.bias = req.bias;
  SearchResult so;
  so.ids = top_id.data();
  so.scores = top_score.data();
  so.log_z = log_z.data();
  so.target_rank = rank.data();
  so.target_log_prob = log_prob.data();
  search(sr, so);

  // The rows that contribute a gradient (weight != 0, loss other than +Infinity), compacted.
  std::vector<int64_t> active;
  std::vector<float> a_queries, a_lz, a_w;
  std::vector<int32_t> a_t, a_off(1, 0), a_ids;
  for (int64_t i = 0; i < n_searched; ++i) {
    const int64_t b = searched[static_cast<size_t>(i)];
    const float loss = -log_prob[static_cast<size_t>(i)];
    res.loss[b] = loss;
    const float w = req.row_weights ? req.row_weights[b] : 1.0f;
    if (w == 0.0f || loss == INFINITY) continue;
    active.push_back(b);
    a_queries.insert(a_queries.end(), req.queries + b * dim, req.queries + (b + 1) * dim);
    a_lz.push_back(std::isnan(loss) ? NAN : log_z[static_cast<size_t>(i)]);
    a_w.push_back(w);
    a_t.push_back(req.targets[b]);
    if (req.exclude_offsets) {
      const size_t start = a_ids.size();
      a_ids.insert(a_ids.end(), req.exclude_ids + req.exclude_offsets[b], req.exclude_ids + req.exclude_offsets[b + 1]);
      std::sort(a_ids.begin() + static_cast<std::ptrdiff_t>(start), a_ids.end());  // the kernels walk them in id order
      a_off.push_back(static_cast<int32_t>(a_ids.size()));
    }
  }
  const int64_t n = static_cast<int64_t>(active.size());
  if (n == 0) {
    zero_grads();
    return stats;
  }
  if (n > INT_MAX - kRows) throw std::invalid_argument("too many rows for one cross_entropy call on the GPU");

  // Pass 2.
  std::lock_guard<std::mutex> lock(m.mutex);
  m.activate();
  cudaStream_t s = m.stream;
  const bool bf16 = m.precision == Precision::Bf16;
  const int rows_n = static_cast<int>(n);
  const int rows_padded = (rows_n + kRows - 1) / kRows * kRows;
  const int row_tiles = rows_padded / kRows;
  const int64_t item_tiles = (count + kTileItems - 1) / kTileItems;
  const int splits = static_cast<int>(std::max<int64_t>(1, std::min<int64_t>(item_tiles, (2 * m.multiprocessors + row_tiles - 1) / row_tiles)));
  const int64_t split_items = (item_tiles + splits - 1) / splits * kTileItems;
  const bool want_de = res.grad_items != nullptr, want_db = res.grad_bias != nullptr;

  m.x_queries.reserve(static_cast<size_t>(n * dim));
  CUDA_CHECK(cudaMemcpyAsync(m.x_queries.ptr, a_queries.data(), sizeof(float) * a_queries.size(), cudaMemcpyHostToDevice, s));
  if (bf16) {
    m.x_queries_h.reserve(static_cast<size_t>(rows_padded) * m.dpad);
    to_bf16_rows<<<grid_for(int64_t{rows_padded} * m.dpad), 256, 0, s>>>(m.x_queries.ptr, n, m.dim, rows_padded, m.dpad, m.x_queries_h.ptr);
    CUDA_CHECK(cudaGetLastError());
  }
  m.x_rows_f.reserve(static_cast<size_t>(2 * n));
  m.x_rows_i.reserve(static_cast<size_t>(n));
  CUDA_CHECK(cudaMemcpyAsync(m.x_rows_f.ptr, a_lz.data(), sizeof(float) * n, cudaMemcpyHostToDevice, s));
  CUDA_CHECK(cudaMemcpyAsync(m.x_rows_f.ptr + n, a_w.data(), sizeof(float) * n, cudaMemcpyHostToDevice, s));
  CUDA_CHECK(cudaMemcpyAsync(m.x_rows_i.ptr, a_t.data(), sizeof(int32_t) * n, cudaMemcpyHostToDevice, s));
  if (req.exclude_offsets) {
    m.x_ex_off.reserve(a_off.size());
    m.x_ex_ids.reserve(std::max<size_t>(1, a_ids.size()));
    CUDA_CHECK(cudaMemcpyAsync(m.x_ex_off.ptr, a_off.data(), sizeof(int32_t) * a_off.size(), cudaMemcpyHostToDevice, s));
    if (!a_ids.empty())
      CUDA_CHECK(cudaMemcpyAsync(m.x_ex_ids.ptr, a_ids.data(), sizeof(int32_t) * a_ids.size(), cudaMemcpyHostToDevice, s));
  }
  if (req.bias) {
    m.bias.reserve(static_cast<size_t>(count));
    CUDA_CHECK(cudaMemcpyAsync(m.bias.ptr, req.bias, sizeof(float) * count, cudaMemcpyHostToDevice, s));
  }
  m.x_dq_part.reserve(static_cast<size_t>(splits) * n * dim);
  m.x_dq.reserve(static_cast<size_t>(n * dim));
  if (want_de) {
    m.x_de.reserve(static_cast<size_t>(count * dim));
    CUDA_CHECK(cudaMemsetAsync(m.x_de.ptr, 0, sizeof(float) * count * dim, s));
  }
  if (want_db) m.x_db.reserve(static_cast<size_t>(count));

  XentParams p{};
  p.scan.items = m.items.ptr;
  p.scan.items_h = m.items_h.ptr;
  p.scan.count = count;
  p.scan.dim = m.dim;
  p.scan.dpad = m.dpad;
  p.scan.queries = m.x_queries.ptr;
  p.scan.queries_h = m.x_queries_h.ptr;
  p.scan.rows = rows_n;
  p.scan.bias = req.bias ? m.bias.ptr : nullptr;
  p.log_z = m.x_rows_f.ptr;
  p.weight = m.x_rows_f.ptr + n;
  p.target = m.x_rows_i.ptr;
  p.ex_off = req.exclude_offsets ? m.x_ex_off.ptr : nullptr;
  p.ex_ids = m.x_ex_ids.ptr;
  p.splits = splits;
  p.split_items = split_items;
  p.dq_part = m.x_dq_part.ptr;
  p.de = want_de ? m.x_de.ptr : nullptr;
  p.db = want_db ? m.x_db.ptr : nullptr;

  const XentShared layout;
  auto dq_kernel = bf16 ? xent_dq_kernel<true> : xent_dq_kernel<false>;
  CUDA_CHECK(cudaFuncSetAttribute(dq_kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, static_cast<int>(layout.total)));
  dq_kernel<<<dim3(row_tiles, splits), kThreads, layout.total, s>>>(p);
  CUDA_CHECK(cudaGetLastError());
  xent_dq_merge<<<grid_for(n * dim), 256, 0, s>>>(m.x_dq_part.ptr, splits, rows_n, m.dim, m.x_dq.ptr);
  CUDA_CHECK(cudaGetLastError());
  if (want_de || want_db) {
    auto de_kernel = bf16 ? xent_de_kernel<true> : xent_de_kernel<false>;
    CUDA_CHECK(cudaFuncSetAttribute(de_kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, static_cast<int>(layout.total)));
    de_kernel<<<static_cast<unsigned>(item_tiles), kThreads, layout.total, s>>>(p);
    CUDA_CHECK(cudaGetLastError());
  }

  std::vector<float> dq(static_cast<size_t>(n * dim));
  CUDA_CHECK(cudaMemcpyAsync(dq.data(), m.x_dq.ptr, sizeof(float) * dq.size(), cudaMemcpyDeviceToHost, s));
  // Gradients to be written go straight into the caller's buffers (the N-API glue's reused ones);
  // only gradients to be added to pass through host copies. At Clothing scale a fresh 96 MB copy
  // and its page faults cost more than the kernels.
  const bool direct = res.assign_grads;
  std::vector<float> de(want_de && !direct ? static_cast<size_t>(count * dim) : 0), db(want_db && !direct ? static_cast<size_t>(count) : 0);
  if (want_de)
    CUDA_CHECK(cudaMemcpyAsync(direct ? res.grad_items : de.data(), m.x_de.ptr, sizeof(float) * count * dim, cudaMemcpyDeviceToHost, s));
  if (want_db) CUDA_CHECK(cudaMemcpyAsync(direct ? res.grad_bias : db.data(), m.x_db.ptr, sizeof(float) * count, cudaMemcpyDeviceToHost, s));
  CUDA_CHECK(cudaStreamSynchronize(s));
  for (int64_t i = 0; i < n; ++i)
    std::memcpy(res.grad_queries + active[static_cast<size_t>(i)] * dim, dq.data() + i * dim, sizeof(float) * static_cast<size_t>(dim));
  for (size_t i = 0; i < de.size(); ++i) res.grad_items[i] += de[i];
  for (size_t i = 0; i < db.size(); ++i) res.grad_bias[i] += db[i];
  // Device scratch of pass 2 (the table's reusable buffers) and the host copies.
  stats.scratch_bytes = static_cast<int64_t>(sizeof(float)) * (n * dim * (splits + 2) + 3 * n + (want_de ? count * dim : 0) +
                                                                (want_db ? count : 0) + static_cast<int64_t>(de.size() + db.size())) +
                        static_cast<int64_t>(sizeof(int32_t)) * static_cast<int64_t>(a_off.size() + a_ids.size());
  return stats;
}

void DeviceTable::set_items(const float* items) {
  Impl& m = *impl_;
  std::lock_guard<std::mutex> lock(m.mutex);
  m.activate();
  const size_t n = static_cast<size_t>(m.count) * m.dim;
  if (m.precision == Precision::Fp32) {
    CUDA_CHECK(cudaMemcpyAsync(m.items.ptr, items, n * sizeof(float), cudaMemcpyHostToDevice, m.stream));
  } else {
    Buffer<float> staging;  // the float32 values, rounded on the device as at creation
    staging.reserve(n);
    CUDA_CHECK(cudaMemcpyAsync(staging.ptr, items, n * sizeof(float), cudaMemcpyHostToDevice, m.stream));
    to_bf16_rows<<<grid_for(m.count * m.dpad), 256, 0, m.stream>>>(staging.ptr, m.count, m.dim, m.count, m.dpad, m.items_h.ptr);
    CUDA_CHECK(cudaGetLastError());
    CUDA_CHECK(cudaStreamSynchronize(m.stream));  // before the staging buffer goes
  }
  CUDA_CHECK(cudaStreamSynchronize(m.stream));
}

}  // namespace regen::cuda
