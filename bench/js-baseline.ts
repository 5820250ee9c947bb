// The yardstick for the scoring benchmark: a plain single-threaded JavaScript implementation of
// one search row (dot products, top-k by insertion, online log-sum-exp, target rank), written the
// way a careful researcher would without native code.
export function jsSearchRow(
  items: Float32Array,
  dim: number,
  query: Float32Array,
  k: number,
  excluded: Set<number>,
  target: number,
): { ids: Int32Array; logZ: number; rank: number } {
  const count = items.length / dim;
  const topScores = new Float64Array(k).fill(-Infinity);
  const topIds = new Int32Array(k).fill(-1);
  let max = -Infinity;
  let sum = 0;
  let targetScore = NaN;
  if (target >= 0) {
    targetScore = 0;
    for (let j = 0; j < dim; j++) targetScore += query[j] * items[target * dim + j];
  }
  let rank = 0;
  for (let n = 0; n < count; n++) {
    if (excluded.has(n)) continue;
    let s = 0;
    const base = n * dim;
    for (let j = 0; j < dim; j++) s += query[j] * items[base + j];
    if (s > max) {
      sum = sum * Math.exp(max - s) + 1;
      max = s;
    } else sum += Math.exp(s - max);
    if (s > targetScore || (s === targetScore && n < target)) rank++;
    if (s > topScores[k - 1]) {
      let i = k - 1;
      while (i > 0 && topScores[i - 1] < s) {
        topScores[i] = topScores[i - 1];
        topIds[i] = topIds[i - 1];
        i--;
      }
      topScores[i] = s;
      topIds[i] = n;
    }
  }
  return { ids: topIds, logZ: max + Math.log(sum), rank: target >= 0 ? rank : -1 };
}
