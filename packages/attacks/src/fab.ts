/**
 * FAB — Fast Adaptive Boundary attack (Croce & Hein 2020, "Minimally distorted adversarial examples with a fast
 * adaptive boundary attack", https://arxiv.org/abs/1907.02044), minimum-norm, linf or l2. Each step linearizes the
 * classifier at the iterate x_k, picks the closest linearized decision boundary (untargeted: over all classes;
 * targeted: the target's), projects both x_k and the original x onto that hyperplane intersected with the input box
 * (exact projection, solved here by bisection on the norm / the Lagrange multiplier, on the CPU side), and moves to the biased convex
 * combination (1 - a)(x_k + eta d_k) + a (x + eta d_0), a = min(|d_k| / (|d_k| + |d_0|), alphaMax). After a success it
 * keeps the point if it is the smallest so far and steps back toward x: x_k <- x + beta (x_k - x).
 *
 * Mode: minimization (returns the smallest successful point found, else the clean input). Defaults, the paper's /
 * AutoAttack's: `{ steps: 100, alphaMax: 0.1, eta: 1.05, beta: 0.9, restarts: 1 }`. The first run starts at x; further
 * restarts start at a random point at half the best norm found (or half the largest epsilon of the sweep) as in the
 * authors' code. The l1 version of the paper is not implemented. FAB-T (targeted over the top classes) is fab-t.ts.
 */
import * as tf from '@tensorflow/tfjs-core';
import { type AttackContext, type Classifier, type Criterion, clipToBounds, criterionLabels, defineAttack, isAdversarial, norm as normOf, randomInBall } from '@parry/core';
import { z } from '@parry/core';
import { perExample, whereRows } from './internal.js';

export interface FabSettings {
  norm: 'linf' | 'l2';
  steps: number;
  alphaMax: number;
  eta: number;
  beta: number;
}

/**
 * Per example, the minimal-norm `delta` with `<w, p + delta> = c` and `p + delta` inside `bounds` (or, where that is
 * infeasible, the box point that gets closest). `p, w`: `b` rows of `d` values; `c`: `[b]`. Exact up to float
 * precision: the achievable `<w, delta>` is monotone in the linf radius t (delta_i = min(t, room_i)) or in the l2
 * multiplier lambda (delta_i = min(lambda |w_i|, room_i)), which is found by bisection (60 halvings). Plain
 * arrays: this runs on the CPU side, much faster than 60 rounds of tensor ops.
 */
export function projectOnHyperplaneBox(
  kind: 'linf' | 'l2',
  p: ArrayLike<number>,
  w: ArrayLike<number>,
  c: ArrayLike<number>,
  d: number,
  bounds: readonly [number, number],
): Float32Array {
  const [lo, hi] = bounds;
  const b = c.length;
  const out = new Float32Array(b * d);
  const room = new Float64Array(d);
  const aw = new Float64Array(d);
  const dir = new Int8Array(d);
  for (let e = 0; e < b; e++) {
    const o = e * d;
    let wp = 0;
    for (let i = 0; i < d; i++) wp += w[o + i] * p[o + i];
    const r = c[e] - wp;
    if (r === 0) continue;
    const sr = r > 0 ? 1 : -1;
    const need = Math.abs(r);
    let upper = 0;
    for (let i = 0; i < d; i++) {
      const wi = w[o + i];
      const s = Math.sign(wi) * sr;
      dir[i] = s;
      aw[i] = Math.abs(wi);
      room[i] = s > 0 ? hi - p[o + i] : s < 0 ? p[o + i] - lo : 0;
      if (room[i] < 0) room[i] = 0;
      upper = Math.max(upper, kind === 'linf' ? room[i] : aw[i] > 0 ? room[i] / aw[i] : 0);
    }
    const step = (t: number, i: number) => Math.min(kind === 'linf' ? t : t * aw[i], room[i]);
    const gain = (t: number) => {
      let g = 0;
      for (let i = 0; i < d; i++) g += aw[i] * step(t, i);
      return g;
    };
    let low = 0;
    let high = upper;
    if (gain(high) >= need) {
      for (let k = 0; k < 60; k++) {
        const mid = (low + high) / 2;
        if (gain(mid) >= need) high = mid;
        else low = mid;
      }
    }
    for (let i = 0; i < d; i++) out[o + i] = dir[i] * step(high, i);
  }
  return out;
}

/** Per-example value and input-gradient of the logit difference f_j - f_y for class tensors `j` and `y`. */
export function logitDifference(model: Classifier, x: tf.Tensor, j: tf.Tensor1D, y: tf.Tensor1D): { f: tf.Tensor1D; g: tf.Tensor } {
  const k = model.numClasses;
  let f: tf.Tensor1D | undefined;
  const { value, grads } = tf.engine().gradients(() => {
    const l = model.logits(x);
    const d = tf.sub(tf.sum(tf.mul(l, tf.oneHot(tf.cast(j, 'int32'), k)), 1), tf.sum(tf.mul(l, tf.oneHot(tf.cast(y, 'int32'), k)), 1)) as tf.Tensor1D;
    f = tf.keep(tf.clone(d));
    return tf.sum(d) as tf.Scalar; // examples are independent, so d(sum)/dx_i = d(d_i)/dx_i
  }, [x]);
  value.dispose();
  return { f: f!, g: grads[0] };
}

/**
 * One FAB run. `classes` gives, per example, the candidate classes whose boundaries are linearized (`[b, m]`,
 * m = k - 1 untargeted, 1 targeted) and `labels` the class to leave (null for a targeted criterion: then the
 * strongest non-target class at each iterate). Returns the smallest successful point per
 * example (clean input where none) and its norm (Infinity where none). The caller owns the results.
 */
export async function fabRun(
  model: Classifier,
  x0: tf.Tensor,
  criterion: Criterion,
  labels: tf.Tensor1D | null,
  classes: tf.Tensor2D,
  s: FabSettings,
  start: tf.Tensor,
  counters: AttackContext['counters'],
): Promise<{ adv: tf.Tensor; dist: tf.Tensor1D }> {
  const n = x0.shape[0];
  const m = classes.shape[1];
  const dual = s.norm === 'linf' ? 'l1' : 'l2';
  const dim = x0.shape.slice(1).reduce((a, q) => a * q, 1);
  const cols = Array.from({ length: m }, (_, j) => tf.tidy(() => tf.squeeze(tf.slice(classes, [0, j], [-1, 1]), [1]) as tf.Tensor1D));
  const x0f = tf.reshape(x0, [n, -1]) as tf.Tensor2D;
  let x = tf.clone(start);
  let best = tf.clone(x0);
  let bestDist = tf.fill([n], Number.POSITIVE_INFINITY) as tf.Tensor1D;
  try {
    for (let it = 0; it < s.steps; it++) {
      // targeted criterion (labels null): leave the strongest non-target class at the current iterate
      const from =
        labels ??
        tf.tidy(() => {
          const t = tf.cast(criterionLabels(criterion), 'int32');
          return tf.argMax(tf.sub(model.logits(x), tf.mul(tf.oneHot(t, model.numClasses), 1e9)), 1) as tf.Tensor1D;
        });
      if (!labels) counters.forwardEvaluations += n;
      const parts = cols.map((col) => logitDifference(model, x, col, from));
      if (!labels) from.dispose();
      counters.gradientEvaluations += n * m;
      // closest linearized boundary: |f_j| / ||grad f_j||_dual; its hyperplane <w, z> = <w, x_k> - f
      const plane = tf.tidy(() => {
        const F = tf.stack(parts.map((q) => q.f), 1);
        const G = tf.stack(parts.map((q) => tf.reshape(q.g, [n, -1])), 1) as tf.Tensor3D; // [n, m, d]
        const gn = tf.stack(parts.map((q) => normOf(dual, q.g)), 1);
        const pick = m === 1 ? tf.onesLike(F) : tf.oneHot(tf.argMin(tf.div(tf.abs(F), tf.add(gn, 1e-12)), 1), m);
        const f = tf.sum(tf.mul(F, pick), 1) as tf.Tensor1D;
        const w = tf.sum(tf.mul(G, tf.expandDims(pick, 2)), 1) as tf.Tensor2D;
        const xf = tf.reshape(x, [n, -1]) as tf.Tensor2D;
        return { w: tf.concat([w, w], 0), c: tf.tile(tf.sub(tf.sum(tf.mul(w, xf), 1), f), [2]), p: tf.concat([xf, x0f], 0) };
      });
      const [wv, cv, pv] = await Promise.all([plane.w.data(), plane.c.data(), plane.p.data()]);
      tf.dispose([plane.w, plane.c, plane.p]);
      const d3v = projectOnHyperplaneBox(s.norm, pv, wv, cv, dim, model.bounds);
      const next = tf.tidy(() => {
        const d3 = tf.tensor2d(d3v, [2 * n, dim]);
        const xf = tf.reshape(x, [n, -1]) as tf.Tensor2D;
        const d1 = tf.slice(d3, [0, 0], [n, -1]);
        const d2 = tf.slice(d3, [n, 0], [n, -1]);
        const a1 = normOf(s.norm, d1);
        const a2 = normOf(s.norm, d2);
        const alpha = tf.reshape(tf.minimum(tf.maximum(tf.div(a1, tf.add(tf.add(a1, a2), 1e-12)), 0), s.alphaMax), [n, 1]);
        const moved = tf.add(tf.mul(tf.add(xf, tf.mul(d1, s.eta)), tf.sub(1, alpha)), tf.mul(tf.add(x0f, tf.mul(d2, s.eta)), alpha));
        const xn = clipToBounds(tf.reshape(moved, x0.shape), model.bounds);
        const ok = isAdversarial(criterion, model.logits(xn));
        const dist = normOf(s.norm, tf.sub(xn, x0));
        const better = tf.logicalAnd(ok, tf.less(dist, bestDist));
        return {
          best: whereRows(better, xn, best),
          bestDist: tf.where(better, dist, bestDist) as tf.Tensor1D,
          // backward step toward x after a success
          x: whereRows(ok, tf.add(x0, tf.mul(tf.sub(xn, x0), s.beta)), xn),
        };
      });
      counters.forwardEvaluations += n;
      tf.dispose([...parts.flatMap((q) => [q.f, q.g]), x, best, bestDist]);
      ({ x, best, bestDist } = next);
    }
    const out = { adv: best, dist: bestDist };
    best = undefined as unknown as tf.Tensor;
    bestDist = undefined as unknown as tf.Tensor1D;
    return out;
  } finally {
    tf.dispose([...cols, x0f, x, ...(best ? [best] : []), ...(bestDist ? [bestDist] : [])]);
  }
}

/**
 * FAB with restarts, for the candidate classes `classes` (`[b, m]`). Restart 0 starts at x; restart r > 0 at a random
 * point at half of min(best norm, `radius`). Keeps the smallest success per example. Caller owns the results.
 */
export async function fabWithRestarts(
  model: Classifier,
  x: tf.Tensor,
  criterion: Criterion,
  labels: tf.Tensor1D | null,
  classes: tf.Tensor2D,
  s: FabSettings,
  restarts: number,
  radius: number,
  context: Pick<AttackContext, 'rng' | 'counters'>,
): Promise<{ adv: tf.Tensor; dist: tf.Tensor1D }> {
  let best: { adv: tf.Tensor; dist: tf.Tensor1D } | undefined;
  for (let r = 0; r < restarts; r++) {
    const seed = context.rng.tfSeed();
    let start: tf.Tensor;
    if (r === 0 || !best) start = tf.clone(x);
    else {
      const prev = best;
      start = tf.tidy(() => {
        const rad = tf.mul(tf.minimum(prev.dist, Number.isFinite(radius) ? radius : 1e9), 0.5);
        const radFinite = tf.where(tf.isFinite(rad), rad, tf.zerosLike(rad));
        const u = randomInBall(s.norm, x.shape, 1, seed);
        const unit = tf.div(u, perExample(tf.add(normOf(s.norm, u), 1e-12), u));
        return clipToBounds(tf.add(x, tf.mul(unit, perExample(radFinite, unit))), model.bounds);
      });
    }
    const cur = await fabRun(model, x, criterion, labels, classes, s, start, context.counters);
    start.dispose();
    if (!best) {
      best = cur;
      continue;
    }
    best = keepSmaller(best, cur);
  }
  return best!;
}

export const fabOptions = {
  norm: z.enum(['linf', 'l2']).default('linf').describe('perturbation norm'),
  steps: z.number().int().positive().default(100).describe('iterations per restart (and per target class for FAB-T)'),
  restarts: z.number().int().positive().default(1).describe('restarts; after the first, from a random point at half the best norm'),
  alphaMax: z.number().min(0).max(1).default(0.1).describe('largest weight of the step from the original point'),
  eta: z.number().min(1).default(1.05).describe('overshoot of each projection'),
  beta: z.number().gt(0).lt(1).default(0.9).describe('backward step toward x after a success'),
};

export const fab = defineAttack({
  name: 'parry/fab',
  summary: 'FAB (Croce & Hein 2020): minimum-norm boundary attack, linf or l2, untargeted over all classes',
  norm: (o) => o.norm,
  mode: 'minimization',
  needs: ['gradients'],
  options: z.object(fabOptions),
  async run(model, x, criterion, context, options) {
    const k = model.numClasses;
    const radius = context.epsilons.length ? Math.max(...context.epsilons) : Number.POSITIVE_INFINITY;
    // untargeted: leave the label, every other class is a candidate; targeted: move from the predicted class to the target
    let labels: tf.Tensor1D | null = null;
    let classes: tf.Tensor2D;
    if (criterion.kind === 'untargeted') {
      const y = tf.cast(criterion.labels, 'int32') as tf.Tensor1D;
      labels = y;
      classes = tf.tidy(() => tf.topk(tf.sub(model.logits(x), tf.mul(tf.oneHot(y, k), 1e9)), k - 1, true).indices as tf.Tensor2D);
    } else {
      classes = tf.tidy(() => tf.reshape(tf.cast(criterion.targets, 'int32'), [-1, 1]) as tf.Tensor2D);
    }
    if (labels) context.counters.forwardEvaluations += x.shape[0];
    try {
      const { adv, dist } = await fabWithRestarts(model, x, criterion, labels, classes, options, options.restarts, radius, context);
      dist.dispose();
      return { adversarials: [adv] };
    } finally {
      tf.dispose(labels ? [labels, classes] : [classes]);
    }
  },
});

/** Per example, the candidate with the smaller distance; disposes both inputs (the caller owns the result). */
export function keepSmaller(prev: { adv: tf.Tensor; dist: tf.Tensor1D }, cur: { adv: tf.Tensor; dist: tf.Tensor1D }): { adv: tf.Tensor; dist: tf.Tensor1D } {
  const out = tf.tidy(() => {
    const better = tf.less(cur.dist, prev.dist);
    return { adv: whereRows(better, cur.adv, prev.adv), dist: tf.where(better, cur.dist, prev.dist) as tf.Tensor1D };
  });
  tf.dispose([prev.adv, prev.dist, cur.adv, cur.dist]);
  return out;
}
