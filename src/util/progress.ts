// Progress of long reads and writes. The library reports through a callback and prints nothing; the
// CLI turns the callback into a bar on a terminal, or into a plain line every few seconds otherwise
// (logs, CI), always on stderr so that stdout stays clean for results.
import cliProgress from 'cli-progress';

export interface ProgressEvent {
  /** What is running: "reading office.jsonl", "writing cache". */
  phase: string;
  done: number;
  /** 0 when unknown. */
  total: number;
  unit: 'bytes' | 'users' | 'rows' | 'tables';
}

export type ProgressFn = (e: ProgressEvent) => void;

const fmt = (n: number, unit: ProgressEvent['unit']) =>
  unit === 'bytes' ? `${(n / 2 ** 20).toFixed(n < 2 ** 30 ? 1 : 0)} MiB` : n.toLocaleString('en-US');

/** A progress reporter for the terminal (stderr). Call `stop()` when done. */
export function consoleProgress(stream: NodeJS.WriteStream = process.stderr): ProgressFn & { stop(): void } {
  let phase = '';
  let bar: cliProgress.SingleBar | null = null;
  let lastLine = 0;
  let lastTotal = 0;
  const started = Date.now();
  const stopBar = () => {
    if (bar) bar.stop();
    bar = null;
  };
  const fn = ((e: ProgressEvent) => {
    if (stream.isTTY) {
      if (e.phase !== phase || e.total !== lastTotal) {
        stopBar();
        phase = e.phase;
        lastTotal = e.total;
        bar = new cliProgress.SingleBar(
          {
            stream,
            format: `${e.phase} [{bar}] {percentage}% {value_f}/{total_f} eta {eta_formatted}`,
            hideCursor: true,
            etaBuffer: 50,
            fps: 5,
          },
          cliProgress.Presets.shades_classic,
        );
        bar.start(Math.max(e.total, 1), e.done, { value_f: fmt(e.done, e.unit), total_f: fmt(e.total, e.unit) });
      }
      bar!.update(e.done, { value_f: fmt(e.done, e.unit), total_f: e.total ? fmt(e.total, e.unit) : '?' });
      return;
    }
    // Plain lines: at a new phase, then at most every 5 s.
    const now = Date.now();
    if (e.phase !== phase || now - lastLine >= 5000) {
      phase = e.phase;
      lastLine = now;
      const pct = e.total ? ` (${((100 * e.done) / e.total).toFixed(1)}%)` : '';
      stream.write(`${e.phase}: ${fmt(e.done, e.unit)}${e.total ? ` of ${fmt(e.total, e.unit)}` : ''}${pct}, ${((now - started) / 1000).toFixed(0)} s\n`);
    }
  }) as ProgressFn & { stop(): void };
  fn.stop = stopBar;
  return fn;
}

/** Calls `fn` at most every `ms` milliseconds (hot loops report often; the bar needs little). */
export function throttle(fn: ProgressFn | undefined, ms = 200): ProgressFn | undefined {
  if (!fn) return undefined;
  let last = 0;
  return (e) => {
    const now = Date.now();
    if (now - last >= ms || (e.total > 0 && e.done >= e.total)) {
      last = now;
      fn(e);
    }
  };
}
