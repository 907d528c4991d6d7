import * as tf from '@tensorflow/tfjs-core';
import { type Criterion, criterionLabels, isAdversarial, sliceCriterion } from './criteria.js';
import { distance, project } from './distances.js';
import { UsageError } from './errors.js';
import type { Classifier } from './model.js';
import type { AttackCounters, ImageAttackPlugin, AttackRunOutput } from './plugin.js';
import { describeReturned, guardPluginCall } from './plugin-guard.js';
import { createRng } from './rng.js';

/** Per-epsilon outcome (the Foolbox contract). Tensors are owned by the caller; see `disposeAttackResult`. */
export interface EpsilonResult {
  epsilon: number;
  /** Adversarial batch, inside the epsilon-ball and the bounds (the clean input where an attack failed, for minimization attacks). */
  adversarial: tf.Tensor;
  /** bool `[n]`: the criterion holds at `adversarial`. */
  success: tf.Tensor1D;
  /** float `[n]`: `||adversarial - x||` in the attack's norm. */
  distance: tf.Tensor1D;
  /** For composed attacks: robust accuracy after each stage (the attack's own bookkeeping, summed over batches). */
  stages?: { label: string; robustAccuracy: number }[];
}

export interface AttackResult {
  attack: string;
  norm: ImageAttackPlugin['norm'];
  options: Record<string, unknown>;
  perEpsilon: EpsilonResult[];
  counters: AttackCounters;
  wallTimeMs: number;
}

export interface RunAttackOptions {
  /** Epsilons of the sweep; required for fixed-epsilon attacks, optional for minimization attacks. */
  epsilons?: readonly number[];
  seed?: number;
  /** Examples per batch given to the attack (default 256). */
  batchSize?: number;
  onBatch?: (done: number, total: number) => void;
  /**
   * Index of the first batch of `x` in a larger run that `x` is a batch-aligned block of (a shard; default 0). Batch k
   * draws the random stream of batch `firstBatch + k` of that run, so shards together give the unsharded results.
   */
  firstBatch?: number;
}

/** Checks an epsilon list: non-empty, finite, >= 0. Throws one line naming the bad value. */
export function validateEpsilons(epsilons: readonly number[] | undefined, required: boolean): number[] {
  if (!epsilons || epsilons.length === 0) {
    if (required) throw new UsageError('no epsilon given; pass at least one, e.g. --eps 0.1,0.3');
    return [];
  }
  for (const e of epsilons) {
    if (typeof e !== 'number' || !Number.isFinite(e)) throw new UsageError(`epsilon ${String(e)} is not a finite number; pass numbers like --eps 0.1,0.3`);
    if (e < 0) throw new UsageError(`epsilon ${e} is negative; epsilons must be >= 0`);
  }
  return [...epsilons];
}

/**
 * What is wrong with an attack's `run` output for one batch (one phrase for the guard's error line), or undefined:
 * `{ adversarials }` with `expected` live float32 tensors of the input's shape, and `stages` (if any) an array.
 */
export function checkRunOutput(output: unknown, expected: number, inputShape: readonly number[]): string | undefined {
  const shape = (s: readonly number[]) => `[${s.join(', ')}]`;
  if (output === null || typeof output !== 'object' || Array.isArray(output) || output instanceof tf.Tensor) {
    return `returned ${describeReturned(output)}; it must return { adversarials: Tensor[] } (one batch per epsilon)`;
  }
  const { adversarials, stages } = output as Partial<AttackRunOutput>;
  if (!Array.isArray(adversarials)) return `returned { adversarials: ${describeReturned(adversarials)} }; adversarials must be an array of tensors`;
  for (const [i, t] of adversarials.entries()) {
    if (!(t instanceof tf.Tensor)) return `returned adversarials[${i}] = ${describeReturned(t)}, not a tensor`;
    if (t.isDisposed) return `returned adversarials[${i}], a tensor it had already disposed`;
  }
  if (adversarials.length !== expected) {
    return `returned ${adversarials.length} adversarial batch${adversarials.length === 1 ? '' : 'es'}, expected ${expected}${expected > 1 ? ' (one per epsilon)' : ''}`;
  }
  for (const [i, t] of adversarials.entries()) {
    if (t.shape.join() !== inputShape.join()) return `returned adversarials[${i}] of shape ${shape(t.shape)} for an input of shape ${shape(inputShape)}`;
    if (t.dtype !== 'float32') return `returned adversarials[${i}] of dtype ${t.dtype}; adversarial batches must be float32`;
  }
  if (stages !== undefined && !(Array.isArray(stages) && stages.every((s) => Array.isArray(s) && s.every((st) => st && typeof st.label === 'string' && Number.isFinite(st.robust))))) {
    return 'returned malformed stages; stages must be, per epsilon, an array of { label: string, robust: number }';
  }
  return undefined;
}

function releaseRunOutput(output: unknown): void {
  const adv = (output as { adversarials?: unknown } | null)?.adversarials;
  if (Array.isArray(adv)) tf.dispose(adv.filter((t): t is tf.Tensor => t instanceof tf.Tensor));
}

/** Checks that a model offers what an attack needs and that the attack supports the criterion. */
export function checkCompatible(attack: ImageAttackPlugin, model: Classifier, criterion: Criterion): void {
  if (attack.needs.includes('gradients') && !model.capabilities.gradients) {
    throw new UsageError(`${attack.name} needs gradients but model "${model.name}" offers scores only; choose a score-based attack`);
  }
  if (!attack.criteria.includes(criterion.kind)) {
    throw new UsageError(`${attack.name} does not support ${criterion.kind} attacks (supports: ${attack.criteria.join(', ')})`);
  }
}

/**
 * Runs an attack over `x` in batches and applies, once for every attack, the shared post-processing:
 * clip to the model's bounds, project into each epsilon-ball, and evaluate the criterion. For minimization attacks
 * an example counts as successful at epsilon only if the attack succeeded and its perturbation is within epsilon.
 */
export async function runAttack(
  attack: ImageAttackPlugin,
  model: Classifier,
  x: tf.Tensor,
  criterion: Criterion,
  options: RunAttackOptions = {},
): Promise<AttackResult> {
  checkCompatible(attack, model, criterion);
  const fixed = attack.mode === 'fixed-epsilon';
  const epsilons = validateEpsilons(options.epsilons, fixed);
  const sweep = fixed ? epsilons : epsilons.length ? epsilons : [Number.POSITIVE_INFINITY];
  const batchSize = options.batchSize ?? 256;
  if (!(Number.isInteger(batchSize) && batchSize > 0)) throw new UsageError(`batch size ${batchSize} must be a positive integer`);
  const firstBatch = options.firstBatch ?? 0;
  if (!(Number.isInteger(firstBatch) && firstBatch >= 0)) throw new UsageError(`first batch ${firstBatch} must be a non-negative integer`);
  const rng = createRng(options.seed ?? 0);
  for (let k = 0; k < firstBatch; k++) rng.fork(); // the streams of the batches before this block, in the order the whole run draws them
  const counters: AttackCounters = { gradientEvaluations: 0, forwardEvaluations: 0 };
  const n = x.shape[0];
  const perEps = sweep.map(() => ({ adv: [] as tf.Tensor[], success: [] as tf.Tensor1D[], dist: [] as tf.Tensor1D[] }));
  const stageCounts: Map<string, number>[] = sweep.map(() => new Map());
  const start = performance.now();
  try {
    for (let begin = 0; begin < n; begin += batchSize) {
      const size = Math.min(batchSize, n - begin);
      const xb = tf.slice(x, begin, size);
      const cb = sliceCriterion(criterion, begin, size);
      const context = { epsilons: fixed ? epsilons : sweep.filter(Number.isFinite), rng: rng.fork(), counters };
      const expected = fixed ? sweep.length : 1;
      let raw: tf.Tensor[] = [];
      try {
        const output = await guardPluginCall(attack.name, 'run()', () => attack.run(model, xb, cb, context), {
          inputs: { x: xb, 'criterion labels': criterionLabels(cb) },
          validate: (o) => checkRunOutput(o, expected, xb.shape),
          returned: (o) => o.adversarials,
          release: releaseRunOutput,
        });
        raw = output.adversarials;
        output.stages?.forEach((stages, i) => {
          for (const st of stages) stageCounts[i]?.set(st.label, (stageCounts[i].get(st.label) ?? 0) + st.robust);
        });
        sweep.forEach((eps, i) => {
          const out = tf.tidy(() => {
            const candidate = raw[fixed ? i : 0];
            const adv0 = Number.isFinite(eps) ? project(attack.norm, xb, candidate, eps, model.bounds) : tf.clipByValue(candidate, model.bounds[0], model.bounds[1]);
            let ok = isAdversarial(cb, model.logits(adv0));
            let adv = adv0;
            if (!fixed) {
              // keep the clean input where the attack failed, so distances and images are honest
              const within = Number.isFinite(eps) ? tf.lessEqual(distance(attack.norm, xb, candidate), eps + 1e-6) : tf.cast(tf.onesLike(ok), 'bool');
              ok = tf.logicalAnd(ok, within) as tf.Tensor1D;
              const mask = tf.reshape(ok, [size, ...xb.shape.slice(1).map(() => 1)]);
              adv = tf.where(tf.broadcastTo(mask, xb.shape), adv0, xb);
            }
            return { adv, ok, dist: distance(attack.norm, xb, adv) };
          });
          counters.forwardEvaluations += size;
          perEps[i].adv.push(out.adv);
          perEps[i].success.push(out.ok as tf.Tensor1D);
          perEps[i].dist.push(out.dist);
        });
      } finally {
        tf.dispose([xb, criterionLabels(cb), ...raw]);
      }
      options.onBatch?.(begin + size, n);
    }
    const perEpsilon = sweep.map((epsilon, i) => ({
      epsilon,
      adversarial: tf.concat(perEps[i].adv, 0),
      success: tf.concat(perEps[i].success, 0) as tf.Tensor1D,
      distance: tf.concat(perEps[i].dist, 0) as tf.Tensor1D,
      ...(stageCounts[i].size ? { stages: [...stageCounts[i]].map(([label, robust]) => ({ label, robustAccuracy: robust / n })) } : {}),
    }));
    return {
      attack: attack.name,
      norm: attack.norm,
      options: { ...attack.options },
      perEpsilon,
      counters,
      wallTimeMs: performance.now() - start,
    };
  } finally {
    for (const p of perEps) tf.dispose([...p.adv, ...p.success, ...p.dist]);
  }
}

/** Dispose every tensor of an attack result. */
export function disposeAttackResult(result: AttackResult): void {
  for (const r of result.perEpsilon) tf.dispose([r.adversarial, r.success, r.distance]);
}
