import * as tf from '@tensorflow/tfjs-core';
import { initBackend, type ModelFamily, UsageError } from '@parry/core';
import { createTransformerClassifier, smallConfig, type TransformerClassifier } from '@parry/text';
import { beforeAll, describe, expect, it } from 'vitest';
import { layerLrScales, trainText } from './trainer.js';
import { toyTextSet as toySet } from '../test-utils/toy-text.js';

beforeAll(async () => {
  await initBackend({ backend: 'cpu' });
});

const FAMILIES: ModelFamily[] = ['bert', 'electra', 'distilbert', 'roberta'];
/** What each family's Hugging Face names look like, spelled out independently of the trainer's patterns. */
const SHAPE: Record<ModelFamily, { embeddings: string[]; layer: (i: number) => string; head: string[] }> = {
  bert: { embeddings: ['bert.embeddings.'], layer: (i) => `bert.encoder.layer.${i}.`, head: ['bert.pooler.', 'classifier.'] },
  electra: { embeddings: ['electra.embeddings.', 'electra.embeddings_project.'], layer: (i) => `electra.encoder.layer.${i}.`, head: ['classifier.'] },
  distilbert: { embeddings: ['distilbert.embeddings.'], layer: (i) => `distilbert.transformer.layer.${i}.`, head: ['pre_classifier.', 'classifier.'] },
  roberta: { embeddings: ['roberta.embeddings.'], layer: (i) => `roberta.encoder.layer.${i}.`, head: ['classifier.'] },
};

function tiny(family: ModelFamily, seed = 0): TransformerClassifier {
  // ELECTRA with a smaller embedding size, so its embeddings_project exists
  const config = smallConfig(family, { vocabSize: 60, hiddenSize: 32, numHeads: 2, numLayers: 3, intermediateSize: 64, maxPositions: 40, ...(family === 'electra' ? { embeddingSize: 16 } : {}) });
  return createTransformerClassifier(config, { seed });
}

describe('layerLrScales', () => {
  for (const family of FAMILIES) {
    it(`${family}: every parameter of a 3-layer classifier gets the rule's scale`, () => {
      const model = tiny(family);
      const names = model.parameters().map((p) => p.name);
      model.dispose();
      const d = 0.8;
      const scales = layerLrScales(names, 3, d);
      const shape = SHAPE[family];
      const seen = { embeddings: 0, layers: [0, 0, 0], head: 0 };
      names.forEach((name, k) => {
        if (shape.embeddings.some((p) => name.startsWith(p))) {
          seen.embeddings++;
          expect(scales[k], name).toBe(d ** 4);
          return;
        }
        const i = [0, 1, 2].find((j) => name.startsWith(shape.layer(j)));
        if (i !== undefined) {
          seen.layers[i]++;
          expect(scales[k], name).toBe(d ** (3 - i));
          return;
        }
        expect(shape.head.some((p) => name.startsWith(p)), `${name} is neither embeddings, layer nor head`).toBe(true);
        seen.head++;
        expect(scales[k], name).toBe(1);
      });
      // word + position (+ token type) embeddings and their LayerNorm; ELECTRA's projection
      expect(seen.embeddings).toBe({ bert: 5, electra: 7, distilbert: 4, roberta: 5 }[family]);
      expect(seen.layers).toEqual([16, 16, 16]);
      expect(seen.head).toBe(4);
    });

    it(`${family}: a name the rule cannot place is treated as head (scale 1); a layer past the count is refused`, () => {
      const prefix = family;
      const stray = [`${prefix}.adapter.weight`, `${prefix}.encoder.extra.weight`, 'lm_head.bias', `${prefix}.embeddings`, 'layer.1.weight'];
      expect(layerLrScales(stray, 3, 0.5)).toEqual([1, 1, 1, 1, 1]);
      const layerName = SHAPE[family].layer(3) + 'x.weight';
      expect(() => layerLrScales([layerName], 3, 0.5)).toThrow(/in layer 3, but the model has 3 layers/);
    });
  }

  it('refuses a decay outside (0, 1] and a bad layer count', () => {
    for (const d of [0, -0.5, 1.5, Number.NaN]) expect(() => layerLrScales(['classifier.weight'], 3, d)).toThrow(UsageError);
    expect(() => layerLrScales(['classifier.weight'], 0, 0.9)).toThrow(UsageError);
    expect(layerLrScales(['bert.encoder.layer.0.a', 'bert.embeddings.b'], 2, 1)).toEqual([1, 1]);
  });
});

/** L2 distance each named parameter moved. */
async function moved(model: TransformerClassifier, start: Map<string, Float32Array>, names: string[]): Promise<number> {
  let sum = 0;
  for (const p of model.parameters()) {
    if (!names.includes(p.name)) continue;
    const now = (await p.variable.data()) as Float32Array;
    const s = start.get(p.name)!;
    for (let j = 0; j < now.length; j++) sum += (now[j] - s[j]) ** 2;
  }
  return Math.sqrt(sum);
}

describe('trainText layerLrDecay', () => {
  it('embeddings move far less than the head relative to a run without decay; recorded only when on; no leak', async () => {
    const data = toySet(48, 1);
    const before = tf.memory().numTensors;
    const runs: Record<string, { emb: number; head: number; hp: Record<string, unknown> }> = {};
    for (const decay of [1, 0.5]) {
      const model = tiny('bert', 3);
      const start = new Map(await Promise.all(model.parameters().map(async (p) => [p.name, ((await p.variable.data()) as Float32Array).slice()] as const)));
      const r = await trainText(model, data, { epochs: 1, batchSize: 8, learningRate: 1e-3, warmupRatio: 0, schedule: 'constant', seed: 0, padId: 0, layerLrDecay: decay, memoryCheck: false });
      const emb = await moved(model, start, ['bert.embeddings.word_embeddings.weight', 'bert.embeddings.position_embeddings.weight']);
      const head = await moved(model, start, ['classifier.weight', 'bert.pooler.dense.weight']);
      runs[decay] = { emb, head, hp: r.hyperparameters };
      model.dispose();
    }
    expect(tf.memory().numTensors).toBe(before);
    const embRatio = runs[0.5].emb / runs[1].emb;
    const headRatio = runs[0.5].head / runs[1].head;
    // Adam's steps are about lr-sized per element, so the embeddings (scale 0.5^4 = 1/16) move about 1/16 as far
    expect(embRatio).toBeLessThan(0.15);
    expect(headRatio).toBeGreaterThan(0.6);
    expect(runs[0.5].hp.layerLrDecay).toBe(0.5);
    expect('layerLrDecay' in runs[1].hp).toBe(false);
  });

  it('refuses a decay outside (0, 1], and a model without HF layer names', async () => {
    const model = tiny('roberta');
    const data = toySet(8, 2);
    for (const layerLrDecay of [0, 1.5, Number.NaN]) {
      await expect(trainText(model, data, { epochs: 1, batchSize: 4, learningRate: 1e-3, seed: 0, padId: 1, layerLrDecay })).rejects.toThrow(/layer-wise learning-rate decay must be a number in \(0, 1\]/);
    }
    const unnamed = Object.assign(Object.create(Object.getPrototypeOf(model)), model, {
      parameters: () => model.parameters().map((p, i) => ({ name: `w${i}`, variable: p.variable })),
    }) as TransformerClassifier;
    await expect(trainText(unnamed, data, { epochs: 1, batchSize: 4, learningRate: 1e-3, seed: 0, padId: 1, layerLrDecay: 0.9, memoryCheck: false })).rejects.toThrow(/Hugging Face layer names/);
    model.dispose();
  });
});
