import * as tf from '@tensorflow/tfjs-core';
import type { AttackResult } from '@parry/core';

/** Mean and max of a set of per-example values (null when the set is empty). */
export interface Stat {
  mean: number;
  max: number;
  count: number;
}

export interface EpsilonSummary {
  epsilon: number;
  /** Fraction of all examples still classified correctly under attack. */
  robustAccuracy: number;
  /** Fraction of the originally correct examples the attack fooled. */
  attackSuccessRate: number;
  /** Perturbation sizes of the successful adversarial examples (originally correct ones only). */
  linf: Stat | null;
  l2: Stat | null;
  /** Composed attacks (AutoAttack): robust accuracy after each stage. */
  stages?: { label: string; robustAccuracy: number }[];
}

/** The summary of an image attack (the `modality: 'image'` entry of a results file, without the report details). */
export interface AttackSummary {
  modality: 'image';
  attack: string;
  norm: string;
  options: Record<string, unknown>;
  cleanAccuracy: number;
  n: number;
  perEpsilon: EpsilonSummary[];
  wallTimeMs: number;
  gradientEvaluations: number;
  forwardEvaluations: number;
}

/** Fraction of examples whose argmax logit equals the label. */
export async function accuracy(logits: tf.Tensor2D, labels: tf.Tensor1D): Promise<number> {
  const correct = tf.tidy(() => tf.mean(tf.cast(tf.equal(tf.argMax(logits, 1), tf.cast(labels, 'int32')), 'float32')));
  const v = (await correct.data())[0];
  correct.dispose();
  return v;
}

/** Per-example correctness (argmax == label) as booleans. */
export async function correctMask(logits: tf.Tensor2D, labels: tf.Tensor1D): Promise<boolean[]> {
  const c = tf.tidy(() => tf.equal(tf.argMax(logits, 1), tf.cast(labels, 'int32')));
  const v = Array.from(await c.data()).map(Boolean);
  c.dispose();
  return v;
}

/** Mean (summed in order), max and count of per-example values; null when there are none. */
export function stat(values: readonly number[]): Stat | null {
  if (values.length === 0) return null;
  let s = 0;
  let m = -Infinity;
  for (const v of values) {
    s += v;
    if (v > m) m = v;
  }
  return { mean: s / values.length, max: m, count: values.length };
}

/** Per-example Linf and L2 perturbation sizes, `[n]` each, as plain arrays. */
export async function perturbationSizes(x: tf.Tensor, adversarial: tf.Tensor): Promise<{ linf: number[]; l2: number[] }> {
  const [linf, l2] = tf.tidy(() => {
    const d = tf.reshape(tf.sub(adversarial, x), [x.shape[0], -1]);
    return [tf.max(tf.abs(d), 1), tf.sqrt(tf.sum(tf.square(d), 1))];
  });
  const out = { linf: Array.from(await linf.data()) as number[], l2: Array.from(await l2.data()) as number[] };
  tf.dispose([linf, l2]);
  return out;
}

/**
 * Robust accuracy, attack success rate and perturbation sizes per epsilon for an untargeted attack result.
 * `cleanCorrect[i]` says whether example i was classified correctly before the attack.
 */
export async function summarizeAttack(x: tf.Tensor, cleanCorrect: boolean[], result: AttackResult): Promise<AttackSummary> {
  const n = cleanCorrect.length;
  const nCorrect = cleanCorrect.filter(Boolean).length;
  const perEpsilon: EpsilonSummary[] = [];
  for (const e of result.perEpsilon) {
    const success = Array.from(await e.success.data()).map(Boolean);
    const sizes = await perturbationSizes(x, e.adversarial);
    let robust = 0;
    let fooled = 0;
    const linf: number[] = [];
    const l2: number[] = [];
    for (let i = 0; i < n; i++) {
      if (cleanCorrect[i] && !success[i]) robust++;
      if (cleanCorrect[i] && success[i]) {
        fooled++;
        linf.push(sizes.linf[i]);
        l2.push(sizes.l2[i]);
      }
    }
    perEpsilon.push({
      epsilon: e.epsilon,
      robustAccuracy: n ? robust / n : 0,
      attackSuccessRate: nCorrect ? fooled / nCorrect : 0,
      linf: stat(linf),
      l2: stat(l2),
      ...(e.stages ? { stages: e.stages.map((st) => ({ ...st })) } : {}),
    });
  }
  return {
    modality: 'image',
    attack: result.attack,
    norm: result.norm,
    options: result.options,
    cleanAccuracy: n ? nCorrect / n : 0,
    n,
    perEpsilon,
    wallTimeMs: result.wallTimeMs,
    gradientEvaluations: result.counters.gradientEvaluations,
    forwardEvaluations: result.counters.forwardEvaluations,
  };
}
