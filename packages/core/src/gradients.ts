import * as tf from '@tensorflow/tfjs-core';
import { type Criterion, criterionLoss } from './criteria.js';
import type { Classifier } from './model.js';
import { UsageError } from './errors.js';

export interface LossAndGradient {
  /** Per-example loss `[b]` (the quantity an attack ascends). */
  loss: tf.Tensor1D;
  /** d loss_i / d x_i, same shape as `x`. */
  grad: tf.Tensor;
  /** Logits at `x`, `[b, k]`. */
  logits: tf.Tensor2D;
}

/**
 * Per-example loss, its gradient w.r.t. the input, and the logits, from one forward and one backward pass.
 * The caller owns the three results. `loss` defaults to the criterion's loss (CE to the label, or -CE to the target).
 */
export function lossAndGradient(
  model: Classifier,
  x: tf.Tensor,
  criterion: Criterion,
  loss: (logits: tf.Tensor2D, criterion: Criterion) => tf.Tensor1D = (l, c) => criterionLoss(c, l),
): LossAndGradient {
  if (!model.capabilities.gradients) {
    throw new UsageError(`model "${model.name}" does not provide gradients; use a score-based attack`);
  }
  let logits: tf.Tensor2D | undefined;
  const { value, grads } = tf.engine().gradients(() => {
    const l = model.logits(x);
    logits = tf.keep(tf.clone(l));
    return loss(l, criterion);
  }, [x]);
  return { loss: value as tf.Tensor1D, grad: grads[0], logits: logits! };
}
