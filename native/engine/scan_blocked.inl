// The fused scan for batches of at most 8 rows, items in the 16 lanes of 512-bit vectors, read from
// the table's blocked copy (ItemMatrix::blocked(): value j of 16 consecutive items side by side).
// Included after scan_kernel.inl by the AVX-512 files (V: simd_avx512.h); `Blocked` provides
//   template <int ROWS, bool kPrefetch> static void block(const ScanBatch&, int64_t b, __m512 (&acc)[ROWS]):
// the products of items 16 b .. 16 b + 15 with each row, every lane the same instruction sequence
// over the dimensions, in order, as the rows-in-lanes kernels (so the same bits), prefetching
// blocked_ahead() blocks on when asked; values(bt), the 32-bit values of an item row; and score /
// score_list as those kernels.
//
// Why: each dimension step is one load of 16 items and one FMA per row, where the lanes kernel
// (scan_lanes.inl) transposes rows in registers and the paired one leaves half of each vector to a
// second item: at Office d = 64 and 8 rows the products run at the FMA rate.
//
// As in scan_lanes.inl, each row's log-sum-exp is kept per lane and folded into the row's unit state,
// lanes in order, when the call ends (one unit; fold_lanes): the result does not depend on the thread
// count.
// Queries are packed with block_rows = 1 (row r's value j at r * row values + j).

// Whether the products prefetch, one line per step into L2, 16 KB ahead (blocked_ahead blocks of
// values x 64 bytes; past the table's end, harmless). Yes for blocks of 8 KB or more, and for tables
// that may sit in the L3; no for short rows streamed from memory, which the hardware prefetcher
// follows better alone. One thread, Zen 4, medians of calls alternating with the other choice, none
// -> prefetch: Clothing fp32 d = 256 8 rows 27.9 -> 18.0 ms, 4 rows 20.1 -> 18.5; Office fp32 d = 64
// 8 rows 0.62 -> 0.51; but Clothing fp32 d = 64 8 rows 6.2 -> 7.4, 1 row 4.5 -> 5.6.
inline bool blocked_prefetch(const ScanBatch& bt, int64_t values) {
  return values * 64 >= (8 << 10) || bt.count * values * 4 <= (int64_t{32} << 20);
}
inline int64_t blocked_ahead(int64_t values) { return (256 + values - 1) / values; }

template <class Blocked, int ROWS>
void scan_blocked(const ScanBatch& bt, ScanState& st, int64_t begin, int64_t end) {
  using F = __m512;
  using I = __m512i;
  using M = __mmask16;
  // bt.rows is ROWS: the kernel is made for the batch's row count (make_blocked_kernel_for), and its
  // packed queries have no padding rows.
  const F scale = V::set1(bt.lse_scale);
  const I lane_index = _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
  // Per row and lane: the running log-sum-exp (see lse_fold) and the count of items that beat the target.
  F shift[ROWS], sum[ROWS];
  I count[ROWS];
  for (int r = 0; r < ROWS; ++r) {
    shift[r] = V::set1(-kFloatMax);
    sum[r] = V::zero();
    count[r] = _mm512_setzero_si512();
  }
  bool pos_inf[ROWS] = {};
  const bool prefetch = blocked_prefetch(bt, Blocked::values(bt));

  // Units start at multiples of 64 items (search.cpp), so every block but the table's last is whole.
  for (int64_t n0 = begin; n0 < end; n0 += 16) {
    const int64_t n = min64(16, end - n0);
    const M live = static_cast<M>(n == 16 ? 0xFFFFu : (1u << n) - 1u);
    F acc[ROWS];
    if (prefetch) Blocked::template block<ROWS, true>(bt, n0 / 16, acc);
    else Blocked::template block<ROWS, false>(bt, n0 / 16, acc);
    const I ids = _mm512_add_epi32(_mm512_set1_epi32(static_cast<int32_t>(n0)), lane_index);
#pragma GCC unroll 8
    for (int r = 0; r < ROWS; ++r) {
      F s = acc[r];
      if (bt.bias) s = V::add(s, _mm512_maskz_loadu_ps(live, bt.bias + n0));
      s = _mm512_mask_blend_ps(live, V::set1(-kInf), s);  // lanes past the table: -Infinity, and not kept

      // History exclusions among these items (sorted by item; block_rows = 1, so the block is the row).
      uint32_t excluded = 0;
      {
        int64_t& cursor = st.exclusion_cursor[r];
        const int64_t stop = bt.exclusion_offsets[r + 1];
        for (; cursor < stop && bt.exclusions[cursor].item < n0 + n; ++cursor)
          if (bt.exclusions[cursor].item >= n0) excluded |= 1u << (bt.exclusions[cursor].item - n0);
      }
      const uint32_t kept = static_cast<uint32_t>(live) & ~excluded;
      if (excluded) s = V::blend(V::from_bits(excluded), s, V::set1(-kInf));

      // Log-sum-exp, per lane (see lse_fold); +Infinity sets the row's flag and is left out.
      if (!bt.skip_lse) {
        F x = s;
        const M is_inf = V::cmp_eq(s, V::set1(kInf));
        if (__builtin_expect(V::any(is_inf), 0)) {
          pos_inf[r] = true;
          x = V::blend(is_inf, s, V::set1(-kInf));
        }
        const F top = V::min(V::mul(x, scale), V::set1(kFloatMax));
        const M grows = V::cmp_gt(top, shift[r]);
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
        const I tid = _mm512_set1_epi32(bt.target_id[r]);
        const M beats = static_cast<M>(V::cmp_gt(s, ts) | (V::cmp_eq(s, ts) & _mm512_cmpgt_epi32_mask(tid, ids)));
        count[r] = V::count(count[r], static_cast<M>(beats & kept));
      }

      // Top-k: rare once the heaps fill; candidates are offered in id order.
      const uint32_t candidates = V::bits(V::cmp_ge(s, V::set1(st.threshold[r]))) & kept;
      if (__builtin_expect(candidates != 0, 0)) {
        alignas(64) float lane_scores[16];
        V::store(lane_scores, s);
        for (uint32_t lanes = candidates; lanes; lanes &= lanes - 1) {
          const int lane = __builtin_ctz(lanes);
          if (lane_scores[lane] >= st.threshold[r])
            st.threshold[r] = topk_offer(st.heaps, r, lane_scores[lane], static_cast<int32_t>(n0 + lane));
        }
      }
    }
  }

  for (int r = 0; r < ROWS; ++r) {
    fold_lanes(st, r, shift[r], sum[r]);
    if (pos_inf[r]) st.pos_inf[r] = 1;
    st.rank_count[r] += _mm512_reduce_add_epi32(count[r]);
  }
}

template <class Blocked, int ROWS>
ScanKernel make_blocked_kernel() {
  ScanKernel k{&scan_blocked<Blocked, ROWS>, &Blocked::score, 1, 16, &Blocked::score_list, false, false, true};
  k.blocked = true;
  return k;
}

template <class Blocked>
ScanKernel make_blocked_kernel_for(int64_t rows) {
  switch (rows) {
    case 1: return make_blocked_kernel<Blocked, 1>();
    case 2: return make_blocked_kernel<Blocked, 2>();
    case 3: return make_blocked_kernel<Blocked, 3>();
    case 4: return make_blocked_kernel<Blocked, 4>();
    case 5: return make_blocked_kernel<Blocked, 5>();
    case 6: return make_blocked_kernel<Blocked, 6>();
    case 7: return make_blocked_kernel<Blocked, 7>();
    default: return make_blocked_kernel<Blocked, 8>();
  }
}
