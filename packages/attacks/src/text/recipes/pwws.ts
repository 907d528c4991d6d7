/**
 * PWWS — Ren, Deng, He & Che, "Generating Natural Language Adversarial Examples through Probability Weighted Word
 * Saliency", ACL 2019. As TextAttack's `PWWSRen2019`: WordNet synonym swaps, stopwords and each word at most once,
 * greedy search in the order of softmax(unk saliency) x best swap gain.
 *
 * Deviations: synonyms are WordNet 3.1 lemmas (TextAttack: NLTK's WordNet 3.0), single lower-case words only (no
 * multi-word lemmas, no proper nouns). `maxModificationRate` (default 1 = off) is a Parry addition.
 */
import { defineTextAttack, z } from '@parry/core';
import { maxModificationRate, noRepeat, stopwords } from '../constraints.js';
import { greedyWir } from '../search.js';
import { wordNetSwap } from '../transformations.js';

export const pwws = defineTextAttack({
  name: 'parry/pwws',
  summary: 'PWWS (Ren et al. 2019): WordNet synonyms, PWWS-weighted greedy search; black-box',
  needs: ['wordnet'],
  options: z.object({
    maxModificationRate: z.number().gt(0).max(1).default(1).describe('at most this fraction of the words changed (1 = no cap, as the paper)'),
  }),
  create: async (ctx, o) => ({
    name: 'parry/pwws',
    goal: ctx.goal,
    transformation: wordNetSwap({ synonyms: await ctx.resources.synonyms() }),
    constraints: [noRepeat(), stopwords({ words: ctx.resources.stopwords() }), ...(o.maxModificationRate < 1 ? [maxModificationRate({ rate: o.maxModificationRate })] : [])],
    search: greedyWir({ wir: 'weighted-saliency' }),
    notes: ['WordNet 3.1 single-word lemmas'],
    options: { ...o },
  }),
});
