// What reports add beside the paper's table, each in its own JSON key and Markdown section: answer
// hygiene (`answers`, src/eval/answers.ts), narrative-item consistency and text metrics by item hit
// (`consistency`, `text_by_hit`, src/eval/consistency.ts). Computed from the (merged) part, so merge
// and a single run report the same.
import type { AnswerCounts } from '../models/answers.js';
import { answersJson, answersMarkdown } from './answers.js';
import { consistencyMarkdown, consistencyOf, textByHit, type KindConsistency, type TextSplit } from './consistency.js';
import type { EvalPart, EvalSettings } from './evaluate.js';

export interface ReportExtras {
  answers?: AnswerCounts;
  textByHit?: Record<string, { hit: TextSplit; miss: TextSplit }>;
  consistency?: Record<string, KindConsistency>;
}

export async function buildExtras(part: EvalPart): Promise<ReportExtras> {
  const out: ReportExtras = { answers: part.answers };
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
  };
}

/** The extras' Markdown sections over the report rows. */
export function extrasMarkdown(reports: readonly { row: string; extras?: ReportExtras; settings: EvalSettings }[]): string[] {
  return [
    ...answersMarkdown(reports.map((r) => ({ row: r.row, answers: r.extras?.answers, settings: r.settings }))),
    ...consistencyMarkdown(reports.map((r) => ({ row: r.row, textByHit: r.extras?.textByHit, consistency: r.extras?.consistency }))),
  ];
}
