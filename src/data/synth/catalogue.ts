// The synthetic item catalogue: product families (type, leaf, brand, line, feature) with variants
// that differ in one to three attributes (color, size, point, pack, ...), so that neighbouring items
// of one product type are told apart by exactly the things a critique names.
import { rng } from '../../util/random.js';
import { BRAND_SYLLABLES, DIMS, LINE_WORDS, type Dim, type Domain, type TypeSpec } from './vocab.js';

/** Deterministic 32-bit mix of a seed and a stream number (splitmix-style), for independent streams. */
export function mix(seed: number, stream: number): number {
  let h = (seed ^ Math.imul(stream + 0x9e3779b9, 0x85ebca6b)) >>> 0;
  h = Math.imul(h ^ (h >>> 16), 0x7feb352d) >>> 0;
  h = Math.imul(h ^ (h >>> 15), 0x846ca68b) >>> 0;
  return (h ^ (h >>> 16)) >>> 0;
}

/** Random helpers over one mulberry32 stream. */
export class Rand {
  readonly next: () => number;
  constructor(seed: number) {
    this.next = rng(seed);
  }
  int(n: number): number {
    return Math.floor(this.next() * n);
  }
  pick<T>(a: readonly T[]): T {
    return a[Math.floor(this.next() * a.length)];
  }
  chance(p: number): boolean {
    return this.next() < p;
  }
  normal(): number {
    // Box-Muller (one value; the generator is cheap).
    const u = 1 - this.next();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * this.next());
  }
  /** Index drawn from cumulative weights (last entry = total). */
  fromCumulative(cum: Float64Array): number {
    const x = this.next() * cum[cum.length - 1];
    let lo = 0;
    let hi = cum.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (cum[mid] > x) hi = mid;
      else lo = mid + 1;
    }
    return lo;
  }
  shuffle<T>(a: T[]): T[] {
    for (let i = a.length - 1; i > 0; i--) {
      const j = Math.floor(this.next() * (i + 1));
      [a[i], a[j]] = [a[j], a[i]];
    }
    return a;
  }
}

export interface TypeInfo {
  spec: TypeSpec;
  /** Category path from the root to this type (4 levels). */
  path: string[];
  leaves: { name: string; noun: string }[];
  dims: Dim[];
  features: string[];
  /** Brand indices available in this type. */
  brands: number[];
  items: Int32Array;
  /** Cumulative popularity of `items`. */
  cum: Float64Array;
}

const MAX_DIMS = 3;
const NONE = 255;

const BASE36 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ';
function base36(n: number, width: number): string {
  let s = '';
  for (let i = 0; i < width; i++) {
    s = BASE36[n % 36] + s;
    n = Math.floor(n / 36);
  }
  return s;
}

/** An ASIN-like id, unique per index (an affine bijection modulo 36^8). */
export function synthAsin(seed: number, index: number): string {
  const M = 36 ** 8;
  return 'B0' + base36((index * 2654435761 + (mix(seed, 7) % 1_000_000_007)) % M, 8);
}

/** A reviewer-id-like string ('A' + 13 characters), unique per index. */
export function synthReviewerId(seed: number, index: number): string {
  const M = 36 ** 10;
  return 'A' + base36(mix(seed, 11) % 36 ** 3, 3) + base36((index * 2246822519 + (mix(seed, 13) % 1_000_000_007)) % M, 10);
}

function priceTag(x: number): number {
  // Prices end in .99, .49 or .95 like shop prices.
  const whole = Math.max(0, Math.floor(x));
  const cents = [0.99, 0.49, 0.95, 0.99][Math.floor((x - whole) * 4) % 4];
  return Math.round((whole + cents) * 100) / 100;
}

export class Catalogue {
  readonly count: number;
  readonly types: TypeInfo[];
  readonly brandNames: string[];
  readonly asin: string[];
  readonly title: string[];
  readonly type: Int32Array;
  /** -1: no leaf (the path has four levels). */
  readonly leaf: Int16Array;
  readonly family: Int32Array;
  readonly familyStart: number[] = [];
  readonly brand: Int32Array;
  readonly feature: Int16Array;
  /** MAX_DIMS value indices per item (NONE where the type has fewer dims). */
  readonly dimValue: Uint8Array;
  readonly price: Float64Array;
  readonly quality: Float32Array;
  readonly weight: Float64Array;
  /** About 2% of REGEN items have no category: these get none in the output. */
  readonly noCategory: Uint8Array;
  readonly typeWeight: Float64Array;
  readonly typeCum: Float64Array;

  constructor(
    readonly domain: Domain,
    count: number,
    seed: number,
  ) {
    const r = new Rand(mix(seed, 0xca7a));
    this.count = count;
    // Brands: invented names, unique.
    const names = new Set<string>();
    for (const a of BRAND_SYLLABLES.start) for (const b of BRAND_SYLLABLES.end) names.add(a + b);
    this.brandNames = r.shuffle([...names]);

    this.types = domain.types.map((spec) => {
      const features = domain.features[spec.features] ?? [''];
      const brandCount = 6 + r.int(24);
      const brands = Array.from({ length: brandCount }, () => r.int(this.brandNames.length)).filter((b, i, a) => a.indexOf(b) === i);
      return {
        spec,
        path: [domain.root, ...spec.path],
        leaves: spec.leaves.map((l) => {
          const [name, noun] = l.split('=');
          return { name, noun: noun ?? name };
        }),
        dims: spec.dims.map((d) => {
          const dim = DIMS[d];
          if (!dim) throw new Error(`internal: unknown synthetic dim ${d}`);
          return dim;
        }),
        features,
        brands,
        items: new Int32Array(0),
        cum: new Float64Array(0),
      };
    });
    // Type sizes: a skewed share per type (some product types are much larger than others).
    this.typeWeight = Float64Array.from(this.types, () => Math.exp(r.normal() * 0.8));

    this.asin = new Array(count);
    this.title = new Array(count);
    this.type = new Int32Array(count);
    this.leaf = new Int16Array(count);
    this.family = new Int32Array(count);
    this.brand = new Int32Array(count);
    this.feature = new Int16Array(count);
    this.dimValue = new Uint8Array(count * MAX_DIMS).fill(NONE);
    this.price = new Float64Array(count);
    this.quality = new Float32Array(count);
    this.weight = new Float64Array(count);
    this.noCategory = new Uint8Array(count);

    const typeCum = new Float64Array(this.types.length);
    let acc = 0;
    this.typeWeight.forEach((w, i) => (typeCum[i] = acc += w));
    this.typeCum = typeCum;

    let item = 0;
    let fam = 0;
    while (item < count) {
      const ti = r.fromCumulative(typeCum);
      const T = this.types[ti];
      const leaf = T.leaves.length ? r.int(T.leaves.length) : -1;
      const brand = T.brands[Math.floor(T.brands.length * r.next() ** 1.7)]; // a few brands dominate a type
      const feature = r.int(T.features.length);
      const line = r.pick(LINE_WORDS.start) + r.pick(LINE_WORDS.end);
      const base = T.spec.price * Math.exp(r.normal() * 0.45);
      const famWeight = Math.exp(r.normal() * 1.2);
      const famQuality = r.normal() * 0.5;
      // Variant values per dim: the first dim varies most.
      const choices = T.dims.slice(0, MAX_DIMS).map((d, k) => {
        const n = Math.min(d.values.length, k === 0 ? 1 + r.int(4) : 1 + r.int(2));
        return r.shuffle(d.values.map((_, i) => i)).slice(0, n).sort((a, b) => a - b);
      });
      let combos: number[][] = [[]];
      for (const c of choices) combos = combos.flatMap((prefix) => c.map((v) => [...prefix, v]));
      combos = r.shuffle(combos).slice(0, Math.min(8, count - item));
      this.familyStart.push(item);
      for (const combo of combos) {
        const i = item++;
        this.asin[i] = synthAsin(seed, i);
        this.type[i] = ti;
        this.leaf[i] = leaf;
        this.family[i] = fam;
        this.brand[i] = brand;
        this.feature[i] = feature;
        let packFactor = 1;
        combo.forEach((v, k) => {
          this.dimValue[i * MAX_DIMS + k] = v;
          const dim = T.dims[k];
          if (dim === DIMS.pack || dim === DIMS.pairs || dim === DIMS.sheets || dim === DIMS.colors) packFactor *= (1 + v) ** 0.6;
        });
        this.price[i] = priceTag(base * packFactor * Math.exp(r.normal() * 0.05));
        this.quality[i] = famQuality;
        this.weight[i] = famWeight * Math.exp(r.normal() * 0.3);
        this.noCategory[i] = r.chance(0.02) ? 1 : 0;
        this.title[i] = this.makeTitle(i, line);
      }
      fam++;
    }
    this.familyStart.push(count);
    // Per-type item lists with cumulative popularity.
    const byType: number[][] = this.types.map(() => []);
    for (let i = 0; i < count; i++) byType[this.type[i]].push(i);
    this.types.forEach((T, ti) => {
      T.items = Int32Array.from(byType[ti]);
      T.cum = new Float64Array(T.items.length);
      let a = 0;
      T.items.forEach((it, k) => (T.cum[k] = a += this.weight[it]));
    });
    // Types that got no items cannot be drawn.
    this.types.forEach((T, ti) => {
      if (T.items.length === 0) this.typeWeight[ti] = 0;
    });
    acc = 0;
    this.typeWeight.forEach((w, i) => (this.typeCum[i] = acc += w));
  }

  dimValueOf(item: number, k: number): number {
    return this.dimValue[item * MAX_DIMS + k];
  }

  /** The item's value of dim k as it appears in the title (null when none). */
  dimText(item: number, k: number): string | null {
    const v = this.dimValue[item * MAX_DIMS + k];
    return v === NONE ? null : this.types[this.type[item]].dims[k].values[v];
  }

  noun(item: number): string {
    const T = this.types[this.type[item]];
    const leaf = this.leaf[item];
    return leaf >= 0 ? T.leaves[leaf].noun : T.spec.noun;
  }

  featureText(item: number): string {
    return this.types[this.type[item]].features[this.feature[item]];
  }

  brandText(item: number): string {
    return this.brandNames[this.brand[item]];
  }

  /** Category levels, root first (5 with a leaf, else 4). */
  categoryPath(item: number): string[] {
    const T = this.types[this.type[item]];
    const leaf = this.leaf[item];
    return leaf >= 0 ? [...T.path, T.leaves[leaf].name] : T.path;
  }

  private makeTitle(i: number, line: string): string {
    const T = this.types[this.type[i]];
    const audience = this.domain.audience?.[T.spec.path[0]];
    const head = [this.brandNames[this.brand[i]], audience, line, T.features[this.feature[i]], this.noun(i)].filter(Boolean).join(' ');
    const dims: string[] = [];
    for (let k = 0; k < MAX_DIMS; k++) {
      const d = this.dimText(i, k);
      if (d) dims.push(d);
    }
    return dims.length ? `${head}, ${dims.join(', ')}` : head;
  }

  /** Items of one family (contiguous ids). */
  familyItems(item: number): [number, number] {
    const f = this.family[item];
    return [this.familyStart[f], this.familyStart[f + 1]];
  }

  /** An item of type ti drawn by popularity. */
  sampleFromType(r: Rand, ti: number): number {
    const T = this.types[ti];
    return T.items[r.fromCumulative(T.cum)];
  }
}

export { MAX_DIMS, NONE };
