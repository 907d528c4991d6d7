/**
 * Word vectors for embedding-neighbour swaps and the cosine constraint: from a GloVe-format text file the user gives,
 * or from a Parry encoder's own input embeddings (whole-word tokens of its vocabulary only).
 */
import * as fs from 'node:fs';
import { InputError, type TextTokenizer, type WordVectors } from '@parry/core';
import type * as tf from '@tensorflow/tfjs-core';

export type { WordVectors } from '@parry/core';

/** Word vectors from parallel arrays (rows are normalised to unit length; zero rows are dropped). */
export function wordVectorsFrom(words: readonly string[], data: Float32Array, dim: number, source: string): WordVectors {
  const index = new Map<string, number>();
  const kept: string[] = [];
  const unit = new Float32Array(words.length * dim);
  words.forEach((w, i) => {
    const key = w.toLowerCase();
    if (index.has(key)) return;
    let n = 0;
    for (let d = 0; d < dim; d++) n += data[i * dim + d] ** 2;
    if (!(n > 0)) return;
    const r = kept.length;
    const s = 1 / Math.sqrt(n);
    for (let d = 0; d < dim; d++) unit[r * dim + d] = data[i * dim + d] * s;
    index.set(key, r);
    kept.push(key);
  });
  const dot = (a: number, b: number) => {
    let s = 0;
    for (let d = 0; d < dim; d++) s += unit[a * dim + d] * unit[b * dim + d];
    return s;
  };
  const rows = kept.length;
  /** Each word's neighbours as last computed (the most asked for so far): a shorter list is a prefix of a longer one. */
  const nearest = new Map<number, ReadonlyArray<{ word: string; cosine: number }>>();
  /** Cosines of row `i` with every row, each summed in the same order as `dot` (so bit for bit the same numbers). */
  const cosines = new Float64Array(rows);
  const scan = (i: number) => {
    const a = i * dim;
    let r = 0;
    // four rows at a time, each row's sum still taken one dimension after the other: independent chains, same result
    for (; r + 4 <= rows; r += 4) {
      let s0 = 0;
      let s1 = 0;
      let s2 = 0;
      let s3 = 0;
      const b0 = r * dim;
      const b1 = b0 + dim;
      const b2 = b1 + dim;
      const b3 = b2 + dim;
      for (let d = 0; d < dim; d++) {
        const x = unit[a + d];
        s0 += x * unit[b0 + d];
        s1 += x * unit[b1 + d];
        s2 += x * unit[b2 + d];
        s3 += x * unit[b3 + d];
      }
      cosines[r] = s0;
      cosines[r + 1] = s1;
      cosines[r + 2] = s2;
      cosines[r + 3] = s3;
    }
    for (; r < rows; r++) cosines[r] = dot(i, r);
  };
  return {
    source,
    dim,
    size: kept.length,
    has: (w) => index.has(w.toLowerCase()),
    cosine(a, b) {
      const i = index.get(a.toLowerCase());
      const j = index.get(b.toLowerCase());
      return i === undefined || j === undefined ? undefined : dot(i, j);
    },
    // the k highest cosines, ties in vocabulary order; remembered per word, as attacks ask for the same words again
    neighbours(word, k) {
      const i = index.get(word.toLowerCase());
      if (i === undefined || k <= 0) return [];
      const known = nearest.get(i);
      if (known && (known.length >= k || known.length === rows - 1)) return known.slice(0, k).map((n) => ({ ...n }));
      scan(i);
      const best: Array<{ r: number; c: number }> = [];
      for (let r = 0; r < rows; r++) {
        if (r === i) continue;
        const c = cosines[r];
        if (best.length < k || c > best[best.length - 1].c) {
          let pos = best.length;
          while (pos > 0 && best[pos - 1].c < c) pos--;
          best.splice(pos, 0, { r, c });
          if (best.length > k) best.pop();
        }
      }
      const out = best.map((b) => ({ word: kept[b.r], cosine: b.c }));
      nearest.set(i, out);
      return out.map((n) => ({ ...n }));
    },
  };
}

/**
 * Read word vectors in GloVe text format (`word v1 v2 ... vd` per line; a word2vec-style `count dim` header line is
 * skipped). `limit` keeps the first lines only (GloVe files are sorted by frequency).
 */
export function loadWordVectors(file: string, options: { limit?: number } = {}): WordVectors {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    throw new InputError(`word vectors ${file}: cannot read (${(e as Error).message}); pass a GloVe-format text file`);
  }
  const lines = text.split('\n');
  const words: string[] = [];
  const rows: number[][] = [];
  let dim = 0;
  const limit = options.limit ?? Infinity;
  for (let n = 0; n < lines.length && words.length < limit; n++) {
    const line = lines[n].trim();
    if (!line) continue;
    const parts = line.split(/\s+/);
    if (n === 0 && parts.length === 2 && parts.every((x) => /^\d+$/.test(x))) continue;
    const values = parts.slice(1).map(Number);
    if (dim === 0) dim = values.length;
    if (values.length !== dim || dim === 0 || values.some((v) => !Number.isFinite(v))) {
      throw new InputError(`word vectors ${file} line ${n + 1}: expected a word and ${dim || 'some'} numbers; is it a GloVe text file?`);
    }
    words.push(parts[0]);
    rows.push(values);
  }
  if (words.length === 0) throw new InputError(`word vectors ${file}: no vectors found; pass a GloVe-format text file`);
  const data = new Float32Array(words.length * dim);
  rows.forEach((r, i) => data.set(r, i * dim));
  return wordVectorsFrom(words, data, dim, file);
}

/** The vocabulary entry as a whole word, or undefined for sub-word pieces, special tokens and non-letter tokens. */
export function wholeWordToken(token: string): string | undefined {
  if (token.startsWith('##')) return undefined;
  const t = token.startsWith('\u0120') ? token.slice(1) : token; // byte-level BPE marks a word start with 'Ġ'
  return /^\p{L}{2,}$/u.test(t) ? t : undefined;
}

/** Whole-word token ids of a tokenizer's vocabulary with their words (`##` pieces and special tokens excluded). */
export function wholeWordVocabulary(tokenizer: TextTokenizer): Array<{ id: number; word: string }> {
  const out: Array<{ id: number; word: string }> = [];
  for (let id = 0; id < tokenizer.vocabSize; id++) {
    const tok = tokenizer.idToToken(id);
    const w = tok === undefined ? undefined : wholeWordToken(tok);
    if (w !== undefined) out.push({ id, word: w });
  }
  return out;
}

/** Word vectors from a Parry encoder's input (word) embeddings, restricted to whole-word tokens. */
export async function modelWordVectors(model: { wordEmbeddings(): tf.Tensor; readonly family?: string }, tokenizer: TextTokenizer): Promise<WordVectors> {
  const vocab = wholeWordVocabulary(tokenizer);
  const emb = model.wordEmbeddings();
  const [, dim] = emb.shape as [number, number];
  const all = (await emb.data()) as Float32Array;
  const data = new Float32Array(vocab.length * dim);
  vocab.forEach((v, i) => data.set(all.subarray(v.id * dim, (v.id + 1) * dim), i * dim));
  return wordVectorsFrom(
    vocab.map((v) => v.word),
    data,
    dim,
    `${model.family ?? 'model'} input embeddings`,
  );
}
