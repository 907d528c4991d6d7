/**
 * TRADES (Zhang et al. 2019, "Theoretically Principled Trade-off between Robustness and Accuracy",
 * https://arxiv.org/abs/1901.08573): loss = CE(f(x), y) + beta * KL(softmax f(x) || softmax f(x')), where x' maximises
 * the KL term by linf PGD from x + 0.001 N(0, 1). The KL is summed over classes and averaged over the batch, as in the
 * authors' code (`KLDivLoss(size_average=False) / batch_size`); gradients flow through both f(x) and f(x').
 *
 * Norm: linf. Defaults: `{ eps: 0.3, beta: 6, steps: 40, stepSize: 0.01, startStd: 0.001 }` — the paper's MNIST
 * setting (1/lambda = 6). The base cross-entropy is the trainer's, on `batch.x` (the clean batch unless another
 * plugin transformed it before TRADES).
 */
import * as tf from '@tensorflow/tfjs-core';
import { defineDefense, z } from '@parry/core';
import { linfPgd } from './adversarial.js';

const EXTRA = 'parry/trades:adv';

/** KL(softmax(pLogits) || softmax(qLogits)), summed over classes, per example `[b]`. */
export function softmaxKl(pLogits: tf.Tensor2D, qLogits: tf.Tensor2D): tf.Tensor1D {
  return tf.tidy(() => {
    const logp = tf.logSoftmax(pLogits, 1);
    const logq = tf.logSoftmax(qLogits, 1);
    return tf.sum(tf.mul(tf.exp(logp), tf.sub(logp, logq)), 1) as tf.Tensor1D;
  });
}

/** TRADES' robust term without beta: mean over the batch of KL(f(x) || f(x')). */
export function tradesKl(cleanLogits: tf.Tensor2D, advLogits: tf.Tensor2D): tf.Scalar {
  return tf.tidy(() => tf.mean(softmaxKl(cleanLogits, advLogits)) as tf.Scalar);
}

export const trades = defineDefense({
  name: 'parry/trades',
  summary: 'TRADES: CE(clean) + beta * KL(f(x) || f(x\')), x\' from PGD on the KL (Zhang et al. 2019)',
  needs: ['gradients'],
  options: z.object({
    eps: z.number().nonnegative().default(0.3).describe('linf radius for x\''),
    beta: z.number().nonnegative().default(6).describe('weight of the KL term (1/lambda in the paper)'),
    steps: z.number().int().nonnegative().default(40).describe('PGD steps on the KL'),
    stepSize: z.number().positive().default(0.01).describe('PGD step size (absolute)'),
    startStd: z.number().nonnegative().default(0.001).describe('std of the Gaussian start around x'),
  }),
  create(o) {
    return {
      transformBatch(batch, ctx) {
        const { model } = ctx;
        const target = tf.tidy(() => tf.softmax(model.logits(batch.x), 1));
        try {
          const adv = linfPgd(
            model,
            batch.x,
            (logits) => tf.tidy(() => tf.sum(tf.mul(target, tf.sub(tf.log(tf.add(target, 1e-12)), tf.logSoftmax(logits, 1)))) as tf.Scalar),
            { eps: o.eps, stepSize: o.stepSize, steps: o.steps, start: 'normal', startStd: o.startStd, seed: ctx.rng.tfSeed(), counters: ctx.counters },
          );
          return { ...batch, extras: { ...batch.extras, [EXTRA]: adv } };
        } finally {
          target.dispose();
        }
      },
      lossTerm(batch, ctx) {
        const adv = batch.extras[EXTRA];
        return tf.tidy(() => tf.mul(tradesKl(batch.logits, ctx.model.logits(adv, { training: true })), o.beta) as tf.Scalar);
      },
    };
  },
});
