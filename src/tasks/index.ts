// The tasks layer's public API (re-exported by the package root): examples and prompts.
export { buildExamples, ExampleSet } from './examples.js';
export type { Example, SplitName, TaskId } from './examples.js';
export {
  buildPrompts,
  countWords,
  DEFAULT_PROMPT_BUDGET,
  emptyPromptReport,
  ID_TOKEN,
  ITEM_SLOT,
  NARRATIVE_NAMES,
  parseNarrativeKind,
  PROMPT_FIELDS,
  PROMPT_SPLITS,
  PROMPT_TEMPLATES,
  promptRows,
  PromptSet,
  resolvePromptOptions,
  tallyPromptLine,
  TRUNCATION_MARK,
  truncateWords,
  writePrompts,
} from './prompts.js';
export type {
  PromptBudget,
  PromptField,
  PromptLine,
  PromptOptions,
  PromptReport,
  PromptRows,
  PromptSplit,
  PromptTemplate,
  ResolvedPromptOptions,
  WritePromptsResult,
} from './prompts.js';
