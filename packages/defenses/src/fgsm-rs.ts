/**
 * FGSM-RS — "fast" adversarial training (Wong, Rice & Kolter 2020, "Fast is better than free: Revisiting adversarial
 * training", https://arxiv.org/abs/2001.03994). Each batch is replaced by one FGSM step of size alpha from a uniform
 * random start in the linf eps-ball, projected back into the ball and the model's bounds. As in the authors' MNIST
 * code, the gradient is taken at the unclipped start x + U(-eps, eps) (`clampStart: false`); on MNIST, where most
 * pixels are 0, clipping the start first would remove half of the noise on the background.
 *
 * Norm: linf. Defaults: `{ eps: 0.3, relAlpha: 1.25 (alpha = 1.25 eps; MNIST eps 0.3 -> 0.375), guard: true,
 * collapseDrop: 0.2, clampStart: false, warmupEpochs: 0 }`. `warmupEpochs` (not in the paper) ramps eps
 * from 0 over the first epochs. Catastrophic-overfitting guard (the paper's early stopping, Sec. 5.3): after every epoch the
 * trainer's PGD accuracy on a held-out slice is compared with the best so far; if it fell by more than
 * `collapseDrop`, the weights of the best epoch are restored and training stops (recorded in the results). The paper
 * checks a training minibatch every few steps; this checks the trainer's held-out robust evaluation once per epoch,
 * so the guard needs `robustEval` (the CLI's `--eval-pgd-steps`) and is inert without it.
 */
import * as tf from '@tensorflow/tfjs-core';
import { crossEntropy, defineDefense, project, z } from '@parry/core';
import { BestWeights } from './best-weights.js';

/** Linear epsilon ramp: (step + 1) / (warmupEpochs * stepsPerEpoch), capped at 1; 1 when there is no warm-up. */
export function warmupFactor(warmupEpochs: number, globalStep: number, stepsPerEpoch: number): number {
  if (!(warmupEpochs > 0)) return 1;
  return Math.min(1, (globalStep + 1) / (warmupEpochs * stepsPerEpoch));
}

export const fgsmRs = defineDefense({
  name: 'parry/fgsm-rs',
  summary: 'FGSM with uniform random start, alpha = 1.25 eps, with a catastrophic-overfitting guard (Wong et al. 2020)',
  needs: ['gradients'],
  options: z.object({
    eps: z.number().nonnegative().default(0.3).describe('linf radius of the training perturbation'),
    alpha: z.number().positive().optional().describe('absolute FGSM step; overrides relAlpha'),
    relAlpha: z.number().positive().default(1.25).describe('FGSM step as a multiple of eps'),
    guard: z.boolean().default(true).describe('roll back to the best epoch and stop when held-out PGD accuracy collapses'),
    collapseDrop: z.number().positive().max(1).default(0.2).describe('a fall of PGD accuracy (fraction) from its best that counts as a collapse'),
    clampStart: z.boolean().default(false).describe('clip the random start to the bounds before the gradient (false: as the authors\' code, only the final point is clipped)'),
    warmupEpochs: z.number().nonnegative().default(0).describe('ramp eps (and alpha) linearly from 0 over this many epochs (0 = off, as in the paper)'),
  }),
  create(o) {
    const alpha = o.alpha ?? o.relAlpha * o.eps;
    const best = new BestWeights();
    return {
      transformBatch(batch, ctx) {
        const seed = ctx.rng.tfSeed();
        const ramp = warmupFactor(o.warmupEpochs, ctx.globalStep, ctx.stepsPerEpoch);
        const eps = o.eps * ramp;
        const x = tf.tidy(() => {
          const { model } = ctx;
          const noisy = tf.add(batch.x, tf.randomUniform(batch.x.shape, -eps, eps, 'float32', seed));
          const start = o.clampStart ? project('linf', batch.x, noisy, eps, model.bounds) : noisy;
          const g = tf.grad((xi: tf.Tensor) => tf.sum(crossEntropy(model.logits(xi), batch.y)))(start);
          return project('linf', batch.x, tf.add(start, tf.mul(tf.sign(g), alpha * ramp)), eps, model.bounds);
        });
        ctx.counters.gradientEvaluations += batch.x.shape[0];
        return { ...batch, x };
      },
      afterEpoch(ctx) {
        const robust = ctx.metrics.robustAccuracy;
        if (!o.guard || robust == null || Number.isNaN(robust)) return;
        best.offer(robust, ctx.epoch, ctx.weights);
        if (best.best - robust > o.collapseDrop) {
          best.restore(ctx.weights);
          return {
            stop: true,
            reason: `catastrophic overfitting: PGD accuracy fell from ${(100 * best.best).toFixed(2)}% (epoch ${best.bestEpoch}) to ${(100 * robust).toFixed(2)}%; rolled back to epoch ${best.bestEpoch} and stopped`,
          };
        }
      },
      getState: () => best.getState(),
      setState: (s) => void best.setState(s),
      dispose: () => best.dispose(),
    };
  },
});
