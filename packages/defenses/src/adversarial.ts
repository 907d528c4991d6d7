import * as tf from '@tensorflow/tfjs-core';
import { type AttackCounters, type Classifier, crossEntropy, project } from '@parry/core';

export interface LinfPgdOptions {
  eps: number;
  /** Step size (absolute). */
  stepSize: number;
  steps: number;
  /**
   * Start point: `uniform` in the eps-cube (Madry et al.), `normal` with std `startStd` (TRADES: 0.001), or `none`.
   */
  start: 'uniform' | 'normal' | 'none';
  startStd?: number;
  /** Seed for the random start. */
  seed: number;
  counters?: AttackCounters;
}

/**
 * Linf PGD ascending an arbitrary differentiable objective `objective(logits) -> scalar` (the sum over the batch),
 * with the model in inference mode. Returns the adversarial batch inside the eps-ball and the model's bounds; the
 * caller owns it. Used for per-epoch robust evaluation, PGD-AT's default generator and TRADES' KL maximisation.
 */
export function linfPgd(model: Classifier, x0: tf.Tensor, objective: (logits: tf.Tensor2D) => tf.Scalar, o: LinfPgdOptions): tf.Tensor {
  let x = tf.tidy(() => {
    if (o.start === 'none') return tf.clone(x0);
    const noise = o.start === 'uniform' ? tf.randomUniform(x0.shape, -o.eps, o.eps, 'float32', o.seed) : tf.mul(tf.randomNormal(x0.shape, 0, 1, 'float32', o.seed), o.startStd ?? 0.001);
    return project('linf', x0, tf.add(x0, noise), o.eps, model.bounds);
  });
  const grad = tf.grad((xi: tf.Tensor) => objective(model.logits(xi)));
  for (let t = 0; t < o.steps; t++) {
    const next = tf.tidy(() => project('linf', x0, tf.add(x, tf.mul(tf.sign(grad(x)), o.stepSize)), o.eps, model.bounds));
    if (o.counters) o.counters.gradientEvaluations += x0.shape[0];
    x.dispose();
    x = next;
  }
  return x;
}

/** Sum of the per-example cross-entropy (PGD's objective). */
export const sumCrossEntropy = (labels: tf.Tensor1D) => (logits: tf.Tensor2D) => tf.sum(crossEntropy(logits, labels)) as tf.Scalar;

export interface RobustEvalOptions {
  eps: number;
  /** PGD steps (default 10). */
  steps?: number;
  /** Step size (default 2.5 * eps / steps, Madry et al.'s rule). */
  stepSize?: number;
  /** Random restarts; an example counts as robust only if it survives all of them (default 1). */
  restarts?: number;
  /** Examples of the evaluation set attacked (the first n; default 1000). */
  n?: number;
  /** Examples per attack batch (default 500). */
  batchSize?: number;
}

/** Accuracy under linf PGD with random start on the first `n` examples of `x`. */
export async function pgdAccuracy(model: Classifier, x: tf.Tensor, y: tf.Tensor1D, options: RobustEvalOptions, seed: number): Promise<number> {
  const n = Math.min(options.n ?? 1000, x.shape[0]);
  const steps = options.steps ?? 10;
  const stepSize = options.stepSize ?? (2.5 * options.eps) / Math.max(steps, 1);
  const restarts = options.restarts ?? 1;
  const bs = options.batchSize ?? 500;
  let robust = 0;
  for (let begin = 0; begin < n; begin += bs) {
    const size = Math.min(bs, n - begin);
    const xb = tf.slice(x, begin, size);
    const yb = tf.slice(y, begin, size);
    let ok = tf.tidy(() => tf.equal(tf.argMax(model.logits(xb), 1), tf.cast(yb, 'int32')));
    try {
      for (let r = 0; r < restarts; r++) {
        const adv = linfPgd(model, xb, sumCrossEntropy(yb), { eps: options.eps, stepSize, steps, start: 'uniform', seed: (seed + 7919 * r + begin) >>> 0 });
        const next = tf.tidy(() => tf.logicalAnd(ok, tf.equal(tf.argMax(model.logits(adv), 1), tf.cast(yb, 'int32'))));
        tf.dispose([adv, ok]);
        ok = next;
      }
      const count = tf.tidy(() => tf.sum(tf.cast(ok, 'int32')));
      robust += (await count.data())[0];
      count.dispose();
    } finally {
      tf.dispose([xb, yb, ok]);
    }
  }
  return n === 0 ? Number.NaN : robust / n;
}

/** Clones of the variables' current values (kept out of any tidy); the caller owns them. */
export function snapshotWeights(weights: readonly tf.Variable[]): tf.Tensor[] {
  return weights.map((w) => tf.keep(tf.clone(w)));
}

/** Assign saved values back to the variables. */
export function restoreWeights(weights: readonly tf.Variable[], saved: readonly tf.Tensor[]): void {
  if (saved.length !== weights.length) throw new Error(`weight snapshot has ${saved.length} tensors, the model ${weights.length}`);
  weights.forEach((w, i) => w.assign(saved[i]));
}
