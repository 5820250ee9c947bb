// `regen-bench report`: parse flags, call src/report, print.
import { Command, Option } from 'commander';

import { failOnBadInput, flags } from './flags.js';
import { withProgress } from './progress.js';

interface ReportFlags {
  baseline?: string;
  allowMixed?: boolean;
  markdown?: boolean;
  csv?: boolean;
  latex?: boolean;
  json?: boolean;
  html?: string;
  out?: string;
  metrics?: string;
  seed: number;
  bootstrap: number;
}

export function registerReportCommand(program: Command): void {
  program
    .command('report')
    .description('many runs in one table with intervals, paired tests against a baseline, and an HTML report with charts')
    .argument('<runs...>', 'eval --out folders (or their report.json: no paired tests, no curves)')
    .option('--baseline <run>', 'one of the runs: every other row gets its paired difference and p-values against it')
    .option('--allow-mixed', 'tabulate runs whose data, split, k, history policy or metric settings differ (the table says so)')
    .option('--markdown', 'print the table as Markdown (default)')
    .option('--csv', 'print the table as CSV (full precision; intervals and tests in their own columns)')
    .option('--latex', 'print the table as a LaTeX booktabs tabular')
    .option('--json', 'print the table as JSON')
    .option('--html <file>', 'also write a self-contained HTML report with charts')
    .option('--out <file>', 'write the table to this file (atomically) instead of printing it')
    .addOption(new Option('--metrics <list>', 'text metrics per narrative kind, comma-separated: bleu, rouge1, rouge2, rougeL, rougeLsum, semsim').default('bleu,rougeL'))
    .addOption(flags.seed('seed of the paired tests'))
    .addOption(flags.bootstrap('resamples of the paired tests'))
    .action(async (runs: string[], f: ReportFlags) => {
      const { writeReport, TEXT_METRICS } = await import('../report/index.js');
      const chosen = (['markdown', 'csv', 'latex', 'json'] as const).filter((x) => f[x]);
      if (chosen.length > 1) throw new Error(`give one table format: ${chosen.map((x) => `--${x}`).join(' and ')} were both given`);
      const metrics = f.metrics!.split(',').map((m) => m.trim());
      const unknown = metrics.filter((m) => !(TEXT_METRICS as readonly string[]).includes(m));
      if (unknown.length || metrics.length === 0) throw new Error(`--metrics expects a comma-separated list of ${TEXT_METRICS.join(', ')} but received '${f.metrics}'`);
      const result = await withProgress((progress) =>
        writeReport({
          runs,
          baseline: f.baseline,
          allowMixed: f.allowMixed,
          textMetrics: metrics as (typeof TEXT_METRICS)[number][],
          format: chosen[0] ?? 'markdown',
          out: f.out,
          html: f.html,
          samples: f.bootstrap,
          seed: f.seed,
          progress,
        }),
      );
      if (!f.out) process.stdout.write(result.text);
      for (const file of result.files) process.stderr.write(`wrote ${file}\n`);
    });
}

export function registerRunCommand(program: Command): void {
  program
    .command('run')
    .description('run an experiment file (.yaml or .json): every eval it lists (resuming what is done), then the report')
    .argument('<file>', "the run file: data, tasks, models, k, metric settings, out (see the README's \"Run files\")")
    .option('--print', 'print the report table when done (it is always written to the out folder)')
    .addOption(flags.allowBadInput())
    .action(async (file: string, f: { print?: boolean; allowBadInput?: boolean }) => {
      const { readExperiment } = await import('../experiment/config.js');
      const { runExperiment } = await import('../experiment/run.js');
      const exp = await readExperiment(file);
      const result = await withProgress((progress) => runExperiment(exp, { progress, log: (line) => process.stderr.write(`${line}\n`) }));
      if (f.print) process.stdout.write(result.report.text);
      for (const written of [result.config, ...result.report.files]) process.stderr.write(`wrote ${written}\n`);
      // As eval does: an input with too many bad lines or ids fails the command (exit 3) unless allowed.
      failOnBadInput(result.badInput, f.allowBadInput);
    });
}
