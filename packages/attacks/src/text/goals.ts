/** The goal vocabulary of `@parry/core` as registered components, so composed recipes can name a fixed goal. */
import { defineTextComponent, flipAnyGoldGoal, flipLabelGoal, removeAllGoldGoal, targetedGoal, untargetedGoal, z } from '@parry/core';

const margin = z.number().min(0).default(0).describe('confidence margin the goal must be met by');
const threshold = z.number().gt(0).lt(1).default(0.5).describe('multi-label decision threshold');

/** Goal functions as registered components (factories). */
export const goalComponents = [
  defineTextComponent({
    kind: 'goal',
    name: 'parry/untargeted',
    summary: 'untargeted classification: the gold class must lose the top spot (score 1 - p(gold))',
    options: z.object({ margin }),
    create: (_ctx, o) => untargetedGoal(o),
  }),
  defineTextComponent({
    kind: 'goal',
    name: 'parry/targeted',
    summary: 'targeted classification: the target class must become the top class (score p(target))',
    options: z.object({ target: z.number().int().min(0).default(0).describe('target class id'), margin }),
    create: (_ctx, o) => targetedGoal(o),
  }),
  defineTextComponent({
    kind: 'goal',
    name: 'parry/flip-label',
    summary: 'multi-label: flip the decision on one given label (gold -> below threshold, non-gold -> above)',
    options: z.object({ label: z.number().int().min(0).default(0).describe('label id to flip'), threshold, margin }),
    create: (_ctx, o) => flipLabelGoal(o),
  }),
  defineTextComponent({
    kind: 'goal',
    name: 'parry/flip-any-gold',
    summary: 'multi-label: push any one gold label below the threshold',
    options: z.object({ threshold, margin }),
    create: (_ctx, o) => flipAnyGoldGoal(o),
  }),
  defineTextComponent({
    kind: 'goal',
    name: 'parry/remove-all-gold',
    summary: 'multi-label: push every gold label below the threshold',
    options: z.object({ threshold, margin }),
    create: (_ctx, o) => removeAllGoldGoal(o),
  }),
];
