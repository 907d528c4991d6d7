import * as tf from '@tensorflow/tfjs-core';
import { initBackend, UsageError } from '@parry/core';
import { beforeAll, describe, expect, it } from 'vitest';
import { padBatch } from './batching.js';
import { smallConfig } from './config.js';
import { createTransformerClassifier } from './encoder.js';
import { backendMemoryLimit, checkTrainingMemory, estimateTrainingMemory } from './memory.js';

beforeAll(async () => {
  await initBackend({ backend: 'cpu' });
});

const bertBase = smallConfig('bert', { vocabSize: 30522, hiddenSize: 768, numHeads: 12, numLayers: 12, intermediateSize: 3072, maxPositions: 512 });

describe('training memory estimate', () => {
  it('is within 15% of the peak bytes tf.profile measures for a training pass of a small encoder', async () => {
    for (const [H, L, heads, B, T] of [[64, 2, 2, 8, 48], [96, 3, 4, 4, 96]]) {
      const cfg = smallConfig('bert', { hiddenSize: H, numLayers: L, numHeads: heads, intermediateSize: 4 * H, vocabSize: 500, maxPositions: 128 });
      const model = createTransformerClassifier(cfg, { seed: 1 });
      const enc = Array.from({ length: B }, (_, i) => ({ ids: Array.from({ length: T }, (_, t) => 5 + ((i * 13 + t * 7) % 480)), typeIds: new Array(T).fill(0) }));
      const batch = padBatch(enc, enc.map((_, i) => i), 0, 1);
      const labels = tf.tensor1d(Array.from({ length: B }, (_, i) => i % 2), 'int32');
      const vars = model.parameters().map((p) => p.variable);
      const before = tf.memory().numBytes;
      const prof = await tf.profile(() => {
        const { value, grads } = tf.variableGrads(() => tf.losses.softmaxCrossEntropy(tf.oneHot(labels, 2), model.logits(batch, { training: true, seed: 1 })), vars);
        tf.dispose([value, ...Object.values(grads)]);
      });
      const measured = prof.peakBytes - before;
      const est = estimateTrainingMemory(cfg, B, T);
      expect(Math.abs(est.stepBytes - measured) / measured).toBeLessThan(0.15);
      expect(est.stateBytes).toBe(4 * 4 * est.parameters);
      tf.dispose([labels, ...Object.values(batch)]);
      for (const v of vars) v.dispose();
    }
  });

  it('a run over the wasm heap is refused in one line naming the --grad-accum that fits; one micro-batch fewer does not fit', () => {
    // a 6 x 512 encoder at batch 32 x 128
    const mid = smallConfig('bert', { vocabSize: 30522, hiddenSize: 512, numHeads: 8, numLayers: 6, intermediateSize: 2048, maxPositions: 512 });
    expect(estimateTrainingMemory(mid, 32, 128).totalBytes).toBeGreaterThan(backendMemoryLimit('wasm')!);
    let msg = '';
    try {
      checkTrainingMemory(mid, 32, 128, 'wasm');
    } catch (e) {
      expect(e).toBeInstanceOf(UsageError);
      msg = (e as Error).message;
    }
    expect(msg).toMatch(/more than the wasm backend can hold/);
    expect(msg.split('\n')).toHaveLength(1);
    const k = Number(/--grad-accum (\d+)/.exec(msg)?.[1]);
    expect(k).toBeGreaterThan(1);
    expect(checkTrainingMemory(mid, 32, 128, 'wasm', { gradAccum: k }).totalBytes).toBeLessThanOrEqual(backendMemoryLimit('wasm')!);
    expect(estimateTrainingMemory(mid, Math.ceil(32 / (k - 1)), 128, true).totalBytes).toBeGreaterThan(backendMemoryLimit('wasm')!);
  });

  it('bert-base cannot train on the wasm heap, not even one sequence per step (measured: it fails); the message says what can', () => {
    expect(estimateTrainingMemory(bertBase, 8, 128).parameters).toBe(109_483_778);
    expect(() => checkTrainingMemory(bertBase, 8, 128, 'wasm')).toThrow(/even one sequence per pass does not fit: .*tfjs-node/);
    expect(() => checkTrainingMemory(bertBase, 1, 128, 'wasm')).toThrow(/more than the wasm backend can hold/);
    expect(() => checkTrainingMemory(bertBase, 8, 128, 'wasm', { gradAccum: 8 })).toThrow(/more than the wasm backend can hold/);
    // the machine's memory is the limit elsewhere
    expect(checkTrainingMemory(bertBase, 1, 128, 'webgl').totalBytes).toBeGreaterThan(backendMemoryLimit('wasm')!);
  });

  it('when even one sequence per pass does not fit, it says so; unknown backends are not checked', () => {
    expect(() => checkTrainingMemory(bertBase, 8, 2048, 'wasm')).toThrow(/even one sequence per pass does not fit/);
    expect(checkTrainingMemory(bertBase, 8, 128, 'webgl').totalBytes).toBeGreaterThan(0);
    expect(checkTrainingMemory(smallConfig('bert'), 32, 64, 'wasm').totalBytes).toBeLessThan(2 ** 30);
  });
});
