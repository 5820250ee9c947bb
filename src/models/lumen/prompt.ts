// Prompt embedding: a LUMEN prompt (the template of src/tasks/prompts.ts, with ID_TOKEN for every item
// id) becomes a sequence of input embeddings: text token embeddings, except at ID_TOKEN positions,
// which hold the embedding of the item they stand for (the item table row, as for generated items).
import type { LumenCheckpoint } from './checkpoint.js';

/** Position p holds the embedding of text token tokens[p] (items[p] = TEXT), of item items[p] (>= 0), or zeros (UNKNOWN_ITEM). */
export const TEXT = -1;
export const UNKNOWN_ITEM = -2;

export interface EncodedPrompt {
  /** Text token ids (ID_TOKEN where an item is placed). */
  tokens: Int32Array;
  /** Per position: TEXT, an item index, or UNKNOWN_ITEM (an id the checkpoint lacks: a zero embedding). */
  items: Int32Array;
  /** Item ids of the prompt the checkpoint has no row for. */
  unknownItems: string[];
}

export class PromptError extends Error {
  override name = 'PromptError';
}

/**
 * Tokenizes a LUMEN input (the tokenizer's special tokens added as it is configured) followed by the
 * checkpoint's generation prefix, and places the items: the i-th ID_TOKEN is idTokens[i].
 */
export function encodePrompt(ck: LumenCheckpoint, input: string, idTokens: readonly string[], where = 'prompt'): EncodedPrompt {
  const cfg = ck.config;
  const ids = ck.tokenizer.encode(input, { add_special_tokens: true });
  const prefix = cfg.generationPrefix ? ck.tokenizer.encode(cfg.generationPrefix, { add_special_tokens: false }) : [];
  if (prefix.includes(cfg.idTokenId))
    throw new PromptError(`${cfg.dir}/config.json: "generation_prefix" must not hold ID_TOKEN (it has no item to stand for)`);
  const tokens = Int32Array.from([...ids, ...prefix]);
  const items = new Int32Array(tokens.length).fill(TEXT);
  const unknownItems: string[] = [];
  let next = 0;
  for (let p = 0; p < ids.length; p++) {
    if (tokens[p] !== cfg.idTokenId) continue;
    if (next >= idTokens.length) break;
    const id = idTokens[next++];
    const index = ck.itemIndex(id);
    if (index === undefined) {
      items[p] = UNKNOWN_ITEM;
      unknownItems.push(id);
    } else items[p] = index;
  }
  const placeholders = ids.reduce((n, t) => n + (t === cfg.idTokenId ? 1 : 0), 0);
  if (placeholders !== idTokens.length)
    throw new PromptError(
      `${where}: the tokenized prompt holds ${placeholders} ID_TOKEN tokens but the line lists ${idTokens.length} item ids; ` +
        `the tokenizer must keep "ID_TOKEN" as one token (id ${cfg.idTokenId})`,
    );
  return { tokens, items, unknownItems };
}

/** Writes the input embeddings of positions [from, to) of a prompt into out (row-major, dim per position) at row `at`. */
export function embedPositions(
  ck: { readonly dim: number; readonly textEmbeddings: Float32Array | null; readonly itemEmbeddings: Float32Array | null },
  prompt: EncodedPrompt,
  from: number,
  to: number,
  out: Float32Array,
  at: number,
): void {
  const dim = ck.dim;
  if (!ck.textEmbeddings) throw new Error('internal: embedPositions needs input embeddings (a body that takes token ids embeds them itself)');
  for (let p = from; p < to; p++) {
    const item = prompt.items[p];
    const dst = (at + p - from) * dim;
    if (item >= 0) out.set(ck.itemEmbeddings!.subarray(item * dim, (item + 1) * dim), dst);
    else if (item === UNKNOWN_ITEM) out.fill(0, dst, dst + dim);
    else out.set(ck.textEmbeddings.subarray(prompt.tokens[p] * dim, (prompt.tokens[p] + 1) * dim), dst);
  }
}
