// `regen-bench data inspect|prepare|synth|stats`: parses flags and calls src/data; no logic of its own.
import { Command, Option } from 'commander';

import { DEMO_SOURCE, prepareDataset, SOURCE_FORMATS, type PrepareOptions } from '../data/load.js';
import { inspectSource } from '../data/inspect.js';
import { formatReport } from '../data/report.js';
import { datasetStats, formatStats } from '../data/stats.js';
import { formatManifest, verifyRegen } from '../data/verify.js';
import { auditLeakage, formatAudit } from '../data/audit.js';
import { loadDataset } from '../data/load.js';
import { PRESETS, scaledSynthConfig, writeSynthetic, type PresetName } from '../data/synth/generate.js';
import { flags, intIn } from './flags.js';
import { withProgress } from './progress.js';

interface SourceFlags {
  format?: string;
  schema?: string;
  meta?: string;
  itemMeta?: string;
  kcore?: number;
  category?: string;
  strict?: boolean;
  cacheDir?: string;
  cache?: boolean;
  force?: boolean;
  json?: boolean;
}

/** The flags every command that reads a source takes (the source itself is the argument). */
function sourceOptions(cmd: Command): Command {
  return cmd
    .addOption(new Option('--format <format>', 'source format (default: told apart from the file)').choices(['auto', ...SOURCE_FORMATS]))
    .option('--schema <file.json>', 'REGEN: key names for the unconfirmed fields (critique, narratives, scores, sentinel)')
    .option('--meta <file>', "Amazon 2018: the metadata file (default: meta_<Category>.json.gz next to the reviews; 'none' for none)")
    .option('--item-meta <file.json>', 'plain sequences: item titles etc. ({"<id>": {"title": ...}})')
    .addOption(new Option('--kcore <k>', 'Amazon 2018: keep users and items with at least k reviews, repeatedly').argParser(intIn('--kcore', 0, 2 ** 32 - 1)))
    .option('--strict', 'stop at the first bad record instead of skipping and counting it')
    .option('--category <name>', 'the source is a folder of REGEN files of several categories (the release\'s regen/REGEN/): the one to read (office, clothing, ...)')
    .option('--cache-dir <dir>', 'cache folder (default: $REGEN_BENCH_CACHE, else the user cache folder: ~/.cache/regen-bench on Linux)')
    .option('--force', 'rebuild even if a cached copy exists')
    .addOption(flags.maxLineBytes());
}

function toOptions(f: SourceFlags): PrepareOptions {
  return {
    format: f.format as PrepareOptions['format'],
    schema: f.schema,
    meta: f.meta,
    itemMeta: f.itemMeta,
    kcore: f.kcore,
    category: f.category,
    strict: f.strict,
    cacheDir: f.cacheDir,
    cache: f.cache,
    force: f.force,
  };
}

export function registerDataCommands(program: Command): void {
  const data = program
    .command('data')
    .description(`read REGEN and Amazon data, make synthetic data, and prepare the normalised dataset (source "${DEMO_SOURCE}" is the embedded demo)`);

  sourceOptions(
    data
      .command('inspect <source>')
      .description('show the detected format and schema (every key, and whether it is used), counts, problems and one example user')
      .addOption(new Option('--limit <n>', 'scan only the first n lines for keys').argParser(intIn('--limit', 0, 2 ** 32 - 1)))
      .option('--json', 'print JSON'),
  ).action(async (source: string, flags: SourceFlags & { limit?: number }) => {
    const r = await withProgress((progress) => inspectSource(source, { ...toOptions(flags), limit: flags.limit, progress }));
    if (flags.json) {
      console.log(JSON.stringify(r, null, 2));
      return;
    }
    const out = [`${source}: ${r.format}`];
    if (r.keys) {
      out.push('', 'keys (path: count, types, role):');
      for (const k of r.keys) out.push(`  ${k.path}: ${k.count.toLocaleString('en-US')}, ${k.types.join('|')}, ${k.role}`);
    }
    out.push('', formatStats(r.stats), '', ...formatReport(r.report));
    out.push('', `normalised dataset: ${r.dir ?? '(in memory)'}${r.cached ? ' (cached)' : ''}`);
    if (r.rawExample) out.push('', 'first record (shortened):', JSON.stringify(r.rawExample, null, 2));
    if (r.example) out.push('', 'first user, normalised:', JSON.stringify(r.example, null, 2));
    console.log(out.join('\n'));
  });

  sourceOptions(
    data
      .command('prepare <source>')
      .description('build the normalised dataset (Arrow files) from a source, into --out or the cache')
      .option('--out <dir>', 'output folder (written under a temporary name, renamed when complete)')
      .option('--json', 'print the result as JSON'),
  ).action(async (source: string, flags: SourceFlags & { out?: string }) => {
    const started = Date.now();
    const r = await withProgress((progress) => prepareDataset(source, { ...toOptions(flags), out: flags.out, progress }));
    const ds = r.dataset;
    const summary = {
      name: ds.meta.name,
      kind: ds.meta.source.kind,
      dir: r.dir,
      cached: r.cached,
      seconds: (Date.now() - started) / 1000,
      users: ds.users.count,
      items: ds.items.count,
      purchases: ds.events.count,
      key: ds.meta.key,
      report: ds.meta.report,
    };
    if (flags.json) {
      console.log(JSON.stringify(summary, null, 2));
      return;
    }
    console.log(
      `${r.cached ? 'already prepared' : 'prepared'} ${summary.name} (${summary.kind}) in ${summary.seconds.toFixed(1)} s: ` +
        `${summary.users.toLocaleString('en-US')} users, ${summary.items.toLocaleString('en-US')} items, ${summary.purchases.toLocaleString('en-US')} purchases\n` +
        `  -> ${r.dir}`,
    );
    for (const line of formatReport(ds.meta.report)) console.log(line);
  });

  data
    .command('synth')
    .description('write a synthetic REGEN-format dataset (<out>/<preset>.jsonl): same seed, same bytes; resumes an interrupted run')
    .addOption(new Option('--preset <name>', 'size: demo (3,000 users), office or clothing (Table 4 sizes)').choices(Object.keys(PRESETS)).default('demo'))
    .addOption(flags.seed('random seed', 1))
    .requiredOption('--out <dir>', 'output folder')
    .option('--no-resume', 'start over even if an interrupted run of the same preset and seed left a partial file')
    .option('--json', 'print the result as JSON')
    .action(async (flags: { preset: PresetName; seed: number; out: string; resume: boolean; json?: boolean }) => {
      const started = Date.now();
      // REGEN_BENCH_SYNTH_SCALE: a scaled-down preset for quick runs (the README test); said on stderr.
      const scaleVar = process.env.REGEN_BENCH_SYNTH_SCALE;
      const scale = scaleVar ? Number(scaleVar) : 1;
      if (scaleVar && !(scale > 0)) throw new Error(`REGEN_BENCH_SYNTH_SCALE expects a number > 0 (e.g. 0.05) but is '${scaleVar}'`);
      const cfg = scaledSynthConfig(flags.preset, flags.seed, scale);
      if (scale !== 1)
        process.stderr.write(`REGEN_BENCH_SYNTH_SCALE=${scaleVar}: ${cfg.preset} scaled to ${cfg.users.toLocaleString('en-US')} users and ${cfg.items.toLocaleString('en-US')} items\n`);
      const r = await withProgress(
        (progress) => writeSynthetic(cfg, flags.out, { progress, resume: flags.resume }),
        'the partial output is kept: run the same command again to resume',
      );
      const seconds = (Date.now() - started) / 1000;
      if (flags.json) console.log(JSON.stringify({ ...r, seconds, preset: cfg.preset, seed: cfg.seed }, null, 2));
      else
        console.log(
          `wrote ${r.file}: ${r.users.toLocaleString('en-US')} users, ${r.items.toLocaleString('en-US')} items, ${r.events.toLocaleString('en-US')} purchases, ` +
            `${(r.bytes / 2 ** 20).toFixed(1)} MiB in ${seconds.toFixed(1)} s${r.resumedAt ? ` (resumed at user ${r.resumedAt.toLocaleString('en-US')})` : ''}`,
        );
    });

  sourceOptions(
    data
      .command('verify <source>')
      .description(
        "print a manifest of a copy of REGEN (a folder in the release's layout, or a file): per file its size, SHA-256, users, items, " +
          "critique coverage and every key path, checked against the paper's Table 4",
      )
      .option('--json', 'print the manifest as JSON'),
  ).action(async (source: string, flags: SourceFlags) => {
    const m = await withProgress((progress) => verifyRegen(source, { ...toOptions(flags), progress }));
    console.log(flags.json ? JSON.stringify(m, null, 2) : formatManifest(m));
  });

  sourceOptions(
    data
      .command('audit <source>')
      .description(
        "leakage audit of the evaluation examples: targets in their own history, critiques and narratives naming the target, test sequences inside other users' training sequences, and targets bought by others in training after the test time",
      )
      .addOption(flags.split('the examples audited: the test split, or valid'))
      .option('--json', 'print JSON'),
  ).action(async (source: string, flags: SourceFlags & { split: 'test' | 'valid' }) => {
    const ds = await withProgress((progress) => loadDataset(source, { ...toOptions(flags), progress }));
    const a = auditLeakage(ds, flags.split);
    console.log(flags.json ? JSON.stringify(a, null, 2) : formatAudit(a));
  });

  sourceOptions(
    data
      .command('stats <source>')
      .description("print the paper's Table 4 row (users, items, items per user), critique coverage and split sizes")
      .option('--json', 'print JSON'),
  ).action(async (source: string, flags: SourceFlags) => {
    const r = await withProgress((progress) => prepareDataset(source, { ...toOptions(flags), cache: source === DEMO_SOURCE ? false : undefined, progress }));
    const s = datasetStats(r.dataset);
    console.log(flags.json ? JSON.stringify(s, null, 2) : formatStats(s));
  });
}
