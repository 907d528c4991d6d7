import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, describe, expect, it } from 'vitest';
import { initBackend } from '@parry/core';
import { canPrefetch, loadWordVectors, wordVectorsFrom } from './word-vectors.js';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'parry-wv-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

/** A vector of 300 dims near `base` (a direction of its own per group), written with 5 decimals as counter-fitted files are. */
function row(word: string, base: number, jitter: number): string {
  const v = Array.from({ length: 300 }, (_, d) => (d === base ? 1 : 0) + jitter * Math.sin(d + word.length)).map((x) => x.toFixed(5));
  return `${word} ${v.join(' ')}`;
}

describe('loadWordVectors reads counter-fitted vectors (word v1 ... v300, no header)', () => {
  it('reads a small counter-fitted file: 300 dims, neighbours by cosine, words in lower case', () => {
    const file = path.join(dir, 'counter-fitted-vectors.txt');
    const lines = [row('good', 0, 0.01), row('great', 0, 0.05), row('fine', 0, 0.1), row('bad', 7, 0.01), row('awful', 7, 0.05), row("don't", 20, 0)];
    fs.writeFileSync(file, `${lines.join('\n')}\n`);
    const v = loadWordVectors(file);
    expect(v.dim).toBe(300);
    expect(v.size).toBe(6);
    expect(v.source).toBe(file);
    expect(v.has('Good')).toBe(true);
    expect(v.has("don't")).toBe(true);
    expect(v.neighbours('good', 2).map((n) => n.word).sort()).toEqual(['fine', 'great']);
    expect(v.neighbours('bad', 1)[0].word).toBe('awful');
    expect(v.cosine('good', 'great')).toBeGreaterThan(0.8);
    expect(Math.abs(v.cosine('good', 'bad') ?? 1)).toBeLessThan(0.2);
    expect(v.cosine('good', 'nope')).toBeUndefined();
    expect(loadWordVectors(file, { limit: 2 }).size).toBe(2);
  });

  it('takes Windows line ends and a word2vec header, and refuses a ragged file with one line', () => {
    const crlf = path.join(dir, 'crlf.txt');
    fs.writeFileSync(crlf, `2 300\r\n${row('good', 0, 0)}\r\n${row('bad', 1, 0)}\r\n`);
    const v = loadWordVectors(crlf);
    expect([v.size, v.dim]).toEqual([2, 300]);
    const ragged = path.join(dir, 'ragged.txt');
    fs.writeFileSync(ragged, `${row('good', 0, 0)}\nbad 0.1 0.2\n`);
    expect(() => loadWordVectors(ragged)).toThrow(/line 2: expected a word and 300 numbers/);
  });
});

describe('wordVectorsFrom neighbours (four rows per pass, remembered per word)', () => {
  /** The plain definition: every other word by cosine (summed dimension by dimension), highest first, ties in vocabulary order. */
  function reference(words: string[], data: Float32Array, dim: number, word: string, k: number) {
    const unit = words.map((_, i) => {
      const v = data.subarray(i * dim, (i + 1) * dim);
      const s = 1 / Math.sqrt(v.reduce((a, x) => a + x * x, 0));
      return Float32Array.from(v, (x) => x * s);
    });
    const i = words.indexOf(word);
    const all = words.map((w, r) => ({ word: w, r, cosine: unit[i].reduce((a, x, d) => a + x * unit[r][d], 0) })).filter((x) => x.r !== i);
    all.sort((a, b) => b.cosine - a.cosine || a.r - b.r);
    return all.slice(0, k).map(({ word: w, cosine }) => ({ word: w, cosine }));
  }

  it('gives the same words and cosines (bit for bit) as a plain scan, first call or remembered, for any k', () => {
    const dim = 7;
    const words = Array.from({ length: 23 }, (_, i) => `w${String.fromCharCode(97 + i)}`);
    const data = Float32Array.from({ length: words.length * dim }, (_, j) => Math.sin(j * 1.7) + (j % 5 === 0 ? 0.5 : 0));
    // two equal rows: a tie the order must settle as the vocabulary does
    data.set(data.subarray(3 * dim, 4 * dim), 9 * dim);
    const v = wordVectorsFrom(words, data, dim, 'toy');
    for (const w of words) {
      expect(v.neighbours(w, 3)).toEqual(reference(words, data, dim, w, 3)); // first scan
      expect(v.neighbours(w, 2)).toEqual(reference(words, data, dim, w, 2)); // a prefix of what is remembered
      expect(v.neighbours(w, 10)).toEqual(reference(words, data, dim, w, 10)); // more than remembered: scanned again
      expect(v.neighbours(w, 50)).toEqual(reference(words, data, dim, w, 50)); // all 22 others
      expect(v.neighbours(w, 50)).toHaveLength(22);
    }
  });

  it('hands out copies: changing a returned list or entry does not change the next answer', () => {
    const v = wordVectorsFrom(['good', 'great', 'bad'], Float32Array.from([1, 0.1, 0.9, 0.2, -1, 0.3]), 2, 'toy');
    const first = v.neighbours('good', 2);
    const expected = structuredClone(first);
    first[0].word = 'changed';
    first.pop();
    expect(v.neighbours('good', 2)).toEqual(expected);
    expect(v.neighbours('nope', 2)).toEqual([]);
    expect(v.neighbours('good', 0)).toEqual([]);
  });
});

describe('wordVectorsFrom prefetch (float32 matMul pre-selection, exact cosines)', () => {
  /** 400 words in 48 dims: a few clusters (many close cosines), duplicated rows (ties) and scaled copies (equal cosines). */
  function space() {
    const dim = 48;
    const n = 400;
    const words = Array.from({ length: n }, (_, i) => `w${i.toString(36)}x`);
    const data = new Float32Array(n * dim);
    for (let i = 0; i < n; i++) for (let d = 0; d < dim; d++) data[i * dim + d] = Math.sin((i % 7) * 3.1 + d * 0.7) + 0.3 * Math.sin(i * 12.9898 + d * 78.233);
    for (let i = 10; i < n; i += 37) data.set(data.subarray((i - 5) * dim, (i - 4) * dim), i * dim); // ties
    for (let d = 0; d < dim; d++) data[99 * dim + d] = 3 * data[98 * dim + d]; // the same direction, another length
    // near-ties: copies nudged by one float32 step in one dimension, closer than float32 cosines can tell apart
    for (let i = 200; i < n; i += 3) {
      data.set(data.subarray((i - 100) * dim, (i - 99) * dim), i * dim);
      const d = i % dim;
      data[i * dim + d] = new Float32Array([data[i * dim + d] * (1 + 2 ** -22)])[0];
    }
    return { words, data, dim };
  }

  for (const backend of ['cpu', 'wasm'] as const) {
    it(`answers exactly as the one-word scan, for k below, at and above the vocabulary, on ${backend}; no tensor left`, async () => {
      await initBackend({ backend });
      const { words, data, dim } = space();
      const scanned = wordVectorsFrom(words, data, dim, 'toy');
      const batched = wordVectorsFrom(words, data, dim, 'toy');
      expect(canPrefetch(batched)).toBe(true);
      const asked = [...words.slice(0, 120), 'not-a-word', words[5].toUpperCase()];
      const before = tf.memory().numTensors;
      for (const k of [1, 50, 399, 1000]) {
        const fresh = wordVectorsFrom(words, data, dim, 'toy');
        fresh.prefetch(asked, k);
        for (const w of asked) expect(fresh.neighbours(w, k)).toEqual(scanned.neighbours(w, k));
      }
      batched.prefetch(asked, 50);
      batched.prefetch(asked, 10); // already known: nothing to do
      for (const w of asked) expect(batched.neighbours(w, 10)).toEqual(scanned.neighbours(w, 10));
      expect(tf.memory().numTensors).toBe(before);
    });
  }

  it('scans in JavaScript when only a few words are new, with the same answers', async () => {
    await initBackend({ backend: 'cpu' });
    const { words, data, dim } = space();
    const v = wordVectorsFrom(words, data, dim, 'toy');
    const plain = wordVectorsFrom(words, data, dim, 'toy');
    v.prefetch(words.slice(0, 2), 50);
    for (const w of words.slice(0, 3)) expect(v.neighbours(w, 50)).toEqual(plain.neighbours(w, 50));
    v.prefetch([], 50);
    v.prefetch(words, 0);
  });
});
