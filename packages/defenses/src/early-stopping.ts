/**
 * Early stopping as a plugin: stop when the monitored metric has not improved for `patience` epochs and, by default,
 * restore the weights of the best epoch (Rice et al. 2020 "Overfitting in adversarially robust deep learning" pick
 * the best robust checkpoint). `monitor: 'auto'` watches robust accuracy when the trainer evaluates it, else clean
 * held-out accuracy.
 */
import { defineDefense, z } from '@parry/core';
import { BestWeights } from './best-weights.js';

export const earlyStopping = defineDefense({
  name: 'parry/early-stopping',
  summary: 'stop after `patience` epochs without improvement and restore the best weights',
  options: z.object({
    patience: z.number().int().positive().default(3).describe('epochs without improvement before stopping'),
    monitor: z.enum(['auto', 'robustAccuracy', 'testAccuracy']).default('auto').describe('metric to watch'),
    minDelta: z.number().nonnegative().default(0).describe('smallest change that counts as an improvement'),
    restoreBest: z.boolean().default(true).describe('restore the best epoch\'s weights when stopping'),
  }),
  create(o) {
    const best = new BestWeights();
    let bad = 0;
    return {
      afterEpoch(ctx) {
        const key = o.monitor === 'auto' ? (ctx.metrics.robustAccuracy != null && !Number.isNaN(ctx.metrics.robustAccuracy) ? 'robustAccuracy' : 'testAccuracy') : o.monitor;
        const value = ctx.metrics[key];
        if (value == null || Number.isNaN(value)) return;
        if (best.offer(value, ctx.epoch, ctx.weights, o.minDelta)) bad = 0;
        else bad += 1;
        if (bad >= o.patience && ctx.epoch < ctx.epochs) {
          const restored = o.restoreBest && best.restore(ctx.weights);
          return { stop: true, reason: `no ${key} improvement for ${bad} epochs (best ${(100 * best.best).toFixed(2)}% at epoch ${best.bestEpoch})${restored ? `; restored epoch ${best.bestEpoch}` : ''}` };
        }
      },
      getState: () => best.getState({ bad }),
      setState: (s) => {
        bad = Number(best.setState(s).bad ?? 0);
      },
      dispose: () => best.dispose(),
    };
  },
});
