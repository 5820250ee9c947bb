// Pearson's chi-square goodness-of-fit test, for checking samplers against their distribution.

/** log Gamma(x) for x > 0 (Lanczos, g = 7; relative error about 1e-15). */
function logGamma(x: number): number {
  const c = [0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059, 12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7];
  if (x < 0.5) return Math.log(Math.PI / Math.sin(Math.PI * x)) - logGamma(1 - x);
  x -= 1;
  let a = c[0];
  const t = x + 7.5;
  for (let i = 1; i < 9; i++) a += c[i] / (x + i);
  return 0.5 * Math.log(2 * Math.PI) + (x + 0.5) * Math.log(t) - t + Math.log(a);
}

/** The regularized upper incomplete gamma function Q(a, x) = P(X >= x) for X ~ Gamma(a, 1). */
export function gammaQ(a: number, x: number): number {
  if (x <= 0) return 1;
  const lead = -x + a * Math.log(x) - logGamma(a);
  if (x < a + 1) {
    // Series for P(a, x).
    let sum = 1 / a;
    let term = sum;
    for (let n = 1; n < 10_000; n++) {
      term *= x / (a + n);
      sum += term;
      if (Math.abs(term) < Math.abs(sum) * 1e-16) break;
    }
    return 1 - sum * Math.exp(lead);
  }
  // Continued fraction for Q(a, x) (modified Lentz).
  const tiny = 1e-300;
  let b = x + 1 - a;
  let c = 1 / tiny;
  let d = 1 / b;
  let h = d;
  for (let i = 1; i < 10_000; i++) {
    const an = -i * (i - a);
    b += 2;
    d = an * d + b;
    if (Math.abs(d) < tiny) d = tiny;
    c = b + an / c;
    if (Math.abs(c) < tiny) c = tiny;
    d = 1 / d;
    const delta = d * c;
    h *= delta;
    if (Math.abs(delta - 1) < 1e-16) break;
  }
  return Math.exp(lead) * h;
}

export interface ChiSquare {
  statistic: number;
  df: number;
  pValue: number;
  bins: number;
}

/**
 * Chi-square test of observed counts against expected probabilities (summing to 1). Outcomes with an
 * expected count below 5 are pooled into one bin (and that bin into the smallest other when it is
 * still below 5), as the test's approximation needs.
 */
export function chiSquare(counts: ArrayLike<number>, probabilities: ArrayLike<number>): ChiSquare {
  let n = 0;
  for (let i = 0; i < counts.length; i++) n += counts[i];
  const bins: { observed: number; expected: number }[] = [];
  const pooled = { observed: 0, expected: 0 };
  for (let i = 0; i < counts.length; i++) {
    const expected = n * probabilities[i];
    if (expected >= 5) bins.push({ observed: counts[i], expected });
    else {
      pooled.observed += counts[i];
      pooled.expected += expected;
    }
  }
  if (pooled.expected >= 5 || bins.length === 0) bins.push(pooled);
  else if (pooled.expected > 0 || pooled.observed > 0) {
    bins.sort((a, b) => a.expected - b.expected);
    bins[0].observed += pooled.observed;
    bins[0].expected += pooled.expected;
  }
  let statistic = 0;
  for (const b of bins) statistic += (b.observed - b.expected) ** 2 / b.expected;
  const df = bins.length - 1;
  return { statistic, df, pValue: df > 0 ? gammaQ(df / 2, statistic / 2) : 1, bins: bins.length };
}
