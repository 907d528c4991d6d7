/**
 * MIM / MI-FGSM — Momentum Iterative FGSM (Dong et al. 2018, "Boosting Adversarial Attacks with Momentum",
 * https://arxiv.org/abs/1710.06081): g <- mu * g + grad / ||grad||_1, x <- Clip_{x0, eps}(x + alpha * d(g)) with
 * d = sign for linf and g / ||g||_2 for l2 (the paper's L2 variant), then clip to the bounds.
 *
 * Norm: linf (default) or l2. Defaults, the paper's: `{ steps: 10, decay (mu): 1.0, alpha = eps / steps }`
 * (`stepSize` / `relStepSize` override alpha). No random start, as in the paper.
 */
import * as tf from '@tensorflow/tfjs-core';
import { ascentDirection, defineAttack, lossAndGradient, norm, project } from '@parry/core';
import { z } from '@parry/core';
import { perExample } from './internal.js';

export const mim = defineAttack({
  name: 'parry/mim',
  summary: 'Momentum Iterative FGSM (Dong et al. 2018), linf or l2',
  norm: (o) => o.norm,
  mode: 'fixed-epsilon',
  needs: ['gradients'],
  options: z.object({
    norm: z.enum(['linf', 'l2']).default('linf').describe('perturbation norm'),
    steps: z.number().int().positive().default(10).describe('iterations'),
    decay: z.number().min(0).default(1).describe('momentum decay factor mu'),
    stepSize: z.number().positive().optional().describe('absolute step size; overrides relStepSize'),
    relStepSize: z.number().positive().optional().describe('step size as a fraction of epsilon (default 1/steps)'),
  }),
  run(model, x, criterion, context, options) {
    const n = x.shape[0];
    const adversarials = context.epsilons.map((eps) => {
      const alpha = options.stepSize ?? eps * (options.relStepSize ?? 1 / options.steps);
      let adv = tf.clone(x);
      let g = tf.zerosLike(x);
      for (let t = 0; t < options.steps; t++) {
        const { loss, grad, logits } = lossAndGradient(model, adv, criterion);
        context.counters.gradientEvaluations += n;
        const gNext = tf.tidy(() => tf.add(tf.mul(g, options.decay), tf.div(grad, perExample(tf.add(norm('l1', grad), 1e-12), grad))));
        const next = tf.tidy(() => project(options.norm, x, tf.add(adv, tf.mul(ascentDirection(options.norm, gNext), alpha)), eps, model.bounds));
        tf.dispose([loss, grad, logits, adv, g]);
        adv = next;
        g = gNext;
      }
      g.dispose();
      return adv;
    });
    return { adversarials };
  },
});
