/**
 * `example/noise`: random noise in the epsilon-ball, keeping per example the draw with the highest criterion loss.
 * A baseline every real attack should beat. Needs scores only (forward passes, never a gradient).
 * Norm: linf (default) or l2. Distribution: `uniform` (uniform in the ball) or `gaussian` (N(0, (sigma eps)^2) per
 * coordinate for linf, N(0, (sigma eps)^2 / d) for l2), projected into the ball and clipped to the model's bounds.
 * Defaults: `{ dist: 'uniform', norm: 'linf', tries: 1, sigma: 0.5 }`.
 */
import * as tf from '@tensorflow/tfjs-core';
import { criterionLoss, defineAttack, project, randomInBall, z } from '@parry/core';

export const exampleNoise = defineAttack({
  name: 'example/noise',
  summary: 'random uniform or Gaussian noise in the eps-ball (best of `tries` draws by loss); scores only',
  norm: (o) => o.norm,
  mode: 'fixed-epsilon',
  needs: ['scores'],
  options: z.object({
    dist: z.enum(['uniform', 'gaussian']).default('uniform').describe('noise distribution'),
    norm: z.enum(['linf', 'l2']).default('linf').describe('ball the noise lives in'),
    tries: z.number().int().positive().default(1).describe('noise draws per example; the one with the highest loss is kept'),
    sigma: z.number().positive().default(0.5).describe('gaussian only: standard deviation as a fraction of eps'),
  }),
  run(model, x, criterion, { epsilons, rng, counters }, o) {
    const d = x.shape.slice(1).reduce((a, b) => a * b, 1);
    const draw = (eps: number): tf.Tensor => {
      // a candidate point x + noise, inside the ball and the bounds
      const seed = rng.tfSeed();
      const noise = o.dist === 'uniform' ? randomInBall(o.norm, x.shape, eps, seed) : tf.randomNormal(x.shape, 0, o.norm === 'linf' ? o.sigma * eps : (o.sigma * eps) / Math.sqrt(d), 'float32', seed);
      return project(o.norm, x, tf.add(x, noise), eps, model.bounds);
    };
    const adversarials = epsilons.map((eps) =>
      tf.tidy(() => {
        let best: tf.Tensor = draw(eps);
        let bestLoss = criterionLoss(criterion, model.logits(best));
        for (let t = 1; t < o.tries; t++) {
          const candidate = draw(eps);
          const loss = criterionLoss(criterion, model.logits(candidate));
          const better = tf.greater(loss, bestLoss);
          const mask = tf.reshape(better, [x.shape[0], ...x.shape.slice(1).map(() => 1)]);
          best = tf.where(tf.broadcastTo(mask, x.shape), candidate, best);
          bestLoss = tf.where(better, loss, bestLoss);
        }
        return best;
      }),
    );
    counters.forwardEvaluations += epsilons.length * o.tries * x.shape[0];
    return { adversarials };
  },
});
