/**
 * BIM / I-FGSM — the Basic Iterative Method (Kurakin, Goodfellow & Bengio 2017, "Adversarial examples in the
 * physical world", https://arxiv.org/abs/1607.02533): from the clean input (no random start), repeat
 * x <- Clip_{x0, eps}(x + alpha * sign(grad)) and clip to the bounds.
 *
 * Norm: linf (the paper) or l2 (steps along g / ||g||_2, projection by rescaling; not in the paper).
 * Defaults (linf), the paper's: `alpha = 1/255` of the input range and `steps = floor(min(eps*255 + 4, 1.25*eps*255))`
 * with eps in units of the input range (80 steps at eps 0.3 on [0, 1]). Defaults (l2): 10 steps of eps/4.
 * `steps` / `stepSize` / `relStepSize` override them; a linf run with `steps` given and no step size uses alpha = eps / steps. Differences from PGD: no random start and no restarts.
 */
import * as tf from '@tensorflow/tfjs-core';
import { ascentDirection, defineAttack, lossAndGradient, project } from '@parry/core';
import { z } from '@parry/core';

/** Kurakin et al.'s number of iterations for a linf epsilon given as a fraction of the input range. */
export function kurakinSteps(relEps: number): number {
  return Math.max(1, Math.floor(Math.min(relEps * 255 + 4, 1.25 * relEps * 255)));
}

export const bim = defineAttack({
  name: 'parry/bim',
  summary: 'Basic Iterative Method / I-FGSM (Kurakin et al. 2017), linf or l2',
  norm: (o) => o.norm,
  mode: 'fixed-epsilon',
  needs: ['gradients'],
  options: z.object({
    norm: z.enum(['linf', 'l2']).default('linf').describe('perturbation norm'),
    steps: z.number().int().positive().optional().describe("iterations (default: Kurakin's min(eps*255+4, 1.25*eps*255) for linf, 10 for l2)"),
    stepSize: z.number().positive().optional().describe('absolute step size; overrides relStepSize (default linf: 1/255 of the input range, or eps/steps when steps is given)'),
    relStepSize: z.number().positive().optional().describe('step size as a fraction of epsilon (default for l2: 0.25)'),
  }),
  run(model, x, criterion, context, options) {
    const range = model.bounds[1] - model.bounds[0];
    const n = x.shape[0];
    const adversarials = context.epsilons.map((eps) => {
      const steps = options.steps ?? (options.norm === 'linf' ? kurakinSteps(eps / range) : 10);
      const alpha =
        options.stepSize ??
        (options.relStepSize != null ? options.relStepSize * eps : options.norm === 'l2' ? eps / 4 : options.steps == null ? range / 255 : eps / steps);
      let adv = tf.clone(x);
      for (let t = 0; t < steps; t++) {
        const { loss, grad, logits } = lossAndGradient(model, adv, criterion);
        context.counters.gradientEvaluations += n;
        const next = tf.tidy(() => project(options.norm, x, tf.add(adv, tf.mul(ascentDirection(options.norm, grad), alpha)), eps, model.bounds));
        tf.dispose([loss, grad, logits, adv]);
        adv = next;
      }
      return adv;
    });
    return { adversarials };
  },
});
