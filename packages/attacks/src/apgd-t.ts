/**
 * APGD-T — targeted Auto-PGD with the targeted DLR loss (Croce & Hein 2020, "Reliable evaluation of adversarial
 * robustness with an ensemble of diverse parameter-free attacks", https://arxiv.org/abs/2003.01690):
 * -(z_y - z_t) / (z_pi1 - (z_pi3 + z_pi4) / 2). For an untargeted criterion it runs APGD once per target class —
 * the 2nd, 3rd, ... most likely classes at the clean input, `targetClasses` of them — each time only on the examples
 * still robust, and succeeds when the label is no longer predicted (AutoAttack's use). For a targeted criterion it
 * attacks the given targets.
 *
 * Norm: linf (default) or l2. Defaults, the paper's / AutoAttack standard's: `{ steps: 100, restarts: 1,
 * targetClasses: 9, rho: 0.75, momentum: 0.75, loss: 'dlr' }` (targetClasses is capped at numClasses - 1).
 * The step-size schedule and momentum are APGD's (see apgd.ts).
 */
import * as tf from '@tensorflow/tfjs-core';
import { type AttackContext, type Classifier, type Criterion, defineAttack } from '@parry/core';
import { z } from '@parry/core';
import { type ApgdSettings, apgdWithRestarts } from './apgd.js';
import { gatherCriterion, indicesWhere, scatterRows } from './internal.js';

/**
 * APGD-T over the top `targetClasses` other classes for an untargeted criterion, each on the still-robust examples.
 * Returns the adversarial batch and success flags (caller owns both).
 */
export async function apgdTargeted(
  model: Classifier,
  x: tf.Tensor,
  criterion: Criterion,
  s: Omit<ApgdSettings, 'lossTargets'>,
  targetClasses: number,
  restarts: number,
  context: Pick<AttackContext, 'rng' | 'counters'>,
): Promise<{ adv: tf.Tensor; ok: tf.Tensor1D }> {
  if (criterion.kind === 'targeted') return apgdWithRestarts(model, x, criterion, s, restarts, context);
  const n = x.shape[0];
  const k = model.numClasses;
  const nt = Math.min(targetClasses, k - 1);
  const order = tf.tidy(() => tf.topk(model.logits(x), k, true).indices);
  context.counters.forwardEvaluations += n;
  let adv = tf.clone(x);
  let ok = tf.zeros([n], 'bool') as tf.Tensor1D;
  try {
    for (let t = 1; t <= nt; t++) {
      const idx = await indicesWhere(ok, false);
      if (idx.length === 0) break;
      const idxT = tf.tensor1d(idx, 'int32');
      const xs = tf.gather(x, idxT);
      const cs = gatherCriterion(criterion, idxT);
      const targets = tf.tidy(() => tf.squeeze(tf.slice(tf.gather(order, idxT), [0, t], [-1, 1]), [1]) as tf.Tensor1D);
      const out = await apgdWithRestarts(model, xs, cs, { ...s, lossTargets: targets }, restarts, context);
      const merged = tf.tidy(() => {
        // keep the latest attempt for still-failing examples too (it carries this target's highest loss)
        return { adv: scatterRows(adv, idx, out.adv), ok: scatterRows(ok, idx, out.ok) as tf.Tensor1D };
      });
      tf.dispose([idxT, xs, cs.kind === 'untargeted' ? cs.labels : cs.targets, targets, out.adv, out.ok, adv, ok]);
      adv = merged.adv;
      ok = merged.ok;
    }
    return { adv, ok };
  } finally {
    order.dispose();
  }
}

export const apgdT = defineAttack({
  name: 'parry/apgd-t',
  summary: 'targeted Auto-PGD with the DLR loss over the top-9 target classes (Croce & Hein 2020)',
  norm: (o) => o.norm,
  mode: 'fixed-epsilon',
  needs: ['gradients'],
  options: z.object({
    norm: z.enum(['linf', 'l2']).default('linf').describe('perturbation norm'),
    loss: z.enum(['dlr', 'ce']).default('dlr').describe('targeted loss: DLR (the paper) or cross-entropy to the target'),
    steps: z.number().int().positive().default(100).describe('iterations per target class and restart'),
    targetClasses: z.number().int().positive().default(9).describe('target classes tried (the most likely others at the clean input)'),
    restarts: z.number().int().positive().default(1).describe('restarts per target class, on the examples still robust'),
    rho: z.number().gt(0).lt(1).default(0.75).describe('step-halving threshold (fraction of steps with loss increase)'),
    momentum: z.number().min(0).max(1).default(0.75).describe('alpha: weight of the new step'),
    eot: z.number().int().positive().default(1).describe('gradients averaged per step (EOT)'),
  }),
  async run(model, x, criterion, context, options) {
    const adversarials: tf.Tensor[] = [];
    for (const eps of context.epsilons) {
      const { adv, ok } = await apgdTargeted(model, x, criterion, { ...options, eps }, options.targetClasses, options.restarts, context);
      ok.dispose();
      adversarials.push(adv);
    }
    return { adversarials };
  },
});
