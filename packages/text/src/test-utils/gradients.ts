/** Shared by the recomputation and wasm-gradient tests: a tiny non-linear encoder, a padded batch and its gradients. */
import * as tf from '@tensorflow/tfjs-core';
import type { ModelFamily, TextBatch } from '@parry/core';
import { type EncoderConfig, smallConfig } from '../config.js';
import type { TransformerClassifier } from '../encoder.js';

/** A tiny, strongly non-linear config (large init, dropout on) so differences in masks or gradients are visible. */
export function tiny(family: ModelFamily, layers = 3): EncoderConfig {
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
export function batchOf(cfg: EncoderConfig): TextBatch {
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
export function gradients(model: TransformerClassifier, batch: TextBatch, seed: number) {
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

export function maxAbsDiff(a: number[][], b: number[][]): number {
  let m = 0;
  a.forEach((x, i) => x.forEach((v, j) => (m = Math.max(m, Math.abs(v - b[i][j])))));
  return m;
}
