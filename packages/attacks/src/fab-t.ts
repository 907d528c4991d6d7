/**
 * FAB-T — targeted FAB (Croce & Hein 2020, "Minimally distorted adversarial examples with a fast adaptive boundary
 * attack", https://arxiv.org/abs/1907.02044; its use in AutoAttack, https://arxiv.org/abs/2003.01690). For an
 * untargeted criterion it runs FAB toward one target class at a time — the 2nd, 3rd, ... most likely classes at the
 * clean input, `targetClasses` of them — linearizing only f_t - f_y, and keeps per example the smallest perturbation
 * that changes the prediction; for a targeted criterion it runs FAB toward the given targets.
 *
 * Norm: linf (default) or l2. Mode: minimization. Defaults, AutoAttack standard's: `{ steps: 100, targetClasses: 9,
 * restarts: 1, alphaMax: 0.1, eta: 1.05, beta: 0.9 }` (targetClasses capped at numClasses - 1). Unlike AutoAttack,
 * every target class runs on every example (a minimization attack keeps improving the smallest norm); the AutoAttack
 * composition in autoattack.ts runs it only on the examples still robust at its epsilon.
 */
import * as tf from '@tensorflow/tfjs-core';
import { defineAttack } from '@parry/core';
import { z } from '@parry/core';
import { fabOptions, fabWithRestarts, keepSmaller } from './fab.js';

export const fabT = defineAttack({
  name: 'parry/fab-t',
  summary: 'FAB-T (Croce & Hein 2020): targeted minimum-norm boundary attack over the top-9 target classes',
  norm: (o) => o.norm,
  mode: 'minimization',
  needs: ['gradients'],
  options: z.object({
    ...fabOptions,
    targetClasses: z.number().int().positive().default(9).describe('target classes tried (the most likely others at the clean input)'),
  }),
  async run(model, x, criterion, context, options) {
    const k = model.numClasses;
    const n = x.shape[0];
    const radius = context.epsilons.length ? Math.max(...context.epsilons) : Number.POSITIVE_INFINITY;
    if (criterion.kind === 'targeted') {
      const classes = tf.tidy(() => tf.reshape(tf.cast(criterion.targets, 'int32'), [-1, 1]) as tf.Tensor2D);
      try {
        const { adv, dist } = await fabWithRestarts(model, x, criterion, null, classes, options, options.restarts, radius, context);
        dist.dispose();
        return { adversarials: [adv] };
      } finally {
        classes.dispose();
      }
    }
    const y = tf.cast(criterion.labels, 'int32') as tf.Tensor1D;
    const order = tf.tidy(() => tf.topk(tf.sub(model.logits(x), tf.mul(tf.oneHot(y, k), 1e9)), k - 1, true).indices);
    context.counters.forwardEvaluations += n;
    let best: { adv: tf.Tensor; dist: tf.Tensor1D } | undefined;
    try {
      for (let t = 0; t < Math.min(options.targetClasses, k - 1); t++) {
        const classes = tf.slice(order, [0, t], [-1, 1]) as tf.Tensor2D;
        const cur = await fabWithRestarts(model, x, criterion, y, classes, options, options.restarts, radius, context);
        classes.dispose();
        if (!best) {
          best = cur;
          continue;
        }
        best = keepSmaller(best, cur);
      }
      best!.dist.dispose();
      return { adversarials: [best!.adv] };
    } finally {
      tf.dispose([y, order]);
    }
  },
});
