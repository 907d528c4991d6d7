import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-wasm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listPolyfills, registerWasmPolyfills, unregisterPolyfills } from './index.js';

const dataIds = () => (tf.backend() as unknown as { numDataIds(): number }).numDataIds();

/** `f` on wasm with the polyfills, on wasm with the builtins, and on cpu: shape, dtype and values of each. */
async function three(f: () => tf.Tensor) {
  const run = async () => {
    const t = tf.tidy(f);
    const out = { shape: t.shape, dtype: t.dtype, data: Array.from(await t.data()) };
    t.dispose();
    return out;
  };
  await tf.setBackend('wasm');
  const before = dataIds();
  const tensors = tf.memory().numTensors;
  const ours = await run();
  expect(dataIds()).toBe(before);
  expect(tf.memory().numTensors).toBe(tensors);
  unregisterPolyfills('wasm');
  let builtin;
  try {
    builtin = await run();
  } finally {
    registerWasmPolyfills();
  }
  await tf.setBackend('cpu');
  const cpu = await run();
  await tf.setBackend('wasm');
  return { ours, builtin, cpu };
}

const ramp = (n: number, dtype: 'float32' | 'int32' = 'float32') =>
  Array.from({ length: n }, (_, i) => (dtype === 'int32' ? i * 3 - 7 : Math.sin(i * 1.3) * 10 ** ((i % 7) - 3)));

describe('wasm GatherV2 / Slice / Sum polyfills', () => {
  beforeAll(async () => {
    await tf.setBackend('wasm');
    registerWasmPolyfills();
  });
  afterAll(() => {
    registerWasmPolyfills();
  });

  it('are registered', () => {
    expect(listPolyfills('wasm')).toEqual(expect.arrayContaining(['GatherV2', 'Slice', 'Sum']));
  });

  it('gather equals the builtin and cpu on every axis, 2-D indices, int32 values; a bad index is the builtin message', async () => {
    for (const [shape, idx, idxShape, axis] of [
      [[6, 5], [4, 0, 4, 2, 5], [5], 0],
      [[6, 5], [4, 0, 1], [3], 1],
      [[2, 3, 4], [2, 2, 0, 1], [2, 2], 1],
      [[2, 3, 4], [3, 0], [2], -1],
      [[7, 3], [], [0], 0],
    ] as Array<[number[], number[], number[], number]>) {
      for (const dtype of ['float32', 'int32'] as const) {
        const n = shape.reduce((a, b) => a * b, 1);
        const r = await three(() => tf.gather(tf.tensor(ramp(n, dtype), shape, dtype), tf.tensor(idx, idxShape, 'int32'), axis));
        expect(r.ours, `${shape} ${idx} ${axis} ${dtype}`).toEqual(r.builtin);
        expect(r.ours).toEqual(r.cpu);
      }
    }
    const x = tf.tensor2d(ramp(6), [3, 2]);
    const bad = tf.tensor1d([1, 3], 'int32');
    expect(() => tf.gather(x, bad)).toThrow('GatherV2: the index value 3 is not in [0, 2]');
    tf.dispose([x, bad]);
  });

  it('slice equals the builtin and cpu: contiguous rows, inner windows, ranks 1-5, numbers and -1 sizes', async () => {
    const cases: Array<[number[], number | number[], number | number[] | undefined]> = [
      [[512, 8], [0, 0], [128, 8]],
      [[5, 6], [1, 2], [3, 3]],
      [[4, 5, 6], [1, 0, 2], [2, -1, 3]],
      [[2, 3, 4, 5], [0, 1, 1, 2], [2, 1, 2, 3]],
      [[2, 2, 3, 2, 3], [1, 0, 1, 0, 1], [1, 2, 2, 2, 2]],
      [[9], 3, 4],
      [[4, 3], 1, undefined],
      [[4, 3], [2], [1]],
      [[4, 3], [1, 1], [0, 2]],
    ];
    for (const [shape, begin, size] of cases) {
      for (const dtype of ['float32', 'int32'] as const) {
        const n = shape.reduce((a, b) => a * b, 1);
        const r = await three(() => tf.slice(tf.tensor(ramp(n, dtype), shape, dtype), begin, size));
        expect(r.ours, `${shape} ${begin} ${size} ${dtype}`).toEqual(r.builtin);
        expect(r.ours).toEqual(r.cpu);
      }
    }
  });

  it('sum over leading axes equals the builtin bit for bit and cpu within float error; other axes run the builtin', async () => {
    const cases: Array<[number[], number | number[] | undefined, boolean]> = [
      [[256, 77], 0, false],
      [[256, 77], 0, true],
      [[3, 40, 33], [0, 1], false],
      [[3, 40, 33], [0, 1], true],
      [[3, 40, 33], [1, 0], true], // another order of the same sum: the builtin
      [[3, 40, 33], [-3], false],
      [[3, 40, 33], 2, false], // innermost: the builtin
      [[3, 40, 33], 1, false], // middle: the builtin
      [[3, 4], undefined, false], // everything: the builtin
    ];
    for (const [shape, axis, keepDims] of cases) {
      const n = shape.reduce((a, b) => a * b, 1);
      const r = await three(() => tf.sum(tf.tensor(ramp(n), shape), axis, keepDims));
      expect(r.ours, `${shape} ${axis}`).toEqual(r.builtin);
      expect(r.ours.shape).toEqual(r.cpu.shape);
      // float error of a sum: relative to the sum of the terms' magnitudes (the ramp spans 1e-3..1e3, with cancellation)
      await tf.setBackend('cpu');
      const mags = tf.tidy(() => tf.sum(tf.abs(tf.tensor(ramp(n), shape)), axis, keepDims).dataSync());
      await tf.setBackend('wasm');
      r.ours.data.forEach((v, i) => expect(Math.abs(v - r.cpu.data[i])).toBeLessThanOrEqual(1e-6 * mags[i]));
    }
  });
});
