import * as tf from '@tensorflow/tfjs-core';
import { type AttackResult, fromFunction, initBackend } from '@parry/core';
import { beforeAll, describe, expect, it } from 'vitest';
import { reportDetails } from './report-details.js';
import { summarizeAttack } from './robustness.js';

beforeAll(async () => {
  await initBackend();
});

describe('reportDetails', () => {
  it('keeps per-example sizes of the successful adversarials and encodes image examples with predictions', async () => {
    // 3 images of 2x2x1 in bounds [-1, 1]; the "model" predicts class 1 when the mean pixel is > 0
    const model = fromFunction((x) => tf.tidy(() => {
      const m = tf.mean(tf.reshape(x, [x.shape[0], -1]), 1, true);
      return tf.concat([tf.neg(m), m], 1);
    }), { inputShape: [2, 2, 1], numClasses: 2, bounds: [-1, 1] });
    const x = tf.tensor4d([1, 1, 1, 1, 0.5, 0.5, 0.5, 0.5, -1, -1, -1, -1], [3, 2, 2, 1]);
    const y = tf.tensor1d([1, 1, 0], 'int32');
    const adv = tf.tensor4d([-1, -1, -1, -1, 0.5, 0.5, 0.5, 0.5, -1, -1, -1, -1], [3, 2, 2, 1]);
    const success = tf.tensor1d([true, false, false], 'bool');
    const distance = tf.tensor1d([2, 0, 0]);
    const result: AttackResult = { attack: 't/fake', norm: 'linf', options: {}, perEpsilon: [{ epsilon: 2, adversarial: adv, success, distance }], counters: { gradientEvaluations: 0, forwardEvaluations: 0 }, wallTimeMs: 1 };
    const cleanCorrect = [true, true, true];
    const summary = await summarizeAttack(x, cleanCorrect, result);
    const before = tf.memory().numTensors;
    const d = await reportDetails(summary, model, x, y, cleanCorrect, result, { examples: 2 });
    expect(tf.memory().numTensors).toBe(before);
    expect(d.perEpsilon[0].sizes).toEqual({ linf: [2], l2: [4] });
    expect(d.perEpsilon[0].robustAccuracy).toBe(summary.perEpsilon[0].robustAccuracy);
    expect(d.examples).toHaveLength(2);
    const e = d.examples![0];
    expect(e).toMatchObject({ index: 0, shape: [2, 2, 1], label: 1, prediction: 1 });
    expect([...Buffer.from(e.original, 'base64')]).toEqual([255, 255, 255, 255]);
    expect(e.perEpsilon[0]).toMatchObject({ epsilon: 2, prediction: 0, success: true });
    expect([...Buffer.from(e.perEpsilon[0].adversarial, 'base64')]).toEqual([0, 0, 0, 0]);
    expect([...Buffer.from(d.examples![1].original, 'base64')]).toEqual([191, 191, 191, 191]); // 0.5 in [-1, 1]
    expect(d.examples![1].perEpsilon[0]).toMatchObject({ prediction: 1, success: false });
    tf.dispose([x, y, adv, success, distance]);
  });

  it('keeps no examples for non-image inputs and no sizes when asked not to', async () => {
    const model = fromFunction((x) => tf.tidy(() => tf.concat([tf.neg(x), x], 1)), { inputShape: [1], numClasses: 2 });
    const x = tf.tensor2d([[0.2], [0.9]]);
    const y = tf.tensor1d([1, 1], 'int32');
    const success = tf.tensor1d([false, true], 'bool');
    const distance = tf.tensor1d([0, 0.1]);
    const result: AttackResult = { attack: 't/fake', norm: 'linf', options: {}, perEpsilon: [{ epsilon: 0.1, adversarial: x, success, distance }], counters: { gradientEvaluations: 0, forwardEvaluations: 0 }, wallTimeMs: 1 };
    const summary = await summarizeAttack(x, [true, true], result);
    const d = await reportDetails(summary, model, x, y, [true, true], result, { sizes: false });
    expect(d.examples).toBeUndefined();
    expect(d.perEpsilon[0].sizes).toBeUndefined();
    tf.dispose([x, y, success, distance]);
  });
});
