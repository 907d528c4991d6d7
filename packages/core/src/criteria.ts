import * as tf from '@tensorflow/tfjs-core';

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
