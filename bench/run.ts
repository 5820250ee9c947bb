// Benchmark entry: `npm run bench -- <suite> [options]`. Benchmarks report; they never fail a build.
import { benchAnswers } from './answers.js';
import { benchBaselines } from './baselines.js';
import { benchCi } from './ci.js';
import { benchCuda } from './cuda.js';
import { benchData } from './data.js';
import { benchEval } from './eval.js';
import { benchLumen } from './lumen.js';
import { benchNarrator } from './narrator.js';
import { benchPrompts } from './prompts.js';
import { benchScoring } from './scoring.js';
import { benchText } from './text.js';
import { benchTrain } from './train.js';
import { benchXent } from './xent.js';

const suites: Record<string, (args: string[]) => Promise<void>> = {
  scoring: benchScoring,
  ci: benchCi,
  data: benchData,
  eval: benchEval,
  text: benchText,
  train: benchTrain,
  lumen: benchLumen,
  cuda: benchCuda,
  baselines: benchBaselines,
  answers: benchAnswers,
  narrator: benchNarrator,
  prompts: benchPrompts,
  xent: benchXent,
};

const [name, ...args] = process.argv.slice(2);
const suite = name ? suites[name] : undefined;
if (!suite) {
  console.error(`usage: npm run bench -- <suite> [options]\nsuites: ${Object.keys(suites).join(', ')}`);
  process.exit(2);
}
await suite(args);
