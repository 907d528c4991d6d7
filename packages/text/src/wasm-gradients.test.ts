import * as tf from '@tensorflow/tfjs-core';
import { afterAll, describe, expect, it } from 'vitest';
import { initBackend } from '@parry/core';
import type { ModelFamily } from '@parry/core';
import { createTransformerClassifier, type TransformerClassifier } from './encoder.js';
import { batchOf, gradients, maxAbsDiff, tiny } from './test-utils/gradients.js';

/** The loss, gradients and input gradient of `family`'s tiny model on `backend`, weights from `weights`. */
async function on(backend: 'wasm' | 'cpu', family: ModelFamily, weights: ReturnType<TransformerClassifier['stateDict']>, recompute: boolean) {
  await initBackend({ backend });
  const cfg = tiny(family);
  const model = createTransformerClassifier(cfg, { seed: 0 });
  model.loadStateDict(weights);
  model.recompute = recompute;
  const batch = batchOf(cfg);
  const before = tf.memory().numTensors;
  const out = gradients(model, batch, 7);
  expect(tf.memory().numTensors).toBe(before);
  tf.dispose(Object.values(batch));
  model.dispose();
  return out;
}

/**
 * Parry's wasm kernels (the @parry/core polyfills: matMuls through transposes or (b a^T)^T, blocked Transpose,
 * Gather, Slice, leading-axis Sum) and the replayed dense layers of recomputation give the gradients of the cpu
 * backend's builtin kernels and plain tape.
 */
describe('training gradients on wasm equal the cpu backend', () => {
  afterAll(async () => {
    await initBackend({ backend: 'wasm' });
  });

  it.each(['bert', 'electra', 'distilbert', 'roberta'] as const)('%s: loss and every gradient within 1e-5, plain and with recomputation', async (family) => {
    await initBackend({ backend: 'cpu' });
    const source = createTransformerClassifier(tiny(family), { seed: 5 });
    const weights = source.stateDict();
    source.dispose();
    const cpu = await on('cpu', family, weights, false);
    for (const recompute of [false, true]) {
      const wasm = await on('wasm', family, weights, recompute);
      expect(Math.abs(wasm.loss - cpu.loss)).toBeLessThan(1e-5);
      expect(wasm.grads.length).toBe(cpu.grads.length);
      expect(maxAbsDiff(wasm.grads, cpu.grads)).toBeLessThan(1e-5);
    }
    // the comparison can fail: other dropout masks move the gradients by far more than the tolerance
    await initBackend({ backend: 'cpu' });
    const model = createTransformerClassifier(tiny(family), { seed: 0 });
    model.loadStateDict(weights);
    const batch = batchOf(tiny(family));
    expect(maxAbsDiff(gradients(model, batch, 8).grads, cpu.grads)).toBeGreaterThan(1e-3);
    tf.dispose(Object.values(batch));
    model.dispose();
  });
});
