// The command line: parses with commander and calls into the library; no logic of its own.
import { Command, Option } from 'commander';

import { runGpuSelftest, runSelftest } from '../engine/selftest/selftest.js';
import { isOptionProblem } from '../util/option-error.js';
import { VERSION } from '../version.js';
import { registerBaselineCommand } from './baseline.js';
import { registerDataCommands } from './data.js';
import { registerEvalCommands } from './eval.js';
import { collectInfo } from '../engine/info.js';
import { applyLimitFlags, flagLabel, intIn } from './flags.js';
import { formatInfo } from './info.js';
import { registerScoreText } from './score-text.js';
import { registerPromptsCommand } from './prompts.js';
import { registerGenerateCommand } from './generate.js';
import { registerTrainCommand } from './train.js';
import { registerReportCommand, registerRunCommand } from './report.js';

export function buildProgram(): Command {
  const program = new Command();
  program
    .name('regen-bench')
    .description('Reference toolkit for the REGEN benchmark (conversational recommendation with critiques and narratives)')
    .version(VERSION, '-V, --version')
    .showHelpAfterError()
    // --max-line-bytes and --max-segment-tokens hold for the whole command (src/util/limits.ts).
    .hook('preAction', (_program, action) => applyLimitFlags(action.opts()));

  program
    .command('info')
    .description('show the backend, CPU features, kernels, threads and CUDA availability')
    .option('--json', 'print JSON')
    .action(async (opts: { json?: boolean }) => {
      const info = collectInfo();
      console.log(opts.json ? JSON.stringify(info, null, 2) : formatInfo(info));
    });

  program
    .command('selftest')
    .description('check the native engine against a float64 reference on every kernel this CPU runs (or on a GPU), and time it')
    .addOption(new Option('--seed <n>', 'seed for the random inputs (default: random)').argParser(intIn('--seed', 0, 2 ** 32 - 1)))
    .addOption(new Option('--gpu <n>', 'check the CUDA backend on GPU n instead (float64 reference, CPU bit identity)').argParser(intIn('--gpu', 0, 1024)))
    .option('--json', 'print the report as JSON')
    .action(async (opts: { seed?: number; gpu?: number; json?: boolean }) => {
      const seed = opts.seed ?? Math.floor(Math.random() * 2 ** 32);
      const log = opts.json ? undefined : (line: string) => console.log(line);
      const report = opts.gpu === undefined ? await runSelftest(seed, log) : await runGpuSelftest(seed, opts.gpu, log);
      if (opts.json) console.log(JSON.stringify(report, null, 2));
      else {
        const timings = 'device' in report ? report.timing : [report.timing];
        for (const t of timings)
          console.log(
            `\n${t.rows} queries x ${t.items.toLocaleString('en-US')} items (d = ${t.dim}, k = ${t.k}): ` +
              `${t.ms.toFixed(2)} ms, ${t.gflops.toFixed(1)} GFLOP/s (` +
              ('isa' in t ? `${t.isa}, ${t.threads} threads` : `${t.device}, ${t.precision}`) +
              ')',
          );
        if ('xentTiming' in report)
          for (const t of report.xentTiming)
            console.log(
              `crossEntropy, ${t.rows} rows x ${t.items.toLocaleString('en-US')} items (d = ${t.dim}, every gradient): ` +
                `${t.ms.toFixed(2)} ms, ${t.gflops.toFixed(1)} GFLOP/s against 6 B N d (${t.device}, ${t.precision})`,
            );
        const failed = report.checks.filter((c) => !c.ok).length;
        console.log(
          failed === 0
            ? `selftest passed: ${report.checks.length} checks (seed ${seed})`
            : `selftest FAILED: ${failed} of ${report.checks.length} checks (rerun with --seed ${seed})`,
        );
      }
      if (!report.ok) process.exitCode = 1;
    });

  registerEvalCommands(program);
  registerBaselineCommand(program);
  registerDataCommands(program);
  registerScoreText(program);
  registerPromptsCommand(program);
  registerGenerateCommand(program);
  registerTrainCommand(program);
  registerReportCommand(program);
  registerRunCommand(program);
  return program;
}

export async function main(argv: string[]): Promise<void> {
  try {
    await buildProgram().parseAsync(argv);
  } catch (e) {
    const err = e as Error;
    // Library errors name library options (options.k); here they name the flags that set them (--k).
    const message = isOptionProblem(err) ? err.as(flagLabel) : err.message;
    console.error(`regen-bench: ${process.env.REGEN_DEBUG ? `${message}\n${err.stack}` : message}`);
    process.exitCode = 1;
  }
}
