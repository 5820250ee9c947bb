// What reports add beside the paper's table, each in its own JSON key and Markdown section: answer
// hygiene (`answers`, src/eval/answers.ts). Computed from the (merged) part, so merge and a single run
// report the same.
import type { AnswerCounts } from '../models/answers.js';
import { answersJson, answersMarkdown } from './answers.js';
import type { EvalPart, EvalSettings } from './evaluate.js';

export interface ReportExtras {
  answers?: AnswerCounts;
}

export async function buildExtras(part: EvalPart): Promise<ReportExtras> {
  return { answers: part.answers };
}

/** The extras' JSON keys of one report row. */
export function extrasJson(r: { extras?: ReportExtras; settings: EvalSettings }): Record<string, unknown> {
  const e = r.extras ?? {};
  return { ...(e.answers ? { answers: answersJson(e.answers, r.settings) } : {}) };
}

/** The extras' Markdown sections over the report rows. */
export function extrasMarkdown(reports: readonly { row: string; extras?: ReportExtras; settings: EvalSettings }[]): string[] {
  return [...answersMarkdown(reports.map((r) => ({ row: r.row, answers: r.extras?.answers, settings: r.settings })))];
}
