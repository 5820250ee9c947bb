// The report's one error type: a bad run or a bad combination of runs, named with the fix.
export class ReportInputError extends Error {
  override name = 'ReportInputError';
}
