// `regen-bench train`: parses flags and calls src/train/trainer.ts; draws the progress bar (loss,
// positions per second) on stderr. No logic of its own.
import cliProgress from 'cli-progress';
import { Command, Option } from 'commander';

import { TRAIN_MODELS } from '../train/checkpoint.js';
import { trainModel, type TrainOptions, type TrainProgress } from '../train/trainer.js';
import { dataFlags, dataOptions, intIn, numberIn, type DataFlags } from './flags.js';
import { withProgress } from './progress.js';

function below1(flag: string) {
  return (value: string) => {
    const n = numberIn(flag, 0, 1)(value);
    if (n >= 1) throw new Error(`${flag} expects a number in [0, 1) (e.g. ${flag} 0.3) but received '${value}'`);
    return n;
  };
}

/** A bar on a terminal (epoch, loss, positions/s), a line every 10 s otherwise; on stderr. */
function trainProgress(stream: NodeJS.WriteStream = process.stderr): ((p: TrainProgress) => void) & { stop(): void } {
  let bar: cliProgress.SingleBar | null = null;
  let epoch = -1;
  let last = 0;
  const fn = ((p: TrainProgress) => {
    const payload = { epoch: p.epoch, epochs: p.epochs, loss: p.loss.toFixed(4), pps: Math.round(p.positionsPerSecond).toLocaleString('en-US') };
    if (stream.isTTY) {
      if (p.epoch !== epoch) {
        bar?.stop();
        epoch = p.epoch;
        bar = new cliProgress.SingleBar(
          { stream, format: 'epoch {epoch}/{epochs} [{bar}] {value}/{total} batches, loss {loss}, {pps} positions/s, eta {eta_formatted}', hideCursor: true, fps: 5 },
          cliProgress.Presets.shades_classic,
        );
        bar.start(p.batches, p.batch, payload);
      }
      bar!.update(p.batch, payload);
      if (p.batch >= p.batches) {
        bar!.stop();
        bar = null;
      }
      return;
    }
    const now = Date.now();
    if (now - last >= 10_000 || p.batch === p.batches) {
      last = now;
      stream.write(`epoch ${p.epoch}/${p.epochs}: batch ${p.batch}/${p.batches}, loss ${payload.loss}, ${payload.pps} positions/s\n`);
    }
  }) as ((p: TrainProgress) => void) & { stop(): void };
  fn.stop = () => {
    bar?.stop();
    bar = null;
  };
  return fn;
}

// The command's flags are the library's options (camel-cased by commander), less the ones only a library caller sets.
type TrainFlags = Omit<TrainOptions, 'isa' | 'loss' | 'stopAfter' | 'dataProgress' | 'progress' | 'log' | 'dataOptions'> & DataFlags & { json?: boolean };

export function registerTrainCommand(program: Command): void {
  dataFlags(
    program
      .command('train')
      .description('train SASRec, BERT4Rec or a critique-aware FLARE-style recommender on the full catalogue; writes a checkpoint folder for eval --model DIR'),
    null,
  )
    .addOption(new Option('--model <name>', 'the model').choices([...TRAIN_MODELS]).makeOptionMandatory())
    .requiredOption('--out <dir>', 'the checkpoint folder (config.json, model.safetensors, item_ids.txt, train.jsonl); an unfinished run there is resumed')
    .addOption(new Option('--epochs <n>', 'most epochs (default 200)').argParser(intIn('--epochs', 1)))
    .addOption(new Option('--patience <n>', 'stop after n epochs without a better valid NDCG@10 (default 10)').argParser(intIn('--patience', 1)))
    .addOption(new Option('--dim <n>', 'hidden size (default 64)').argParser(intIn('--dim', 1, 4096)))
    .addOption(new Option('--layers <n>', 'transformer layers (default 2)').argParser(intIn('--layers', 0, 32)))
    .addOption(new Option('--heads <n>', 'attention heads (default 1)').argParser(intIn('--heads', 1, 4096)))
    .addOption(new Option('--max-len <n>', 'longest sequence read (default 50)').argParser(intIn('--max-len', 1, 4096)))
    .addOption(new Option('--dropout <p>', 'dropout of embeddings, attention and feed-forward outputs (default 0.5; bert4rec 0.2)').argParser(below1('--dropout')))
    .addOption(new Option('--attn-dropout <p>', 'dropout of attention probabilities (default: --dropout)').argParser(below1('--attn-dropout')))
    .addOption(new Option('--lr <x>', 'AdamW learning rate (default 0.001)').argParser(numberIn('--lr', 0, 10, true)))
    .addOption(new Option('--batch <n>', 'sequences per batch (default 128)').argParser(intIn('--batch', 1)))
    .addOption(new Option('--weight-decay <x>', 'AdamW decoupled weight decay of matrices and embeddings (default 0)').argParser(numberIn('--weight-decay', 0, 10)))
    .addOption(new Option('--seed <n>', 'seed of initialisation, batch order, masks and dropout (default 0)').argParser(intIn('--seed', 0, 2 ** 32 - 1)))
    .addOption(new Option('--threads <n>', 'CPU threads (default: every core)').argParser(intIn('--threads', 1, 1024)))
    .addOption(new Option('--gpu <n>', 'run the loss (item-table cross-entropy) on GPU n; the transformer body runs on the CPU').argParser(intIn('--gpu', 0, 1024)))
    .addOption(new Option('--precision <p>', "the loss's scores: fp32 (default) or bf16 (twice the rate; CPUs with AVX512-BF16, GPUs of compute capability 8.0+)").choices(['fp32', 'bf16']))
    .addOption(new Option('--mask-prob <p>', 'masked objective (bert4rec; flare --objective masked): share of positions masked (default 0.2)').argParser(numberIn('--mask-prob', 0, 1, true)))
    .addOption(new Option('--critique-dropout <p>', 'flare: share of critiques withheld in training, so one model serves tasks 1 and 2 (default 0.5)').argParser(below1('--critique-dropout')))
    .addOption(new Option('--objective <o>', 'flare: next-item (causal, default) or masked-item (bidirectional) training').choices(['next', 'masked']))
    .option('--text-encoder <model>', 'flare: a sentence encoder (hub id or folder), or "builtin" (hashed n-grams, no download); default: all-MiniLM-L6-v2 when cached, else builtin')
    .option('--offline', 'never download a text encoder')
    .addOption(new Option('--valid-users <n>', 'valid users ranked after each epoch (a seeded sample above this; default 100000)').argParser(intIn('--valid-users', 1)))
    .option('--json', 'print the result as JSON')
    .option('--strict', 'stop at the first bad input record instead of counting it')
    .action(async (flags: TrainFlags) => {
      const progress = trainProgress();
      try {
        // Ctrl-C keeps every completed epoch: the same command continues from the last one.
        const r = await withProgress(
          (dataProgress) =>
            trainModel({
              ...flags,
              dataOptions: dataOptions(flags),
              dataProgress,
              progress,
              log: (line) => {
                progress.stop();
                process.stderr.write(`${line}\n`);
              },
            }),
          'completed epochs are kept in --out; run the same command to continue',
        );
        progress.stop();
        const best = r.epochs.find((e) => e.epoch === r.bestEpoch);
        if (flags.json) console.log(JSON.stringify({ dir: r.dir, best_epoch: r.bestEpoch, stopped_early: r.stoppedEarly, resumed_from: r.resumedFrom, best, epochs: r.epochs.length, config: r.config }, null, 2));
        else
          console.log(
            `wrote ${r.dir}: ${r.config.model}, best epoch ${r.bestEpoch}` +
              (best ? ` (valid recall@10 ${best['valid_recall@10'].toFixed(4)}, ndcg@10 ${best['valid_ndcg@10'].toFixed(4)})` : '') +
              `. Score it: regen-bench eval --data ${flags.data} --task 1 --model ${r.dir}`,
          );
      } finally {
        progress.stop();
      }
    });
}
