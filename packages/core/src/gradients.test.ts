import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from './backend.js';
import { criterionLoss, targeted, untargeted } from './criteria.js';
import { lossAndGradient } from './gradients.js';
import { fromFunction } from './model.js';
import { createRng } from './rng.js';

beforeAll(async () => {
  await initBackend();
});

/** A smooth (tanh) two-layer model so central differences are accurate. */
function smoothModel() {
  const w1 = tf.randomNormal([6, 5], 0, 0.8, 'float32', 1);
  const w2 = tf.randomNormal([5, 3], 0, 0.8, 'float32', 2);
  const model = fromFunction((x) => tf.matMul(tf.tanh(tf.matMul(tf.reshape(x, [x.shape[0], 6]), w1)), w2), {
    inputShape: [2, 3],
    numClasses: 3,
  });
  return { model, dispose: () => tf.dispose([w1, w2]) };
}

describe('input gradients', () => {
  for (const kind of ['untargeted', 'targeted'] as const) {
    it(`match central finite differences (${kind})`, async () => {
      const { model, dispose } = smoothModel();
      const rng = createRng(4);
      const xv = Array.from({ length: 2 * 6 }, () => rng.float());
      const labels = tf.tensor1d([0, 2], 'int32');
      const criterion = kind === 'untargeted' ? untargeted(labels) : targeted(labels);
      const x = tf.tensor(xv, [2, 2, 3]);
      const before = tf.memory().numTensors;
      const { loss, grad, logits } = lossAndGradient(model, x, criterion);
      const g = Array.from(await grad.data());
      const l = Array.from(await loss.data());
      tf.dispose([loss, grad, logits]);
      expect(tf.memory().numTensors).toBe(before);
      const h = 1e-2;
      const lossAt = (v: number[]) =>
        tf.tidy(() => Array.from(criterionLoss(criterion, model.logits(tf.tensor(v, [2, 2, 3]))).dataSync()));
      expect(l.map((v) => Math.fround(v))).toEqual(lossAt(xv));
      for (let i = 0; i < xv.length; i++) {
        const plus = xv.slice();
        const minus = xv.slice();
        plus[i] += h;
        minus[i] -= h;
        const example = Math.floor(i / 6);
        const fd = (lossAt(plus)[example] - lossAt(minus)[example]) / (2 * h);
        expect(Math.abs(g[i] - fd)).toBeLessThan(2e-3 + 1e-2 * Math.abs(fd));
      }
      tf.dispose([x, labels]);
      dispose();
    });
  }
});
