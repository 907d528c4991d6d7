/**
 * Regularizers as defense plugins:
 * - `weightDecay` — decoupled weight decay (Loshchilov & Hutter 2019, https://arxiv.org/abs/1711.05101): after each
 *   optimizer update, w <- w * (1 - lr * rate). (PyTorch's AdamW shrinks before the update; the difference is
 *   O(lr^2 * rate).) `mode: 'l2'` instead adds the coupled penalty 0.5 * rate * sum ||w||^2 to the loss.
 * - `labelSmoothing` — cross-entropy against (1 - a) onehot + a / K (Szegedy et al. 2016): adds
 *   a * (mean_k(-log p_k) - CE) to the trainer's cross-entropy, which makes the total exactly the smoothed CE.
 * - `gaussianNoise` — augmentation: x + N(0, sigma^2), clipped to the model's bounds.
 * Dropout is configured in the model (`mnistCnn({ dropout })`, `parry train --dropout`), not as a hook.
 */
import * as tf from '@tensorflow/tfjs-core';
import { crossEntropy, defineDefense, z } from '@parry/core';

export const weightDecay = defineDefense({
  name: 'parry/weight-decay',
  summary: 'decoupled weight decay w <- w (1 - lr rate) after each step (AdamW), or a coupled L2 penalty',
  options: z.object({
    rate: z.number().nonnegative().default(5e-4).describe('decay rate lambda'),
    mode: z.enum(['decoupled', 'l2']).default('decoupled').describe('decoupled: shrink after each step; l2: add 0.5 lambda ||w||^2 to the loss'),
  }),
  create(o) {
    if (o.mode === 'l2') {
      return {
        lossTerm: (_batch, ctx) => tf.tidy(() => tf.mul(tf.addN(ctx.weights.map((w) => tf.sum(tf.square(w)))), 0.5 * o.rate) as tf.Scalar),
      };
    }
    return {
      afterStep(ctx) {
        const factor = 1 - ctx.learningRate * o.rate;
        tf.tidy(() => ctx.weights.forEach((w) => w.assign(tf.mul(w, factor))));
      },
    };
  },
});

/** Mean over the batch of the label-smoothed cross-entropy (for reference and tests). */
export function smoothedCrossEntropy(logits: tf.Tensor2D, labels: tf.Tensor1D, smoothing: number): tf.Scalar {
  return tf.tidy(() => {
    const k = logits.shape[1];
    const q = tf.add(tf.mul(tf.oneHot(tf.cast(labels, 'int32'), k), 1 - smoothing), smoothing / k);
    return tf.mean(tf.neg(tf.sum(tf.mul(q, tf.logSoftmax(logits, 1)), 1))) as tf.Scalar;
  });
}

export const labelSmoothing = defineDefense({
  name: 'parry/label-smoothing',
  summary: 'label smoothing: cross-entropy against (1 - a) onehot + a / K',
  options: z.object({
    smoothing: z.number().min(0).max(1).default(0.1).describe('mass a spread uniformly over the classes'),
  }),
  create(o) {
    return {
      lossTerm: (batch) =>
        tf.tidy(() => {
          const uniform = tf.mean(tf.neg(tf.mean(tf.logSoftmax(batch.logits, 1), 1)));
          const ce = tf.mean(crossEntropy(batch.logits, batch.y));
          return tf.mul(tf.sub(uniform, ce), o.smoothing) as tf.Scalar;
        }),
    };
  },
});

export const gaussianNoise = defineDefense({
  name: 'parry/gaussian-noise',
  summary: 'Gaussian-noise augmentation: x + N(0, sigma^2), clipped to the bounds',
  options: z.object({
    sigma: z.number().nonnegative().default(0.1).describe('noise standard deviation'),
  }),
  create(o) {
    return {
      transformBatch(batch, ctx) {
        const seed = ctx.rng.tfSeed();
        const x = tf.tidy(() => tf.clipByValue(tf.add(batch.x, tf.randomNormal(batch.x.shape, 0, o.sigma, 'float32', seed)), ctx.model.bounds[0], ctx.model.bounds[1]));
        return { ...batch, x };
      },
    };
  },
});
