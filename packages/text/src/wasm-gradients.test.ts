import * as tf from '@tensorflow/tfjs-core';
import { afterAll, describe, expect, it } from 'vitest';
import { initBackend } from '@parry/core';
import type { ModelFamily, TextBatch } from '@parry/core';
import { type EncoderConfig, smallConfig } from './config.js';
import { createTransformerClassifier, type TransformerClassifier } from './encoder.js';

/** A tiny, strongly non-linear config (large init, dropout on) so differences in masks or gradients are visible. */
function tiny(family: ModelFamily, layers = 3): EncoderConfig {
  return smallConfig(family, {
    vocabSize: 40,
    hiddenSize: 16,
    numHeads: 2,
    numLayers: layers,
    intermediateSize: 32,
    maxPositions: family === 'roberta' ? 18 : 16,
    numLabels: 3,
    initializerRange: 0.3,
    hiddenDropout: 0.2,
    attentionDropout: 0.2,
    ...(family === 'electra' ? { embeddingSize: 8 } : {}),
  });
}

/** Two rows, the second padded, token types on the second half. */
function batchOf(cfg: EncoderConfig): TextBatch {
  const rows = [
    [2, 7, 11, 5, 9, 30, 3, 21, 8, 4],
    [2, 13, 6, 19, 3],
  ];
  const T = 10;
  return {
    inputIds: tf.tensor2d(rows.map((r) => [...r, ...new Array<number>(T - r.length).fill(cfg.padTokenId)]), undefined, 'int32'),
    attentionMask: tf.tensor2d(rows.map((r) => Array.from({ length: T }, (_, j) => (j < r.length ? 1 : 0))), undefined, 'int32'),
    tokenTypeIds: tf.tensor2d(rows.map((r) => Array.from({ length: T }, (_, j) => (j < r.length && j >= r.length / 2 && cfg.typeVocabSize > 1 ? 1 : 0))), undefined, 'int32'),
  };
}

/** Loss, parameter gradients and the gradient w.r.t. the inputs_embeds, as host arrays. */
function gradients(model: TransformerClassifier, batch: TextBatch, seed: number) {
  const vars = model.parameters().map((p) => p.variable);
  return tf.tidy(() => {
    const offset = tf.zerosLike(model.embed(batch.inputIds));
    const target = tf.oneHot(tf.tensor1d([2, 0], 'int32'), 3);
    const { value, grads } = tf.engine().gradients(
      () => tf.losses.softmaxCrossEntropy(target, model.forwardFromEmbeddings(tf.add(model.embed(batch.inputIds), offset) as tf.Tensor3D, batch, { training: true, seed })),
      [...vars, offset],
      undefined,
      true,
    );
    return { loss: value.dataSync()[0], grads: grads.map((g) => Array.from(g.dataSync())) };
  });
}

function maxAbsDiff(a: number[][], b: number[][]): number {
  let m = 0;
  a.forEach((x, i) => x.forEach((v, j) => (m = Math.max(m, Math.abs(v - b[i][j])))));
  return m;
}

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
