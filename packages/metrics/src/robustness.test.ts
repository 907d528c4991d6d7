import * as tf from '@tensorflow/tfjs-core';
import { type AttackResult, initBackend } from '@parry/core';
import { beforeAll, describe, expect, it } from 'vitest';
import { accuracy, correctMask, summarizeAttack } from './robustness.js';

beforeAll(async () => {
  await initBackend();
});

describe('robustness metrics', () => {
  it('accuracy and correctness follow the argmax', async () => {
    const logits = tf.tensor2d([[2, 1], [0, 3], [5, 4], [1, 2]]);
    const labels = tf.tensor1d([0, 1, 1, 0], 'int32');
    expect(await accuracy(logits, labels)).toBe(0.5);
    expect(await correctMask(logits, labels)).toEqual([true, true, false, false]);
    tf.dispose([logits, labels]);
  });

  it('robust accuracy, success rate and perturbation sizes per epsilon, counted by hand', async () => {
    // 4 examples of 2 pixels; example 3 was misclassified before the attack
    const x = tf.tensor2d([[0, 0], [0.5, 0.5], [1, 1], [0.2, 0.2]]);
    const adv = tf.tensor2d([[0.1, 0], [0.5, 0.5], [0.7, 0.6], [0.2, 0.2]]);
    const success = tf.tensor1d([true, false, true, true], 'bool');
    const distance = tf.tensor1d([0.1, 0, 0.4, 0]);
    const result: AttackResult = {
      attack: 'test/fake',
      norm: 'linf',
      options: {},
      perEpsilon: [{ epsilon: 0.5, adversarial: adv, success, distance }],
      counters: { gradientEvaluations: 8, forwardEvaluations: 4 },
      wallTimeMs: 12,
    };
    const before = tf.memory().numTensors;
    const s = await summarizeAttack(x, [true, true, true, false], result);
    expect(tf.memory().numTensors).toBe(before);
    const e = s.perEpsilon[0];
    expect(s.cleanAccuracy).toBe(0.75);
    expect(e.robustAccuracy).toBe(0.25); // only example 1 survives
    expect(e.attackSuccessRate).toBeCloseTo(2 / 3, 10); // examples 0 and 2 of the 3 correct ones
    expect(e.linf!.count).toBe(2);
    expect(e.linf!.max).toBeCloseTo(0.4, 6);
    expect(e.linf!.mean).toBeCloseTo((0.1 + 0.4) / 2, 6);
    expect(e.l2!.max).toBeCloseTo(Math.hypot(0.3, 0.4), 6);
    expect(s.gradientEvaluations).toBe(8);
    tf.dispose([x, adv, success, distance]);
  });
});
