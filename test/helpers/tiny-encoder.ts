// Writes a tiny sentence encoder that @huggingface/transformers loads like a real one: an ONNX graph
// (opset 13: Gather of an embedding table, times the attention mask -> last_hidden_state), a BERT
// WordPiece tokenizer.json, tokenizer_config.json and config.json. Written by hand as protobuf
// bytes, so the tests need no download and no ONNX tooling.
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';

// --- a minimal protobuf writer
const varint = (n: number | bigint): number[] => {
  let v = BigInt.asUintN(64, BigInt(n));
  const out: number[] = [];
  do {
    let b = Number(v & 0x7fn);
    v >>= 7n;
    if (v > 0n) b |= 0x80;
    out.push(b);
  } while (v > 0n);
  return out;
};
const key = (field: number, wire: number) => varint((field << 3) | wire);
const int = (field: number, n: number | bigint) => [...key(field, 0), ...varint(n)];
const bytes = (field: number, b: number[] | Uint8Array) => [...key(field, 2), ...varint(b.length), ...b];
const str = (field: number, s: string) => bytes(field, [...Buffer.from(s, 'utf8')]);
const msg = (field: number, parts: number[][]) => bytes(field, parts.flat());

const FLOAT = 1;
const INT64 = 7;

function valueInfo(field: number, name: string, elemType: number, dims: (number | string)[]) {
  const dimMsgs = dims.map((d) => msg(1, [typeof d === 'number' ? int(1, d) : str(2, d)]));
  return msg(field, [str(1, name), msg(2, [msg(1, [int(1, elemType), msg(2, dimMsgs)])])]);
}

function node(inputs: string[], outputs: string[], op: string, attrs: number[][] = []) {
  return msg(1, [...inputs.map((i) => str(1, i)), ...outputs.map((o) => str(2, o)), str(3, `${op}_${outputs[0]}`), str(4, op), ...attrs]);
}

export const TINY_VOCAB = ['[PAD]', '[UNK]', '[CLS]', '[SEP]', 'the', 'cat', 'sat', 'on', 'mat', 'dog', 'pen', 'paper', 'blue', 'ink', 'fine', 'tip', '.', ','];
export const TINY_DIM = 6;

/** Row r of the embedding table (deterministic, distinct per token). */
export function tinyEmbedding(r: number): number[] {
  return Array.from({ length: TINY_DIM }, (_, j) => Math.sin(1 + r * 1.7 + j * 0.9) + (j === r % TINY_DIM ? 1 : 0));
}

export function writeTinyEncoder(dir: string): string {
  mkdirSync(path.join(dir, 'onnx'), { recursive: true });
  const V = TINY_VOCAB.length;
  const table = new Float32Array(V * TINY_DIM);
  for (let r = 0; r < V; r++) table.set(tinyEmbedding(r), r * TINY_DIM);
  const emb = msg(5, [int(1, V), int(1, TINY_DIM), int(2, FLOAT), str(8, 'embeddings'), bytes(9, new Uint8Array(table.buffer))]);
  const axes = msg(5, [int(1, 1), int(2, INT64), str(8, 'axes'), bytes(7, varint(-1))]);
  const graph = msg(7, [
    node(['embeddings', 'input_ids'], ['gathered'], 'Gather'),
    node(['attention_mask'], ['mask_f'], 'Cast', [msg(5, [str(1, 'to'), int(3, FLOAT), int(20, 2)])]),
    node(['mask_f', 'axes'], ['mask_u'], 'Unsqueeze'),
    node(['gathered', 'mask_u'], ['last_hidden_state'], 'Mul'),
    str(2, 'tiny_encoder'),
    emb,
    axes,
    valueInfo(11, 'input_ids', INT64, ['batch', 'seq']),
    valueInfo(11, 'attention_mask', INT64, ['batch', 'seq']),
    valueInfo(12, 'last_hidden_state', FLOAT, ['batch', 'seq', TINY_DIM]),
  ]);
  const model = [...int(1, 7), ...str(2, 'regen-bench-tests'), ...graph, ...msg(8, [str(1, ''), int(2, 13)])];
  writeFileSync(path.join(dir, 'onnx', 'model.onnx'), Uint8Array.from(model));

  const vocab = Object.fromEntries(TINY_VOCAB.map((t, i) => [t, i]));
  const special = (id: number) => ({ id, content: TINY_VOCAB[id], single_word: false, lstrip: false, rstrip: false, normalized: false, special: true });
  const tokenizer = {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: [0, 1, 2, 3].map(special),
    normalizer: { type: 'BertNormalizer', clean_text: true, handle_chinese_chars: true, strip_accents: null, lowercase: true },
    pre_tokenizer: { type: 'BertPreTokenizer' },
    post_processor: {
      type: 'TemplateProcessing',
      single: [{ SpecialToken: { id: '[CLS]', type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }, { SpecialToken: { id: '[SEP]', type_id: 0 } }],
      pair: [
        { SpecialToken: { id: '[CLS]', type_id: 0 } },
        { Sequence: { id: 'A', type_id: 0 } },
        { SpecialToken: { id: '[SEP]', type_id: 0 } },
        { Sequence: { id: 'B', type_id: 1 } },
        { SpecialToken: { id: '[SEP]', type_id: 1 } },
      ],
      special_tokens: { '[CLS]': { id: '[CLS]', ids: [2], tokens: ['[CLS]'] }, '[SEP]': { id: '[SEP]', ids: [3], tokens: ['[SEP]'] } },
    },
    decoder: { type: 'WordPiece', prefix: '##', cleanup: true },
    model: { type: 'WordPiece', unk_token: '[UNK]', continuing_subword_prefix: '##', max_input_chars_per_word: 100, vocab },
  };
  writeFileSync(path.join(dir, 'tokenizer.json'), JSON.stringify(tokenizer));
  writeFileSync(
    path.join(dir, 'tokenizer_config.json'),
    JSON.stringify({ tokenizer_class: 'BertTokenizer', do_lower_case: true, model_max_length: 512, cls_token: '[CLS]', sep_token: '[SEP]', pad_token: '[PAD]', unk_token: '[UNK]' }),
  );
  writeFileSync(path.join(dir, 'config.json'), JSON.stringify({ model_type: 'bert', hidden_size: TINY_DIM }));
  return dir;
}

/** What the encoder must return for a text of known vocabulary words: mean of [CLS] words [SEP], L2-normalised. */
export function tinyExpectedEmbedding(words: string[]): number[] {
  const ids = [2, ...words.map((w) => TINY_VOCAB.indexOf(w)), 3];
  const v = new Array<number>(TINY_DIM).fill(0);
  for (const id of ids) tinyEmbedding(id).forEach((x, j) => (v[j] += Math.fround(x)));
  const mean = v.map((x) => x / ids.length);
  const norm = Math.hypot(...mean);
  return mean.map((x) => x / norm);
}
