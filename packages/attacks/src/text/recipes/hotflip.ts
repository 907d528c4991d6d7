/**
 * HotFlip — Ebrahimi, Rao, Lowd & Dou, "HotFlip: White-Box Adversarial Examples for Text Classification", ACL 2018.
 * As TextAttack's `HotFlipEbrahimi2017`: gradient-guided whole-word token swaps (top 1 per word), stopwords, each word
 * once, at most 2 words, cosine >= 0.8 between the word embeddings, beam search of width 10. White-box only.
 *
 * Deviations: no part-of-speech constraint; the cosine is taken in the word vectors given (default: the victim's own
 * input embeddings), not in counter-fitted GloVe.
 */
import { defineTextAttack, z } from '@parry/core';
import { embeddingCosine, maxWordsPerturbed, noRepeat, stopwords } from '../constraints.js';
import { beamSearch } from '../search.js';
import { hotFlip as hotFlipSwap } from '../transformations.js';

export const hotFlip = defineTextAttack({
  name: 'parry/hotflip',
  summary: 'HotFlip (Ebrahimi et al. 2018): gradient token flips, at most 2 words, beam search width 10; white-box',
  needs: ['gradients', 'word-vectors'],
  options: z.object({
    beamWidth: z.number().int().positive().default(10).describe('texts kept per beam step'),
    maxWords: z.number().int().positive().default(2).describe('words changed at most'),
    topN: z.number().int().positive().default(1).describe('token swaps tried per word'),
    minCosine: z.number().min(-1).max(1).default(0.8).describe('least cosine between a word and its replacement'),
  }),
  create: async (ctx, o) => {
    const vectors = await ctx.resources.wordVectors();
    return {
      name: 'parry/hotflip',
      goal: ctx.goal,
      transformation: hotFlipSwap({ topN: o.topN }),
      constraints: [noRepeat(), stopwords({ words: ctx.resources.stopwords() }), maxWordsPerturbed({ max: o.maxWords }), embeddingCosine({ vectors, minCosine: o.minCosine })],
      search: beamSearch({ width: o.beamWidth }),
      notes: ['no part-of-speech constraint', `word vectors: ${vectors.source}`],
      options: { ...o },
    };
  },
});
