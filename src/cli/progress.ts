// Progress callbacks of the form (done, total) for the CLI, drawn by the shared console reporter
// (a bar on a terminal, plain lines otherwise, on stderr).
import { consoleProgress } from '../util/progress.js';

export function progressReporter(label: string, stream: NodeJS.WriteStream = process.stderr): (done: number, total: number) => void {
  const progress = consoleProgress(stream);
  return (done, total) => {
    progress({ phase: label, done, total, unit: 'rows' });
    if (done >= total) progress.stop();
  };
}
