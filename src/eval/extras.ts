// What reports add beside the paper's table, each in its own JSON key and Markdown section: answer
// hygiene (`answers`, src/eval/answers.ts), narrative-item consistency and text metrics by item hit
// (`consistency`, `text_by_hit`, src/eval/consistency.ts), the leakage audit (`leakage`,
// src/eval/leakage.ts over src/data/audit.ts). Computed from the (merged) part, so merge
// and a single run report the same.
import type { AnswerCounts } from '../models/answers.js';
import { answersJson, answersMarkdown } from './answers.js';
import { consistencyMarkdown, consistencyOf, textByHit, type KindConsistency, type TextSplit } from './consistency.js';
import type { EvalPart, EvalSettings } from './evaluate.js';
import type { LeakageCounts } from '../data/audit.js';
import { leakageJson, leakageLine } from './leakage.js';

export interface ReportExtras {
  answers?: AnswerCounts;
  textByHit?: Record<string, { hit: TextSplit; miss: TextSplit }>;
  consistency?: Record<string, KindConsistency>;
  leakage?: LeakageCounts;
}

export async function buildExtras(part: EvalPart): Promise<ReportExtras> {
  const out: ReportExtras = { answers: part.answers, leakage: part.leakage };
  if (Object.keys(part.text).length) {
    out.textByHit = textByHit(part);
    out.consistency = consistencyOf(part);
  }
  return out;
}

/** The extras' JSON keys of one report row. */
export function extrasJson(r: { extras?: ReportExtras; settings: EvalSettings }): Record<string, unknown> {
  const e = r.extras ?? {};
  return {
    ...(e.answers ? { answers: answersJson(e.answers, r.settings) } : {}),
    ...(e.textByHit ? { text_by_hit: e.textByHit } : {}),
    ...(e.consistency ? { consistency: e.consistency } : {}),
    ...(e.leakage ? { leakage: leakageJson(e.leakage, r.settings) } : {}),
  };
}

/** The extras' Markdown sections over the report rows. */
export function extrasMarkdown(reports: readonly { row: string; extras?: ReportExtras; settings: EvalSettings }[]): string[] {
  // One leakage line: the rows share their examples (the critique line says whether it was shown in the last row).
  const last = [...reports].reverse().find((r) => r.extras?.leakage);
  return [
    ...(last ? ['', leakageLine(last.extras!.leakage!, last.settings)] : []),
    ...answersMarkdown(reports.map((r) => ({ row: r.row, answers: r.extras?.answers, settings: r.settings }))),
    ...consistencyMarkdown(reports.map((r) => ({ row: r.row, textByHit: r.extras?.textByHit, consistency: r.extras?.consistency }))),
  ];
}
