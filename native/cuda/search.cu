// The fused scoring engine on a GPU, host side (API and semantics: regen/search_cuda.h,
// regen/search.h): device listing, table upload, and the planning of each search (row chunks,
// item splits, exclusion bitmasks) around the kernels of scan_kernels.cuh.
#include "cuda/scan_kernels.cuh"
#include "cuda/device_table.cuh"

namespace regen::cuda {

DeviceStatus query_devices() {
  DeviceStatus st;
  cudaRuntimeGetVersion(&st.runtime_version);
  if (cudaDriverGetVersion(&st.driver_version) != cudaSuccess) st.driver_version = 0;
  int n = 0;
  const cudaError_t e = cudaGetDeviceCount(&n);
  if (e != cudaSuccess) {
    st.error = st.driver_version == 0 ? std::string("no NVIDIA driver found (libcuda.so.1 could not be loaded)")
                                      : std::string("the CUDA driver reports: ") + cudaGetErrorString(e);
    cudaGetLastError();
    return st;
  }
  if (n == 0) st.error = "the NVIDIA driver is loaded but reports no CUDA device";
  for (int i = 0; i < n; ++i) {
    cudaDeviceProp prop{};
    if (cudaGetDeviceProperties(&prop, i) != cudaSuccess) continue;
    DeviceInfo d;
    d.index = i;
    d.name = prop.name;
    d.major = prop.major;
    d.minor = prop.minor;
    d.memory_bytes = static_cast<int64_t>(prop.totalGlobalMem);
    d.multiprocessors = prop.multiProcessorCount;
    st.devices.push_back(d);
  }
  return st;
}


DeviceTable::DeviceTable(int device, const float* items, int64_t count, int32_t dim, Precision precision)
    : impl_(std::make_unique<Impl>()) {
  Impl& m = *impl_;
  m.device = device;
  m.count = count;
  m.dim = dim;
  m.dpad = (dim + kChunkDims - 1) / kChunkDims * kChunkDims;
  m.precision = precision;
  if (count <= 0 || dim <= 0) throw std::invalid_argument("an item table needs at least one item and one dimension");
  if (count > INT_MAX - kTileItems) throw std::invalid_argument("too many items for int32 ids");
  m.activate();
  cudaDeviceProp prop{};
  CUDA_CHECK(cudaGetDeviceProperties(&prop, device));
  if (precision == Precision::Bf16 && prop.major < 8)
    throw std::runtime_error(std::string("bf16 tables need a GPU of compute capability 8.0 or newer; ") + prop.name +
                             " is " + std::to_string(prop.major) + "." + std::to_string(prop.minor) +
                             ". Use precision 'fp32'.");
  m.multiprocessors = prop.multiProcessorCount;
  m.max_shared = prop.sharedMemPerBlockOptin;
  CUDA_CHECK(cudaStreamCreateWithFlags(&m.stream, cudaStreamNonBlocking));
  const size_t n = static_cast<size_t>(count) * dim;
  m.items.reserve(n);
  CUDA_CHECK(cudaMemcpyAsync(m.items.ptr, items, n * sizeof(float), cudaMemcpyHostToDevice, m.stream));
  if (precision == Precision::Bf16) {
    m.items_h.reserve(static_cast<size_t>(count) * m.dpad);
    to_bf16_rows<<<grid_for(count * m.dpad), 256, 0, m.stream>>>(m.items.ptr, count, dim, count, m.dpad, m.items_h.ptr);
    CUDA_CHECK(cudaGetLastError());
  }
  CUDA_CHECK(cudaStreamSynchronize(m.stream));
  if (precision == Precision::Bf16) {  // the float32 copy is not needed any more
    cudaFree(m.items.ptr);
    m.items.ptr = nullptr;
    m.items.size = 0;
  }
}

DeviceTable::~DeviceTable() = default;

int32_t DeviceTable::max_k() const {
  const size_t fixed = SharedLayout(0).total, per_k = SharedLayout(1).total - fixed;
  if (impl_->max_shared <= fixed) return 0;
  return static_cast<int32_t>(std::min<size_t>(kMaxK, (impl_->max_shared - fixed) / per_k));
}

int DeviceTable::device() const { return impl_->device; }
int64_t DeviceTable::count() const { return impl_->count; }
int32_t DeviceTable::dim() const { return impl_->dim; }
Precision DeviceTable::precision() const { return impl_->precision; }
int64_t DeviceTable::bytes() const {
  return impl_->precision == Precision::Bf16 ? impl_->count * impl_->dpad * 2 : impl_->count * impl_->dim * 4;
}

void DeviceTable::Impl::run_chunk(const SearchRequest& req, const SearchResult& res, int64_t first, int rows,
                                  int64_t bias_ready) {
  const bool bf16 = precision == Precision::Bf16;
  const int k = req.k;
  const int rows_padded = (rows + kRows - 1) / kRows * kRows;
  cudaStream_t s = stream;

  queries.reserve(static_cast<size_t>(rows) * dim);
  CUDA_CHECK(cudaMemcpyAsync(queries.ptr, req.queries + first * dim, sizeof(float) * rows * dim, cudaMemcpyHostToDevice, s));
  if (bf16) {
    queries_h.reserve(static_cast<size_t>(rows_padded) * dpad);
    to_bf16_rows<<<grid_for(int64_t{rows_padded} * dpad), 256, 0, s>>>(queries.ptr, rows, dim, rows_padded, dpad, queries_h.ptr);
    CUDA_CHECK(cudaGetLastError());
  }

  // Exclusions of these rows, rebased; the scan walks each row's list in id order. Short rows are
  // sorted on the device (history lists come in purchase order); the rare long unsorted row on the host.
  const bool have_ex = req.exclude_offsets != nullptr;
  if (have_ex) {
    const int32_t base = req.exclude_offsets[first];
    const int64_t total = req.exclude_offsets[first + rows] - base;
    std::vector<int32_t> off(static_cast<size_t>(rows) + 1);
    for (int r = 0; r <= rows; ++r) off[static_cast<size_t>(r)] = req.exclude_offsets[first + r] - base;
    const int32_t* ids = req.exclude_ids + base;
    std::vector<int32_t> sorted;  // a copy, only when some long row needs the host's sort
    for (int r = 0; r < rows; ++r) {
      const int32_t lo = off[static_cast<size_t>(r)], hi = off[static_cast<size_t>(r) + 1];
      if (hi - lo <= kDeviceSortMax || std::is_sorted(ids + lo, ids + hi)) continue;
      if (sorted.empty()) sorted.assign(ids, ids + total);
      std::sort(sorted.begin() + lo, sorted.begin() + hi);
    }
    if (!sorted.empty()) ids = sorted.data();
    ex_off.reserve(off.size());
    ex_ids.reserve(static_cast<size_t>(total));
    CUDA_CHECK(cudaMemcpyAsync(ex_off.ptr, off.data(), sizeof(int32_t) * off.size(), cudaMemcpyHostToDevice, s));
    if (total > 0) {
      CUDA_CHECK(cudaMemcpyAsync(ex_ids.ptr, ids, sizeof(int32_t) * total, cudaMemcpyHostToDevice, s));
      sort_short_rows<<<(rows + 255) / 256, 256, 0, s>>>(ex_off.ptr, ex_ids.ptr, rows);
      CUDA_CHECK(cudaGetLastError());
    }
    CUDA_CHECK(cudaStreamSynchronize(s));  // the host vectors go out of scope
  }
  const float* bias_ptr = bias_ready ? bias.ptr : nullptr;
  if (req.targets) {
    targets.reserve(rows);
    target_score.reserve(rows);
    CUDA_CHECK(cudaMemcpyAsync(targets.ptr, req.targets + first, sizeof(int32_t) * rows, cudaMemcpyHostToDevice, s));
    if (bf16)
      pair_scores_bf16<<<(rows + 16 * kWarps - 1) / (16 * kWarps), kThreads, 0, s>>>(queries_h.ptr, dpad, items_h.ptr, dpad,
                                                                                   targets.ptr, rows, bias_ptr, target_score.ptr);
    else
      pair_scores_fp32<<<(rows + 255) / 256, 256, 0, s>>>(queries.ptr, dim, items.ptr, dim, targets.ptr, rows, bias_ptr,
                                                         target_score.ptr);
    CUDA_CHECK(cudaGetLastError());
  }

  // Splits of the items: enough blocks to fill the device a few times over.
  const SharedLayout layout(k);
  if (layout.total > max_shared)
    throw std::runtime_error("k = " + std::to_string(k) + " needs more shared memory than this GPU offers per block");
  auto kernel = bf16 ? scan_kernel<true> : scan_kernel<false>;
  CUDA_CHECK(cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, static_cast<int>(layout.total)));
  int per_sm = 1;
  CUDA_CHECK(cudaOccupancyMaxActiveBlocksPerMultiprocessor(&per_sm, kernel, kThreads, layout.total));
  const int row_tiles = rows_padded / kRows;
  const int64_t tiles = (count + kTileItems - 1) / kTileItems;
  // Fill every block slot, and keep the last wave nearly full: the fewest splits (each costs a
  // warm-up and a list to merge) within 5% of the best wave efficiency.
  const int64_t slots = int64_t{multiprocessors} * std::max(per_sm, 1);
  const int64_t least = std::min<int64_t>(tiles, std::max<int64_t>(1, (slots + row_tiles - 1) / row_tiles));
  const int64_t most = std::min<int64_t>({tiles, 65535, least * 16});
  auto efficiency = [&](int64_t n) {
    const int64_t blocks = n * row_tiles;
    return static_cast<double>(blocks) / (static_cast<double>((blocks + slots - 1) / slots) * slots);
  };
  double best = 0.0;
  for (int64_t n = least; n <= most; ++n) best = std::max(best, efficiency(n));
  int64_t chosen = least;
  while (efficiency(chosen) < best - 0.05) ++chosen;
  int splits = static_cast<int>(chosen);
  const int64_t split_items = (tiles + splits - 1) / splits * kTileItems;
  splits = static_cast<int>((count + split_items - 1) / split_items);

  const size_t parts = static_cast<size_t>(splits) * rows;
  p_shift.reserve(parts);
  p_sum.reserve(parts);
  p_flags.reserve(parts);
  p_count.reserve(parts);
  p_scores.reserve(parts * k);
  p_ids.reserve(parts * k);

  ScanParams sp{};
  sp.items = items.ptr;
  sp.items_h = items_h.ptr;
  sp.count = count;
  sp.dim = dim;
  sp.dpad = dpad;
  sp.queries = queries.ptr;
  sp.queries_h = queries_h.ptr;
  sp.rows = rows;
  sp.bias = bias_ptr;
  sp.scale = req.temperature == 1.0f ? kLog2e : static_cast<float>(1.4426950408889634074 / req.temperature);
  sp.ex_off = have_ex ? ex_off.ptr : nullptr;
  sp.ex_ids = ex_ids.ptr;
  sp.targets = req.targets ? targets.ptr : nullptr;
  sp.target_score = target_score.ptr;
  sp.k = k;
  sp.splits = splits;
  sp.split_items = split_items;
  sp.p_shift = p_shift.ptr;
  sp.p_sum = p_sum.ptr;
  sp.p_flags = p_flags.ptr;
  sp.p_count = p_count.ptr;
  sp.p_scores = p_scores.ptr;
  sp.p_ids = p_ids.ptr;
  kernel<<<dim3(row_tiles, splits), kThreads, layout.total, s>>>(sp);
  CUDA_CHECK(cudaGetLastError());

  ids.reserve(static_cast<size_t>(rows) * k);
  scores.reserve(static_cast<size_t>(rows) * k);
  log_z.reserve(rows);
  if (req.targets) {
    target_rank.reserve(rows);
    target_log_prob.reserve(rows);
  }
  MergeParams mp{};
  mp.rows = rows;
  mp.k = k;
  mp.splits = splits;
  mp.temperature = req.temperature;
  mp.p_shift = p_shift.ptr;
  mp.p_sum = p_sum.ptr;
  mp.p_flags = p_flags.ptr;
  mp.p_count = p_count.ptr;
  mp.p_scores = p_scores.ptr;
  mp.p_ids = p_ids.ptr;
  mp.targets = req.targets ? targets.ptr : nullptr;
  mp.target_score = target_score.ptr;
  mp.ex_off = sp.ex_off;
  mp.ex_ids = ex_ids.ptr;
  mp.ids = ids.ptr;
  mp.scores = scores.ptr;
  mp.log_z = log_z.ptr;
  mp.target_rank = target_rank.ptr;
  mp.target_log_prob = target_log_prob.ptr;
  const size_t merge_shared = static_cast<size_t>(kWarps) * k * (sizeof(float) + sizeof(int));
  merge_kernel<<<(rows + kWarps - 1) / kWarps, kThreads, merge_shared, s>>>(mp);
  CUDA_CHECK(cudaGetLastError());

  CUDA_CHECK(cudaMemcpyAsync(res.ids + first * k, ids.ptr, sizeof(int32_t) * rows * k, cudaMemcpyDeviceToHost, s));
  CUDA_CHECK(cudaMemcpyAsync(res.scores + first * k, scores.ptr, sizeof(float) * rows * k, cudaMemcpyDeviceToHost, s));
  CUDA_CHECK(cudaMemcpyAsync(res.log_z + first, log_z.ptr, sizeof(float) * rows, cudaMemcpyDeviceToHost, s));
  if (req.targets) {
    CUDA_CHECK(cudaMemcpyAsync(res.target_rank + first, target_rank.ptr, sizeof(int32_t) * rows, cudaMemcpyDeviceToHost, s));
    CUDA_CHECK(cudaMemcpyAsync(res.target_log_prob + first, target_log_prob.ptr, sizeof(float) * rows, cudaMemcpyDeviceToHost, s));
  }
  CUDA_CHECK(cudaStreamSynchronize(s));
}

void DeviceTable::search(const SearchRequest& req, const SearchResult& res) {
  if (req.rows <= 0) return;
  if (req.k < 1 || req.k > max_k())
    throw std::invalid_argument("the CUDA backend returns 1 to " + std::to_string(max_k()) + " items per row on this GPU (k = " +
                                std::to_string(req.k) + "; a decoding step asks for more when a top-p nucleus " +
                                "reaches past its candidates): use CPU tables for this");
  if (!(req.temperature > 0.0f) || std::isinf(req.temperature)) throw std::invalid_argument("temperature must be positive and finite");
  Impl& m = *impl_;
  std::lock_guard<std::mutex> lock(m.mutex);
  m.activate();
  if (req.bias) {
    m.bias.reserve(static_cast<size_t>(m.count));
    CUDA_CHECK(cudaMemcpyAsync(m.bias.ptr, req.bias, sizeof(float) * m.count, cudaMemcpyHostToDevice, m.stream));
  }
  // Row chunks bound the scratch memory (queries, per-split partials) whatever the batch size.
  const int64_t chunk = std::max<int64_t>(kRows, std::min<int64_t>(65536, (int64_t{1} << 28) / (int64_t{m.dim} * 4)) / kRows * kRows);
  for (int64_t first = 0; first < req.rows; first += chunk) {
    const int rows = static_cast<int>(std::min<int64_t>(chunk, req.rows - first));
    m.run_chunk(req, res, first, rows, req.bias ? 1 : 0);
  }
}

void DeviceTable::score_items(const float* query, const int32_t* ids, int64_t n, const float* bias, float* out) {
  if (n <= 0) return;
  Impl& m = *impl_;
  std::lock_guard<std::mutex> lock(m.mutex);
  m.activate();
  const bool bf16 = m.precision == Precision::Bf16;
  // n copies of the query, so each pair goes through the same arithmetic as a search row.
  std::vector<float> rows(static_cast<size_t>(n) * m.dim);
  for (int64_t i = 0; i < n; ++i) std::memcpy(rows.data() + i * m.dim, query, sizeof(float) * m.dim);
  const int64_t padded = (n + kRows - 1) / kRows * kRows;
  m.queries.reserve(rows.size());
  m.targets.reserve(static_cast<size_t>(n));
  m.target_score.reserve(static_cast<size_t>(n));
  CUDA_CHECK(cudaMemcpyAsync(m.queries.ptr, rows.data(), sizeof(float) * rows.size(), cudaMemcpyHostToDevice, m.stream));
  CUDA_CHECK(cudaMemcpyAsync(m.targets.ptr, ids, sizeof(int32_t) * n, cudaMemcpyHostToDevice, m.stream));
  if (bias) {
    m.bias.reserve(static_cast<size_t>(m.count));
    CUDA_CHECK(cudaMemcpyAsync(m.bias.ptr, bias, sizeof(float) * m.count, cudaMemcpyHostToDevice, m.stream));
  }
  const float* b = bias ? m.bias.ptr : nullptr;
  if (bf16) {
    m.queries_h.reserve(static_cast<size_t>(padded) * m.dpad);
    to_bf16_rows<<<grid_for(padded * m.dpad), 256, 0, m.stream>>>(m.queries.ptr, n, m.dim, padded, m.dpad, m.queries_h.ptr);
    pair_scores_bf16<<<static_cast<int>((n + 16 * kWarps - 1) / (16 * kWarps)), kThreads, 0, m.stream>>>(
        m.queries_h.ptr, m.dpad, m.items_h.ptr, m.dpad, m.targets.ptr, static_cast<int>(n), b, m.target_score.ptr);
  } else {
    pair_scores_fp32<<<static_cast<int>((n + 255) / 256), 256, 0, m.stream>>>(m.queries.ptr, m.dim, m.items.ptr, m.dim,
                                                                            m.targets.ptr, static_cast<int>(n), b,
                                                                            m.target_score.ptr);
  }
  CUDA_CHECK(cudaGetLastError());
  CUDA_CHECK(cudaMemcpyAsync(out, m.target_score.ptr, sizeof(float) * n, cudaMemcpyDeviceToHost, m.stream));
  CUDA_CHECK(cudaStreamSynchronize(m.stream));
}

}  // namespace regen::cuda

