import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '@parry/core';
import type { TextBatch } from '@parry/core';
import { smallConfig } from './config.js';
import { createTransformerClassifier } from './encoder.js';
import { batchOf, gradients, maxAbsDiff, tiny } from './test-utils/gradients.js';

describe.each(['wasm', 'cpu'] as const)('per-layer recomputation on %s', (backend) => {
  beforeAll(async () => {
    await initBackend({ backend });
  });
  afterAll(async () => {
    await initBackend({ backend: 'wasm' });
  });

  it.each(['bert', 'electra', 'distilbert', 'roberta'] as const)('%s: same loss and gradients as the plain tape within 1e-5 (dropout on, padding)', (family) => {
    const cfg = tiny(family);
    const model = createTransformerClassifier(cfg, { seed: 4 });
    const batch = batchOf(cfg);
    const before = tf.memory().numTensors;
    const plain = gradients(model, batch, 11);
    model.recompute = true;
    const re = gradients(model, batch, 11);
    expect(tf.memory().numTensors).toBe(before);
    expect(re.grads.length).toBe(plain.grads.length);
    expect(Math.abs(re.loss - plain.loss)).toBeLessThan(1e-5);
    expect(maxAbsDiff(re.grads, plain.grads)).toBeLessThan(1e-5);
    // the comparison can fail: another dropout seed changes the gradients by far more than the tolerance
    expect(maxAbsDiff(gradients(model, batch, 12).grads, plain.grads)).toBeGreaterThan(1e-3);
    tf.dispose(Object.values(batch));
    model.dispose();
  });

  it('holds less at the peak than the plain tape (4 layers)', async () => {
    const cfg = smallConfig('bert', { vocabSize: 200, hiddenSize: 64, numHeads: 2, numLayers: 4, intermediateSize: 256, maxPositions: 64 });
    const model = createTransformerClassifier(cfg, { seed: 1 });
    const rows = Array.from({ length: 8 }, (_, i) => Array.from({ length: 64 }, (_, t) => 5 + ((i * 31 + t * 7) % 190)));
    const batch: TextBatch = { inputIds: tf.tensor2d(rows, undefined, 'int32'), attentionMask: tf.ones([8, 64], 'int32') as tf.Tensor2D };
    const vars = model.parameters().map((p) => p.variable);
    const peak = async () =>
      (
        await tf.profile(() => {
          const { value, grads } = tf.variableGrads(() => tf.losses.softmaxCrossEntropy(tf.oneHot(tf.tensor1d([0, 1, 0, 1, 0, 1, 0, 1], 'int32'), 2), model.logits(batch, { training: true, seed: 3 })), vars);
          tf.dispose([value, ...Object.values(grads)]);
        })
      ).peakBytes;
    const plain = await peak();
    model.recompute = true;
    const re = await peak();
    expect(re).toBeLessThan(0.6 * plain);
    tf.dispose(Object.values(batch));
    model.dispose();
  });
});
