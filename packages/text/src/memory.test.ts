import * as tf from '@tensorflow/tfjs-core';
import { initBackend, UsageError } from '@parry/core';
import { beforeAll, describe, expect, it } from 'vitest';
import { padBatch } from './batching.js';
import { smallConfig } from './config.js';
import { createTransformerClassifier } from './encoder.js';
import { backendMemoryLimit, checkTrainingMemory, estimateTrainingMemory } from './memory.js';

beforeAll(async () => {
  await initBackend({ backend: 'wasm' });
});

const bertBase = smallConfig('bert', { vocabSize: 30522, hiddenSize: 768, numHeads: 12, numLayers: 12, intermediateSize: 3072, maxPositions: 512 });

/**
 * Peak bytes of live tensor buffers while `fn` runs, counted per buffer as the backend holds them (`tf.profile`
 * counts a buffer once per tensor sharing it, and the wasm polyfills share buffers).
 */
function peakBufferBytes(fn: () => void): number {
  const engine = tf.engine() as unknown as {
    state: { tensorInfo: Map<object, { backend: object }> };
    trackTensor(a: tf.Tensor, backend: object): void;
    removeDataId(dataId: object, backend: object): void;
  };
  const track = engine.trackTensor;
  const remove = engine.removeDataId;
  const live = new Map<object, number>();
  let bytes = 0;
  let peak = 0;
  engine.trackTensor = function (a, backend) {
    const had = engine.state.tensorInfo.has(a.dataId);
    track.call(engine, a, backend);
    if (!had) {
      live.set(a.dataId, a.size * 4);
      bytes += a.size * 4;
      peak = Math.max(peak, bytes);
    }
  };
  engine.removeDataId = function (dataId, backend) {
    if (live.has(dataId) && engine.state.tensorInfo.get(dataId)?.backend === backend) {
      bytes -= live.get(dataId)!;
      live.delete(dataId);
    }
    remove.call(engine, dataId, backend);
  };
  try {
    fn();
  } finally {
    engine.trackTensor = track;
    engine.removeDataId = remove;
  }
  return peak;
}

describe('training memory estimate', () => {
  it('is within 15% of the peak buffer bytes of a training pass of a small encoder, with and without recomputation', () => {
    for (const [H, L, heads, B, T] of [[64, 2, 2, 8, 48], [96, 3, 4, 4, 96], [128, 4, 2, 4, 64]]) {
      const cfg = smallConfig('bert', { hiddenSize: H, numLayers: L, numHeads: heads, intermediateSize: 4 * H, vocabSize: 500, maxPositions: 128 });
      const model = createTransformerClassifier(cfg, { seed: 1 });
      const enc = Array.from({ length: B }, (_, i) => ({ ids: Array.from({ length: T }, (_, t) => 5 + ((i * 13 + t * 7) % 480)), typeIds: new Array(T).fill(0) }));
      const batch = padBatch(enc, enc.map((_, i) => i), 0, 1);
      const labels = tf.tensor1d(Array.from({ length: B }, (_, i) => i % 2), 'int32');
      const vars = model.parameters().map((p) => p.variable);
      const measured: Record<string, number> = {};
      for (const recompute of [false, true]) {
        model.recompute = recompute;
        measured[String(recompute)] = peakBufferBytes(() => {
          const { value, grads } = tf.variableGrads(() => tf.losses.softmaxCrossEntropy(tf.oneHot(labels, 2), model.logits(batch, { training: true, seed: 1 })), vars);
          tf.dispose([value, ...Object.values(grads)]);
        });
        const est = estimateTrainingMemory(cfg, B, T, false, recompute);
        expect(Math.abs(est.passBytes - measured[String(recompute)]) / measured[String(recompute)]).toBeLessThan(0.15);
        expect(est.stateBytes).toBe(3 * 4 * est.parameters);
        expect(est.recompute).toBe(recompute);
      }
      // recomputation holds less, and more so with more layers
      expect(measured.true).toBeLessThan(measured.false);
      tf.dispose([labels, ...Object.values(batch)]);
      for (const v of vars) v.dispose();
    }
  });

  it('a run over the wasm heap is refused in one line naming the --grad-accum that fits; one micro-batch fewer does not fit', () => {
    // BERT-base at 8 x 512: not in one pass, not even with recomputation
    const limit = backendMemoryLimit('wasm')!;
    expect(estimateTrainingMemory(bertBase, 8, 512, false, true).totalBytes).toBeGreaterThan(limit);
    let msg = '';
    try {
      checkTrainingMemory(bertBase, 8, 512, 'wasm');
    } catch (e) {
      expect(e).toBeInstanceOf(UsageError);
      msg = (e as Error).message;
    }
    expect(msg).toMatch(/with per-layer recomputation\), more than the wasm backend can hold/);
    expect(msg.split('\n')).toHaveLength(1);
    const k = Number(/--grad-accum (\d+)/.exec(msg)?.[1]);
    expect(k).toBeGreaterThan(1);
    expect(checkTrainingMemory(bertBase, 8, 512, 'wasm', { gradAccum: k }).totalBytes).toBeLessThanOrEqual(limit);
    expect(estimateTrainingMemory(bertBase, Math.ceil(8 / (k - 1)), 512, true, true).totalBytes).toBeGreaterThan(limit);
  });

  it('bert-base 8 x 128 fits the wasm heap with recomputation, whole or by accumulation (measured: the steps complete); without it only batch 1 does', () => {
    expect(estimateTrainingMemory(bertBase, 8, 128).parameters).toBe(109_483_778);
    const limit = backendMemoryLimit('wasm')!;
    for (const gradAccum of [1, 4, 8]) {
      const est = checkTrainingMemory(bertBase, 8, 128, 'wasm', { gradAccum });
      expect(est.recompute).toBe(true);
      expect(est.totalBytes).toBeLessThanOrEqual(limit);
    }
    // measured without recomputation: 8 micro-batches of 1 peak at 2.63 GiB live with a 3.80 GiB heap (the edge)
    expect(estimateTrainingMemory(bertBase, 1, 128, true).totalBytes / 2 ** 30).toBeCloseTo(2.63, 1);
    let msg = '';
    try {
      checkTrainingMemory(bertBase, 8, 128, 'wasm', { gradAccum: 8, recompute: false });
    } catch (e) {
      expect(e).toBeInstanceOf(UsageError);
      msg = (e as Error).message;
    }
    expect(msg.split('\n')).toHaveLength(1);
    expect(msg).toMatch(/more than the wasm backend can hold .*only --batch-size 1 without --grad-accum fits/);
    expect(checkTrainingMemory(bertBase, 1, 128, 'wasm', { recompute: false }).recompute).toBe(false);
    // the machine's memory is the limit elsewhere, where recomputation is not needed
    expect(checkTrainingMemory(bertBase, 8, 128, 'cpu').recompute).toBe(false);
  });

  it('when even one sequence per pass does not fit, it says so; unknown backends are not checked', () => {
    expect(() => checkTrainingMemory(bertBase, 8, 2048, 'wasm')).toThrow(/even one sequence per pass does not fit/);
    expect(checkTrainingMemory(bertBase, 8, 128, 'webgl').totalBytes).toBeGreaterThan(0);
    expect(checkTrainingMemory(smallConfig('bert'), 32, 64, 'wasm').totalBytes).toBeLessThan(2 ** 30);
  });
});
