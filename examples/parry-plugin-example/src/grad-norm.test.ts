import * as tf from '@tensorflow/tfjs-core';
import { createRng, type DefenseStepContext, fromFunction, initBackend, type TrainBatch } from '@parry/core';
import { beforeAll, describe, expect, it } from 'vitest';
import { exampleGradNorm } from './index.js';

/** Logistic model with one input: logits = [w x, 0], so CE(x, y=0) = softplus(-w x) and CE(x, y=1) = softplus(w x). */
const W = 2;
const softplus = (v: number) => Math.log1p(Math.exp(v));
const ce = (x: number, y: number) => softplus(y === 0 ? -W * x : W * x);

const close = (a: number, b: number, tol: number) => expect(Math.abs(a - b)).toBeLessThanOrEqual(tol);

describe('example/grad-norm', () => {
  beforeAll(async () => {
    await initBackend({ backend: 'auto' });
  });

  const model = fromFunction((x) => tf.tidy(() => tf.concat([tf.mul(x, W), tf.zerosLike(x)], 1) as tf.Tensor2D), {
    name: 'logistic',
    inputShape: [1],
    numClasses: 2,
    bounds: [-10, 10],
  });

  async function penalty(options: { weight: number; h: number }, xs: number[], ys: number[]): Promise<number> {
    const before = tf.memory().numTensors;
    const plugin = exampleGradNorm(options);
    const x = tf.tensor2d(xs, [xs.length, 1]);
    const y = tf.tensor1d(ys, 'int32');
    const ctx = { model, rng: createRng(0), epoch: 1, step: 0, stepsPerEpoch: 1, globalStep: 0, learningRate: 0.1, weights: [], counters: { gradientEvaluations: 0, forwardEvaluations: 0 } } as DefenseStepContext;
    const batch: TrainBatch = { x, y, clean: x, extras: {} };
    const transformed = await plugin.transformBatch!(batch, ctx);
    const logits = model.logits(x);
    const term = plugin.lossTerm!({ ...transformed, logits }, ctx);
    const value = (await term.data())[0];
    tf.dispose([term, logits, x, y, ...Object.values(transformed.extras)]);
    expect(tf.memory().numTensors).toBe(before);
    return value;
  }

  it('equals the hand-computed finite-difference penalty on a one-input logistic model', async () => {
    const xs = [0.3, -0.5, 1.2];
    const ys = [0, 0, 1];
    const h = 0.01;
    const weight = 0.7;
    // d = sign of dCE/dx: for y = 0, dCE/dx = -W sigmoid(-W x) < 0; for y = 1 it is > 0
    const slopes = xs.map((x, i) => {
      const d = ys[i] === 0 ? -1 : 1;
      return (ce(x + h * d, ys[i]) - ce(x, ys[i])) / h;
    });
    const expected = (weight * slopes.reduce((s, v) => s + v * v, 0)) / xs.length;
    close(await penalty({ weight, h }, xs, ys), expected, 1e-4);
    // and it approximates weight * mean ||dCE/dx||^2
    const sigmoid = (v: number) => 1 / (1 + Math.exp(-v));
    const exact = (weight * xs.reduce((s, x, i) => s + (W * sigmoid(ys[i] === 0 ? -W * x : W * x)) ** 2, 0)) / xs.length;
    close(await penalty({ weight, h: 1e-3 }, xs, ys), exact, 1e-2);
  });

  it('is zero when the weight is 0', async () => {
    expect(await penalty({ weight: 0, h: 0.01 }, [0.3, -0.5], [0, 1])).toBe(0);
  });

  it('refuses a negative weight with one line', () => {
    expect(() => exampleGradNorm({ weight: -1 })).toThrow(/example\/grad-norm: option "weight"/);
  });
});
