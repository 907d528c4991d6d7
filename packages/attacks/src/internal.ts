/** Small tensor helpers shared by the attacks in this package (not exported from the package). */
import * as tf from '@tensorflow/tfjs-core';
import { type Criterion, criterionLabels, targeted, untargeted } from '@parry/core';

/** Reshape a per-example vector `[b]` so it broadcasts against a batch shaped like `like`. */
export function perExample(v: tf.Tensor, like: tf.Tensor): tf.Tensor {
  return tf.reshape(v, [like.shape[0], ...like.shape.slice(1).map(() => 1)]);
}

/** Row-wise select: `mask[i] ? a[i] : b[i]` for batches `[b, ...]`. */
export function whereRows(mask: tf.Tensor, a: tf.Tensor, b: tf.Tensor): tf.Tensor {
  return tf.tidy(() => tf.where(tf.broadcastTo(perExample(mask, a), a.shape), a, b));
}

/** Number of dimensions of one example. */
export function exampleSize(x: tf.Tensor): number {
  return x.shape.slice(1).reduce((p, q) => p * q, 1);
}

/** The criterion restricted to the rows `idx` (a new label tensor the caller owns). */
export function gatherCriterion(criterion: Criterion, idx: tf.Tensor1D): Criterion {
  const labels = tf.gather(criterionLabels(criterion), idx);
  return criterion.kind === 'untargeted' ? untargeted(labels as tf.Tensor1D) : targeted(labels as tf.Tensor1D);
}

/** Indices `i` with `flags[i]` equal to `value` (default true). */
export async function indicesWhere(flags: tf.Tensor, value = true): Promise<number[]> {
  const v = await flags.data();
  const out: number[] = [];
  for (let i = 0; i < v.length; i++) if (Boolean(v[i]) === value) out.push(i);
  return out;
}

/** Scatter rows `rows` (`[m, ...]`) into `base` (`[b, ...]`) at `idx`; returns a new tensor. */
export function scatterRows(base: tf.Tensor, idx: readonly number[], rows: tf.Tensor): tf.Tensor {
  return tf.tidy(() => {
    if (idx.length === 0) return tf.clone(base);
    const b = base.shape[0];
    const pos = new Int32Array(b).fill(-1);
    idx.forEach((r, j) => (pos[r] = j));
    // gather from [rows; base] with index j for scattered rows and m + i for the others
    const m = idx.length;
    const order = Array.from(pos, (p, i) => (p >= 0 ? p : m + i));
    return tf.gather(tf.concat([rows, base], 0), tf.tensor1d(order, 'int32'));
  });
}
