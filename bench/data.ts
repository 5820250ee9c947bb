// The data benchmark: synthetic generation per preset, and loading an Office-scale REGEN jsonl
// (first load: parse, build and write the Arrow cache; cached load: open it). Every measurement runs
// in a fresh Node process on the compiled library (dist/), as a user's second run would.
// Usage: npm run bench -- data [--runs N] [--clothing] [--work DIR]
//   --clothing  also time the Clothing preset (1.17 M users, several GB, minutes)
//   --work DIR  where the synthetic files go (default: $TMPDIR/regen-bench-bench-data; reused across runs)
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

/** Runs a snippet in a fresh node on dist/ and returns the JSON it prints last. */
function child(code: string): Record<string, number> {
  const out = execFileSync(process.execPath, ['--input-type=module', '-e', code], { encoding: 'utf8', maxBuffer: 1 << 26, stdio: ['ignore', 'pipe', 'inherit'] });
  const lines = out.trim().split('\n');
  return JSON.parse(lines[lines.length - 1]) as Record<string, number>;
}

const dist = path.resolve('dist', 'index.js');

function synthOnce(preset: string, out: string): Record<string, number> {
  rmSync(out, { recursive: true, force: true });
  return child(`
    import { synthConfig, writeSynthetic } from ${JSON.stringify(dist)};
    const t = performance.now();
    const r = await writeSynthetic(synthConfig(${JSON.stringify(preset)}, 1), ${JSON.stringify(out)}, { resume: false });
    console.log(JSON.stringify({ s: (performance.now() - t) / 1000, bytes: r.bytes, users: r.users, events: r.events, maxRssMiB: process.resourceUsage().maxRSS / 1024 }));
  `);
}

function loadOnce(file: string, cacheDir: string): Record<string, number> {
  return child(`
    import { loadDataset } from ${JSON.stringify(dist)};
    const t0 = performance.now();
    const ds = await loadDataset(${JSON.stringify(file)}, { cacheDir: ${JSON.stringify(cacheDir)} });
    const t1 = performance.now();
    const split = ds.split;
    const t2 = performance.now();
    let chars = 0;
    for (let e = 0; e < ds.events.count; e++) chars += (ds.events.reviewText.get(e) ?? '').length;
    const t3 = performance.now();
    console.log(JSON.stringify({ load: (t1 - t0) / 1000, split: (t2 - t1) / 1000, allReviews: (t3 - t2) / 1000, users: ds.users.count, testRows: split.test.targets.length, chars, maxRssMiB: process.resourceUsage().maxRSS / 1024 }));
  `);
}

export async function benchData(args: string[]): Promise<void> {
  if (!existsSync(dist)) {
    console.error('bench data runs the compiled library: run `npm run build` first');
    process.exit(2);
  }
  const runsArg = args.indexOf('--runs');
  const runs = runsArg >= 0 ? Number(args[runsArg + 1]) : 2;
  const workArg = args.indexOf('--work');
  const work = workArg >= 0 ? args[workArg + 1] : path.join(os.tmpdir(), 'regen-bench-bench-data');
  mkdirSync(work, { recursive: true });
  const results: Record<string, unknown> = { machine: `${os.cpus()[0]?.model} x ${os.cpus().length}`, node: process.version, runs };

  // 1. Synthetic generation per preset.
  const presets = ['demo', 'office', ...(args.includes('--clothing') ? ['clothing'] : [])];
  const synth: Record<string, unknown> = {};
  console.log('synthetic generation (writeSynthetic, seed 1)');
  for (const preset of presets) {
    const times: number[] = [];
    let last: Record<string, number> = {};
    const n = preset === 'clothing' ? 1 : runs;
    for (let i = 0; i < n; i++) {
      last = synthOnce(preset, path.join(work, `synth-${preset}`));
      times.push(last.s);
    }
    synth[preset] = { seconds: times, median: median(times), mib: last.bytes / 2 ** 20, users: last.users, purchases: last.events, maxRssMiB: last.maxRssMiB };
    console.log(
      `  ${preset.padEnd(9)} ${median(times).toFixed(1).padStart(6)} s (median of ${times.map((t) => t.toFixed(1)).join(', ')})  ` +
        `${(last.bytes / 2 ** 20).toFixed(0)} MiB, ${last.users.toLocaleString('en-US')} users, peak RSS ${last.maxRssMiB.toFixed(0)} MiB`,
    );
  }
  results.synth = synth;

  // 2. Loading the Office-scale REGEN file: first load (fresh cache) and cached load, each in a new process.
  const office = path.join(work, 'synth-office', 'office.jsonl');
  if (!existsSync(office)) synthOnce('office', path.dirname(office));
  console.log(`\nloading ${office} (${(statSync(office).size / 2 ** 20).toFixed(0)} MiB)`);
  const first: number[] = [];
  const cached: number[] = [];
  const reviews: number[] = [];
  let rss = { first: 0, cached: 0 };
  for (let i = 0; i < runs; i++) {
    const cacheDir = path.join(work, `cache-${i}`);
    rmSync(cacheDir, { recursive: true, force: true });
    const a = loadOnce(office, cacheDir);
    const b = loadOnce(office, cacheDir);
    first.push(a.load);
    cached.push(b.load);
    reviews.push(b.allReviews);
    rss = { first: Math.max(rss.first, a.maxRssMiB), cached: Math.max(rss.cached, b.maxRssMiB) };
    console.log(`  run ${i + 1}: first load ${a.load.toFixed(2)} s, cached load ${b.load.toFixed(3)} s (+ split ${b.split.toFixed(3)} s, + decoding every review ${b.allReviews.toFixed(2)} s)`);
    rmSync(cacheDir, { recursive: true, force: true });
  }
  console.log(`  median: first load ${median(first).toFixed(2)} s (target <= 20 s), cached load ${median(cached).toFixed(3)} s (target <= 2 s); peak RSS ${rss.first.toFixed(0)} / ${rss.cached.toFixed(0)} MiB`);
  results.officeLoad = { file: office, firstLoad: first, cachedLoad: cached, decodeAllReviews: reviews, medianFirst: median(first), medianCached: median(cached), peakRssMiB: rss };

  const outDir = path.join('bench', 'results');
  mkdirSync(outDir, { recursive: true });
  const file = path.join(outDir, `data-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
  writeFileSync(`${file}.tmp`, JSON.stringify(results, null, 2));
  renameSync(`${file}.tmp`, file);
  console.log(`\nwrote ${file}`);
}
