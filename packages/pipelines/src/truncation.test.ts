import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '@parry/core';
import { wordPieceTokenizer } from '@parry/text';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { evaluateTextModel, trainTextModel } from './text.js';
import { TRAINING_FILE } from './training-info.js';
import { countTruncation, modelTruncation, truncationLine } from './truncation.js';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'parry-truncation-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));
beforeAll(async () => {
  await initBackend();
});

const LETTERS = 'a b c d e f g h i j k l m n o p'.split(' ');
const tok = wordPieceTokenizer(['[PAD]', '[UNK]', '[CLS]', '[SEP]', ',', ...LETTERS]);

describe('countTruncation', () => {
  // maxLength 6: [CLS] + 4 tokens + [SEP]
  const examples = [
    { text: 'a b c' }, // fits
    { text: 'a b c d' }, // fits exactly
    { text: 'a b c d e f g h' }, // 8 tokens, 4 kept
    { text: 'a , b , c d' }, // 6 tokens (two commas), 4 kept
  ];

  it('counts the texts over the limit and the words with a kept token, per strategy', () => {
    // head: "a b c d" (4 of 8 words), "a , b ," (2 of 4)
    expect(countTruncation(examples, tok, 6, 'head', 'dev')).toEqual({ split: 'dev', n: 4, truncated: 2, words: 19, visibleWords: 3 + 4 + 4 + 2, visibleWordShare: 13 / 19 });
    // tail: "e f g h" (4 of 8), "b , c d" (3 of 4)
    expect(countTruncation(examples, tok, 6, 'tail', 'dev')).toMatchObject({ truncated: 2, visibleWords: 3 + 4 + 4 + 3 });
    // head+tail: 1 + 3 tokens: "a" + "f g h" (4 of 8), "a" + ", c d" (3 of 4)
    expect(countTruncation(examples, tok, 6, 'head+tail', 'dev')).toMatchObject({ truncated: 2, visibleWords: 3 + 4 + 4 + 3 });
    expect(countTruncation([], tok, 6, 'head', 'train')).toEqual({ split: 'train', n: 0, truncated: 0, words: 0, visibleWords: 0, visibleWordShare: 1 });
  });

  it('pairs: each text within its longest-first share', () => {
    // maxLength 8: [CLS] A [SEP] B [SEP] leaves 5 for 6 + 2 tokens: the short text keeps its 2, the long one 3
    const [r] = [countTruncation([{ text: 'a b c d e f', pair: 'x y' }], tok, 8, 'tail', 'train')];
    expect(r).toMatchObject({ n: 1, truncated: 1, words: 8, visibleWords: 3 + 2 });
  });

  it('prints one line', () => {
    const line = truncationLine({ strategy: 'tail', maxLength: 6, splits: [countTruncation(examples, tok, 6, 'tail', 'train'), countTruncation(examples.slice(0, 2), tok, 6, 'tail', 'dev')] });
    expect(line).toBe('truncation tail (6 tokens): train 2 of 4 texts cut (50.0%), 73.7% of words seen; dev 0 of 2 texts cut (0.0%), 100.0% of words seen');
  });
});

describe('trainTextModel / evaluateTextModel: the strategy is saved with the model and counted in the results', () => {
  /** Reviews whose cue word ("great" / "awful") is the last word: a tail model sees it, a head model often does not. */
  function csv(n: number, seed: number): string {
    let s = seed;
    const rand = (k: number) => {
      s = (Math.imul(s, 1103515245) + 12345) >>> 0;
      return (s >>> 8) % k;
    };
    const filler = ['the', 'movie', 'plot', 'was', 'really', 'quite', 'a', 'story'];
    const lines = Array.from({ length: n }, () => {
      const label = rand(2);
      const words = Array.from({ length: 2 + rand(12) }, () => filler[rand(filler.length)]);
      return `"${[...words, label ? 'great' : 'awful'].join(' ')}",${label}`;
    });
    return `text,label\n${lines.join('\n')}\n`;
  }
  const train = path.join(tmp, 'train.csv');
  const dev = path.join(tmp, 'dev.csv');
  fs.writeFileSync(train, csv(120, 1));
  fs.writeFileSync(dev, csv(40, 2));
  const spec = { data: train, dev, textColumn: 'text', labelColumn: 'label' };
  const tiny = { model: 'bert', hidden: 16, layers: 1, heads: 2, intermediate: 32, vocabSize: 200, maxLength: 8, epochs: 1, batchSize: 16, lr: 1e-3, seed: 0 };

  it('train counts train and dev texts cut, saves the strategy; eval uses it unless told otherwise', async () => {
    const before = tf.memory().numTensors;
    const out = path.join(tmp, 'tail-model');
    const r = await trainTextModel({ ...spec, ...tiny, truncation: 'tail', out });
    expect(r.truncation.strategy).toBe('tail');
    expect(r.truncation.maxLength).toBe(8);
    const [t, d] = r.truncation.splits;
    expect([t.split, t.n, d.split, d.n]).toEqual(['train', 120, 'dev', 40]);
    // 6 word tokens fit: texts of 7 words or more are cut (counted independently here from the data)
    const long = (file: string) => fs.readFileSync(file, 'utf8').trim().split('\n').slice(1).filter((l) => l.split(',')[0].split(' ').length > 6).length;
    expect(t.truncated).toBe(long(train));
    expect(d.truncated).toBe(long(dev));
    expect(t.truncated).toBeGreaterThan(0);
    expect(t.visibleWordShare).toBeLessThan(1);
    expect(r.results.truncation).toEqual(r.truncation);
    const saved = JSON.parse(fs.readFileSync(path.join(out, 'train-results.json'), 'utf8'));
    expect(saved.truncation).toEqual(r.truncation);
    expect(JSON.parse(fs.readFileSync(path.join(out, TRAINING_FILE), 'utf8')).truncation).toBe('tail');
    expect(modelTruncation(out)).toBe('tail');
    expect(modelTruncation(out, 'head')).toBe('head');
    expect(tf.memory().numTensors).toBe(before);

    const e = await evaluateTextModel({ model: out });
    expect(e.truncation).toEqual({ strategy: 'tail', maxLength: 8, splits: [d] });
    expect(e.results.truncation).toEqual(e.truncation);
    const head = await evaluateTextModel({ model: out, truncation: 'head' });
    expect(head.truncation!.strategy).toBe('head');
    expect(head.truncation!.splits[0].truncated).toBe(d.truncated);
    // one token per word: either way, 6 words of a cut text are seen (which ones differ; the attack tests check that)
    const seen = fs.readFileSync(dev, 'utf8').trim().split('\n').slice(1).reduce((a, l) => a + Math.min(6, l.split(',')[0].split(' ').length), 0);
    expect(head.truncation!.splits[0].visibleWords).toBe(seen);
    expect(d.visibleWords).toBe(seen);
    await expect(evaluateTextModel({ model: out, truncation: 'left' as never })).rejects.toThrow(/^--truncation must be one of head, tail, head\+tail, got "left"$/);
    expect(tf.memory().numTensors).toBe(before);
  }, 120_000);

  it('a bad strategy is refused before anything is trained', async () => {
    const out = path.join(tmp, 'never');
    await expect(trainTextModel({ ...spec, ...tiny, truncation: 'middle' as never, out })).rejects.toThrow(/^--truncation must be one of head, tail, head\+tail, got "middle"$/);
    expect(fs.existsSync(out)).toBe(false);
  });
});
