import * as tf from '@tensorflow/tfjs-core';
import { UsageError } from './errors.js';
import type { GoalSpec } from './text-attack/goals.js';

/**
 * What counts as a successful attack (a Foolbox criterion / TextAttack goal function), as a value in core rather
 * than a flag in each attack. Label tensors are int32 `[batch]` and stay owned by the caller.
 */
export type Criterion =
  | { readonly kind: 'untargeted'; readonly labels: tf.Tensor1D }
  | { readonly kind: 'targeted'; readonly targets: tf.Tensor1D };

/** Success when the predicted class differs from `labels`. */
export function untargeted(labels: tf.Tensor1D): Criterion {
  return { kind: 'untargeted', labels };
}

/** Success when the predicted class equals `targets`. */
export function targeted(targets: tf.Tensor1D): Criterion {
  return { kind: 'targeted', targets };
}

/** The labels a criterion is about: true labels (untargeted) or targets (targeted). */
export function criterionLabels(criterion: Criterion): tf.Tensor1D {
  return criterion.kind === 'untargeted' ? criterion.labels : criterion.targets;
}

/** Per-example softmax cross-entropy of logits `[b, k]` against int labels `[b]`. */
export function crossEntropy(logits: tf.Tensor2D, labels: tf.Tensor1D): tf.Tensor1D {
  return tf.tidy(() => {
    const logp = tf.logSoftmax(logits, 1);
    const onehot = tf.oneHot(tf.cast(labels, 'int32'), logits.shape[1]);
    return tf.neg(tf.sum(tf.mul(logp, onehot), 1)) as tf.Tensor1D;
  });
}

/**
 * Per-example loss an attack ascends: cross-entropy to the true label (untargeted) or minus the cross-entropy to
 * the target (targeted). Differentiable in `logits`.
 */
export function criterionLoss(criterion: Criterion, logits: tf.Tensor2D): tf.Tensor1D {
  return tf.tidy(() =>
    criterion.kind === 'untargeted'
      ? crossEntropy(logits, criterion.labels)
      : (tf.neg(crossEntropy(logits, criterion.targets)) as tf.Tensor1D),
  );
}

/** Per-example success as a bool tensor `[b]`. */
export function isAdversarial(criterion: Criterion, logits: tf.Tensor2D): tf.Tensor1D {
  return tf.tidy(() => {
    const pred = tf.argMax(logits, 1);
    return (
      criterion.kind === 'untargeted'
        ? tf.notEqual(pred, tf.cast(criterion.labels, 'int32'))
        : tf.equal(pred, tf.cast(criterion.targets, 'int32'))
    ) as tf.Tensor1D;
  });
}

/** Slice the criterion's label tensor to examples `[begin, begin + size)`. Caller owns the new tensor. */
export function sliceCriterion(criterion: Criterion, begin: number, size: number): Criterion {
  const labels = tf.slice(criterionLabels(criterion), begin, size);
  return criterion.kind === 'untargeted' ? untargeted(labels) : targeted(labels);
}

// ---- targeted-mode helpers and the DLR loss (Croce & Hein 2020) ----

/**
 * A targeted criterion toward one given class for all `n` examples, or toward per-example classes.
 * The new label tensor belongs to the caller (dispose `criterionLabels(c)`).
 */
export function givenTarget(target: number | readonly number[], n?: number): Criterion {
  const t = typeof target === 'number' ? new Array<number>(n ?? 1).fill(target) : [...target];
  if (t.some((v) => !Number.isInteger(v) || v < 0)) throw new RangeError(`target classes must be non-negative integers, got ${JSON.stringify(target)}`);
  return targeted(tf.tensor1d(t, 'int32'));
}

/**
 * A targeted criterion toward a uniformly random class different from each true label, drawn from `rng`
 * (deterministic with a seed). The new label tensor belongs to the caller.
 */
export function randomTarget(labels: tf.Tensor1D, numClasses: number, rng: { int(n: number): number }): Criterion {
  if (!(Number.isInteger(numClasses) && numClasses >= 2)) throw new RangeError(`randomTarget needs >= 2 classes, got ${numClasses}`);
  const offsets = Array.from({ length: labels.shape[0] }, () => 1 + rng.int(numClasses - 1));
  return targeted(tf.tidy(() => tf.cast(tf.mod(tf.add(tf.cast(labels, 'int32'), tf.tensor1d(offsets, 'int32')), numClasses), 'int32') as tf.Tensor1D));
}

/** A targeted criterion toward each example's least-likely class (argmin of the logits `[b, k]`). Caller owns the labels. */
export function leastLikely(logits: tf.Tensor2D): Criterion {
  return targeted(tf.tidy(() => tf.cast(tf.argMin(logits, 1), 'int32') as tf.Tensor1D));
}

/**
 * The Difference of Logits Ratio loss (Croce & Hein 2020, https://arxiv.org/abs/2003.01690), per example, as the
 * quantity an attack ascends (higher = closer to / past the decision boundary); shift- and scale-invariant in the logits.
 * - untargeted: -(z_y - max_{i != y} z_i) / (z_pi1 - z_pi3)
 * - targeted (`targets` given): -(z_y - z_t) / (z_pi1 - (z_pi3 + z_pi4) / 2)
 * where z_pi is the sorted logit vector (descending). With fewer than 3 (untargeted) or 4 (targeted) classes the
 * missing order statistics fall back to the smallest logit.
 */
export function dlrLoss(logits: tf.Tensor2D, labels: tf.Tensor1D, targets?: tf.Tensor1D): tf.Tensor1D {
  return tf.tidy(() => {
    const k = logits.shape[1];
    // the 4 largest logits by repeated masked max (topk has no gradient in tfjs; max and argMax do)
    const top: tf.Tensor1D[] = [];
    let rest: tf.Tensor2D = logits;
    for (let i = 0; i < Math.min(4, k); i++) {
      top.push(tf.max(rest, 1) as tf.Tensor1D);
      rest = tf.sub(rest, tf.mul(tf.oneHot(tf.argMax(rest, 1), k), 1e9)) as tf.Tensor2D;
    }
    const pi = (i: number) => top[Math.min(i, top.length - 1)];
    const onehotY = tf.oneHot(tf.cast(labels, 'int32'), k);
    const zy = tf.sum(tf.mul(logits, onehotY), 1);
    if (targets) {
      const zt = tf.sum(tf.mul(logits, tf.oneHot(tf.cast(targets, 'int32'), k)), 1);
      const denom = tf.add(tf.sub(pi(0), tf.div(tf.add(pi(2), pi(3)), 2)), 1e-12);
      return tf.neg(tf.div(tf.sub(zy, zt), denom)) as tf.Tensor1D;
    }
    const maxOther = tf.max(tf.sub(logits, tf.mul(onehotY, 1e9)), 1);
    const denom = tf.add(tf.sub(pi(0), pi(2)), 1e-12);
    return tf.neg(tf.div(tf.sub(zy, maxOther), denom)) as tf.Tensor1D;
  });
}

/**
 * Per-example logit margin of the criterion: `z_y - max_{i != y} z_i` (untargeted) or `max_{i != t} z_i - z_t`
 * (targeted). The attack succeeds where it is < 0 (Carlini & Wagner's f_6, Square's margin loss).
 */
export function logitMargin(criterion: Criterion, logits: tf.Tensor2D): tf.Tensor1D {
  return tf.tidy(() => {
    const k = logits.shape[1];
    const onehot = tf.oneHot(tf.cast(criterionLabels(criterion), 'int32'), k);
    const zc = tf.sum(tf.mul(logits, onehot), 1);
    const maxOther = tf.max(tf.sub(logits, tf.mul(onehot, 1e9)), 1);
    return (criterion.kind === 'untargeted' ? tf.sub(zc, maxOther) : tf.sub(maxOther, zc)) as tf.Tensor1D;
  });
}

/**
 * The image form of a goal of core's goal vocabulary (the text form is `goalFunction`): `untargeted` keeps the true
 * labels, `targeted` aims every example at `goal.target`. Image attacks work on single-label (softmax) classifiers,
 * so the multi-label goals are refused with one line. The returned criterion's target tensor (targeted) is owned by
 * the caller; `labels` stays the caller's.
 */
export function criterionFor(goal: GoalSpec, labels: tf.Tensor1D, numClasses: number): Criterion {
  if (goal.kind === 'untargeted') return untargeted(labels);
  if (goal.kind === 'targeted') {
    if (!Number.isInteger(goal.target) || goal.target < 0 || goal.target >= numClasses) {
      throw new UsageError(`goal targeted:${goal.target}: the target must be a class id in 0..${numClasses - 1}`);
    }
    return targeted(tf.fill([labels.shape[0]], goal.target, 'int32') as tf.Tensor1D);
  }
  throw new UsageError(`goal ${goal.kind} is for multi-label text models; image attacks take untargeted or targeted:<class>`);
}
