/**
 * PGD-AT — adversarial training on PGD examples (Madry et al. 2018, "Towards Deep Learning Models Resistant to
 * Adversarial Attacks", https://arxiv.org/abs/1706.06083): every batch is replaced by its PGD adversarial batch.
 *
 * Norm: linf (built-in generator) or the given attack's norm. Defaults: `{ eps: 0.3, steps: 40, stepSize: 0.01,
 * randomStart: true }` — Madry et al.'s MNIST setting. `attack` takes any attack plugin (e.g. `pgd({ steps: 7 })` or
 * any entry of a registry); its output is projected into the eps-ball and bounds by core's `project`, as `runAttack`
 * would. Without `attack`, a built-in linf PGD on the cross-entropy generates the batch (model in inference mode).
 */
import * as tf from '@tensorflow/tfjs-core';
import { type ImageAttackPlugin, defineDefense, project, untargeted, z } from '@parry/core';
import { linfPgd, sumCrossEntropy } from './adversarial.js';
import { warmupFactor } from './fgsm-rs.js';

const attackSchema = z.custom<ImageAttackPlugin>((v) => typeof v === 'object' && v !== null && (v as ImageAttackPlugin).kind === 'attack' && typeof (v as ImageAttackPlugin).run === 'function', {
  message: 'must be an attack plugin (e.g. pgd({ steps: 7 }))',
});

export const pgdAt = defineDefense({
  name: 'parry/pgd-at',
  summary: 'train on PGD adversarial examples (Madry et al. 2018); any attack plugin can generate them',
  needs: ['gradients'],
  options: z.object({
    eps: z.number().nonnegative().default(0.3).describe('radius of the training perturbation'),
    steps: z.number().int().positive().default(40).describe('PGD steps of the built-in generator'),
    stepSize: z.number().positive().default(0.01).describe('PGD step size of the built-in generator (absolute)'),
    randomStart: z.boolean().default(true).describe('uniform random start in the eps-ball (built-in generator)'),
    warmupEpochs: z.number().nonnegative().default(0).describe('ramp eps and the step size linearly from 0 over this many epochs (0 = off)'),
    attack: attackSchema.optional().describe('attack plugin that generates the examples instead of the built-in linf PGD'),
  }),
  create(o) {
    return {
      async transformBatch(batch, ctx) {
        const { model } = ctx;
        const ramp = warmupFactor(o.warmupEpochs, ctx.globalStep, ctx.stepsPerEpoch);
        const eps = o.eps * ramp;
        if (!o.attack) {
          const x = linfPgd(model, batch.x, sumCrossEntropy(batch.y), { eps, stepSize: o.stepSize * ramp, steps: o.steps, start: o.randomStart ? 'uniform' : 'none', seed: ctx.rng.tfSeed(), counters: ctx.counters });
          return { ...batch, x };
        }
        const { adversarials } = await o.attack.run(model, batch.x, untargeted(batch.y), { epsilons: [eps], rng: ctx.rng, counters: ctx.counters });
        try {
          const x = tf.tidy(() => project(o.attack!.norm, batch.x, adversarials[0], eps, model.bounds));
          return { ...batch, x };
        } finally {
          tf.dispose(adversarials);
        }
      },
    };
  },
});
