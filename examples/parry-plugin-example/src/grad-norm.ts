/**
 * `example/grad-norm`: input-gradient-norm regularization (Ross & Doshi-Velez 2018, "double backpropagation"),
 * computed with the finite-difference approximation of Finlay & Oberman 2019 ("Scaleable input gradient
 * regularization for adversarial robustness", https://arxiv.org/abs/1905.11468), so no second-order gradient is needed:
 *
 *   penalty = weight * mean_i ((CE(x_i + h d_i) - CE(x_i)) / h)^2,   d_i = g_i / ||g_i||_2,  g_i = dCE(x_i)/dx_i
 *
 * which tends to weight * mean_i ||g_i||_2^2 as h -> 0. The direction d is computed in `transformBatch` (outside the
 * gradient tape, treated as a constant) and handed to `lossTerm` through `batch.extras`; `lossTerm` costs one extra
 * forward pass inside the tape. Defaults: `{ weight: 0.1, h: 0.01 }`.
 */
import * as tf from '@tensorflow/tfjs-core';
import { type Classifier, crossEntropy, defineDefense, z } from '@parry/core';

const DIRECTION = 'example/grad-norm:direction';

/** Unit-l2 direction of the input gradient of the per-example cross-entropy (zero where the gradient is zero). */
export function gradientDirection(model: Classifier, x: tf.Tensor, y: tf.Tensor1D, training = true): tf.Tensor {
  return tf.tidy(() => {
    const g = tf.grad((xi: tf.Tensor) => tf.sum(crossEntropy(model.logits(xi, { training }), y)))(x);
    const flat = tf.reshape(g, [x.shape[0], -1]);
    const n = tf.sqrt(tf.sum(tf.square(flat), 1, true));
    return tf.reshape(tf.div(flat, tf.maximum(n, 1e-12)), x.shape);
  });
}

/** The penalty for a batch whose logits at `x` are given and whose direction `d` was computed beforehand. */
export function gradNormPenalty(
  model: Classifier,
  x: tf.Tensor,
  y: tf.Tensor1D,
  logits: tf.Tensor2D,
  d: tf.Tensor,
  options: { weight: number; h: number },
  training = true,
): tf.Scalar {
  return tf.tidy(() => {
    const ce0 = crossEntropy(logits, y);
    const ce1 = crossEntropy(model.logits(tf.add(x, tf.mul(d, options.h)), { training }), y);
    const slope = tf.div(tf.sub(ce1, ce0), options.h);
    return tf.mul(tf.mean(tf.square(slope)), options.weight) as tf.Scalar;
  });
}

export const exampleGradNorm = defineDefense({
  name: 'example/grad-norm',
  summary: 'input-gradient-norm penalty weight * ||dCE/dx||^2 (finite-difference, Finlay & Oberman 2019)',
  options: z.object({
    weight: z.number().nonnegative().default(0.1).describe('penalty weight lambda'),
    h: z.number().positive().default(0.01).describe('finite-difference step along the normalized input gradient'),
  }),
  create(o) {
    return {
      transformBatch(batch, ctx) {
        const d = gradientDirection(ctx.model, batch.x, batch.y);
        return { ...batch, extras: { ...batch.extras, [DIRECTION]: d } };
      },
      lossTerm(batch, ctx) {
        const d = batch.extras[DIRECTION];
        if (!d) throw new Error('example/grad-norm: lossTerm ran without its transformBatch direction');
        return gradNormPenalty(ctx.model, batch.x, batch.y, batch.logits, d, o);
      },
    };
  },
});
