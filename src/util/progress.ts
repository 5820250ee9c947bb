// Progress of long jobs. The library reports through a callback and prints nothing; the CLI draws it
// (src/cli/progress.ts).

export interface ProgressEvent {
  /** What is running: "reading office.jsonl", "writing cache". */
  phase: string;
  done: number;
  /** 0 when unknown. */
  total: number;
  unit: 'bytes' | 'users' | 'rows' | 'tables';
  /** A rate or state to show beside the count ("412 tokens/s"). */
  note?: string;
}

export type ProgressFn = (e: ProgressEvent) => void;

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
