// The leakage line of every report (JSON `leakage`): the audit of src/data/audit.ts over the report's
// examples, the same counts `regen-bench data audit` prints for the whole split.
import { ITEM_NARRATIVES, NARRATIVE_KINDS, NARRATIVE_NAMES } from '../data/dataset.js';
import type { LeakageCounts } from '../data/audit.js';
import type { EvalSettings } from './evaluate.js';

export function leakageJson(c: LeakageCounts, s: Pick<EvalSettings, 'task' | 'critiques'>): Record<string, unknown> {
  return {
    examples: c.examples,
    repeat_target: c.repeat_target,
    critique_names_target: c.critique_names_target,
    critique_shown: s.task !== 1 && s.critiques,
    narrative_names_target: Object.fromEntries(NARRATIVE_KINDS.map((k) => [NARRATIVE_NAMES[k], c.narrative_names_target[k]])),
    sequence_in_train: c.sequence_in_train,
    sequence_equals_train: c.sequence_equals_train,
    target_in_future_train: c.target_in_future_train,
    target_only_in_future: c.target_only_in_future,
    unknown_time: c.unknown_time,
  };
}

const n = (x: number) => x.toLocaleString('en-US');

/** One line for the Markdown report. */
export function leakageLine(c: LeakageCounts, s: Pick<EvalSettings, 'task' | 'critiques'>): string {
  const pct = (x: number) => (c.examples ? ` (${((100 * x) / c.examples).toFixed(1)}%)` : '');
  const user = NARRATIVE_KINDS.filter((k) => !ITEM_NARRATIVES.includes(k))
    .map((k) => `${NARRATIVE_NAMES[k]} ${n(c.narrative_names_target[k])}`)
    .join(', ');
  const shown = s.task !== 1 && s.critiques ? 'shown in this row' : 'not shown in this row';
  return (
    `Leakage audit (regen-bench data audit) of the ${n(c.examples)} examples: repeat targets ${n(c.repeat_target)}${pct(c.repeat_target)}; ` +
    `critiques naming the target ${n(c.critique_names_target)} (${shown}); user narratives naming the target: ${user}; ` +
    `sequences inside another user's training sequence ${n(c.sequence_in_train)}${pct(c.sequence_in_train)}, identical to one ${n(c.sequence_equals_train)}; ` +
    `targets bought by others in training after the target's time ${n(c.target_in_future_train)}${pct(c.target_in_future_train)}, only after it ${n(c.target_only_in_future)}${pct(c.target_only_in_future)}` +
    (c.unknown_time ? `; ${n(c.unknown_time)} without a time (not checked)` : '') +
    '.'
  );
}
