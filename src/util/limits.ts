// Every limit on the size of an input, in one place: its default, the environment variable that
// raises it, and the command-line flag where a command reads such input. Readers check their input
// against these before they allocate for it, so memory follows the limits, not the input, and a
// file over a limit is an error that names the file, the line, the limit and how to raise it.
// The README's "Limits" table lists the same entries.

export interface LimitSpec {
  /** Environment variable that sets it (a positive number). */
  readonly env: string;
  /** The flag that sets it for one command, where commands take one. */
  readonly flag?: string;
  readonly default: number;
  /** How values read in messages: 'bytes' prints MiB, 'share' a percentage. */
  readonly unit: 'bytes' | 'count' | 'share';
  /** What is limited, in words ("bytes in one line"). */
  readonly what: string;
  /** What follows the limit's value in a message: "64 MiB in one line". */
  readonly per: string;
  readonly max: number;
}

const MiB = 2 ** 20;

export const LIMITS = {
  /** One line of a text input; V8's strings stop at 2^29 - 24 characters, so this stays below it. */
  lineBytes: { env: 'REGEN_MAX_LINE_BYTES', flag: '--max-line-bytes', default: 64 * MiB, unit: 'bytes', what: 'bytes in one line', per: 'in one line', max: 512 * MiB - 64 },
  /** Nesting of arrays and objects in one JSON value (a REGEN record nests 4 deep). */
  jsonDepth: { env: 'REGEN_MAX_JSON_DEPTH', default: 64, unit: 'count', what: 'levels of nested arrays and objects in one JSON value', per: 'levels of nesting in one JSON value', max: 100_000 },
  /** Tokens of one text segment scored by BLEU or ROUGE (LCS time grows with the product of two segments). */
  segmentTokens: {
    env: 'REGEN_MAX_SEGMENT_TOKENS',
    flag: '--max-segment-tokens',
    default: 100_000,
    unit: 'count',
    what: 'tokens in one text segment (runs of letters or digits, plus every other non-space character)',
    per: 'tokens in one text',
    max: 2 ** 30,
  },
  /** Values of one matrix read from a file (embeddings, checkpoint heads): 4 bytes each in memory. */
  tableValues: { env: 'REGEN_MAX_TABLE_VALUES', default: 2 ** 31, unit: 'count', what: 'values in one embedding matrix or tensor', per: 'values in one matrix', max: 2 ** 40 },
  /** A file read whole (id lists, JSON files, pairs files hold one string per field). */
  fileBytes: { env: 'REGEN_MAX_FILE_BYTES', default: 1024 * MiB, unit: 'bytes', what: 'bytes in a file that is read whole (id lists, JSON files)', per: 'for a file read whole', max: 2 ** 31 - 1 },
  /** The JSON header of a .npy or .safetensors file. */
  headerBytes: { env: 'REGEN_MAX_HEADER_BYTES', default: 100 * MiB, unit: 'bytes', what: 'bytes in the header of a .npy or .safetensors file', per: 'for a .npy or .safetensors header', max: 2 ** 31 - 1 },
  /** Bootstrap resamples x statistics held at once (8 bytes each). */
  bootstrapValues: { env: 'REGEN_MAX_BOOTSTRAP_VALUES', default: 2 ** 27, unit: 'count', what: 'bootstrap resamples x statistics (8 bytes each)', per: 'resamples x statistics', max: 2 ** 33 },
  /**
   * The share of bad lines or ids in an input above which eval, merge and compare exit non-zero
   * (the report is still written) unless --allow-bad-input.
   */
  badShare: { env: 'REGEN_MAX_BAD_SHARE', flag: '--allow-bad-input', default: 0.01, unit: 'share', what: 'share of bad lines or ids in an input', per: 'of the lines or ids bad', max: 1 },
} as const satisfies Record<string, LimitSpec>;

export type LimitName = keyof typeof LIMITS;

const overrides = new Map<LimitName, number>();

/** The limit in force: set by setLimit (a command's flag), else its environment variable, else the default. */
export function limit(name: LimitName): number {
  const set = overrides.get(name);
  if (set !== undefined) return set;
  const spec: LimitSpec = LIMITS[name];
  const raw = process.env[spec.env];
  if (raw === undefined || raw.trim() === '') return spec.default;
  const value = Number(raw);
  const ok = spec.unit === 'share' ? value >= 0 && value <= 1 : Number.isInteger(value) && value >= 1 && value <= spec.max;
  if (!ok)
    throw new LimitError(
      name,
      `${spec.env}=${raw} is not a valid limit: expected ${spec.unit === 'share' ? 'a share in [0, 1] (e.g. 0.05)' : `an integer in [1, ${spec.max}]`} (${spec.what}; default ${formatLimit(name, spec.default)})`,
    );
  return value;
}

/** Sets a limit for this process (a command's flag); undefined restores the environment's or the default. */
export function setLimit(name: LimitName, value: number | undefined): void {
  if (value === undefined) overrides.delete(name);
  else overrides.set(name, value);
}

export function formatLimit(name: LimitName, value = limit(name)): string {
  const spec: LimitSpec = LIMITS[name];
  if (spec.unit === 'bytes') return value >= MiB && value % MiB === 0 ? `${value / MiB} MiB` : `${value.toLocaleString('en-US')} bytes`;
  if (spec.unit === 'share') return `${+(value * 100).toFixed(4)}%`;
  return value.toLocaleString('en-US');
}

/** How to raise a limit, for messages: "raise it with REGEN_MAX_LINE_BYTES=N (or --max-line-bytes N)". */
export function howToRaise(name: LimitName): string {
  const spec: LimitSpec = LIMITS[name];
  if (spec.unit === 'share') return `accept it with --allow-bad-input, or set ${spec.env} (a share in [0, 1])`;
  return `raise it with ${spec.env}=N${spec.flag ? ` (or ${spec.flag} N)` : ''}`;
}

/** An input over a limit: names where (file:line), what, the limit and how to raise it. */
export class LimitError extends Error {
  override name = 'LimitError';
  constructor(
    readonly limit: LimitName,
    message: string,
  ) {
    super(message);
  }
}

/**
 * Throws a LimitError when `value` exceeds the limit: "<where>: <subject> exceeds the limit of 64 MiB
 * bytes in one line; raise it with REGEN_MAX_LINE_BYTES=N (or --max-line-bytes N)".
 */
export function checkLimit(name: LimitName, value: number, where: string, subject: string): void {
  const max = limit(name);
  if (value <= max) return;
  throw new LimitError(name, `${where}: ${subject} is over the limit (${formatLimit(name, max)} ${(LIMITS[name] as LimitSpec).per}); ${howToRaise(name)}`);
}

/**
 * Bootstrap resamples x statistics held at once (8 bytes each): a RangeError in the engine's
 * "Expected X for Y but received Z" form, naming `name` (e.g. options.samples), past the limit.
 */
export function checkBootstrapSize(samples: number, columns: number, name: string): void {
  const max = limit('bootstrapValues');
  if (samples * columns <= max) return;
  throw new RangeError(
    `Expected ${name} x statistics to be at most ${formatLimit('bootstrapValues', max)} (${LIMITS.bootstrapValues.what}; ${howToRaise('bootstrapValues')}) ` +
      `but received ${samples.toLocaleString('en-US')} x ${columns.toLocaleString('en-US')}`,
  );
}
