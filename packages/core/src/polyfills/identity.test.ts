import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-wasm';
import '@tensorflow/tfjs-layers'; // registers the gradients
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { registerWasmPolyfills, unregisterPolyfills } from './index.js';

const dataIds = () => (tf.backend() as unknown as { numDataIds(): number }).numDataIds();

describe('Identity on wasm shares the buffer', () => {
  beforeAll(async () => {
    await tf.setBackend('wasm');
    registerWasmPolyfills();
  });
  afterAll(() => {
    registerWasmPolyfills();
  });

  it('the builtin copies: a clone is one more buffer (the memory this polyfill saves)', () => {
    unregisterPolyfills('wasm');
    try {
      const x = tf.tensor1d([1, 2, 3]);
      const before = dataIds();
      const y = tf.clone(x);
      expect(dataIds()).toBe(before + 1);
      tf.dispose([x, y]);
    } finally {
      registerWasmPolyfills();
    }
  });

  it('a clone adds no buffer, keeps its values after the original is disposed, and frees with the last reference', async () => {
    const start = dataIds();
    const tensors = tf.memory().numTensors;
    const x = tf.tensor2d([1, -2, 3.5, 4], [2, 2]);
    const y = tf.clone(x);
    expect(dataIds()).toBe(start + 1);
    expect(y.shape).toEqual([2, 2]);
    expect(y.dtype).toBe('float32');
    x.dispose();
    expect(Array.from(await y.data())).toEqual([1, -2, 3.5, 4]);
    y.dispose();
    expect(dataIds()).toBe(start);
    expect(tf.memory().numTensors).toBe(tensors);
    const i = tf.tensor1d([7, -1], 'int32');
    const j = tf.clone(i);
    expect(j.dtype).toBe('int32');
    expect(Array.from(await j.data())).toEqual([7, -1]);
    tf.dispose([i, j]);
    expect(dataIds()).toBe(start);
  });

  it("a clone of a variable keeps the old value after the variable's assign", async () => {
    const v = tf.variable(tf.tensor1d([1, 2]));
    const c = tf.clone(v);
    v.assign(tf.tensor1d([5, 6]));
    expect(Array.from(await c.data())).toEqual([1, 2]);
    expect(Array.from(await v.data())).toEqual([5, 6]);
    tf.dispose([c, v]);
  });

  it('gradients through saved tensors equal the cpu backend, and the tape holds no copy of the weight', async () => {
    const run = async (backend: string) => {
      await tf.setBackend(backend);
      const w = tf.variable(tf.tensor2d([0.5, -1, 2, 0.25, 1.5, -0.75], [3, 2]));
      const x = tf.tensor2d([1, 2, 3, -1, 0.5, 2], [2, 3]);
      const before = backend === 'wasm' ? dataIds() : 0;
      let during = 0;
      const { value, grads } = tf.variableGrads(() => {
        const y = tf.sum(tf.square(tf.tanh(tf.matMul(tf.reshape(x, [2, 3]), w))));
        if (backend === 'wasm') during = dataIds() - before;
        return y as tf.Scalar;
      }, [w]);
      const out = { loss: (await value.data())[0], grad: Array.from(await grads[w.name].data()), during };
      tf.dispose([value, grads[w.name], w, x]);
      return out;
    };
    const cpu = await run('cpu');
    const wasm = await run('wasm');
    expect(wasm.loss).toBeCloseTo(cpu.loss, 5);
    wasm.grad.forEach((g, i) => expect(g).toBeCloseTo(cpu.grad[i], 5));
    // reshape, matMul, tanh, square and sum each save tensors: with sharing, only the new outputs are buffers
    // (matMul, tanh, square, sum = 4), no copies of x or w
    expect(wasm.during).toBe(4);
  });

  it('a transpose that moves no data shares the buffer; every other one equals the cpu backend', async () => {
    const cases: Array<[number[], number[]]> = [
      [[3, 4], [0, 1]],
      [[1, 3, 1, 2], [2, 1, 0, 3]],
      [[2, 3, 4], [0, 2, 1]],
      [[2, 1, 3, 2], [0, 2, 1, 3]],
      [[2, 3], [1, 0]],
    ];
    for (const [shape, perm] of cases) {
      const values = Array.from({ length: shape.reduce((a, b) => a * b, 1) }, (_, i) => i * 0.5 - 3);
      await tf.setBackend('cpu');
      const c = tf.transpose(tf.tensor(values, shape), perm);
      const expected = { shape: c.shape, data: Array.from(await c.data()) };
      await tf.setBackend('wasm');
      const x = tf.tensor(values, shape);
      const before = dataIds();
      const y = tf.transpose(x, perm);
      const noMove = perm.filter((p) => shape[p] !== 1).every((p, i, a) => i === 0 || a[i - 1] < p);
      expect(dataIds() - before).toBe(noMove ? 0 : 1);
      x.dispose();
      expect(y.shape).toEqual(expected.shape);
      expect(Array.from(await y.data())).toEqual(expected.data);
      y.dispose();
    }
  });

  it('the gradient of gather (an embedding table) equals the cpu backend', async () => {
    const run = async (backend: string) => {
      await tf.setBackend(backend);
      const table = tf.variable(tf.tensor2d(Array.from({ length: 12 }, (_, i) => i / 7 - 0.5), [6, 2]));
      const ids = tf.tensor1d([4, 0, 4, 2], 'int32');
      const { grads } = tf.variableGrads(() => tf.sum(tf.square(tf.gather(table, ids))) as tf.Scalar, [table]);
      const out = Array.from(await grads[table.name].data());
      tf.dispose([grads[table.name], table, ids]);
      return out;
    };
    const cpu = await run('cpu');
    expect(await run('wasm')).toEqual(cpu);
  });
});
