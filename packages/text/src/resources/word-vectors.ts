/**
 * Word vectors for embedding-neighbour swaps and the cosine constraint: from a GloVe-format text file the user gives,
 * or from a Parry encoder's own input embeddings (whole-word tokens of its vocabulary only).
 */
import * as fs from 'node:fs';
import { InputError, type TextTokenizer, type WordVectors } from '@parry/core';
import * as tf from '@tensorflow/tfjs-core';

export type { WordVectors } from '@parry/core';

/**
 * Word vectors that can also find the neighbours of several words at once ({@link wordVectorsFrom}'s): `prefetch`
 * works out and remembers the `k` nearest neighbours of every word given that has a vector, so that `neighbours` then
 * answers them from memory, with the very same words and cosines it would have computed on its own.
 */
export interface PrefetchingWordVectors extends WordVectors {
  prefetch(words: readonly string[], k: number): void;
}

/** Whether `v` can find several words' neighbours at once (see {@link PrefetchingWordVectors}). */
export const canPrefetch = (v: WordVectors): v is PrefetchingWordVectors => typeof (v as Partial<PrefetchingWordVectors>).prefetch === 'function';

/**
 * How far a float32 dot product of two unit vectors may be from the exact one, and then some: |error| <= n·2^-24 for
 * any summation order (with or without fused multiply-adds), 7.6e-6 for 128 dimensions and 1.8e-5 for 300; the
 * margin below keeps every word whose float32 cosine is within 1e-3 of the k-th best for the exact check.
 */
const FLOAT32_MARGIN = 1e-3;
/** Backends whose matMul sums in float32 (webgl may use float16): the others are not used for the pre-selection. */
const FLOAT32_BACKENDS = new Set(['cpu', 'wasm', 'tensorflow']);
/** Fewer uncached words than this are scanned one by one in JavaScript (one row's matMul costs more than its scan). */
const MIN_BATCH = 4;

/** Word vectors from parallel arrays (rows are normalised to unit length; zero rows are dropped). */
export function wordVectorsFrom(words: readonly string[], data: Float32Array, dim: number, source: string): PrefetchingWordVectors {
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
  /** The k best of `rows` (r -> cosine) by cosine, ties in vocabulary order, `i` itself left out: the scan's ranking. */
  const topK = (i: number, k: number, candidates: Iterable<number>, cos: (r: number) => number) => {
    const best: Array<{ r: number; c: number }> = [];
    for (const r of candidates) {
      if (r === i) continue;
      const c = cos(r);
      if (best.length < k || c > best[best.length - 1].c) {
        let pos = best.length;
        while (pos > 0 && best[pos - 1].c < c) pos--;
        best.splice(pos, 0, { r, c });
        if (best.length > k) best.pop();
      }
    }
    return best.map((b) => ({ word: kept[b.r], cosine: b.c }));
  };
  const allRows = { *[Symbol.iterator]() { for (let r = 0; r < rows; r++) yield r; } };
  const cached = (i: number, k: number) => {
    const known = nearest.get(i);
    return known && (known.length >= k || known.length === rows - 1) ? known : undefined;
  };
  const copy = (list: ReadonlyArray<{ word: string; cosine: number }>, k: number) => list.slice(0, k).map((n) => ({ ...n }));
  /**
   * Neighbours of several rows at once: their float32 cosines with every row in one matMul of the current tfjs
   * backend, then, per row, only the words whose float32 cosine is at least a lower bound of its k-th best float32
   * cosine (the lower edge of that cosine's histogram bin) less FLOAT32_MARGIN are scored exactly (`dot`, as the scan)
   * and ranked as the scan ranks them. Every word that could be in the exact top k is among those checked (its float32
   * cosine is at most 2e-5 below its exact one, and the k-th exact cosine at most 2e-5 below the k-th float32 one), so
   * the answer is the scan's, bit for bit.
   */
  const batch = (ids: number[], k: number) => {
    const approx = tf.tidy(() => {
      const all = tf.tensor2d(unit.subarray(0, rows * dim), [rows, dim]);
      const rowsOf = new Float32Array(ids.length * dim);
      ids.forEach((i, q) => rowsOf.set(unit.subarray(i * dim, (i + 1) * dim), q * dim));
      const q = tf.tensor2d(rowsOf, [ids.length, dim]);
      return tf.matMul(q, all, false, true);
    });
    const values = approx.dataSync() as Float32Array;
    approx.dispose();
    const kk = Math.min(k, rows - 1);
    const BINS = 4096;
    const counts = new Int32Array(BINS);
    const bin = (v: number) => Math.min(BINS - 1, Math.max(0, Math.floor(((v + 1) / 2) * BINS)));
    ids.forEach((i, q) => {
      const row = values.subarray(q * rows, (q + 1) * rows);
      // a lower bound of the kk-th largest float32 cosine (i itself left out): the lower edge of its histogram bin
      counts.fill(0);
      for (let r = 0; r < rows; r++) if (r !== i) counts[bin(row[r])]++;
      let t = BINS - 1;
      for (let seen = counts[t]; seen < kk && t > 0; ) seen += counts[--t];
      const kth = (2 * t) / BINS - 1;
      const floor = kk > 0 ? kth - FLOAT32_MARGIN : Infinity;
      const close: number[] = [];
      for (let r = 0; r < rows; r++) if (r !== i && row[r] >= floor) close.push(r);
      const out = topK(i, k, close, (r) => dot(i, r));
      if (out.length !== kk) throw new Error(`word vectors: ${out.length} of ${kk} neighbours of "${kept[i]}" pre-selected (a bug)`);
      nearest.set(i, out);
    });
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
      const known = cached(i, k);
      if (known) return copy(known, k);
      scan(i);
      const out = topK(i, k, allRows, (r) => cosines[r]);
      nearest.set(i, out);
      return copy(out, k);
    },
    prefetch(list, k) {
      if (k <= 0) return;
      const ids = [...new Set(list.map((w) => index.get(w.toLowerCase())).filter((i): i is number => i !== undefined && !cached(i, k)))];
      if (ids.length < MIN_BATCH || !FLOAT32_BACKENDS.has(tf.getBackend())) {
        for (const i of ids) nearest.set(i, (scan(i), topK(i, k, allRows, (r) => cosines[r])));
        return;
      }
      batch(ids, k);
    },
  } satisfies PrefetchingWordVectors;
}

/**
 * Read word vectors in GloVe text format (`word v1 v2 ... vd` per line; a word2vec-style `count dim` header line is
 * skipped). `limit` keeps the first lines only (GloVe files are sorted by frequency).
 */
export function loadWordVectors(file: string, options: { limit?: number } = {}): PrefetchingWordVectors {
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
export async function modelWordVectors(model: { wordEmbeddings(): tf.Tensor; readonly family?: string }, tokenizer: TextTokenizer): Promise<PrefetchingWordVectors> {
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
