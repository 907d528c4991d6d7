/**
 * The MaskedLanguageModel over a tiny random masked LM: answers checked against the model's own logits computed
 * independently (mlmLogits on hand-built token rows), whole words only, batch = one by one, one forward pass per batch,
 * BERT-Attack combinations against brute force, no tensor leaks.
 */
import * as tf from '@tensorflow/tfjs-core';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend, type MaskedLmCandidate, type MaskedLmQuery, type TextTokenizer, UsageError } from '@parry/core';
import { smallConfig } from './config.js';
import { createMaskedLanguageModel } from './masked-language-model.js';
import { createMaskedLm, type MaskedLm } from './mlm.js';
import { tokenizerFromFiles, wordPieceTokenizer } from './tokenizer.js';

const VOCAB = [
  '[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]', '[unused0]', 'the', 'movie', 'was', 'good', 'bad', 'great', 'film', 'a', 'plot',
  'dull', 'fun', 'very', 'not', 'and', ',', '.', '123', '##ly', '##s', '##ing', '##y', 'act', 'bor', 'it', 'is', 'x2',
];
const WORD_IDS = VOCAB.map((t, i) => [t, i] as const).filter(([t]) => /^[a-z]+$/.test(t)).map(([, i]) => i);
const CONT_IDS = VOCAB.map((t, i) => [t, i] as const).filter(([t]) => /^##[a-z]+$/.test(t)).map(([, i]) => i);

function tinyMlm(seed = 1): MaskedLm {
  // A large init so the predictions are far from uniform.
  const config = smallConfig('bert', { vocabSize: VOCAB.length, hiddenSize: 16, numHeads: 2, intermediateSize: 32, maxPositions: 24, initializerRange: 0.5 });
  return createMaskedLm(config, { seed });
}

/** Softmax probabilities at token `pos` of one hand-built row, straight from mlmLogits. */
function probsAt(mlm: MaskedLm, ids: number[], pos: number): number[] {
  return tf.tidy(() => {
    const batch = { inputIds: tf.tensor2d([ids], undefined, 'int32'), attentionMask: tf.tensor2d([ids.map(() => 1)], undefined, 'int32') };
    const logits = mlm.mlmLogits(batch);
    return Array.from(tf.softmax(tf.squeeze(tf.slice(logits, [0, pos, 0], [1, 1, -1]))).dataSync());
  });
}

function topWords(probs: number[], allowed: number[], k: number): MaskedLmCandidate[] {
  return allowed
    .map((id) => ({ word: VOCAB[id], score: probs[id] }))
    .sort((a, b) => b.score - a.score)
    .slice(0, k);
}

function expectSame(a: MaskedLmCandidate[], b: MaskedLmCandidate[], tol = 1e-5): void {
  expect(a.map((c) => c.word)).toEqual(b.map((c) => c.word));
  a.forEach((c, i) => expect(Math.abs(c.score - b[i].score), c.word).toBeLessThan(tol));
}

const id = (t: string) => VOCAB.indexOf(t);

describe('createMaskedLanguageModel (WordPiece)', () => {
  let mlm: MaskedLm;
  let tok: TextTokenizer;
  beforeAll(async () => {
    await initBackend({ backend: 'cpu' });
    mlm = tinyMlm();
    tok = wordPieceTokenizer(VOCAB);
  });

  it('mask: the MLM top-k whole words at the masked position, scored by their probability', async () => {
    const lm = createMaskedLanguageModel(mlm, tok);
    const words = ['the', 'movie', 'was', 'good', '.'];
    const got = await lm.predict(words, 3, 6);
    const probs = probsAt(mlm, [2, id('the'), id('movie'), id('was'), 4, id('.'), 3], 4);
    expectSame(got, topWords(probs, WORD_IDS, 6));
    // Never a piece, a special token, punctuation, digits or an [unusedN] entry.
    for (const c of await lm.predict(words, 3, 100)) expect(c.word).toMatch(/^[a-z]+$/);
    expect((await lm.predict(words, 3, 100)).length).toBe(WORD_IDS.length);
  });

  it('insert-before / insert-after put a mask next to the word; unmasked reads the word in place', async () => {
    const lm = createMaskedLanguageModel(mlm, tok);
    const words = ['the', 'movie', 'was', 'good'];
    const [before, after, unmasked] = await lm.predictBatch([
      { words, index: 1, k: 5, mode: 'insert-before' },
      { words, index: 1, k: 5, mode: 'insert-after' },
      { words, index: 3, k: 5, mode: 'unmasked' },
    ]);
    const [the, movie, was, good] = ['the', 'movie', 'was', 'good'].map(id);
    expectSame(before, topWords(probsAt(mlm, [2, the, 4, movie, was, good, 3], 2), WORD_IDS, 5));
    expectSame(after, topWords(probsAt(mlm, [2, the, movie, 4, was, good, 3], 3), WORD_IDS, 5));
    expectSame(unmasked, topWords(probsAt(mlm, [2, the, movie, was, good, 3], 4), WORD_IDS, 5));
  });

  it('unmasked on a word of several pieces: the top combinations by exp(mean log p), as brute force finds them', async () => {
    const lm = createMaskedLanguageModel(mlm, tok);
    const words = ['it', 'is', 'boring', 'and', 'dull'];
    expect(tok.tokenize('boring')).toEqual(['bor', '##ing']);
    const got = await lm.predictBatch([{ words, index: 2, k: 8, mode: 'unmasked' }]);
    const ids = [2, id('it'), id('is'), id('bor'), id('##ing'), id('and'), id('dull'), 3];
    const p1 = probsAt(mlm, ids, 3);
    const p2 = probsAt(mlm, ids, 4);
    const all: MaskedLmCandidate[] = [];
    for (const a of WORD_IDS) for (const b of CONT_IDS) all.push({ word: VOCAB[a] + VOCAB[b].slice(2), score: Math.sqrt(p1[a] * p2[b]) });
    all.sort((x, y) => y.score - x.score);
    expectSame(got[0], all.slice(0, 8));
  });

  it('predictBatch answers all queries in one forward pass, padded, equal to one-by-one answers; no tensor leaks', async () => {
    const lm = createMaskedLanguageModel(mlm, tok);
    const queries: MaskedLmQuery[] = [
      { words: ['the', 'movie', 'was', 'good'], index: 3, k: 5 },
      { words: ['a', 'very', 'dull', 'plot', ',', 'not', 'fun'], index: 2, k: 7, mode: 'mask' },
      { words: ['great'], index: 0, k: 3, mode: 'insert-after' },
      { words: ['it', 'is', 'boring'], index: 2, k: 4, mode: 'unmasked' },
      { words: ['the', 'film', 'is', 'bad'], index: 0, k: 2, mode: 'insert-before' },
    ];
    const before = tf.memory().numTensors;
    const passes = lm.forwardPasses;
    const batched = await lm.predictBatch(queries);
    expect(lm.forwardPasses - passes).toBe(1);
    expect(tf.memory().numTensors).toBe(before);
    expect(batched).toHaveLength(queries.length);
    for (const [i, q] of queries.entries()) {
      const alone = (await lm.predictBatch([q]))[0];
      expect(batched[i].length, `query ${i}`).toBe(q.k);
      expectSame(batched[i], alone);
      if ((q.mode ?? 'mask') === 'mask') expectSame(await lm.predict(q.words, q.index, q.k), alone);
    }
    expect(tf.memory().numTensors).toBe(before);
    // batchSize splits a long batch into passes of that many queries.
    const small = createMaskedLanguageModel(mlm, tok, { batchSize: 2 });
    const split = await small.predictBatch(queries);
    expect(small.forwardPasses).toBe(3);
    split.forEach((a, i) => expectSame(a, batched[i]));
  });

  it('a long text is cut around the queried word; bad queries are one UsageError', async () => {
    const lm = createMaskedLanguageModel(mlm, tok, { maxLength: 8 });
    const words = ['the', 'movie', 'was', 'very', 'very', 'good', 'and', 'the', 'plot', 'was', 'fun'];
    const got = await lm.predict(words, 8, 4);
    // 6 content tokens around 'plot' (index 8): 'good and the [MASK] was fun'.
    const ids = [2, ...['good', 'and', 'the'].map(id), 4, ...['was', 'fun'].map(id), 3];
    expectSame(got, topWords(probsAt(mlm, ids, 4), WORD_IDS, 4));
    await expect(lm.predict(words, 11, 4)).rejects.toThrow(UsageError);
    await expect(lm.predictBatch([{ words, index: 0, k: 0 }])).rejects.toThrow(/k must be a positive integer/);
    await expect(lm.predictBatch([{ words, index: 0, k: 2, mode: 'swap' as never }])).rejects.toThrow(/mode "swap"/);
    expect(() => createMaskedLanguageModel(mlm, wordPieceTokenizer(VOCAB.filter((t) => t !== '[MASK]')))).toThrow(/no mask token/);
  });
});

describe('createMaskedLanguageModel (byte-level BPE)', () => {
  it('past the first word only Ġ pieces are words; at the start any whole piece is', async () => {
    await initBackend({ backend: 'cpu' });
    const dir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../test/fixtures/tokenizers/hf-roberta-tiny');
    const files = Object.fromEntries(['tokenizer.json', 'tokenizer_config.json'].map((f) => [f, fs.readFileSync(path.join(dir, f), 'utf8')]));
    const tok = tokenizerFromFiles(files, dir);
    expect(tok.maskId).toBeDefined();
    const config = smallConfig('roberta', { vocabSize: tok.vocabSize, hiddenSize: 16, numHeads: 2, intermediateSize: 32, maxPositions: 20, padTokenId: tok.padId });
    const mlm = createMaskedLm(config, { seed: 2 });
    const lm = createMaskedLanguageModel(mlm, tok);
    const [later, first] = await lm.predictBatch([
      { words: ['hello', 'hello'], index: 1, k: 10 },
      { words: ['hello', 'hello'], index: 0, k: 30 },
    ]);
    // The vocabulary's Ġ pieces of letters are 'Ġw' and 'ĠwÃ¶' (" wö"); a lone byte of 'ö' ('Ã') is no letter.
    expect(later.map((c) => c.word).sort()).toEqual(['w', 'wö']);
    const pieces = ['h', 'e', 'l', 'o', 'w', 'r', 'd', 'he', 'll', 'hell', 'hello', 'rl', 'wö', 'ö'];
    expect(first.map((c) => c.word).sort()).toEqual(pieces.sort());
    mlm.dispose();
  });
});
