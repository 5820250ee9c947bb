// The cross-entropy backward pass, written once over the SIMD traits `V` and included by each
// isa_*.cpp after scan_kernel.inl (in the same anonymous namespace: it reuses the scan's score
// tiles, so the recomputed scores are the search's own). Per tile of R vectors of rows (rows in
// lanes) and C items it
//   1. recomputes the scores (Products::tile, plus the bias),
//   2. turns them into G = w (exp(s - logZ) - [item = target]) lane-wise, 0 where excluded,
//   3. adds G E_tile into the unit's dQ partial (rows in lanes: one FMA per item and dimension),
//   4. adds G^T Q_block into grad_items (dimensions in lanes) and G's column sums into grad_bias.
// Every sum runs in a fixed order (items in order within a unit, row blocks in order), so the
// driver's results do not depend on which thread ran which unit.

constexpr float kXentLog2e = 1.44269504088896341f;

// The dE step keeps NI items x NV dimension vectors of grad_items in registers over a block's rows.
constexpr int kDeVectors = 4;
constexpr int kDeAccumulators = V::L >= 16 ? 24 : (V::L == 8 ? 8 : 16);

template <int C>
constexpr int de_items() {
  for (int ic = kDeAccumulators / kDeVectors; ic > 1; --ic)
    if (C % ic == 0) return ic;
  return 1;
}

// grad_items rows [0, NI) (stride dim, from `rows`), dimension vectors j0 .. j0 + NV: adds
// sum over slots of g[i][slot] * q[slot][j]. With kTail, the last vector may pass dim: it goes
// through a zero-padded copy (kept out of the common case, so its accumulators stay in registers).
template <int NI, int NV, bool kTail>
inline void de_block(const float* g, int64_t g_stride, const float* q, int64_t q_stride, int64_t slots, float* rows,
                     int64_t dim, int64_t j0) {
  using F = typename V::F;
  F a[NI][NV];
  alignas(64) float tail[NI][V::L];
  for (int i = 0; i < NI; ++i)
    for (int v = 0; v < NV; ++v) {
      const int64_t j = j0 + int64_t{v} * V::L;
      if (!kTail || j + V::L <= dim) {
        a[i][v] = V::load(rows + i * dim + j);
      } else {
        for (int l = 0; l < V::L; ++l) tail[i][l] = j + l < dim ? rows[i * dim + j + l] : 0.0f;
        a[i][v] = V::load(tail[i]);
      }
    }
  for (int64_t s = 0; s < slots; ++s) {
    F qv[NV];
    for (int v = 0; v < NV; ++v) qv[v] = V::load(q + s * q_stride + j0 + int64_t{v} * V::L);
    for (int i = 0; i < NI; ++i) {
      const F gv = V::bcast(g + i * g_stride + s);
      for (int v = 0; v < NV; ++v) a[i][v] = V::fma(gv, qv[v], a[i][v]);
    }
  }
  for (int i = 0; i < NI; ++i)
    for (int v = 0; v < NV; ++v) {
      const int64_t j = j0 + int64_t{v} * V::L;
      if (!kTail || j + V::L <= dim) {
        V::store(rows + i * dim + j, a[i][v]);
      } else {
        V::store(tail[i], a[i][v]);
        for (int l = 0; l < V::L && j + l < dim; ++l) rows[i * dim + j + l] = tail[i][l];
      }
    }
}

// NI items over every dimension vector: full groups of kDeVectors, then the remainder (the only
// group that can hold a partial vector).
template <int NI>
inline void de_items_all(const float* g, int64_t g_stride, const float* q, int64_t q_stride, int64_t slots,
                         float* rows, int64_t dim) {
  const int64_t full = dim / V::L, vectors = (dim + V::L - 1) / V::L;
  int64_t v0 = 0;
  for (; v0 + kDeVectors <= full; v0 += kDeVectors)
    de_block<NI, kDeVectors, false>(g, g_stride, q, q_stride, slots, rows, dim, v0 * V::L);
  switch (vectors - v0) {
    case 1: de_block<NI, 1, true>(g, g_stride, q, q_stride, slots, rows, dim, v0 * V::L); break;
    case 2: de_block<NI, 2, true>(g, g_stride, q, q_stride, slots, rows, dim, v0 * V::L); break;
    case 3: de_block<NI, 3, true>(g, g_stride, q, q_stride, slots, rows, dim, v0 * V::L); break;
    case 4: de_block<NI, 4, true>(g, g_stride, q, q_stride, slots, rows, dim, v0 * V::L); break;
    default: break;
  }
}

// Dimensions per block of the dQ step: R x kDqDims accumulators stay in registers.
constexpr int kDqDims = V::L >= 16 ? 8 : (V::L == 8 ? 4 : 4);

// dq (lane layout, dimension j at dq + j * R * L) += sum over the tile's items of G[c] e[c][j],
// for dimensions j0 .. j0 + J, items in order.
template <int R, int C, int J>
inline void dq_block(const float* g, int64_t g_stride, const float* e, int32_t dim, float* dq, int32_t j0) {
  using F = typename V::F;
  F a[R][J];
  for (int jj = 0; jj < J; ++jj)
    for (int r = 0; r < R; ++r) a[r][jj] = V::load(dq + (static_cast<int64_t>(j0 + jj) * R + r) * V::L);
  for (int c = 0; c < C; ++c) {
    F gv[R];
    for (int r = 0; r < R; ++r) gv[r] = V::load(g + c * g_stride + r * V::L);
    for (int jj = 0; jj < J; ++jj) {
      const F b = V::bcast(e + static_cast<int64_t>(c) * dim + j0 + jj);
      for (int r = 0; r < R; ++r) a[r][jj] = V::fma(gv[r], b, a[r][jj]);
    }
  }
  for (int jj = 0; jj < J; ++jj)
    for (int r = 0; r < R; ++r) V::store(dq + (static_cast<int64_t>(j0 + jj) * R + r) * V::L, a[r][jj]);
}

// bf16 tables: n items from `first` as float32 (exact: bfloat16 widens without rounding).
inline const float* decode_items(const ScanBatch& bt, float* out, int64_t first, int64_t n) {
  const int64_t padded = int64_t{bt.pairs} * 2;
  for (int64_t i = 0; i < n; ++i) {
    const uint16_t* src = bt.items_bf16 + (first + i) * padded;
    for (int32_t j = 0; j < bt.dim; ++j) {
      const uint32_t bits = static_cast<uint32_t>(src[j]) << 16;
      float f;
      __builtin_memcpy(&f, &bits, sizeof f);
      out[i * bt.dim + j] = f;
    }
  }
  return out;
}

// The gradient products of a tile in float32: dQ (rows in lanes, one FMA per item and dimension)
// and dE (dimensions in lanes, one FMA per row), from G stored item-major in state.g.
struct Fp32Grad {
  static constexpr bool kPairs = false;  // dE reads xb.q_rows (float rows)

  // p = 2^x for G: the engine's exp2 (relative error 2.1e-7).
  static typename V::F exp2(typename V::F x) { return V::exp2(x); }

  // The tile's items as float32 rows.
  static const void* prepare(const ScanBatch& bt, XentState& st, int64_t n0, int n) {
    return bt.items ? bt.items + n0 * bt.dim : decode_items(bt, st.e_f32, n0, n);
  }

  template <int R, int C>
  static void apply(const XentBatch& xb, XentState& st, int64_t block, const void* tile, typename V::F (&g)[R][C],
                    bool want_de) {
    const ScanBatch& bt = xb.scan;
    const float* e = static_cast<const float*>(tile);
    const int64_t g_stride = bt.block_rows;
    for (int c = 0; c < C; ++c)
      for (int r = 0; r < R; ++r) V::store(st.g + c * g_stride + r * V::L, g[r][c]);

    // dQ partial += G E_tile. Blocks of kDqDims dimensions keep R x kDqDims independent
    // accumulators in registers (one FMA chain per dimension would wait on its own latency).
    const int32_t dim = bt.dim;
    float* dq = st.dq + block * dim * bt.block_rows;
    int32_t j0 = 0;
    for (; j0 + kDqDims <= dim; j0 += kDqDims) dq_block<R, C, kDqDims>(st.g, g_stride, e, dim, dq, j0);
    for (; j0 < dim; ++j0) dq_block<R, C, 1>(st.g, g_stride, e, dim, dq, j0);

    // G^T for the dE step, which runs once the tile has met every row block.
    if (want_de) {
      const int64_t gt_stride = bt.row_blocks * bt.block_rows;
      for (int c = 0; c < C; ++c)
        for (int r = 0; r < R; ++r) V::store(st.gt + c * gt_stride + block * bt.block_rows + r * V::L, g[r][c]);
    }
  }

  // dE_tile += G^T Q over every live row of the batch, in order: one pass per tile, so each
  // accumulator is loaded and stored once per batch.
  template <int C>
  static void finish(const XentBatch& xb, XentState& st, int64_t n0, float* grad_items) {
    const ScanBatch& bt = xb.scan;
    const int64_t gt_stride = bt.row_blocks * bt.block_rows;
    constexpr int NI = de_items<C>();
    for (int c = 0; c < C; c += NI)
      de_items_all<NI>(st.gt + c * gt_stride, gt_stride, xb.q_rows, xb.q_stride, bt.rows, grad_items + (n0 + c) * bt.dim,
                       bt.dim);
  }
};

template <class Products, class Grad, int R, int C>
inline void xent_tile(const XentBatch& xb, XentState& st, int64_t block, int64_t n0, const void* tile, float* grad_items,
                      float* grad_bias) {
  using F = typename V::F;
  using I = typename V::I;
  const ScanBatch& bt = xb.scan;
  F acc[R][C];
  Products::template tile<R, C>(bt, block, n0, acc);

  // History exclusions that fall in this tile (sorted by item, then slot), as in the scan.
  uint32_t excluded[R][C];
  for (int r = 0; r < R; ++r)
    for (int c = 0; c < C; ++c) excluded[r][c] = 0;
  {
    int64_t& cursor = st.exclusion_cursor[block];
    const int64_t end = bt.exclusion_offsets[block + 1];
    for (; cursor < end && bt.exclusions[cursor].item < n0 + C; ++cursor) {
      const Exclusion x = bt.exclusions[cursor];
      if (x.item < n0) continue;
      excluded[x.slot / V::L][x.item - n0] |= 1u << (x.slot % V::L);
    }
  }

  // G, lane-wise. exp's argument (s - logZ) log2(e) is at most a rounding above 0 (logZ is the
  // row's log-sum-exp); it is clamped to 0 (p <= 1), which keeps NaN: min returns its second
  // operand when one is NaN.
  for (int r = 0; r < R; ++r) {
    const int64_t base = block * bt.block_rows + static_cast<int64_t>(r) * V::L;
    const uint32_t live = live_lanes(bt.rows, base);
    if (live == 0) {
      for (int c = 0; c < C; ++c) acc[r][c] = V::zero();
      continue;
    }
    const F lz = V::load(xb.log_z + base);
    const F w = V::load(xb.weight + base);
    const I tid = V::load_i(xb.target + base);
    const bool target_here = V::any(V::and_(V::lt_i(V::set1_i(static_cast<int32_t>(n0 - 1)), tid),
                                            V::lt_i(tid, V::set1_i(static_cast<int32_t>(n0 + C)))));
    for (int c = 0; c < C; ++c) {
      F s = acc[r][c];
      if (bt.bias) s = V::add(s, V::bcast(bt.bias + n0 + c));
      const F x = V::min(V::zero(), V::mul(V::sub(s, lz), V::set1(kXentLog2e)));
      F g = V::mul(Grad::exp2(x), w);
      if (target_here) {
        const int32_t id = static_cast<int32_t>(n0 + c);
        const auto hit = V::and_(V::lt_i(V::set1_i(id - 1), tid), V::lt_i(tid, V::set1_i(id + 1)));
        g = V::blend(hit, g, V::sub(g, w));
      }
      acc[r][c] = V::blend(V::from_bits(live & ~excluded[r][c]), V::zero(), g);
    }
  }

  // dBias: each item's G (float32) summed over the block's lanes in order.
  if (xb.want_items && grad_bias) {
    for (int c = 0; c < C; ++c) {
      F v = acc[0][c];
      for (int r = 1; r < R; ++r) v = V::add(v, acc[r][c]);
      alignas(64) float lanes[V::L];
      V::store(lanes, v);
      float sum = lanes[0];
      for (int l = 1; l < V::L; ++l) sum += lanes[l];
      grad_bias[n0 + c] += sum;
    }
  }
  Grad::template apply<R, C>(xb, st, block, tile, acc, xb.want_items && grad_items);
}

// Items outer, row blocks inner: a tile's items stay in L1 while every row block of the batch
// passes over them (its queries and dQ partial come from L2: the batch is sized for that), then
// the tile's dE takes every row at once. Per item and per row, the order of every sum is fixed.
template <class Products, class Grad, int R, int C>
void xent_items(const XentBatch& xb, XentState& st, int64_t begin, int64_t end, float* grad_items, float* grad_bias) {
  const ScanBatch& bt = xb.scan;
  const bool want_de = xb.want_items && grad_items;
  int64_t n = begin;
  for (; n + C <= end; n += C) {
    const void* tile = Grad::prepare(bt, st, n, C);
    for (int64_t block = 0; block < bt.row_blocks; ++block)
      xent_tile<Products, Grad, R, C>(xb, st, block, n, tile, grad_items, grad_bias);
    if (want_de) Grad::template finish<C>(xb, st, n, grad_items);
  }
  for (; n < end; ++n) {
    const void* tile = Grad::prepare(bt, st, n, 1);
    for (int64_t block = 0; block < bt.row_blocks; ++block)
      xent_tile<Products, Grad, R, 1>(xb, st, block, n, tile, grad_items, grad_bias);
    if (want_de) Grad::template finish<1>(xb, st, n, grad_items);
  }
}

template <class Products, class Grad, int R, int C>
XentKernel make_xent_kernel() {
  return XentKernel{&xent_items<Products, Grad, R, C>, R * V::L, C, V::L, Grad::kPairs};
}

// fma_peak_gflops's loop: 12 independent chains of FMAs on the widest registers, enough to cover
// the latency of every FMA pipe. x -> x * m + c converges, so nothing overflows or goes subnormal.
inline float fma_loop(int64_t iterations, double* flops_per_round) {
  using F = typename V::F;
  constexpr int kChains = 12;
  F a[kChains];
  for (int i = 0; i < kChains; ++i) a[i] = V::set1(1.0f + 0.001f * static_cast<float>(i));
  const F m = V::set1(0.999f), c = V::set1(0.001f);
  for (int64_t it = 0; it < iterations; ++it)
    for (int i = 0; i < kChains; ++i) a[i] = V::fma(a[i], m, c);
  F total = a[0];
  for (int i = 1; i < kChains; ++i) total = V::add(total, a[i]);
  alignas(64) float lanes[V::L];
  V::store(lanes, total);
  *flops_per_round = 2.0 * kChains * V::L;
  return lanes[0];
}
