// `regen-bench selftest`: proves the installed engine computes what the float64 reference does,
// on every kernel this CPU runs, then times one realistic search.
import type { IsaName } from '../binding.js';
import { cpuCapabilities } from '../engine.js';
import { rng } from '../../util/random.js';
import { CHECK_CASES, GPU_CHECK_CASES, XENT_CHECK_CASES, makeCase, makeXentCase, type CaseSpec, type XentCaseSpec } from './cases.js';
import { checkCrossEntropy, checkSearch } from './check.js';
import { ItemTable, scoreItems, type SearchResult } from '../item-table.js';
import { roundToBf16 } from './reference.js';

export interface SelftestCheck {
  isa: IsaName | 'all' | 'cuda';
  name: string;
  ok: boolean;
  problems: string[];
}

export interface SelftestReport {
  ok: boolean;
  seed: number;
  checks: SelftestCheck[];
  timing: { isa: IsaName; threads: number; items: number; dim: number; rows: number; k: number; ms: number; gflops: number };
}

function sameBits(a: ArrayLike<number>, b: ArrayLike<number>): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (!Object.is(a[i], b[i])) return false;
  return true;
}

export async function runSelftest(seed: number, log: (line: string) => void = () => {}): Promise<SelftestReport> {
  const isas = cpuCapabilities().supportedIsas;
  const checks: SelftestCheck[] = [];
  const record = (check: SelftestCheck) => {
    checks.push(check);
    log(`${check.ok ? 'ok  ' : 'FAIL'} ${check.isa.padEnd(7)} ${check.name}`);
    for (const p of check.problems.slice(0, 5)) log(`       ${p}`);
  };

  for (const [i, spec] of CHECK_CASES.entries()) {
    const c = makeCase(spec, seed + i);
    const byIsa: SearchResult[] = [];
    for (const isa of isas) {
      const table = await ItemTable.create(c.items, { dim: spec.dim, isa });
      const result = await table.search(c.queries, c.options);
      const problems = checkSearch(c.items, spec.dim, c.queries, c.options, result, { exact: c.exact });
      // The result must not depend on how many threads split the items.
      const serial = await ItemTable.create(c.items, { dim: spec.dim, isa, threads: 1 });
      const single = await serial.search(c.queries, c.options);
      serial.dispose();
      for (const key of ['ids', 'scores', 'logZ', 'targetRank', 'targetLogProb'] as const)
        if (result[key] && !sameBits(result[key]!, single[key]!)) problems.push(`${key} differ between 1 and ${table.threads} threads`);
      table.dispose();
      byIsa.push(result);
      record({ isa, name: spec.name, ok: problems.length === 0, problems });
    }
    // Every kernel computes the same fused multiply-adds in the same order: identical scores and ranks.
    const problems: string[] = [];
    for (let j = 1; j < byIsa.length; j++)
      for (const key of ['ids', 'scores', 'targetRank'] as const)
        if (byIsa[j][key] && !sameBits(byIsa[j][key]!, byIsa[0][key]!)) problems.push(`${key} differ between ${isas[0]} and ${isas[j]}`);
    if (isas.length > 1) record({ isa: 'all', name: `${spec.name}: kernels agree bit for bit`, ok: problems.length === 0, problems });

    // bf16 tables: the float64 reference of the bf16-rounded inputs, to float32 summation accuracy.
    if (cpuCapabilities().bf16) {
      const table = await ItemTable.create(c.items, { dim: spec.dim, precision: 'bf16' });
      const result = await table.search(c.queries, c.options);
      table.dispose();
      const bfProblems = checkSearch(roundToBf16(c.items), spec.dim, roundToBf16(c.queries), c.options, result, { exact: c.exact });
      record({ isa: 'avx512', name: `${spec.name} (bf16)`, ok: bfProblems.length === 0, problems: bfProblems });
    }
  }

  // crossEntropy against the float64 reference on every kernel (and bf16), and across thread counts.
  for (const [i, spec] of XENT_CHECK_CASES.entries()) {
    const c = makeXentCase(spec, seed + 500 + i);
    const run = async (init: { isa?: IsaName; threads?: number; precision?: 'bf16' }) => {
      const table = await ItemTable.create(c.items, { dim: spec.dim, ...init });
      const gradItems = new Float32Array(c.items.length);
      const gradBias = new Float32Array(spec.count);
      const r = await table.crossEntropy(c.queries, c.targets, { ...c.options, gradItems, gradBias });
      table.dispose();
      return { ...r, gradItems, gradBias };
    };
    for (const isa of isas) {
      const r = await run({ isa });
      const problems = checkCrossEntropy(c.items, spec.dim, c.queries, c.targets, c.options, r, r);
      const serial = await run({ isa, threads: 1 });
      for (const key of ['loss', 'gradQueries', 'gradItems', 'gradBias'] as const)
        if (!sameBits(r[key], serial[key])) problems.push(`crossEntropy ${key} differ between 1 thread and the default`);
      record({ isa, name: `crossEntropy: ${spec.name}`, ok: problems.length === 0, problems });
    }
    if (cpuCapabilities().bf16) {
      const r = await run({ precision: 'bf16' });
      const problems = checkCrossEntropy(roundToBf16(c.items), spec.dim, roundToBf16(c.queries), c.targets, c.options, r, r, { gRounding: 2 ** -8, expError: 7.5e-5 });
      record({ isa: 'avx512', name: `crossEntropy: ${spec.name} (bf16)`, ok: problems.length === 0, problems });
    }
  }

  // Timing at the Office shape.
  const r = rng(seed);
  const items = 27887;
  const dim = 64;
  const rows = 256;
  const k = 10;
  const table = await ItemTable.create(Float32Array.from({ length: items * dim }, () => r() * 2 - 1), { dim });
  const queries = Float32Array.from({ length: rows * dim }, () => r() * 2 - 1);
  await table.search(queries, { k });
  const start = performance.now();
  const reps = 5;
  for (let i = 0; i < reps; i++) await table.search(queries, { k });
  const ms = (performance.now() - start) / reps;
  const timing = { isa: table.isa as IsaName, threads: table.threads, items, dim, rows, k, ms, gflops: (2 * rows * items * dim) / ms / 1e6 };
  table.dispose();
  return { ok: checks.every((c) => c.ok), seed, checks, timing };
}

export interface GpuSelftestReport {
  ok: boolean;
  seed: number;
  device: string;
  checks: SelftestCheck[];
  timing: { device: string; precision: 'fp32' | 'bf16'; items: number; dim: number; rows: number; k: number; ms: number; gflops: number }[];
  /** crossEntropy (forward + backward with gradItems and gradBias) at the Office shape, B = 1024; GFLOP/s against 6 B N d. */
  xentTiming: { device: string; precision: 'fp32' | 'bf16'; items: number; dim: number; rows: number; ms: number; gflops: number }[];
}

/** crossEntropy cases that matter to the CUDA backend: several 64-row tiles, several item splits, long exclusion lists. */
const GPU_XENT_CASES: XentCaseSpec[] = [
  { name: 'rows over several tiles, many splits', count: 50021, dim: 40, rows: 131, exclude: 60, bias: true, weights: true, ignored: true },
  { name: 'long exclusion lists', count: 5000, dim: 16, rows: 70, exclude: 400, bias: true, excludedTargets: true },
];

/**
 * ItemTable.crossEntropy on GPU `gpu` against the float64 reference (fp32 and bf16 tables: float32
 * gradient products on the CUDA cores, so no G rounding), the loss against the GPU search's own
 * -targetLogProb (bit for bit), run-to-run bit identity, and setItems.
 */
async function gpuXentChecks(seed: number, device: { gpu: number }, record: (name: string, problems: string[]) => void, quick: boolean) {
  const specs = [...XENT_CHECK_CASES, ...GPU_XENT_CASES].filter((c) => !quick || c.count * c.rows * c.dim <= 1e7);
  for (const [i, spec] of specs.entries()) {
    const c = makeXentCase(spec, seed + 500 + i);
    for (const precision of ['fp32', 'bf16'] as const) {
      const table = await ItemTable.create(c.items, { dim: spec.dim, device, precision });
      const runOnce = async () => {
        const gradItems = new Float32Array(c.items.length);
        const gradBias = new Float32Array(spec.count);
        const r = await table.crossEntropy(c.queries, c.targets, { ...c.options, gradItems, gradBias });
        return { ...r, gradItems, gradBias };
      };
      const r = await runOnce();
      const bf16 = precision === 'bf16';
      const problems = checkCrossEntropy(
        bf16 ? roundToBf16(c.items) : c.items,
        spec.dim,
        bf16 ? roundToBf16(c.queries) : c.queries,
        c.targets,
        c.options,
        r,
        r,
      );
      const again = await runOnce();
      for (const key of ['loss', 'gradQueries', 'gradItems', 'gradBias'] as const)
        if (!sameBits(r[key], again[key])) problems.push(`${key} differ between two runs (must be the same bits)`);
      const kept = Array.from(c.targets.keys()).filter((b) => c.targets[b] >= 0);
      if (kept.length === spec.rows) {
        const s = await table.search(c.queries, { k: 1, targets: c.targets, exclude: c.options.exclude, bias: c.options.bias });
        for (let b = 0; b < spec.rows; b++)
          if (!Object.is(r.loss[b], -s.targetLogProb[b])) problems.push(`row ${b}: loss ${r.loss[b]} is not -targetLogProb ${-s.targetLogProb[b]} of search()`);
      }
      table.dispose();
      record(`crossEntropy: ${spec.name} (${precision})`, problems);
    }
  }
  // setItems: the same results as a table created with the new items.
  const c = makeXentCase({ name: 'setItems', count: 3000, dim: 24, rows: 70, exclude: 5, bias: true }, seed + 600);
  const other = makeXentCase({ name: 'setItems', count: 3000, dim: 24, rows: 70 }, seed + 601);
  for (const precision of ['fp32', 'bf16'] as const) {
    const table = await ItemTable.create(c.items, { dim: 24, device, precision });
    await table.crossEntropy(c.queries, c.targets, c.options);
    table.setItems(other.items);
    const got = await table.crossEntropy(c.queries, c.targets, c.options);
    const fresh = await ItemTable.create(other.items, { dim: 24, device, precision });
    const want = await fresh.crossEntropy(c.queries, c.targets, c.options);
    table.dispose();
    fresh.dispose();
    const problems: string[] = [];
    if (!sameBits(got.loss, want.loss) || !sameBits(got.gradQueries, want.gradQueries)) problems.push('results after setItems differ from a new table with those items');
    record(`crossEntropy: setItems (${precision})`, problems);
  }
}

/**
 * The CUDA backend against the float64 reference (fp32 and bf16 tables), against the CPU engine
 * (fp32: the same bits), and against itself (scoreItems = search scores, bit for bit), on every
 * CPU check case plus GPU-sized ones; then timings at the Office shape.
 */
export async function runGpuSelftest(
  seed: number,
  gpu: number,
  log: (line: string) => void = () => {},
  options: { quick?: boolean } = {},
): Promise<GpuSelftestReport> {
  const checks: SelftestCheck[] = [];
  const record = (name: string, problems: string[]) => {
    const check: SelftestCheck = { isa: 'cuda', name, ok: problems.length === 0, problems };
    checks.push(check);
    log(`${check.ok ? 'ok  ' : 'FAIL'} cuda    ${name}`);
    for (const p of problems.slice(0, 5)) log(`       ${p}`);
  };
  const device = { gpu };
  let deviceName = `cuda:${gpu}`;
  // quick: the small cases only (for a run under compute-sanitizer, which is ~100x slower).
  const specs: CaseSpec[] = [...CHECK_CASES, ...GPU_CHECK_CASES].filter((c) => !options.quick || c.count * c.rows * c.dim <= 1e7);
  for (const [i, spec] of specs.entries()) {
    const c = makeCase(spec, seed + i);
    const cpuTable = await ItemTable.create(c.items, { dim: spec.dim });
    const cpu = await cpuTable.search(c.queries, c.options);
    cpuTable.dispose();
    for (const precision of ['fp32', 'bf16'] as const) {
      const table = await ItemTable.create(c.items, { dim: spec.dim, device, precision });
      deviceName = table.deviceName;
      const result = await table.search(c.queries, c.options);
      const bf16 = precision === 'bf16';
      // The float64 reference is too slow for the largest cases; those are held to the CPU engine.
      const problems =
        spec.count * spec.rows * spec.dim <= 3e8
          ? bf16
            ? checkSearch(roundToBf16(c.items), spec.dim, roundToBf16(c.queries), c.options, result, { exact: c.exact })
            : checkSearch(c.items, spec.dim, c.queries, c.options, result, { exact: c.exact })
          : [];
      if (!bf16)
        for (const key of ['ids', 'scores', 'targetRank'] as const)
          if (result[key] && !sameBits(result[key]!, cpu[key]!)) problems.push(`${key} differ from the CPU engine's (fp32 must be the same bits)`);
      // Every returned score is the one scoreItems computes (the target's arithmetic), bit for bit.
      {
        const k = spec.k;
        for (let b = 0; b < Math.min(spec.rows, 64) && problems.length < 20; b++) {
          const ids = Int32Array.from(Array.from(result.ids.subarray(b * k, (b + 1) * k)).filter((id) => id >= 0));
          if (ids.length === 0) continue;
          const own = scoreItems(table, c.queries.subarray(b * spec.dim, (b + 1) * spec.dim), ids);
          const bias = c.options.bias;
          for (let j = 0; j < ids.length; j++) {
            const withBias = bias ? Math.fround(own[j] + bias[ids[j]]) : own[j];
            if (!Object.is(withBias, result.scores[b * k + j]))
              problems.push(`row ${b}: score of id ${ids[j]} is ${result.scores[b * k + j]} in the search, ${withBias} from scoreItems`);
          }
        }
      }
      table.dispose();
      record(`${spec.name} (${precision})`, problems);
    }
  }

  await gpuXentChecks(seed, device, record, options.quick === true);

  // Timings at the Office shape (27,887 items, d = 64, 256 rows, k = 10).
  const r = rng(seed);
  const items = 27887;
  const dim = 64;
  const rows = 256;
  const k = 10;
  const data = Float32Array.from({ length: items * dim }, () => r() * 2 - 1);
  const queries = Float32Array.from({ length: rows * dim }, () => r() * 2 - 1);
  const timing: GpuSelftestReport['timing'] = [];
  for (const precision of options.quick ? [] : (['fp32', 'bf16'] as const)) {
    const table = await ItemTable.create(data, { dim, device, precision });
    await table.search(queries, { k });
    const start = performance.now();
    const reps = 20;
    for (let i = 0; i < reps; i++) await table.search(queries, { k });
    const ms = (performance.now() - start) / reps;
    timing.push({ device: table.deviceName, precision, items, dim, rows, k, ms, gflops: (2 * rows * items * dim) / ms / 1e6 });
    table.dispose();
  }
  // crossEntropy at the Office shape, B = 1024, with every gradient.
  const xentTiming: GpuSelftestReport['xentTiming'] = [];
  const xrows = 1024;
  const xq = Float32Array.from({ length: xrows * dim }, () => r() * 2 - 1);
  const targets = Int32Array.from({ length: xrows }, () => Math.floor(r() * items));
  const bias = Float32Array.from({ length: items }, () => r() - 0.5);
  for (const precision of options.quick ? [] : (['fp32', 'bf16'] as const)) {
    const table = await ItemTable.create(data, { dim, device, precision });
    const gradItems = new Float32Array(items * dim);
    const gradBias = new Float32Array(items);
    const call = () => table.crossEntropy(xq, targets, { bias, gradItems, gradBias });
    await call();
    const start = performance.now();
    const reps = 10;
    for (let i = 0; i < reps; i++) await call();
    const ms = (performance.now() - start) / reps;
    xentTiming.push({ device: table.deviceName, precision, items, dim, rows: xrows, ms, gflops: (6 * xrows * items * dim) / ms / 1e6 });
    table.dispose();
  }
  return { ok: checks.every((c) => c.ok), seed, device: deviceName, checks, timing, xentTiming };
}
