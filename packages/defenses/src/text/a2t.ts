/**
 * Adversarial training with attack-generated text examples (TextAttack / A2T style, Yoo & Qi 2021), as a defense
 * plugin on the text trainer: clean epochs first, then at the start of every later epoch attack a random fraction of
 * the training set with the current model and train that epoch on the clean set plus the successful adversarial
 * texts (with their original labels).
 */
import { createRng, defineDefense, type TextAttackExample, type TextAttackSummary, type TextEpochContext, type TextTrainingSet, UsageError, z } from '@parry/core';

export const a2tOptionsSchema = z
  .object({
    recipe: z.string().min(1).default('parry/pwws').describe('registered text attack that makes the adversarial texts (any recipe of `parry list`)'),
    cleanEpochs: z.number().int().nonnegative().default(1).describe('epochs on clean data before attacks start (A2T: 1)'),
    fraction: z.number().gt(0).max(1).default(0.2).describe('fraction of the training set attacked each adversarial epoch (A2T: 0.2)'),
    queryBudget: z.number().int().positive().optional().describe('model queries per attacked example'),
  })
  .strict();

/** What one adversarial epoch of {@link a2t} did (kept on the plugin as `history` for reports and tests). */
export interface A2tEpoch {
  epoch: number;
  attacked: number;
  /** Successful adversarial texts added, with the index of their source example. */
  added: Array<{ text: string; source: number }>;
  summary: TextAttackSummary;
}

/**
 * A2T-style adversarial training. Needs the training texts (`TextTrainingSet.texts`), the tokenizer (the trainer's
 * `tokenizer` option) and an attack runner (`attacks`, from the plugin registry): `parry train --model ... --defense
 * a2t` and `trainTextModel` in `@parry/pipelines` provide all three. The recipe is resolved by name through the runner,
 * so this package never depends on `@parry/attacks`. Deterministic per (seed, epoch).
 */
export const a2t = defineDefense({
  name: 'parry/a2t',
  modality: 'text',
  summary: 'A2T-style training (Yoo & Qi 2021): after clean epochs, add successful attack texts on a fraction of the training set each epoch',
  options: a2tOptionsSchema,
  create: (o) => {
    const history: A2tEpoch[] = [];
    const hooks = {
      /** One entry per adversarial epoch. */
      history,
      async epochData(ctx: TextEpochContext): Promise<TextTrainingSet | undefined> {
        if (ctx.epoch <= o.cleanEpochs) return undefined;
        const { data, tokenizer } = ctx;
        if (!data.texts || data.texts.length !== data.encodings.length) {
          throw new UsageError('parry/a2t needs the training texts (TextTrainingSet.texts); parry train passes them, a library caller must too');
        }
        if (!tokenizer) throw new UsageError('parry/a2t needs the tokenizer (trainText option `tokenizer`)');
        if (!ctx.attacks) throw new UsageError('parry/a2t needs an attack runner (trainText option `attacks`); trainTextModel in @parry/pipelines passes one');
        const model = ctx.model;
        const multi = model.outputKind === 'multi-label';
        const L = model.numLabels;
        const n = data.texts.length;
        const pick = createRng(ctx.seed).shuffle([...Array(n).keys()]).slice(0, Math.max(1, Math.round(o.fraction * n)));
        const labelRow = (i: number) => (multi ? Array.from(data.labels.subarray(i * L, (i + 1) * L)) : [data.labels[i]]);
        const examples: TextAttackExample[] = pick.map((i) =>
          multi ? { text: data.texts![i], labels: labelRow(i).flatMap((z, j) => (z >= 0.5 ? [j] : [])) } : { text: data.texts![i], label: data.labels[i] },
        );
        const maxLength = ctx.maxLength ?? 128;
        const truncation = ctx.truncation ?? 'head';
        const r = await ctx.attacks.run(o.recipe, examples, { model, tokenizer, maxLength, truncation, seed: ctx.seed, queryBudget: o.queryBudget });
        const added = r.records.filter((rec) => rec.status === 'successful').map((rec) => ({ text: rec.perturbed, source: pick[rec.index] }));
        history.push({ epoch: ctx.epoch, attacked: pick.length, added, summary: r.summary });
        const rows = [...Array(n).keys()].concat(added.map((a) => a.source)).flatMap(labelRow);
        return {
          encodings: [...data.encodings, ...added.map((a) => tokenizer.encode(a.text, { maxLength, truncation }))],
          labels: multi ? Float32Array.from(rows) : Int32Array.from(rows),
          texts: [...data.texts, ...added.map((a) => a.text)],
        };
      },
    };
    return hooks;
  },
});
