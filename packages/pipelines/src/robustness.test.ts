import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend, isParryError } from '@parry/core';
import { tinyBatch, tinyClassifier } from '@parry/core/testing';
import type { TextDataset } from '@parry/datasets';
import { trainText } from '@parry/defenses';
import { readResults, validateResults } from '@parry/metrics';
import { buildWordPieceVocab, createTransformerClassifier, smallConfig, type TransformerClassifier, wordPieceTokenizer } from '@parry/text';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeDataset } from './text-data.js';
import { robustness } from './robustness.js';

beforeAll(async () => {
  await initBackend();
});

describe('robustness() on an image model', () => {
  it('measures clean accuracy, runs every attack at every epsilon and returns valid results; no tensor leaks', async () => {
    const model = tinyClassifier({ seed: 3 });
    const { x, labels } = tinyBatch(model, 40, 9); // labels are the model's own predictions: clean accuracy 1
    const before = tf.memory().numTensors;
    const r = await robustness(model, { x, y: labels }, { attacks: ['fgsm', 'pgd'], epsilons: [0.05, 0.5] });
    expect(tf.memory().numTensors).toBe(before);
    expect(validateResults(r)).toEqual(r);
    expect(r.model.modality).toBe('image');
    expect(r.clean?.accuracy).toBe(1);
    expect(r.clean?.n).toBe(40);
    expect(r.attacks.map((a) => a.attack)).toEqual(['parry/fgsm', 'parry/pgd']);
    for (const a of r.attacks) {
      if (a.modality !== 'image') throw new Error('expected an image entry');
      expect(a.perEpsilon.map((e) => e.epsilon)).toEqual([0.05, 0.5]);
      // a larger ball never helps the model, and the large one breaks it on some examples
      expect(a.perEpsilon[1].robustAccuracy).toBeLessThanOrEqual(a.perEpsilon[0].robustAccuracy);
      expect(a.perEpsilon[1].robustAccuracy).toBeLessThan(1);
    }
    tf.dispose([x, labels]);
    model.dispose();
  });

  it('refuses a text attack for an image model and text data for an image model, with one line', async () => {
    const model = tinyClassifier({ seed: 3 });
    const { x, labels } = tinyBatch(model, 4, 9);
    await expect(robustness(model, { x, y: labels }, { attacks: ['pwws'] })).rejects.toThrow(/pwws attacks text models/);
    const text: TextDataset = { name: 't', source: 'mem', multiLabel: false, labelNames: ['a', 'b'], examples: [{ text: 'x', label: 0, line: 1 }] };
    await expect(robustness(model, text, { attacks: ['fgsm'] })).rejects.toThrow(/needs image data/);
    tf.dispose([x, labels]);
    model.dispose();
  });
});

/** Toy sentiment: positive texts contain "great" or "fun", negative ones "awful" or "boring". */
function toyData(n: number, seed: number): TextDataset {
  const filler = ['the', 'movie', 'plot', 'was', 'really', 'quite', 'a', 'story', 'film', 'and', 'cast', 'so'];
  let s = seed;
  const rand = (k: number) => {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    return (s >>> 8) % k;
  };
  const examples = Array.from({ length: n }, (_, i) => {
    const label = rand(2);
    const words = Array.from({ length: 4 + rand(4) }, () => filler[rand(filler.length)]);
    words.splice(rand(words.length), 0, (label ? ['great', 'fun'] : ['awful', 'boring'])[rand(2)]);
    return { text: words.join(' '), label, line: i + 1 };
  });
  return { name: 'toy sentiment', source: 'memory', multiLabel: false, labelNames: ['neg', 'pos'], examples };
}

describe('robustness() on a text model', () => {
  let model: TransformerClassifier;
  let tokenizer: ReturnType<typeof wordPieceTokenizer>;
  const train = toyData(240, 1);
  const dev = toyData(30, 2);
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'parry-robustness-'));
  afterAll(() => {
    model?.dispose();
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  beforeAll(async () => {
    tokenizer = wordPieceTokenizer(buildWordPieceVocab(train.examples.map((e) => e.text), { vocabSize: 120 }), { lowercase: true });
    const config = smallConfig('bert', { vocabSize: tokenizer.vocabSize, hiddenSize: 32, numLayers: 1, numHeads: 2, intermediateSize: 64, maxPositions: 16, padTokenId: tokenizer.padId, labelNames: ['neg', 'pos'] });
    model = createTransformerClassifier(config, { seed: 0 });
    await trainText(model, encodeDataset(train, tokenizer, 16), { epochs: 3, batchSize: 16, learningRate: 3e-3, seed: 0, padId: tokenizer.padId, tokenizer, maxLength: 16 });
  }, 60_000);

  it('measures clean metrics, runs every text attack on the same examples and returns valid results', async () => {
    const before = tf.memory().numTensors;
    const r = await robustness({ model, tokenizer, maxLength: 16 }, dev, { attacks: ['deepwordbug', 'pwws'], n: 20, out: path.join(tmp, 'results.json'), runName: 'keyword filter' });
    expect(tf.memory().numTensors).toBe(before);
    expect(r.model).toMatchObject({ modality: 'text', numLabels: 2, labelNames: ['neg', 'pos'], outputKind: 'single-label', runName: 'keyword filter' });
    expect(r.clean?.n).toBe(20);
    expect(r.clean!.accuracy).toBeGreaterThanOrEqual(0.8); // the keyword task is learnt in 3 epochs
    expect(r.attacks.map((a) => a.attack)).toEqual(['parry/deepwordbug', 'parry/pwws']);
    for (const a of r.attacks) {
      if (a.modality !== 'text') throw new Error('expected a text entry');
      expect(a.n).toBe(20);
      expect(a.successful + a.failed + a.skipped).toBe(20);
      expect(a.cleanAccuracy).toBeCloseTo(r.clean!.accuracy, 10); // the same examples, the same model
      expect(a.totalQueries).toBeGreaterThan(20); // it attacked: queries beyond one per example
      expect(a.successful).toBeGreaterThan(0); // one keyword carries the label: replacing it flips some
    }
    expect(readResults(path.join(tmp, 'results.json'))).toEqual(r);
    // every example is kept, one compact record each
    for (const a of r.attacks) if (a.modality === 'text') expect(a.examples.map((x) => x.index)).toEqual([...Array(20).keys()]);
  }, 60_000);

  it('refuses an image attack, epsilons, and an unknown option for a text model, before any work', async () => {
    const m = { model, tokenizer, maxLength: 16 };
    const err = async (p: Promise<unknown>) => p.then(() => undefined, (e) => e as Error);
    const e1 = await err(robustness(m, dev, { attacks: ['fgsm'] }));
    expect(isParryError(e1) && e1.message).toMatch(/fgsm attacks image models/);
    await expect(robustness(m, dev, { attacks: ['pwws'], epsilons: [0.1] })).rejects.toThrow(/epsilons are for image attacks/);
    await expect(robustness(m, dev, { attacks: ['pwws'], attackOptions: { pwws: { nope: 1 } } })).rejects.toThrow(/unknown option "nope"/);
  });
});
