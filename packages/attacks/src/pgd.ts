/**
 * PGD — Projected Gradient Descent (Madry et al. 2018, "Towards Deep Learning Models Resistant to Adversarial
 * Attacks", https://arxiv.org/abs/1706.06083); without random start it is BIM / I-FGSM (Kurakin et al. 2017).
 * Repeats x <- Proj_{B(x0, eps) ∩ bounds}(x + alpha * d(grad)), with d = sign for linf and g/||g||_2 for l2.
 *
 * Norm: linf (default) or l2. Defaults: `{ norm: 'linf', steps: 40, relStepSize: 0.01/0.3 (linf) or 0.025 (l2),
 * randomStart: true, restarts: 1 }` — at eps 0.3 on MNIST that is Madry et al.'s 40 steps of 0.01.
 * `stepSize` (absolute) overrides `relStepSize` (a fraction of epsilon), as in Foolbox.
 * Restarts keep, per example, the strongest result: a successful one over a failed one, then the higher loss.
 */
import * as tf from '@tensorflow/tfjs-core';
import {
  ascentDirection,
  type Classifier,
  type Criterion,
  type AttackContext,
  criterionLoss,
  defineAttack,
  isAdversarial,
  lossAndGradient,
  project,
  randomInBall,
} from '@parry/core';
import { z } from '@parry/core';
import { whereRows } from './internal.js';

export const pgd = defineAttack({
  name: 'parry/pgd',
  summary: 'Projected Gradient Descent with random start and restarts (Madry et al. 2018)',
  norm: (o) => o.norm,
  mode: 'fixed-epsilon',
  needs: ['gradients'],
  options: z.object({
    norm: z.enum(['linf', 'l2']).default('linf').describe('perturbation norm'),
    steps: z.number().int().positive().default(40).describe('gradient steps per restart'),
    stepSize: z.number().positive().optional().describe('absolute step size; overrides relStepSize'),
    relStepSize: z.number().positive().optional().describe('step size as a fraction of epsilon (default 0.01/0.3 for linf, 0.025 for l2)'),
    randomStart: z.boolean().default(true).describe('start from a uniform random point in the epsilon-ball'),
    restarts: z.number().int().positive().default(1).describe('independent runs; the strongest result per example is kept'),
  }),
  run(model, x, criterion, context, options) {
    const adversarials = context.epsilons.map((eps) => {
      const alpha = options.stepSize ?? eps * (options.relStepSize ?? (options.norm === 'linf' ? 0.01 / 0.3 : 0.025));
      let best: { adv: tf.Tensor; loss: tf.Tensor1D; ok: tf.Tensor1D } | undefined;
      for (let r = 0; r < options.restarts; r++) {
        const cur = pgdRun(model, x, criterion, context, options.norm, eps, alpha, options.steps, options.randomStart);
        if (!best) {
          best = cur;
          continue;
        }
        const prev = best;
        best = tf.tidy(() => {
          // prefer success; among equals, the higher loss
          const better = tf.logicalOr(
            tf.logicalAnd(cur.ok, tf.logicalNot(prev.ok)),
            tf.logicalAnd(tf.equal(cur.ok, prev.ok), tf.greater(cur.loss, prev.loss)),
          );
          return {
            adv: whereRows(better, cur.adv, prev.adv),
            loss: tf.where(better, cur.loss, prev.loss) as tf.Tensor1D,
            ok: tf.logicalOr(cur.ok, prev.ok) as tf.Tensor1D,
          };
        });
        tf.dispose([prev.adv, prev.loss, prev.ok, cur.adv, cur.loss, cur.ok]);
      }
      tf.dispose([best!.loss, best!.ok]);
      return best!.adv;
    });
    return { adversarials };
  },
});

function pgdRun(
  model: Classifier,
  x0: tf.Tensor,
  criterion: Criterion,
  context: AttackContext,
  norm: 'linf' | 'l2',
  eps: number,
  alpha: number,
  steps: number,
  randomStart: boolean,
): { adv: tf.Tensor; loss: tf.Tensor1D; ok: tf.Tensor1D } {
  const seed = context.rng.tfSeed();
  let x = randomStart ? tf.tidy(() => project(norm, x0, tf.add(x0, randomInBall(norm, x0.shape, eps, seed)), eps, model.bounds)) : tf.clone(x0);
  for (let t = 0; t < steps; t++) {
    const { loss, grad, logits } = lossAndGradient(model, x, criterion);
    context.counters.gradientEvaluations += x0.shape[0];
    const next = tf.tidy(() => project(norm, x0, tf.add(x, tf.mul(ascentDirection(norm, grad), alpha)), eps, model.bounds));
    tf.dispose([loss, grad, logits, x]);
    x = next;
  }
  const final = tf.tidy(() => {
    const logits = model.logits(x);
    return { loss: criterionLoss(criterion, logits), ok: isAdversarial(criterion, logits) };
  });
  context.counters.forwardEvaluations += x0.shape[0];
  return { adv: x, ...final };
}
