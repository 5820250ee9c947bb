// The decoding step (see regen/step.h): rows grouped by table, one fused search() per table (the
// scoring engine's pass: top-k, log-sum-exp at the sampling temperature, per-row exclusion), then
// per row the greedy choice or a Gumbel-max draw over the allowed tokens, with the exact lazy
// draw over the tail of the vocabulary.
#include "regen/step.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <stdexcept>
#include <vector>

namespace regen {

namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();

// splitmix64's finaliser: a bijection of 64-bit words with full avalanche.
inline uint64_t mix64(uint64_t z) {
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

constexpr uint64_t kGolden = 0x9e3779b97f4a7c15ULL;

// The key of one row's draws at one step: distinct (stream, step) pairs give distinct keys.
inline uint64_t draw_key(uint64_t seed, uint32_t stream, uint32_t step) {
  return mix64(mix64(seed ^ 0x524547454e2d4c55ULL) ^ ((static_cast<uint64_t>(stream) << 32) | step));
}

// A uniform variable in (0, 1) from the top 53 of 64 random bits.
inline double uniform(uint64_t bits) { return (static_cast<double>(bits >> 11) + 0.5) * 0x1p-53; }

// The Gumbel variable of one token of a row's step: -log(-log(U)).
inline double token_gumbel(uint64_t key, int64_t token) {
  return -std::log(-std::log(uniform(mix64(key ^ mix64(static_cast<uint64_t>(token) + kGolden)))));
}

// A second, sequential stream of uniforms for the tail draw of a row's step.
struct TailStream {
  uint64_t state;
  double next() { return uniform(mix64(state += kGolden)); }
};

struct Choice {
  int32_t token = -1;
  float score = 0.0f;
  bool retry = false;  // top-p needs more candidates than were kept
};

// Keys compare by value, then the lower id wins (a measure-zero event for sampled keys).
inline bool better(double key, int32_t id, double best, int32_t best_id) {
  return key > best || (key == best && id < best_id);
}

struct RowInput {
  const int32_t* ids;     // kc best tokens, -1 padded
  const float* scores;
  int64_t kc;
  double log_z;           // at the sampling temperature
  const float* query;     // the row's hidden state
  const int32_t* excluded;  // the row's exclusions
  int64_t excluded_count;
};

Choice choose(const RowInput& in, const StepTable& table, const SamplingConfig& s, uint64_t key) {
  Choice c;
  int64_t n = 0;
  while (n < in.kc && in.ids[n] >= 0) ++n;
  if (n == 0) return c;  // every token excluded
  // Greedy; also the fallback when the distribution is degenerate (a NaN or +Infinity score).
  if (s.temperature == 0.0f || !std::isfinite(in.log_z)) {
    c.token = in.ids[0];
    c.score = in.scores[0];
    return c;
  }
  const double t = s.temperature;
  int64_t allowed = n;
  bool restricted = false;
  if (s.top_k > 0) {
    allowed = std::min<int64_t>(allowed, s.top_k);
    restricted = true;
  }
  if (s.top_p < 1.0f) {
    restricted = true;
    double norm = in.log_z;
    if (s.top_k > 0) {  // renormalised over the top_k kept
      const double top = in.scores[0] / t;
      double sum = 0.0;
      for (int64_t i = 0; i < allowed; ++i) sum += std::exp(in.scores[i] / t - top);
      norm = top + std::log(sum);
    }
    double cumulative = 0.0;
    int64_t j = 0;
    while (j < allowed) {
      cumulative += std::exp(in.scores[j] / t - norm);
      ++j;
      if (cumulative >= s.top_p) break;
    }
    if (cumulative < s.top_p && s.top_k == 0 && n == in.kc && in.kc < table.count()) {
      c.retry = true;  // the nucleus reaches past the candidates kept
      return c;
    }
    allowed = j;
  }

  double best = -kInf;
  int32_t best_id = -1;
  float best_score = 0.0f;
  for (int64_t i = 0; i < allowed; ++i) {
    const double k = in.scores[i] / t + token_gumbel(key, in.ids[i]);
    if (best_id < 0 || better(k, in.ids[i], best, best_id)) {
      best = k;
      best_id = in.ids[i];
      best_score = in.scores[i];
    }
  }
  c.token = best_id;
  c.score = best_score;
  // With fewer candidates than asked for, every non-excluded token was a candidate: no tail.
  if (restricted || n < in.kc) return c;

  // The tail: tokens neither kept nor excluded, in id order. A tail token scores at most the lowest
  // candidate score, so it can beat `best` only if its Gumbel variable exceeds gamma.
  std::vector<int32_t> removed(in.ids, in.ids + n);
  removed.insert(removed.end(), in.excluded, in.excluded + in.excluded_count);
  std::sort(removed.begin(), removed.end());
  removed.erase(std::unique(removed.begin(), removed.end()), removed.end());
  const int64_t tail = table.count() - static_cast<int64_t>(removed.size());
  if (tail <= 0) return c;
  const double gamma = best - in.scores[n - 1] / t;
  const double rate = std::exp(-gamma);  // P(G > gamma) = 1 - exp(-rate)
  if (!(rate > 0.0)) return c;
  const double q = -std::expm1(-rate);
  TailStream stream{mix64(key ^ 0x7461696c64726177ULL)};
  std::vector<int32_t> picked;
  std::vector<double> gumbel;
  int64_t m = -1;          // tail position of the last pick
  size_t skipped = 0;      // removed ids below the current item
  for (;;) {
    // Tail tokens until the next one whose variable exceeds gamma: geometric with success q.
    const double gap = std::floor(-std::log(stream.next()) / rate);
    if (!(gap < static_cast<double>(tail - m - 1))) break;
    m += 1 + static_cast<int64_t>(gap);
    int64_t item = m + static_cast<int64_t>(skipped);
    while (skipped < removed.size() && removed[skipped] <= item) item = m + static_cast<int64_t>(++skipped);
    // Its variable, drawn above gamma: E = -log(U) below rate, G = -log(E).
    const double e = -std::log1p(-stream.next() * q);
    picked.push_back(static_cast<int32_t>(item));
    gumbel.push_back(-std::log(e));
  }
  if (picked.empty()) return c;
  std::vector<float> scores(picked.size());
  table.score_items(in.query, picked.data(), static_cast<int64_t>(picked.size()), scores.data());
  for (size_t i = 0; i < picked.size(); ++i) {
    const double k = scores[i] / t + gumbel[i];
    if (better(k, picked[i], best, best_id)) {
      best = k;
      best_id = picked[i];
      best_score = scores[i];
    }
  }
  c.token = best_id;
  c.score = best_score;
  return c;
}

// The CPU engine's table as a step table.
class CpuStepTable final : public StepTable {
 public:
  CpuStepTable(const ItemMatrix& matrix, const SearchConfig& config) : matrix_(matrix), config_(config) {}
  int64_t count() const override { return matrix_.count(); }
  int32_t dim() const override { return matrix_.dim(); }
  void search(const SearchRequest& request, const SearchResult& result) const override {
    regen::search(matrix_, request, result, config_);
  }
  void score_items(const float* query, const int32_t* ids, int64_t n, float* out) const override {
    regen::score_items(matrix_, query, ids, n, nullptr, out, config_.isa);
  }

 private:
  const ItemMatrix& matrix_;
  SearchConfig config_;
};

}  // namespace

void decode_step(const ItemMatrix* const* tables, int32_t table_count, const StepRequest& req, const StepResult& res,
                 const SearchConfig& config) {
  std::vector<CpuStepTable> adapters;
  adapters.reserve(static_cast<size_t>(table_count));
  std::vector<const StepTable*> raw;
  for (int32_t t = 0; t < table_count; ++t) {
    adapters.emplace_back(*tables[t], config);
    raw.push_back(&adapters.back());
  }
  decode_step(raw.data(), table_count, req, res);
}

void decode_step(const StepTable* const* tables, int32_t table_count, const StepRequest& req, const StepResult& res) {
  if (req.rows <= 0) return;
  const SamplingConfig& s = req.sampling;
  if (req.k < 1) throw std::invalid_argument("k must be at least 1");
  if (!(s.temperature >= 0.0f) || std::isinf(s.temperature)) throw std::invalid_argument("temperature must be >= 0 and finite");
  if (s.top_k < 0) throw std::invalid_argument("top_k must be >= 0");
  if (!(s.top_p > 0.0f && s.top_p <= 1.0f)) throw std::invalid_argument("top_p must be in (0, 1]");
  if (s.candidates < 1) throw std::invalid_argument("candidates must be at least 1");
  const bool sampled = s.temperature > 0.0f;
  const int32_t dim = tables[0]->dim();
  for (int32_t t = 0; t < table_count; ++t)
    if (tables[t]->dim() != dim) throw std::invalid_argument("every table of a step must have the same dim");

  std::vector<int64_t> pending, retry;
  std::vector<float> queries, scores, log_z;
  std::vector<int32_t> ids, offsets, excluded;
  for (int32_t t = 0; t < table_count; ++t) {
    const StepTable& table = *tables[t];
    pending.clear();
    for (int64_t r = 0; r < req.rows; ++r)
      if (req.table[r] == t) pending.push_back(r);
    if (pending.empty()) continue;
    const int64_t count = table.count();
    int64_t kc = req.k;
    if (sampled) kc = std::max<int64_t>(kc, s.top_k > 0 ? s.top_k : s.candidates);
    kc = std::max<int64_t>(req.k, std::min(kc, count));  // no more than the table holds, but k at least

    while (!pending.empty()) {
      const int64_t n = static_cast<int64_t>(pending.size());
      queries.resize(static_cast<size_t>(n * dim));
      offsets.assign(static_cast<size_t>(n + 1), 0);
      excluded.clear();
      for (int64_t i = 0; i < n; ++i) {
        const int64_t r = pending[static_cast<size_t>(i)];
        std::memcpy(queries.data() + i * dim, req.hidden + r * dim, sizeof(float) * static_cast<size_t>(dim));
        if (req.exclude_offsets)
          excluded.insert(excluded.end(), req.exclude_ids + req.exclude_offsets[r], req.exclude_ids + req.exclude_offsets[r + 1]);
        offsets[static_cast<size_t>(i + 1)] = static_cast<int32_t>(excluded.size());
      }
      ids.resize(static_cast<size_t>(n * kc));
      scores.resize(static_cast<size_t>(n * kc));
      log_z.resize(static_cast<size_t>(n));
      SearchRequest sr;
      sr.queries = queries.data();
      sr.rows = n;
      sr.k = static_cast<int32_t>(kc);
      sr.exclude_offsets = req.exclude_offsets ? offsets.data() : nullptr;
      sr.exclude_ids = req.exclude_offsets ? excluded.data() : nullptr;
      sr.temperature = sampled ? s.temperature : 1.0f;
      SearchResult out;
      out.ids = ids.data();
      out.scores = scores.data();
      out.log_z = log_z.data();
      table.search(sr, out);

      retry.clear();
      for (int64_t i = 0; i < n; ++i) {
        const int64_t r = pending[static_cast<size_t>(i)];
        RowInput in{ids.data() + i * kc, scores.data() + i * kc, kc, static_cast<double>(log_z[static_cast<size_t>(i)]),
                    queries.data() + i * dim, excluded.data() + offsets[static_cast<size_t>(i)],
                    offsets[static_cast<size_t>(i + 1)] - offsets[static_cast<size_t>(i)]};
        const uint64_t key = draw_key(s.seed, req.streams ? req.streams[r] : 0u, req.steps ? req.steps[r] : 0u);
        const Choice c = choose(in, table, s, key);
        if (c.retry) {
          retry.push_back(r);
          continue;
        }
        std::copy(in.ids, in.ids + req.k, res.ids + r * req.k);
        std::copy(in.scores, in.scores + req.k, res.scores + r * req.k);
        res.token[r] = c.token;
        res.log_z[r] = static_cast<float>(in.log_z);
        const double temperature = sampled ? s.temperature : 1.0;
        res.log_prob[r] = c.token < 0 ? -std::numeric_limits<float>::infinity()
                                       : static_cast<float>(c.score / temperature - in.log_z);
      }
      pending.swap(retry);
      kc = std::min(count, kc * 4);
    }
  }
}

}  // namespace regen
