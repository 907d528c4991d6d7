import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-wasm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { setConv2DBackpropFilterChunkLimit } from './conv2d-backprop-filter.js';
import { setConv2DBackpropInputChunkLimit } from './conv2d-backprop-input.js';
import { registerWasmPolyfills, unregisterPolyfills } from './index.js';
import { expectClose, runOn, values } from '../test-utils/compare.js';

type Pad = 'same' | 'valid' | number | tf.backend_util.ExplicitPadding;
interface Case {
  x: [number, number, number, number];
  f: [number, number, number, number];
  s: number | [number, number];
  p: Pad;
}

const CASES: Case[] = [
  { x: [1, 5, 5, 1], f: [3, 3, 1, 1], s: 1, p: 'same' },
  { x: [2, 9, 7, 3], f: [3, 3, 3, 4], s: 1, p: 'same' },
  { x: [2, 9, 7, 3], f: [3, 3, 3, 4], s: 1, p: 'valid' },
  { x: [1, 8, 8, 2], f: [4, 4, 2, 5], s: 2, p: 'same' },
  { x: [3, 11, 10, 2], f: [3, 2, 2, 3], s: 3, p: 'valid' },
  { x: [2, 13, 11, 3], f: [3, 5, 3, 2], s: 3, p: 'same' },
  { x: [2, 10, 9, 1], f: [5, 3, 1, 2], s: [2, 1], p: [[0, 0], [1, 2], [0, 3], [0, 0]] },
  { x: [1, 7, 9, 2], f: [2, 4, 2, 3], s: [1, 3], p: 1 },
  { x: [3, 6, 6, 4], f: [1, 1, 4, 6], s: 2, p: 'valid' },
  { x: [2, 12, 12, 1], f: [4, 4, 1, 16], s: 2, p: 'same' },
  { x: [2, 4, 4, 3], f: [5, 5, 3, 2], s: 1, p: 'same' }, // filter larger than the input
];

function kernel(name: string, inputs: tf.NamedTensorMap, attrs: object): tf.Tensor {
  return tf.engine().runKernel(name, inputs, attrs as tf.NamedAttrMap) as tf.Tensor;
}

function outShape(c: Case): number[] {
  const info = tf.backend_util.computeConv2DInfo(c.x, c.f, c.s, 1, c.p);
  return info.outShape;
}

function filterGrad(c: Case, xv: number[], dyv: number[], dataFormat: 'NHWC' | 'NCHW' = 'NHWC'): () => tf.Tensor {
  const dyShape = outShape(c);
  return () =>
    tf.tidy(() => {
      let x = tf.tensor4d(xv, c.x);
      let dy = tf.tensor(dyv, dyShape);
      if (dataFormat === 'NCHW') {
        x = tf.transpose(x, [0, 3, 1, 2]);
        dy = tf.transpose(dy, [0, 3, 1, 2]);
      }
      return kernel('Conv2DBackpropFilter', { x, dy }, { strides: c.s, pad: c.p, dataFormat, filterShape: c.f });
    });
}

function inputGrad(c: Case, dyv: number[], wv: number[]): () => tf.Tensor {
  const dyShape = outShape(c);
  return () =>
    tf.tidy(() =>
      kernel(
        'Conv2DBackpropInput',
        { dy: tf.tensor(dyv, dyShape), filter: tf.tensor4d(wv, c.f) },
        { strides: c.s, pad: c.p, dataFormat: 'NHWC', inputShape: c.x },
      ),
    );
}

const label = (c: Case) => `x ${c.x.join('x')} f ${c.f.join('x')} s ${JSON.stringify(c.s)} pad ${JSON.stringify(c.p)}`;

const runData = async (backend: string, f: () => tf.Tensor) => (await runOn(backend, f)).data;

describe('wasm Conv2DBackpropFilter / Conv2DBackpropInput polyfills', { timeout: 60_000 }, () => {
  beforeAll(async () => {
    registerWasmPolyfills();
    await tf.setBackend('wasm');
  });
  afterAll(async () => {
    await tf.setBackend('wasm');
  });

  for (const [i, c] of CASES.entries()) {
    it(`filter gradient matches cpu: ${label(c)}`, async () => {
      const xv = values(c.x.reduce((a, b) => a * b), 10 + i);
      const dyv = values(outShape(c).reduce((a, b) => a * b), 100 + i);
      const expected = await runData('cpu', filterGrad(c, xv, dyv));
      const actual = await runData('wasm', filterGrad(c, xv, dyv));
      expectClose(actual, expected);
    });

    it(`input gradient matches cpu: ${label(c)}`, async () => {
      const dyv = values(outShape(c).reduce((a, b) => a * b), 200 + i);
      const wv = values(c.f.reduce((a, b) => a * b), 300 + i);
      const expected = await runData('cpu', inputGrad(c, dyv, wv));
      const actual = await runData('wasm', inputGrad(c, dyv, wv));
      expectClose(actual, expected);
    });
  }

  it('filter gradient accepts NCHW inputs', async () => {
    const c = CASES[3];
    const xv = values(c.x.reduce((a, b) => a * b), 1);
    const dyv = values(outShape(c).reduce((a, b) => a * b), 2);
    const expected = await runData('cpu', filterGrad(c, xv, dyv));
    const actual = await runData('wasm', filterGrad(c, xv, dyv, 'NCHW'));
    expectClose(actual, expected);
  });

  it('chunked paths (batch split to bound the im2col buffer) give the same result', async () => {
    const c: Case = { x: [5, 9, 8, 3], f: [3, 3, 3, 4], s: 2, p: 'same' };
    const xv = values(c.x.reduce((a, b) => a * b), 5);
    const dyv = values(outShape(c).reduce((a, b) => a * b), 6);
    const wv = values(c.f.reduce((a, b) => a * b), 7);
    const expectedF = await runData('cpu', filterGrad(c, xv, dyv));
    const expectedI = await runData('cpu', inputGrad(c, dyv, wv));
    const prevF = setConv2DBackpropFilterChunkLimit(2 * 5 * 4 * 27); // two images per chunk: 3 chunks
    const prevI = setConv2DBackpropInputChunkLimit(2 * 5 * 4 * 27);
    try {
      expectClose(await runData('wasm', filterGrad(c, xv, dyv)), expectedF);
      expectClose(await runData('wasm', inputGrad(c, dyv, wv)), expectedI);
    } finally {
      setConv2DBackpropFilterChunkLimit(prevF);
      setConv2DBackpropInputChunkLimit(prevI);
    }
  });

  it('the input-gradient rewrite matches the builtin wasm kernel it replaces', async () => {
    const c = CASES[5];
    const dyv = values(outShape(c).reduce((a, b) => a * b), 8);
    const wv = values(c.f.reduce((a, b) => a * b), 9);
    const withPolyfill = await runData('wasm', inputGrad(c, dyv, wv));
    unregisterPolyfills('wasm');
    try {
      const builtin = await runData('wasm', inputGrad(c, dyv, wv));
      expectClose(withPolyfill, builtin);
    } finally {
      registerWasmPolyfills();
    }
  });

  it('leaves no tensors or wasm buffers behind', async () => {
    await tf.setBackend('wasm');
    const c = CASES[5];
    const x = tf.tensor4d(values(c.x.reduce((a, b) => a * b), 1), c.x);
    const dy = tf.tensor(values(outShape(c).reduce((a, b) => a * b), 2), outShape(c));
    const w = tf.tensor4d(values(c.f.reduce((a, b) => a * b), 3), c.f);
    const before = tf.memory().numTensors;
    const dataBefore = tf.backend().numDataIds();
    for (let i = 0; i < 20; i++) {
      tf.dispose([
        kernel('Conv2DBackpropFilter', { x, dy }, { strides: c.s, pad: c.p, dataFormat: 'NHWC', filterShape: c.f }),
        kernel('Conv2DBackpropInput', { dy, filter: w }, { strides: c.s, pad: c.p, dataFormat: 'NHWC', inputShape: c.x }),
      ]);
    }
    expect(tf.memory().numTensors).toBe(before);
    expect(tf.backend().numDataIds()).toBe(dataBefore);
    tf.dispose([x, dy, w]);
  });
});
