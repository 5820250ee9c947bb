// The fused scan for the smallest batches (a few query rows), items in lanes: 8 consecutive items
// per 256-bit vector, one vector per query row. Included after scan_kernel.inl by a file whose
// traits `V` are 256-bit (common/simd_avx2.h), inside the same namespace; `Lanes` provides
//   template <int ROWS, int G> static void group(const ScanBatch&, int64_t n0, __m256 (&acc)[G][ROWS],
//                                                int64_t ahead_rows):
// the products of items [n0, n0 + 8 G) with each row (group g: items n0 + 8 g ..), every lane the
// same instruction sequence over the dimensions, in order, as the rows-in-lanes kernels (so the
// same bits), prefetching ahead_rows on (two groups; see load_group). With G = 2 each query
// broadcast feeds two FMAs; that needs AVX-512VL's 32 registers. And
//   static int64_t row_values(const ScanBatch&): the 32-bit values of an item row.
//
// Why: with rows in lanes, a batch of one row uses one lane of eight and pays the whole epilogue
// (log-sum-exp, rank, top-k test) per item; here the item rows are transposed in registers (8 x 4
// blocks: loads, inserts, unpacks and shuffles) and the epilogue runs once per 8 items.
//
// Per row the running log-sum-exp is kept per lane (8 shifts and sums) and folded into the row's
// state, lanes in order, when the call ends (one unit): the result does not depend on the thread
// count. Queries are packed with block_rows = 1 (row r's dimension j at packed[r * dim + j]).

// Row vectors i = 0..3 hold items i (low half) and i + 4 (high half), 4 consecutive 32-bit values
// each; out[j] gets value j of items 0..7 in lane order.
inline void transpose_8x4(__m256 r0, __m256 r1, __m256 r2, __m256 r3, __m256 (&out)[4]) {
  const __m256 a = _mm256_unpacklo_ps(r0, r1), b = _mm256_unpacklo_ps(r2, r3);
  const __m256 c = _mm256_unpackhi_ps(r0, r1), d = _mm256_unpackhi_ps(r2, r3);
  out[0] = _mm256_shuffle_ps(a, b, 0x44);
  out[1] = _mm256_shuffle_ps(a, b, 0xEE);
  out[2] = _mm256_shuffle_ps(c, d, 0x44);
  out[3] = _mm256_shuffle_ps(c, d, 0xEE);
}

// Values [j0, j0 + 4) of items n0 .. n0 + 7 (rows of `stride` 32-bit values); with kTail only the
// first `width` values are read (the rest of each vector is zero and never used).
// The 8 rows are read as 8 interleaved streams, which hardware prefetchers follow poorly once
// rows are long; so the full blocks also prefetch the rows `ahead_rows` further (8 rows x stride
// values, contiguous: 2 lines per block of 4 values), into L1 (kLocality 3) or L2 only (2). A
// prefetch past the table is harmless.
template <bool kTail, int kLocality = 3>
inline void load_8x4(const float* rows, int64_t stride, int64_t j0, int width, __m256 (&out)[4], int64_t ahead_rows = 16) {
  __m256 r[4];
  if (!kTail) {
    const char* ahead = reinterpret_cast<const char*>(rows + ahead_rows * stride) + j0 * 32;
    __builtin_prefetch(ahead, 0, kLocality);
    __builtin_prefetch(ahead + 64, 0, kLocality);
    for (int i = 0; i < 4; ++i)
      r[i] = _mm256_insertf128_ps(_mm256_castps128_ps256(_mm_loadu_ps(rows + i * stride + j0)), _mm_loadu_ps(rows + (i + 4) * stride + j0), 1);
  } else {
    const __m128i mask = _mm_cmpgt_epi32(_mm_set1_epi32(width), _mm_setr_epi32(0, 1, 2, 3));
    for (int i = 0; i < 4; ++i)
      r[i] = _mm256_insertf128_ps(_mm256_castps128_ps256(_mm_maskload_ps(rows + i * stride + j0, mask)),
                                  _mm_maskload_ps(rows + (i + 4) * stride + j0, mask), 1);
  }
  transpose_8x4(r[0], r[1], r[2], r[3], out);
}

// Groups read in pairs (16 items per query broadcast) read 16 rows at once and prefetch at least
// 32 rows and 8 KB ahead into L2 only. At fp32 d = 256 (rows of 1 KB), 16 rows in use and 16
// prefetched into L1 share 4 of L1's 64 sets, 8 ways each, and evicted lines before their use
// (one row, one thread, Zen 4, Office: 1.0-1.9 ms; with the L2 hint 0.61-0.68). Short rows need
// the 8 KB: Clothing bf16 d = 64 (128-byte rows), one row on 2 threads, 1.13 ms with 32 rows ahead,
// 0.84-0.98 with 64.
inline int64_t lanes_ahead_rows(int64_t stride) {
  const int64_t rows = 8192 / (stride * 4) / 8 * 8;
  return rows < 32 ? 32 : rows;
}
template <bool kTail, int kGroups>
inline void load_group(const float* rows, int64_t stride, int64_t j0, int width, __m256 (&out)[4], int64_t ahead_rows) {
  if constexpr (kGroups == 2) load_8x4<kTail, 2>(rows, stride, j0, width, out, ahead_rows);
  else load_8x4<kTail>(rows, stride, j0, width, out);
}

// A scan kernel of this kind: block_rows = 1, 8 items per group, kGroups groups per step.
template <class Lanes, int ROWS, int kGroups = 1>
ScanKernel make_lanes_kernel();

template <class Lanes, int ROWS, int kGroups>
void scan_lanes(const ScanBatch& bt, ScanState& st, int64_t begin, int64_t end) {
  using F = __m256;
  const int64_t rows = bt.rows;  // at most ROWS
  const F scale = V::set1(bt.lse_scale);
  const __m256i lane_index = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
  F shift[ROWS], sum[ROWS];
  __m256i count[ROWS];
  for (int r = 0; r < ROWS; ++r) {
    shift[r] = V::set1(-kFloatMax);
    sum[r] = V::zero();
    count[r] = _mm256_setzero_si256();
  }
  bool pos_inf[ROWS] = {};

  // One group of 8 items (n live: the tail group has fewer; its scores, bias included, come from
  // the scalar score function, the same bits).
  auto fold = [&](int64_t n0, int n, const F (&acc)[ROWS], bool add_bias) {
    const F live = n == 8 ? _mm256_castsi256_ps(_mm256_set1_epi32(-1))
                          : _mm256_castsi256_ps(_mm256_cmpgt_epi32(_mm256_set1_epi32(n), lane_index));
    const __m256i ids = _mm256_add_epi32(_mm256_set1_epi32(static_cast<int32_t>(n0)), lane_index);
    for (int r = 0; r < ROWS; ++r) {
      if (r >= rows) break;
      F s = acc[r];
      if (add_bias && bt.bias) s = V::add(s, _mm256_loadu_ps(bt.bias + n0));  // full groups only
      s = V::blend(live, V::set1(-kInf), s);  // lanes past the end score -Infinity and are masked below

      // History exclusions among these items (sorted by item; block_rows = 1, so the block is the row).
      uint32_t excluded = 0;
      {
        int64_t& cursor = st.exclusion_cursor[r];
        const int64_t stop = bt.exclusion_offsets[r + 1];
        for (; cursor < stop && bt.exclusions[cursor].item < n0 + n; ++cursor)
          if (bt.exclusions[cursor].item >= n0) excluded |= 1u << (bt.exclusions[cursor].item - n0);
      }
      const uint32_t kept = static_cast<uint32_t>(_mm256_movemask_ps(live)) & ~excluded;
      if (excluded) s = V::blend(V::from_bits(excluded), s, V::set1(-kInf));

      // Log-sum-exp, per lane (see lse_fold); +Infinity sets the row's flag and is left out.
      if (!bt.skip_lse) {
        F x = s;
        const F is_inf = V::cmp_eq(s, V::set1(kInf));
        if (__builtin_expect(V::any(is_inf), 0)) {
          pos_inf[r] = true;
          x = V::blend(is_inf, s, V::set1(-kInf));
        }
        const F top = V::min(V::mul(x, scale), V::set1(kFloatMax));
        const F grows = V::cmp_gt(top, shift[r]);
        if (V::any(grows)) {
          const F next = V::blend(grows, shift[r], top);
          sum[r] = V::mul(sum[r], V::exp2(V::sub(shift[r], next)));
          shift[r] = next;
        }
        sum[r] = V::add(sum[r], V::exp2(V::sub(V::mul(x, scale), shift[r])));
      }

      // Target rank: (score, -id) above the target's, over the kept lanes.
      if (bt.target_id) {
        const F ts = V::set1(bt.target_score[r]);
        const __m256i tid = _mm256_set1_epi32(bt.target_id[r]);
        const F beats = V::or_(V::cmp_gt(s, ts), V::and_(V::cmp_eq(s, ts), _mm256_castsi256_ps(_mm256_cmpgt_epi32(tid, ids))));
        count[r] = V::count(count[r], V::and_(beats, V::from_bits(kept)));
      }

      // Top-k: rare once the heaps fill; candidates are offered in id order.
      const F threshold = V::set1(st.threshold[r]);
      const uint32_t candidates = V::bits(V::cmp_ge(s, threshold)) & kept;
      if (__builtin_expect(candidates != 0, 0)) {
        alignas(32) float lane_scores[8];
        V::store(lane_scores, s);
        for (uint32_t lanes = candidates; lanes; lanes &= lanes - 1) {
          const int lane = __builtin_ctz(lanes);
          if (lane_scores[lane] >= st.threshold[r])
            st.threshold[r] = topk_offer(st.heaps, r, lane_scores[lane], static_cast<int32_t>(n0 + lane));
        }
      }
    }
  };

  const int64_t ahead = lanes_ahead_rows(Lanes::row_values(bt));  // once: a division
  int64_t n0 = begin;
  for (; n0 + 8 * kGroups <= end; n0 += 8 * kGroups) {
    F acc[kGroups][ROWS];
    Lanes::template group<ROWS, kGroups>(bt, n0, acc, ahead);
    for (int g = 0; g < kGroups; ++g) fold(n0 + 8 * g, 8, acc[g], true);
  }
  for (; n0 + 8 <= end; n0 += 8) {
    F acc[1][ROWS];
    Lanes::template group<ROWS, 1>(bt, n0, acc, ahead);
    fold(n0, 8, acc[0], true);
  }
  if (n0 < end) {
    const int n = static_cast<int>(end - n0);
    F acc[ROWS];
    for (int r = 0; r < ROWS; ++r) {
      alignas(32) float lane[8] = {};
      if (r < rows)
        for (int l = 0; l < n; ++l) lane[l] = Lanes::score(bt, r, n0 + l);  // bias included
      acc[r] = _mm256_load_ps(lane);
    }
    fold(n0, n, acc, false);
  }

  for (int r = 0; r < ROWS && r < rows; ++r) {
    fold_lanes(st, r, shift[r], sum[r]);
    if (pos_inf[r]) st.pos_inf[r] = 1;
    alignas(32) int32_t c[8];
    _mm256_store_si256(reinterpret_cast<__m256i*>(c), count[r]);
    int32_t total = 0;
    for (int l = 0; l < 8; ++l) total += c[l];
    st.rank_count[r] += total;
  }
}

// The two-group kernel for 1 to 8 rows (more: 8), for the files whose 32 vector registers hold it.
template <class Lanes>
ScanKernel make_lanes_kernel_two_groups(int64_t rows) {
  switch (rows) {
    case 1: return make_lanes_kernel<Lanes, 1, 2>();
    case 2: return make_lanes_kernel<Lanes, 2, 2>();
    case 3: return make_lanes_kernel<Lanes, 3, 2>();
    case 4: return make_lanes_kernel<Lanes, 4, 2>();
    case 5: return make_lanes_kernel<Lanes, 5, 2>();
    case 6: return make_lanes_kernel<Lanes, 6, 2>();
    case 7: return make_lanes_kernel<Lanes, 7, 2>();
    default: return make_lanes_kernel<Lanes, 8, 2>();
  }
}

template <class Lanes, int ROWS, int kGroups>
ScanKernel make_lanes_kernel() {
  return ScanKernel{&scan_lanes<Lanes, ROWS, kGroups>, &Lanes::score, 1, 8 * kGroups, &Lanes::score_list, false, false, true};
}

// Fp32 items in lanes: each lane is fp32_score's chain of fused multiply-adds (the product commutes
// exactly), then + bias.
struct Fp32Lanes {
  template <int ROWS, int G>
  static void group(const ScanBatch& bt, int64_t n0, __m256 (&acc)[G][ROWS], int64_t ahead) {
    const int64_t dim = bt.dim;
    const float* e = bt.items + n0 * dim;
    for (int g = 0; g < G; ++g)
      for (int r = 0; r < ROWS; ++r) acc[g][r] = _mm256_setzero_ps();
    __m256 t[G][4];
    int64_t j0 = 0;
    for (; j0 + 4 <= dim; j0 += 4) {
      for (int g = 0; g < G; ++g) load_group<false, G>(e + 8 * g * dim, dim, j0, 4, t[g], ahead);
      for (int jj = 0; jj < 4; ++jj)
        for (int r = 0; r < ROWS; ++r) {
          const __m256 b = _mm256_broadcast_ss(bt.packed_queries + r * dim + j0 + jj);
          for (int g = 0; g < G; ++g) acc[g][r] = _mm256_fmadd_ps(t[g][jj], b, acc[g][r]);
        }
    }
    if (j0 < dim) {
      const int width = static_cast<int>(dim - j0);
      for (int g = 0; g < G; ++g) load_group<true, G>(e + 8 * g * dim, dim, j0, width, t[g], ahead);
      for (int jj = 0; jj < width; ++jj)
        for (int r = 0; r < ROWS; ++r) {
          const __m256 b = _mm256_broadcast_ss(bt.packed_queries + r * dim + j0 + jj);
          for (int g = 0; g < G; ++g) acc[g][r] = _mm256_fmadd_ps(t[g][jj], b, acc[g][r]);
        }
    }
  }
  static int64_t row_values(const ScanBatch& bt) { return bt.dim; }
  static float score(const ScanBatch& bt, int64_t slot, int64_t item) { return fp32_score(bt, slot, item); }
  static void score_list(const ScanBatch& bt, int64_t slot, const int32_t* ids, int64_t n, float* out) {
    Fp32Products::score_list(bt, slot, ids, n, out);
  }
};
