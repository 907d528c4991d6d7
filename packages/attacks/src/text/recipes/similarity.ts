/**
 * The sentence-similarity check of the masked-LM recipes (BAE, BERT-Attack): the registered
 * `parry/sentence-similarity` constraint, built by name with the recipe's settings, so it uses whatever encoder that
 * component is given (the one the user names, else its fallback) and reports it.
 */
import type { Constraint, TextBuildContext } from '@parry/core';
import { optionalSentenceEncoder } from '../constraints.js';

export async function sentenceSimilarityConstraint(
  ctx: TextBuildContext,
  o: { minSimilarity: number; window?: number; skipShortTexts: boolean },
): Promise<{ constraint: Constraint; note: string }> {
  const built = (await ctx.component('constraint', 'parry/sentence-similarity', {
    minSimilarity: o.minSimilarity,
    metric: 'cosine',
    window: o.window ?? 'all',
    skipShortTexts: o.skipShortTexts,
    compareAgainstOriginal: true,
  })) as Constraint;
  // the recipe's notes say which encoder the check uses, so the constraint's own note is not repeated in the summary
  const { note: fallbackNote, ...constraint } = built;
  const where = o.window === undefined ? 'the whole text' : `${o.window}-word windows${o.skipShortTexts ? ' (shorter texts pass)' : ''}`;
  const encoder = fallbackNote ? undefined : await optionalSentenceEncoder(ctx.resources);
  const note =
    fallbackNote ??
    `sentence similarity: ${encoder?.name ?? 'the sentence encoder given'}, cosine >= ${o.minSimilarity} with the original over ${where}; the threshold was set for the Universal Sentence Encoder`;
  return { constraint, note };
}
