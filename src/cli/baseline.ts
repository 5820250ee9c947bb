// `regen-bench baseline`: a built-in model's predictions file (the format `eval --predictions` reads).
import { Command } from 'commander';

import { runBaseline } from '../eval/baseline.js';
import { BUILTIN_MODELS } from '../eval/run.js';
import { NARRATORS } from '../models/builtin.js';
import { dataFlags, flags, modelRunOptions, narratorFlags, type ModelRunFlags } from './flags.js';
import { withProgress } from './progress.js';

interface BaselineFlags extends ModelRunFlags {
  /** The lists' length (one number: --k is parsed by intIn here). */
  k: number;
  model: string;
  out: string;
}

export function registerBaselineCommand(program: Command): void {
  narratorFlags(dataFlags(
    program
      .command('baseline')
      .description('run a built-in model and write its predictions (JSON lines: user, ranked items, narratives) for eval --predictions')
      .requiredOption('--out <file>', 'predictions file to write (JSON lines)'),
  ))
    .option('--model <name>', `a built-in model: ${BUILTIN_MODELS.join(', ')} (critique models fuse with a base: critique-bm25:markov)`, 'pop')
    .option('--narrator <name>', `narrator for task 3: ${NARRATORS.join(', ')} (default template)`)
    .addOption(flags.narrative('task 3: write only these narrative kinds, comma-separated (default all six)'))
    .option('--encoder <model>', 'critique-emb: sentence encoder (hub id or folder)')
    .option('--offline', 'never download an encoder')
    .addOption(flags.fusionWeight())
    .addOption(flags.task('task: 1, 2 (critiques shown) or 3 (critiques shown, narratives written)'))
    .addOption(flags.split())
    .addOption(flags.k('items listed per user', 100))
    .addOption(flags.gpu())
    .option('--exclude-history', "leave each user's earlier purchases out of the lists (default)", true)
    .option('--no-exclude-history', 'keep earlier purchases in the lists')
    .option('--strict', 'stop at the first bad input record instead of counting it')
    .action(async (f: BaselineFlags) => {
      const r = await withProgress((progress) =>
        runBaseline({
          ...modelRunOptions(f),
          k: f.k,
          out: f.out,
          progress,
          log: (line) => process.stderr.write(`${line}\n`),
        }),
      );
      process.stderr.write(`wrote ${r.users.toLocaleString('en-US')} predictions of ${r.model}${r.narrator ? ` + ${r.narrator}` : ''} to ${r.file}\n`);
    });
}
