// `regen-bench score-text`: BLEU (sacrebleu 2.x) and ROUGE (rouge-score 0.1.2) for a JSONL file of
// hypothesis/reference pairs. A contract: scripts read its --json and --per-example output.

import { Command, Option } from 'commander';

import type { SmoothMethod } from '../metrics/text/bleu.js';
import { readPairsFile } from '../metrics/text/pairs-file.js';
import { IN_PROCESS_BELOW } from '../metrics/text/pool.js';
import { computeTextStats, corpusBleuFromStats, meanRouge, pairRouge, rougeBootstrap, sentenceBleuFromStats } from '../metrics/text/score.js';
import { DEFAULT_SEMSIM_MODEL, semanticSimilarity, type SemSimResult } from '../metrics/text/semsim.js';
import { writeFileAtomic } from '../util/files.js';
import { flags as shared, numberIn } from './flags.js';
import { progressReporter } from './progress.js';

interface ScoreTextFlags {
  input: string;
  stem?: boolean;
  json?: boolean;
  perExample?: string;
  lowercase?: boolean;
  tokenize: '13a' | 'none';
  smooth: SmoothMethod;
  smoothValue?: number;
  bootstrap?: number;
  seed: number;
  threads?: number;
  semsim?: string | true;
  offline?: boolean;
  embeddingCache?: string;
}

const pct = (x: number) => (100 * x).toFixed(2).padStart(6);

export function registerScoreText(program: Command): void {
  program
    .command('score-text')
    .description('BLEU (identical to sacrebleu 2.x) and ROUGE (identical to rouge-score 0.1.2) for hypothesis/reference pairs')
    .requiredOption('--input <file>', 'JSON Lines: {"hyp": "...", "ref": "..."} or {"hyp": "...", "refs": ["...", "..."]} per line')
    .option('--stem', 'Porter-stem ROUGE tokens (rouge-score use_stemmer=True)')
    .option('--json', 'print one JSON object: {n, bleu, rouge}')
    .option('--per-example <file>', 'write per pair: sentence BLEU (score, counts, totals) and the ROUGE triples (JSON Lines)')
    .option('--lowercase', 'lower-cased BLEU (sacrebleu -lc)')
    .addOption(new Option('--tokenize <name>', 'BLEU tokenizer').choices(['13a', 'none']).default('13a'))
    .addOption(new Option('--smooth <method>', 'BLEU smoothing').choices(['exp', 'floor', 'add-k', 'none']).default('exp'))
    .addOption(new Option('--smooth-value <x>', 'value for floor (default 0.1) and add-k (default 1)').argParser(numberIn('--smooth-value', 0, Number.MAX_VALUE)))
    .addOption(shared.bootstrap("ROUGE confidence intervals with n resamples (rouge-score's BootstrapAggregator)", null))
    .addOption(shared.seed('numpy seed for --bootstrap'))
    .addOption(shared.threads('worker threads (default: every core; 1 = in-process)'))
    .option('--semsim [model]', `semantic similarity with a sentence encoder: a hub id (default ${DEFAULT_SEMSIM_MODEL}) or a local folder`)
    .option('--offline', 'never download a model (--semsim): use a local folder or the hub cache')
    .option('--embedding-cache <dir>', 'where reference embeddings are cached (default ~/.cache/regen-bench/embeddings)')
    .addOption(shared.maxLineBytes())
    .addOption(shared.maxSegmentTokens())
    .action(async (flags: ScoreTextFlags) => {
      const { pairs, lines, blankLines, notes } = await readPairsFile(flags.input);
      if (blankLines > 0) console.error(`note: skipped ${blankLines} blank line${blankLines === 1 ? '' : 's'} in ${flags.input}`);
      for (const n of notes) console.error(`warning: ${n}`);
      const bleuOptions = { tokenize: flags.tokenize, lowercase: !!flags.lowercase, smoothMethod: flags.smooth, smoothValue: flags.smoothValue ?? null };
      const long = pairs.length >= IN_PROCESS_BELOW * 10;
      const stats = await computeTextStats(pairs, {
        bleu: bleuOptions,
        stem: !!flags.stem,
        threads: flags.threads,
        where: (i, which) => `${flags.input}:${lines[i]} (${which})`,
        onProgress: long ? progressReporter('score-text') : undefined,
      });
      const bleu = corpusBleuFromStats(stats, bleuOptions);
      const rouge = meanRouge(stats);
      const result: Record<string, unknown> = { n: stats.n, bleu, rouge };
      if (flags.bootstrap) result.rouge_ci = rougeBootstrap(stats, flags.seed, flags.bootstrap);
      let semsim: SemSimResult | undefined;
      if (flags.semsim) {
        semsim = await semanticSimilarity(
          pairs.map((p) => p.hyp),
          pairs.map((p) => p.refs),
          {
            model: flags.semsim === true ? undefined : flags.semsim,
            offline: !!flags.offline,
            embeddingCacheDir: flags.embeddingCache,
            onProgress: long ? progressReporter('embedding references') : undefined,
          },
        );
        result.semsim = { mean: semsim.mean, model: semsim.model, pooling: semsim.pooling, dim: semsim.dim };
      }

      if (flags.perExample) {
        const out: string[] = [];
        for (let i = 0; i < stats.n; i++) {
          const s = sentenceBleuFromStats(stats, i, bleuOptions);
          const row: Record<string, unknown> = { line: lines[i], bleu: { score: s.score, counts: s.counts, totals: s.totals }, rouge: pairRouge(stats, i) };
          if (semsim) row.semsim = semsim.scores[i];
          out.push(JSON.stringify(row));
        }
        const written = writeFileAtomic(flags.perExample, out.join('\n') + '\n');
        if (written.how !== 'created') console.error(written.note);
      }

      if (flags.json) {
        console.log(JSON.stringify(result));
        return;
      }
      console.log(`${stats.n} pairs from ${flags.input}${flags.stem ? ' (ROUGE with Porter stemming)' : ''}`);
      console.log(`BLEU = ${bleu.score.toFixed(2)} ${bleu.precisions.map((p) => p.toFixed(1)).join('/')} (BP = ${bleu.bp.toFixed(3)} ratio = ${(bleu.ref_len ? bleu.sys_len / bleu.ref_len : 0).toFixed(3)} hyp_len = ${bleu.sys_len} ref_len = ${bleu.ref_len})`);
      console.log(`      ${bleu.signature}`);
      console.log('ROUGE (mean over pairs)  precision  recall  F-measure');
      for (const [type, v] of Object.entries(rouge)) console.log(`  ${type.padEnd(22)} ${pct(v.precision)}  ${pct(v.recall)}  ${pct(v.fmeasure)}`);
      if (semsim) console.log(`semantic similarity = ${semsim.mean.toFixed(4)} (cosine, ${semsim.pooling} pooling, ${semsim.model})`);
      if (flags.perExample) console.log(`per-pair scores: ${flags.perExample}`);
    });
}
