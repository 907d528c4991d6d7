import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
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

describe.each(['wasm', 'cpu'] as const)('per-layer recomputation on %s', (backend) => {
  beforeAll(async () => {
    await initBackend({ backend });
  });
  afterAll(async () => {
    await initBackend({ backend: 'wasm' });
  });

  it.each(['bert', 'electra', 'distilbert', 'roberta'] as const)('%s: same loss and gradients as the plain tape within 1e-5 (dropout on, padding)', (family) => {
    const cfg = tiny(family);
    const model = createTransformerClassifier(cfg, { seed: 4 });
    const batch = batchOf(cfg);
    const before = tf.memory().numTensors;
    const plain = gradients(model, batch, 11);
    model.recompute = true;
    const re = gradients(model, batch, 11);
    expect(tf.memory().numTensors).toBe(before);
    expect(re.grads.length).toBe(plain.grads.length);
    expect(Math.abs(re.loss - plain.loss)).toBeLessThan(1e-5);
    expect(maxAbsDiff(re.grads, plain.grads)).toBeLessThan(1e-5);
    // the comparison can fail: another dropout seed changes the gradients by far more than the tolerance
    expect(maxAbsDiff(gradients(model, batch, 12).grads, plain.grads)).toBeGreaterThan(1e-3);
    tf.dispose(Object.values(batch));
    model.dispose();
  });

  it('holds less at the peak than the plain tape (4 layers)', async () => {
    const cfg = smallConfig('bert', { vocabSize: 200, hiddenSize: 64, numHeads: 2, numLayers: 4, intermediateSize: 256, maxPositions: 64 });
    const model = createTransformerClassifier(cfg, { seed: 1 });
    const rows = Array.from({ length: 8 }, (_, i) => Array.from({ length: 64 }, (_, t) => 5 + ((i * 31 + t * 7) % 190)));
    const batch: TextBatch = { inputIds: tf.tensor2d(rows, undefined, 'int32'), attentionMask: tf.ones([8, 64], 'int32') as tf.Tensor2D };
    const vars = model.parameters().map((p) => p.variable);
    const peak = async () =>
      (
        await tf.profile(() => {
          const { value, grads } = tf.variableGrads(() => tf.losses.softmaxCrossEntropy(tf.oneHot(tf.tensor1d([0, 1, 0, 1, 0, 1, 0, 1], 'int32'), 2), model.logits(batch, { training: true, seed: 3 })), vars);
          tf.dispose([value, ...Object.values(grads)]);
        })
      ).peakBytes;
    const plain = await peak();
    model.recompute = true;
    const re = await peak();
    expect(re).toBeLessThan(0.6 * plain);
    tf.dispose(Object.values(batch));
    model.dispose();
  });
});
