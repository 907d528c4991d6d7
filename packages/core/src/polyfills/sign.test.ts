import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-wasm';
import '@tensorflow/tfjs-layers'; // registers the gradients
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { untargeted } from '../criteria.js';
import { ascentDirection } from '../distances.js';
import { lossAndGradient } from '../gradients.js';
import { fromFunction } from '../model.js';
import { registerWasmPolyfills, unregisterPolyfills } from './index.js';

/** Magnitudes from 1 down to 1e-30 (below float32's normal range at ~1.2e-38 is not reached), both signs, and zeros. */
const MAGNITUDES = [1, 1e-3, 1e-6, 1.2e-7, 1e-7, 1e-8, 1e-10, 1e-15, 1e-20, 1e-25, 1e-30];
const XS = [...MAGNITUDES, ...MAGNITUDES.map((m) => -m), 0, -0];

async function signOn(backend: 'cpu' | 'wasm', xs: number[], dtype: 'float32' | 'int32' = 'float32'): Promise<number[]> {
  await tf.setBackend(backend);
  const x = tf.tensor1d(xs, dtype);
  const s = tf.sign(x);
  const out = Array.from(await s.data());
  tf.dispose([x, s]);
  return out;
}

describe('Sign on wasm has no threshold', () => {
  beforeAll(async () => {
    await tf.setBackend('wasm');
    registerWasmPolyfills({ performance: false });
  });
  afterAll(async () => {
    await tf.setBackend('wasm');
  });

  it('the builtin returns 0 below ~1.2e-7 (the bug this polyfill fixes)', async () => {
    unregisterPolyfills('wasm');
    try {
      const builtin = await signOn('wasm', [1e-8, -1e-10, 1e-30]);
      expect(builtin).toEqual([0, 0, 0]);
    } finally {
      registerWasmPolyfills({ performance: false });
    }
  });

  it('matches the cpu backend at every magnitude down to 1e-30, both signs, zero and NaN', async () => {
    const cpu = await signOn('cpu', [...XS, Number.NaN]);
    const wasm = await signOn('wasm', [...XS, Number.NaN]);
    expect(wasm).toEqual(cpu);
    expect(wasm.slice(0, MAGNITUDES.length)).toEqual(MAGNITUDES.map(() => 1));
    expect(wasm.slice(MAGNITUDES.length, 2 * MAGNITUDES.length)).toEqual(MAGNITUDES.map(() => -1));
  });

  it('int32 input keeps its dtype; a rank-3 input keeps its shape; nothing leaks', async () => {
    expect(await signOn('wasm', [-5, 0, 7], 'int32')).toEqual([-1, 0, 1]);
    await tf.setBackend('wasm');
    const before = tf.memory().numTensors;
    const x = tf.randomNormal([2, 3, 4], 0, 1e-12, 'float32', 3);
    const s = tf.sign(x);
    expect(s.shape).toEqual([2, 3, 4]);
    expect(s.dtype).toBe('float32');
    expect(Array.from(await s.data()).every((v) => v === 1 || v === -1)).toBe(true);
    tf.dispose([x, s]);
    expect(tf.memory().numTensors).toBe(before);
  });

  it('a PGD step moves an over-confident example (cross-entropy gradient ~1e-12) by the full step', async () => {
    await tf.setBackend('wasm');
    // Linear model whose logit margin on x is ~60: softmax(p) - onehot ~ 1e-26 in float64, ~1e-12..1e-8 in float32 grads.
    const w = tf.tensor2d([[4, -4], [3, -3], [5, -5], [2, -2]]);
    const model = fromFunction((x) => tf.matMul(tf.reshape(x, [x.shape[0], 4]), w), { inputShape: [4], numClasses: 2, bounds: [-10, 10] });
    const x = tf.tensor2d([[2, 2, 2, 2]]);
    const y = tf.tensor1d([0], 'int32');
    const { grad, loss } = lossAndGradient(model, x, untargeted(y));
    const g = Array.from(await grad.data());
    expect(Math.max(...g.map(Math.abs))).toBeLessThan(1e-7); // tiny, below the builtin's threshold
    expect(g.every((v) => v !== 0)).toBe(true);
    const dir = ascentDirection('linf', grad);
    // the loss rises when class 0's score falls: every coordinate moves against w[:,0]
    expect(Array.from(await dir.data())).toEqual([-1, -1, -1, -1]);
    // with the builtin kernel the same step does not move at all
    unregisterPolyfills('wasm');
    let stuck: number[];
    try {
      const d0 = ascentDirection('linf', grad);
      stuck = Array.from(await d0.data());
      d0.dispose();
    } finally {
      registerWasmPolyfills({ performance: false });
    }
    expect(stuck).toEqual([0, 0, 0, 0]);
    tf.dispose([w, x, y, grad, loss, dir]);
  });
});
