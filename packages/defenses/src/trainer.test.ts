import * as tf from '@tensorflow/tfjs-core';
import { fromLayersModel, initBackend } from '@parry/core';
import * as tfl from '@tensorflow/tfjs-layers';
import { beforeAll, describe, expect, it } from 'vitest';
import { learningRateAt, trainClassifier } from './trainer.js';

beforeAll(async () => {
  await initBackend();
});

/** Two Gaussian blobs in 4-D, linearly separable. */
function blobs(n: number, seed: number) {
  return tf.tidy(() => {
    const y = tf.cast(tf.greater(tf.randomUniform([n], 0, 1, 'float32', seed), 0.5), 'int32') as tf.Tensor1D;
    const centre = tf.reshape(tf.mul(tf.sub(tf.mul(tf.cast(y, 'float32'), 2), 1), 1.5), [n, 1]);
    const x = tf.add(tf.randomNormal([n, 4], 0, 1, 'float32', seed + 1), centre);
    return { x, y };
  });
}

function mlp(seed: number) {
  const m = tfl.sequential();
  m.add(tfl.layers.dense({ inputShape: [4], units: 8, activation: 'relu', kernelInitializer: tfl.initializers.glorotUniform({ seed }) }));
  m.add(tfl.layers.dense({ units: 2, kernelInitializer: tfl.initializers.glorotUniform({ seed: seed + 1 }) }));
  return m;
}

describe('trainClassifier', () => {
  it('lowers the loss, learns a separable problem, repeats with a seed and leaks nothing', async () => {
    const data = blobs(256, 3);
    const run = async () => {
      const m = mlp(1);
      const records = await trainClassifier(fromLayersModel(m), data, { epochs: 5, batchSize: 32, learningRate: 0.02, seed: 9, evalSet: data });
      const w = Array.from(await m.getWeights()[0].data());
      m.dispose();
      return { records, w };
    };
    const first = await run();
    const before = tf.memory().numTensors;
    const second = await run();
    expect(tf.memory().numTensors).toBe(before);
    expect(first.records[4].loss).toBeLessThan(first.records[0].loss);
    expect(first.records[4].testAccuracy).toBeGreaterThan(0.95);
    expect(second.w).toEqual(first.w);
    tf.dispose([data.x, data.y]);
  });

  it('cosine schedule goes from the base rate to 0', () => {
    expect(learningRateAt(0.1, 0)).toBeCloseTo(0.1, 12);
    expect(learningRateAt(0.1, 0.5)).toBeCloseTo(0.05, 12);
    expect(learningRateAt(0.1, 1)).toBeCloseTo(0, 12);
  });

  it('refuses bad hyperparameters with a UsageError', async () => {
    const data = blobs(8, 1);
    const m = mlp(1);
    await expect(trainClassifier(fromLayersModel(m), data, { epochs: 0, batchSize: 4, learningRate: 0.1, seed: 0 })).rejects.toThrow(/epochs must be a positive integer/);
    m.dispose();
    tf.dispose([data.x, data.y]);
  });
});
