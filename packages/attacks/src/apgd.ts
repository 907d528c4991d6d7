/**
 * APGD — Auto-PGD (Croce & Hein 2020, "Reliable evaluation of adversarial robustness with an ensemble of diverse
 * parameter-free attacks", https://arxiv.org/abs/2003.01690), with the cross-entropy (APGD-CE) or the DLR loss
 * (APGD-DLR). Budget-aware step size: starts at 2*eps, and at the checkpoints p_0 = 0, p_1 = 0.22,
 * p_{j+1} = p_j + max(p_j - p_{j-1} - 0.03, 0.06) (fractions of the iterations) halves it for every example whose
 * loss increased in at most rho = 75% of the steps since the last checkpoint, or whose step was not halved last time
 * and whose best loss did not improve; a halved example restarts from its best point. Steps use momentum alpha = 0.75:
 * x <- P(x + alpha (z - x) + (1 - alpha)(x - x_prev)) with z = P(x + eta * d(grad)).
 *
 * Norm: linf (default) or l2. Defaults, the paper's: `{ steps: 100, restarts: 1, rho: 0.75, momentum: 0.75,
 * loss: 'ce', eot: 1 }`. Restarts run only on the examples still robust, as in the authors' code. Returns, per
 * example, the last point where the criterion held, else the point of highest loss. The random start is uniform in
 * the linf cube (the authors normalize it to the cube's surface) and uniform on the l2 sphere.
 * `eot` averages that many gradients per step (expectation over transformation, AutoAttack's 'rand' version).
 */
import * as tf from '@tensorflow/tfjs-core';
import {
  type AttackContext,
  type Classifier,
  type Criterion,
  ascentDirection,
  criterionLoss,
  defineAttack,
  dlrLoss,
  isAdversarial,
  lossAndGradient,
  project,
  randomInBall,
} from '@parry/core';
import { z } from '@parry/core';
import { gatherCriterion, indicesWhere, perExample, scatterRows, whereRows } from './internal.js';

export type ApgdLoss = 'ce' | 'dlr';

export interface ApgdSettings {
  norm: 'linf' | 'l2';
  eps: number;
  steps: number;
  loss: ApgdLoss;
  rho: number;
  momentum: number;
  eot: number;
  /** Target classes for the targeted DLR / CE loss while success stays the criterion's (APGD-T in AutoAttack). */
  lossTargets?: tf.Tensor1D;
}

/** The loss APGD ascends for a criterion, optionally toward `targets` while the criterion stays untargeted. */
export function apgdLoss(kind: ApgdLoss, criterion: Criterion, logits: tf.Tensor2D, targets?: tf.Tensor1D): tf.Tensor1D {
  return tf.tidy(() => {
    if (criterion.kind === 'untargeted') {
      if (!targets) return kind === 'ce' ? criterionLoss(criterion, logits) : dlrLoss(logits, criterion.labels);
      if (kind === 'ce') return tf.neg(criterionLoss({ kind: 'untargeted', labels: targets }, logits)) as tf.Tensor1D;
      return dlrLoss(logits, criterion.labels, targets);
    }
    if (kind === 'ce') return criterionLoss(criterion, logits);
    // targeted criterion: no true label is known, so the strongest other class plays y
    const k = logits.shape[1];
    const strongestOther = tf.argMax(tf.sub(logits, tf.mul(tf.oneHot(tf.cast(criterion.targets, 'int32'), k), 1e9)), 1) as tf.Tensor1D;
    return dlrLoss(logits, strongestOther, criterion.targets);
  });
}

/** Iteration indices (0-based) of the step-size checkpoints for `steps` iterations. */
export function apgdCheckpoints(steps: number): number[] {
  const p = [0, 0.22];
  while (p[p.length - 1] < 1) p.push(p[p.length - 1] + Math.max(p[p.length - 1] - p[p.length - 2] - 0.03, 0.06));
  return [...new Set(p.slice(1).map((v) => Math.ceil(v * steps - 1e-9)).filter((w) => w > 0 && w < steps))];
}

function gradientOf(model: Classifier, x: tf.Tensor, criterion: Criterion, s: ApgdSettings, counters: AttackContext['counters']) {
  const lf = (l: tf.Tensor2D, c: Criterion) => apgdLoss(s.loss, c, l, s.lossTargets);
  const first = lossAndGradient(model, x, criterion, lf);
  counters.gradientEvaluations += x.shape[0];
  if (s.eot <= 1) return first;
  let grad = first.grad;
  for (let e = 1; e < s.eot; e++) {
    const more = lossAndGradient(model, x, criterion, lf);
    counters.gradientEvaluations += x.shape[0];
    const sum = tf.add(grad, more.grad);
    tf.dispose([grad, more.grad, more.loss, more.logits]);
    grad = sum;
  }
  const avg = tf.div(grad, s.eot);
  grad.dispose();
  return { loss: first.loss, logits: first.logits, grad: avg };
}

/**
 * One APGD run from a random start. Returns per example the last successful point (or the highest-loss point),
 * whether the criterion held at some iterate, and the best loss. The caller owns the results.
 */
export function apgdRun(
  model: Classifier,
  x0: tf.Tensor,
  criterion: Criterion,
  s: ApgdSettings,
  seed: number,
  counters: AttackContext['counters'],
): { adv: tf.Tensor; ok: tf.Tensor1D; loss: tf.Tensor1D } {
  const { norm, eps } = s;
  const n = x0.shape[0];
  const P = (z: tf.Tensor) => project(norm, x0, z, eps, model.bounds);
  const checkpoints = new Set(apgdCheckpoints(s.steps));
  let x = tf.tidy(() => {
    const start = norm === 'linf' ? randomInBall('linf', x0.shape, eps, seed) : tf.mul(ascentDirection('l2', tf.randomNormal(x0.shape, 0, 1, 'float32', seed)), eps);
    return P(tf.add(x0, start));
  });
  let g = gradientOf(model, x, criterion, s, counters);
  let grad = g.grad;
  let ok = isAdversarial(criterion, g.logits);
  let xBestAdv = tf.clone(x);
  let xBest = tf.clone(x);
  let gradBest = tf.clone(grad);
  let lossBest = tf.clone(g.loss);
  let lossPrev = g.loss;
  g.logits.dispose();
  let xOld = tf.clone(x);
  let stepSize = tf.fill([n], 2 * eps) as tf.Tensor1D;
  let increases = tf.zeros([n]) as tf.Tensor1D;
  let sinceCheck = 0;
  let lossBestLastCheck = tf.clone(lossBest);
  let reducedLastCheck = tf.ones([n], 'bool') as tf.Tensor1D;
  try {
    for (let i = 0; i < s.steps; i++) {
      const a = i > 0 ? s.momentum : 1;
      const xNext = tf.tidy(() => {
        const z = P(tf.add(x, tf.mul(ascentDirection(norm, grad), perExample(stepSize, x))));
        return P(tf.add(tf.add(x, tf.mul(tf.sub(z, x), a)), tf.mul(tf.sub(x, xOld), 1 - a)));
      });
      xOld.dispose();
      xOld = x;
      x = xNext;
      g = gradientOf(model, x, criterion, s, counters);
      grad.dispose();
      grad = g.grad;
      const upd = tf.tidy(() => {
        const okNow = isAdversarial(criterion, g.logits);
        const better = tf.greater(g.loss, lossBest);
        return {
          ok: tf.logicalOr(ok, okNow) as tf.Tensor1D,
          xBestAdv: whereRows(okNow, x, xBestAdv),
          xBest: whereRows(better, x, xBest),
          gradBest: whereRows(better, grad, gradBest),
          lossBest: tf.where(better, g.loss, lossBest) as tf.Tensor1D,
          increases: tf.add(increases, tf.cast(tf.greater(g.loss, lossPrev), 'float32')) as tf.Tensor1D,
        };
      });
      tf.dispose([ok, xBestAdv, xBest, gradBest, lossBest, increases, lossPrev, g.logits]);
      ({ ok, xBestAdv, xBest, gradBest, lossBest, increases } = upd);
      lossPrev = g.loss;
      sinceCheck++;
      if (checkpoints.has(i + 1)) {
        const chk = tf.tidy(() => {
          const oscillating = tf.lessEqual(increases, sinceCheck * s.rho);
          const noImprovement = tf.logicalAnd(tf.logicalNot(reducedLastCheck), tf.greaterEqual(lossBestLastCheck, lossBest));
          const reduce = tf.logicalOr(oscillating, noImprovement) as tf.Tensor1D;
          return {
            reduce,
            stepSize: tf.where(reduce, tf.div(stepSize, 2), stepSize) as tf.Tensor1D,
            x: whereRows(reduce, xBest, x),
            grad: whereRows(reduce, gradBest, grad),
          };
        });
        tf.dispose([reducedLastCheck, lossBestLastCheck, stepSize, x, grad, increases]);
        reducedLastCheck = chk.reduce;
        lossBestLastCheck = tf.clone(lossBest);
        stepSize = chk.stepSize;
        x = chk.x;
        grad = chk.grad;
        increases = tf.zeros([n]) as tf.Tensor1D;
        sinceCheck = 0;
      }
    }
    const adv = whereRows(ok, xBestAdv, xBest);
    return { adv, ok: tf.clone(ok), loss: tf.clone(lossBest) };
  } finally {
    tf.dispose([x, xOld, grad, ok, xBestAdv, xBest, gradBest, lossBest, lossPrev, stepSize, increases, lossBestLastCheck, reducedLastCheck]);
  }
}

/**
 * APGD with restarts on the still-robust examples: each restart attacks only the examples where no earlier
 * restart succeeded. Returns the adversarial batch and the success flags (caller owns both).
 */
export async function apgdWithRestarts(
  model: Classifier,
  x: tf.Tensor,
  criterion: Criterion,
  s: ApgdSettings,
  restarts: number,
  context: Pick<AttackContext, 'rng' | 'counters'>,
): Promise<{ adv: tf.Tensor; ok: tf.Tensor1D }> {
  let adv: tf.Tensor | undefined;
  let ok: tf.Tensor1D | undefined;
  for (let r = 0; r < restarts; r++) {
    const seed = context.rng.tfSeed();
    if (!adv || !ok) {
      const out = apgdRun(model, x, criterion, s, seed, context.counters);
      out.loss.dispose();
      adv = out.adv;
      ok = out.ok;
      continue;
    }
    const idx = await indicesWhere(ok!, false);
    if (idx.length === 0) break;
    const idxT = tf.tensor1d(idx, 'int32');
    const xs = tf.gather(x, idxT);
    const cs = gatherCriterion(criterion, idxT);
    const ts = s.lossTargets ? (tf.gather(s.lossTargets, idxT) as tf.Tensor1D) : undefined;
    const out = apgdRun(model, xs, cs, { ...s, lossTargets: ts }, seed, context.counters);
    const merged = tf.tidy(() => {
      // take the new point where it succeeded or has the (new) run's best loss; failed examples stay failed
      const rows = whereRows(out.ok, out.adv, tf.gather(adv!, idxT));
      return { adv: scatterRows(adv!, idx, rows), ok: scatterRows(ok!, idx, out.ok) as tf.Tensor1D };
    });
    tf.dispose([idxT, xs, cs.kind === 'untargeted' ? cs.labels : cs.targets, ts, out.adv, out.ok, out.loss, adv, ok].filter(Boolean) as tf.Tensor[]);
    adv = merged.adv;
    ok = merged.ok;
  }
  return { adv: adv!, ok: ok! };
}

export const apgd = defineAttack({
  name: 'parry/apgd',
  summary: 'Auto-PGD with CE or DLR loss (Croce & Hein 2020): step-size halving at checkpoints, momentum 0.75',
  norm: (o) => o.norm,
  mode: 'fixed-epsilon',
  needs: ['gradients'],
  options: z.object({
    norm: z.enum(['linf', 'l2']).default('linf').describe('perturbation norm'),
    loss: z.enum(['ce', 'dlr']).default('ce').describe('loss ascended: cross-entropy (APGD-CE) or difference of logits ratio (APGD-DLR)'),
    steps: z.number().int().positive().default(100).describe('iterations per restart'),
    restarts: z.number().int().positive().default(1).describe('restarts, each on the examples still robust'),
    rho: z.number().gt(0).lt(1).default(0.75).describe('halve the step where the loss increased in at most this fraction of steps since the last checkpoint'),
    momentum: z.number().min(0).max(1).default(0.75).describe('alpha: weight of the new step (1 - alpha on the previous one)'),
    eot: z.number().int().positive().default(1).describe('gradients averaged per step (EOT, for randomized defenses)'),
  }),
  async run(model, x, criterion, context, options) {
    const adversarials: tf.Tensor[] = [];
    for (const eps of context.epsilons) {
      const { adv, ok } = await apgdWithRestarts(model, x, criterion, { ...options, eps }, options.restarts, context);
      ok.dispose();
      adversarials.push(adv);
    }
    return { adversarials };
  },
});
