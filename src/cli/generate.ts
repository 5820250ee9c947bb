// `regen-bench generate`: parses flags and calls src/models/lumen/generate.ts; no logic of its own.
import { existsSync, statSync } from 'node:fs';
import path from 'node:path';

import { Command, Option } from 'commander';

import { NARRATIVE_KINDS } from '../data/dataset.js';
import type { Device } from '../engine/engine.js';
import { generatePredictions, type GenerateResult } from '../models/lumen/generate.js';
import { NARRATIVE_NAMES } from '../tasks/prompts.js';
import type { SplitName, TaskId } from '../tasks/examples.js';
import { dataFlags, dataOptions, flags, intIn, narrativeList, type DataFlags } from './flags.js';
import { withProgress } from './progress.js';

interface GenerateFlags extends DataFlags {
  model: string;
  task: TaskId;
  narrative?: string;
  split: SplitName;
  batch: number;
  out: string;
  gpu?: Device;
  maxNewTokens: number;
  temperature: number;
  topK: number;
  topP: number;
  seed: number;
  k: number;
  limit?: number;
  maxWords?: number;
  precision: 'fp32' | 'bf16';
  json?: boolean;
}

function formatResult(r: GenerateResult): string {
  const n = (x: number) => x.toLocaleString('en-US');
  const t = r.timing;
  const decodeMs = t.forwardMs + t.stepMs + t.otherMs;
  const pct = (x: number) => `${((100 * x) / Math.max(decodeMs, 1e-9)).toFixed(1)}%`;
  const s = r.sampling;
  const how = s.temperature === 0 ? 'greedy' : `sampled (temperature ${s.temperature}${s.topK ? `, top-k ${s.topK}` : ''}${s.topP < 1 ? `, top-p ${s.topP}` : ''}, seed ${s.seed})`;
  const out = [
    `wrote ${r.file}: ${n(r.lines)} lines (task ${r.task}, ${r.split} split${r.narratives.length ? `, ${r.narratives.join(', ')}` : ''}; ${how}) in ${r.seconds.toFixed(1)} s`,
    `  decoding: ${n(r.tokens)} tokens, ${r.tokensPerSecond.toFixed(0)} tokens/s; prefill ${(t.prefillMs / 1000).toFixed(1)} s; per step: ONNX forward ${pct(t.forwardMs)}, native step ${pct(t.stepMs)}, other ${pct(t.otherMs)}`,
    `  stops: ${Object.entries(r.stops).filter(([, v]) => v > 0).map(([k, v]) => `${k} ${n(v)}`).join(', ')}`,
    `  backend: decoder body ${r.backend.body}, step ${r.backend.step}; model ${r.model.dir} (${r.model.fingerprint})`,
    ...r.notes.map((note) => `  note: ${note}`),
    `next: regen-bench eval --predictions ${r.file} --task ${r.task}${r.split !== 'test' ? ` --split ${r.split}` : ''}`,
  ];
  return out.join('\n');
}

export function registerGenerateCommand(program: Command): void {
  const kinds = NARRATIVE_KINDS.map((k) => NARRATIVE_NAMES[k]).join(', ');
  dataFlags(
    program
      .command('generate')
      .description("decode a LUMEN checkpoint (ONNX decoder body + text head + item table) over a task's examples into a predictions file for eval")
      .requiredOption('--model <dir>', 'the LUMEN checkpoint folder (config.json, decoder.onnx, heads.safetensors, item_ids.txt, tokenizer files)'),
  )
    .addOption(flags.task())
    .addOption(flags.narrative(`task 3: narrative kinds, comma-separated, or "all" (${kinds}); default purchase_reason`))
    .addOption(flags.split('examples: the test split (tasks 1-3) or valid (tasks 1 and 2)'))
    .addOption(flags.batch())
    .option('--out <file.jsonl>', 'predictions file (written under a temporary name, renamed when complete)', 'predictions.jsonl')
    .addOption(
      flags.gpu('use CUDA device n (or "auto"): the decoder body (onnxruntime CUDA provider) and the decoding step (CUDA backend); each on the CPU when unavailable, and said so'),
    )
    .addOption(flags.maxNewTokens('tokens generated per row at most, the item included'))
    .addOption(flags.temperature())
    .addOption(flags.topK())
    .addOption(flags.topP())
    .addOption(flags.seed('seed of the draws (sampling)'))
    .addOption(flags.k('length of each ranked item list', 10))
    .addOption(new Option('--limit <n>', 'only the first n examples of the split').argParser(intIn('--limit', 1)))
    .addOption(flags.maxWords())
    .addOption(flags.precision('heads in the native step: fp32, or bf16 (CPUs with AVX512-BF16; GPUs of compute capability 8.0+)').default('fp32'))
    .option('--json', 'print the summary as JSON')
    .action(async (f: GenerateFlags) => {
      if (existsSync(f.out) && statSync(f.out).isDirectory())
        throw new Error(`--out ${f.out} is a folder; give a file name such as ${path.join(f.out, 'predictions.jsonl')}`);
      const result = await withProgress((progress) =>
        generatePredictions({
          model: f.model,
          data: f.data,
          dataOptions: dataOptions(f),
          task: f.task,
          split: f.split,
          narratives: narrativeList(f.narrative),
          out: f.out,
          batch: f.batch,
          gpu: f.gpu === undefined ? undefined : f.gpu === 'auto' ? 'auto' : f.gpu === 'cpu' ? undefined : f.gpu.gpu,
          maxNewTokens: f.maxNewTokens,
          sampling: { temperature: f.temperature, topK: f.topK, topP: f.topP, seed: f.seed },
          k: f.k,
          limit: f.limit,
          maxWords: f.maxWords,
          precision: f.precision,
          progress,
          log: (line) => process.stderr.write(`${line}\n`),
        }),
      );
      console.log(f.json ? JSON.stringify(result, null, 2) : formatResult(result));
    });
}
