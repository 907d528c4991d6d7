import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-wasm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { registerWasmPolyfills, unregisterPolyfills } from './index.js';
import { wordOffset } from './kernel-utils.js';
import { swapPlan } from './transpose.js';

const dataIds = () => (tf.backend() as unknown as { numDataIds(): number }).numDataIds();

describe('wordOffset', () => {
  it('stays positive past 2 GiB of heap (a signed shift does not)', () => {
    expect(wordOffset({ byteOffset: 2 ** 31 + 8 })).toBe(2 ** 29 + 2);
    expect(wordOffset({ byteOffset: 3 * 2 ** 30 })).toBe(3 * 2 ** 28);
    expect((2 ** 31 + 8) >> 2).toBeLessThan(0);
  });
});

describe('swapPlan', () => {
  it('recognises two-group swaps after dropping size-1 axes and merging runs; nothing else', () => {
    expect(swapPlan([3, 4], [1, 0])).toEqual({ outer: 1, rows: 3, cols: 4, inner: 1 });
    expect(swapPlan([2, 3, 4], [0, 2, 1])).toEqual({ outer: 2, rows: 3, cols: 4, inner: 1 });
    // attention heads: [B, T, nh, dh] -> [B, nh, T, dh] and -> [B, nh, dh, T]
    expect(swapPlan([2, 128, 12, 64], [0, 2, 1, 3])).toEqual({ outer: 2, rows: 128, cols: 12, inner: 64 });
    expect(swapPlan([2, 128, 12, 64], [0, 2, 3, 1])).toEqual({ outer: 2, rows: 128, cols: 768, inner: 1 });
    expect(swapPlan([5, 2, 3], [1, 2, 0])).toEqual({ outer: 1, rows: 5, cols: 6, inner: 1 });
    expect(swapPlan([1, 3, 1, 4], [3, 1, 2, 0])).toEqual({ outer: 1, rows: 3, cols: 4, inner: 1 });
    expect(swapPlan([3, 4, 5], [1, 0, 2])).toEqual({ outer: 1, rows: 3, cols: 4, inner: 5 });
    expect(swapPlan([3, 4], [0, 1])).toBe('noop');
    expect(swapPlan([1, 3, 1, 2], [2, 1, 0, 3])).toBe('noop');
    // a full reversal of three axes is no two-group swap
    expect(swapPlan([2, 3, 4], [2, 1, 0])).toBeUndefined();
    expect(swapPlan([2, 3, 4, 5], [1, 0, 3, 2])).toBeUndefined();
  });
});

describe('Transpose on wasm', () => {
  beforeAll(async () => {
    await tf.setBackend('wasm');
    registerWasmPolyfills();
  });
  afterAll(() => {
    registerWasmPolyfills();
  });

  const cases: Array<[number[], number[]]> = [
    [[3, 4], [1, 0]],
    [[37, 70], [1, 0]], // more than one 32 x 32 block, ragged edges
    [[70, 37], [1, 0]],
    [[3, 33, 65], [0, 2, 1]],
    [[2, 5, 3, 8], [0, 2, 1, 3]],
    [[2, 5, 3, 8], [0, 2, 3, 1]],
    [[2, 5, 3, 2], [0, 2, 1, 3]], // inner run of 2: the builtin
    [[4, 3, 2], [2, 1, 0]], // no two-group swap: the builtin
    [[1, 6, 1, 5], [3, 1, 2, 0]],
    [[0, 3], [1, 0]],
  ];

  it('equals the cpu backend (float32 and int32, NaN and -0 bits kept) with one new buffer and no tensor left', async () => {
    for (const [shape, perm] of cases) {
      const n = shape.reduce((a, b) => a * b, 1);
      for (const dtype of ['float32', 'int32'] as const) {
        const values = Array.from({ length: n }, (_, i) => (dtype === 'int32' ? i * 7 - 50 : i === 1 ? Number.NaN : i === 2 ? -0 : i * 0.37 - 3));
        await tf.setBackend('cpu');
        const c = tf.transpose(tf.tensor(values, shape, dtype), perm);
        const expected = { shape: c.shape, data: Array.from(await c.data()) };
        await tf.setBackend('wasm');
        const x = tf.tensor(values, shape, dtype);
        const before = dataIds();
        const tensors = tf.memory().numTensors;
        const y = tf.transpose(x, perm);
        expect(dataIds() - before, `${shape} ${perm}`).toBe(1);
        expect(tf.memory().numTensors).toBe(tensors + 1);
        x.dispose();
        expect(y.shape).toEqual(expected.shape);
        expect(y.dtype).toBe(dtype);
        const got = Array.from(await y.data());
        expect(got.map((v) => Object.is(v, -0) ? '-0' : v), `${shape} ${perm} ${dtype}`).toEqual(expected.data.map((v) => Object.is(v, -0) ? '-0' : v));
        y.dispose();
      }
    }
  });

  it('equals the builtin kernel on a weight-sized matrix and on attention-head layouts', async () => {
    const shapes: Array<[number[], number[]]> = [
      [[300, 200], [1, 0]],
      [[1, 200, 300], [0, 2, 1]],
      [[2, 16, 4, 8], [0, 2, 1, 3]],
      [[2, 16, 4, 8], [0, 2, 3, 1]],
    ];
    for (const [shape, perm] of shapes) {
      const x = tf.randomNormal(shape, 0, 1, 'float32', 3);
      const ours = tf.transpose(x, perm);
      unregisterPolyfills('wasm');
      let builtin: tf.Tensor;
      try {
        builtin = tf.transpose(x, perm);
      } finally {
        registerWasmPolyfills();
      }
      expect(ours.shape).toEqual(builtin.shape);
      expect(Array.from(await ours.data())).toEqual(Array.from(await builtin.data()));
      tf.dispose([x, ours, builtin]);
    }
  });
});
