/**
 * The sentence-similarity check of the masked-LM recipes (BAE, BERT-Attack): the registered
 * `parry/sentence-similarity` constraint, built by name with the recipe's settings, so it uses whatever encoder that
 * component is given (the one the user names, else its fallback) and reports it.
 */
import type { Constraint, TextBuildContext } from '@parry/core';

/** A window larger than any text: the whole text is compared (TextAttack's `window_size=None`). */
export const WHOLE_TEXT_WINDOW = 1_000_000_000;

export async function sentenceSimilarityConstraint(
  ctx: TextBuildContext,
  o: { minSimilarity: number; window?: number; skipShortTexts: boolean },
): Promise<{ constraint: Constraint; note: string }> {
  const window = o.window ?? WHOLE_TEXT_WINDOW;
  const constraint = (await ctx.component('constraint', 'parry/sentence-similarity', {
    minSimilarity: o.minSimilarity,
    metric: 'cosine',
    window,
    skipShortTexts: o.skipShortTexts,
  })) as Constraint;
  const where = o.window === undefined ? 'the whole text' : `${o.window}-word windows${o.skipShortTexts ? ' (shorter texts pass)' : ''}`;
  const note = constraint.note ?? `sentence similarity: cosine >= ${o.minSimilarity} over ${where} (${constraint.name}; the threshold was set for the Universal Sentence Encoder)`;
  return { constraint, note };
}
