// Answer hygiene in reports (JSON `answers`, a Markdown table): the counts of src/models/answers.ts
// summed over a part, their rates, and how each kind of entry counted in the ranking metrics.
import { addAnswerCounts, ANSWER_FLAWS, emptyAnswerCounts, type AnswerCounts } from '../models/answers.js';
import type { EvalPart, EvalSettings } from './evaluate.js';

/** The parts' answer counts summed; null when any part lacks them (written before answer hygiene). */
export function mergeAnswers(parts: readonly Pick<EvalPart, 'answers'>[]): AnswerCounts | undefined {
  if (parts.length === 0 || parts.some((p) => !p.answers)) return undefined;
  return parts.reduce((acc, p) => addAnswerCounts(acc, p.answers!), emptyAnswerCounts());
}

/** How each kind of entry counted in Recall@k, NDCG@k and MRR (the report says so beside the counts). */
export function countedAs(s: Pick<EvalSettings, 'excludeHistory'>): Record<string, string> {
  return {
    unresolved: 'holds its place in the list as a wrong item',
    ambiguous: 'holds its place in the list as a wrong item (never credited, even when the target is among its items)',
    duplicates: 'dropped: the first entry of an item counts, later entries move up',
    history: s.excludeHistory ? 'removed with the history (excluded), later entries move up' : 'ranked like any item (history kept)',
    short_lists: 'ranked as given: a target outside the list is a miss',
  };
}

const share = (a: number, b: number) => (b > 0 ? a / b : 0);

/** The report's JSON `answers`. */
export function answersJson(c: AnswerCounts, s: Pick<EvalSettings, 'excludeHistory' | 'k'>): Record<string, unknown> {
  const rates: Record<string, number> = {};
  for (const key of ['resolved_id', 'resolved_title', 'resolved_fuzzy', 'ambiguous', 'unresolved', 'duplicates', 'history'] as const) rates[key] = share(c[key], c.entries);
  rates.short_lists = share(c.short_lists, c.lines);
  const perExample: Record<string, { examples: number; share: number; mean_rate: number }> = {};
  for (const f of ANSWER_FLAWS) perExample[f] = { examples: c.examples_with[f], share: share(c.examples_with[f], c.lines), mean_rate: share(c.rate_sums[f], c.lines) };
  return {
    entries: c.entries,
    resolved_id: c.resolved_id,
    resolved_title: c.resolved_title,
    resolved_fuzzy: c.resolved_fuzzy,
    ambiguous: c.ambiguous,
    unresolved: c.unresolved,
    duplicates: c.duplicates,
    history: c.history,
    short_lists: c.short_lists,
    lines: c.lines,
    k: s.k,
    ambiguous_with_target: c.ambiguous_with_target,
    rates,
    per_example: perExample,
    counted_as: countedAs(s),
  };
}

const pct = (x: number) => `${(100 * x).toFixed(1)}%`;
const n = (x: number) => x.toLocaleString('en-US');

/** Markdown: one row per report row (the lists differ between the rows of a computed model). */
export function answersMarkdown(rows: readonly { row: string; answers: AnswerCounts | undefined; settings: EvalSettings }[]): string[] {
  const withCounts = rows.filter((r) => r.answers);
  if (withCounts.length === 0) return [];
  const s = withCounts[0].settings;
  const out = [
    '',
    `## Answers (list entries as the model wrote them; short lists: fewer than ${s.k} rankable items)`,
    '',
    '| Task | entries | by id | by title | fuzzy | ambiguous | unresolved | duplicates | history | short lists |',
    '|---|---|---|---|---|---|---|---|---|---|',
  ];
  for (const { row, answers: c } of withCounts) {
    const e = c!.entries;
    const cell = (x: number, of = e) => `${n(x)} (${pct(share(x, of))})`;
    out.push(
      `| ${row} | ${n(e)} | ${cell(c!.resolved_id)} | ${cell(c!.resolved_title)} | ${cell(c!.resolved_fuzzy)} | ${cell(c!.ambiguous)} | ${cell(c!.unresolved)} | ${cell(c!.duplicates)} | ${cell(c!.history)} | ${cell(c!.short_lists, c!.lines)} of ${n(c!.lines)} lists |`,
    );
  }
  const how = countedAs(s);
  out.push(
    '',
    `In the metrics: an unresolved or ambiguous entry ${how.unresolved}; a duplicate is ${how.duplicates}; a history item is ${how.history}; a short list is ${how.short_lists}.`,
  );
  const amb = withCounts.reduce((a, r) => a + r.answers!.ambiguous_with_target, 0);
  if (amb) out.push(`${n(amb)} ambiguous entries had the target among their items (not credited).`);
  return out;
}
