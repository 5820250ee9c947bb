// `regen-bench baseline`: a built-in model's predictions file (the format `eval --predictions` reads).
import { Command, Option } from 'commander';

import { runBaseline } from '../eval/baseline.js';
import { BUILTIN_MODELS } from '../eval/run.js';
import { NARRATORS } from '../models/builtin.js';
import type { SplitName, TaskId } from '../tasks/examples.js';
import { consoleProgress } from '../util/progress.js';
import { intIn, unitInterval } from './eval.js';

interface BaselineFlags {
  data: string;
  task: TaskId;
  split: SplitName;
  model: string;
  narrator?: string;
  encoder?: string;
  offline?: boolean;
  fusionWeight?: number;
  k: number;
  excludeHistory: boolean;
  out: string;
  strict?: boolean;
}

export function registerBaselineCommand(program: Command): void {
  program
    .command('baseline')
    .description('run a built-in model and write its predictions (JSON lines: user, ranked items, narratives) for eval --predictions')
    .requiredOption('--out <file>', 'predictions file to write (JSON lines)')
    .option('--data <source>', 'dataset: a REGEN jsonl, Amazon 2018 file, plain sequences, a prepared folder, or "demo"', 'demo')
    .option('--model <name>', `a built-in model: ${BUILTIN_MODELS.join(', ')} (critique models fuse with a base: critique-bm25:markov)`, 'pop')
    .option('--narrator <name>', `narrator for task 3: ${NARRATORS.join(', ')} (default template)`)
    .option('--encoder <model>', 'critique-emb: sentence encoder (hub id or folder)')
    .option('--offline', 'never download an encoder')
    .addOption(new Option('--fusion-weight <w>', 'critique models: a fixed fusion weight in [0, 1] instead of tuning it on the valid split').argParser(unitInterval('--fusion-weight')))
    .addOption(new Option('--task <n>', 'task: 1, 2 (critiques shown) or 3 (critiques shown, narratives written)').argParser(intIn('--task', 1, 3)).default(3))
    .addOption(new Option('--split <name>', 'examples').choices(['test', 'valid']).default('test'))
    .addOption(new Option('--k <n>', 'items listed per user').argParser(intIn('--k', 1, 100_000)).default(100))
    .option('--exclude-history', 'leave each user\'s earlier purchases out of the lists (default)', true)
    .option('--no-exclude-history', 'keep earlier purchases in the lists')
    .option('--strict', 'stop at the first bad input record instead of counting it')
    .action(async (flags: BaselineFlags) => {
      const progress = consoleProgress();
      try {
        const r = await runBaseline({ ...flags, progress, log: (line) => process.stderr.write(`${line}\n`) });
        progress.stop();
        process.stderr.write(`wrote ${r.users.toLocaleString('en-US')} predictions of ${r.model}${r.narrator ? ` + ${r.narrator}` : ''} to ${r.file}\n`);
      } finally {
        progress.stop();
      }
    });
}
