// LUMEN-style dual-vocabulary decoding (re-exported by the package root).
export { LumenCheckpoint } from './checkpoint.js';
export type { LoadOptions as LumenLoadOptions, Tokenizer as LumenTokenizer } from './checkpoint.js';
export { LUMEN_FORMAT, LUMEN_FORMAT_VERSION, LumenCheckpointError, readLumenConfig } from './config.js';
export type { LumenConfig } from './config.js';
export { DecodeError, LumenDecoder } from './decoder.js';
export type { DecodedRow, DecodeOptions, DecodeRequest, DecodeTiming, StopReason } from './decoder.js';
export { generatePredictions, GenerateUsageError, narrativeText } from './generate.js';
export type { GenerateOptions, GenerateResult } from './generate.js';
export { embedPositions, encodePrompt, PromptError } from './prompt.js';
export type { EncodedPrompt } from './prompt.js';
