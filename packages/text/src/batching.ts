import * as tf from '@tensorflow/tfjs-core';
import { type Encoding, type Rng, type TextBatch, UsageError } from '@parry/core';

/**
 * Length-bucketed training batches: shuffle, cut the order into pools of `poolBatches * batchSize` examples, sort each
 * pool by length, cut it into batches and shuffle the batch order. Batches then hold sentences of similar length, so
 * dynamic padding wastes little, while every epoch still sees a different grouping.
 */
export function bucketedBatches(lengths: readonly number[], batchSize: number, rng: Rng, poolBatches = 50): number[][] {
  if (!(Number.isInteger(batchSize) && batchSize > 0)) throw new UsageError(`batch size must be a positive integer, got ${batchSize}`);
  const order = rng.shuffle(lengths.map((_, i) => i));
  const pool = Math.max(1, poolBatches) * batchSize;
  const batches: number[][] = [];
  for (let p = 0; p < order.length; p += pool) {
    const chunk = order.slice(p, p + pool).sort((a, b) => lengths[a] - lengths[b] || a - b);
    for (let b = 0; b < chunk.length; b += batchSize) batches.push(chunk.slice(b, b + batchSize));
  }
  return rng.shuffle(batches);
}

/** Evaluation batches: indices sorted by length (stable), cut into batches; results are scattered back by index. */
export function lengthSortedBatches(lengths: readonly number[], batchSize: number): number[][] {
  const order = lengths.map((_, i) => i).sort((a, b) => lengths[a] - lengths[b] || a - b);
  const batches: number[][] = [];
  for (let b = 0; b < order.length; b += batchSize) batches.push(order.slice(b, b + batchSize));
  return batches;
}

/**
 * Pad the encodings at `indices` to the longest of them (rounded up to a multiple of `padMultiple`) as int32
 * tensors: ids (padding = `padId`), attention mask and token type ids. The caller owns the tensors.
 */
export function padBatch(encodings: readonly Encoding[], indices: readonly number[], padId: number, padMultiple = 1): TextBatch {
  let t = 1;
  for (const i of indices) t = Math.max(t, encodings[i].ids.length);
  t = Math.ceil(t / padMultiple) * padMultiple;
  const b = indices.length;
  const ids = new Int32Array(b * t).fill(padId);
  const mask = new Int32Array(b * t);
  const types = new Int32Array(b * t);
  indices.forEach((idx, row) => {
    const e = encodings[idx];
    ids.set(e.ids, row * t);
    mask.fill(1, row * t, row * t + e.ids.length);
    types.set(e.typeIds, row * t);
  });
  return {
    inputIds: tf.tensor2d(ids, [b, t], 'int32'),
    attentionMask: tf.tensor2d(mask, [b, t], 'int32'),
    tokenTypeIds: tf.tensor2d(types, [b, t], 'int32'),
  };
}

/** Dispose the tensors of a batch. */
export function disposeBatch(batch: TextBatch): void {
  tf.dispose([batch.inputIds, batch.attentionMask, ...(batch.tokenTypeIds ? [batch.tokenTypeIds] : [])]);
}
