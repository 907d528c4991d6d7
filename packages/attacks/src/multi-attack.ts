/**
 * MultiAttack — composition of attacks (torchattacks' `MultiAttack`, the scheme AutoAttack uses): run a list of
 * attacks (or the same attack with different seeds as restarts) in sequence at one epsilon, each only on the
 * examples still robust after the previous ones, keep the first success per example and record which attack won.
 * Every stage's output is projected into the epsilon-ball and the bounds before its success is checked, so a
 * minimization attack (FAB, DeepFool, C&W) counts only where its point lies within epsilon.
 *
 * `multiAttack([...])` returns a fixed-epsilon plugin (not registrable from the CLI, since its options are attacks);
 * `runSequence` is the function behind it and reports the robust accuracy after each stage.
 */
import * as tf from '@tensorflow/tfjs-core';
import {
  type AttackCounters,
  type ImageAttackPlugin,
  type Classifier,
  type Criterion,
  type Rng,
  UsageError,
  checkCompatible,
  criterionLabels,
  isAdversarial,
  parseOptions,
  project,
  z,
} from '@parry/core';
import { gatherCriterion, indicesWhere, scatterRows, whereRows } from './internal.js';

export interface SequenceStage {
  /** Stage label: 'clean' first, then each attack's label (its name unless given). */
  attack: string;
  /** Fraction of all examples still robust after this stage. */
  robustAccuracy: number;
  /** Examples this stage attacked. */
  attacked: number;
  /** Examples this stage fooled. */
  fooled: number;
  wallTimeMs: number;
}

export interface SequenceResult {
  /** Adversarial batch inside the epsilon-ball and the bounds (caller owns it). */
  adversarial: tf.Tensor;
  /** bool `[n]`: the criterion holds at `adversarial` (caller owns it). */
  success: tf.Tensor1D;
  /** Per example: the label of the stage that won, 'clean' when the clean input already satisfies the criterion, null when robust. */
  winners: (string | null)[];
  stages: SequenceStage[];
}

export interface SequenceOptions {
  epsilon: number;
  rng: Rng;
  counters?: AttackCounters;
  /** Stage labels, one per attack (default: the attack names). */
  labels?: readonly string[];
  /** Called after each stage (progress, logs). */
  onStage?: (stage: SequenceStage) => void;
}

/** Runs `attacks` in sequence on the still-robust examples at one epsilon; see the file header. */
export async function runSequence(
  model: Classifier,
  x: tf.Tensor,
  criterion: Criterion,
  attacks: readonly ImageAttackPlugin[],
  options: SequenceOptions,
): Promise<SequenceResult> {
  if (attacks.length === 0) throw new UsageError('a sequence of attacks needs at least one attack');
  const norm = attacks[0].norm;
  for (const a of attacks) {
    if (a.norm !== norm) throw new UsageError(`every attack of a sequence must use the same norm (${attacks[0].name} is ${norm}, ${a.name} is ${a.norm})`);
    checkCompatible(a, model, criterion);
  }
  const { epsilon, rng } = options;
  const counters = options.counters ?? { gradientEvaluations: 0, forwardEvaluations: 0 };
  const n = x.shape[0];
  const stages: SequenceStage[] = [];
  const t0 = performance.now();
  let success = tf.tidy(() => isAdversarial(criterion, model.logits(x)));
  counters.forwardEvaluations += n;
  const winners: (string | null)[] = Array.from(await success.data(), (v) => (v ? 'clean' : null));
  let adversarial = tf.clone(x);
  const record = (attack: string, attacked: number, fooled: number, start: number) => {
    const stage = { attack, robustAccuracy: winners.filter((w) => w === null).length / n, attacked, fooled, wallTimeMs: performance.now() - start };
    stages.push(stage);
    options.onStage?.(stage);
  };
  record('clean', n, winners.filter((w) => w === 'clean').length, t0);
  for (let s = 0; s < attacks.length; s++) {
    const attack = attacks[s];
    const label = options.labels?.[s] ?? attack.name;
    const start = performance.now();
    const stageRng = rng.fork();
    const idx = await indicesWhere(success, false);
    if (idx.length === 0) {
      record(label, 0, 0, start);
      continue;
    }
    const idxT = tf.tensor1d(idx, 'int32');
    const xs = tf.gather(x, idxT);
    const cs = gatherCriterion(criterion, idxT);
    let raw: tf.Tensor[] = [];
    try {
      raw = (await attack.run(model, xs, cs, { epsilons: [epsilon], rng: stageRng, counters })).adversarials;
      const cand = tf.tidy(() => project(norm, xs, raw[0], epsilon, model.bounds));
      const ok = tf.tidy(() => isAdversarial(cs, model.logits(cand)));
      counters.forwardEvaluations += idx.length;
      const okv = await ok.data();
      const first = s === 0;
      const next = tf.tidy(() => {
        // stage 0 proposes a point for every attacked example; later stages replace only their successes
        const rows = first ? cand : whereRows(ok, cand, tf.gather(adversarial, idxT));
        return { adversarial: scatterRows(adversarial, idx, rows), success: scatterRows(success, idx, ok) as tf.Tensor1D };
      });
      let fooled = 0;
      idx.forEach((i, j) => {
        if (okv[j]) {
          winners[i] = label;
          fooled++;
        }
      });
      tf.dispose([cand, ok, adversarial, success]);
      adversarial = next.adversarial;
      success = next.success;
      record(label, idx.length, fooled, start);
    } finally {
      tf.dispose([idxT, xs, criterionLabels(cs), ...raw]);
    }
  }
  return { adversarial, success, winners, stages };
}

const multiOptions = z
  .object({
    name: z.string().regex(/^[a-z0-9][a-z0-9._-]*\/[a-z0-9][a-z0-9._-]*$/).optional().describe('plugin name (default parry/multi)'),
    labels: z.array(z.string()).optional().describe('stage labels, one per attack'),
  })
  .strict();

/**
 * A fixed-epsilon plugin that runs `attacks` in sequence on the still-robust examples (see `runSequence`).
 * All attacks must share one norm. `name` defaults to `parry/multi`.
 */
export function multiAttack(attacks: readonly ImageAttackPlugin[], input: { name?: `${string}/${string}`; labels?: readonly string[] } = {}): ImageAttackPlugin<{ attacks: string[] }> {
  const options = parseOptions('parry/multi', multiOptions, input) as { name?: `${string}/${string}`; labels?: string[] };
  if (attacks.length === 0) throw new UsageError('multiAttack needs at least one attack');
  const norm = attacks[0].norm;
  const bad = attacks.find((a) => a.norm !== norm);
  if (bad) throw new UsageError(`multiAttack: every attack must use the same norm (${attacks[0].name} is ${norm}, ${bad.name} is ${bad.norm})`);
  const criteria = (['untargeted', 'targeted'] as const).filter((c) => attacks.every((a) => a.criteria.includes(c)));
  const needs = [...new Set(attacks.flatMap((a) => a.needs))];
  const names = attacks.map((a) => a.name);
  return {
    kind: 'attack',
    modality: 'image',
    name: options.name ?? 'parry/multi',
    summary: `first success of ${names.join(' -> ')} on the still-robust examples`,
    norm,
    mode: 'fixed-epsilon',
    criteria,
    needs,
    options: { attacks: names },
    optionsSchema: z.object({ attacks: z.array(z.string()).default(names).describe('attacks run in sequence') }).strict() as unknown as z.ZodType<{ attacks: string[] }>,
    async run(model, x, criterion, context) {
      const adversarials: tf.Tensor[] = [];
      for (const epsilon of context.epsilons) {
        const r = await runSequence(model, x, criterion, attacks, { epsilon, rng: context.rng.fork(), counters: context.counters, labels: options.labels });
        r.success.dispose();
        adversarials.push(r.adversarial);
      }
      return { adversarials };
    },
  };
}
