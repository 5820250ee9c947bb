// `regen-bench prompts`: parses flags and calls src/tasks/prompts.ts; no logic of its own.
import { existsSync, statSync } from 'node:fs';
import path from 'node:path';

import { Command, Option } from 'commander';

import { loadDataset } from '../data/load.js';
import { NARRATIVE_KINDS } from '../data/dataset.js';
import type { TaskId } from '../tasks/examples.js';
import {
  DEFAULT_PROMPT_BUDGET,
  NARRATIVE_NAMES,
  PROMPT_FIELDS,
  PROMPT_SPLITS,
  PROMPT_TEMPLATES,
  resolvePromptOptions,
  writePrompts,
  type PromptField,
  type PromptOptions,
  type PromptSplit,
  type PromptTemplate,
  type WritePromptsResult,
} from '../tasks/prompts.js';
import { dataFlags, dataOptions, flags, intIn, type DataFlags } from './flags.js';
import { withProgress } from './progress.js';

const defaultFieldWords = PROMPT_FIELDS.map((f) => `${f}=${DEFAULT_PROMPT_BUDGET.fields[f]}`).join(',');

function parseFieldWords(value: string): Partial<Record<PromptField, number>> {
  const out: Partial<Record<PromptField, number>> = {};
  for (const pair of value.split(',').filter((p) => p.trim())) {
    const m = /^\s*([a-z]+)\s*=\s*(\d+)\s*$/.exec(pair);
    if (!m || !(PROMPT_FIELDS as readonly string[]).includes(m[1]) || Number(m[2]) < 1)
      throw new Error(
        `--field-words expects field=words pairs (fields ${PROMPT_FIELDS.join(', ')}; words >= 1), e.g. review=128,title=16, but received '${pair.trim()}'`,
      );
    out[m[1] as PromptField] = Number(m[2]);
  }
  return out;
}

interface PromptFlags extends DataFlags {
  task: TaskId;
  narrative?: string;
  split: PromptSplit;
  template: PromptTemplate;
  maxWords?: number;
  fieldWords?: Partial<Record<PromptField, number>>;
  out: string;
  json?: boolean;
}

function formatResult(r: WritePromptsResult, seconds: number): string {
  const n = (x: number) => x.toLocaleString('en-US');
  const what = [`task ${r.task}`, `${r.split} split`, `${r.template} template`, ...(r.narrative ? [r.narrative] : [])].join(', ');
  const out = [`wrote ${r.file}: ${n(r.lines)} lines (${what}), ${(r.bytes / 2 ** 20).toFixed(1)} MiB in ${seconds.toFixed(1)} s`];
  if (r.task !== 1) out.push(`  critiques: ${n(r.withCritique)} of ${n(r.lines)} inputs hold the critique steering to the target`);
  const b = r.budget;
  out.push(`  budgets (words): total ${n(b.total)}; ${PROMPT_FIELDS.map((f) => `${f} ${b.fields[f]}`).join(', ')}`);
  const cut = PROMPT_FIELDS.map((f) => `${f} ${n(r.truncatedFields[f])}`).join(', ');
  out.push(`  truncated: ${n(r.truncatedLines)} lines; fields cut: ${cut}; ${n(r.droppedPurchases)} oldest purchases dropped from ${n(r.linesWithDroppedHistory)} lines`);
  if (r.overBudget) out.push(`  over budget: ${n(r.overBudget)} lines exceed ${n(b.total)} words with one history purchase left (raise --max-words)`);
  if (r.narrative) out.push(`  skipped: ${n(r.skippedNoNarrative)} test users without a ${r.narrative} narrative`);
  return out.join('\n');
}

export function registerPromptsCommand(program: Command): void {
  const kinds = NARRATIVE_KINDS.map((k) => NARRATIVE_NAMES[k]).join(', ');
  dataFlags(
    program
      .command('prompts')
      .description('write LLM prompts (the paper\'s hybrid or LUMEN template) for task 1, 2 or 3 as JSON lines {"input", "target", ...}')
      .addOption(flags.task('task: 1 history -> item, 2 history + critique -> item, 3 history + critique -> item + narrative', null).makeOptionMandatory())
      .option('--narrative <kind>', `task 3 (test split): the narrative to predict: ${kinds}`)
      .addOption(new Option('--split <split>', 'train: every train-part purchase after the first; valid: purchase N-1; test: purchase N').choices(PROMPT_SPLITS).default('test'))
      .addOption(new Option('--template <name>', 'hybrid: item ids in the text; lumen: ID_TOKEN placeholders plus the id list').choices(PROMPT_TEMPLATES).default('hybrid')),
  )
    .addOption(new Option('--max-words <n>', `input budget in words; the oldest purchases are dropped to fit (default ${DEFAULT_PROMPT_BUDGET.total})`).argParser(intIn('--max-words', 1)))
    .addOption(new Option('--field-words <list>', `per-field budgets in words (default ${defaultFieldWords})`).argParser(parseFieldWords))
    .requiredOption('--out <file.jsonl>', 'output file (written under a temporary name, renamed when complete)')
    .option('--json', 'print the summary as JSON')
    .action(async (f: PromptFlags) => {
      const options: PromptOptions = {
        task: f.task,
        template: f.template,
        split: f.split,
        narrative: f.narrative,
        budget: { total: f.maxWords, fields: f.fieldWords },
      };
      resolvePromptOptions(options); // option errors before any data is read
      if (existsSync(f.out) && statSync(f.out).isDirectory())
        throw new Error(`--out ${f.out} is a folder; give a file name such as ${path.join(f.out, 'prompts.jsonl')}`);
      const started = Date.now();
      const result = await withProgress(async (progress) => {
        const dataset = await loadDataset(f.data, { ...dataOptions(f), progress });
        return writePrompts(dataset, f.out, { ...options, progress });
      });
      const seconds = (Date.now() - started) / 1000;
      if (result.written) process.stderr.write(`${result.written}\n`);
      console.log(f.json ? JSON.stringify({ ...result, seconds }, null, 2) : formatResult(result, seconds));
    });
}
