import * as tf from '@tensorflow/tfjs-core';
import { initBackend, UsageError } from '@parry/core';
import { beforeAll, describe, expect, it } from 'vitest';
import { createOptimizer, type OptimizerConfig, type OptimizerExtras } from './optimizer.js';

beforeAll(async () => {
  await initBackend({ backend: 'cpu' });
});

const GRAD = [0.3, -1.7, 0.02, 4.5, -0.001, 0.8];
const START = [0.5, -0.25, 1, 2, -4, 0.125];

/** Two variables with the same values, `steps` updates with the same gradients; returns each variable's values. */
async function run(config: OptimizerConfig, extras: OptimizerExtras, start: number[], grads: number[][], lr: number): Promise<Float32Array[]> {
  const vars = [0, 1].map((k) => {
    const init = tf.tensor1d(start);
    const v = tf.variable(init, true, `lrscale-test-${k}-${Math.random()}`);
    init.dispose();
    return v;
  });
  const opt = createOptimizer(config, vars, extras);
  for (const g of grads) {
    const t = tf.tensor1d(g);
    opt.apply({ [vars[0].name]: t, [vars[1].name]: t }, lr);
    t.dispose();
  }
  const out = await Promise.all(vars.map(async (v) => (await v.data()) as Float32Array));
  opt.dispose();
  tf.dispose(vars);
  return out;
}

describe('createOptimizer lrScale', () => {
  it('Adam: a variable with scale 0.5 moves exactly half as far as one with scale 1', async () => {
    const before = tf.memory().numTensors;
    // from zero, so the move is the (float32) step itself; halving lr halves it exactly
    const [a, b] = await run({ kind: 'adamw', weightDecay: 0 }, { lrScale: [1, 0.5] }, new Array(6).fill(0), [GRAD], 0.01);
    for (let j = 0; j < 6; j++) {
      expect(a[j]).not.toBe(0);
      expect(b[j]).toBe(a[j] / 2);
    }
    expect(tf.memory().numTensors).toBe(before);
  });

  it('AdamW: the decoupled decay is scaled too (w *= 1 - lr * scale * wd)', async () => {
    // zero gradients: Adam's step is 0, only the decay acts; lr 0.25, wd 0.5 and power-of-two weights keep it exact
    const [a, b] = await run({ kind: 'adamw', weightDecay: 0.5 }, { lrScale: [1, 0.5] }, START, [new Array(6).fill(0)], 0.25);
    for (let j = 0; j < 6; j++) {
      expect(a[j]).toBe(START[j] * (1 - 0.25 * 0.5));
      expect(b[j]).toBe(START[j] * (1 - 0.125 * 0.5));
      expect(b[j] - START[j]).toBe((a[j] - START[j]) / 2);
    }
  });

  it('SGD (momentum and plain): scale 0.5 moves exactly half as far', async () => {
    for (const momentum of [0.9, 0]) {
      const [a, b] = await run({ kind: 'sgd', momentum }, { lrScale: [1, 0.5] }, new Array(6).fill(0), [GRAD], 0.01);
      for (let j = 0; j < 6; j++) {
        expect(a[j]).not.toBe(0);
        expect(b[j]).toBe(a[j] / 2);
      }
    }
  });

  it('all scales 1 give bit-identical results to no lrScale (adamw, adam, sgd)', async () => {
    const grads = [GRAD, GRAD.map((g) => -0.7 * g + 0.01), GRAD.map((g) => g * g - 1)];
    const configs: OptimizerConfig[] = [{ kind: 'adamw', weightDecay: 0.01 }, { kind: 'adam' }, { kind: 'sgd', momentum: 0.9, nesterov: true }, { kind: 'sgd', momentum: 0 }];
    for (const config of configs) {
      const [plain] = await run(config, {}, START, grads, 3e-3);
      const [ones] = await run(config, { lrScale: [1, 1] }, START, grads, 3e-3);
      expect(Array.from(plain)).not.toEqual(START);
      expect(Buffer.from(ones.buffer)).toEqual(Buffer.from(plain.buffer));
    }
  });

  it('refuses scales that are not finite and > 0, or not one per variable', () => {
    const v = tf.variable(tf.zeros([2]), true, `lrscale-bad-${Math.random()}`);
    for (const lrScale of [[0], [-1], [Number.NaN], [Number.POSITIVE_INFINITY], [1, 1], []]) {
      expect(() => createOptimizer({ kind: 'adamw' }, [v], { lrScale })).toThrow(UsageError);
    }
    expect(() => createOptimizer({ kind: 'adamw' }, [v], { lrScale: [0] })).toThrow(/lrScale\[0\] is 0/);
    expect(() => createOptimizer({ kind: 'adamw' }, [v], { lrScale: [1, 1] })).toThrow(/2 entries for 1 variables/);
    v.dispose();
  });
});
