/** Batched inference of a text model (the contract in `@parry/core`). */
import * as tf from '@tensorflow/tfjs-core';
import type { Encoding, TextModel } from '@parry/core';
import { disposeBatch, lengthSortedBatches, padBatch } from './batching.js';

const isMulti = (m: TextModel) => m.outputKind === 'multi-label';

/**
 * Class probabilities (softmax, or per-label sigmoid for multi-label models) of every example, `[n * numLabels]`,
 * in the set's order. Batches are formed by length so little padding is computed.
 */
export async function predictText(model: TextModel, encodings: readonly Encoding[], padId: number, batchSize = 64): Promise<Float32Array> {
  const L = model.numLabels;
  const out = new Float32Array(encodings.length * L);
  for (const idx of lengthSortedBatches(encodings.map((e) => e.ids.length), batchSize)) {
    const batch = padBatch(encodings, idx, padId, 8);
    const probs = tf.tidy(() => {
      const logits = model.logits(batch);
      return isMulti(model) ? tf.sigmoid(logits) : tf.softmax(logits);
    });
    const values = await probs.data();
    tf.dispose(probs);
    disposeBatch(batch);
    idx.forEach((i, r) => out.set(values.subarray(r * L, (r + 1) * L), i * L));
  }
  return out;
}
