// How the command line shows progress and handles interrupts: a bar on a terminal, or a plain line
// every few seconds otherwise (logs, CI), always on stderr so that stdout stays clean for results;
// Ctrl-C (or SIGTERM) stops the bar, removes every half-written file of this process, and exits 130.
import cliProgress from 'cli-progress';

import { removeTempsInFlight } from '../util/files.js';
import type { ProgressEvent, ProgressFn } from '../util/progress.js';

const fmt = (n: number, unit: ProgressEvent['unit']) =>
  unit === 'bytes' ? `${(n / 2 ** 20).toFixed(n < 2 ** 30 ? 1 : 0)} MiB` : n.toLocaleString('en-US');

/** "42 s", "3 min 04 s", "1 h 02 min". */
export function formatSeconds(seconds: number): string {
  const s = Math.round(seconds);
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${String(s % 60).padStart(2, '0')} s`;
  return `${Math.floor(s / 3600)} h ${String(Math.floor((s % 3600) / 60)).padStart(2, '0')} min`;
}

/**
 * Time left in a phase, from its own rate so far; empty until it is worth saying (a second in, some
 * work done, a known total). cli-progress's own eta mixes phases and shows "NULL" or "INF" at the start.
 */
export function etaText(done: number, total: number, elapsedMs: number): string {
  if (!(total > 0) || !(done > 0) || done >= total || elapsedMs < 1000) return '';
  return `, eta ${formatSeconds(((elapsedMs / done) * (total - done)) / 1000)}`;
}

/** A progress reporter for the terminal (stderr). Call `stop()` when done. */
export function consoleProgress(stream: NodeJS.WriteStream = process.stderr): ProgressFn & { stop(): void } {
  let phase = '';
  let bar: cliProgress.SingleBar | null = null;
  let lastLine = 0;
  let lastTotal = 0;
  let phaseStart = Date.now();
  const started = Date.now();
  const stopBar = () => {
    if (bar) bar.stop();
    bar = null;
  };
  const payload = (e: ProgressEvent) => ({
    value_f: fmt(e.done, e.unit),
    total_f: e.total ? fmt(e.total, e.unit) : '?',
    note: e.note ? `, ${e.note}` : '',
    eta_f: etaText(e.done, e.total, Date.now() - phaseStart),
  });
  const fn = ((e: ProgressEvent) => {
    if (e.phase !== phase) phaseStart = Date.now();
    if (stream.isTTY) {
      if (e.phase !== phase || e.total !== lastTotal) {
        stopBar();
        phase = e.phase;
        lastTotal = e.total;
        // Without a known total there is no bar to fill: the count alone.
        bar = new cliProgress.SingleBar(
          {
            stream,
            format: e.total > 0 ? `${e.phase} [{bar}] {percentage}% {value_f}/{total_f}{eta_f}{note}` : `${e.phase} {value_f}{note}`,
            hideCursor: true,
            fps: 5,
          },
          cliProgress.Presets.shades_classic,
        );
        bar.start(Math.max(e.total, 1), Math.min(e.done, Math.max(e.total, 1)), payload(e));
      }
      bar!.update(e.total > 0 ? e.done : 0, payload(e));
      return;
    }
    // Plain lines: at a new phase, then at most every 5 s.
    const now = Date.now();
    if (e.phase !== phase || now - lastLine >= 5000) {
      phase = e.phase;
      lastLine = now;
      const pct = e.total ? ` (${((100 * e.done) / e.total).toFixed(1)}%)` : '';
      stream.write(`${e.phase}: ${fmt(e.done, e.unit)}${e.total ? ` of ${fmt(e.total, e.unit)}` : ''}${pct}, ${((now - started) / 1000).toFixed(0)} s${etaText(e.done, e.total, now - phaseStart)}${e.note ? `, ${e.note}` : ''}\n`);
    }
  }) as ProgressFn & { stop(): void };
  fn.stop = stopBar;
  return fn;
}

/**
 * Runs a command's work with a progress display. On SIGINT or SIGTERM the display stops, the temporary
 * files and folders this process was writing are removed (finished outputs are untouched: they were
 * renamed into place), and the process exits with 130.
 */
export async function withProgress<T>(fn: (progress: ProgressFn) => Promise<T>, interrupted = 'nothing half-written was kept'): Promise<T> {
  const progress = consoleProgress();
  const interrupt = () => {
    progress.stop();
    removeTempsInFlight();
    process.stderr.write(`\ninterrupted: ${interrupted}\n`);
    process.exit(130);
  };
  process.once('SIGINT', interrupt);
  process.once('SIGTERM', interrupt);
  try {
    return await fn(progress);
  } finally {
    progress.stop();
    process.removeListener('SIGINT', interrupt);
    process.removeListener('SIGTERM', interrupt);
  }
}

/** A (done, total) callback drawn as `label` (for the text metrics' onProgress). */
export function progressReporter(label: string, stream: NodeJS.WriteStream = process.stderr): (done: number, total: number) => void {
  const progress = consoleProgress(stream);
  return (done, total) => {
    progress({ phase: label, done, total, unit: 'rows' });
    if (done >= total) progress.stop();
  };
}
