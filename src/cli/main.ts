// The command line: parses with commander and calls into the library; no logic of its own.
import { Command, Option } from 'commander';

import { isOptionProblem } from '../util/option-error.js';
import { VERSION } from '../version.js';
import { applyLimitFlags, flagLabel, intIn } from './flags.js';

type Register = (program: Command) => void;

/**
 * Each command's module, loaded only when that command runs (or for the overall help and an unknown
 * command): `--version`, `info` and every command start without loading the others' library code.
 */
const COMMAND_MODULES: { commands: string[]; load: () => Promise<Register> }[] = [
  { commands: ['eval', 'merge', 'compare'], load: async () => (await import('./eval.js')).registerEvalCommands },
  { commands: ['baseline'], load: async () => (await import('./baseline.js')).registerBaselineCommand },
  { commands: ['data'], load: async () => (await import('./data.js')).registerDataCommands },
  { commands: ['score-text'], load: async () => (await import('./score-text.js')).registerScoreText },
  { commands: ['prompts'], load: async () => (await import('./prompts.js')).registerPromptsCommand },
  { commands: ['generate'], load: async () => (await import('./generate.js')).registerGenerateCommand },
  { commands: ['train'], load: async () => (await import('./train.js')).registerTrainCommand },
  {
    commands: ['report', 'run'],
    load: async () => {
      const m = await import('./report.js');
      return (program) => {
        m.registerReportCommand(program);
        m.registerRunCommand(program);
      };
    },
  },
];

/** The command argv names (the first argument after the script that is not an option), if any. */
function commandOf(argv: readonly string[]): string | undefined {
  const first = argv[2];
  return first !== undefined && !first.startsWith('-') ? first : undefined;
}

/** The program, with the commands argv needs (all of them when argv names none; default: all). */
export async function buildProgram(argv?: readonly string[]): Promise<Command> {
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
      const { collectInfo } = await import('../engine/info.js');
      const { formatInfo } = await import('./info.js');
      const info = collectInfo();
      console.log(opts.json ? JSON.stringify(info, null, 2) : formatInfo(info));
    });

  program
    .command('selftest')
    .description('check the native engine against a float64 reference on every kernel this CPU runs (or on a GPU), and time it')
    .addOption(new Option('--seed <n>', 'seed for the random inputs (default: random)').argParser(intIn('--seed', 0, 2 ** 32 - 1)))
    .addOption(new Option('--gpu <n>', 'check the CUDA backend on GPU n instead (float64 reference, CPU bit identity)').argParser(intIn('--gpu', 0, 1024)))
    .option('--quick', 'with --gpu: the small cases only (a run under compute-sanitizer, about 100x slower)')
    .option('--json', 'print the report as JSON')
    .action(async (opts: { seed?: number; gpu?: number; quick?: boolean; json?: boolean }) => {
      const { runGpuSelftest, runSelftest } = await import('../engine/selftest/selftest.js');
      const seed = opts.seed ?? Math.floor(Math.random() * 2 ** 32);
      const log = opts.json ? undefined : (line: string) => console.log(line);
      if (opts.quick && opts.gpu === undefined) throw new Error('--quick narrows the GPU selftest: give it with --gpu N');
      const report = opts.gpu === undefined ? await runSelftest(seed, log) : await runGpuSelftest(seed, opts.gpu, log, { quick: opts.quick });
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

  const name = argv ? commandOf(argv) : undefined;
  const only = COMMAND_MODULES.find((m) => name !== undefined && m.commands.includes(name));
  // Commands of this file, and --version, need no other module.
  if (name === 'info' || name === 'selftest' || (argv && ['-V', '--version'].includes(argv[2]))) return program;
  for (const m of only ? [only] : COMMAND_MODULES) (await m.load())(program);
  return program;
}

export async function main(argv: string[]): Promise<void> {
  try {
    await (await buildProgram(argv)).parseAsync(argv);
  } catch (e) {
    const err = e as Error;
    // Library errors name library options (options.k); here they name the flags that set them (--k).
    const message = isOptionProblem(err) ? err.as(flagLabel) : err.message;
    console.error(`regen-bench: ${process.env.REGEN_DEBUG ? `${message}\n${err.stack}` : message}`);
    process.exitCode = 1;
  }
}
