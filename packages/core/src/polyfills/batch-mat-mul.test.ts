import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-wasm';
import { beforeAll, describe, expect, it } from 'vitest';
import { registerWasmPolyfills } from './index.js';
import { expectClose, runOn, values } from '../test-utils/compare.js';

const size = (shape: number[]) => shape.reduce((a, b) => a * b, 1);

/** [a shape, b shape] as stored (before the transpose flags apply). */
const SHAPES: Array<[number[], number[], boolean, boolean]> = [];
for (const [ta, tb] of [
  [false, false],
  [true, false],
  [false, true],
  [true, true],
] as const) {
  const M = 5;
  const K = 7;
  const N = 3;
  const a2 = ta ? [K, M] : [M, K];
  const b2 = tb ? [N, K] : [K, N];
  SHAPES.push([a2, b2, ta, tb]); // rank 2
  SHAPES.push([[4, ...a2], [4, ...b2], ta, tb]); // batched, tiny (builtin path)
  const A = ta ? [37, 41] : [41, 37];
  const B = tb ? [35, 37] : [37, 35];
  SHAPES.push([[4, ...A], [4, ...B], ta, tb]); // batched, per-entry fast path
  SHAPES.push([[4, ...A], [1, ...B], ta, tb]); // shared right operand: folded into one call
  SHAPES.push([A, [3, ...B], ta, tb]); // broadcast left operand
  SHAPES.push([[2, 3, ...A], [2, 3, ...B], ta, tb]); // rank 4
  SHAPES.push([[2, 3, ...A], [1, 3, ...B], ta, tb]); // rank 4, partial broadcast
}
// a @ b^T with few rows and a large shared b: taken as (b @ a^T)^T (a dense layer's input gradient)
for (const [sa, sb] of [
  [[6, 40], [50, 40]],
  [[1, 6, 40], [1, 50, 40]],
  [[3, 2, 40], [1, 50, 40]],
  [[2, 1, 40], [50, 40]],
  [[6, 40], [1, 50, 40]],
  [[3, 6, 40], [3, 50, 40]], // b batched: the direct way
]) {
  SHAPES.push([sa, sb, false, true]);
}

describe('wasm BatchMatMul / _FusedMatMul polyfills', { timeout: 60_000 }, () => {
  beforeAll(async () => {
    registerWasmPolyfills();
    await tf.setBackend('wasm');
  });

  for (const [i, [sa, sb, ta, tb]] of SHAPES.entries()) {
    it(`matMul ${sa.join('x')} ${ta ? 'T' : 'N'} x ${sb.join('x')} ${tb ? 'T' : 'N'} matches cpu`, async () => {
      const av = values(size(sa), 2 * i + 1);
      const bv = values(size(sb), 2 * i + 2);
      const f = () => tf.tidy(() => tf.matMul(tf.tensor(av, sa), tf.tensor(bv, sb), ta, tb));
      const expected = await runOn('cpu', f);
      const actual = await runOn('wasm', f);
      expect(actual.shape).toEqual(expected.shape);
      expectClose(actual.data, expected.data);
    });
  }

  for (const [ta, tb] of [
    [false, false],
    [true, false],
    [false, true],
    [true, true],
  ] as const) {
    for (const batch of [1, 3]) {
      it(`fused matMul (bias, relu) transposeA=${ta} transposeB=${tb} batch ${batch} matches cpu`, async () => {
        const M = 9;
        const K = 33;
        const N = 6;
        const sa = [batch, ...(ta ? [K, M] : [M, K])];
        const sb = [1, ...(tb ? [N, K] : [K, N])];
        const av = values(size(sa), 11);
        const bv = values(size(sb), 12);
        const biasv = values(N, 13);
        const f = () =>
          tf.tidy(() =>
            tf.fused.matMul({
              a: tf.tensor3d(av, sa as [number, number, number]),
              b: tf.tensor3d(bv, sb as [number, number, number]),
              transposeA: ta,
              transposeB: tb,
              bias: tf.tensor1d(biasv),
              activation: 'relu',
            }),
          );
        const expected = await runOn('cpu', f);
        const actual = await runOn('wasm', f);
        expect(actual.shape).toEqual(expected.shape);
        expectClose(actual.data, expected.data);
      });
    }
  }

  it('leaves no tensors or wasm buffers behind', async () => {
    await tf.setBackend('wasm');
    const a = tf.tensor3d(values(4 * 37 * 41, 1), [4, 37, 41]);
    const b = tf.tensor3d(values(4 * 37 * 35, 2), [4, 37, 35]);
    const b1 = tf.tensor3d(values(35 * 37, 3), [1, 35, 37]);
    const bias = tf.tensor1d(values(35, 4));
    const before = tf.memory().numTensors;
    const dataBefore = tf.backend().numDataIds();
    for (let i = 0; i < 10; i++) {
      tf.dispose([
        tf.matMul(a, b, true, false),
        tf.matMul(a, b1, true, true),
        tf.matMul(b, a, true, false),
        tf.fused.matMul({ a, b: b1, transposeA: true, transposeB: true, bias, activation: 'relu' }),
      ]);
    }
    expect(tf.memory().numTensors).toBe(before);
    expect(tf.backend().numDataIds()).toBe(dataBefore);
    tf.dispose([a, b, b1, bias]);
  });
});
