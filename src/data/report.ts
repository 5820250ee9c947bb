// What a load found wrong with its input. Every skipped or repaired record is counted under a kind,
// with a few file:line samples; with `strict` the first one is fatal instead. Keys a reader does not
// recognise are reported apart (they are not errors: the REGEN release format is only partly known).
import { OptionError, type OptionMessage } from '../util/option-error.js';

/** The bad-input kinds of the data layer. */
export const ISSUE_KINDS = {
  'malformed-line': 'a line that does not parse',
  'missing-field': 'a required field is absent or empty',
  'bad-value': 'a field has the wrong type or an impossible value',
  'unknown-item': 'an item id that the item table does not have',
  'unknown-user': 'a user id that the dataset does not have',
  'duplicate-user': 'a user that already appeared earlier',
  'empty-sequence': 'a user with no usable purchases',
  'truncated-gzip': 'a gzip stream that ends early or is corrupt',
  'gzip-trailing-data': 'bytes after the last complete gzip member that are not gzip data',
  'numeric-id': 'an id given as a JSON number instead of a string',
  'unknown-key': 'a key the reader does not know (ignored)',
  'inconsistent-record': 'a record that contradicts an earlier one',
  'duplicate-item': 'an item described twice in the metadata',
} as const;

export type IssueKind = keyof typeof ISSUE_KINDS;

export interface IssueSummary {
  kind: IssueKind;
  count: number;
  /** What the reader did with such records ("line skipped", "kept with rating 0", ...). */
  action: string;
  /** Up to SAMPLE_LIMIT examples: "file:line: message". */
  samples: string[];
}

export interface UnknownKey {
  /** The key's path with array indices elided: "$.purchase_history[].item.brand". */
  path: string;
  count: number;
  /** One occurrence: "office.jsonl:17 $.purchase_history[3].item.brand". */
  sample: string;
}

/**
 * A file a model or an evaluation read: named in the signature by its content hash, and with its
 * problems in the report's input_problems section. `records` counts what the file holds (non-blank
 * lines, rows), `ids` the ids it lists; `bad*` those that were skipped or could not be used.
 */
export interface InputFile {
  /** What the file is to the run: predictions, queries, items, item ids, query ids, dataset, ... */
  role: string;
  /** The path as given. */
  file: string;
  /** sha256 of the content (of the whole folder's files, for a folder). */
  sha256: string;
  records?: number;
  badRecords?: number;
  /** What `records` counts ("lines", "rows"). */
  recordUnit?: string;
  ids?: number;
  badIds?: number;
  issues: IssueSummary[];
}

export interface LoadReport {
  issues: IssueSummary[];
  unknownKeys: UnknownKey[];
  /** Facts about the load worth knowing (detected layouts, defaults taken). */
  notes: string[];
}

const SAMPLE_LIMIT = 5;

/** A data error a user can act on: which file, which line, what is wrong, and how to go on. */
/**
 * Bad input data, or a data option that cannot be used. A message may name options (a function of
 * how the caller calls them: `options.strict`, or `--strict` on the command line; see OptionError).
 */
export class DataError extends OptionError {
  override name = 'DataError';
  constructor(
    message: string | OptionMessage,
    readonly kind?: IssueKind,
    option = '',
  ) {
    super(option, typeof message === 'string' ? () => message : message);
  }
}

export class Issues {
  private readonly byKind = new Map<IssueKind, IssueSummary>();
  private readonly unknown = new Map<string, UnknownKey>();
  readonly notes: string[] = [];

  /**
   * `warn` hears each problem as it happens (the first SAMPLE_LIMIT of each kind, then one line saying
   * that the rest are counted): the CLI prints it on stderr.
   */
  constructor(
    readonly strict = false,
    private readonly warn?: (line: string) => void,
  ) {}

  /**
   * Records one bad record. `where` is "file:line". In strict mode this throws instead, with the fix
   * (drop the strict option to skip and count such records).
   */
  add(kind: IssueKind, where: string, message: string, action: string): void {
    if (this.strict)
      throw new DataError(
        (label) => `${where}: ${message} (${ISSUE_KINDS[kind]}). Fix the input, or run without ${label('strict')} to ${action.replace(/^./, (c) => c.toLowerCase())} and count such records.`,
        kind,
        'strict',
      );
    let s = this.byKind.get(kind);
    if (!s) this.byKind.set(kind, (s = { kind, count: 0, action, samples: [] }));
    s.count++;
    if (s.samples.length < SAMPLE_LIMIT) {
      s.samples.push(`${where}: ${message}`);
      this.warn?.(`warning: ${where}: ${message} (${action.replace(/^./, (c) => c.toLowerCase())})`);
    } else if (s.count === SAMPLE_LIMIT + 1) this.warn?.(`warning: more ${kind} problems in ${where.replace(/:\d+$/, '')}: counted in the report, not shown here`);
  }

  unknownKey(path: string, sample: string): void {
    const u = this.unknown.get(path);
    if (u) u.count++;
    else this.unknown.set(path, { path, count: 1, sample });
  }

  count(kind?: IssueKind): number {
    if (kind) return this.byKind.get(kind)?.count ?? 0;
    let n = 0;
    for (const s of this.byKind.values()) n += s.count;
    return n;
  }

  report(): LoadReport {
    return {
      issues: [...this.byKind.values()].sort((a, b) => a.kind.localeCompare(b.kind)),
      unknownKeys: [...this.unknown.values()].sort((a, b) => b.count - a.count || a.path.localeCompare(b.path)),
      notes: [...this.notes],
    };
  }
}

/** A report as text lines for people. */
export function formatReport(report: LoadReport): string[] {
  const lines: string[] = [];
  if (report.issues.length === 0) lines.push('input problems: none');
  for (const s of report.issues) {
    lines.push(`${s.kind}: ${s.count.toLocaleString('en-US')} (${s.action})`);
    for (const x of s.samples) lines.push(`    ${x}`);
  }
  if (report.unknownKeys.length > 0) {
    lines.push(`unrecognised keys (not loaded; map them with --schema if they matter):`);
    for (const u of report.unknownKeys) lines.push(`    ${u.path}: ${u.count.toLocaleString('en-US')} (e.g. ${u.sample})`);
  }
  for (const n of report.notes) lines.push(`note: ${n}`);
  return lines;
}
