// Errors about the options of a library call, worded for whoever set them: a library user reads
// `options.k`, a command-line user reads `--k`. The library names its own options; the CLI maps each
// option to its flag (src/cli/flags.ts) and asks for the message again.

/** How an option is called: `options.k` in the library, `--k` on the command line. */
export type OptionLabel = (option: string) => string;

export const libraryLabel: OptionLabel = (option) => `options.${option}`;

/** Renders the message, naming options through `label`; `cli` is true when the names are flags. */
export type OptionMessage = (label: OptionLabel, cli: boolean) => string;

/** What every option error has: the option at fault, and its message for another caller. */
export interface OptionProblem {
  /** The library option at fault, e.g. 'k', 'device', 'sampling.topP'. */
  readonly option: string;
  /** The message with every option named through `label` (the CLI's flags). */
  as(label: OptionLabel): string;
}

type ErrorClass = new (...args: any[]) => Error; // eslint-disable-line @typescript-eslint/no-explicit-any

/** `Base` (Error, TypeError or RangeError) with the option at fault and the message's recipe. */
function withOption<B extends ErrorClass>(Base: B) {
  return class extends Base implements OptionProblem {
    option = '';
    /** @internal */
    render: OptionMessage = () => this.message;
    as(label: OptionLabel): string {
      return this.render(label, true);
    }
  };
}

// One class per kind of error the engine's checks throw, so that an option error is still a
// TypeError or RangeError to code that tells those apart.
export class OptionError extends withOption(Error) {
  override name = 'OptionError';
  constructor(option: string, render: OptionMessage) {
    super(render(libraryLabel, false));
    Object.assign(this, { option, render });
  }
}

/** A bad option type (a TypeError, as the engine's argument checks throw). */
export class OptionTypeError extends withOption(TypeError) {
  constructor(option: string, render: OptionMessage) {
    super(render(libraryLabel, false));
    Object.assign(this, { option, render });
  }
}

/** A bad option value (a RangeError, as the engine's argument checks throw). */
export class OptionRangeError extends withOption(RangeError) {
  constructor(option: string, render: OptionMessage) {
    super(render(libraryLabel, false));
    Object.assign(this, { option, render });
  }
}

export function isOptionProblem(e: unknown): e is Error & OptionProblem {
  return e instanceof Error && typeof (e as Partial<OptionProblem>).as === 'function' && typeof (e as Partial<OptionProblem>).option === 'string';
}

/**
 * Runs a validator that names `options.<option>` (the src/engine/validate.ts helpers) and turns its
 * TypeError or RangeError into an OptionError, so the CLI can name its flag instead.
 */
export function checkOption<T>(option: string, check: (name: string) => T): T {
  const name = libraryLabel(option);
  try {
    return check(name);
  } catch (e) {
    if (!(e instanceof TypeError || e instanceof RangeError)) throw e;
    const message = e.message;
    const render: OptionMessage = (label) => message.split(name).join(label(option));
    throw e instanceof TypeError ? new OptionTypeError(option, render) : new OptionRangeError(option, render);
  }
}
