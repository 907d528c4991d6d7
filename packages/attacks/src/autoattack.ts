/**
 * AutoAttack (Croce & Hein 2020, "Reliable evaluation of adversarial robustness with an ensemble of diverse
 * parameter-free attacks", https://arxiv.org/abs/2003.01690; https://github.com/fra31/auto-attack): a fixed sequence
 * of complementary attacks, each run only on the examples still robust, reporting robust accuracy after each stage.
 *
 * Versions, with the paper's hyperparameters (100 iterations everywhere, targeted attacks over 9 target classes):
 * - standard: APGD-CE (1 run), APGD-T (DLR, 9 targets), FAB-T (9 targets), Square (5,000 queries);
 * - plus: APGD-CE and APGD-DLR (5 restarts each), FAB (5 restarts), Square (5,000 queries, 5 restarts), APGD-T, FAB-T;
 * - rand (randomized defenses): APGD-CE and APGD-DLR with EOT over 20 gradients;
 * - custom: the stages listed in `attacks`.
 * Square runs AutoAttack's own implementation (`square.ts`, variant `reference`: schedule not rescaled, one window per
 * batch); Parry's stronger Square is available in version custom (`squareVariant: 'strong'`).
 * Norm: linf (default) or l2. `steps`, `queries` and `targetClasses` exist to shorten runs (tests, quick looks); the
 * defaults are the paper's. The seed comes from the run (`--seed`). FAB-T and APGD-T run over min(9, classes - 1)
 * targets.
 */
import * as tf from '@tensorflow/tfjs-core';
import { type AttackCounters, type ImageAttackPlugin, type AttackStageCount, type Classifier, type Criterion, createRng, UsageError, defineAttack, type Rng } from '@parry/core';
import { z } from '@parry/core';
import { apgd } from './apgd.js';
import { apgdT } from './apgd-t.js';
import { fab } from './fab.js';
import { fabT } from './fab-t.js';
import { runSequence, type SequenceResult } from './multi-attack.js';
import { square } from './square.js';

export const AUTOATTACK_STAGES = ['apgd-ce', 'apgd-dlr', 'apgd-t', 'fab', 'fab-t', 'square'] as const;
export type AutoAttackStage = (typeof AUTOATTACK_STAGES)[number];
export type AutoAttackVersion = 'standard' | 'plus' | 'rand' | 'custom';

export const autoAttackOptions = z.object({
  version: z.enum(['standard', 'plus', 'rand', 'custom']).default('standard').describe('attack set: standard | plus | rand | custom'),
  norm: z.enum(['linf', 'l2']).default('linf').describe('perturbation norm'),
  attacks: z.array(z.enum(AUTOATTACK_STAGES)).optional().describe('stages for version custom, in order (apgd-ce, apgd-dlr, apgd-t, fab, fab-t, square)'),
  steps: z.number().int().positive().default(100).describe('iterations of APGD and FAB (the paper: 100)'),
  queries: z.number().int().positive().default(5000).describe('queries of Square (the paper: 5000)'),
  targetClasses: z.number().int().positive().default(9).describe('target classes of APGD-T and FAB-T (the paper: 9)'),
  squareVariant: z
    .enum(['reference', 'strong'])
    .default('reference')
    .describe("Square's search: reference (the AutoAttack implementation; standard and plus always run it) or strong (version custom only)"),
});
export type AutoAttackOptions = z.input<typeof autoAttackOptions>;

/** The stage labels and attacks of a version (`attacks` only for 'custom'). */
export function autoAttackPlan(input: AutoAttackOptions = {}): { label: string; attack: ImageAttackPlugin<any> }[] {
  const o = autoAttackOptions.parse(input);
  const { norm, steps, queries, targetClasses, squareVariant } = o;
  if (squareVariant !== 'reference' && o.version !== 'custom') {
    throw new UsageError(`AutoAttack version ${o.version} runs the reference Square so that its numbers compare with published ones; use version custom for squareVariant ${squareVariant}`);
  }
  const make = (stage: AutoAttackStage, restarts = 1, eot = 1): { label: string; attack: ImageAttackPlugin<any> } => {
    switch (stage) {
      case 'apgd-ce':
        return { label: stage, attack: apgd({ norm, steps, loss: 'ce', restarts, eot }) };
      case 'apgd-dlr':
        return { label: stage, attack: apgd({ norm, steps, loss: 'dlr', restarts, eot }) };
      case 'apgd-t':
        return { label: stage, attack: apgdT({ norm, steps, targetClasses, restarts }) };
      case 'fab':
        return { label: stage, attack: fab({ norm, steps, restarts }) };
      case 'fab-t':
        return { label: stage, attack: fabT({ norm, steps, targetClasses, restarts }) };
      case 'square':
        return { label: stage, attack: square({ norm, queries, restarts, variant: squareVariant }) };
    }
  };
  switch (o.version) {
    case 'standard':
      return [make('apgd-ce'), make('apgd-t'), make('fab-t'), make('square')];
    case 'plus':
      return [make('apgd-ce', 5), make('apgd-dlr', 5), make('fab', 5), make('square', 5), make('apgd-t'), make('fab-t')];
    case 'rand':
      return [make('apgd-ce', 1, 20), make('apgd-dlr', 1, 20)];
    case 'custom':
      if (!o.attacks?.length) throw new UsageError('AutoAttack version custom needs `attacks`, e.g. ["apgd-ce", "square"]');
      return o.attacks.map((a) => make(a));
  }
}

export interface AutoAttackRunOptions extends AutoAttackOptions {
  epsilon: number;
  /** Seed of the run (default 0); ignored when `rng` is given. */
  seed?: number;
  rng?: Rng;
  counters?: AttackCounters;
  onStage?: Parameters<typeof runSequence>[4]['onStage'];
}

/**
 * Runs AutoAttack at one epsilon and returns the adversarial batch, success flags, the winning stage per example and
 * the robust accuracy after each stage (`stages[0]` is the clean accuracy). The caller owns the tensors.
 */
export async function runAutoAttack(model: Classifier, x: tf.Tensor, criterion: Criterion, options: AutoAttackRunOptions): Promise<SequenceResult> {
  const { epsilon, seed = 0, rng, counters, onStage, ...rest } = options;
  const plan = autoAttackPlan(rest);
  return runSequence(model, x, criterion, plan.map((p) => p.attack), { epsilon, rng: rng ?? createRng(seed), counters, labels: plan.map((p) => p.label), onStage });
}

export const autoAttack = defineAttack({
  name: 'parry/autoattack',
  summary: 'AutoAttack (Croce & Hein 2020): APGD-CE, APGD-T, FAB-T, Square on the still-robust examples',
  norm: (o) => o.norm,
  mode: 'fixed-epsilon',
  needs: ['gradients'],
  options: autoAttackOptions,
  async run(model, x, criterion, context, options) {
    const adversarials: tf.Tensor[] = [];
    const stages: AttackStageCount[][] = [];
    const n = x.shape[0];
    for (const epsilon of context.epsilons) {
      const r = await runAutoAttack(model, x, criterion, { ...options, epsilon, rng: context.rng.fork(), counters: context.counters });
      r.success.dispose();
      adversarials.push(r.adversarial);
      stages.push(r.stages.map((st) => ({ label: st.attack, robust: Math.round(st.robustAccuracy * n) })));
    }
    return { adversarials, stages };
  },
});
