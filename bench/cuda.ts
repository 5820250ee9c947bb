// The CUDA benchmark (needs a GPU): the GPU selftest, then ItemTable.search on GPU tables at the
// Clothing shapes (376,847 items; d = 64, 256; B = 256, 4096) and the full Clothing-scale ranking
// eval (1,168,735 queries with targets and 50 excluded items each). The reference is PyTorch's
// matmul + topk + logsumexp on the same GPU in the same run (bench/cuda_torch.py, whose JSON
// this suite reads with --torch FILE), and the CPU engine in this process for one shape.
// Usage: npm run bench -- cuda [--gpu N] [--torch FILE] [--sections selftest,scoring,full] [--quick] [--out DIR]
// (--quick: the selftest's small cases only, for a run under compute-sanitizer)
import { mkdirSync, readFileSync, existsSync } from 'node:fs';
import path from 'node:path';

import { ItemTable, type SearchOptions } from '../src/engine/item-table.js';
import { runGpuSelftest } from '../src/engine/selftest/selftest.js';
import type { Precision } from '../src/engine/binding.js';
import { writeFileAtomic } from '../src/util/files.js';
import { rng } from '../src/util/random.js';

const ITEMS = 376_847;
const USERS = 1_168_735;
const K = 10;
const EXCLUDED_PER_ROW = 50;

function arg(args: string[], name: string): string | undefined {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

function randomArray(n: number, seed: number): Float32Array {
  const r = rng(seed);
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = r() * 2 - 1;
  return a;
}

/** History-like exclusions (50 per row) and targets drawn outside them. */
function evalOptions(rows: number, seed: number): SearchOptions & { targets: Int32Array } {
  const r = rng(seed);
  const offsets = new Int32Array(rows + 1);
  const ids = new Int32Array(rows * EXCLUDED_PER_ROW);
  const targets = new Int32Array(rows);
  for (let b = 0; b < rows; b++) {
    for (let j = 0; j < EXCLUDED_PER_ROW; j++) ids[b * EXCLUDED_PER_ROW + j] = Math.floor(r() * ITEMS);
    offsets[b + 1] = (b + 1) * EXCLUDED_PER_ROW;
    targets[b] = Math.floor(r() * ITEMS);
  }
  return { k: K, exclude: { offsets, ids }, targets };
}

async function time(fn: () => Promise<unknown>, budgetMs = 1500, maxReps = 15): Promise<number> {
  await fn(); // warm-up (and first-use allocations)
  const times: number[] = [];
  const start = performance.now();
  while (times.length < 3 || (times.length < maxReps && performance.now() - start < budgetMs)) {
    const t0 = performance.now();
    await fn();
    times.push(performance.now() - t0);
  }
  return median(times);
}

interface TorchRow {
  precision: Precision;
  dim: number;
  rows: number;
  ms: number;
}

export async function benchCuda(args: string[]): Promise<void> {
  const gpu = Number(arg(args, '--gpu') ?? 0);
  const sections = (arg(args, '--sections') ?? 'selftest,scoring,full').split(',');
  const outDir = arg(args, '--out') ?? path.join('bench', 'results');
  const torchFile = arg(args, '--torch');
  const torch: { device?: string; scoring: TorchRow[]; full?: TorchRow[] } =
    torchFile && existsSync(torchFile) ? JSON.parse(readFileSync(torchFile, 'utf8')) : { scoring: [] };
  mkdirSync(outDir, { recursive: true });
  const report: Record<string, unknown> = { k: K, excludedPerRow: EXCLUDED_PER_ROW, torchDevice: torch.device ?? null };
  const save = () => writeFileAtomic(path.join(outDir, 'cuda.json'), JSON.stringify(report, null, 2));
  const lines: string[] = [];
  const say = (line: string) => {
    console.log(line);
    lines.push(line);
  };

  if (sections.includes('selftest')) {
    const t0 = performance.now();
    const st = await runGpuSelftest(20261126, gpu, (l) => console.log(l), { quick: args.includes('--quick') });
    report.selftest = st;
    say(`selftest on ${st.device}: ${st.ok ? 'passed' : 'FAILED'} (${st.checks.filter((c) => c.ok).length} of ${st.checks.length} checks, ${((performance.now() - t0) / 1000).toFixed(1)} s)`);
    for (const t of st.timing) say(`  Office d64 B256 ${t.precision}: ${t.ms.toFixed(3)} ms (${t.gflops.toFixed(0)} GFLOP/s)`);
    for (const t of st.xentTiming) say(`  crossEntropy Office d64 B1024 ${t.precision}: ${t.ms.toFixed(3)} ms (${t.gflops.toFixed(0)} GFLOP/s against 6 B N d)`);
    save();
  }

  if (sections.includes('scoring')) {
    const rows: Record<string, unknown>[] = [];
    say(`\n| precision | d | B | regen-bench ms | + 50 excl. + targets ms | PyTorch ms | speed-up | GFLOP/s |`);
    say(`|---|---|---|---|---|---|---|---|`);
    for (const dim of [64, 256]) {
      const items = randomArray(ITEMS * dim, dim);
      for (const precision of ['fp32', 'bf16'] as const) {
        const table = await ItemTable.create(items, { dim, device: { gpu }, precision });
        for (const b of [256, 4096]) {
          const queries = randomArray(b * dim, 1000 + b);
          const plain = await time(() => table.search(queries, { k: K }));
          const withTargets = evalOptions(b, b);
          const full = await time(() => table.search(queries, withTargets));
          const ref = torch.scoring.find((t) => t.precision === precision && t.dim === dim && t.rows === b);
          const gflops = (2 * b * ITEMS * dim) / plain / 1e6;
          rows.push({ device: table.deviceName, precision, dim, rows: b, ms: plain, msWithTargetsAndExclusions: full, torchMs: ref?.ms ?? null, gflops });
          say(`| ${precision} | ${dim} | ${b} | ${plain.toFixed(2)} | ${full.toFixed(2)} | ${ref ? ref.ms.toFixed(2) : 'n/a'} | ${ref ? (ref.ms / plain).toFixed(2) + 'x' : 'n/a'} | ${gflops.toFixed(0)} |`);
        }
        table.dispose();
      }
      if (dim === 64) {
        // The CPU engine on this machine's cores, same process, one shape: the ratio a user sees.
        const cpu = await ItemTable.create(items, { dim });
        const queries = randomArray(256 * dim, 1256);
        const ms = await time(() => cpu.search(queries, { k: K }), 3000, 5);
        const gpuRow = rows.find((r) => r.precision === 'fp32' && r.dim === 64 && r.rows === 256)!;
        report.cpu = { isa: cpu.isa, threads: cpu.threads, dim, rows: 256, ms, gpuSpeedup: ms / (gpuRow.ms as number) };
        say(`CPU engine (${cpu.isa}, ${cpu.threads} threads) fp32 d64 B256: ${ms.toFixed(1)} ms; the GPU is ${(ms / (gpuRow.ms as number)).toFixed(0)}x faster`);
        cpu.dispose();
      }
    }
    report.scoring = rows;
    save();
  }

  if (sections.includes('full')) {
    // Full Clothing-scale ranking eval: every user's query, history excluded, target ranked.
    const dim = 64;
    const items = randomArray(ITEMS * dim, 64);
    const queries = randomArray(USERS * dim, 77);
    const options = evalOptions(USERS, 78);
    const out: Record<string, unknown>[] = [];
    for (const precision of ['fp32', 'bf16'] as const) {
      const table = await ItemTable.create(items, { dim, device: { gpu }, precision });
      await table.search(queries.subarray(0, 4096 * dim), { k: K }); // warm-up
      const t0 = performance.now();
      const res = await table.search(queries, options);
      const ms = performance.now() - t0;
      let hits = 0;
      for (let b = 0; b < USERS; b++) if (res.targetRank[b] >= 0 && res.targetRank[b] < K) hits++;
      const ref = torch.full?.find((t) => t.precision === precision);
      out.push({ device: table.deviceName, precision, dim, queries: USERS, seconds: ms / 1000, torchSeconds: ref ? ref.ms / 1000 : null, recallAtK: hits / USERS });
      say(`full Clothing ranking eval, ${precision}: ${USERS.toLocaleString('en-US')} queries x ${ITEMS.toLocaleString('en-US')} items (d ${dim}, k ${K}, 50 excluded, targets) in ${(ms / 1000).toFixed(2)} s` +
        (ref ? `; PyTorch (matmul + topk + logsumexp, chunks of 8,192, no exclusion) ${(ref.ms / 1000).toFixed(2)} s` : ''));
      table.dispose();
    }
    report.full = out;
    save();
  }
  writeFileAtomic(path.join(outDir, 'cuda.md'), lines.join('\n') + '\n');
}
