import * as tf from '@tensorflow/tfjs-core';

/** The Lp norms Parry measures and constrains perturbations with. */
export type Norm = 'linf' | 'l2' | 'l1' | 'l0';
export const NORMS: readonly Norm[] = ['linf', 'l2', 'l1', 'l0'];

const TINY = 1e-12;

function flat(x: tf.Tensor): tf.Tensor2D {
  return tf.reshape(x, [x.shape[0], -1]);
}

/** Broadcast a per-example vector `[b]` against a batch `[b, ...]`. */
function perExample(v: tf.Tensor1D, like: tf.Tensor): tf.Tensor {
  return tf.reshape(v, [like.shape[0], ...like.shape.slice(1).map(() => 1)]);
}

/** Per-example norm of a batch `[b, ...]` -> `[b]`. For l0, entries with |x| > 0 are counted. */
export function norm(kind: Norm, x: tf.Tensor): tf.Tensor1D {
  return tf.tidy(() => {
    const f = flat(x);
    switch (kind) {
      case 'linf':
        return tf.max(tf.abs(f), 1) as tf.Tensor1D;
      case 'l2':
        return tf.sqrt(tf.sum(tf.square(f), 1)) as tf.Tensor1D;
      case 'l1':
        return tf.sum(tf.abs(f), 1) as tf.Tensor1D;
      case 'l0':
        return tf.sum(tf.cast(tf.greater(tf.abs(f), 0), 'float32'), 1) as tf.Tensor1D;
    }
  });
}

/** Per-example distance `||y - x||` -> `[b]`. */
export function distance(kind: Norm, x: tf.Tensor, y: tf.Tensor): tf.Tensor1D {
  return tf.tidy(() => norm(kind, tf.sub(y, x)));
}

/** Clip a batch to the model's input bounds. */
export function clipToBounds(x: tf.Tensor, bounds: readonly [number, number]): tf.Tensor {
  return tf.clipByValue(x, bounds[0], bounds[1]);
}

/**
 * Euclidean projection of `delta` onto the `kind`-ball of radius `eps` (per example).
 * linf: clip; l2: rescale; l1: exact sort-based projection (Duchi et al. 2008); l0: keep the floor(eps) largest |entries|.
 */
export function projectDelta(kind: Norm, delta: tf.Tensor, eps: number): tf.Tensor {
  if (!(eps >= 0)) throw new RangeError(`epsilon must be >= 0, got ${eps}`);
  return tf.tidy(() => {
    switch (kind) {
      case 'linf':
        return tf.clipByValue(delta, -eps, eps);
      case 'l2': {
        const n = norm('l2', delta);
        const factor = tf.minimum(1, tf.div(eps, tf.add(n, TINY))) as tf.Tensor1D;
        return tf.mul(delta, perExample(factor, delta));
      }
      case 'l1':
        return projectL1(delta, eps);
      case 'l0': {
        const f = flat(delta);
        const d = f.shape[1];
        const k = Math.min(Math.floor(eps), d);
        if (k <= 0) return tf.zerosLike(delta);
        if (k >= d) return tf.clone(delta);
        const a = tf.abs(f);
        const kth = tf.slice(tf.topk(a, k, true).values, [0, k - 1], [-1, 1]);
        // keep entries >= the k-th largest (ties may keep a few more; break them by index order)
        const keep = tf.greaterEqual(a, kth);
        const rank = tf.cumsum(tf.cast(keep, 'int32'), 1);
        const mask = tf.logicalAnd(keep, tf.lessEqual(rank, k));
        return tf.reshape(tf.where(mask, f, tf.zerosLike(f)), delta.shape);
      }
    }
  });
}

function projectL1(delta: tf.Tensor, eps: number): tf.Tensor {
  const f = flat(delta);
  const [b, d] = f.shape;
  const a = tf.abs(f);
  if (eps === 0) return tf.zerosLike(delta);
  const mu = tf.topk(a, d, true).values; // sorted descending
  const cs = tf.cumsum(mu, 1);
  const j = tf.reshape(tf.add(tf.range(0, d, 1, 'float32'), 1), [1, d]);
  const cond = tf.greater(tf.sub(mu, tf.div(tf.sub(cs, eps), j)), 0);
  // rho = last index where cond holds (cond is true for a prefix)
  const rho = tf.sum(tf.cast(cond, 'int32'), 1); // [b], >= 1 whenever ||a||_1 > eps
  const rhoIdx = tf.cast(tf.maximum(tf.sub(rho, 1), 0), 'int32');
  const csAtRho = tf.sum(tf.mul(cs, tf.oneHot(rhoIdx, d)), 1);
  const theta = tf.maximum(tf.div(tf.sub(csAtRho, eps), tf.maximum(tf.cast(rho, 'float32'), 1)), 0);
  const inside = tf.lessEqual(tf.sum(a, 1), eps);
  const thetaEff = tf.reshape(tf.where(inside, tf.zerosLike(theta), theta), [b, 1]);
  const projected = tf.mul(tf.sign(f), tf.relu(tf.sub(a, thetaEff)));
  return tf.reshape(projected, delta.shape);
}

/** Project `x` onto the `eps`-ball around `x0` and then into `bounds`. */
export function project(
  kind: Norm,
  x0: tf.Tensor,
  x: tf.Tensor,
  eps: number,
  bounds: readonly [number, number],
): tf.Tensor {
  return tf.tidy(() => clipToBounds(tf.add(x0, projectDelta(kind, tf.sub(x, x0), eps)), bounds));
}

/**
 * Steepest-ascent direction of unit `kind`-norm for a gradient (linf: sign; l2: g / ||g||_2).
 * Zero gradients give a zero direction.
 */
export function ascentDirection(kind: Norm, g: tf.Tensor): tf.Tensor {
  return tf.tidy(() => {
    if (kind === 'linf') return tf.sign(g);
    if (kind === 'l2') return tf.mul(g, perExample(tf.div(1, tf.add(norm('l2', g), TINY)) as tf.Tensor1D, g));
    throw new RangeError(`no steepest-ascent step is defined for norm ${kind}; use linf or l2`);
  });
}

/**
 * A random perturbation inside the `eps`-ball: uniform in the cube for linf, uniform in the ball for l2.
 * Deterministic for a given `seed`.
 */
export function randomInBall(kind: Norm, shape: readonly number[], eps: number, seed: number): tf.Tensor {
  return tf.tidy(() => {
    if (kind === 'linf') return tf.randomUniform([...shape], -eps, eps, 'float32', seed);
    if (kind === 'l2') {
      const dir = tf.randomNormal([...shape], 0, 1, 'float32', seed);
      const d = shape.slice(1).reduce((p, q) => p * q, 1);
      const u = tf.randomUniform([shape[0]], 0, 1, 'float32', seed + 1);
      const radius = tf.mul(eps, tf.pow(u, 1 / d)) as tf.Tensor1D;
      const unit = tf.mul(dir, perExample(tf.div(1, tf.add(norm('l2', dir), TINY)) as tf.Tensor1D, dir));
      return tf.mul(unit, perExample(radius, unit));
    }
    throw new RangeError(`no random start is defined for norm ${kind}; use linf or l2`);
  });
}
