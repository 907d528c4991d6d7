import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-wasm';
import '@tensorflow/tfjs-layers'; // registers the gradients (tf.grad of gather)
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { registerCpuPolyfills, registerWasmPolyfills, unregisterPolyfills } from './index.js';
import { expectClose, runOn, values } from '../test-utils/compare.js';

/** Plain JS reference: out[s] = sum of rows i with ids[i] == s; ids outside [0, numSegments) dropped. */
function reference(x: number[], ids: number[], inner: number, numSegments: number): Float64Array {
  const out = new Float64Array(numSegments * inner);
  ids.forEach((s, i) => {
    if (s < 0 || s >= numSegments) return;
    for (let j = 0; j < inner; j++) out[s * inner + j] += x[i * inner + j];
  });
  return out;
}

const CASES = [
  { n: 1, inner: [1], numSegments: 1 },
  { n: 7, inner: [3], numSegments: 4 },
  { n: 64, inner: [5, 3], numSegments: 9 }, // rank-3 x
  { n: 257, inner: [17], numSegments: 31 }, // many duplicates
  { n: 10, inner: [], numSegments: 6 }, // rank-1 x
];

describe('UnsortedSegmentSum polyfills', { timeout: 60_000 }, () => {
  beforeAll(() => {
    registerWasmPolyfills({ performance: false });
    registerCpuPolyfills();
  });
  afterAll(async () => {
    await tf.setBackend('wasm');
  });

  for (const [i, c] of CASES.entries()) {
    const inner = c.inner.reduce((a, b) => a * b, 1);
    const xv = values(c.n * inner, i + 1);
    const ids = values(c.n, 50 + i).map((v) => Math.floor(((v + 1) / 2) * c.numSegments));
    const f = () =>
      tf.tidy(() => tf.unsortedSegmentSum(tf.tensor(xv, [c.n, ...c.inner]), tf.tensor1d(ids, 'int32'), c.numSegments));

    it(`wasm and cpu polyfills match the JS reference: n ${c.n}, inner [${c.inner.join(',')}], ${c.numSegments} segments`, async () => {
      const expected = reference(xv, ids, inner, c.numSegments);
      for (const backend of ['wasm', 'cpu']) {
        const out = await runOn(backend, f);
        expect(out.shape).toEqual([c.numSegments, ...c.inner]);
        expectClose(out.data, expected, 1e-5);
      }
    });

    it(`wasm polyfill matches the cpu builtin: n ${c.n}, inner [${c.inner.join(',')}]`, async () => {
      const actual = await runOn('wasm', f);
      unregisterPolyfills('cpu');
      try {
        const builtin = await runOn('cpu', f);
        expectClose(actual.data, builtin.data, 1e-5);
      } finally {
        registerCpuPolyfills();
      }
    });
  }

  it('sums int32 data as int32 and drops out-of-range ids', async () => {
    const f = () =>
      tf.tidy(() => tf.unsortedSegmentSum(tf.tensor2d([1, 2, 3, 4, 5, 6, 7, 8], [4, 2], 'int32'), tf.tensor1d([1, -1, 1, 3], 'int32'), 3));
    for (const backend of ['wasm', 'cpu']) {
      const out = await runOn(backend, f);
      expect(out.dtype).toBe('int32');
      expect(Array.from(out.data)).toEqual([0, 0, 6, 8, 0, 0]) // rows 0 and 2; ids -1 and 3 dropped;
    }
  });

  it('makes the gradient of gather work on wasm, without leaking', async () => {
    await tf.setBackend('wasm');
    const table = tf.variable(tf.tensor2d(values(50 * 8, 3), [50, 8]));
    const ids = tf.tensor1d([3, 7, 3, 49, 0, 3], 'int32');
    const before = tf.memory().numTensors;
    const dataBefore = tf.backend().numDataIds();
    for (let i = 0; i < 5; i++) {
      const { value, grads } = tf.variableGrads(() => tf.sum(tf.square(tf.gather(table, ids))), [table]);
      tf.dispose([value, grads[table.name]]);
    }
    expect(tf.memory().numTensors).toBe(before);
    expect(tf.backend().numDataIds()).toBe(dataBefore);
    const g = tf.grad((t: tf.Tensor) => tf.sum(tf.gather(t, ids)))(table);
    const gd = await g.data();
    expect(gd[3 * 8]).toBeCloseTo(3, 6); // row 3 gathered three times
    expect(gd[1 * 8]).toBe(0);
    tf.dispose([g, table, ids]);
  });
});
