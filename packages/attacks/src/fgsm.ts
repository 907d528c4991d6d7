/**
 * FGSM — Fast Gradient Sign Method (Goodfellow, Shlens & Szegedy 2015, "Explaining and Harnessing Adversarial
 * Examples", https://arxiv.org/abs/1412.6572). One step of size epsilon along the steepest-ascent direction of the
 * loss: sign(g) for linf (FGSM), g / ||g||_2 for l2 (the "fast gradient method", FGM).
 *
 * Norm: linf (default) or l2. Defaults: `{ norm: 'linf', randomStart: false }`.
 * Differences from the paper: one gradient serves every epsilon of a sweep (the gradient does not depend on
 * epsilon), as in Foolbox. `randomStart` (off by default) is the R+FGSM variant of Tramèr et al. 2018 with step
 * alpha = eps/2 after a uniform start of eps/2 in the sign direction of random noise.
 */
import * as tf from '@tensorflow/tfjs-core';
import { ascentDirection, clipToBounds, defineAttack, lossAndGradient, projectDelta } from '@parry/core';
import { z } from '@parry/core';

export const fgsm = defineAttack({
  name: 'parry/fgsm',
  summary: 'Fast Gradient Sign Method (Goodfellow et al. 2015); l2 variant is FGM',
  norm: (o) => o.norm,
  mode: 'fixed-epsilon',
  needs: ['gradients'],
  options: z.object({
    norm: z.enum(['linf', 'l2']).default('linf').describe('perturbation norm: linf (sign step) or l2 (normalized gradient)'),
    randomStart: z.boolean().default(false).describe('R+FGSM: random step of eps/2 first, then a gradient step of eps/2'),
  }),
  run(model, x, criterion, context, options) {
    if (!options.randomStart) {
      const { loss, grad, logits } = lossAndGradient(model, x, criterion);
      context.counters.gradientEvaluations += x.shape[0];
      try {
        const dir = ascentDirection(options.norm, grad);
        try {
          return {
            adversarials: context.epsilons.map((eps) => tf.tidy(() => clipToBounds(tf.add(x, tf.mul(dir, eps)), model.bounds))),
          };
        } finally {
          dir.dispose();
        }
      } finally {
        tf.dispose([loss, grad, logits]);
      }
    }
    const adversarials = context.epsilons.map((eps) => {
      const seed = context.rng.tfSeed();
      const start = tf.tidy(() => {
        const noise = tf.randomNormal(x.shape, 0, 1, 'float32', seed);
        return clipToBounds(tf.add(x, tf.mul(ascentDirection(options.norm, noise), eps / 2)), model.bounds);
      });
      try {
        const { loss, grad, logits } = lossAndGradient(model, start, criterion);
        context.counters.gradientEvaluations += x.shape[0];
        try {
          return tf.tidy(() => {
            const moved = tf.add(start, tf.mul(ascentDirection(options.norm, grad), eps / 2));
            return clipToBounds(tf.add(x, projectDelta(options.norm, tf.sub(moved, x), eps)), model.bounds);
          });
        } finally {
          tf.dispose([loss, grad, logits]);
        }
      } finally {
        start.dispose();
      }
    });
    return { adversarials };
  },
});
