/**
 * `MaskedLanguageModel` (the contract of `@parry/core` that BAE and BERT-Attack use) over a Parry masked LM and its
 * tokenizer: the model's top whole-word replacements for a word of a text.
 *
 * - `mask` (BAE-R): the word is replaced by the mask token and the predictions at the mask are read;
 * - `insert-before` / `insert-after` (BAE-I): a mask token is inserted next to the word;
 * - `unmasked` (BERT-Attack): the text is read as it is; a word of one piece gets the predictions at its position, a
 *   word of several pieces the best combinations of the predictions at its pieces' positions, scored as BERT-Attack
 *   does (Li et al. 2020, TextAttack's `_bert_attack_replacement_words`): the perplexity of the combination, exp of the
 *   mean cross-entropy of its pieces, here returned as its inverse `exp(mean log p)` (the geometric mean of the piece
 *   probabilities; higher is better, and for one piece it is the probability). The combinations are the exact top
 *   `k` by that score over pieces that make one word (a word-start piece then continuation pieces), where TextAttack
 *   enumerates all products of each position's top `k` pieces and does not sort them.
 *
 * Candidates are whole words only: never a continuation piece (`##ing`, or a byte-level BPE piece without its leading
 * `Ġ` past the text's first word), never a special token, and letters only; they are returned in lower case (cased
 * vocabularies: the best score of the spellings), with the softmax probability over the whole vocabulary as the score.
 * All queries of a `predictBatch` call are answered in one forward pass per `batchSize` queries, padded to the longest
 * of them; the masked-LM head runs at the queried positions only. The text is the words joined by single spaces, cut
 * to the model's positions around the queried word when longer.
 */
import * as tf from '@tensorflow/tfjs-core';
import { UsageError } from '@parry/core';
import type { MaskedLanguageModel, MaskedLmCandidate, MaskedLmQuery, TextTokenizer } from '@parry/core';
import type { MaskedLm } from './mlm.js';
import { usablePositions } from './config.js';

export interface MaskedLanguageModelOptions {
  /** Queries answered per forward pass (default 64). */
  batchSize?: number;
  /** Tokens per sequence, special tokens included (default and maximum: the model's positions). */
  maxLength?: number;
  /** The name reports show (default `masked-lm(<family>)`). */
  name?: string;
}

/** A {@link MaskedLanguageModel} that also counts its forward passes (for tests and benchmarks). */
export interface ParryMaskedLanguageModel extends MaskedLanguageModel {
  /** Forward passes run so far. */
  readonly forwardPasses: number;
}

type Mode = NonNullable<MaskedLmQuery['mode']>;
const MODES: ReadonlySet<Mode> = new Set(['mask', 'insert-before', 'insert-after', 'unmasked']);

/** Which pieces may fill a position: 0 a word start, 1 any whole-word piece (byte-level BPE, text start), 2 a continuation. */
type Slot = 0 | 1 | 2;

/** One query laid out as a token row: the ids and the positions (with their slot kinds) to read. */
interface Row {
  ids: number[];
  targets: Array<{ pos: number; slot: Slot }>;
}

const LETTERS = /^\p{L}+$/u;

/**
 * The model's top whole-word candidates for words of a text (see the module comment), over a masked LM from
 * {@link createMaskedLm} / {@link loadMaskedLm} and the tokenizer it was trained with (which must have a mask token).
 */
export function createMaskedLanguageModel(mlm: MaskedLm, tokenizer: TextTokenizer, options: MaskedLanguageModelOptions = {}): ParryMaskedLanguageModel {
  const maskId: number = tokenizer.maskId ?? -1;
  if (maskId < 0) throw new UsageError('the tokenizer has no mask token ([MASK] or <mask>); use the tokenizer saved with the masked LM');
  const V = mlm.config.vocabSize;
  if (tokenizer.vocabSize > V) {
    throw new UsageError(`the tokenizer has ${tokenizer.vocabSize} tokens but the masked LM predicts ${V}; use the tokenizer saved with the model`);
  }
  const batchSize = options.batchSize ?? 64;
  if (!Number.isInteger(batchSize) || batchSize < 1) throw new UsageError(`batchSize must be a positive integer, got ${batchSize}`);
  const c = mlm.config;
  const positions = usablePositions(c);
  const maxLength = Math.min(options.maxLength ?? positions, positions);
  if (!Number.isInteger(maxLength) || maxLength < 3) throw new UsageError(`maxLength must be an integer of at least 3, got ${options.maxLength}`);

  // Byte-level BPE marks a word start with a leading Ġ; WordPiece marks a continuation with ##.
  const bpe = tokenizer.tokenize('hello world').some((t) => t.startsWith('\u0120'));
  const special = new Set([tokenizer.padId, tokenizer.unkId, tokenizer.clsId, tokenizer.sepId, maskId]);
  /** Lower-case letters of each piece, and its slots. */
  const text: Array<string | undefined> = new Array(V);
  const slotMasks = [new Float32Array(V), new Float32Array(V), new Float32Array(V)];
  for (let id = 0; id < tokenizer.vocabSize; id++) {
    const tok = tokenizer.idToToken(id);
    if (tok === undefined || special.has(id)) continue;
    let start: boolean;
    let piece: string;
    if (bpe) {
      // The piece's text through the byte-level decoder (a lone byte of a multi-byte character is no letter).
      start = tok.startsWith('\u0120');
      const decoded = tokenizer.decode([id]);
      piece = start ? decoded.replace(/^ /, '') : decoded;
    } else {
      start = !tok.startsWith('##');
      piece = start ? tok : tok.slice(2);
    }
    if (!LETTERS.test(piece)) continue;
    text[id] = piece.toLowerCase();
    if (start) slotMasks[0][id] = 1;
    else slotMasks[2][id] = 1;
    // At the start of a byte-level BPE text a word has no Ġ: any whole piece may be the word (TextAttack's `starting`).
    if (start || bpe) slotMasks[1][id] = 1;
  }
  if (!bpe) slotMasks[1].set(slotMasks[0]);

  /** Token ids of word `i` of a text (a byte-level BPE word after the first carries its space). */
  const piecesOf = (word: string, i: number): number[] =>
    tokenizer.tokenize(bpe && i > 0 ? ` ${word}` : word).map((t) => tokenizer.tokenToId(t) ?? tokenizer.unkId);

  let passes = 0;

  function layout(q: MaskedLmQuery): Row | undefined {
    const mode: Mode = q.mode ?? 'mask';
    if (!MODES.has(mode)) throw new UsageError(`masked LM query mode "${String(mode)}" is not one of mask, insert-before, insert-after, unmasked`);
    const words = q.words;
    if (!Number.isInteger(q.index) || q.index < 0 || q.index >= words.length) {
      throw new UsageError(`masked LM query index ${q.index} is outside the text's ${words.length} words`);
    }
    if (!Number.isInteger(q.k) || q.k < 1) throw new UsageError(`masked LM query k must be a positive integer, got ${q.k}`);
    const content: number[] = [];
    let span: [number, number] = [0, 0];
    let wordStartsText = false;
    // Layout words, with the mask where the mode puts it; `span` = the queried token positions in `content`.
    const sequence: Array<string | null> = [...words];
    let target = q.index;
    if (mode === 'mask') sequence[q.index] = null;
    else if (mode === 'insert-before') sequence.splice(q.index, 0, null);
    else if (mode === 'insert-after') {
      sequence.splice(q.index + 1, 0, null);
      target = q.index + 1;
    }
    sequence.forEach((w, i) => {
      const start = content.length;
      if (w === null) content.push(maskId);
      else content.push(...piecesOf(w, i));
      if (i === target) {
        span = [start, content.length];
        wordStartsText = start === 0;
      }
    });
    const n = span[1] - span[0];
    const budget = maxLength - 2;
    if (n === 0 || n > budget) return undefined;
    let from = 0;
    if (content.length > budget) from = Math.min(Math.max(0, span[0] - Math.floor((budget - n) / 2)), content.length - budget);
    const kept = content.slice(from, from + budget);
    const first = span[0] - from + 1;
    const firstSlot: Slot = bpe && wordStartsText ? 1 : 0;
    return {
      ids: [tokenizer.clsId, ...kept, tokenizer.sepId],
      targets: Array.from({ length: n }, (_, j) => ({ pos: first + j, slot: j === 0 ? firstSlot : (2 as Slot) })),
    };
  }

  async function run(queries: readonly MaskedLmQuery[]): Promise<MaskedLmCandidate[][]> {
    const rows = queries.map(layout);
    const live = rows.map((r, i) => [r, i] as const).filter((x): x is readonly [Row, number] => x[0] !== undefined);
    const answers: MaskedLmCandidate[][] = queries.map(() => []);
    if (live.length === 0) return answers;
    const T = Math.max(...live.map(([r]) => r.ids.length));
    const flat: number[] = [];
    const slots: number[] = [];
    const ids = new Int32Array(live.length * T).fill(tokenizer.padId);
    const attention = new Int32Array(live.length * T);
    live.forEach(([r], b) => {
      ids.set(r.ids, b * T);
      attention.fill(1, b * T, b * T + r.ids.length);
      for (const t of r.targets) {
        flat.push(b * T + t.pos);
        slots.push(t.slot);
      }
    });
    const maxK = Math.max(...live.map(([, i]) => queries[i].k));
    // Room for spellings that fold together in lower case (cased and BPE vocabularies).
    const width = Math.min(V, 2 * maxK + 8);
    const batch = { inputIds: tf.tensor2d(ids, [live.length, T], 'int32'), attentionMask: tf.tensor2d(attention, [live.length, T], 'int32') };
    let top: { values: tf.Tensor; indices: tf.Tensor } | undefined;
    try {
      top = tf.tidy(() => {
        const logits = mlm.mlmLogitsAt(batch, flat);
        const allowed = tf.gather(tf.tensor2d(concat(slotMasks), [3, V]), tf.tensor1d(slots, 'int32'));
        const r = tf.topk(tf.mul(tf.softmax(logits), allowed), width);
        return { values: r.values, indices: r.indices };
      });
      passes++;
      const values = (await top.values.data()) as Float32Array;
      const indices = (await top.indices.data()) as Int32Array;
      let row = 0;
      for (const [r, i] of live) {
        const lists = r.targets.map(() => {
          const list: Array<{ id: number; p: number }> = [];
          for (let j = 0; j < width; j++) {
            const p = values[row * width + j];
            if (p > 0) list.push({ id: indices[row * width + j], p });
          }
          row++;
          return list;
        });
        answers[i] = lists.length === 1 ? single(lists[0], queries[i].k) : combinations(lists, queries[i].k);
      }
    } finally {
      tf.dispose([batch.inputIds, batch.attentionMask]);
      if (top) tf.dispose([top.values, top.indices]);
    }
    return answers;
  }

  /** Whole words from one position's pieces, best first, one entry per lower-case word. */
  function single(list: Array<{ id: number; p: number }>, k: number): MaskedLmCandidate[] {
    const out: MaskedLmCandidate[] = [];
    const seen = new Set<string>();
    for (const { id, p } of list) {
      const word = text[id]!;
      if (seen.has(word)) continue;
      seen.add(word);
      out.push({ word, score: p });
      if (out.length === k) break;
    }
    return out;
  }

  /** The `k` best piece combinations by the mean log-probability (best-first over the sorted per-position lists). */
  function combinations(lists: Array<Array<{ id: number; p: number }>>, k: number): MaskedLmCandidate[] {
    if (lists.some((l) => l.length === 0)) return [];
    const n = lists.length;
    const logs = lists.map((l) => l.map((x) => Math.log(x.p)));
    const score = (idx: number[]) => idx.reduce((s, j, pos) => s + logs[pos][j], 0);
    const heap: Array<{ idx: number[]; s: number }> = [{ idx: new Array(n).fill(0), s: score(new Array(n).fill(0)) }];
    const visited = new Set<string>([heap[0].idx.join(',')]);
    const out: MaskedLmCandidate[] = [];
    const seen = new Set<string>();
    // Each popped tuple is the best not yet taken; its successors advance one position by one rank.
    while (heap.length > 0 && out.length < k) {
      let best = 0;
      for (let h = 1; h < heap.length; h++) if (heap[h].s > heap[best].s) best = h;
      const { idx, s } = heap[best];
      heap[best] = heap[heap.length - 1];
      heap.pop();
      const word = idx.map((j, pos) => text[lists[pos][j].id]).join('');
      if (!seen.has(word)) {
        seen.add(word);
        out.push({ word, score: Math.exp(s / n) });
      }
      for (let pos = 0; pos < n; pos++) {
        if (idx[pos] + 1 >= lists[pos].length) continue;
        const next = [...idx];
        next[pos]++;
        const key = next.join(',');
        if (visited.has(key)) continue;
        visited.add(key);
        heap.push({ idx: next, s: score(next) });
      }
    }
    return out;
  }

  async function predictBatch(queries: readonly MaskedLmQuery[]): Promise<MaskedLmCandidate[][]> {
    if (!Array.isArray(queries)) throw new UsageError('predictBatch: queries must be an array');
    const out: MaskedLmCandidate[][] = [];
    for (let i = 0; i < queries.length; i += batchSize) out.push(...(await run(queries.slice(i, i + batchSize))));
    return out;
  }

  return {
    name: options.name ?? `masked-lm(${c.family})`,
    get forwardPasses() {
      return passes;
    },
    async predict(words, index, k) {
      return (await predictBatch([{ words, index, k, mode: 'mask' }]))[0];
    },
    predictBatch,
  };
}

function concat(parts: Float32Array[]): Float32Array {
  const out = new Float32Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}
