import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-wasm';
import * as tfl from '@tensorflow/tfjs-layers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listPolyfills, registerCpuPolyfills, registerWasmPolyfills, unregisterPolyfills } from './index.js';

const ALL_WASM = ['BatchMatMul', 'Conv2DBackpropFilter', 'Conv2DBackpropInput', 'GatherV2', 'Identity', 'Sign', 'Slice', 'Sum', 'Transpose', 'UnsortedSegmentSum', '_FusedMatMul'];

describe('polyfill registration', () => {
  afterAll(() => {
    registerWasmPolyfills();
  });

  it('registers the missing and the faster kernels once, however often it is called', () => {
    unregisterPolyfills('wasm');
    const builtin = tf.getKernel('BatchMatMul', 'wasm');
    expect(registerWasmPolyfills()).toEqual(ALL_WASM);
    const first = ALL_WASM.map((k) => tf.getKernel(k, 'wasm').kernelFunc);
    expect(registerWasmPolyfills()).toEqual(ALL_WASM);
    expect(ALL_WASM.map((k) => tf.getKernel(k, 'wasm').kernelFunc)).toEqual(first);
    expect(tf.getKernel('BatchMatMul', 'wasm').kernelFunc).not.toBe(builtin.kernelFunc);
    expect(tf.getKernel('BatchMatMul', 'wasm').setupFunc).toBe(builtin.setupFunc);
  });

  it('unregisterPolyfills restores the builtins and removes the added kernels', () => {
    const removed = unregisterPolyfills('wasm');
    expect(removed).toEqual(ALL_WASM);
    expect(listPolyfills('wasm')).toEqual([]);
    expect(tf.getKernel('Conv2DBackpropFilter', 'wasm')).toBeUndefined();
    expect(tf.getKernel('BatchMatMul', 'wasm')).toBeDefined();
    expect(registerWasmPolyfills({ performance: false })).toEqual(['Conv2DBackpropFilter', 'Sign', 'UnsortedSegmentSum']);
    expect(registerWasmPolyfills()).toEqual(ALL_WASM);
  });

  it('registers the linear UnsortedSegmentSum on cpu, idempotently', () => {
    expect(registerCpuPolyfills()).toEqual(['UnsortedSegmentSum']);
    const k = tf.getKernel('UnsortedSegmentSum', 'cpu').kernelFunc;
    expect(registerCpuPolyfills()).toEqual(['UnsortedSegmentSum']);
    expect(tf.getKernel('UnsortedSegmentSum', 'cpu').kernelFunc).toBe(k);
  });
});

/** The small CNN the Parry attacks and defenses are exercised on (Wong et al. MNIST shape, smaller input). */
function makeModel(): tfl.Sequential {
  return tfl.sequential({
    layers: [
      tfl.layers.conv2d({ inputShape: [12, 12, 1], filters: 4, kernelSize: 4, strides: 2, padding: 'same', activation: 'relu' }),
      tfl.layers.conv2d({ filters: 6, kernelSize: 4, strides: 2, padding: 'same', activation: 'relu' }),
      tfl.layers.flatten(),
      tfl.layers.dense({ units: 10, activation: 'relu' }),
      tfl.layers.dense({ units: 3 }),
    ],
  });
}

describe('conv net training and input gradients on wasm with the polyfills', { timeout: 60_000 }, () => {
  let model: tfl.Sequential;
  let x: tf.Tensor;
  let y: tf.Tensor;

  beforeAll(async () => {
    registerWasmPolyfills();
    await tf.setBackend('wasm');
    model = makeModel();
    x = tf.randomUniform([5, 12, 12, 1], 0, 1, 'float32', 3);
    y = tf.oneHot(tf.tensor1d([0, 1, 2, 1, 0], 'int32'), 3);
  });
  afterAll(async () => {
    await tf.setBackend('wasm');
    model.dispose();
    tf.dispose([x, y]);
  });

  const loss = (input: tf.Tensor) => tf.losses.softmaxCrossEntropy(y, model.predict(input) as tf.Tensor) as tf.Scalar;

  async function gradients(backend: string): Promise<Float32Array[]> {
    await tf.setBackend(backend);
    const { value, grads } = tf.variableGrads(() => loss(x));
    const inputGrad = tf.grad(loss)(x);
    const ordered = [...Object.keys(grads).sort().map((k) => grads[k]), inputGrad];
    const out = await Promise.all(ordered.map((t) => t.data() as Promise<Float32Array>));
    tf.dispose([value, inputGrad, ...Object.values(grads)]);
    return out;
  }

  it('weight and input gradients match the cpu backend', async () => {
    const cpu = await gradients('cpu');
    const wasm = await gradients('wasm');
    expect(wasm.length).toBe(9); // 4 kernels + 4 biases + the input gradient
    expect(wasm.length).toBe(cpu.length);
    cpu.forEach((expected, i) => {
      let maxDiff = 0;
      let scale = 0;
      expected.forEach((v, j) => {
        maxDiff = Math.max(maxDiff, Math.abs(wasm[i][j] - v));
        scale = Math.max(scale, Math.abs(v));
      });
      expect(maxDiff).toBeLessThanOrEqual(1e-4 * Math.max(scale, 1e-6));
    });
  });

  it('Adam steps and FGSM/PGD-style input-gradient steps leave no tensors or wasm buffers behind', async () => {
    await tf.setBackend('wasm');
    const optimizer = tf.train.adam(0.01);
    const step = () => {
      const { value, grads } = tf.variableGrads(() => loss(x));
      optimizer.applyGradients(grads as Record<string, tf.Variable>);
      tf.dispose([value, ...Object.values(grads)]);
      const adv = tf.tidy(() => {
        const g = tf.grad(loss)(x);
        const xAdv = tf.clipByValue(tf.add(x, tf.mul(0.1, tf.sign(g))), 0, 1);
        return tf.add(x, tf.clipByValue(tf.sub(xAdv, x), -0.3, 0.3));
      });
      adv.dispose();
    };
    step(); // the optimizer creates its slot variables on the first step
    const before = tf.memory().numTensors;
    const dataBefore = tf.backend().numDataIds();
    for (let i = 0; i < 10; i++) step();
    expect(tf.memory().numTensors).toBe(before);
    expect(tf.backend().numDataIds()).toBe(dataBefore);
    optimizer.dispose();
  });
});
