import * as tf from '@tensorflow/tfjs-core';
import { createRegistry, initBackend } from '@parry/core';
import { describeAttackConformance } from '@parry/core/testing';
import { describe, expect, it } from 'vitest';
import plugins, { exampleNoise } from './index.js';

describeAttackConformance(exampleNoise);
describeAttackConformance(exampleNoise, { options: { dist: 'gaussian', norm: 'l2', tries: 3 } });

describe('example/noise', () => {
  it('registers through the public registry with its capabilities as data', () => {
    const registry = createRegistry(plugins);
    expect(registry.names()).toEqual(['example/grad-norm', 'example/noise', 'example/typo-lite', 'example/vowel-drop']);
    const attack = registry.create('noise', { norm: 'l2' }, 'attack');
    expect(attack).toMatchObject({ name: 'example/noise', norm: 'l2', needs: ['scores'], mode: 'fixed-epsilon' });
  });

  it('refuses bad options with one line', () => {
    expect(() => exampleNoise({ dist: 'laplace' as 'uniform' })).toThrow(/example\/noise: option "dist"/);
  });

  it('reads no gradient: it runs on a model that only offers scores', async () => {
    await initBackend({ backend: 'auto' });
    const before = tf.memory().numTensors;
    const x = tf.fill([2, 3], 0.5);
    const model = {
      name: 'scores-only', inputShape: [3], bounds: [0, 1] as [number, number], numClasses: 2, outputKind: 'logits' as const,
      capabilities: { gradients: false, scores: true },
      logits: (xi: tf.Tensor) => tf.tidy(() => tf.concat([tf.sum(xi, 1, true), tf.neg(tf.sum(xi, 1, true))], 1) as tf.Tensor2D),
    };
    const labels = tf.tensor1d([0, 0], 'int32');
    const counters = { gradientEvaluations: 0, forwardEvaluations: 0 };
    const { createRng, untargeted } = await import('@parry/core');
    const out = await exampleNoise({ tries: 2 }).run(model as never, x, untargeted(labels), { epsilons: [0.1], rng: createRng(1), counters });
    expect(out.adversarials[0].shape).toEqual([2, 3]);
    expect(counters).toEqual({ gradientEvaluations: 0, forwardEvaluations: 4 });
    tf.dispose([x, labels, ...out.adversarials]);
    expect(tf.memory().numTensors).toBe(before);
  });
});
