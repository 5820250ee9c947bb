// The fused scan, written once over a SIMD traits struct `V` and included, inside an anonymous
// namespace, by each isa_*.cpp after it defines `V`. Query rows sit in vector lanes (one lane per
// row), so each item's score for L rows is one vector and every per-row statistic (running
// log-sum-exp, top-k admission threshold, target-rank counter) is lane-wise: no horizontal work.
//
// V provides: L (lanes); F, I, M (float, int32 and mask vectors); zero, set1, set1_i, load,
// store, load_i, store_i, bcast, fma, add, sub, mul, max (returns its second argument when the
// first is NaN), min, cmp_gt, cmp_ge, cmp_eq (false on NaN), lt_i, and_, or_, any, bits,
// from_bits, blend (m ? b : a), count (adds 1 where m) and exp2 (lane-wise 2^x, NaN-propagating,
// 0 below 2^-126; callers keep x below 128).

constexpr float kInf = __builtin_inff();
constexpr float kFloatMax = 3.40282346638528859812e+38f;

inline int64_t min64(int64_t a, int64_t b) { return a < b ? a : b; }

// Lanes of a vector whose rows exist: slot base + lane < rows. Paired kernels (kItems = 2, one
// block of at most L / 2 rows): lane l and l + L / 2 are row l against two items.
template <int kItems = 1>
inline uint32_t live_lanes(int64_t rows, int64_t base) {
  if constexpr (kItems == 2) {
    const uint32_t half = (1u << (rows < V::L / 2 ? rows : V::L / 2)) - 1u;
    return half | half << (V::L / 2);
  }
  const int64_t n = rows - base;
  if (n >= V::L) return V::L == 32 ? 0xFFFFFFFFu : ((1u << V::L) - 1u);
  return n <= 0 ? 0u : ((1u << n) - 1u);
}

// The item of score vector c, lane `lane`, in a tile from n0: one item per vector, or for paired
// kernels item n0 + 2c in the low half of the lanes and n0 + 2c + 1 in the high half.
template <int kItems>
inline int32_t item_of(int64_t n0, int c, int lane) {
  return static_cast<int32_t>(n0 + int64_t{c} * kItems + (kItems == 2 && lane >= V::L / 2 ? 1 : 0));
}

// Fp32 products: an R x C register tile, C consecutive items against R vectors of rows, over every
// dimension in order, one fused multiply-add per dimension (the order fp32_score reproduces). It
// also prefetches the next tile's item rows, a few cache lines per dimension: the C rows are read
// as C interleaved streams, which hardware prefetchers follow poorly.
struct Fp32Products {
  static constexpr int kItemsPerVector = 1;
  template <int R, int C>
  static void tile(const ScanBatch& bt, int64_t block, int64_t n0, typename V::F (&acc)[R][C]) {
    constexpr int kLinesPerStep = (C + 15) / 16;  // C * dim floats = C * dim / 16 lines over dim steps
    const int32_t dim = bt.dim;
    const float* q = bt.packed_queries + block * dim * bt.block_rows;
    const float* e = bt.items + n0 * dim;
    const char* next = reinterpret_cast<const char*>(bt.items + (n0 + C < bt.count ? n0 + C : n0) * dim);
    for (int r = 0; r < R; ++r)
      for (int c = 0; c < C; ++c) acc[r][c] = V::zero();
    for (int32_t j = 0; j < dim; ++j) {
      for (int p = 0; p < kLinesPerStep; ++p) __builtin_prefetch(next + (static_cast<int64_t>(j) * kLinesPerStep + p) * 64);
      typename V::F qv[R];
      for (int r = 0; r < R; ++r) qv[r] = V::load(q + (static_cast<int64_t>(j) * R + r) * V::L);
      for (int c = 0; c < C; ++c) {
        const typename V::F b = V::bcast(e + static_cast<int64_t>(c) * dim + j);
        for (int r = 0; r < R; ++r) acc[r][c] = V::fma(qv[r], b, acc[r][c]);
      }
    }
  }
  static float score(const ScanBatch& bt, int64_t slot, int64_t item) { return fp32_score(bt, slot, item); }

  // fp32_score for n items, four independent multiply-add chains at a time (each chain is the
  // same sequence as fp32_score, so the same bits; __builtin_fmaf is one instruction where the
  // region enables FMA).
  static void score_list(const ScanBatch& bt, int64_t slot, const int32_t* ids, int64_t n, float* out) {
    const int64_t stride = bt.block_rows;
    const float* q = bt.packed_queries + (slot / stride) * bt.dim * stride + slot % stride;
    const int64_t dim = bt.dim;
    int64_t i = 0;
    for (; i + 4 <= n; i += 4) {
      const float* e0 = bt.items + ids[i] * dim;
      const float* e1 = bt.items + ids[i + 1] * dim;
      const float* e2 = bt.items + ids[i + 2] * dim;
      const float* e3 = bt.items + ids[i + 3] * dim;
      float a0 = 0.0f, a1 = 0.0f, a2 = 0.0f, a3 = 0.0f;
      for (int64_t j = 0; j < dim; ++j) {
        const float qj = q[j * stride];
        a0 = __builtin_fmaf(qj, e0[j], a0);
        a1 = __builtin_fmaf(qj, e1[j], a1);
        a2 = __builtin_fmaf(qj, e2[j], a2);
        a3 = __builtin_fmaf(qj, e3[j], a3);
      }
      const float acc[4] = {a0, a1, a2, a3};
      for (int c = 0; c < 4; ++c) out[i + c] = bt.bias ? acc[c] + bt.bias[ids[i + c]] : acc[c];
    }
    for (; i < n; ++i) {
      const float* e = bt.items + ids[i] * dim;
      float a = 0.0f;
      for (int64_t j = 0; j < dim; ++j) a = __builtin_fmaf(q[j * stride], e[j], a);
      out[i] = bt.bias ? a + bt.bias[ids[i]] : a;
    }
  }
};

// The generic score list: one ScoreFn call per item.
template <class Products>
void score_list_each(const ScanBatch& bt, int64_t slot, const int32_t* ids, int64_t n, float* out) {
  for (int64_t i = 0; i < n; ++i) out[i] = Products::score(bt, slot, ids[i]);
}

template <class Products>
constexpr ScoreListFn score_list_of() {
  if constexpr (std::is_same_v<Products, Fp32Products>) return &Fp32Products::score_list;
  else return &score_list_each<Products>;
}

// Folds one row's per-lane log-sum-exp partials (the items-in-lanes kernels keep one per lane) into
// the row's unit state, lanes in order.
inline void fold_lanes(ScanState& st, int64_t row, typename V::F shift_v, typename V::F sum_v) {
  alignas(64) float shift[V::L], sum[V::L];
  V::store(shift, shift_v);
  V::store(sum, sum_v);
  float top = st.shift[row];
  for (int l = 0; l < V::L; ++l) top = shift[l] > top ? shift[l] : top;
  float total = st.sum[row] * __builtin_exp2f(st.shift[row] - top);
  for (int l = 0; l < V::L; ++l) total += sum[l] * __builtin_exp2f(shift[l] - top);
  st.shift[row] = top;
  st.sum[row] = total;
}

// The sum of n vectors as a balanced tree: a short dependency chain (the order is fixed, so the
// result is the same bits wherever the tile is scanned).
template <int N>
inline typename V::F tree_sum(const typename V::F* x) {
  if constexpr (N == 1) return x[0];
  else return V::add(tree_sum<N / 2>(x), tree_sum<N - N / 2>(x + N / 2));
}

// Folds C score vectors of one vector of rows into the running log-sum-exp (see ScanState):
// sum = sum of 2^(score log2(e) - shift), rescaled only when a lane's maximum grows. shift starts
// at -FLT_MAX, finite, so that -Infinity scores add 0, not NaN; a NaN score makes the sum NaN.
// `tile_max` is the lanes' maximum over the C scores (NaN passed over), none of them +Infinity.
template <int C>
inline void lse_fold(const ScanBatch& bt, ScanState& st, int64_t base, const typename V::F (&s)[C], typename V::F tile_max) {
  using F = typename V::F;
  using M = typename V::M;
  const F scale = V::set1(bt.lse_scale);
  F shift = V::load(st.shift + base);
  const F top = V::min(V::mul(tile_max, scale), V::set1(kFloatMax));
  const M grows = V::cmp_gt(top, shift);
  F sum = V::load(st.sum + base);
  if (V::any(grows)) {
    const F next = V::blend(grows, shift, top);
    sum = V::mul(sum, V::exp2(V::sub(shift, next)));
    shift = next;
    V::store(st.shift + base, shift);
  }
  // The exponent is the rounded product minus shift (the largest rounded product): at most 0,
  // and exactly 0 for the maximum. (An FMA's unrounded product could pass shift by half an
  // ulp of it, which overflows exp2 once scores reach ~1e9; the GPU kernels round first too.)
  F terms[C];
  for (int c = 0; c < C; ++c) terms[c] = V::exp2(V::sub(V::mul(s[c], scale), shift));
  V::store(st.sum + base, V::add(sum, tree_sum<C>(terms)));
}

// The rare tile where some live lane scores +Infinity: the lane's flag is set (a sum cannot hold
// +Infinity beside finite terms) and its +Infinity scores are left out of the sum. Out of line so
// that the common path keeps its scores in registers.
template <int C>
__attribute__((noinline)) void lse_fold_with_inf(const ScanBatch& bt, ScanState& st, int64_t base, const typename V::F (&s)[C],
                                                 typename V::M has_inf) {
  using F = typename V::F;
  for (uint32_t lanes = V::bits(has_inf); lanes; lanes &= lanes - 1) st.pos_inf[base + __builtin_ctz(lanes)] = 1;
  F finite[C];
  F finite_max = V::set1(-kInf);
  for (int c = 0; c < C; ++c) {
    finite[c] = V::blend(V::cmp_eq(s[c], V::set1(kInf)), s[c], V::set1(-kInf));
    finite_max = V::max(finite[c], finite_max);
  }
  lse_fold<C>(bt, st, base, finite, finite_max);
}

// Inserts (x, id) into a row's sorted top-k list (TopKHeaps::sorted) and returns the row's new
// threshold. A template, so that only kernels whose traits keep sorted lists instantiate it.
template <class T>
inline float sorted_insert(TopKHeaps& h, int64_t row, float x, int32_t id) {
  int32_t& size = h.sizes[row];
  size += size < h.k;  // an offer made before the list is full is always kept
  return T::topk_insert(h.scores + row * h.stride, h.ids + row * h.stride, h.k, x, id);
}

// Offers the candidate lanes of one tile's scores to their rows' top-k (the rare path; out of line,
// on a copy of the scores, so that the common path keeps them in registers). With sorted lists no
// branch depends on the scores: a candidate below a row's k-th entry (the threshold rose since the
// tile's test) leaves the first k entries as they were. Heap updates branch on every comparison;
// at Office size (~90 offers per row, a candidate in ~40% of 16-row tiles) the sorted lists took a
// 256-row search on one thread from 7.2 to 6.4 ms in fp32 and 5.2 to 4.3 ms in bf16 (d = 64).
template <int C, int kItems>
__attribute__((noinline)) void offer_candidates(ScanState& st, int64_t base, int64_t n0, const typename V::F (&s)[C],
                                                typename V::F threshold, uint32_t live, const uint32_t* excluded) {
  // Every candidate of the tile as one bit, c * L + lane, in 64-bit words: one loop over the set
  // bits, whose exit is the only branch on the data. (A test and a loop per score vector, as before,
  // mispredicted more: with topk_insert's register read, a 256-row Office bf16 search on one thread
  // went from 4.3 to 4.1 ms.)
  static_assert(64 % V::L == 0, "a word holds whole score vectors");
  constexpr int kPerWord = 64 / V::L;
  constexpr int kWords = (C + kPerWord - 1) / kPerWord;
  uint64_t words[kWords] = {};
  for (int c = 0; c < C; ++c) {
    const uint32_t bits = V::bits(V::cmp_ge(s[c], threshold)) & live & ~(excluded ? excluded[c] : 0u);
    words[c / kPerWord] |= static_cast<uint64_t>(bits) << ((c % kPerWord) * V::L);
  }
  const float* scores = reinterpret_cast<const float*>(s);  // lane l of s[c] is scores[c * L + l]
  for (int w = 0; w < kWords; ++w) {
    for (uint64_t m = words[w]; m; m &= m - 1) {
      const int bit = w * 64 + __builtin_ctzll(m);
      const int lane = bit % V::L;
      const int32_t id = item_of<kItems>(n0, bit / V::L, lane);
      const float x = scores[bit];
      float& row_threshold = st.threshold[base + lane];
      if constexpr (V::kSortedTopK) {
        if (st.heaps.sorted) {
          row_threshold = sorted_insert<V>(st.heaps, base + lane, x, id);
          continue;
        }
      }
      // Equal scores go to topk_offer, which breaks the tie by id (units may arrive out of order).
      if (x >= row_threshold) row_threshold = topk_offer(st.heaps, base + lane, x, id);
    }
  }
}

// Scores items [n0, n0 + C) for one row block and folds them into the running statistics.
// Paired kernels (Products::kItemsPerVector = 2) score items [n0, n0 + 2C); with odd_missing (the
// table's last item alone in a pair) the high half of the lanes is dropped.
template <class Products, int R, int C>
inline void scan_tile(const ScanBatch& bt, ScanState& st, int64_t block, int64_t n0, bool odd_missing = false) {
  using F = typename V::F;
  using I = typename V::I;
  using M = typename V::M;
  constexpr int kItems = Products::kItemsPerVector;
  constexpr int kSpan = C * kItems;  // items in the tile
  constexpr uint32_t kHighHalf = kItems == 2 ? ((1u << V::L) - 1u) & ~((1u << (V::L / 2)) - 1u) : 0u;
  F acc[R][C];
  Products::template tile<R, C>(bt, block, n0, acc);

  // History exclusions that fall in this tile (the list is sorted by item, then slot).
  uint32_t excluded[R][C];
  bool any_excluded = false;
  {
    int64_t& cursor = st.exclusion_cursor[block];
    const int64_t end = bt.exclusion_offsets[block + 1];
    if (cursor < end && bt.exclusions[cursor].item < n0 + kSpan) {
      for (int r = 0; r < R; ++r)
        for (int c = 0; c < C; ++c) excluded[r][c] = 0;
      for (; cursor < end && bt.exclusions[cursor].item < n0 + kSpan; ++cursor) {
        const Exclusion x = bt.exclusions[cursor];
        if (x.item < n0) continue;
        // Paired: the slot is already the lane of the item's half (search.cpp), n0 is even.
        excluded[x.slot / V::L][(x.item - n0) / kItems] |= 1u << (x.slot % V::L);
        any_excluded = true;
      }
    }
  }

  const bool has_targets = bt.target_id != nullptr;
#pragma GCC unroll 4
  for (int r = 0; r < R; ++r) {
    const int64_t base = block * bt.block_rows + static_cast<int64_t>(r) * V::L;
    const uint32_t live = live_lanes<kItems>(bt.rows, base) & ~(odd_missing ? kHighHalf : 0u);
    if (live == 0) continue;
    const M live_mask = V::from_bits(live);

    F s[C];
    for (int c = 0; c < C; ++c) {
      s[c] = acc[r][c];
      if (bt.bias) {
        if constexpr (kItems == 2) {
          const int64_t odd = n0 + 2 * c + 1 < bt.count ? n0 + 2 * c + 1 : n0 + 2 * c;
          s[c] = V::add(s[c], V::blend(V::from_bits(kHighHalf), V::bcast(bt.bias + n0 + 2 * c), V::bcast(bt.bias + odd)));
        } else {
          s[c] = V::add(s[c], V::bcast(bt.bias + n0 + c));
        }
      }
    }
    // The missing odd item scores -Infinity: nothing, like an excluded one.
    if (kItems == 2 && odd_missing) s[0] = V::blend(V::from_bits(kHighHalf), s[0], V::set1(-kInf));
    if (any_excluded) {
      for (int c = 0; c < C; ++c) {
        // -Infinity adds nothing to log-sum-exp, enters no top-k and beats no target in the vector
        // rank path (whose threshold is above -Infinity); the per-lane paths skip these lanes.
        if (excluded[r][c] != 0) s[c] = V::blend(V::from_bits(excluded[r][c]), s[c], V::set1(-kInf));
      }
    }

    F tile_max = V::set1(-kInf);
    for (int c = 0; c < C; ++c) tile_max = V::max(s[c], tile_max);  // NaN scores are passed over

    if (!bt.skip_lse) {
      const M has_inf = V::and_(V::cmp_eq(tile_max, V::set1(kInf)), live_mask);
      if (__builtin_expect(V::any(has_inf), 0)) {
        F copy[C];  // the rare path takes the address of a copy, not of s
        for (int c = 0; c < C; ++c) copy[c] = s[c];
        lse_fold_with_inf<C>(bt, st, base, copy, has_inf);
      } else {
        lse_fold<C>(bt, st, base, s, tile_max);
      }
    }

    // Target rank: count items that beat the target, (score, -id) greater than the target's.
    if (has_targets) {
      const I tid = V::load_i(bt.target_id + base);
      const M before_first = V::lt_i(V::set1_i(static_cast<int32_t>(n0)), tid);
      const M before_last = V::lt_i(V::set1_i(static_cast<int32_t>(n0 + kSpan - 1)), tid);
      const F ts = V::load(bt.target_score + base);
      const F below = V::load(bt.target_score_below + base);
      if (__builtin_expect(V::bits(before_first) == V::bits(before_last) &&
                               !V::any(V::and_(V::cmp_eq(below, V::set1(-kInf)), live_mask)), 1)) {
        // Every item of the tile lies on one side of each lane's target. After it, an item must
        // score above the target; before it, an equal score also beats it: above the next float
        // down. (Lanes where that float is -Infinity take the per-lane path.)
        const F threshold = V::blend(before_first, ts, below);
        I count = V::load_i(st.rank_count + base);
        for (int c = 0; c < C; ++c) count = V::count(count, V::and_(V::cmp_gt(s[c], threshold), live_mask));
        V::store_i(st.rank_count + base, count);
      } else {
        alignas(64) float lane_scores[C][V::L];
        for (int c = 0; c < C; ++c) V::store(lane_scores[c], s[c]);
        for (int c = 0; c < C; ++c) {
          for (uint32_t lanes = live & ~(any_excluded ? excluded[r][c] : 0u); lanes; lanes &= lanes - 1) {
            const int lane = __builtin_ctz(lanes);
            const int32_t id = item_of<kItems>(n0, c, lane);
            const float x = lane_scores[c][lane];
            const float t = bt.target_score[base + lane];
            if (x > t || (x == t && id < bt.target_id[base + lane])) ++st.rank_count[base + lane];
          }
        }
      }
    }

    // Top-k: most tiles hold no candidate for any lane; those that do take the per-lane path.
    const F threshold = V::load(st.threshold + base);
    if (__builtin_expect(V::any(V::and_(V::cmp_ge(tile_max, threshold), live_mask)), 0)) {
      F copy[C];  // the rare path takes the address of a copy, not of s
      for (int c = 0; c < C; ++c) copy[c] = s[c];
      offer_candidates<C, kItems>(st, base, n0, copy, threshold, live, any_excluded ? excluded[r] : nullptr);
    }
  }
}

template <class Products, int R, int C>
void scan_items(const ScanBatch& bt, ScanState& st, int64_t begin, int64_t end) {
  for (int64_t c0 = begin; c0 < end; c0 += bt.chunk_items) {
    const int64_t c1 = min64(end, c0 + bt.chunk_items);
    for (int64_t block = st.block_begin; block < st.block_end; ++block) {
      constexpr int kItems = Products::kItemsPerVector;
      int64_t n = c0;
      for (; n + C * kItems <= c1; n += C * kItems) scan_tile<Products, R, C>(bt, st, block, n);
      for (; n + kItems <= c1; n += kItems) scan_tile<Products, R, 1>(bt, st, block, n);
      if constexpr (kItems == 2)
        if (n < c1) scan_tile<Products, R, 1>(bt, st, block, n, true);  // the table's last item, alone
    }
  }
}

template <class Products, int R, int C>
ScanKernel make_kernel() {
  constexpr int kItems = Products::kItemsPerVector;
  return ScanKernel{&scan_items<Products, R, C>, &Products::score, R * V::L, C * kItems, score_list_of<Products>(),
                    V::kSortedTopK, kItems == 2};
}
