// Python's math.fsum (Shewchuk's exact partials, correctly rounded): a sum that does not depend on
// the order of its terms, so means over pairs are the same however chunks were scheduled.
export class ExactSum {
  // The partials are partials[0..count): a count instead of resizing the array, which cost more than
  // the arithmetic (an eval sums millions of per-pair scores).
  private partials: number[] = [];
  private count = 0;

  add(xIn: number): void {
    let x = xIn;
    const p = this.partials;
    let i = 0;
    for (let j = 0; j < this.count; j++) {
      let y = p[j];
      if (Math.abs(x) < Math.abs(y)) {
        const t = x;
        x = y;
        y = t;
      }
      const hi = x + y;
      const lo = y - (hi - x);
      if (lo !== 0) p[i++] = lo;
      x = hi;
    }
    p[i] = x;
    this.count = i + 1;
  }

  value(): number {
    const p = this.partials;
    let n = this.count;
    if (n === 0) return 0;
    let hi = p[--n];
    let lo = 0;
    while (n > 0) {
      const x = hi;
      const y = p[--n];
      hi = x + y;
      lo = y - (hi - x);
      if (lo !== 0) break;
    }
    // Round half-even across the remaining partials, as CPython does.
    if (n > 0 && ((lo < 0 && p[n - 1] < 0) || (lo > 0 && p[n - 1] > 0))) {
      const y = lo * 2;
      const x = hi + y;
      if (y === x - hi) hi = x;
    }
    return hi;
  }
}
